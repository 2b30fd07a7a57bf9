/* Batch norm, bias and activation of darknet's float layers, on rows (one
 * channel of one image) so that pool tasks can share the work and keep each
 * row in L1 between the steps. Layout and formulas are darknet's
 * (batchnorm_layer.c, blas.c): output [batch][n][S] with n = l->out_c
 * channels and S = l->out_h*l->out_w positions; training normalizes by
 * (sqrt(var) + 1e-6) with the batch mean and the unbiased variance, rolling
 * statistics move by 1% per batch; the backward pass uses 1/sqrt(var + 1e-5).
 * Statistics are summed in double across rows. */
#ifndef ABC_BN_H
#define ABC_BN_H

#include "darknet.h"

/* ---- rows of S floats ---- */
/* out = act(out + bias) */
void abc_bias_act_row(float *out, int S, float bias, ACTIVATION a);
/* x = out (unless x is NULL); out = act((x - mean) * k + bias), k = scale / (sqrt(var) + 1e-6) */
void abc_bn_infer_row(float *out, float *x, int S, float mean, float k, float bias, ACTIVATION a);
/* s[0] += sum(out), s[1] += sum(out^2) */
void abc_row_sums(const float *out, int S, double s[2]);
/* x = out; x_norm = (x - mean) * inv; out = act(x_norm * scale + bias) */
void abc_bn_train_row(float *out, float *x, float *x_norm, int S, float mean, float inv, float scale,
                      float bias, ACTIVATION a);
/* delta *= act'(y); s[0] += sum(delta), s[1] += sum(delta*x_norm), s[2] += sum(delta*(x - mean)) */
void abc_bn_grad_sums_row(float *delta, const float *y, const float *x_norm, const float *x, int S,
                          float mean, ACTIVATION a, double s[3]);
/* delta = delta * k + kx * (x - mean) + k0 */
void abc_bn_delta_row(float *delta, const float *x, int S, float mean, float k, float kx, float k0);
/* delta *= act'(y); returns sum(delta) */
double abc_grad_sum_row(float *delta, const float *y, int S, ACTIVATION a);

/* ---- per channel, from the sums over the whole batch ---- */
/* From s = {sum, sum of squares} over count values: l->mean/variance[f],
 * the rolling statistics; returns inv = 1/(sqrt(var) + 1e-6). */
float abc_bn_stats(const layer *l, int f, const double s[2], double count);
/* From s = the abc_bn_grad_sums_row sums: bias/scale gradients,
 * l->mean_delta/variance_delta[f]; k, kx, k0 for abc_bn_delta_row.
 * var is the variance the forward pass normalized with. */
void abc_bn_grad_coefs(const layer *l, int f, const double s[3], float var, double count, float *k, float *kx,
                       float *k0);

/* ---- channels [f0, f1) over the whole batch (connected layers, small batches) ---- */
/* training forward: statistics, rolling statistics, x, x_norm, output, activation */
void abc_bn_train_channels(const layer *l, int f0, int f1);
/* backward with batch norm (train = 0 uses the rolling statistics, as darknet) */
void abc_bn_backward_channels(const layer *l, int train, int f0, int f1);
/* backward without batch norm: activation gradient, bias gradient */
void abc_bias_backward_channels(const layer *l, int f0, int f1);

#endif
