/* Peak binary MAC rates of this CPU, one per instruction set the binary GEMM
 * kernels use, each the inner loop of that kind of kernel with its operands
 * in L1 (no loads from memory, nothing else): the ceiling a kernel of that
 * kind can reach on this core. 1 binary MAC = one xor'd bit counted. */
#ifndef ABC_BENCH_PEAKS_H
#define ABC_BENCH_PEAKS_H

typedef enum { ABC_PEAK_POPCNT, ABC_PEAK_AVX2, ABC_PEAK_AVX512, ABC_NPEAKS } abc_peak_kind;

/* G binary MAC/s of one short run of that loop (about 10 ms), or 0 when the CPU cannot run it. */
double abc_measure_peak(abc_peak_kind k);
/* Median over rounds of (sum of the rates of that loop on two threads at once) / (its rate on one): what two
 * cores of this machine give together when nothing is shared but the chip; 0 when the CPU cannot run it. */
double abc_peak_two_threads(abc_peak_kind k, int rounds);
/* "POPCNT 2x4", "AVX2 nibble table 2x4", "AVX-512 VPOPCNTDQ 8x16": what the loop is. */
const char *abc_peak_what(abc_peak_kind k);
/* The peak a kernel of the binary GEMM table is measured against (by its name), or -1 for none. */
int abc_peak_of_kernel(const char *kernel_name);

#endif
