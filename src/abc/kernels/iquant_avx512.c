/* The quant layers' input quantization to planes of words on AVX-512 (iconv.h): 16 pixels of a row at a time,
 * the 4 channels of a group quantized and shifted into the 4 bytes of each pixel's word. */
#include <immintrin.h>

#include "iconv.h"

#define TARGET __attribute__((target("avx512f,avx512bw")))

/* clip(floor(s x), qlo, qhi) + zp: max returns its second operand (qlo) for a NaN */
static TARGET __m512i quantize(__m512 x, __m512 s, __m512 qlo, __m512 qhi, __m512i zp)
{
    __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, s), qlo), qhi);
    v = _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    return _mm512_add_epi32(_mm512_cvttps_epi32(v), zp);
}

TARGET void abc_iquant_planes_avx512(const float *x, int c, int h, int w, int pad, int y0, int y1, float s,
                                     float qlo, float qhi, int zp, uint32_t *planes, int wp, size_t ps)
{
    const __m512 vs = _mm512_set1_ps(s), vlo = _mm512_set1_ps(qlo), vhi = _mm512_set1_ps(qhi);
    const __m512i vzp = _mm512_set1_epi32(zp);
    const uint32_t zword = (uint32_t)zp * 0x01010101u;
    const __m512i vzword = _mm512_set1_epi32((int)zword);
    int cw = (c + 3) / 4;
    for (int g = 0; g < cw; ++g)
        for (int y = y0; y < y1; ++y) {
            uint32_t *row = planes + (size_t)g * ps + (size_t)(y + pad) * wp;
            for (int i = 0; i < pad; ++i) row[i] = row[pad + w + i] = zword;
            row += pad;
            for (int x0 = 0; x0 < w; x0 += 16) {
                __mmask16 m = w - x0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (w - x0)) - 1);
                __m512i word = vzword;
                for (int j = 0; j < 4; ++j) {
                    int ch = 4 * g + j;
                    if (ch >= c) break;
                    __m512 v = _mm512_maskz_loadu_ps(m, x + ((size_t)ch * h + y) * w + x0);
                    __m512i q = quantize(v, vs, vlo, vhi, vzp);
                    /* byte j: clear the zp there, put q in */
                    word = _mm512_or_si512(_mm512_andnot_si512(_mm512_set1_epi32((int)(0xffu << (8 * j))), word),
                                           _mm512_slli_epi32(q, 8 * j));
                }
                _mm512_mask_storeu_epi32(row + x0, m, word);
            }
        }
}
