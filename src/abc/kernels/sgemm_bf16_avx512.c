/* A single-threaded GEMM with bf16 operands and fp32 accumulation for CPUs
 * with AVX512-BF16 (row major, any transposes, cblas_sgemm's contract): the
 * blocking of sgemm_avx512.c, both operands rounded to bf16 (nearest even) as
 * they are packed, k taken in pairs (a 32-bit word holds the bf16 of k and of
 * k + 1, k's in the low half, as VDPBF16PS reads them), an 8x32 tile of fp32
 * sums (16x16 for panels of 16 columns or fewer). The whole packed op(A) is
 * kept per thread for an epoch (a layer's pass), and a second entry sums the
 * products of several images' operands in one pass over C. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include "sgemm_avx512.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/util.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#include "sgemm_tile.h"

/* KC counts k (even); a packed panel holds KC / 2 words per row or column */
enum { MR = 8, NR = 32, KC = 512, MC = 128, NC = 1024 };

#define TGT __attribute__((target("avx512f,avx512bw,avx512bf16")))

static _Thread_local uint32_t *pa, *pb, *rowbuf; /* packing buffers of this thread */

/* The pairs of x's k values [k0, k0 + kc) into row (kc / 2 rounded up words; an odd kc's last high half 0),
 * from element (k, x) at src[x * ld + k]: the k values of one x lie together. */
TGT static void convert_row(const float *src, int kc, uint32_t *row)
{
    int k = 0;
    for (; k + 32 <= kc; k += 32, row += 16) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + k + 16), _mm512_loadu_ps(src + k));
        _mm512_storeu_si512(row, (__m512i)v);
    }
    if (k < kc) {
        int left = kc - k;
        __mmask16 lo = abc_tile_mask(left, 0), hi = abc_tile_mask(left, 16);
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, src + k + 16), _mm512_maskz_loadu_ps(lo, src + k));
        __mmask16 words = abc_tile_mask((left + 1) / 2, 0);
        _mm512_mask_storeu_epi32(row, words, (__m512i)v);
    }
}

/* x in [x0, x0 + nx), k in [k0, k0 + kc), element (k, x) at src[x * ld + k], into panels of w x's:
 * [panel][k / 2][w] words, zero padded. With images > 1, k runs through `images` operands `step` floats
 * apart, kc (odd or even) of each, each padded to an even count: their products are summed. */
TGT static void pack_x_major(const float *src, int ld, int k0, int kc, int x0, int nx, int w, uint32_t *dst,
                             int images, size_t step)
{
    int kw = (kc + 1) / 2, kp = kw * images;
    for (int p = 0; p < nx; p += w, dst += (size_t)kp * w) {
        int xs = nx - p < w ? nx - p : w;
        for (int c = 0; c < w; ++c) {
            if (c >= xs) {
                for (int q = 0; q < kp; ++q) dst[(size_t)q * w + c] = 0;
                continue;
            }
            for (int g = 0; g < images; ++g)
                convert_row(src + g * step + (size_t)(x0 + p + c) * ld + k0, kc, rowbuf + (size_t)g * kw);
            for (int q = 0; q < kp; ++q) dst[(size_t)q * w + c] = rowbuf[q];
        }
    }
}

/* The same from element (k, x) at src[k * ld + x]: rows k and k + 1 side by side, their bf16 interleaved. */
TGT static void pack_k_major(const float *src, int ld, int k0, int kc, int x0, int nx, int w, uint32_t *dst)
{
    const __m512i mix = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    int kp = (kc + 1) / 2;
    for (int p = 0; p < nx; p += w, dst += (size_t)kp * w) {
        int xs = nx - p < w ? nx - p : w;
        for (int q = 0; q < kp; ++q) {
            const float *r0 = src + (size_t)(k0 + 2 * q) * ld + x0 + p;
            const float *r1 = 2 * q + 1 < kc ? r0 + ld : NULL;
            uint32_t *d = dst + (size_t)q * w;
            for (int c = 0; c < w; c += 16) {
                __mmask16 m = abc_tile_mask(xs, c);
                __m512 v0 = _mm512_maskz_loadu_ps(m, r0 + c);
                __m512 v1 = r1 ? _mm512_maskz_loadu_ps(m, r1 + c) : _mm512_setzero_ps();
                __m512i v = _mm512_permutexvar_epi16(mix, (__m512i)_mm512_cvtne2ps_pbh(v1, v0));
                __mmask16 store = abc_tile_mask(w, c);
                _mm512_mask_storeu_epi32(d + c, store, v);
            }
        }
    }
}

/* C[0..mr) x [0..nr) = alpha * (a panel x b panel) + beta * C (beta 0: C not read) */
TGT static void kernel(int kp, const uint32_t *a, const uint32_t *b, float *C, int ldc, int mr, int nr, float alpha,
                       float beta)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
    for (int q = 0; q < kp; ++q) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[r]);
            c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
        }
        a += MR;
        b += NR;
    }
    __mmask16 m0 = abc_tile_mask(nr, 0), m1 = abc_tile_mask(nr, 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
        if (r >= mr) break;
        abc_tile_store(C + (size_t)r * ldc, c0[r], m0, alpha, beta);
        abc_tile_store(C + (size_t)r * ldc + 16, c1[r], m1, alpha, beta);
    }
}

/* The same for panels of at most 16 columns (a 7x7 or 4x4 image's pixels): 16 rows from two A panels against
 * the B panel's first 16 columns, so that no multiply is spent on the padding of a 32-column panel. */
TGT static void kernel16(int kp, const uint32_t *a0, const uint32_t *a1, const uint32_t *b, float *C, int ldc, int mr,
                         int nr, float alpha, float beta)
{
    __m512 c[2 * MR];
#pragma GCC unroll 16
    for (int r = 0; r < 2 * MR; ++r) c[r] = _mm512_setzero_ps();
    for (int q = 0; q < kp; ++q) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
            c[r] = _mm512_dpbf16_ps(c[r], (__m512bh)_mm512_set1_epi32((int)a0[r]), b0);
            c[MR + r] = _mm512_dpbf16_ps(c[MR + r], (__m512bh)_mm512_set1_epi32((int)a1[r]), b0);
        }
        a0 += MR;
        a1 += MR;
        b += NR;
    }
    __mmask16 m = abc_tile_mask(nr, 0);
#pragma GCC unroll 16
    for (int r = 0; r < 2 * MR; ++r) {
        if (r >= mr) break;
        abc_tile_store(C + (size_t)r * ldc, c[r], m, alpha, beta);
    }
}

/* C[0..mc) x [0..nc) from packed panels of A (mc rows) and of B (pb, nc columns), kp words deep. */
static void tiles(int kp, const uint32_t *a, int mc, int nc, float *C, int ldc, float alpha, float beta)
{
    for (int jp = 0; jp < nc; jp += NR) {
        const uint32_t *b = pb + (size_t)jp * kp;
        int nr = nc - jp < NR ? nc - jp : NR;
        if (nr <= 16) {
            for (int ip = 0; ip < mc; ip += 2 * MR) {
                int mr = mc - ip < 2 * MR ? mc - ip : 2 * MR;
                const uint32_t *a0 = a + (size_t)ip * kp, *a1 = mr > MR ? a0 + (size_t)MR * kp : a0;
                kernel16(kp, a0, a1, b, C + (size_t)ip * ldc + jp, ldc, mr, nr, alpha, beta);
            }
            continue;
        }
        for (int ip = 0; ip < mc; ip += MR) {
            int mr = mc - ip < MR ? mc - ip : MR;
            kernel(kp, a + (size_t)ip * kp, b, C + (size_t)ip * ldc + jp, ldc, mr, nr, alpha, beta);
        }
    }
}

static void *aligned(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes)) abc_die("out of memory (bf16 gemm packing buffers)");
    return p;
}

/* The whole of op(A), packed, kept by each thread for the products of one epoch (abc_sgemm_bf16_new_epoch):
 * a layer's weights serve every image of its forward and backward, so they are converted once a pass, not
 * once an image. Block k0 (of KC), panel ip: at (k0 / 2) * Mp + ip * (its kc + 1) / 2 words. */
enum { WHOLE_A_MAX = 1 << 24 }; /* elements; larger operands are packed block by block */

static unsigned long epoch = 1;

void abc_sgemm_bf16_new_epoch(void) { __atomic_add_fetch(&epoch, 1, __ATOMIC_RELAXED); }

typedef struct {
    const float *A;
    int TA, M, K, lda;
    unsigned long epoch;
    uint32_t *words;
    size_t cap;
} whole_a;

static _Thread_local whole_a kept;

static const uint32_t *packed_a(int TA, int M, int K, const float *A, int lda)
{
    unsigned long now = __atomic_load_n(&epoch, __ATOMIC_RELAXED);
    whole_a *w = &kept;
    if (w->A == A && w->TA == TA && w->M == M && w->K == K && w->lda == lda && w->epoch == now) return w->words;
    size_t mp = (size_t)(M + MR - 1) / MR * MR, need = mp * (size_t)((K + 1) / 2 + 1);
    if (need > w->cap) {
        free(w->words);
        w->words = aligned(need * sizeof(uint32_t));
        w->cap = need;
    }
    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
        uint32_t *dst = w->words + (size_t)(k0 / 2) * mp;
        if (TA) pack_k_major(A, lda, k0, kc, 0, M, MR, dst);
        else pack_x_major(A, lda, k0, kc, 0, M, MR, dst, 1, 0);
    }
    *w = (whole_a){A, TA, M, K, lda, now, w->words, w->cap};
    return w->words;
}

static void buffers(void)
{
    if (pa) return;
    pa = aligned(sizeof(uint32_t) * MC * (KC / 2));
    pb = aligned(sizeof(uint32_t) * (KC / 2) * NC);
    rowbuf = aligned(sizeof(uint32_t) * (KC + 16));
}

void abc_sgemm_bf16_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0) {
        for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j) C[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * C[(size_t)i * ldc + j];
        return;
    }
    buffers();
    const uint32_t *whole = (size_t)M * K <= WHOLE_A_MAX ? packed_a(TA, M, K, A, lda) : NULL;
    size_t mp = (size_t)(M + MR - 1) / MR * MR;
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = N - j0 < NC ? N - j0 : NC;
        for (int k0 = 0; k0 < K; k0 += KC) {
            int kc = K - k0 < KC ? K - k0 : KC, kp = (kc + 1) / 2;
            float bk = k0 == 0 ? beta : 1;
            if (TB) pack_x_major(B, ldb, k0, kc, j0, nc, NR, pb, 1, 0);
            else pack_k_major(B, ldb, k0, kc, j0, nc, NR, pb);
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC;
                const uint32_t *a = pa;
                if (whole) a = whole + (size_t)(k0 / 2) * mp + (size_t)i0 * kp;
                else if (TA) pack_k_major(A, lda, k0, kc, i0, mc, MR, pa);
                else pack_x_major(A, lda, k0, kc, i0, mc, MR, pa, 1, 0);
                tiles(kp, a, mc, nc, C + (size_t)i0 * ldc + j0, ldc, alpha, bk);
            }
        }
    }
}
int abc_sgemm_bf16_images_max(int K) { return K <= KC ? KC / ((K + 1) & ~1) : 1; }

void abc_sgemm_bf16_images(int M, int N, int K, int images, float alpha, const float *A, int lda, size_t stepA,
                           const float *B, int ldb, size_t stepB, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    if (images > abc_sgemm_bf16_images_max(K) || images < 1 || K <= 0)
        abc_die("abc_sgemm_bf16_images: %d images of K = %d do not fit one block", images, K);
    buffers();
    int kp = (K + 1) / 2 * images;
    for (int j0 = 0; j0 < N; j0 += NC) {
        int nc = N - j0 < NC ? N - j0 : NC;
        pack_x_major(B, ldb, 0, K, j0, nc, NR, pb, images, stepB);
        for (int i0 = 0; i0 < M; i0 += MC) {
            int mc = M - i0 < MC ? M - i0 : MC;
            pack_x_major(A, lda, 0, K, i0, mc, MR, pa, images, stepA);
            tiles(kp, pa, mc, nc, C + (size_t)i0 * ldc + j0, ldc, alpha, beta);
        }
    }
}
#else
int abc_sgemm_bf16_images_max(int K)
{
    (void)K;
    return 1;
}

void abc_sgemm_bf16_images(int M, int N, int K, int images, float alpha, const float *A, int lda, size_t stepA,
                           const float *B, int ldb, size_t stepB, float beta, float *C, int ldc)
{
    (void)M, (void)N, (void)K, (void)images, (void)alpha, (void)A, (void)lda, (void)stepA, (void)B, (void)ldb,
        (void)stepB, (void)beta, (void)C, (void)ldc;
    abc_die("the bf16 gemm is not built for this CPU");
}

void abc_sgemm_bf16_avx512(int TA, int TB, int M, int N, int K, float alpha, const float *A, int lda,
                           const float *B, int ldb, float beta, float *C, int ldc)
{
    (void)TA, (void)TB, (void)M, (void)N, (void)K, (void)alpha, (void)A, (void)lda, (void)B, (void)ldb, (void)beta,
        (void)C, (void)ldc;
    abc_die("the bf16 gemm is not built for this CPU");
}

void abc_sgemm_bf16_new_epoch(void) {}
#endif
