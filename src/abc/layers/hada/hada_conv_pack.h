/* Packed inference of the HadaNet layers: the layout of the packed weights
 * and the entry points hada_conv.c and the summary use.
 *
 * The product runs on segments of g = min(bw, ba) channels (bw = 1: g = 1),
 * each inside one weight and one activation segment. A segment longer than
 * 64 channels is split into pieces of 64 with the same magnitudes (the
 * product is linear in each piece's popcount). The reduction order of a row
 * (one filter, or one output position) is tap by tap ((ky, kx), darknet's
 * order), and at each tap the Q kernel segments of the c channels (the last
 * of each g-segment shorter when c % g != 0), padded with empty segments
 * (length 0, magnitude 0) to Qp so that a tap's bits fill whole bytes. Each
 * segment is a slot of s bits (s = the next power of two >= min(g, 64)) in
 * the segment GEMM's layout (kernels/hgemm.h): a row is S = taps*Qp
 * segments, `words` 64-bit words.
 *   st->wbits:  filter f's row at f*words (sign bits of W~; bit 1 = +1)
 *   st->wmag_g: filter f's S magnitudes at f*S (delta_w of the segment's
 *               weight segment; 0 for the padding segments)
 * The input is packed per forward: each pixel's Qp segments (sign bits of R,
 * delta_a of the segment's activation segment), then an im2col over whole
 * taps (padded taps: bits 0, magnitude 0), then the segment GEMM, then bias
 * or batch norm (rolling statistics) and the activation. */
#ifndef HADA_CONV_PACK_H
#define HADA_CONV_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "hada_conv.h"

/* The geometry of the packed product of a layer with c input channels and
 * taps kernel taps (pure: from the shape and options only). */
typedef struct {
    int g;      /* channels a product segment: min(bw, ba), 1 if bw == 1 */
    int piece;  /* channels a kernel segment at most: g, or 64 when g > 64 */
    int s;      /* slot bits */
    int Q, Qp;  /* kernel segments a tap: real, with the byte padding */
    int bytes;  /* bytes of one tap's bits: Qp*s/8 */
    int S;      /* segments a row: taps*Qp */
    size_t words;
} hada_pack_geom;

/* 0 (and *gm zeroed) when the layer has no packed path (ba == 1). */
int hada_pack_geometry(int c, int taps, const hada_conv_opts *o, hada_pack_geom *gm);
/* First channel and length of each of a tap's Qp kernel segments (length 0: padding). */
void hada_pack_tap_segments(int c, const hada_pack_geom *gm, int *ch0, int *len);

/* Words of packed weight bits and floats of segment magnitudes the layer
 * keeps for inference (allocated in the layer's state block). */
void hada_conv_packed_sizes(const layer *l, const hada_conv_opts *o, size_t *wbits_words, size_t *wmag_g_floats);
/* Packs st->wq's signs and st->wmag into st->wbits / st->wmag_g. */
void hada_conv_pack_weights(layer *l);
/* The packed weights in row panels of mr rows (a kernel's, hgemm_kernels.h;
 * 0 < mr <= 8), built on first use after each packing; NULL for other mr. */
const uint32_t *hada_conv_weight_panels(layer *l, const hada_pack_geom *gm, int mr);
/* Name of the segment kernel the packed path runs on this CPU. */
const char *hada_conv_kernel_name(const layer *l);

#endif
