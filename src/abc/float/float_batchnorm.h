/* The [batchnorm] layer, done by the project. libdarknet's CPU batchnorm
 * layer cannot run: make_batchnorm_layer allocates neither the x / x_norm
 * buffers its forward writes nor the mean / variance gradients its backward
 * writes (a segfault at the first forward, training or not), it has no
 * update (scales and biases never learn), its backward overwrites the input
 * gradient instead of adding to it (a shortcut's share is lost), and it
 * cannot resize. The parser makes every [batchnorm] one of these. */
#ifndef ABC_FLOAT_BATCHNORM_H
#define ABC_FLOAT_BATCHNORM_H

#include "darknet.h"

/* Completes a layer from libdarknet's parse_batchnorm: buffers, forward,
 * backward, update (darknet's formulas, kernels/bn.h). */
void abc_batchnorm_install(layer *l);
/* New input size (scales and statistics kept). */
void abc_batchnorm_resize(layer *l, int w, int h);

#endif
