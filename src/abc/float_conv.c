/* Fast [convolutional] forward/backward: per image (or per block of output
 * rows when the batch is smaller than the thread count) a row-wise im2col
 * into per-thread scratch and one single-threaded OpenBLAS sgemm, tasks
 * spread over the project's pool; bias/batch norm/activation fused or run
 * per channel range. darknet's formulas and layouts (see kernels/bn.h). */
#include <string.h>

#include "dn_private.h"
#include "float_layers.h"
#include "kernels/arena.h"
#include "kernels/bn.h"
#include "kernels/im2col.h"
#include "kernels/pool.h"
#include "kernels/sgemm.h"

enum { SLOT_COL = 0, SLOT_DW = 1 };

int abc_conv_fast_supports(const layer *l)
{
    if (l->type != CONVOLUTIONAL || l->groups != 1 || l->binary || l->xnor) return 0;
    if (l->size == 1 && (l->stride != 1 || l->pad != 0)) return 0; /* darknet's own 1x1 shortcut differs */
    if (l->batch_normalize && (!l->x || !l->x_norm || !l->scales || !l->rolling_mean)) return 0;
    return l->size >= 1 && l->stride >= 1 && l->out_w > 0 && l->out_h > 0;
}

int abc_float_parts_per_image(int batch, int threads, int max_parts)
{
    if (threads <= 1 || batch >= 2 * threads) return 1;
    int parts = (2 * threads + batch - 1) / batch;
    return parts > max_parts ? max_parts : parts;
}

int abc_float_channel_parts(int channels, int threads)
{
    int parts = threads <= 1 ? 1 : 4 * threads;
    return parts > channels ? channels : parts;
}

/* 1x1, stride 1, no padding: the input image is the column matrix. */
static int direct(const layer *l) { return l->size == 1; }

typedef struct {
    const layer *l;
    const network *net;
    int parts; /* tasks per image */
    int m, k, n;
    char used[256]; /* thread wrote its partial weight gradient */
} conv_job;

static float *col_rows(const conv_job *j, int b, int r0, int r1, int thread, int *ldb)
{
    const layer *l = j->l;
    const float *im = j->net->input + (size_t)b * l->c * l->h * l->w;
    if (direct(l)) {
        *ldb = j->n;
        return (float *)im + (size_t)r0 * l->out_w;
    }
    int cols = (r1 - r0) * l->out_w;
    float *col = abc_arena_floats(thread, SLOT_COL, (size_t)j->k * cols);
    abc_im2col(im, l->c, l->h, l->w, l->size, l->stride, l->pad, l->out_w, r0, r1, col);
    *ldb = cols;
    return col;
}

static void forward_task(void *ctx, int task, int thread)
{
    const conv_job *j = ctx;
    const layer *l = j->l;
    int b = task / j->parts, r0, r1;
    abc_split_range(l->out_h, j->parts, task % j->parts, &r0, &r1);
    if (r1 <= r0) return;
    int ldb;
    const float *col = col_rows(j, b, r0, r1, thread, &ldb);
    int s0 = r0 * l->out_w, s1 = r1 * l->out_w;
    float *out = l->output + (size_t)b * l->outputs + s0;
    abc_sgemm1(0, 0, j->m, s1 - s0, j->k, 1, l->weights, j->k, col, ldb, 0, out, j->n);
    if (!l->batch_normalize) abc_bias_act_block(l, b, 0, l->n, s0, s1);
    else if (!j->net->train) abc_bn_infer_block(l, b, 0, l->n, s0, s1);
}

static void bn_train_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    int f0, f1;
    abc_split_range(j->l->n, j->parts, task, &f0, &f1);
    abc_bn_train_channels(j->l, f0, f1);
}

static conv_job make_job(const layer *l, const network *net)
{
    conv_job j;
    memset(&j, 0, sizeof j);
    j.l = l;
    j.net = net;
    j.m = l->n;
    j.k = l->size * l->size * l->c;
    j.n = l->out_h * l->out_w;
    return j;
}

void abc_conv_fast_forward(layer l, network net)
{
    abc_sgemm_serial_mode();
    int threads = abc_pool_threads();
    conv_job j = make_job(&l, &net);
    j.parts = abc_float_parts_per_image(l.batch, threads, l.out_h);
    abc_pool_run(l.batch * j.parts, forward_task, &j);
    if (l.batch_normalize && net.train) {
        j.parts = abc_float_channel_parts(l.n, threads);
        abc_pool_run(j.parts, bn_train_task, &j);
    }
}

static void grad_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    int f0, f1;
    abc_split_range(j->l->out_c, j->parts, task, &f0, &f1);
    if (j->l->batch_normalize) abc_bn_backward_channels(j->l, j->net->train, f0, f1);
    else abc_bias_backward_channels(j->l, f0, f1);
}

/* Thread 0 adds into l->weight_updates itself; the others into partial sums. */
static void weight_grad_task(void *ctx, int task, int thread)
{
    conv_job *j = ctx;
    const layer *l = j->l;
    int b = task / j->parts, r0, r1;
    abc_split_range(l->out_h, j->parts, task % j->parts, &r0, &r1);
    if (r1 <= r0) return;
    int ldb;
    const float *col = col_rows(j, b, r0, r1, thread, &ldb);
    int s0 = r0 * l->out_w, s1 = r1 * l->out_w;
    const float *delta = l->delta + (size_t)b * l->outputs + s0;
    float *dw = l->weight_updates;
    float beta = 1;
    if (thread > 0) {
        dw = abc_arena_floats(thread, SLOT_DW, (size_t)l->nweights);
        if (!j->used[thread]) beta = 0;
        j->used[thread] = 1;
    }
    /* dW (m x k) += delta (m x cols) * col^T (cols x k) */
    abc_sgemm1(0, 1, j->m, j->k, s1 - s0, 1, delta, j->n, col, ldb, beta, dw, j->k);
}

static void reduce_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    int lo, hi;
    abc_split_range(j->l->nweights, j->parts, task, &lo, &hi);
    float *dw = j->l->weight_updates;
    for (int t = 1; t < 256; ++t) {
        if (!j->used[t]) continue;
        const float *p = abc_arena_floats(t, SLOT_DW, (size_t)j->l->nweights);
        for (int i = lo; i < hi; ++i) dw[i] += p[i];
    }
}

/* net.delta of image b, channels [c0, c1): darknet adds col2im(W^T delta)
 * into it, or for 1x1 kernels overwrites it with W^T delta. */
static void input_grad_task(void *ctx, int task, int thread)
{
    const conv_job *j = ctx;
    const layer *l = j->l;
    int b = task / j->parts, c0, c1;
    abc_split_range(l->c, j->parts, task % j->parts, &c0, &c1);
    if (c1 <= c0) return;
    int kk = l->size * l->size, hw = l->h * l->w;
    const float *delta = l->delta + (size_t)b * l->outputs;
    float *imd = j->net->delta + (size_t)b * l->c * hw + (size_t)c0 * hw;
    const float *w = l->weights + (size_t)c0 * kk; /* columns c0*kk.. of W (m x k) */
    int rows = (c1 - c0) * kk;
    if (direct(l)) {
        abc_sgemm1(1, 0, rows, j->n, j->m, 1, w, j->k, delta, j->n, 0, imd, j->n);
        return;
    }
    float *col = abc_arena_floats(thread, SLOT_COL, (size_t)rows * j->n);
    abc_sgemm1(1, 0, rows, j->n, j->m, 1, w, j->k, delta, j->n, 0, col, j->n);
    abc_col2im_add(col, c1 - c0, l->h, l->w, l->size, l->stride, l->pad, l->out_h, l->out_w, imd);
}

void abc_conv_fast_backward(layer l, network net)
{
    abc_sgemm_serial_mode();
    int threads = abc_pool_threads();
    conv_job j = make_job(&l, &net);

    j.parts = abc_float_channel_parts(l.n, threads);
    abc_pool_run(j.parts, grad_task, &j);

    j.parts = abc_float_parts_per_image(l.batch, threads, l.out_h);
    abc_pool_run(l.batch * j.parts, weight_grad_task, &j);
    int any = 0;
    for (int t = 1; t < 256; ++t) any |= j.used[t];
    if (any) {
        j.parts = threads < l.nweights ? threads : 1;
        abc_pool_run(j.parts, reduce_task, &j);
    }

    if (net.delta) {
        j.parts = abc_float_parts_per_image(l.batch, threads, l.c);
        abc_pool_run(l.batch * j.parts, input_grad_task, &j);
    }
}
