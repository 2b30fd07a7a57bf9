/* A direct convolution for layers with few input channels (a network's first conv on RGB): im2col would
 * write size*size*c floats per output pixel for a product of depth 27, more memory traffic than arithmetic. Here
 * blocks of output rows are accumulated from a zero-padded copy of their input rows, laid end to end as one
 * long row, 32 pixels x 8 filters in registers. */
#ifndef ABC_CONV_DIRECT_H
#define ABC_CONV_DIRECT_H

#include <stddef.h>

#include "darknet.h"

/* Whether the direct kernel handles the shape: stride 1, 1..4 input channels, kernel 2..7. */
int abc_conv_direct_suits(int c, int size, int stride);

/* The weights (n x c x size x size, darknet's order) rearranged for the kernel: abc_conv_direct_weights_floats
 * floats, filters padded to a multiple of 8 with zeros. */
size_t abc_conv_direct_weights_floats(int n, int c, int size);
void abc_conv_direct_weights(const float *weights, int n, int c, int size, float *wt);

/* Scratch floats abc_conv_direct_rows needs. */
size_t abc_conv_direct_scratch(int c, int n, int size, int w, int pad);

/* The output stage applied as the rows are stored: out = act((sum - mean[f]) * k[f] + bias[f]) (batch norm at
 * inference, k = scale / (sqrt(var) + 1e-6)), or act(sum + bias[f]) when mean is NULL. */
typedef struct {
    const float *mean, *k, *bias;
    ACTIVATION act;
} abc_direct_out;

/* Output rows [r0, r1) of one image: out[f * out_h * out_w + r * out_w + x] = the sum over the window of
 * weights x input, the input (c x h x w) zero-padded by pad on each side, through e (NULL: the sums as they
 * are). out_w = w + 2 pad - size + 1. */
void abc_conv_direct_rows(const float *im, int c, int h, int w, const float *wt, int n, int size, int pad, int out_h,
                          int r0, int r1, float *out, float *scratch, const abc_direct_out *e);

#endif
