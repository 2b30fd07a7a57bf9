/* [yolo] at inference: libdarknet's forward (the input copied, then the logistic of x, y, objectness and the
 * class scores of every anchor) with the planes split across the pool, and without clearing the gradient
 * buffer that only training reads. The logistic is libdarknet's own arithmetic, 1 / (1 + exp(-x)) in double
 * with glibc's exp, so the outputs are the same bits. Training keeps libdarknet's forward (it computes the
 * loss and the gradients). */
#include <math.h>
#include <string.h>

#include "base/darknet_private.h"
#include "float_layers.h"
#include "kernels/pool.h"

typedef struct {
    const layer *l;
    const float *in;
    int parts, planes; /* planes: batch x anchors x (5 + classes), each w x h */
} yolo_job;

static void task(void *ctx, int t, int thread)
{
    (void)thread;
    const yolo_job *j = ctx;
    const layer *l = j->l;
    int p0, p1, per = 5 + l->classes, wh = l->w * l->h;
    abc_split_range(j->planes, j->parts, t, &p0, &p1);
    for (int p = p0; p < p1; ++p) {
        const float *in = j->in + (size_t)p * wh;
        float *out = l->output + (size_t)p * wh;
        int e = p % per; /* 0, 1: x, y; 2, 3: w, h (kept); 4: objectness; then the classes */
        if (e == 2 || e == 3) {
            memcpy(out, in, (size_t)wh * sizeof *out);
            continue;
        }
        for (int i = 0; i < wh; ++i) out[i] = (float)(1. / (1. + exp((double)-in[i])));
    }
}

void abc_yolo_fast_forward(layer l, network net)
{
    if (net.train) {
        forward_yolo_layer(l, net);
        return;
    }
    int threads = abc_pool_threads(), planes = l.batch * l.n * (5 + l.classes);
    /* small heads on one thread: waking the pool costs more than they do */
    int parts = threads <= 1 || (long)planes * l.w * l.h < 4096 ? 1 : (planes < 4 * threads ? planes : 4 * threads);
    yolo_job j = {&l, net.input, parts, planes};
    abc_pool_run(parts, task, &j);
}
