/* The project's fast forward/backward for libdarknet's stock float layers
 * ([convolutional], [connected]): same outputs as stock darknet within float
 * rounding, work split across cores by the project's thread pool. */
#ifndef ABC_FLOAT_FAST_H
#define ABC_FLOAT_FAST_H

#include "darknet.h"

/* Replaces l->forward/backward (and update) of a stock CONVOLUTIONAL or
 * CONNECTED layer with the project's; other layers are left as they are.
 * Safe to call again after a resize. ABC_FLOAT=stock keeps darknet's own. */
void abc_float_fast_install(layer *l);

#endif
