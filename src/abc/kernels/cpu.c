#include "cpu.h"

#include <stdio.h>
#include <string.h>

static const char *const names[ABC_CPU_NFEATURES] = {
    "popcnt", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx512vpopcntdq",
    "avx512vbmi2", "avx512vnni", "avx512bf16",
};

static unsigned probe(void)
{
    unsigned f = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    /* __builtin_cpu_supports takes a string literal, so one line per feature */
    f |= __builtin_cpu_supports("popcnt") ? ABC_CPU_POPCNT : 0;
    f |= __builtin_cpu_supports("avx2") ? ABC_CPU_AVX2 : 0;
    f |= __builtin_cpu_supports("fma") ? ABC_CPU_FMA : 0;
    f |= __builtin_cpu_supports("avx512f") ? ABC_CPU_AVX512F : 0;
    f |= __builtin_cpu_supports("avx512bw") ? ABC_CPU_AVX512BW : 0;
    f |= __builtin_cpu_supports("avx512dq") ? ABC_CPU_AVX512DQ : 0;
    f |= __builtin_cpu_supports("avx512vl") ? ABC_CPU_AVX512VL : 0;
    f |= __builtin_cpu_supports("avx512cd") ? ABC_CPU_AVX512CD : 0;
    f |= __builtin_cpu_supports("avx512vpopcntdq") ? ABC_CPU_AVX512VPOPCNTDQ : 0;
    f |= __builtin_cpu_supports("avx512vbmi2") ? ABC_CPU_AVX512VBMI2 : 0;
    f |= __builtin_cpu_supports("avx512vnni") ? ABC_CPU_AVX512VNNI : 0;
    f |= __builtin_cpu_supports("avx512bf16") ? ABC_CPU_AVX512BF16 : 0;
#endif
    return f;
}

static unsigned features; /* probed, with bit 31 set once known (pool threads may ask at once) */

unsigned abc_cpu_features(void)
{
    unsigned f = __atomic_load_n(&features, __ATOMIC_RELAXED);
    if (!f) {
        f = probe() | 1u << 31;
        __atomic_store_n(&features, f, __ATOMIC_RELAXED);
    }
    return f & ~(1u << 31);
}

int abc_cpu_has(unsigned need) { return (abc_cpu_features() & need) == need; }

const char *abc_cpu_feature_names(unsigned set, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < ABC_CPU_NFEATURES; ++i)
        if (set & 1u << i) {
            int w = snprintf(buf + at, n - at, "%s%s", at ? " " : "", names[i]);
            if (w < 0 || (size_t)w >= n - at) break;
            at += (size_t)w;
        }
    if (!at) snprintf(buf, n, "none");
    return buf;
}

const char *abc_cpu_model(char *buf, size_t n)
{
    snprintf(buf, n, "unknown CPU");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    if (!fp) return buf;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, "model name", 10)) continue;
        const char *v = strchr(line, ':');
        if (!v) break;
        for (++v; *v == ' ' || *v == '\t'; ++v) {}
        snprintf(buf, n, "%s", v);
        buf[strcspn(buf, "\n")] = 0;
        break;
    }
    fclose(fp);
    return buf;
}
