/* What the binary conv layer types ([abc_convolutional], [hada_convolutional]
 * and their connected forms) share with darknet's [convolutional]: the
 * geometry keys, the shape, the float arrays (weights, biases, batch norm,
 * outputs) and their initial values. Each type adds its own state block in
 * l.binary_weights. */
#ifndef ABC_CONV_LAYER_H
#define ABC_CONV_LAYER_H

#include "base/cfg.h"
#include "darknet.h"

/* The activation key (darknet's activations; default logistic, as [convolutional]). */
ACTIVATION abc_parse_activation_key(const abc_section *s);

/* filters, size, stride, pad/padding of a section, checked against the input p. */
typedef struct {
    int n, size, stride, pad;
} abc_conv_geometry;
abc_conv_geometry abc_parse_conv_geometry(const abc_section *s, size_params p);

/* A CONVOLUTIONAL-shaped layer: arrays allocated, weights random (darknet's scale sqrt(2/K)), batch norm
 * scales 1; forward/backward/update and binary_weights left to the caller. */
layer abc_conv_layer_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
                          int batch_normalize);
/* New input size: shape and output arrays (parameters kept). */
void abc_conv_layer_resize(layer *l, int w, int h);
/* The resize of a connected form (1x1 image): nothing changes. */
void abc_connected_layer_resize(layer *l, int w, int h);

/* The record of darknet's float layer in a .weights file: biases; if batch
 * norm: scales, rolling mean, rolling variance; weights ([convolutional]
 * order), or with connected_order the weights right after the biases
 * ([connected] order). Its size in floats, and its read (save = 0) or write;
 * 0 on success. */
size_t abc_float_record_floats(const layer *l);
int abc_float_record_io(layer *l, FILE *fp, int save, int connected_order);
/* The biases and, with batch norm, scales, rolling mean and rolling variance: read (save = 0) or written. */
int abc_bias_bn_io(layer *l, FILE *fp, int save);
/* n floats read or written; 0 on success. */
int abc_floats_io(float *p, size_t n, FILE *fp, int save);

#endif
