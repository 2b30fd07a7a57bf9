#include "blas_core.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cpu.h"

char *openblas_get_corename(void);

static int core_in(const char *core, const char *const *names)
{
    for (; *names; ++names)
        if (core && !strcasecmp(core, *names)) return 1;
    return 0;
}

static const char *const avx512_cores[] = {"skylakex", "cooperlake", "sapphirerapids", NULL};
static const char *const avx2_cores[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids", NULL};

int abc_blas_core_is_avx512(void) { return core_in(openblas_get_corename(), avx512_cores); }

const char *abc_blas_better_core(void)
{
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set && *set) return NULL;
    const char *core = openblas_get_corename();
    int avx512 = abc_cpu_has(ABC_CPU_AVX512_CORE), avx2 = abc_cpu_has(ABC_CPU_AVX2 | ABC_CPU_FMA);
    if (core_in(core, avx2_cores)) return NULL; /* AVX2 kernels or better */
    return avx512 ? "SkylakeX" : avx2 ? "Haswell" : NULL;
}

void abc_blas_fix_core(char **argv)
{
    const char *core = abc_blas_better_core();
    if (!core || getenv("ABC_BLAS_REEXEC")) return; /* the guard: never loop */
    setenv("OPENBLAS_CORETYPE", core, 1);
    setenv("ABC_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    unsetenv("ABC_BLAS_REEXEC"); /* exec failed: carry on with OpenBLAS's own choice */
}
