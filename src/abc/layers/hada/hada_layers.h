/* The HadaNet layer types as registry rows. */
#ifndef HADA_LAYERS_H
#define HADA_LAYERS_H

#include "layers/layer_type.h"

extern const abc_layer_type hada_conv_type;      /* [hada_convolutional] */
extern const abc_layer_type hada_connected_type; /* [hada_connected] */

#endif
