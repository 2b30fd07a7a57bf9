#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the pixel loops of the plain packer vectorize */
#endif
/* [abc_convolutional] inputs -> sign bits per pixel for every activation
 * base in one pass over the floats (abc_conv_pack.h): the plain definition,
 * a plain C version the compiler vectorizes (the baseline), AVX2, AVX-512;
 * chosen from the CPU once, ABC_PACK=<name> forces one. */
#include "abc_conv_pack.h"

#include <stdlib.h>
#include <string.h>

#include "abc_util.h"
#include "kernels/bgemm_kernels.h"

enum { QB = 16 }; /* pixels packed side by side */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

void abc_conv_pack_input_ref(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr,
                             uint64_t *out, int cw)
{
    for (int n = 0; n < nthr; ++n)
        for (int q = q0; q < q1; ++q) {
            uint64_t *o = out + ((size_t)n * HW + q) * cw;
            for (int w = 0; w < cw; ++w) o[w] = 0;
            for (int c = 0; c < C; ++c)
                if (abc_conv_abit(x[(size_t)c * HW + q], thr[n])) o[c / 64] |= 1ull << (c % 64);
        }
}

/* Plain C: 16 pixels x 64 channels per block, each float compared with every
 * threshold while in a register; the loops over the 16 pixels vectorize. */
static inline __attribute__((always_inline)) void pack_body(const float *x, int C, int HW, int q0, int q1,
                                                           const float *thr, int nthr, uint64_t *out, int cw)
{
    uint64_t acc[ABC_MAX_BASES][QB];
    for (int q = q0; q < q1; q += QB) {
        int qb = imin(QB, q1 - q);
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            for (int n = 0; n < nthr; ++n)
                for (int j = 0; j < QB; ++j) acc[n][j] = 0;
            for (int c = 0; c < cb; ++c) {
                const float *xr = x + (size_t)(c0 + c) * HW + q;
                __builtin_prefetch(xr + 2 * QB); /* as in pack512 */
                float v[QB];
                if (qb == QB)
                    for (int j = 0; j < QB; ++j) v[j] = xr[j];
                else
                    for (int j = 0; j < QB; ++j) v[j] = j < qb ? xr[j] : 0.f;
                for (int n = 0; n < nthr; ++n) {
                    float t = thr[n];
                    for (int j = 0; j < QB; ++j) acc[n][j] |= (uint64_t)(v[j] >= t) << c;
                }
            }
            for (int n = 0; n < nthr; ++n)
                for (int j = 0; j < qb; ++j) out[((size_t)n * HW + q + j) * cw + w] = acc[n][j];
        }
    }
}

static void pack_plain(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                       int cw)
{
    pack_body(x, C, HW, q0, q1, thr, nthr, out, cw);
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* fn(..., nthr, ...) with nthr a constant from 1 to 8 (so that the per-base registers stay registers). */
#define BY_BASE_COUNT(fn)                                                                                         \
    switch (nthr) {                                                                                                \
    case 1: fn(x, C, HW, q0, q1, thr, 1, out, cw); return;                                                          \
    case 2: fn(x, C, HW, q0, q1, thr, 2, out, cw); return;                                                          \
    case 3: fn(x, C, HW, q0, q1, thr, 3, out, cw); return;                                                          \
    case 4: fn(x, C, HW, q0, q1, thr, 4, out, cw); return;                                                          \
    case 5: fn(x, C, HW, q0, q1, thr, 5, out, cw); return;                                                          \
    case 6: fn(x, C, HW, q0, q1, thr, 6, out, cw); return;                                                          \
    case 7: fn(x, C, HW, q0, q1, thr, 7, out, cw); return;                                                          \
    case 8: fn(x, C, HW, q0, q1, thr, 8, out, cw); return;                                                          \
    default: fn(x, C, HW, q0, q1, thr, nthr, out, cw); return;                                                      \
    }

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
    __m256 t[ABC_MAX_BASES];
    for (int n = 0; n < nthr; ++n) t[n] = _mm256_set1_ps(thr[n]);
    for (int q = q0; q < q1; q += 8) {
        int qb = imin(8, q1 - q);
        __m256i lm = _mm256_cmpgt_epi32(_mm256_set1_epi32(qb), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            uint8_t m[ABC_MAX_BASES][64]; /* base n, channel c: the mask byte of the 8 pixels */
            const float *xc = x + (size_t)c0 * HW + q;
            for (int c = 0; c < cb; ++c, xc += HW) {
                _mm_prefetch((const char *)(xc + 32), _MM_HINT_T0); /* as in pack512 */
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

__attribute__((target("avx2"))) static void pack_avx2(const float *x, int C, int HW, int q0, int q1,
                                                      const float *thr, int nthr, uint64_t *out, int cw)
{
    BY_BASE_COUNT(pack256);
}

static int has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

/* AVX-512: 16 pixels a vector; each compare gives a 16-bit mask, and bit c
 * is or-ed into the 16 pixels' words (two zmm of 8 words) under that mask.
 * Built for each base count so that the accumulators stay in registers. */
static inline __attribute__((always_inline, target("avx512f,avx512bw"))) void
pack512(const float *x, int C, int HW, int q0, int q1, const float *thr, const int nthr, uint64_t *out, int cw)
{
    __m512 t[ABC_MAX_BASES];
    for (int n = 0; n < nthr; ++n) t[n] = _mm512_set1_ps(thr[n]);
    for (int q = q0; q < q1; q += QB) {
        int qb = imin(QB, q1 - q);
        __mmask16 lm = qb == QB ? (__mmask16)0xffff : (__mmask16)((1u << qb) - 1);
        for (int w = 0; w < cw; ++w) {
            int c0 = w * 64, cb = imin(64, C - c0);
            __m512i lo[ABC_MAX_BASES], hi[ABC_MAX_BASES];
            for (int n = 0; n < nthr; ++n) lo[n] = hi[n] = _mm512_setzero_si512();
            __m512i bit = _mm512_set1_epi64(1);
            const float *xc = x + (size_t)c0 * HW + q;
            for (int c = 0; c < cb; ++c, xc += HW) {
                /* two blocks ahead: one stream per channel is more than the hardware prefetchers follow */
                _mm_prefetch((const char *)(xc + 2 * QB), _MM_HINT_T0);
                __m512 v = _mm512_maskz_loadu_ps(lm, xc);
                for (int n = 0; n < nthr; ++n) {
                    __mmask16 k = _mm512_cmp_ps_mask(v, t[n], _CMP_GE_OQ);
                    lo[n] = _mm512_mask_or_epi64(lo[n], (__mmask8)k, lo[n], bit);
                    hi[n] = _mm512_mask_or_epi64(hi[n], (__mmask8)(k >> 8), hi[n], bit);
                }
                bit = _mm512_add_epi64(bit, bit);
            }
            for (int n = 0; n < nthr; ++n) {
                uint64_t *o = out + ((size_t)n * HW + q) * cw + w;
                if (cw == 1 && qb == QB) {
                    _mm512_storeu_si512(o, lo[n]);
                    _mm512_storeu_si512(o + 8, hi[n]);
                } else {
                    uint64_t tmp[QB];
                    _mm512_storeu_si512(tmp, lo[n]);
                    _mm512_storeu_si512(tmp + 8, hi[n]);
                    for (int j = 0; j < qb; ++j) o[(size_t)j * cw] = tmp[j];
                }
            }
        }
    }
}

__attribute__((target("avx512f,avx512bw"))) static void pack_avx512(const float *x, int C, int HW, int q0, int q1,
                                                                    const float *thr, int nthr, uint64_t *out,
                                                                    int cw)
{
    BY_BASE_COUNT(pack512);
}
#endif

typedef void (*pack_fn)(const float *, int, int, int, int, const float *, int, uint64_t *, int);

static const struct {
    const char *name;
    pack_fn fn;
} packers[] = {
    {"ref", abc_conv_pack_input_ref},
    {"plain", pack_plain},
#if defined(__x86_64__) && defined(__GNUC__)
    {"avx2", pack_avx2},
    {"avx512", pack_avx512},
#endif
};
enum { NPACKERS = sizeof packers / sizeof packers[0] };

static int usable(int i)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (!strcmp(packers[i].name, "avx2")) return abc_cpu_has_avx2();
    if (!strcmp(packers[i].name, "avx512")) return has_avx512();
#endif
    (void)i;
    return 1;
}

static int chosen = -1;

static int choose(void)
{
    int c = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (c >= 0) return c;
    const char *e = getenv("ABC_PACK");
    if (e && *e) {
        for (c = 0; c < NPACKERS && strcmp(packers[c].name, e); ++c) {}
        if (c == NPACKERS) abc_die("ABC_PACK='%s': unknown packer (ref, plain, avx2, avx512)", e);
        if (!usable(c)) abc_die("ABC_PACK='%s': this CPU cannot run that packer", e);
    } else {
        for (c = NPACKERS - 1; c > 1 && !usable(c); --c) {}
    }
    __atomic_store_n(&chosen, c, __ATOMIC_RELEASE);
    return c;
}

void abc_conv_pack_input(const float *x, int C, int HW, int q0, int q1, const float *thr, int nthr, uint64_t *out,
                         int cw)
{
    if (nthr > ABC_MAX_BASES) abc_die("abc_conv_pack_input: %d bases (max %d)", nthr, ABC_MAX_BASES);
    packers[choose()].fn(x, C, HW, q0, q1, thr, nthr, out, cw);
}

const char *abc_conv_pack_input_name(void) { return packers[choose()].name; }

int abc_conv_pack_force(const char *name)
{
    for (int i = 0; i < NPACKERS; ++i)
        if (!strcmp(packers[i].name, name)) {
            if (!usable(i)) return 0;
            __atomic_store_n(&chosen, i, __ATOMIC_RELEASE);
            return 1;
        }
    return 0;
}
