#include "bench_peaks.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "abc/base/util.h"
#include "abc/kernels/bgemm_kernels.h"
#include "abc/kernels/cpu.h"
#include "bench_util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* 2 rows x 4 columns of popcnt(a ^ b) per word, accumulated in registers. */
__attribute__((target("popcnt"), noinline)) static double loop_popcnt(const uint64_t *a, int words, long reps,
                                                                      int64_t *sink)
{
    uint64_t b0 = 0x5555, b1 = 0x3333, b2 = 0x0f0f, b3 = 0x00ff, s[8] = {0};
    for (long i = 0; i < reps; ++i)
        for (int w = 0; w < words; ++w) {
            uint64_t x = a[2 * w], y = a[2 * w + 1];
            s[0] += (uint64_t)__builtin_popcountll(x ^ b0);
            s[1] += (uint64_t)__builtin_popcountll(x ^ b1);
            s[2] += (uint64_t)__builtin_popcountll(x ^ b2);
            s[3] += (uint64_t)__builtin_popcountll(x ^ b3);
            s[4] += (uint64_t)__builtin_popcountll(y ^ b0);
            s[5] += (uint64_t)__builtin_popcountll(y ^ b1);
            s[6] += (uint64_t)__builtin_popcountll(y ^ b2);
            s[7] += (uint64_t)__builtin_popcountll(y ^ b3);
        }
    for (int r = 0; r < 8; ++r) *sink += (int64_t)s[r];
    return (double)reps * words * 8 * 64;
}

/* Mula's nibble-table count (two vpshufb per 256 bits) into byte counters,
 * folded by vpsadbw every 31 words, as the AVX2 kernel's 4x4 tile: per word,
 * 4 rows' words broadcast against one vector of 4 columns' words. */
__attribute__((target("avx2"), noinline)) static double loop_avx2(const uint64_t *a, int words, long reps,
                                                                   int64_t *sink)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                                         2, 2, 3, 2, 3, 3, 4);
    const __m256i m4 = _mm256_set1_epi8(0x0f), zero = _mm256_setzero_si256();
    __m256i s64 = zero;
    int steps = words / 8; /* a step: 4 words of the rows, 4 of the columns */
    for (long i = 0; i < reps; ++i)
        for (int v0 = 0; v0 < steps; v0 += 31) {
            __m256i s8[4];
            for (int k = 0; k < 4; ++k) s8[k] = zero;
            int v1 = v0 + 31 < steps ? v0 + 31 : steps;
            for (int v = v0; v < v1; ++v) {
                __m256i b = _mm256_loadu_si256((const __m256i *)(a + 8 * v + 4));
#pragma GCC unroll 4
                for (int k = 0; k < 4; ++k) {
                    __m256i t = _mm256_xor_si256(_mm256_set1_epi64x((long long)a[8 * v + k]), b);
                    __m256i lo = _mm256_and_si256(t, m4), hi = _mm256_and_si256(_mm256_srli_epi16(t, 4), m4);
                    s8[k] = _mm256_add_epi8(s8[k], _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo),
                                                                   _mm256_shuffle_epi8(lut, hi)));
                }
            }
            for (int k = 0; k < 4; ++k) s64 = _mm256_add_epi64(s64, _mm256_sad_epu8(s8[k], zero));
        }
    int64_t out[4];
    _mm256_storeu_si256((__m256i *)out, s64);
    *sink += out[0] + out[1] + out[2] + out[3];
    return (double)reps * steps * 4 * 256;
}

/* 8 broadcast words x 16 columns per step, xor + vpopcntq + vpaddq into 16
 * accumulators (the loop of the avx512 kernel without its loads of B). */
__attribute__((target("avx512f,avx512vpopcntdq"), noinline)) static double loop_avx512(const uint64_t *a, int words,
                                                                                         long reps, int64_t *sink)
{
    __m512i b0 = _mm512_set1_epi64(0x5555), b1 = _mm512_set1_epi64(0x3333);
    __m512i s0[8], s1[8];
    for (int r = 0; r < 8; ++r) s0[r] = s1[r] = _mm512_setzero_si512();
    for (long i = 0; i < reps; ++i)
        for (int w = 0; w < words / 8; ++w) {
#pragma GCC unroll 8
            for (int r = 0; r < 8; ++r) {
                __m512i x = _mm512_set1_epi64((long long)a[w * 8 + r]);
                s0[r] = _mm512_add_epi64(s0[r], _mm512_popcnt_epi64(_mm512_xor_si512(x, b0)));
                s1[r] = _mm512_add_epi64(s1[r], _mm512_popcnt_epi64(_mm512_xor_si512(x, b1)));
            }
        }
    __m512i t = _mm512_setzero_si512();
    for (int r = 0; r < 8; ++r) t = _mm512_add_epi64(t, _mm512_add_epi64(s0[r], s1[r]));
    *sink += _mm512_reduce_add_epi64(t);
    return (double)reps * (words / 8) * 8 * 16 * 64;
}
#endif

const char *abc_peak_what(abc_peak_kind k)
{
    static const char *const what[ABC_NPEAKS] = {"POPCNT 2x4", "AVX2 nibble table 4x4", "AVX-512 VPOPCNTDQ 8x16"};
    return (unsigned)k < ABC_NPEAKS ? what[k] : "?";
}

int abc_peak_of_kernel(const char *name)
{
    static const char *const kernel[ABC_NPEAKS] = {"popcnt", "avx2", "avx512"};
    for (int k = 0; k < ABC_NPEAKS; ++k)
        if (!strcmp(name, kernel[k])) return k;
    return -1;
}

double abc_measure_peak(abc_peak_kind k)
{
#if defined(__x86_64__) && defined(__GNUC__)
    enum { W = 512 }; /* 4 KiB of operands */
    uint64_t a[W];
    for (int i = 0; i < W; ++i) a[i] = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    int64_t sink = 0;
    double macs, t = abc_now();
    switch (k) {
    case ABC_PEAK_POPCNT:
        if (!abc_cpu_has(ABC_CPU_POPCNT)) return 0;
        macs = loop_popcnt(a, W / 2, 20000, &sink);
        break;
    case ABC_PEAK_AVX2:
        if (!abc_cpu_has(ABC_CPU_AVX2 | ABC_CPU_POPCNT)) return 0;
        macs = loop_avx2(a, W, 25000, &sink);
        break;
    case ABC_PEAK_AVX512:
        if (!abc_cpu_has(ABC_CPU_AVX512F | ABC_CPU_AVX512VPOPCNTDQ)) return 0;
        macs = loop_avx512(a, W, 20000, &sink);
        break;
    default: return 0;
    }
    double g = macs / (abc_now() - t) / 1e9;
    if (sink == 42) abc_warn("peak loop: unlikely sum"); /* keeps the loop */
    return g;
#else
    (void)k;
    return 0;
#endif
}

typedef struct {
    abc_peak_kind k;
    pthread_barrier_t *go;
    double g;
} peak_run;

static void *peak_thread(void *arg)
{
    peak_run *r = arg;
    pthread_barrier_wait(r->go);
    r->g = abc_measure_peak(r->k);
    return NULL;
}

double abc_peak_two_threads(abc_peak_kind k, int rounds)
{
    if (rounds < 1) rounds = 1;
    if (rounds > 64) rounds = 64;
    double ratio[64];
    pthread_barrier_t go;
    if (abc_measure_peak(k) <= 0 || pthread_barrier_init(&go, NULL, 2) != 0) return 0;
    for (int i = 0; i < rounds; ++i) {
        double one = abc_measure_peak(k);
        peak_run r[2] = {{k, &go, 0}, {k, &go, 0}};
        pthread_t th;
        if (pthread_create(&th, NULL, peak_thread, &r[1]) != 0) {
            pthread_barrier_destroy(&go);
            return 0;
        }
        peak_thread(&r[0]);
        pthread_join(th, NULL);
        ratio[i] = (r[0].g + r[1].g) / one;
    }
    pthread_barrier_destroy(&go);
    return abc_median(ratio, rounds);
}
