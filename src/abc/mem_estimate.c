#include "mem_estimate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* A key's whole-number value without marking it read (the checks that follow report bad ones). */
static double peek(const abc_section *s, const char *key, double def)
{
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, key)) {
            char *end;
            double v = strtod(s->kv[i]->val, &end);
            return end != s->kv[i]->val && v >= 0 ? v : def;
        }
    return def;
}

double abc_layer_bytes(const abc_section *s, const char *type, size_params p)
{
    double batch = p.batch > 0 ? p.batch : 1, in = p.inputs > 0 ? p.inputs : (double)p.h * p.w * p.c;
    int plugin = !strncmp(type, "abc_", 4) || !strncmp(type, "hada_", 5);
    int conv = strstr(type, "convolutional") != NULL, conn = strstr(type, "connected") != NULL;
    double bn = peek(s, "batch_normalize", 0) > 0 ? 2 : 0;
    /* plugin layers keep quantized copies of their weights and inputs beside the shadow weights */
    double wcopies = plugin ? 4 : 2, outputs, weights, workspace = 0;
    if (conv) {
        double n = peek(s, "filters", 1), k = peek(s, "size", 1), stride = peek(s, "stride", 1);
        double pad = peek(s, "pad", 0) > 0 ? floor(k / 2) : peek(s, "padding", 0); /* k unchecked yet: any size */
        if (stride < 1) stride = 1;
        double oh = (p.h + 2 * pad - k) / stride + 1, ow = (p.w + 2 * pad - k) / stride + 1;
        if (!strcmp(type, "deconvolutional")) {
            oh = (p.h - 1) * stride + k - 2 * pad;
            ow = (p.w - 1) * stride + k - 2 * pad;
        }
        if (oh < 1) oh = 1;
        if (ow < 1) ow = 1;
        outputs = oh * ow * n;
        weights = p.c * n * k * k;
        workspace = oh * ow * k * k * p.c;
    } else if (conn) {
        outputs = peek(s, "output", 1);
        weights = in * outputs;
    } else {
        outputs = in;
        weights = 0;
    }
    double floats = batch * outputs * (2 + bn + (plugin ? 2 : 0)) + wcopies * weights + workspace;
    return 4 * floats;
}

/* "MemTotal:       16314420 kB" */
static double meminfo_kb(const char *key)
{
    FILE *fp = fopen("/proc/meminfo", "r");
    if (!fp) return 0;
    char line[256];
    double v = 0;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, fp))
        if (!strncmp(line, key, n) && line[n] == ':') v = strtod(line + n + 1, NULL);
    fclose(fp);
    return v;
}

static double budget_cap;

void abc_memory_budget_cap(double bytes) { budget_cap = bytes; }

double abc_memory_budget(void)
{
    double b = 1024 * (meminfo_kb("MemTotal") + meminfo_kb("SwapTotal"));
    if (b <= 0) b = 1e300;
    if (budget_cap > 0 && budget_cap < b) b = budget_cap;
    struct rlimit r;
    int lim[] = {RLIMIT_AS, RLIMIT_DATA};
    for (int i = 0; i < 2; ++i)
        if (!getrlimit(lim[i], &r) && r.rlim_cur != RLIM_INFINITY && (double)r.rlim_cur < b) b = (double)r.rlim_cur;
    return b;
}
