/* Portable binary GEMM: 2x4 register tiles of scalar popcount(a xor b),
 * columns blocked so that a block of B rows stays in L1 while all of A
 * streams past it. Built twice: plain C with a SWAR bit count (any CPU) and
 * with the POPCNT instruction enabled. */
#include "bgemm_kernels.h"

enum { MR = 2, NR = 4, NB = 64 }; /* tile rows, tile columns, columns per L1 block */

static inline __attribute__((always_inline)) int imin(int a, int b) { return a < b ? a : b; }

/* Bit count without the instruction (libgcc's fallback is a call per word). */
static inline __attribute__((always_inline)) int swar_popcount(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int)((x * 0x0101010101010101ull) >> 56);
}

/* hw: 1 = __builtin_popcountll (the POPCNT instruction where enabled), 0 = SWAR */
static inline __attribute__((always_inline)) void tile(const int hw, int mr, int nr, int words, int K, const uint64_t *A,
                                                       int lda, const uint64_t *B, int ldb, int32_t *C, int ldc)
{
    const uint64_t *a[MR], *b[NR];
    #pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) a[r] = A + (long)imin(r, mr - 1) * lda; /* edge rows repeat the last one */
    #pragma GCC unroll 4
    for (int c = 0; c < NR; ++c) b[c] = B + (long)imin(c, nr - 1) * ldb;
    int s[MR][NR] = {{0}};
    for (int w = 0; w < words; ++w)
        #pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
            uint64_t x = a[r][w];
            #pragma GCC unroll 4
            for (int c = 0; c < NR; ++c) s[r][c] += hw ? __builtin_popcountll(x ^ b[c][w]) : swar_popcount(x ^ b[c][w]);
        }
#pragma GCC unroll 4
    for (int r = 0; r < mr; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < nr; ++c) C[(long)r * ldc + c] = K - 2 * s[r][c];
}

static inline __attribute__((always_inline)) void body(const int hw, int M, int N, int K, const uint64_t *A, int lda,
                                                       const uint64_t *B, int ldb, int32_t *C, int ldc)
{
    int words = abc_bgemm_words(K);
    for (int n0 = 0; n0 < N; n0 += NB) {
        int n1 = imin(N, n0 + NB);
        for (int m = 0; m < M; m += MR)
            for (int n = n0; n < n1; n += NR)
                tile(hw, imin(MR, M - m), imin(NR, n1 - n), words, K, A + (long)m * lda, lda, B + (long)n * ldb, ldb,
                     C + (long)m * ldc + n, ldc);
    }
}

void abc_bgemm_portable(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                        int32_t *C, int ldc)
{
    body(0, M, N, K, A, lda_words, B, ldb_words, C, ldc);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) void abc_bgemm_popcnt(int M, int N, int K, const uint64_t *A, int lda_words,
                                                        const uint64_t *B, int ldb_words, int32_t *C, int ldc)
{
    body(1, M, N, K, A, lda_words, B, ldb_words, C, ldc);
}
#else
void abc_bgemm_popcnt(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                      int32_t *C, int ldc)
{
    body(1, M, N, K, A, lda_words, B, ldb_words, C, ldc);
}
#endif
