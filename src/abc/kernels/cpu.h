/* The CPU's instruction-set features, probed once: the one probe every kernel
 * table, the float GEMM and the OpenBLAS core choice read. A feature counts
 * only when the OS also saves its registers (libgcc's probe checks xgetbv). */
#ifndef ABC_CPU_H
#define ABC_CPU_H

#include <stddef.h>

/* A function compiled three times, for AVX-512 (x86-64-v4), AVX2 + FMA (v3) and the baseline, the loader
 * picking the one this CPU runs: for element-wise loops and sums in fixed lanes, whose results are the same
 * bits on each (ISO C: no FP contraction unless a function asks for it). */
#define ABC_CLONED __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

enum {
    ABC_CPU_POPCNT = 1u << 0,
    ABC_CPU_AVX2 = 1u << 1,
    ABC_CPU_FMA = 1u << 2,
    ABC_CPU_AVX512F = 1u << 3,
    ABC_CPU_AVX512BW = 1u << 4,
    ABC_CPU_AVX512DQ = 1u << 5,
    ABC_CPU_AVX512VL = 1u << 6,
    ABC_CPU_AVX512CD = 1u << 7,
    ABC_CPU_AVX512VPOPCNTDQ = 1u << 8,
    ABC_CPU_AVX512VBMI2 = 1u << 9,
    ABC_CPU_AVX512VNNI = 1u << 10,
    ABC_CPU_AVX512BF16 = 1u << 11,
    ABC_CPU_NFEATURES = 12
};
/* What OpenBLAS's SkylakeX kernels need. */
#define ABC_CPU_AVX512_CORE \
    (ABC_CPU_AVX512F | ABC_CPU_AVX512BW | ABC_CPU_AVX512DQ | ABC_CPU_AVX512VL | ABC_CPU_AVX512CD)

/* The features this CPU has (ABC_CPU_* bits). */
unsigned abc_cpu_features(void);
/* 1 if the CPU has every feature in `need` (0 needs nothing). */
int abc_cpu_has(unsigned need);
/* The names of the features in `set`, space-separated ("popcnt avx2 ..."), into buf; "none" for none. */
const char *abc_cpu_feature_names(unsigned set, char *buf, size_t n);
/* The model name from /proc/cpuinfo, or "unknown CPU". */
const char *abc_cpu_model(char *buf, size_t n);

#endif
