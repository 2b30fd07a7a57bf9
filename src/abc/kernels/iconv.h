/* The quant layers' integer convolutions straight from the quantized input (implicit GEMMs: no im2col), on
 * AVX-512 VNNI: out[f * P + p] = (float)(sum - off[f]) * k[f], sum over taps t and groups g of 4 channels of
 * the 4 uint8 inputs of the pixel under tap t times filter f's 4 int8 weights there, then the output stage in
 * the registers: (stage) bias, or batch norm ((y - mean) * kbn + bias), and linear / relu / leaky, the same
 * float operations in the same order as kernels/bn.h's rows (ABC_ICONV_STAGE_NONE: the caller runs it).
 *   x: the input, zero-point padded (pad pixels on every side hold the offset), 4 channels a word (cw words a
 *      pixel, channels / 4 rounded up), in one of two layouts (below);
 *   w: the weights as words, word (t * cw + g) of filter f at w[(t * cw + g) * npad + f] (npad: n rounded up to
 *      32, the padding 0); off, k: npad each; mean, kbn, bias: n each (mean NULL: bias only). */
#ifndef ABC_ICONV_H
#define ABC_ICONV_H

#include <stddef.h>
#include <stdint.h>

enum { ABC_ICONV_STAGE_NONE, ABC_ICONV_STAGE_LINEAR, ABC_ICONV_STAGE_RELU, ABC_ICONV_STAGE_LEAKY };
enum { ABC_ICONV_ROWS_SLACK = 64 }; /* words the rows kernel reads past a plane's padded image */

typedef struct {
    const uint32_t *x;
    size_t ps; /* planes: words from one plane to the next (rows kernel); 0: channels last */
    int wp, cw;
    const uint32_t *w;
    int n, npad;
    const int32_t *off;
    const float *k;
    int stage; /* ABC_ICONV_STAGE_* */
    const float *mean, *kbn, *bias;
    int out_w, stride, size;
    float *out;
    int P;
} abc_iconv_args;

int abc_iconv_usable(void);

/* Filters in the lanes, the input channels last (pixel (y, x) of the padded image at words [(y * wp + x) * cw,
 * + cw)): output pixels [p0, p1) of filters [f0, f1) (f0 a multiple of 32). */
void abc_iconv_avx512vnni(const abc_iconv_args *a, int p0, int p1, int f0, int f1);

/* Pixels in the lanes, stride 1 (no scattered stores): the input in planes of words, group g of the padded
 * image at x + g * ps, pixel (y, x) at word y * wp + x. An output pixel (oy, ox) sits at position
 * q = oy * wp + ox of the padded grid, and tap (ky, kx) reads word q + ky * wp + kx, so 16 positions in a row of
 * the grid are 16 words in a row, across the image's rows too; the positions past out_w of each row are computed
 * and dropped. Positions [q0, q1) are computed, reading up to ABC_ICONV_ROWS_SLACK words past the image's last
 * padded row, which the planes must hold (any value). */
void abc_iconv_rows_avx512vnni(const abc_iconv_args *a, int q0, int q1);

/* Rows [y0, y1) of an image (c planes of h x w floats) as uint8 words in planes (the layout above): value
 * clip(floor(s x), qlo, qhi) + zp (NaN gives qlo), channel 4g + j in byte j of plane g (missing channels zp),
 * at word (y + pad) * wp + pad + x of its plane, ps words apart; the rows' pad words on both sides set to zp. */
void abc_iquant_planes_avx512(const float *x, int c, int h, int w, int pad, int y0, int y1, float s, float qlo,
                              float qhi, int zp, uint32_t *planes, int wp, size_t ps);

#endif
