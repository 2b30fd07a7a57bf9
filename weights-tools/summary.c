/* The binary-layer summary printed when a model with plugin layers loads. */
#include "summary.h"

#include <stdio.h>

#include "abc/netio.h"
#include "abc/registry.h"

static double kib(size_t b) { return b / 1024.0; }

int abc_print_model_summary(const network *net, FILE *out)
{
    size_t packed = 0, flt = 0;
    int plugins = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        const abc_layer_type *t = abc_registry_of(l);
        if (!t || !t->describe) {
            size_t b = abc_layer_floats(l) * sizeof(float);
            packed += b;
            flt += b;
            continue;
        }
        char line[320];
        size_t p, f;
        t->describe(l, line, sizeof line, &p, &f);
        if (!plugins++) fprintf(out, "binary layers:\n");
        fprintf(out, "  layer %3d %-18s %s; %.1f KiB (float %.1f KiB)\n", i, t->name, line, kib(p), kib(f));
        packed += p;
        flt += f;
    }
    if (plugins)
        fprintf(out, "model parameters: %.1f KiB with packed binary layers, %.1f KiB as a float model (%.2fx smaller)\n",
                kib(packed), kib(flt), packed ? (double)flt / packed : 0.0);
    return plugins;
}
