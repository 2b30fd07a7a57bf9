/* abc bench -bf16: a training step's GEMMs, fp32 against bf16 (bench_train_gemm.c). */
#ifndef ABC_BENCH_TRAIN_GEMM_H
#define ABC_BENCH_TRAIN_GEMM_H

void abc_bench_train_gemm(int rounds);

#endif
