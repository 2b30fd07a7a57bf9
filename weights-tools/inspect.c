/* weights inspect: per layer its type, what it computes with (float, or the binary family and its kernel), its
 * shape, its bytes in the .weights file and packed, and for each parameter array min / max / mean and the NaN
 * and Inf it holds; the totals and the compression ratio. */
#include "inspect.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "abc/base/util.h"
#include "abc/netio.h"
#include "abc/packfile.h"
#include "abc/registry.h"
#include "json.h"

int abc_layer_arrays(const layer *l, abc_layer_array *out)
{
    int k = 0, weighted = l->type == CONVOLUTIONAL || l->type == CONNECTED || abc_registry_of(l);
    if (weighted && l->weights) out[k++] = (abc_layer_array){"weights", l->weights, l->nweights};
    int n = l->type == BATCHNORM ? l->out_c : l->n;
    if ((weighted || l->type == BATCHNORM) && l->biases) out[k++] = (abc_layer_array){"biases", l->biases, n};
    if ((l->batch_normalize || l->type == BATCHNORM) && l->scales) {
        out[k++] = (abc_layer_array){"scales", l->scales, n};
        out[k++] = (abc_layer_array){"rolling_mean", l->rolling_mean, n};
        out[k++] = (abc_layer_array){"rolling_variance", l->rolling_variance, n};
    }
    const abc_layer_type *t = abc_registry_of(l);
    if (t && t->arrays) k += t->arrays(l, out + k, ABC_LAYER_ARRAYS_MAX - k);
    return k;
}

abc_array_stats abc_stats_of(const float *v, int n)
{
    abc_array_stats s = {INFINITY, -INFINITY, 0, 0, 0};
    double sum = 0;
    int finite = 0;
    for (int i = 0; i < n; ++i) {
        if (isnan(v[i])) ++s.nan;
        else if (isinf(v[i])) ++s.inf;
        else {
            s.min = v[i] < s.min ? v[i] : s.min;
            s.max = v[i] > s.max ? v[i] : s.max;
            sum += v[i];
            ++finite;
        }
    }
    if (!finite) s.min = s.max = 0;
    s.mean = finite ? sum / finite : 0;
    return s;
}

void abc_check_finite(const network *net, const char *weights)
{
    for (int i = 0; i < net->n; ++i) {
        abc_layer_array a[ABC_LAYER_ARRAYS_MAX];
        int k = abc_layer_arrays(&net->layers[i], a);
        for (int j = 0; j < k; ++j) {
            abc_array_stats s = abc_stats_of(a[j].v, a[j].n);
            if (s.nan || s.inf)
                abc_die("weights file '%s': layer %d: %s holds %d NaN and %d infinite values", weights, i, a[j].name,
                        s.nan, s.inf);
        }
    }
}

static const char *type_name(const layer *l)
{
    const abc_layer_type *t = abc_registry_of(l);
    if (t) return t->name;
    return l->type == CONVOLUTIONAL ? "convolutional" : l->type == CONNECTED ? "connected" : "batchnorm";
}

int abc_weights_inspect(const char *cfg, const char *weights, int json)
{
    network *net = load_network((char *)cfg, (char *)weights, 0);
    int packfile = abc_packfile_is(weights); /* binary layers hold their quantized weights, not shadow ones */
    size_t disk = packfile ? 48 : 20, packed = 0, flt = 0;
    if (json) {
        printf("{\"cfg\": ");
        abc_json_string(stdout, cfg);
        printf(", \"weights\": ");
        abc_json_string(stdout, weights);
        printf(", \"seen\": %zu, \"layers\": [", *net->seen);
    } else {
        printf("%s + %s: %d layers, %zu images seen\n", cfg, weights, net->n, *net->seen);
    }
    int first = 1;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        abc_layer_array a[ABC_LAYER_ARRAYS_MAX];
        int k = abc_layer_arrays(l, a);
        if (!k) continue;
        size_t bytes = 4 * abc_layer_floats(l), pb = bytes, fb = bytes;
        char what[400] = "float";
        const abc_layer_type *t = abc_registry_of(l);
        if (t && t->describe) t->describe(l, what, sizeof what, &pb, &fb);
        if (packfile && t) {
            bytes = pb;
            if (t->quantized_weights) a[0] = (abc_layer_array){"quantized_weights", t->quantized_weights(l), l->nweights};
        }
        disk += bytes + (packfile ? 16 : 0), packed += pb, flt += fb;
        char shape[96];
        if (l->type == CONNECTED || (t && l->out_w == 1 && l->out_h == 1 && l->size == 0))
            snprintf(shape, sizeof shape, "%d -> %d", l->inputs, l->outputs);
        else
            snprintf(shape, sizeof shape, "%dx%dx%d -> %dx%dx%d (%dx%d/%d)", l->w, l->h, l->c, l->out_w, l->out_h,
                     l->out_c, l->size, l->size, l->stride);
        if (json) {
            printf("%s{\"layer\": %d, \"type\": ", first ? "" : ", ", i);
            abc_json_string(stdout, type_name(l));
            printf(", \"computes\": ");
            abc_json_string(stdout, what);
            printf(", \"shape\": ");
            abc_json_string(stdout, shape);
            printf(", \"bytes\": %zu, \"packed_bytes\": %zu, \"arrays\": [", bytes, pb);
        } else {
            printf("\nlayer %d %s %s: %zu bytes in the file, %zu packed\n  %s\n", i, type_name(l), shape, bytes, pb, what);
        }
        for (int j = 0; j < k; ++j) {
            abc_array_stats s = abc_stats_of(a[j].v, a[j].n);
            if (json) {
                printf("%s{\"name\": \"%s\", \"n\": %d, \"min\": %.6g, \"max\": %.6g, \"mean\": %.6g, \"nan\": %d, "
                       "\"inf\": %d}", j ? ", " : "", a[j].name, a[j].n, s.min, s.max, s.mean, s.nan, s.inf);
            } else {
                printf("  %-17s %8d values  min %11.4g  max %11.4g  mean %11.4g", a[j].name, a[j].n, s.min, s.max,
                       s.mean);
                if (s.nan || s.inf) printf("  NaN %d  Inf %d", s.nan, s.inf);
                printf("\n");
            }
        }
        if (json) printf("]}");
        first = 0;
    }
    struct stat sb;
    if (packfile && !stat(weights, &sb)) disk = (size_t)sb.st_size; /* float16 records are half what is counted */
    if (json)
        printf("], \"file_bytes\": %zu, \"packed_bytes\": %zu, \"float_bytes\": %zu, \"ratio\": %.3f}\n", disk, packed,
               flt, packed ? (double)flt / packed : 0);
    else
        printf("\ntotal: %zu bytes in the file; parameters %zu bytes packed, %zu as float (%.2fx smaller)\n", disk,
               packed, flt, packed ? (double)flt / packed : 0);
    free_network(net);
    return 0;
}
