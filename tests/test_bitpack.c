/* Packing floats into sign bits against a plain bit-by-bit packer, and the
 * packed product against a float dot product of the signs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/bgemm.h"
#include "kernels/bitpack.h"
#include "test_util.h"

static int plain_bit(float x, float t) { return x > t; }

/* rows/K/extra ldx columns */
static const int shapes[][3] = {{1, 1, 0}, {3, 63, 1}, {2, 64, 0}, {5, 65, 3}, {7, 200, 0}, {4, 1000, 7}, {65, 129, 2}};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* Values on a small grid so that some equal the thresholds exactly. */
static float *grid_values(long n, unsigned *seed)
{
    float *x = malloc((size_t)n * sizeof *x);
    for (long i = 0; i < n; ++i) x[i] = (float)(rand_r(seed) % 17 - 8) * 0.25f;
    return x;
}

START_TEST(pack_rows_matches_plain)
{
    int rows = shapes[_i][0], K = shapes[_i][1], ldx = K + shapes[_i][2];
    int ld = abc_bgemm_words(K) + 1;
    unsigned seed = 11u + (unsigned)_i;
    float *X = grid_values((long)rows * ldx, &seed);
    uint64_t *out = malloc((size_t)rows * ld * sizeof *out);
    memset(out, 0xab, (size_t)rows * ld * sizeof *out);
    for (int t = 0; t < 3; ++t) {
        float thr = t == 0 ? 0.0f : t == 1 ? 0.5f : -1.25f;
        abc_pack_rows(X, rows, K, ldx, thr, out, ld);
        for (int r = 0; r < rows; ++r) {
            for (int w = 0; w < abc_bgemm_words(K); ++w)
                for (int b = 0; b < 64; ++b) {
                    int k = w * 64 + b;
                    int want = k < K ? plain_bit(X[(long)r * ldx + k], thr) : 0;
                    ck_assert_int_eq((int)(out[(long)r * ld + w] >> b & 1), want);
                }
            ck_assert_uint_eq(out[(long)r * ld + ld - 1], 0xababababababababull); /* stride gap untouched */
        }
    }
    abc_packed p = abc_packed_rows(X, rows, K, ldx, 0.0f);
    ck_assert_int_eq(p.ld, abc_bgemm_words(K));
    abc_pack_rows(X, rows, K, ldx, 0.0f, out, ld);
    for (int r = 0; r < rows; ++r)
        ck_assert_int_eq(memcmp(p.bits + (long)r * p.ld, out + (long)r * ld, (size_t)p.ld * sizeof *out), 0);
    abc_packed_free(&p);
    ck_assert_ptr_null(p.bits);
    free(X); free(out);
}
END_TEST

/* K x N matrices (NCHW images, im2col columns), several thresholds in one pass. */
static const int cshapes[][3] = {{1, 1, 0}, {3, 5, 0}, {63, 64, 2}, {64, 65, 0}, {65, 130, 1}, {130, 63, 5}, {256, 196, 0}, {27, 200, 3}};
enum { NCSHAPES = sizeof cshapes / sizeof cshapes[0] };

START_TEST(pack_cols_matches_plain)
{
    int K = cshapes[_i][0], N = cshapes[_i][1], ldx = N + cshapes[_i][2];
    int ld = abc_bgemm_words(K) + 2;
    float thr[3] = {0.0f, 0.75f, -0.5f};
    long stride = (long)N * ld + 3;
    unsigned seed = 21u + (unsigned)_i;
    float *X = grid_values((long)K * ldx, &seed);
    uint64_t *out = malloc((size_t)(3 * stride) * sizeof *out);
    memset(out, 0xcd, (size_t)(3 * stride) * sizeof *out);
    abc_pack_cols(X, K, N, ldx, thr, 3, out, ld, stride);
    for (int b = 0; b < 3; ++b)
        for (int n = 0; n < N; ++n) {
            const uint64_t *row = out + b * stride + (long)n * ld;
            for (int w = 0; w < abc_bgemm_words(K); ++w)
                for (int i = 0; i < 64; ++i) {
                    int k = w * 64 + i;
                    int want = k < K ? plain_bit(X[(long)k * ldx + n], thr[b]) : 0;
                    if ((int)(row[w] >> i & 1) != want)
                        ck_abort_msg("K=%d N=%d base %d n %d k %d: bit %d, want %d", K, N, b, n, k,
                                     (int)(row[w] >> i & 1), want);
                }
            ck_assert_uint_eq(row[ld - 1], 0xcdcdcdcdcdcdcdcdull);
        }
    free(X); free(out);
}
END_TEST

/* A 1x1 conv in packed bits equals the float product of the signs. */
START_TEST(packed_product_equals_sign_product)
{
    int F = 5, C = 70, HW = 33;
    unsigned seed = 3u;
    float *W = grid_values((long)F * C, &seed), *X = grid_values((long)C * HW, &seed);
    abc_packed w = abc_packed_rows(W, F, C, C, 0.0f);
    int ld = abc_bgemm_words(C);
    uint64_t *x = calloc((size_t)HW * ld, sizeof *x);
    float t = 0.25f;
    abc_pack_cols(X, C, HW, HW, &t, 1, x, ld, 0);
    int32_t *out = malloc((size_t)F * HW * sizeof *out);
    abc_bgemm(F, HW, C, w.bits, w.ld, x, ld, out, HW);
    for (int f = 0; f < F; ++f)
        for (int p = 0; p < HW; ++p) {
            int dot = 0;
            for (int c = 0; c < C; ++c) dot += (W[f * C + c] > 0 ? 1 : -1) * (X[c * HW + p] > t ? 1 : -1);
            ck_assert_int_eq(out[f * HW + p], dot);
        }
    abc_packed_free(&w);
    free(W); free(X); free(x); free(out);
}
END_TEST

static Suite *suite_bitpack(void)
{
    Suite *s = suite_create("bitpack");
    TCase *tc = tcase_create("pack");
    tcase_add_loop_test(tc, pack_rows_matches_plain, 0, NSHAPES);
    tcase_add_loop_test(tc, pack_cols_matches_plain, 0, NCSHAPES);
    tcase_add_test(tc, packed_product_equals_sign_product);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_bitpack)
