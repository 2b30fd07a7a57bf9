/* abc bench -bf16: the GEMMs of a ResNet-18 training step on 28x28 Fashion-MNIST (per image: forward,
 * backward data, backward weights of each stage's 3x3 conv), fp32 (the fast float layers' GEMM) against bf16
 * operands with fp32 sums, one thread, taking turns, medians. The bf16 products keep their packed A between
 * rounds, as a layer's weights are kept between the images of a batch. */
#include "bench_train_gemm.h"

#include <stdio.h>
#include <stdlib.h>

#include "abc/base/util.h"
#include "abc/kernels/sgemm.h"
#include "abc/kernels/sgemm_avx512.h"
#include "bench_util.h"

void abc_bench_train_gemm(int rounds)
{
    if (!abc_sgemm_bf16_supported()) {
        printf("bf16 GEMM: this CPU has no AVX512-BF16\n");
        return;
    }
    static const int shapes[][5] = {
        {64, 784, 576, 0, 0},  {576, 784, 64, 1, 0},  {64, 576, 784, 0, 1},  /* 28x28x64 */
        {128, 196, 1152, 0, 0}, {1152, 196, 128, 1, 0}, {128, 1152, 196, 0, 1}, /* 14x14x128 */
        {256, 49, 2304, 0, 0}, {2304, 49, 256, 1, 0}, {256, 2304, 49, 0, 1},   /* 7x7x256 */
        {512, 16, 4608, 0, 0}, {4608, 16, 512, 1, 0}, {512, 4608, 16, 0, 1},   /* 4x4x512 */
    };
    static const char *what[] = {"forward", "backward data", "backward weights"};
    abc_sgemm_serial_mode();
    printf("\ntraining GEMMs of resnet18-fmnist (per image), 1 thread: fp32 (%s) against bf16 (AVX512-BF16, fp32 "
           "sums); G FLOP/s, medians of %d rounds\n", abc_sgemm_kernel_name(), rounds);
    printf("%-18s %5s %5s %5s %10s %10s %7s\n", "product", "M", "N", "K", "fp32", "bf16", "ratio");
    double *t = abc_xmalloc(sizeof(double) * 2 * (size_t)rounds);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], TA = shapes[s][3], TB = shapes[s][4];
        float *A = abc_xmalloc(sizeof(float) * (size_t)M * K), *B = abc_xmalloc(sizeof(float) * (size_t)K * N);
        float *C = abc_xmalloc(sizeof(float) * (size_t)M * N);
        for (size_t i = 0; i < (size_t)M * K; ++i) A[i] = (float)rand() / (float)RAND_MAX - .5f;
        for (size_t i = 0; i < (size_t)K * N; ++i) B[i] = (float)rand() / (float)RAND_MAX - .5f;
        abc_sgemm_bf16_new_epoch();
        for (int r = 0; r < rounds; ++r)
            for (int k = 0; k < 2; ++k) {
                int which = (r + k) % 2; /* alternate which goes first */
                double t0 = abc_now();
                if (which) abc_sgemm_bf16_avx512(TA, TB, M, N, K, 1, A, TA ? M : K, B, TB ? K : N, 0, C, N);
                else abc_sgemm1(TA, TB, M, N, K, 1, A, TA ? M : K, B, TB ? K : N, 0, C, N);
                t[which * rounds + r] = abc_now() - t0;
            }
        double f32 = abc_median(t, rounds), b16 = abc_median(t + rounds, rounds), flop = 2.0 * M * N * K;
        printf("%-18s %5d %5d %5d %10.1f %10.1f %6.2fx\n", what[s % 3], M, N, K, flop / f32 / 1e9, flop / b16 / 1e9,
               f32 / b16);
        free(A), free(B), free(C);
    }
    free(t);
}
