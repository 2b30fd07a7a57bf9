#include "mode.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const abc_mode_info about[ABC_MODE_COUNT] = {
    [ABC_MODE_THREADS] = {"ABC_THREADS", NULL, "threads of every parallel part (default: all cores; -threads N)"},
    [ABC_MODE_FLOAT] = {"ABC_FLOAT", "fast|stock", "stock float layers: the project's fast ones or darknet's own"},
    [ABC_MODE_GEMM] = {"ABC_GEMM", "auto|abc|openblas",
                       "float GEMM: the project's AVX-512 kernel where OpenBLAS runs no AVX-512 kernels (auto), "
                       "or forced"},
    [ABC_MODE_INFERENCE] = {"ABC_INFERENCE", "packed|sim|soft",
                            "binary layers at inference: packed kernels, the training path's float simulation, or "
                            "(weight quantizers) the soft weights training runs on"},
    [ABC_MODE_BGEMM] = {"ABC_BGEMM", NULL, "binary GEMM kernel (default: the best this CPU runs)"},
    [ABC_MODE_HGEMM] = {"HADA_KERNEL", NULL, "segment GEMM kernel of the HadaNet layers"},
    [ABC_MODE_PACK] = {"ABC_PACK", NULL, "input bit packer of the binary layers"},
    [ABC_MODE_IM2COL] = {"ABC_IM2COL", NULL, "binary im2col loop of the ABC layers"},
    [ABC_MODE_IGEMM] = {"ABC_IGEMM", NULL, "integer (u8 x s8) GEMM kernel of the quant layers"},
    [ABC_MODE_ICONV] = {"ABC_ICONV", "auto|rows|pixels",
                        "direct integer convolution of the quant layers on AVX-512 VNNI: chosen by shape (auto), "
                        "or forced (rows needs stride 1)"},
    [ABC_MODE_PRECISION] = {"ABC_PRECISION", "cfg|fp32|bf16",
                            "training GEMMs: as the cfg's [net] precision= says, bf16 where the CPU has "
                            "AVX512-BF16 when it says nothing (cfg), or forced"},
    [ABC_MODE_TRAIN_CONV] = {"ABC_TRAIN_CONV", "auto|own",
                             "bf16 training convolutions: oneDNN's where it has a fast kernel for the shape (auto), "
                             "or the project's im2col + GEMM (own)"},
};

/* Per switch: 0 not read yet, 1 read. The values are written before the flag (release) and read after it. */
static int read_once[ABC_MODE_COUNT];
static const char *from_env[ABC_MODE_COUNT];
static const char *override[ABC_MODE_COUNT];

const abc_mode_info *abc_mode_about(abc_mode_key k) { return &about[k]; }

const char *abc_mode_get(abc_mode_key k)
{
    const char *o = __atomic_load_n(&override[k], __ATOMIC_ACQUIRE);
    if (o) return o;
    if (!__atomic_load_n(&read_once[k], __ATOMIC_ACQUIRE)) {
        const char *e = getenv(about[k].env);
        __atomic_store_n(&from_env[k], e && *e ? e : NULL, __ATOMIC_RELAXED);
        __atomic_store_n(&read_once[k], 1, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&from_env[k], __ATOMIC_RELAXED);
}

int abc_mode_choice(abc_mode_key k)
{
    const char *v = abc_mode_get(k), *list = about[k].values;
    if (!v) return 0;
    size_t n = strlen(v);
    int i = 0;
    for (const char *p = list; p; ++i) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return i;
        p = bar ? bar + 1 : NULL;
    }
    abc_die("%s='%s': expected one of %s (the first is the default)", about[k].env, v, list);
}

void abc_mode_set(abc_mode_key k, const char *value) { __atomic_store_n(&override[k], value, __ATOMIC_RELEASE); }
