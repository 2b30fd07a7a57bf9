/* Debian's OpenBLAS 0.3.21 does not know AVX-512 AMD cores (Zen 4/5) and
 * runs its AVX2 Haswell/Zen kernels there, at about half the speed of its
 * own SkylakeX (AVX-512) kernels on the same CPU. OpenBLAS picks its kernels
 * once, when it is loaded, from OPENBLAS_CORETYPE. */
#ifndef ABC_BLAS_CORE_H
#define ABC_BLAS_CORE_H

/* If OPENBLAS_CORETYPE is unset, OpenBLAS chose an AVX2 core and the CPU and
 * OS support AVX-512 F/BW/DQ/VL: sets OPENBLAS_CORETYPE=SkylakeX and execs
 * this program again with the same arguments (returns only if that fails).
 * Call first thing in main. OPENBLAS_CORETYPE=Haswell keeps the AVX2 kernels. */
void abc_blas_pick_core(char **argv);

#endif
