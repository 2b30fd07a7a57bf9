/* [batchnorm] (float_batchnorm.h): per-channel batch norm over the batch,
 * then scale and bias, with darknet's formulas (kernels/bn.h). Channels are
 * split across the pool; a task owns its channels over the whole batch. */
#include "float_batchnorm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "float_layers.h"
#include "kernels/bn.h"
#include "kernels/pool.h"

typedef struct {
    const layer *l;
    const network *net;
    int parts;
} bn_job;

static size_t at(const layer *l, int b, int f) { return ((size_t)b * l->out_c + f) * l->out_h * l->out_w; }

static void forward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    const layer *l = j->l;
    int f0, f1, S = l->out_h * l->out_w;
    abc_split_range(l->out_c, j->parts, task, &f0, &f1);
    for (int b = 0; b < l->batch; ++b)
        for (int f = f0; f < f1; ++f) memcpy(l->output + at(l, b, f), j->net->input + at(l, b, f), S * sizeof(float));
    if (j->net->train) {
        abc_bn_train_channels(l, f0, f1);
        return;
    }
    for (int f = f0; f < f1; ++f) {
        float k = l->scales[f] / (sqrtf(l->rolling_variance[f]) + .000001f);
        for (int b = 0; b < l->batch; ++b) {
            size_t i = at(l, b, f);
            abc_bn_infer_row(l->output + i, l->x + i, S, l->rolling_mean[f], k, l->biases[f], LINEAR);
        }
    }
}

static void backward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const bn_job *j = ctx;
    const layer *l = j->l;
    int f0, f1, S = l->out_h * l->out_w;
    abc_split_range(l->out_c, j->parts, task, &f0, &f1);
    abc_bn_backward_channels(l, j->net->train, f0, f1); /* l->delta becomes the input gradient */
    if (!j->net->delta) return;
    for (int b = 0; b < l->batch; ++b)
        for (int f = f0; f < f1; ++f) {
            const float *d = l->delta + at(l, b, f);
            float *nd = j->net->delta + at(l, b, f);
            for (int i = 0; i < S; ++i) nd[i] += d[i];
        }
}

static void run(layer *l, network *net, void (*fn)(void *, int, int))
{
    bn_job j = {l, net, abc_float_channel_parts(l->out_c, abc_pool_threads())};
    abc_pool_run(j.parts, fn, &j);
}

static void bn_forward(layer l, network net) { run(&l, &net, forward_task); }
static void bn_backward(layer l, network net) { run(&l, &net, backward_task); }

/* darknet's update of a conv layer's scales: SGD with momentum, no decay. The biases stay as loaded: a
 * .weights file holds a [batchnorm] layer's scales and rolling statistics but no biases, so biases trained
 * here would be lost at the first save. */
static void bn_update(layer l, update_args a)
{
    float lr = a.learning_rate * l.learning_rate_scale / a.batch;
    for (int f = 0; f < l.out_c; ++f) {
        l.bias_updates[f] = 0;
        l.scales[f] += lr * l.scale_updates[f];
        l.scale_updates[f] *= a.momentum;
    }
}

static void alloc_buffers(layer *l)
{
    size_t n = (size_t)l->batch * l->outputs;
    l->x = abc_xcalloc(n, sizeof(float));
    l->x_norm = abc_xcalloc(n, sizeof(float));
}

void abc_batchnorm_install(layer *l)
{
    l->activation = LINEAR; /* the row kernels apply l->activation; darknet's batchnorm has none */
    alloc_buffers(l);
    l->mean_delta = abc_xcalloc((size_t)l->out_c, sizeof(float));
    l->variance_delta = abc_xcalloc((size_t)l->out_c, sizeof(float));
    l->forward = bn_forward;
    l->backward = bn_backward;
    l->update = bn_update;
}

void abc_batchnorm_resize(layer *l, int w, int h)
{
    l->w = l->out_w = w;
    l->h = l->out_h = h;
    l->inputs = l->outputs = w * h * l->c;
    free(l->output);
    free(l->delta);
    free(l->x);
    free(l->x_norm);
    l->output = abc_xcalloc((size_t)l->batch * l->outputs, sizeof(float));
    l->delta = abc_xcalloc((size_t)l->batch * l->outputs, sizeof(float));
    alloc_buffers(l);
}
