/* The HadaNet layer types as registry rows. */
#ifndef HADA_LAYERS_H
#define HADA_LAYERS_H

#include "layers/layer_type.h"

extern const abc_layer_type hada_conv_type;      /* [hada_convolutional] */
extern const abc_layer_type hada_connected_type; /* [hada_connected] */

/* Registry pack/unpack (hada_conv_packfile.c): biases, batch norm, the weight segments' magnitudes, the signs. */
int hada_conv_pack(layer *l, FILE *fp);
int hada_conv_unpack(layer *l, FILE *fp);

#endif
