/* A network's forward pass for the project's inference commands and the whole-network benchmark. */
#ifndef ABC_FORWARD_H
#define ABC_FORWARD_H

#include "darknet.h"

/* libdarknet's forward_network: each layer's forward in turn on the previous one's output, then the cost. Its
 * gradient buffers are zeroed before each layer only when training (net->train): at inference nothing reads
 * them, and libdarknet's clearing of them all costs as much as a binary network's convolutions. layer_ms (may be
 * NULL; net->n entries) gets each layer's forward time in milliseconds. */
void abc_forward_network(network *net, double *layer_ms);

/* libdarknet's network_predict on abc_forward_network: the commands' inference calls this (libdarknet's own
 * forward_network is not replaced: only the five hooks of hooks.c are). Returns the network's output. */
float *abc_network_predict(network *net, float *input);

#endif
