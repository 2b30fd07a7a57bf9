/* The table of segment GEMM kernels behind hada_hgemm (hgemm.h): each row is
 * a single-threaded kernel with exactly hada_hgemm_ref's contract and the CPU
 * features it needs; the family (select.h) runs the best usable one, or the
 * one HADA_KERNEL=<name> names; hada_hgemm splits large products across the pool. */
#ifndef HADA_HGEMM_KERNELS_H
#define HADA_HGEMM_KERNELS_H

#include "hgemm.h"
#include "select.h"

typedef struct {
    abc_kernel_desc d;   /* name (HADA_KERNEL=<name>), one line, CPU features */
    hada_hgemm_fn fn;
    int mr;              /* rows of its row panels (hada_hgemm_args.Wp), 0: takes no panels */
    int nr;              /* columns of its column panels (hada_hgemm_args.Ap), 0: takes no panels */
} hada_hgemm_kernel;

/* The kernels (rows: hada_hgemm_kernel, best last); abc_kernel_chosen(&hada_hgemm_family) is the one hada_hgemm runs. */
extern abc_kernel_family hada_hgemm_family;
/* The product through kernel k, split across the pool when large. */
void hada_hgemm_with(const hada_hgemm_kernel *k, const hada_hgemm_args *a);

/* Panels the SIMD kernels run on (hgemm_panel.c): segment bits widened to
 * 32-bit lanes (nsub = 2 words for 64-bit slots, else 1), lanes = rows.
 * Column panel of nr <= NR A rows (positions), per segment j at
 * P + j*(nsub+2)*NR: nsub*NR bit words (word u of row c at u*NR + c), then
 * NR floats len[j]*Am, then NR floats -2*Am; lanes past nr are zero. */
void hada_hgemm_pack_cols(const hada_hgemm_args *a, int n0, int nr, int NR, int nsub, uint32_t *P);
/* Row panel of mr <= MR W rows (filters), per segment j at P + j*(nsub+1)*MR:
 * nsub*MR bit words, then MR floats Wm; rows past mr are zero. */
void hada_hgemm_pack_rows(const hada_hgemm_args *a, int m0, int mr, int MR, int nsub, uint32_t *P);
/* 32-bit words of the row panels of all a->M rows for panel height MR
 * (block b of MR rows at b * S*(nsub+1)*MR), and the packing of all of them. */
size_t hada_hgemm_row_panels_size(const hada_hgemm_args *a, int MR);
void hada_hgemm_pack_all_rows(const hada_hgemm_args *a, int MR, uint32_t *P);
/* 32-bit words of one column panel of NR columns. */
static inline size_t hada_hgemm_col_panel_size(int S, int s, int NR) { return (size_t)S * ((s > 32 ? 2 : 1) + 2) * NR; }
/* Per-thread scratch of at least n 32-bit words, 64-byte aligned (slot 0 or 1). */
uint32_t *hada_hgemm_scratch(int slot, size_t n);

/* One MR x NR block of C from a row panel Pw and a column panel Pa (mr, nr: the block's real size). */
typedef void (*hada_hgemm_tile_fn)(int S, int nsub, const uint32_t *Pw, const uint32_t *Pa, int mr, int nr, float *C,
                                   size_t ldc, const hada_hgemm_args *a, int m0);
/* The blocked product the SIMD kernels share (hgemm_panel.c): row panels (a->Wp, or packed here), then per
 * NR columns a column panel (a->Ap's, or packed here) and the tiles of every block of MR rows. */
void hada_hgemm_blocked(const hada_hgemm_args *a, int MR, int NR, hada_hgemm_tile_fn tile);

/* The kernels (each in its own file). */
void hada_hgemm_portable(const hada_hgemm_args *a);
void hada_hgemm_avx2(const hada_hgemm_args *a);
void hada_hgemm_avx512(const hada_hgemm_args *a);

#endif
