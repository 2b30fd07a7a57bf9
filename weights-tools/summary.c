/* The binary-layer summary printed when a model with plugin layers loads. */
#include "summary.h"

#include <stdio.h>

#include "abc/netio.h"
#include "abc/registry.h"

static double kib(size_t b) { return b / 1024.0; }

void abc_model_bytes(const network *net, size_t *packed, size_t *flt)
{
    *packed = *flt = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        const abc_layer_type *t = abc_registry_of(l);
        size_t p, f;
        if (t && t->describe) {
            char line[320];
            t->describe(l, line, sizeof line, &p, &f);
        } else {
            p = f = abc_layer_floats(l) * sizeof(float);
        }
        *packed += p;
        *flt += f;
    }
}

double abc_model_bitops(const network *net, double *macs)
{
    double ops = 0, m_all = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        const abc_layer_type *t = abc_registry_of(l);
        double m;
        if (l->type == CONNECTED) m = (double)l->inputs * l->outputs;
        else if (l->type == CONVOLUTIONAL || t)
            m = (double)l->n * (l->c / (l->groups > 1 ? l->groups : 1)) * l->size * l->size * l->out_h * l->out_w;
        else continue;
        int wb = 32, ab = 32;
        if (t && t->bits) t->bits(l, &wb, &ab);
        ops += m * wb * ab;
        m_all += m;
    }
    if (macs) *macs = m_all;
    return ops;
}

int abc_print_model_summary(const network *net, FILE *out)
{
    int plugins = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        const abc_layer_type *t = abc_registry_of(l);
        if (!t || !t->describe) continue;
        char line[320];
        size_t p, f;
        t->describe(l, line, sizeof line, &p, &f);
        if (!plugins++) fprintf(out, "quantized layers:\n");
        fprintf(out, "  layer %3d %-18s %s; %.1f KiB (float %.1f KiB)\n", i, t->name, line, kib(p), kib(f));
    }
    size_t packed, flt;
    abc_model_bytes(net, &packed, &flt);
    if (plugins)
        fprintf(out, "model parameters: %.1f KiB with packed binary layers, %.1f KiB as a float model (%.2fx smaller)\n",
                kib(packed), kib(flt), packed ? (double)flt / packed : 0.0);
    return plugins;
}
