/* The network I/O of the plugin backend: what the hooks (hooks.c) call in
 * place of libdarknet's own parser, weights reader and writer, and resize. */
#ifndef ABC_NETIO_H
#define ABC_NETIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "darknet.h"

/* parser.c: a cfg through the project's parser (plugin layers, strict checks, file:line errors). */
network *abc_parse_network(const char *cfgfile);
/* libdarknet's free_network, and what it leaves: the workspace the parser allocates, seen, t and cost. */
void abc_free_network(network *net);
/* The batch every network parsed from now on takes whatever its cfg says (0: the cfg's own): inference commands
 * set 1, so that no layer allocates outputs and gradients for the cfg's training batch. */
void abc_parse_set_batch(int batch);
/* weights.c: darknet's .weights format, sizes checked against the cfg before anything is read; atomic writes. */
void abc_load_weights(network *net, const char *filename, int start, int cutoff);
void abc_save_weights(network *net, const char *filename, int cutoff);
/* The same without dying: 0 on success; otherwise why in err, and the previous file is unchanged. */
int abc_save_weights_try(network *net, const char *filename, int cutoff, char *err, size_t errn);
/* A checkpoint: the weights, then the training state (train_state.h) when r is not NULL; as above. */
struct abc_resume_info;
int abc_save_checkpoint_try(network *net, const char *filename, const struct abc_resume_info *r, char *err,
                            size_t errn);
/* Floats of one layer in a .weights file, and its record read or written (not transposed; 0 on success). */
size_t abc_layer_floats(const layer *l);
int abc_layer_record_read(layer *l, FILE *fp);
int abc_layer_record_write(const layer *l, FILE *fp);
/* darknet's header of a .weights file (version 0.2.0, 64-bit seen); nonzero on a write error. */
int abc_weights_write_header(FILE *fp, uint64_t seen);
/* resize.c: every layer, plugin layers included. */
int abc_resize_network(network *net, int w, int h);

#endif
