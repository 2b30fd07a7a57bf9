/* The binary GEMM against its meaning: a +-1 dot product computed in floats. */
#include <stdint.h>
#include <stdlib.h>

#include "kernels/bgemm.h"
#include "test_util.h"

/* Random +-1 rows packed by the header's rules (tail bits zero); signs kept for the float check. */
static uint64_t *random_rows(int rows, int K, int ld, float **signs, unsigned *seed)
{
    uint64_t *p = calloc((size_t)rows * ld, sizeof *p);
    *signs = malloc((size_t)rows * K * sizeof **signs);
    for (int r = 0; r < rows; ++r)
        for (int k = 0; k < K; ++k) {
            int bit = rand_r(seed) & 1;
            (*signs)[(size_t)r * K + k] = bit ? 1.f : -1.f;
            if (bit) p[(size_t)r * ld + k / 64] |= 1ull << (k % 64);
        }
    return p;
}

static const int shapes[][3] = {{1, 1, 1}, {3, 5, 63}, {4, 7, 64}, {5, 3, 65}, {2, 9, 200}, {7, 6, 1000}};

START_TEST(ref_equals_float_dot_product)
{
    int M = shapes[_i][0], N = shapes[_i][1], K = shapes[_i][2];
    int ld = abc_bgemm_words(K) + 1; /* a stride wider than the row */
    unsigned seed = 1234u + (unsigned)_i;
    float *sa, *sb;
    uint64_t *A = random_rows(M, K, ld, &sa, &seed), *B = random_rows(N, K, ld, &sb, &seed);
    int32_t *C = calloc((size_t)M * (N + 2), sizeof *C);
    abc_bgemm_ref(M, N, K, A, ld, B, ld, C, N + 2);
    for (int m = 0; m < M; ++m)
        for (int n = 0; n < N; ++n) {
            float dot = 0;
            for (int k = 0; k < K; ++k) dot += sa[(size_t)m * K + k] * sb[(size_t)n * K + k];
            ck_assert_int_eq(C[(size_t)m * (N + 2) + n], (int)dot);
        }
    free(A); free(B); free(C); free(sa); free(sb);
}
END_TEST

static Suite *suite_bgemm(void)
{
    Suite *s = suite_create("bgemm");
    TCase *tc = tcase_create("reference");
    tcase_add_loop_test(tc, ref_equals_float_dot_product, 0, (int)(sizeof shapes / sizeof shapes[0]));
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_bgemm)
