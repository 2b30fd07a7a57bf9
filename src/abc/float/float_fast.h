/* The project's fast forward/backward for libdarknet's stock float layers
 * ([convolutional], [connected]): same outputs as stock darknet within float
 * rounding, work split across cores by the project's thread pool. */
#ifndef ABC_FLOAT_FAST_H
#define ABC_FLOAT_FAST_H

#include "darknet.h"

/* Replaces l->forward/backward of a stock CONVOLUTIONAL or CONNECTED layer
 * with the project's (and the forward of a MAXPOOL layer); other layers, and configurations the fast path does not
 * cover (groups, binary, xnor, strided 1x1), keep darknet's own. Safe to call
 * again after a resize. ABC_FLOAT=stock keeps darknet's own everywhere. */
void abc_float_fast_install(layer *l);

/* ABC_FLOAT (base/mode.h): unset or "fast" -> 1, "stock" -> 0. It decides
 * the gemm hook's path and later installs. */
int abc_float_fast_enabled(void);

/* abc_float_fast_install regardless of ABC_FLOAT; returns 1 if installed. */
int abc_float_fast_use(layer *l);

#endif
