/* Panels of the SIMD segment GEMM kernels (layout: hgemm_kernels.h) and
 * their per-thread scratch. */
#include "hgemm_kernels.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static _Thread_local struct {
    uint32_t *p;
    size_t n;
} scratch[2];

uint32_t *hada_hgemm_scratch(int slot, size_t n)
{
    if (n > scratch[slot].n) {
        free(scratch[slot].p);
        void *p = NULL;
        if (posix_memalign(&p, 64, n * sizeof(uint32_t)) != 0) abc_die("out of memory (segment gemm panel)");
        scratch[slot].p = p;
        scratch[slot].n = n;
    }
    return scratch[slot].p;
}

/* Word u (32 bits) of segment j of a row. */
static inline uint32_t word(const uint64_t *row, int j, int s, int u)
{
    return (uint32_t)(hada_hgemm_seg(row, j, s) >> (32 * u));
}

void hada_hgemm_pack_cols(const hada_hgemm_args *a, int n0, int nr, int NR, int nsub, uint32_t *P)
{
    size_t step = (size_t)(nsub + 2) * NR;
    int S = a->S, s = a->s;
    if (nr < NR) memset(P, 0, (size_t)S * step * sizeof *P);
    for (int c = 0; c < nr; ++c) {
        const uint64_t *ab = a->Ab + (size_t)(n0 + c) * a->ldab;
        const float *am = a->Am + (size_t)(n0 + c) * a->ldam;
        uint32_t *q = P + c;
        /* the common slot sizes read their segments as plain arrays */
        if (s == 16) {
            const uint16_t *b16 = (const uint16_t *)(const void *)ab;
            for (int j = 0; j < S; ++j, q += step) q[0] = b16[j];
        } else if (s == 8) {
            const uint8_t *b8 = (const uint8_t *)(const void *)ab;
            for (int j = 0; j < S; ++j, q += step) q[0] = b8[j];
        } else if (s == 32) {
            const uint32_t *b32 = (const uint32_t *)(const void *)ab;
            for (int j = 0; j < S; ++j, q += step) q[0] = b32[j];
        } else {
            for (int j = 0; j < S; ++j, q += step)
                for (int u = 0; u < nsub; ++u) q[u * NR] = word(ab, j, s, u);
        }
        float *f = (float *)(void *)(P + c + nsub * NR);
        for (int j = 0; j < S; ++j, f += step) {
            f[0] = (float)a->len[j] * am[j];
            f[NR] = -2.f * am[j];
        }
    }
}

void hada_hgemm_pack_rows(const hada_hgemm_args *a, int m0, int mr, int MR, int nsub, uint32_t *P)
{
    size_t step = (size_t)(nsub + 1) * MR;
    memset(P, 0, (size_t)a->S * step * sizeof *P);
    for (int r = 0; r < mr; ++r) {
        const uint64_t *wb = a->Wb + (size_t)(m0 + r) * a->ldwb;
        const float *wm = a->Wm + (size_t)(m0 + r) * a->ldwm;
        uint32_t *q = P + r;
        for (int j = 0; j < a->S; ++j, q += step) {
            for (int u = 0; u < nsub; ++u) q[u * MR] = word(wb, j, a->s, u);
            memcpy(q + nsub * MR, &wm[j], sizeof(float));
        }
    }
}

size_t hada_hgemm_row_panels_size(const hada_hgemm_args *a, int MR)
{
    int nsub = a->s > 32 ? 2 : 1;
    return (size_t)((a->M + MR - 1) / MR) * a->S * (nsub + 1) * MR;
}

void hada_hgemm_pack_all_rows(const hada_hgemm_args *a, int MR, uint32_t *P)
{
    int nsub = a->s > 32 ? 2 : 1;
    size_t rw = (size_t)a->S * (nsub + 1) * MR;
    for (int b = 0; b * MR < a->M; ++b)
        hada_hgemm_pack_rows(a, b * MR, a->M - b * MR < MR ? a->M - b * MR : MR, MR, nsub, P + rw * b);
}

static inline int imin(int a, int b) { return a < b ? a : b; }

void hada_hgemm_blocked(const hada_hgemm_args *a, int MR, int NR, hada_hgemm_tile_fn tile)
{
    if (a->M <= 0 || a->N <= 0) return;
    int nsub = a->s > 32 ? 2 : 1, S = a->S;
    int mblocks = (a->M + MR - 1) / MR;
    size_t rw = (size_t)S * (nsub + 1) * MR, cw = (size_t)S * (nsub + 2) * NR;
    const uint32_t *Pw = a->Wp;
    uint32_t *scr = a->Ap ? NULL : hada_hgemm_scratch(0, cw + 16);
    if (!Pw) {
        uint32_t *p = hada_hgemm_scratch(1, rw * mblocks + 16);
        hada_hgemm_pack_all_rows(a, MR, p);
        Pw = p;
    }
    for (int n = 0; n < a->N; n += NR) {
        int nr = imin(NR, a->N - n);
        const uint32_t *Pa = scr;
        if (a->Ap)
            Pa = a->Ap + (size_t)(n / NR) * cw; /* the caller's panels */
        else
            hada_hgemm_pack_cols(a, n, nr, NR, nsub, scr);
        for (int b = 0; b < mblocks; ++b)
            tile(S, nsub, Pw + rw * b, Pa, imin(MR, a->M - b * MR), nr, a->C + (size_t)b * MR * a->ldc + n, a->ldc, a,
                 b * MR);
    }
}
