/* Fast [connected] forward/backward: the outputs are split into ranges, one
 * pool task each. A task owns its output channels over the whole batch, so
 * its single-threaded sgemm, bias/batch norm and activation (and in the
 * backward pass the weight-gradient rows) need no other task. darknet's
 * formulas and layouts (kernels/bn.h); the input gradient is split by input
 * columns. */
#include <math.h>

#include "base/darknet_private.h"
#include "float_layers.h"
#include "kernels/act.h"
#include "kernels/bn.h"
#include "kernels/pool.h"
#include "kernels/sgemm.h"

int abc_connected_fast_supports(const layer *l)
{
    if (l->type != CONNECTED) return 0;
    if (l->batch_normalize && (!l->x || !l->x_norm || !l->scales || !l->rolling_mean)) return 0;
    return l->inputs > 0 && l->outputs > 0 && l->out_c == l->outputs && l->out_h == 1 && l->out_w == 1;
}

typedef struct {
    const layer *l;
    const network *net;
    int parts;
} fc_job;

/* Enough parts to use the threads, but not less than ~64k multiply-adds each. */
static int parts_for(long long macs, int dim, int threads)
{
    long long p = macs / 65536;
    if (p > threads) p = threads;
    if (p > dim) p = dim;
    return p < 1 ? 1 : (int)p;
}

/* The output channels [f0, f1) task `task` owns; 0 when it has none. */
static int output_range(const fc_job *j, int task, int *f0, int *f1)
{
    abc_split_range(j->l->outputs, j->parts, task, f0, f1);
    return *f1 > *f0;
}

static void forward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const fc_job *j = ctx;
    const layer *l = j->l;
    int f0, f1;
    if (!output_range(j, task, &f0, &f1)) return;
    /* out[:, f0:f1] = input (batch x inputs) * W[f0:f1, :]^T */
    (j->net->train ? abc_sgemm_train : abc_sgemm1)(0, 1, l->batch, f1 - f0, l->inputs, 1, j->net->input,
                                                   l->inputs, l->weights + (size_t)f0 * l->inputs, l->inputs, 0,
                                                   l->output + f0, l->outputs);
    if (l->batch_normalize && j->net->train) {
        abc_bn_train_channels(l, f0, f1);
    } else {
        for (int b = 0; b < l->batch; ++b) {
            float *o = l->output + (size_t)b * l->outputs, *x = l->x ? l->x + (size_t)b * l->outputs : NULL;
            for (int f = f0; f < f1; ++f) {
                if (!l->batch_normalize) {
                    o[f] += l->biases[f];
                    continue;
                }
                float k = l->scales[f] / (sqrtf(l->rolling_variance[f]) + .000001f);
                x[f] = o[f];
                o[f] = (o[f] - l->rolling_mean[f]) * k + l->biases[f];
            }
            abc_act_row(o + f0, f1 - f0, l->activation);
        }
    }
}

void abc_connected_fast_forward(layer l, network net)
{
    abc_sgemm_serial_mode();
    fc_job j = {&l, &net, parts_for((long long)l.batch * l.inputs * l.outputs, l.outputs, abc_pool_threads())};
    abc_pool_run(j.parts, forward_task, &j);
}

static void backward_task(void *ctx, int task, int thread)
{
    (void)thread;
    const fc_job *j = ctx;
    const layer *l = j->l;
    int f0, f1;
    if (!output_range(j, task, &f0, &f1)) return;
    if (l->batch_normalize) abc_bn_backward_channels(l, j->net->train, f0, f1);
    else abc_bias_backward_channels(l, f0, f1);
    /* dW[f0:f1, :] += delta[:, f0:f1]^T * input */
    abc_sgemm_train(1, 0, f1 - f0, l->inputs, l->batch, 1, l->delta + f0, l->outputs, j->net->input, l->inputs, 1,
               l->weight_updates + (size_t)f0 * l->inputs, l->inputs);
}

static void input_grad_task(void *ctx, int task, int thread)
{
    (void)thread;
    const fc_job *j = ctx;
    const layer *l = j->l;
    int c0, c1;
    abc_split_range(l->inputs, j->parts, task, &c0, &c1);
    if (c1 <= c0) return;
    /* net.delta[:, c0:c1] += delta (batch x outputs) * W[:, c0:c1] */
    abc_sgemm_train(0, 0, l->batch, c1 - c0, l->outputs, 1, l->delta, l->outputs, l->weights + c0, l->inputs, 1,
               j->net->delta + c0, l->inputs);
}

void abc_connected_fast_backward(layer l, network net)
{
    abc_sgemm_serial_mode();
    int threads = abc_pool_threads();
    long long macs = (long long)l.batch * l.inputs * l.outputs;
    fc_job j = {&l, &net, parts_for(macs, l.outputs, threads)};
    abc_pool_run(j.parts, backward_task, &j);
    if (net.delta) {
        j.parts = parts_for(macs, l.inputs, threads);
        abc_pool_run(j.parts, input_grad_task, &j);
    }
}
