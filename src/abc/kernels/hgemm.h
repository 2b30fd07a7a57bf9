/* Segment binary GEMM: the product behind the HadaNet layers. Each operand
 * row is S segments; segment j carries sign bits (bit 1 = +1, 0 = -1) and
 * one float magnitude. For m < M, n < N:
 *   C[m*ldc + n] = sum_j Wm[m][j] * Am[n][j] * (len[j] - 2*popcount(Wb[m][j] xor Ab[n][j]))
 * i.e. per aligned segment pair one popcount and one product of the two
 * magnitudes (HadaNets Eq. 7 with the 2*popcount - length form).
 *
 * Bit layout: segment j of a row occupies a slot of s bits (s a power of two,
 * 1..64) at bits [j*s, j*s + s) of the row's little-endian bit string (bit k
 * in 64-bit word k/64, bit k%64); its first len[j] bits (0 <= len[j] <= s)
 * are the signs, the rest must be 0 in both operands. For s >= 8 a row is
 * just an array of uint8/16/32/64, one element per segment. Magnitudes are
 * one float per segment. len[] is shared by all rows (tail segments shorter).
 *
 * Kernels (reference, portable C, AVX2, AVX-512) all compute this and are
 * chosen at run time; HADA_KERNEL=<name> forces one. Floats are summed in
 * different orders by different kernels (results agree to float rounding). */
#ifndef HADA_HGEMM_H
#define HADA_HGEMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int M, N, S, s;         /* W rows, A rows, segments per row, slot bits */
    const uint64_t *Wb;     /* M rows of bits, ldwb words apart */
    const float *Wm;        /* M rows of S magnitudes, ldwm floats apart */
    const uint64_t *Ab;     /* N rows of bits, ldab words apart */
    const float *Am;        /* N rows of S magnitudes, ldam floats apart */
    const uint8_t *len;     /* S segment lengths */
    float *C;               /* M rows of N results, ldc apart */
    size_t ldwb, ldwm, ldab, ldam, ldc;
    /* Optional: W already in the chosen kernel's row panels (hada_hgemm_pack_rows
     * with that kernel's mr, all M rows, hgemm_kernels.h); NULL: the kernel packs them. */
    const uint32_t *Wp;
    /* Optional: A already in the chosen kernel's column panels (hada_hgemm_pack_cols
     * with that kernel's nr; panel i at Ap + i*S*(nsub+2)*nr); NULL: from Ab/Am. */
    const uint32_t *Ap;
    /* Optional output stage, when scale is not NULL: C[m][n] = act(scale[m]*sum + shift[m]),
     * act HADA_ACT_NONE, HADA_ACT_LEAKY (x > 0 ? x : 0.1x) or HADA_ACT_RELU. */
    const float *scale, *shift;
    int act;
} hada_hgemm_args;

enum { HADA_ACT_NONE, HADA_ACT_LEAKY, HADA_ACT_RELU };

/* The output stage on one value (the plain definition the kernels follow). */
static inline float hada_hgemm_out(const hada_hgemm_args *a, int m, float v)
{
    if (!a->scale) return v;
    v = v * a->scale[m] + a->shift[m];
    if (a->act == HADA_ACT_LEAKY) return v > 0 ? v : 0.1f * v;
    if (a->act == HADA_ACT_RELU) return v > 0 ? v : 0.f;
    return v;
}

/* Words a row of S segments of s bits takes. */
static inline size_t hada_hgemm_words(int S, int s) { return ((size_t)S * s + 63) / 64; }

/* Slot bits for segments of up to g bits: the next power of two (g <= 64). */
static inline int hada_hgemm_slot(int g)
{
    int s = 1;
    while (s < g) s *= 2;
    return s;
}

/* Segment j of a row (bits [j*s, j*s + s), s <= 64). */
static inline uint64_t hada_hgemm_seg(const uint64_t *row, int j, int s)
{
    size_t bit = (size_t)j * s;
    uint64_t w = row[bit / 64] >> (bit % 64);
    return s == 64 ? w : w & ((1ull << s) - 1);
}

/* Sets segment j of a row to v (v < 2^s); the slot must be 0 before. */
static inline void hada_hgemm_set_seg(uint64_t *row, int j, int s, uint64_t v)
{
    size_t bit = (size_t)j * s;
    row[bit / 64] |= v << (bit % 64);
}

typedef void (*hada_hgemm_fn)(const hada_hgemm_args *a);

/* The plain definition, always built; the other kernels are tested against it. */
void hada_hgemm_ref(const hada_hgemm_args *a);

/* The best kernel for this CPU (HADA_KERNEL=<name> forces one), split across
 * the project's pool (abc_get_threads()) when the product is large. */
void hada_hgemm(const hada_hgemm_args *a);

#endif
