/* The network I/O of the plugin backend: what the hooks (hooks.c) call in
 * place of libdarknet's own parser, weights reader and writer, and resize. */
#ifndef ABC_NETIO_H
#define ABC_NETIO_H

#include <stddef.h>

#include "darknet.h"

/* parser.c: a cfg through the project's parser (plugin layers, strict checks, file:line errors). */
network *abc_parse_network(const char *cfgfile);
/* weights.c: darknet's .weights format, sizes checked against the cfg before anything is read; atomic writes. */
void abc_load_weights(network *net, const char *filename, int start, int cutoff);
void abc_save_weights(network *net, const char *filename, int cutoff);
/* Floats of one layer in a .weights file. */
size_t abc_layer_floats(const layer *l);
/* resize.c: every layer, plugin layers included. */
int abc_resize_network(network *net, int w, int h);

#endif
