/* The quant layers' integer convolution straight from the quantized input (an implicit GEMM: no im2col), on
 * AVX-512 VNNI: out[f * P + p] = (float)(sum - off[f]) * k[f], sum over taps t and groups g of 4 channels of
 * the 4 uint8 inputs of the pixel under tap t times filter f's 4 int8 weights there.
 *   x: the input, zero-point padded (pad pixels on every side hold the offset), channels last: pixel (y, x) of
 *      the padded image at words [(y * wp + x) * cw, + cw) (cw = channels / 4, rounded up);
 *   w: the weights as words, word (t * cw + g) of filter f at w[(t * cw + g) * npad + f] (npad: n rounded up to
 *      32, the padding 0); off, k: npad each;
 *   output pixels [p0, p1) of out_w a row, stride and size of the conv.
 * Returns 0, or -1 when this CPU has no AVX-512 VNNI (the caller then takes im2col and the integer GEMM). */
#ifndef ABC_ICONV_H
#define ABC_ICONV_H

#include <stdint.h>

typedef struct {
    const uint32_t *x;
    int wp, cw;
    const uint32_t *w;
    int n, npad;
    const int32_t *off;
    const float *k;
    int out_w, stride, size;
    float *out;
    int P;
} abc_iconv_args;

int abc_iconv_usable(void);
void abc_iconv_avx512vnni(const abc_iconv_args *a, int p0, int p1);

#endif
