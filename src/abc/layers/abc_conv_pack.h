/* Packing for the inference path of [abc_convolutional] (abc_conv_packed.c).
 * Input: each image row of each activation base becomes a bit stream, the
 * C channels of pixel x at bits (x + pad)*C .. + C-1 (channels innermost; no
 * gaps between pixels, so small C wastes no bits), `pad` zero pixels on each
 * side and `pad` zero rows above and below: rw words a row (one spare word).
 * A row of the binary product (one output position) is, per kernel row ky,
 * the size*C bits of the window in that stream, in rk = ceil(size*C/64)
 * words (bits past size*C zero): kw = size*rk words, (ky, kx, c) order. A
 * weight base row has the same layout. A padded tap reads zero bits (-1);
 * the layer adds the correction. Spare bits are 0 in both operands, so each
 * adds exactly +1 to 64*kw - 2*popcount(a xor b): the product over the real
 * K bits is that minus (64*kw - K). */
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

/* Image rows [y0, y1) (pixel x of row y: px[(y*w + x)*cw ..], cw words, bits
 * past C zero, as abc_conv_pack_input writes them) into bit streams: row y
 * at rows + y*rw, pixel x at bits (x + pad)*C; the rest of each row zero. */
void abc_conv_stream_rows(const uint64_t *px, int w, int cw, int C, int pad, int y0, int y1, uint64_t *rows, int rw);

/* Rows of the product for output positions [p0, p1) from one padded base
 * plane (row 0 = the first padding row, rw words a row): row p - p0 at
 * out + (p - p0)*ld, its size*rk words ws apart (1: a plain row; 16 with
 * ld = 1: columns of a GEMM panel, bgemm.h). */
void abc_conv_im2col_words(const uint64_t *rows, int rw, int C, int size, int stride, int out_w, int p0, int p1,
                           uint64_t *out, int ld, int ws);
/* 1: im2col takes the plain loop even where it would use AVX-512 VBMI2 (panels, windows not on words,
 * steps up to 128 bits); 0: back to the CPU probe (tests). */
void abc_conv_im2col_plain(int plain);

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
