/* [shortcut] between tensors of one shape (a ResNet's identity shortcut): libdarknet's sums, activation and
 * gradients element for element, in slices across the pool (libdarknet's run on one thread, its activation a
 * function call per value). Other shapes keep libdarknet's own. */
#include "base/darknet_private.h"
#include "float_layers.h"
#include "kernels/act.h"
#include "kernels/pool.h"

enum { SLICE = 1 << 14 };

typedef struct {
    const layer *l;
    const network *net;
    size_t total;
} sc_job;

static int same_shape(const layer *l) { return l->w == l->out_w && l->h == l->out_h && l->c == l->out_c; }

static int slices(size_t total) { return (int)((total + SLICE - 1) / SLICE); }

static void forward_task(void *ctx, int t, int thread)
{
    (void)thread;
    const sc_job *j = ctx;
    const layer *l = j->l;
    size_t lo = (size_t)t * SLICE, hi = lo + SLICE < j->total ? lo + SLICE : j->total;
    const float *in = j->net->input, *add = j->net->layers[l->index].output;
    float *out = l->output;
    for (size_t i = lo; i < hi; ++i) out[i] = l->alpha * in[i] + l->beta * add[i];
    abc_act_row(out + lo, (int)(hi - lo), l->activation);
}

static void backward_task(void *ctx, int t, int thread)
{
    (void)thread;
    const sc_job *j = ctx;
    const layer *l = j->l;
    size_t lo = (size_t)t * SLICE, hi = lo + SLICE < j->total ? lo + SLICE : j->total;
    float *d = l->delta, *to_add = j->net->layers[l->index].delta, *to_in = j->net->delta;
    abc_grad_row(l->output + lo, (int)(hi - lo), l->activation, d + lo);
    if (to_in)
        for (size_t i = lo; i < hi; ++i) to_in[i] += l->alpha * d[i];
    for (size_t i = lo; i < hi; ++i) to_add[i] = to_add[i] + l->beta * d[i];
}

/* The slices across the pool where the shapes match, libdarknet's own pass where they do not. */
static void run(layer l, network net, void (*task)(void *, int, int), void (*stock)(layer, network))
{
    if (!same_shape(&l)) {
        stock(l, net);
        return;
    }
    sc_job j = {&l, &net, (size_t)l.outputs * l.batch};
    abc_pool_run(slices(j.total), task, &j);
}

void abc_shortcut_fast_forward(layer l, network net) { run(l, net, forward_task, forward_shortcut_layer); }

void abc_shortcut_fast_backward(layer l, network net) { run(l, net, backward_task, backward_shortcut_layer); }
