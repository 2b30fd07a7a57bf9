/* [upsample] (stride s, not reverse): each input value times the layer's scale into its s x s block, as
 * libdarknet's forward writes it, with the planes split across the pool. Its backward stays libdarknet's. */
#include <string.h>

#include "base/darknet_private.h"
#include "float_layers.h"
#include "kernels/pool.h"

typedef struct {
    const layer *l;
    const float *in;
    int parts, planes;
} up_job;

static void task(void *ctx, int t, int thread)
{
    (void)thread;
    const up_job *j = ctx;
    const layer *l = j->l;
    int p0, p1, s = l->stride;
    abc_split_range(j->planes, j->parts, t, &p0, &p1);
    for (int p = p0; p < p1; ++p) {
        const float *in = j->in + (size_t)p * l->w * l->h;
        float *out = l->output + (size_t)p * l->out_w * l->out_h;
        for (int y = 0; y < l->h; ++y) {
            float *row = out + (size_t)y * s * l->out_w;
            for (int x = 0; x < l->w; ++x) {
                float v = l->scale * in[y * l->w + x];
                for (int k = 0; k < s; ++k) row[x * s + k] = v;
            }
            for (int k = 1; k < s; ++k) memcpy(row + (size_t)k * l->out_w, row, (size_t)l->out_w * sizeof *row);
        }
    }
}

void abc_upsample_fast_forward(layer l, network net)
{
    if (l.reverse) {
        forward_upsample_layer(l, net);
        return;
    }
    int threads = abc_pool_threads(), planes = l.batch * l.c;
    int parts = threads <= 1 || (long)l.outputs * l.batch < (1L << 15) ? 1 : (planes < 8 * threads ? planes : 8 * threads);
    up_job j = {&l, net.input, parts, planes};
    abc_pool_run(parts, task, &j);
}
