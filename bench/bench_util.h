/* Small pieces shared by the benchmark commands (abc bench, abc trainspeed). */
#ifndef ABC_BENCH_UTIL_H
#define ABC_BENCH_UTIL_H

#include <stddef.h>

/* Median of v[0..n-1] (n >= 1); v is left as it was. */
double abc_median(const double *v, int n);

/* "CPU: <model>; <n> cores online; kernel <release>; features: <the CPU features the kernels use>" into buf. */
const char *abc_bench_machine(char *buf, size_t n);

#endif
