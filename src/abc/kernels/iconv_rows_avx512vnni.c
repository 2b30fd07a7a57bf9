/* The integer convolution for stride 1 on AVX-512 VNNI, pixels in the lanes (iconv.h): blocks of 48 positions
 * of the padded grid (3 vectors) x 8 filters, 24 sums in registers over all taps and channel groups; per tap
 * and group 3 loads of 16 input words and 8 broadcast weights. The valid lanes of each vector (the positions
 * before out_w in their row) are compressed and stored contiguously: they are consecutive output pixels. */
#include <immintrin.h>

#include "iconv.h"
#include "iconv_stage.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
enum { NV = 3, NF = 8, NQ = 16 * NV };

/* positions [q, q + NQ) clipped to q1: per vector the mask of lanes that are output pixels, and the output
 * index of its first such lane */
static void lanes(const abc_iconv_args *a, int q, int q1, __mmask16 m[NV], int start[NV])
{
    int oy = q / a->wp, ox = q % a->wp;
    for (int v = 0; v < NV; ++v) {
        unsigned bits = 0;
        start[v] = oy * a->out_w + (ox < a->out_w ? ox : a->out_w);
        for (int i = 0; i < 16; ++i, ++q) {
            if (q < q1 && ox < a->out_w) bits |= 1u << i;
            if (++ox == a->wp) ox = 0, ++oy;
        }
        m[v] = (__mmask16)bits;
    }
}

static TARGET void block(const abc_iconv_args *a, int q, const __mmask16 m[NV], const int start[NV], int f0)
{
    __m512i acc[NF][NV];
    _Pragma("GCC unroll 32") for (int j = 0; j < NF; ++j) for (int v = 0; v < NV; ++v) acc[j][v] =
        _mm512_setzero_si512();
    for (int ky = 0; ky < a->size; ++ky)
        for (int kx = 0; kx < a->size; ++kx) {
            const uint32_t *x = a->x + q + ky * a->wp + kx;
            const uint32_t *w = a->w + (size_t)(ky * a->size + kx) * a->cw * a->npad + f0;
            for (int g = 0; g < a->cw; ++g, x += a->ps, w += a->npad) {
                __m512i xv[NV];
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) xv[v] = _mm512_loadu_si512(x + 16 * v);
                _Pragma("GCC unroll 8") for (int j = 0; j < NF; ++j) {
                    __m512i wb = _mm512_set1_epi32((int)w[j]);
                    _Pragma("GCC unroll 4") for (int v = 0; v < NV; ++v) acc[j][v] =
                        _mm512_dpbusd_epi32(acc[j][v], xv[v], wb);
                }
            }
        }
    for (int j = 0; j < NF && f0 + j < a->n; ++j) {
        int f = f0 + j;
        __m512i off = _mm512_set1_epi32(a->off[f]);
        __m512 k = _mm512_set1_ps(a->k[f]), zero = _mm512_setzero_ps();
        __m512 mean = a->mean ? _mm512_set1_ps(a->mean[f]) : zero, kbn = a->mean ? _mm512_set1_ps(a->kbn[f]) : zero;
        __m512 bias = a->stage != ABC_ICONV_STAGE_NONE ? _mm512_set1_ps(a->bias[f]) : zero;
        float *o = a->out + (size_t)f * a->P;
        for (int v = 0; v < NV; ++v) {
            if (!m[v]) continue;
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[j][v], off)), k);
            y = abc_iconv_stage(a->stage, a->mean != NULL, y, mean, kbn, bias);
            if (m[v] == 0xffff) {
                _mm512_storeu_ps(o + start[v], y);
            } else {
                int cnt = __builtin_popcount(m[v]);
                _mm512_mask_storeu_ps(o + start[v], (__mmask16)((1u << cnt) - 1), _mm512_maskz_compress_ps(m[v], y));
            }
        }
    }
}

TARGET void abc_iconv_rows_avx512vnni(const abc_iconv_args *a, int q0, int q1)
{
    for (int q = q0; q < q1; q += NQ) {
        __mmask16 m[NV];
        int start[NV];
        lanes(a, q, q1, m, start);
        for (int f0 = 0; f0 < a->n; f0 += NF) block(a, q, m, start, f0);
    }
}
