/* ./darknet abc info [-json]: what this build runs on this machine: the CPU
 * and the features the kernels use, threads, each kernel family's choice,
 * the float GEMM and OpenBLAS, oneDNN, every run-time switch, compiler, libdarknet. */
#include <cblas.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/mode.h"
#include "abc/base/threads.h"
#include "abc/kernels/conv_dnnl.h"
#include "abc/kernels/cpu.h"
#include "abc/kernels/select.h"
#include "abc/kernels/sgemm.h"
#include "commands.h"
#include "dist.h"
#include "json.h"

#define ALL_FEATURES ((1u << ABC_CPU_NFEATURES) - 1)
#if defined(__clang__)
#define COMPILER "clang "
#elif defined(__GNUC__)
#define COMPILER "gcc "
#else
#define COMPILER ""
#endif

typedef struct {
    char cpu[256], have[256], missing[256];
    int cores, threads;
    const char *sgemm, *blas_core, *blas_config, *coretype, *coretype_by, *compiler;
    char libdarknet[4096];
} info;

/* The kernel a family runs, without ending the program on a bad switch: NULL and why in err. */
static const abc_kernel_desc *family_choice(abc_kernel_family *f, char *err, size_t n)
{
    const char *v = abc_mode_get(f->mode), *env = abc_mode_about(f->mode)->env;
    err[0] = 0;
    if (!v) return abc_kernel_chosen(f);
    const abc_kernel_desc *d = abc_kernel_find(f, v);
    if (!d) snprintf(err, n, "%s='%s' names no kernel of this family: commands stop with an error", env, v);
    else if (!abc_kernel_usable(d)) snprintf(err, n, "%s='%s': this CPU cannot run it: commands stop with an error", env, v);
    return *err ? NULL : d;
}

/* The names of the family's kernels this CPU runs (usable = 1) or cannot run, space-separated, "none" if none. */
static const char *kernel_list(const abc_kernel_family *f, int usable, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < f->n && at < n; ++i) {
        const abc_kernel_desc *d = abc_kernel_at(f, i);
        if (abc_kernel_usable(d) == usable) at += (size_t)snprintf(buf + at, n - at, "%s%s", at ? " " : "", d->name);
    }
    if (!at) snprintf(buf, n, "none");
    return buf;
}

/* What a switch accepts: its fixed values, its family's kernels, or a thread count. */
static const char *switch_choices(abc_mode_key k, char *buf, size_t n)
{
    const abc_mode_info *m = abc_mode_about(k);
    if (m->values) snprintf(buf, n, "%s", m->values);
    else if (k == ABC_MODE_THREADS) snprintf(buf, n, "1..%d", ABC_MAX_THREADS);
    else snprintf(buf, n, "any value");
    for (abc_kernel_family *const *f = abc_kernel_families(); *f; ++f)
        if ((*f)->mode == k) abc_kernel_names(*f, buf, n);
    return buf;
}

static int find_libdarknet(struct dl_phdr_info *p, size_t size, void *out)
{
    if (!p->dlpi_name || !strstr(p->dlpi_name, "libdarknet")) return 0;
    snprintf(out, 4096, "%s", p->dlpi_name);
    return 1;
}

static void gather(info *in)
{
    memset(in, 0, sizeof *in);
    unsigned have = abc_cpu_features();
    abc_cpu_model(in->cpu, sizeof in->cpu);
    abc_cpu_feature_names(have, in->have, sizeof in->have);
    abc_cpu_feature_names(ALL_FEATURES & ~have, in->missing, sizeof in->missing);
    in->cores = abc_cpu_count();
    in->threads = abc_get_threads();
    in->sgemm = abc_sgemm_kernel_name();
    in->blas_core = openblas_get_corename();
    in->blas_config = openblas_get_config();
    in->coretype = getenv("OPENBLAS_CORETYPE");
    in->coretype_by = !in->coretype ? NULL : getenv("ABC_BLAS_REEXEC") ? "darknet" : "user";
    in->compiler = COMPILER __VERSION__;
    snprintf(in->libdarknet, sizeof in->libdarknet, "not found");
    dl_iterate_phdr(find_libdarknet, in->libdarknet);
}

/* ---- text ---- */

static void text_kernels(void)
{
    char err[256], names[256];
    printf("kernel families (each runs the kernel its switch names, else the last this CPU runs):\n");
    for (abc_kernel_family *const *f = abc_kernel_families(); *f; ++f) {
        const abc_kernel_desc *d = family_choice(*f, err, sizeof err);
        printf("  %s (%s): %s\n", (*f)->what, abc_mode_about((*f)->mode)->env, d ? d->name : err);
        printf("      usable: %s\n", kernel_list(*f, 1, names, sizeof names));
        printf("      unusable on this CPU: %s\n", kernel_list(*f, 0, names, sizeof names));
    }
}

static void text_switches(void)
{
    char choices[256];
    printf("switches (environment variables, read once at start; base/mode.h):\n");
    for (int k = 0; k < ABC_MODE_COUNT; ++k) {
        const abc_mode_info *m = abc_mode_about((abc_mode_key)k);
        const char *v = abc_mode_get((abc_mode_key)k);
        printf("  %-14s %-12s choices: %s\n      %s\n", m->env, v ? v : "(default)",
               switch_choices((abc_mode_key)k, choices, sizeof choices), m->what);
    }
}

static void print_text(const info *in)
{
    printf("CPU: %s\n", in->cpu);
    printf("  features the kernels use: %s\n  missing: %s\n", in->have, in->missing);
    printf("  cores online: %d; threads used: %d (-threads N, ABC_THREADS)\n", in->cores, in->threads);
    text_kernels();
    printf("float GEMM of the fast layers: %s\n", in->sgemm);
    printf("OpenBLAS core: %s (OPENBLAS_CORETYPE=%s%s); %s\n", in->blas_core, in->coretype ? in->coretype : "unset",
           !in->coretype_by ? "" : !strcmp(in->coretype_by, "user") ? ", set by the user"
                                  : ", set by ./darknet at start: OpenBLAS's own choice was weaker", in->blas_config);
    printf("bf16 training convolutions: %s%s\n", abc_dnnl_conv_about(),
           abc_sgemm_bf16_supported() ? "" : "; not used: no AVX512-BF16 here");
    printf("data-parallel training: %s\n", abc_dist_about());
    text_switches();
    printf("compiler: %s\nlibdarknet: %s\n", in->compiler, in->libdarknet);
}

/* ---- JSON ---- */

typedef struct {
    int depth;
    int count[8]; /* members written at each depth */
} json;

static void json_string(const char *s) { abc_json_string(stdout, s); }

/* The separator and "key": of the next member (key NULL in an array). */
static void json_next(json *j, const char *key)
{
    if (j->count[j->depth]++) putchar(',');
    if (key) { json_string(key); putchar(':'); }
}

static void json_open(json *j, const char *key, char c)
{
    json_next(j, key);
    putchar(c);
    j->count[++j->depth] = 0;
}

static void json_close(json *j, char c)
{
    putchar(c);
    --j->depth;
}

static void json_str(json *j, const char *key, const char *v)
{
    json_next(j, key);
    json_string(v);
}

static void json_int(json *j, const char *key, long v)
{
    json_next(j, key);
    printf("%ld", v);
}

/* "a b c" as ["a","b","c"] ("none": []). */
static void json_words(json *j, const char *key, const char *words)
{
    json_open(j, key, '[');
    char w[64];
    for (const char *p = words; strcmp(words, "none") && *p;) {
        size_t len = strcspn(p, " ");
        snprintf(w, sizeof w, "%.*s", (int)len, p);
        json_str(j, NULL, w);
        p += len + (p[len] == ' ');
    }
    json_close(j, ']');
}

static void json_kernels(json *j)
{
    char err[256], names[256];
    json_open(j, "kernels", '{');
    for (abc_kernel_family *const *f = abc_kernel_families(); *f; ++f) {
        const abc_kernel_desc *d = family_choice(*f, err, sizeof err);
        json_open(j, (*f)->what, '{');
        json_str(j, "switch", abc_mode_about((*f)->mode)->env);
        json_str(j, "chosen", d ? d->name : NULL);
        json_str(j, "error", *err ? err : NULL);
        json_words(j, "usable", kernel_list(*f, 1, names, sizeof names));
        json_words(j, "unusable", kernel_list(*f, 0, names, sizeof names));
        json_close(j, '}');
    }
    json_close(j, '}');
}

static void json_switches(json *j)
{
    char choices[256];
    json_open(j, "switches", '{');
    for (int k = 0; k < ABC_MODE_COUNT; ++k) {
        const abc_mode_info *m = abc_mode_about((abc_mode_key)k);
        json_open(j, m->env, '{');
        json_str(j, "value", abc_mode_get((abc_mode_key)k));
        json_str(j, "choices", switch_choices((abc_mode_key)k, choices, sizeof choices));
        json_str(j, "what", m->what);
        json_close(j, '}');
    }
    json_close(j, '}');
}

static void print_json(const info *in)
{
    json j = {0};
    putchar('{');
    json_open(&j, "cpu", '{');
    json_str(&j, "model", in->cpu);
    json_words(&j, "features", in->have);
    json_words(&j, "missing", in->missing);
    json_int(&j, "cores_online", in->cores);
    json_int(&j, "threads", in->threads);
    json_close(&j, '}');
    json_kernels(&j);
    json_str(&j, "float_gemm", in->sgemm);
    json_str(&j, "openblas_core", in->blas_core);
    json_str(&j, "openblas_coretype", in->coretype);
    json_str(&j, "openblas_coretype_set_by", in->coretype_by);
    json_str(&j, "openblas_config", in->blas_config);
    json_str(&j, "onednn", abc_dnnl_conv_about());
    json_str(&j, "mpi", abc_dist_about());
    json_switches(&j);
    json_str(&j, "compiler", in->compiler);
    json_str(&j, "libdarknet", in->libdarknet);
    puts("}");
}

static int info_run(const abc_cli *a)
{
    info in;
    gather(&in);
    if (abc_cli_flag(a, "-json")) print_json(&in);
    else print_text(&in);
    fflush(stdout);
    return 0;
}

static const abc_opt info_opts[] = {
    {"-json", ABC_OPT_FLAG, NULL, 0, 0, "the same as one JSON object on stdout (for scripts)"},
    {0},
};

const abc_cmd abc_info_cmd = {
    .name = "info",
    .what = "CPU and its features, threads, the kernel each family runs, float GEMM, switches, compiler, libdarknet",
    .opts = info_opts,
    .run = info_run,
};
