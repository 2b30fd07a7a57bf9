/* The AQT family's registry rows. */
#ifndef AQT_LAYERS_H
#define AQT_LAYERS_H

#include "darknet.h"
#include "layers/layer_type.h"

extern const abc_layer_type aqt_conv_type, aqt_connected_type;

/* Registry pack/unpack (aqt_packfile.c): biases, batch norm, weight scales, input bounds, the integers. */
int aqt_pack(layer *l, FILE *fp);
int aqt_unpack(layer *l, FILE *fp);

#endif
