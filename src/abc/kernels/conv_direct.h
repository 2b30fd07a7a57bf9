/* A direct convolution for layers with few input channels (a network's first conv on RGB): im2col would
 * write size*size*c floats per output pixel for a product of depth 27, more memory traffic than arithmetic. Here
 * each output row is accumulated from zero-padded input rows, 16 pixels x 8 filters in registers. */
#ifndef ABC_CONV_DIRECT_H
#define ABC_CONV_DIRECT_H

#include <stddef.h>

/* Whether the direct kernel handles the shape: stride 1, 1..4 input channels, kernel 2..7. */
int abc_conv_direct_suits(int c, int size, int stride);

/* The weights (n x c x size x size, darknet's order) rearranged for the kernel: abc_conv_direct_weights_floats
 * floats, filters padded to a multiple of 8 with zeros. */
size_t abc_conv_direct_weights_floats(int n, int c, int size);
void abc_conv_direct_weights(const float *weights, int n, int c, int size, float *wt);

/* Scratch floats abc_conv_direct_rows needs. */
size_t abc_conv_direct_scratch(int c, int size, int w, int pad);

/* Output rows [r0, r1) of one image: out[f * out_h * out_w + r * out_w + x] = the sum over the window of
 * weights x input, the input (c x h x w) zero-padded by pad on each side; no bias. out_w = w + 2 pad - size + 1. */
void abc_conv_direct_rows(const float *im, int c, int h, int w, const float *wt, int n, int size, int pad, int out_h,
                          int r0, int r1, float *out, float *scratch);

#endif
