/* The integer convolution on AVX-512 VNNI (iconv.h): blocks of 12 output pixels x 32 filters, 24 sums in
 * registers over all taps and channel groups; a pixel's 4 input bytes broadcast, 16 filters' 4 weights a
 * vector; the sums scaled and scattered to the filters' output planes. */
#include <immintrin.h>

#include "cpu.h"
#include "iconv.h"
#include "iconv_stage.h"

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
enum { NP = 12 };

int abc_iconv_usable(void)
{
    return abc_cpu_has(ABC_CPU_AVX512F | ABC_CPU_AVX512BW | ABC_CPU_AVX512VNNI);
}

/* pixels [pb, pb + np) (np <= NP; the missing ones repeat the last and are not stored), filters f0..f0 + 31 */
static TARGET void block(const abc_iconv_args *a, int pb, int np, int f0)
{
    int base[NP];
    for (int i = 0; i < NP; ++i) {
        int p = pb + (i < np ? i : np - 1), oy = p / a->out_w, ox = p % a->out_w;
        base[i] = (oy * a->stride * a->wp + ox * a->stride) * a->cw;
    }
    __m512i acc[NP][2];
    _Pragma("GCC unroll 16") for (int i = 0; i < NP; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
    for (int ky = 0; ky < a->size; ++ky)
        for (int kx = 0; kx < a->size; ++kx) {
            int t = ky * a->size + kx, toff = (ky * a->wp + kx) * a->cw;
            const uint32_t *w = a->w + (size_t)t * a->cw * a->npad + f0;
            const uint32_t *x = a->x + toff;
            for (int g = 0; g < a->cw; ++g, w += a->npad, ++x) {
                __m512i w0 = _mm512_loadu_si512(w), w1 = _mm512_loadu_si512(w + 16);
                _Pragma("GCC unroll 16") for (int i = 0; i < NP; ++i) {
                    __m512i xb = _mm512_set1_epi32((int)x[base[i]]);
                    acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], xb, w0);
                    acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], xb, w1);
                }
            }
        }
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int v = 0; v < 2; ++v) {
        int f = f0 + 16 * v;
        if (f >= a->n) break;
        __mmask16 m = a->n - f >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (a->n - f)) - 1);
        __m512i off = _mm512_loadu_si512(a->off + f), idx = _mm512_mullo_epi32(lane, _mm512_set1_epi32(a->P));
        __m512 k = _mm512_loadu_ps(a->k + f);
        __m512 mean = a->mean ? _mm512_maskz_loadu_ps(m, a->mean + f) : _mm512_setzero_ps();
        __m512 kbn = a->mean ? _mm512_maskz_loadu_ps(m, a->kbn + f) : _mm512_setzero_ps();
        __m512 bias = a->stage != ABC_ICONV_STAGE_NONE ? _mm512_maskz_loadu_ps(m, a->bias + f) : _mm512_setzero_ps();
        float *o = a->out + (size_t)f * a->P + pb;
        _Pragma("GCC unroll 16") for (int i = 0; i < NP; ++i) {
            if (i >= np) break;
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[i][v], off)), k);
            y = abc_iconv_stage(a->stage, a->mean != NULL, y, mean, kbn, bias);
            _mm512_mask_i32scatter_ps(o + i, m, idx, y, 4);
        }
    }
}

/* pixel blocks outer: a block's input windows stay in L1 while the filters' weights stream by (measured faster
 * than filter blocks outer on 13x13x512->1024) */
TARGET void abc_iconv_avx512vnni(const abc_iconv_args *a, int p0, int p1, int f0, int f1)
{
    for (int pb = p0; pb < p1; pb += NP)
        for (int f = f0; f < f1 && f < a->n; f += 32) block(a, pb, p1 - pb < NP ? p1 - pb : NP, f);
}
