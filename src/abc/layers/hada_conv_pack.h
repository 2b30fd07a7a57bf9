/* Packed inference of the HadaNet layers: the layout of the packed weights
 * and the entry points hada_conv.c and the summary use. */
#ifndef HADA_CONV_PACK_H
#define HADA_CONV_PACK_H

#include <stddef.h>

#include "hada_conv.h"

/* Words of packed weight bits and floats of segment magnitudes the layer
 * keeps for inference (allocated in the layer's state block). */
void hada_conv_packed_sizes(const layer *l, const hada_conv_opts *o, size_t *wbits_words, size_t *wmag_g_floats);
/* Packs st->wq's signs and st->wmag into st->wbits / st->wmag_g. */
void hada_conv_pack_weights(layer *l);
/* Name of the segment kernel the packed path runs on this CPU. */
const char *hada_conv_kernel_name(const layer *l);

#endif
