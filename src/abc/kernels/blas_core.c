#include "blas_core.h"

#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

char *openblas_get_corename(void);

static int avx512_usable(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

void abc_blas_pick_core(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE")) return; /* the user's choice, or we did this already */
    const char *core = openblas_get_corename();
    if (!core || (strcasecmp(core, "haswell") && strcasecmp(core, "zen"))) return;
    if (!avx512_usable()) return;
    if (setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE"); /* exec failed: carry on with OpenBLAS's own choice */
}
