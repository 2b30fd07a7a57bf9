#include "bgemm_panel.h"

#include <stdlib.h>

#include "base/util.h"

static _Thread_local uint64_t *buf;
static _Thread_local size_t cap;

/* At least n words, 64-byte aligned, this thread's own. */
static uint64_t *scratch(size_t n)
{
    if (n > cap) {
        free(buf);
        void *p = NULL;
        if (posix_memalign(&p, 64, n * sizeof(uint64_t)) != 0) abc_die("out of memory (binary gemm panel)");
        buf = p;
        cap = n;
    }
    return buf;
}

/* Columns [0, nr) of B (rows ldb words apart) into one panel P[w*16 + c], zero words for c >= nr. */
static void pack_panel(int nr, int words, const uint64_t *B, int ldb, uint64_t *P)
{
    enum { NR = ABC_BGEMM_PANEL };
    const uint64_t *b[NR];
    for (int c = 0; c < NR; ++c) b[c] = B + (long)(c < nr ? c : 0) * ldb;
    if (nr == NR) {
        for (int w = 0; w < words; ++w, P += NR)
            for (int c = 0; c < NR; ++c) P[c] = b[c][w];
    } else {
        for (int w = 0; w < words; ++w, P += NR)
            for (int c = 0; c < NR; ++c) P[c] = c < nr ? b[c][w] : 0;
    }
}

void abc_bgemm_by_panels(abc_bgemm_panel_fn f, int M, int N, int K, const uint64_t *A, int lda_words,
                         const uint64_t *B, int ldb_words, int32_t *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    int words = abc_bgemm_words(K);
    uint64_t *P = scratch((size_t)(words > 0 ? words : 1) * ABC_BGEMM_PANEL);
    for (int n0 = 0; n0 < N; n0 += ABC_BGEMM_PANEL) {
        int nn = N - n0 < ABC_BGEMM_PANEL ? N - n0 : ABC_BGEMM_PANEL;
        pack_panel(nn, words, B + (long)n0 * ldb_words, ldb_words, P);
        f(M, nn, K, A, lda_words, P, C + n0, ldc);
    }
}
