/* OpenBLAS's choice of kernels. Debian's OpenBLAS 0.3.21 picks its kernels
 * by CPU model at load time, and on CPUs newer than it (Intel Emerald Rapids,
 * for one) falls back to its SSE3 "Prescott" kernels: 4-8x slower than what
 * the CPU can run. It reads OPENBLAS_CORETYPE only at load time, so the fix
 * is to set it and start the program again. */
#ifndef ABC_BLAS_CORE_H
#define ABC_BLAS_CORE_H

/* The core OpenBLAS should use on this CPU when the one it chose is weaker
 * than the CPU ("SkylakeX" with AVX-512, "Haswell" with AVX2 and FMA), or
 * NULL when its choice is fine or the user set OPENBLAS_CORETYPE. */
const char *abc_blas_better_core(void);

/* If abc_blas_better_core() names one: sets OPENBLAS_CORETYPE to it and
 * re-executes this program with the same arguments (returns only if that
 * is not needed or fails). Call first thing in main. */
void abc_blas_fix_core(char **argv);

/* 1 if OpenBLAS runs AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids). */
int abc_blas_core_is_avx512(void);

#endif
