/* The plugin layer types of src/abc/layers, as registry rows. */
#ifndef ABC_LAYERS_H
#define ABC_LAYERS_H

#include "registry.h"

extern const abc_layer_type abc_conv_type; /* [abc_convolutional] */

#endif
