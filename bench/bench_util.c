#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "abc/base/util.h"
#include "abc/kernels/cpu.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double abc_median(const double *v, int n)
{
    double *s = abc_xmalloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

const char *abc_bench_machine(char *buf, size_t n)
{
    char cpu[256], features[256];
    struct utsname un;
    if (uname(&un) != 0) snprintf(un.release, sizeof un.release, "unknown");
    snprintf(buf, n, "CPU: %s; %ld cores online; kernel %s; features: %s", abc_cpu_model(cpu, sizeof cpu),
             sysconf(_SC_NPROCESSORS_ONLN), un.release, abc_cpu_feature_names(abc_cpu_features(), features, sizeof features));
    return buf;
}
