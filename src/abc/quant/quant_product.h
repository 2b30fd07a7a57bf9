/* The float product every binary layer's training path runs: quantized
 * weights W~ times quantized inputs A as a convolution (or, for a 1x1 image
 * with size 1, a connected layer), then bias or batch norm and the
 * activation; and its backward. Through the fast float layers (pool-split,
 * batch norm fused) unless ABC_FLOAT=stock, where one im2col + GEMM per image
 * is the reference the tests compare with. */
#ifndef ABC_QUANT_PRODUCT_H
#define ABC_QUANT_PRODUCT_H

#include "darknet.h"

/* l.output = act(bn(conv(wq, aq))) for l.batch images of l's input shape. */
void abc_qprod_forward(layer l, network net, float *wq, float *aq);
/* From l.delta (-dLoss/doutput, darknet's sign): bias/batch-norm updates into
 * l's *_updates, dW~ into gw (overwritten), and, when da is not NULL, dA
 * (overwritten, batch*inputs). */
void abc_qprod_backward(layer l, network net, float *wq, float *aq, float *gw, float *da);
/* Bias or batch norm, then the activation, on l.output. */
void abc_conv_output_stage(layer l, network net);

#endif
