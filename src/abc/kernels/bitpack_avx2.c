#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* as the plain packer: short loops unrolled */
#endif
/* The AVX2 input bit packer (bitpack.h). */
#include "bitpack.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

/* The 8x8 bit matrix in x (byte k = row k, bit j = column j) transposed: byte j = column j, bit k = row k. */
static inline uint64_t transpose8(uint64_t x)
{
    uint64_t t = (x ^ (x >> 7)) & 0x00AA00AA00AA00AAull;
    x ^= t ^ (t << 7);
    t = (x ^ (x >> 14)) & 0x0000CCCC0000CCCCull;
    x ^= t ^ (t << 14);
    t = (x ^ (x >> 28)) & 0x00000000F0F0F0F0ull;
    return x ^ t ^ (t << 28);
}

/* AVX2: 8 pixels a vector; each compare's movemask is one byte (bit j =
 * pixel j) of channel c; eight such bytes are an 8x8 bit matrix whose
 * transpose gives each pixel's byte of those 8 channels. Built for each base
 * count so that the thresholds stay in registers. */
static inline __attribute__((always_inline, target("avx2"))) void
pack256(const float *x, int C, int HW, int q0, int q1, const float *thr, const int nthr, uint64_t *out, int cw)
{
    __m256 t[ABC_BITPACK_MAX_THRESHOLDS];
    for (int n = 0; n < nthr; ++n) t[n] = _mm256_set1_ps(thr[n]);
    for (int q = q0; q < q1; q += 8) {
        int qb = imin(8, q1 - q);
        __m256i lm = _mm256_cmpgt_epi32(_mm256_set1_epi32(qb), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            uint8_t m[ABC_BITPACK_MAX_THRESHOLDS][64]; /* base n, channel c: the mask byte of the 8 pixels */
            const float *xc = x + (size_t)c0 * HW + q;
            for (int c = 0; c < cb; ++c, xc += HW) {
                _mm_prefetch((const char *)(xc + 32), _MM_HINT_T0); /* as in the AVX-512 kernel */
                __m256 v = qb == 8 ? _mm256_loadu_ps(xc) : _mm256_maskload_ps(xc, lm);
                for (int n = 0; n < nthr; ++n)
                    m[n][c] = (uint8_t)_mm256_movemask_ps(_mm256_cmp_ps(v, t[n], _CMP_GE_OQ));
            }
            for (int n = 0; n < nthr; ++n) {
                for (int c = cb; c < 64; ++c) m[n][c] = 0;
                uint8_t word[8][8]; /* pixel j, byte g: channels 8g .. 8g+7 */
                for (int g = 0; g < 8; ++g) {
                    uint64_t b;
                    memcpy(&b, &m[n][8 * g], 8);
                    b = transpose8(b);
                    for (int j = 0; j < 8; ++j) word[j][g] = (uint8_t)(b >> (8 * j));
                }
                for (int j = 0; j < qb; ++j) memcpy(out + ((size_t)n * HW + q + j) * cw + w, word[j], 8);
            }
        }
    }
}

__attribute__((target("avx2"))) void abc_bitpack_avx2(const float *x, int C, int HW, int q0, int q1,
                                                       const float *thr, int nthr, uint64_t *out, int cw)
{
    ABC_BITPACK_BY_COUNT(pack256);
}
#else
void abc_bitpack_avx2(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out, int cw)
{
    abc_bitpack_plain(x, C, HW, q0, q1, thr, nthr, out, cw); /* never chosen: its row needs AVX2 */
}
#endif
