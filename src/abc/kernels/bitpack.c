#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the column loops vectorize */
#endif
#include "bitpack.h"

#include <stdlib.h>
#include <string.h>

#include "abc_util.h"
#include "bgemm.h"

enum { NB = 64 }; /* columns per block: NB output words built side by side */

void abc_pack_rows(const float *X, int rows, int K, int ldx, float thr, uint64_t *out, int ld_words)
{
    int words = abc_bgemm_words(K);
    for (int r = 0; r < rows; ++r) {
        const float *x = X + (long)r * ldx;
        uint64_t *o = out + (long)r * ld_words;
        for (int w = 0; w < words; ++w) {
            int k0 = w * 64, n = K - k0 < 64 ? K - k0 : 64;
            uint64_t v = 0;
            for (int k = 0; k < n; ++k) v |= (uint64_t)(x[k0 + k] > thr) << k;
            o[w] = v;
        }
    }
}

/* Columns [n0, n0+nb) x bits [k0, k0+kb) for one threshold into acc[0..nb) */
static void block(const float *X, int ldx, int n0, int nb, int k0, int kb, float t, uint64_t *acc)
{
    for (int j = 0; j < NB; ++j) acc[j] = 0;
    if (nb == NB) {
        for (int k = 0; k < kb; ++k) {
            const float *x = X + (long)(k0 + k) * ldx + n0;
            for (int j = 0; j < NB; ++j) acc[j] |= (uint64_t)(x[j] > t) << k;
        }
    } else {
        for (int k = 0; k < kb; ++k) {
            const float *x = X + (long)(k0 + k) * ldx + n0;
            for (int j = 0; j < nb; ++j) acc[j] |= (uint64_t)(x[j] > t) << k;
        }
    }
}

void abc_pack_cols(const float *X, int K, int N, int ldx, const float *thr, int nthr, uint64_t *out, int ld_words,
                   long base_stride)
{
    int words = abc_bgemm_words(K);
    uint64_t acc[NB];
    for (int n0 = 0; n0 < N; n0 += NB) {
        int nb = N - n0 < NB ? N - n0 : NB;
        for (int w = 0; w < words; ++w) {
            int k0 = w * 64, kb = K - k0 < 64 ? K - k0 : 64;
            for (int b = 0; b < nthr; ++b) {
                block(X, ldx, n0, nb, k0, kb, thr[b], acc);
                uint64_t *o = out + b * base_stride + (long)n0 * ld_words + w;
                for (int j = 0; j < nb; ++j) o[(long)j * ld_words] = acc[j];
            }
        }
    }
}

abc_packed abc_packed_rows(const float *X, int rows, int K, int ldx, float thr)
{
    abc_packed p = {rows, K, abc_bgemm_words(K), NULL};
    p.bits = abc_xcalloc((size_t)(rows > 0 ? rows : 1) * (p.ld > 0 ? p.ld : 1), sizeof *p.bits);
    abc_pack_rows(X, rows, K, ldx, thr, p.bits, p.ld);
    return p;
}

void abc_packed_free(abc_packed *p)
{
    free(p->bits);
    memset(p, 0, sizeof *p);
}
