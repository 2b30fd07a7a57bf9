/* The ABC-Net layer types as registry rows, and what their files share. */
#ifndef ABC_LAYERS_H
#define ABC_LAYERS_H

#include "layers/layer_type.h"

#include "abc_conv.h"

extern const abc_layer_type abc_conv_type;      /* [abc_convolutional] */
extern const abc_layer_type abc_connected_type; /* [abc_connected] */

/* Shared by the two (abc_conv.c): weight_bases, activation_bases, weight_shifts, activation_shifts, activation_scales, scale, gradient. */
void abc_parse_abc_keys(const abc_section *s, abc_conv_opts *o);
size_t abc_conv_weights_floats(const layer *l);
int abc_conv_load(layer *l, FILE *fp);
int abc_conv_save(const layer *l, FILE *fp);
/* A float model's record (quant/conv_layer.h) as this layer's starting point
 * (fine-tuning); connected_order: darknet's [connected] order. */
int abc_conv_load_float(layer *l, FILE *fp, int connected_order);
/* Registry pack/unpack (abc_conv_packfile.c): biases, batch norm, alphas, betas, shifts, the packed weight bases. */
int abc_conv_pack(layer *l, FILE *fp);
int abc_conv_unpack(layer *l, FILE *fp);
/* Registry arrays: alpha, and beta and v when N > 0. */
int abc_conv_arrays(const layer *l, abc_named_floats *out, int max);
/* Registry momentum: the gradients accumulated for beta and v. */
int abc_conv_momentum(layer *l, abc_state_floats *out, int max);
int abc_conv_binarization(const layer *l, float *beta, float *near_binary);
/* Registry describe(): bases, inference path and kernel, packed and float bytes. */
void abc_conv_describe(const layer *l, char *buf, size_t n, size_t *packed_bytes, size_t *float_bytes);
/* Registry bits(): M weight bits, N input bits (32 for float inputs). */
void abc_conv_bits(const layer *l, int *weight_bits, int *input_bits);

#endif
