/* Binary GEMM over packed sign bits: the product behind every binary layer.
 * A bit 1 stands for +1, a bit 0 for -1. Rows of A and B hold K bits packed
 * little-endian into 64-bit words (bit k of a row is word k/64, bit k%64);
 * bits past K in the last word must be 0 in both. Then, for each m and n,
 *     C[m*ldc + n] = sum_k a_mk * b_nk = K - 2 * popcount(A_m xor B_n).
 * Kernels (reference, portable popcount, AVX2, AVX-512) all compute exactly
 * this and are chosen at run time; abc_bgemm_ref is the plain definition. */
#ifndef ABC_BGEMM_H
#define ABC_BGEMM_H

#include <stdint.h>

/* Words a row of K bits takes. */
static inline int abc_bgemm_words(int K) { return (K + 63) / 64; }

typedef void (*abc_bgemm_fn)(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B,
                             int ldb_words, int32_t *C, int ldc);

/* The same product with B given as panels of ABC_BGEMM_PANEL columns, as a
 * kernel that repacks B would build them: column n's word w at
 * Bp[(n / 16) * words * 16 + w * 16 + n % 16] (words = abc_bgemm_words(K)),
 * columns past N in the last panel zero, Bp 64-byte aligned. Lets a caller
 * write B straight in that layout (the ABC layers' im2col). */
enum { ABC_BGEMM_PANEL = 16 };
typedef void (*abc_bgemm_panel_fn)(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp,
                                   int32_t *C, int ldc);

/* An output stage a panel kernel can run as it stores (a binary layer's
 * output pass with one weight base and one activation base, fused): instead
 * of the counts C, floats
 *     out[m*ldo + n] = act(scale[m] * C[m][n] + shift[m] + corr[m*ldcorr + cls[n]])
 * where the correction term is 0 for a column with cls[n] < 0 (cls NULL:
 * none at all); the layers use it for the positions with padded taps. */
enum { ABC_BGEMM_ACT_NONE, ABC_BGEMM_ACT_LEAKY, ABC_BGEMM_ACT_RELU };
typedef struct {
    float *out;
    int ldo;
    const float *scale, *shift;
    int act;           /* ABC_BGEMM_ACT_*: leaky x > 0 ? x : 0.1x, relu x > 0 ? x : 0 */
    const int32_t *cls; /* N column classes (< 0: no correction), or NULL */
    const float *corr;  /* M rows of corrections by class, ldcorr apart */
    int ldcorr;
} abc_bgemm_out;
typedef void (*abc_bgemm_panel_out_fn)(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *Bp,
                                       const abc_bgemm_out *o);

/* The stage on one count (the plain definition the kernels follow). */
static inline float abc_bgemm_out_value(const abc_bgemm_out *o, int m, int n, int32_t c)
{
    float v = o->scale[m] * (float)c + o->shift[m];
    if (o->cls && o->cls[n] >= 0) v += o->corr[(long)m * o->ldcorr + o->cls[n]];
    if (o->act == ABC_BGEMM_ACT_LEAKY) return v > 0 ? v : 0.1f * v;
    if (o->act == ABC_BGEMM_ACT_RELU) return v > 0 ? v : 0.f;
    return v;
}

/* The plain definition, always built; the others are tested against it. */
void abc_bgemm_ref(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
                   int32_t *C, int ldc);

/* The best kernel for this CPU (bgemm.c; ABC_BGEMM=<name> forces one), split
 * across the project's pool (abc_get_threads()) when the product is large. */
void abc_bgemm(int M, int N, int K, const uint64_t *A, int lda_words, const uint64_t *B, int ldb_words,
               int32_t *C, int ldc);

#endif
