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
/* libdarknet's network_predict_data on abc_network_predict: X's rows (images) a batch at a time, in place where
 * a batch's rows lie end to end (a short last batch is copied, the rest of it left as the buffer held it), the
 * outputs as rows of a new matrix. */
matrix abc_network_predict_rows(network *net, matrix X);

#endif
