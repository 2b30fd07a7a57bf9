/* B given by rows, for kernels that run on panels (bgemm.h): B is repacked
 * 16 columns at a time into one panel (a few KB, in L1, per thread) and the
 * kernel's panel function runs on it. */
#ifndef ABC_BGEMM_PANEL_H
#define ABC_BGEMM_PANEL_H

#include "bgemm.h"

/* The product of abc_bgemm_fn's contract through panel function f. */
void abc_bgemm_by_panels(abc_bgemm_panel_fn f, int M, int N, int K, const uint64_t *A, int lda_words,
                         const uint64_t *B, int ldb_words, int32_t *C, int ldc);

#endif
