#include "bgemm_panel.h"

#include <stdlib.h>

#include "abc_util.h"
#include "bgemm.h"

static _Thread_local uint64_t *buf;
static _Thread_local size_t cap;

uint64_t *abc_bgemm_panel_scratch(size_t n)
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

void abc_bgemm_pack_panel(int nr, int words, const uint64_t *B, int ldb, uint64_t *P)
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
