/* Helpers to reach libdarknet's own functions and compare networks. */
#include "test_stock.h"

#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *stock_sym(const char *name)
{
    /* RTLD_NEXT from the test executable (which defines the hooks) finds
     * the next definition in lookup order: libdarknet.so's own. */
    void *f = dlsym(RTLD_NEXT, name);
    ck_assert_msg(f != NULL, "dlsym(RTLD_NEXT, %s) failed", name);
    void *ours = dlsym(RTLD_DEFAULT, name);
    ck_assert_msg(f != ours, "RTLD_NEXT %s is the hook itself", name);
    return f;
}

network *abc_test_stock_parse(const char *cfg)
{
    network *(*f)(char *) = (network * (*)(char *)) stock_sym("parse_network_cfg");
    return f((char *)cfg);
}

void abc_test_stock_load(network *net, const char *weights, int start, int cutoff)
{
    void (*f)(network *, char *, int, int) = (void (*)(network *, char *, int, int))stock_sym("load_weights_upto");
    f(net, (char *)weights, start, cutoff);
}

void abc_test_stock_save(network *net, const char *weights, int cutoff)
{
    void (*f)(network *, char *, int) = (void (*)(network *, char *, int))stock_sym("save_weights_upto");
    f(net, (char *)weights, cutoff);
}

static int conv_params(const layer *l, abc_test_param *o)
{
    int k = 0;
    o[k++] = (abc_test_param){l->biases, (size_t)l->n, 'b', 0};
    if (l->batch_normalize) {
        o[k++] = (abc_test_param){l->scales, (size_t)l->n, 's', 0};
        o[k++] = (abc_test_param){l->rolling_mean, (size_t)l->n, 'm', 0};
        o[k++] = (abc_test_param){l->rolling_variance, (size_t)l->n, 'v', 0};
    }
    o[k++] = (abc_test_param){l->weights, (size_t)l->nweights, 'w', l->c / l->groups * l->size * l->size};
    return k;
}

static int conn_params(const layer *l, abc_test_param *o)
{
    int k = 0;
    o[k++] = (abc_test_param){l->biases, (size_t)l->outputs, 'b', 0};
    o[k++] = (abc_test_param){l->weights, (size_t)l->outputs * l->inputs, 'w', l->inputs};
    if (l->batch_normalize) {
        o[k++] = (abc_test_param){l->scales, (size_t)l->outputs, 's', 0};
        o[k++] = (abc_test_param){l->rolling_mean, (size_t)l->outputs, 'm', 0};
        o[k++] = (abc_test_param){l->rolling_variance, (size_t)l->outputs, 'v', 0};
    }
    return k;
}

int abc_test_layer_params(const layer *l, abc_test_param *out, int max)
{
    abc_test_param tmp[64];
    int k = 0;
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: k = conv_params(l, tmp); break;
    case CONNECTED: k = conn_params(l, tmp); break;
    case BATCHNORM:
        tmp[k++] = (abc_test_param){l->scales, (size_t)l->c, 's', 0};
        tmp[k++] = (abc_test_param){l->rolling_mean, (size_t)l->c, 'm', 0};
        tmp[k++] = (abc_test_param){l->rolling_variance, (size_t)l->c, 'v', 0};
        break;
    case LOCAL:
        tmp[k++] = (abc_test_param){l->biases, (size_t)l->outputs, 'b', 0};
        tmp[k++] = (abc_test_param){l->weights, (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, 'w',
                                    l->size * l->size * l->c};
        break;
    case CRNN:
        k += conv_params(l->input_layer, tmp + k);
        k += conv_params(l->self_layer, tmp + k);
        k += conv_params(l->output_layer, tmp + k);
        break;
    case RNN:
        k += conn_params(l->input_layer, tmp + k);
        k += conn_params(l->self_layer, tmp + k);
        k += conn_params(l->output_layer, tmp + k);
        break;
    case GRU: {
        layer *g[] = {l->wz, l->wr, l->wh, l->uz, l->ur, l->uh};
        for (int i = 0; i < 6; ++i) k += conn_params(g[i], tmp + k);
        break;
    }
    case LSTM: {
        layer *g[] = {l->wi, l->wf, l->wo, l->wg, l->ui, l->uf, l->uo, l->ug};
        for (int i = 0; i < 8; ++i) k += conn_params(g[i], tmp + k);
        break;
    }
    default: break;
    }
    ck_assert_int_le(k, max);
    memcpy(out, tmp, (size_t)k * sizeof *tmp);
    return k;
}

/* xorshift32 in [0,1) */
static float next_uniform(unsigned *s)
{
    unsigned x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return (float)((x >> 8) * (1.0 / 16777216.0));
}

void abc_test_fill_params(network *net, unsigned seed)
{
    unsigned s = seed * 2654435761u + 1;
    for (int i = 0; i < net->n; ++i) {
        abc_test_param p[64];
        int k = abc_test_layer_params(&net->layers[i], p, 64);
        for (int j = 0; j < k; ++j) {
            float scale = p[j].kind == 'w' ? sqrtf(3.f / (float)(p[j].fan_in > 0 ? p[j].fan_in : 1)) : 0.1f;
            for (size_t e = 0; e < p[j].n; ++e) {
                float u = 2.f * next_uniform(&s) - 1.f;
                switch (p[j].kind) {
                case 's':
                case 'v': p[j].p[e] = 1.f + 0.5f * u; break;
                default: p[j].p[e] = scale * u; break;
                }
            }
        }
    }
}

int abc_test_same_params(const network *a, const network *b, char *why, size_t n)
{
    if (a->n != b->n) { snprintf(why, n, "layer counts %d != %d", a->n, b->n); return 0; }
    for (int i = 0; i < a->n; ++i) {
        abc_test_param pa[64], pb[64];
        int ka = abc_test_layer_params(&a->layers[i], pa, 64), kb = abc_test_layer_params(&b->layers[i], pb, 64);
        if (ka != kb) { snprintf(why, n, "layer %d: %d arrays != %d", i, ka, kb); return 0; }
        for (int j = 0; j < ka; ++j) {
            if (pa[j].n != pb[j].n || pa[j].kind != pb[j].kind) {
                snprintf(why, n, "layer %d array %d: %zu %c != %zu %c", i, j, pa[j].n, pa[j].kind, pb[j].n, pb[j].kind);
                return 0;
            }
            if (memcmp(pa[j].p, pb[j].p, pa[j].n * sizeof(float))) {
                size_t e = 0;
                while (!memcmp(pa[j].p + e, pb[j].p + e, sizeof(float))) ++e;
                snprintf(why, n, "layer %d array %d (%c) element %zu: %.9g != %.9g", i, j, pa[j].kind, e,
                         pa[j].p[e], pb[j].p[e]);
                return 0;
            }
        }
    }
    return 1;
}

double abc_test_max_rel_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; ++i) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        if (isnan(d) || isnan(a[i]) != isnan(b[i])) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

double abc_test_max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; ++i) {
        double d = fabs((double)a[i] - b[i]);
        if (isnan(d)) return INFINITY;
        if (d > m) m = d;
    }
    return m;
}

unsigned char *abc_test_read_file(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 1 << 16, len = 0, got;
    unsigned char *buf = malloc(cap);
    while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(fp);
    *n = len;
    return buf;
}
