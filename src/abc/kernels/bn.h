/* Batch norm, bias and activation of darknet's float layers, on parts of a
 * layer's output so that pool tasks can share the work. Data layout and
 * formulas are darknet's (batchnorm_layer.c, blas.c): output [batch][n][S]
 * with n = l->out_c channels and S = l->out_h*l->out_w positions; training
 * normalizes by (sqrt(var) + 1e-6) with the batch mean and the unbiased
 * variance, rolling statistics move by 1% per batch; the backward pass uses
 * 1/sqrt(var + 1e-5). Statistics are summed in double. */
#ifndef ABC_BN_H
#define ABC_BN_H

#include "darknet.h"

/* Image b, channels [f0, f1), positions [s0, s1) of l->output: */
/* output += bias, then the activation. */
void abc_bias_act_block(const layer *l, int b, int f0, int f1, int s0, int s1);
/* inference batch norm with the rolling statistics: l->x = output, then
 * output = (x - rolling_mean) / (sqrt(rolling_variance) + 1e-6) * scale + bias,
 * then the activation. */
void abc_bn_infer_block(const layer *l, int b, int f0, int f1, int s0, int s1);

/* Channels [f0, f1) over the whole batch: */
/* training batch norm: batch statistics into l->mean/variance, rolling
 * statistics, l->x and l->x_norm, output = x_norm*scale + bias, activation. */
void abc_bn_train_channels(const layer *l, int f0, int f1);
/* backward: delta *= activation gradient, bias and scale gradients added to
 * l->bias_updates/scale_updates, l->mean_delta/variance_delta, and delta
 * replaced by the gradient with respect to the normalized layer's input.
 * train = 0 uses the rolling statistics, as darknet does. */
void abc_bn_backward_channels(const layer *l, int train, int f0, int f1);
/* backward without batch norm: delta *= activation gradient, bias gradient
 * added to l->bias_updates. */
void abc_bias_backward_channels(const layer *l, int f0, int f1);

#endif
