/* The binary im2col of the ABC layers' packed path, over words.
 *
 * Bit streams: each image row of one activation base is a stream with the C
 * channels of pixel x at bits (x + pad)*C .. + C-1 (channels innermost, no
 * gaps between pixels), `pad` zero pixels on each side, rw words a row (one
 * spare word at the end); a plane is such rows with `pad` zero rows above and
 * below. A row of the binary product (one output position) is, per kernel row
 * ky, the size*C bits of the window in that stream, in rk = ceil(size*C/64)
 * words (bits past size*C zero): size*rk words in (ky, kx, c) order.
 *
 * Kernels for the windows that start inside words and go into a GEMM panel:
 * plain (word by word) and vbmi2 (8 windows at once), the best this CPU runs
 * or the one ABC_IM2COL=<name> names (select.h); windows that start on words
 * are copied along the row either way. */
#ifndef ABC_BIM2COL_H
#define ABC_BIM2COL_H

#include <stddef.h>
#include <stdint.h>

#include "select.h"

/* Image rows [y0, y1) (pixel x of row y: px[(y*w + x)*cw ..], cw words, bits
 * past C zero, as bitpack.h writes them) into bit streams: row y at
 * rows + y*rw, pixel x at bits (x + pad)*C; the rest of each row zero. */
void abc_bim2col_stream_rows(const uint64_t *px, int w, int cw, int C, int pad, int y0, int y1, uint64_t *rows,
                             int rw);

/* Rows of the product for output positions [p0, p1) from one padded plane
 * (row 0 = the first padding row, rw words a row): row p - p0 at
 * out + (p - p0)*ld, its size*rk words ws apart (1: a plain row; 16 with
 * ld = 1: columns of a binary GEMM panel, bgemm.h). */
void abc_bim2col(const uint64_t *rows, int rw, int C, int size, int stride, int out_w, int p0, int p1, uint64_t *out,
                 int ld, int ws);

/* A panel loop: windows [0, n) of one output row, the first at bit `bit` of
 * stream s, `step` (<= 128) bits apart, into a panel (ld = 1, ws = 16). */
typedef void (*abc_bim2col_panel_fn)(const uint64_t *s, int rw, int size, int rk, size_t step, size_t bit, int n,
                                     uint64_t tail, uint64_t *out);
typedef struct {
    abc_kernel_desc d;          /* name (ABC_IM2COL=<name>), one line, CPU features */
    abc_bim2col_panel_fn panel; /* NULL: the plain loop */
} abc_bim2col_kernel;

extern abc_kernel_family abc_bim2col_family;

void abc_bim2col_panel_vbmi2(const uint64_t *s, int rw, int size, int rk, size_t step, size_t bit, int n,
                             uint64_t tail, uint64_t *out);

#endif
