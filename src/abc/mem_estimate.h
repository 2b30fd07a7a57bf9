/* What a network will allocate, estimated from its cfg before anything is
 * built: libdarknet's layer constructors do not check their allocations, so
 * a cfg that does not fit in memory would crash inside one of them. */
#ifndef ABC_MEM_ESTIMATE_H
#define ABC_MEM_ESTIMATE_H

#include "base/cfg.h"

/* Bytes the layer of section s ("convolutional", "connected", a plugin type...) allocates on input p, with
 * its training buffers (outputs, gradients, weights and their updates, batch norm, im2col workspace). An
 * estimate from above for the layers that dominate (convolutions, connected), the input's size for others. */
double abc_layer_bytes(const abc_section *s, const char *type, size_params p);

/* Bytes the process may allocate: the least of RLIMIT_AS, RLIMIT_DATA and RAM plus swap. */
double abc_memory_budget(void);
/* A lower bound on the budget for the rest of the process (the fuzz harness: small networks only). */
void abc_memory_budget_cap(double bytes);

#endif
