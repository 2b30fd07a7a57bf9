/* Packing for the inference path of [abc_convolutional] (abc_conv_packed.c),
 * channel-innermost: a pixel's C channels are cw = ceil(C/64) words (bit
 * c%64 of word c/64, bits c >= C zero), and a row of the binary product
 * (one output position, or one filter's weight base) is its size*size taps
 * in (ky, kx) order, cw words each: kw = size*size*cw words. A tap in the
 * zero padding is cw zero words (-1 bits); the layer adds the correction.
 * Bits past C are 0 in both operands, so each adds exactly +1 to
 * 64*kw - 2*popcount(a xor b): the product over the real K bits is that
 * minus (64*kw - K). */
#ifndef ABC_CONV_PACK_H
#define ABC_CONV_PACK_H

#include <stdint.h>

#include "abc_conv.h"

/* Pixels [q0, q1) of one image x (C x HW floats, NCHW) for nthr activation
 * bases in one pass over the floats: out[(n*HW + q)*cw + w] holds channels
 * 64w.. of pixel q, bit = x >= thr[n] (abc_conv_abit). Runtime-dispatched
 * (AVX-512, AVX2, plain C); ABC_PACK=ref|plain|avx2|avx512 forces one. */
void abc_conv_pack_input(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                         int cw);
/* The plain definition, bit by bit (tests). */
void abc_conv_pack_input_ref(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr,
                             uint64_t *out, int cw);
/* The name of the packer abc_conv_pack_input runs. */
const char *abc_conv_pack_input_name(void);
/* Makes abc_conv_pack_input run the packer `name` (tests); 0 if there is no
 * such packer or this CPU cannot run it. */
int abc_conv_pack_force(const char *name);

/* Rows of the product for output positions [p0, p1) of one base plane xw
 * (h*w pixels, cw words each): row p - p0 at out + (p - p0)*ld, kw words. */
void abc_conv_im2col_words(const uint64_t *xw, int h, int w, int cw, int size, int stride, int pad, int out_w,
                           int p0, int p1, uint64_t *out, int ld);

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
