#include "bgemm.h"

void abc_bgemm_ref(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                   int32_t *C, int ldc)
{
    int words = abc_bgemm_words(K);
    for (int m = 0; m < M; ++m) {
        const uint64_t *a = A + (long)m * lda_words;
        for (int n = 0; n < N; ++n) {
            const uint64_t *b = B + (long)n * ldb_words;
            int diff = 0;
            for (int w = 0; w < words; ++w) diff += __builtin_popcountll(a[w] ^ b[w]);
            C[(long)m * ldc + n] = K - 2 * diff;
        }
    }
}
