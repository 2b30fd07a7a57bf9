/* The AQT family's registry rows. */
#ifndef AQT_LAYERS_H
#define AQT_LAYERS_H

#include "layers/layer_type.h"

extern const abc_layer_type aqt_conv_type, aqt_connected_type;

#endif
