/* B in the panels of bgemm.h, for kernels that take B by rows and run panel
 * tiles: a per-thread buffer and the repacking of up to 16 columns. */
#ifndef ABC_BGEMM_PANEL_H
#define ABC_BGEMM_PANEL_H

#include <stddef.h>
#include <stdint.h>

/* At least n words, 64-byte aligned, this thread's own (kept for the thread's life). */
uint64_t *abc_bgemm_panel_scratch(size_t n);
/* Columns [0, nr) of B (rows ldb words apart) into one panel P[w*16 + c], zero words for c >= nr. */
void abc_bgemm_pack_panel(int nr, int words, const uint64_t *B, int ldb, uint64_t *P);

#endif
