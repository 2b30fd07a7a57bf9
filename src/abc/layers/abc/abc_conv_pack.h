/* Packing for the inference path of [abc_convolutional] (abc_conv_packed.c).
 * The input: each image row of each activation base becomes a bit stream
 * (kernels/bitpack.h packs the pixels, kernels/bim2col.h builds the streams
 * and the rows of the product from them: per kernel row ky the size*C bits of
 * the window, in rk = ceil(size*C/64) words, kw = size*rk words in (ky, kx, c)
 * order). A weight base row has the same layout. A padded tap reads zero bits (-1);
 * the layer adds the correction. Spare bits are 0 in both operands, so each
 * adds exactly +1 to 64*kw - 2*popcount(a xor b): the product over the real
 * K bits is that minus (64*kw - K). */
#ifndef ABC_CONV_PACK_H
#define ABC_CONV_PACK_H

#include <stdint.h>

#include "abc_conv.h"

/* Along one axis (input length in, out outputs): the kernel taps [lo, hi)
 * of output o that fall inside the input; distinct ranges are numbered in
 * order of appearance, cls[o] gets the number, lo/hi[number] the range (any
 * of the three may be NULL). Returns how many there are. */
int abc_conv_tap_patterns(int in, int out, int size, int stride, int pad, int32_t *cls, int *lo, int *hi);

/* Weight bases of the current weights (frozen alpha) into st->wbits, row
 * f*M + m, and the padded-tap correction of each border class (st->wcorr,
 * abc_conv.h); sets st->packed_valid. */
void abc_conv_pack_weights(layer *l);

#endif
