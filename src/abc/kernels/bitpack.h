/* Float -> packed sign bits in the layout of the binary GEMM (bgemm.h): rows
 * of K bits, little-endian 64-bit words, bit 1 = +1, bits past K zero.
 * A value becomes bit 1 when it is strictly greater than the threshold
 * (x == thr gives 0, i.e. -1, as darknet's sign x > 0 ? 1 : -1 with thr 0). */
#ifndef ABC_BITPACK_H
#define ABC_BITPACK_H

#include <stdint.h>

/* Row r of X (`rows` rows of K floats, ldx floats apart) -> out + r*ld_words.
 * Weights: each filter a row of K = c*size*size values, packed once. */
void abc_pack_rows(const float *X, int rows, int K, int ldx, float thr, uint64_t *out, int ld_words);

/* The columns of a K x N matrix X (element (k, n) at X[k*ldx + n]) -> N rows
 * of K bits: row n of output b is out + b*base_stride + n*ld_words, bit k =
 * X[k*ldx + n] > thr[b], for nthr thresholds (one per activation base) in
 * one pass over X. An NCHW image is such a matrix with K = C, N = H*W,
 * ldx = H*W; so are im2col columns (K = C*size*size, N = out_h*out_w). */
void abc_pack_cols(const float *X, int K, int N, int ldx, const float *thr, int nthr, uint64_t *out, int ld_words,
                   long base_stride);

/* Packed weights, allocated once: rows x K bits, ld words per row. */
typedef struct {
    int rows, K, ld;
    uint64_t *bits;
} abc_packed;
abc_packed abc_packed_rows(const float *X, int rows, int K, int ldx, float thr);
void abc_packed_free(abc_packed *p);

#endif
