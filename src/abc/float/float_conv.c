/* Fast [convolutional] forward/backward. Each pool task takes one image (or,
 * when the batch is smaller than twice the thread count, a block of output
 * rows / input channels of one image): row-wise im2col into per-thread
 * scratch, one single-threaded OpenBLAS sgemm, and the bias / batch norm /
 * activation steps on that image's rows while they are in cache. Batch-norm
 * statistics are summed per image and combined per channel between passes.
 * Training in bf16, the products of the whole batch run on oneDNN where it has
 * a kernel for the shape (kernels/conv_dnnl.h) and the tasks do the rest.
 * darknet's formulas and layouts (see kernels/bn.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

#include "base/darknet_private.h"
#include "float_layers.h"
#include "kernels/arena.h"
#include "kernels/bn.h"
#include "kernels/conv_dnnl.h"
#include "kernels/conv_direct.h"
#include "kernels/im2col.h"
#include "kernels/pool.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_avx512.h"

/* per-thread scratch slots, used only inside pool tasks (one job at a time) */
enum { SLOT_COL = 0, SLOT_DW = 1 };
enum { MAX_THREADS = 256 };

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
    int parts; /* tasks per image (or channel ranges) */
    int m, k, n;
    double *stats; /* per image and channel: forward 2 sums, backward 3 */
    float *coef;   /* per channel: forward inv; backward k, kx, k0, mean */
    float *bn_k;   /* inference with batch norm: per channel scale / (sqrt(rolling variance) + 1e-6) */
    float *wt;     /* forward by the direct kernel (few input channels): its weights; NULL: im2col + GEMM */
    abc_direct_out *out; /* the direct kernel's output stage (inference, or no batch norm); NULL: the rows' own */
    const float *col; /* filters_task: the image's column matrix */
    int chunk_rows;   /* forward: output rows a step (0: the task's rows at once) */
    char used[MAX_THREADS]; /* slot wrote its partial weight gradient */
    void (*slot_fn)(void *ctx, int task, int thread, int slot);
    int slot_tasks, slots;
    int group; /* > 1: the weight gradient of this many images at a time (bf16: weight_grad_images) */
    int dnnl;  /* the products of the whole batch run on oneDNN (bf16 training): the tasks skip theirs */
} conv_job;

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

static float *row(const layer *l, float *base, int b, int f) { return base + (size_t)b * l->outputs + (size_t)f * l->out_h * l->out_w; }

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

/* Training in bf16 where oneDNN has a fast kernel for the layer: its products run there, a whole batch at
 * once; the rows' own steps (bias, batch norm, activation and their gradients) stay here. */
static int on_dnnl(const layer *l, const network *net, abc_conv_geom *g)
{
    if (!net->train || !abc_sgemm_train_bf16()) return 0;
    *g = (abc_conv_geom){l->batch, l->c, l->h, l->w, l->n, l->size, l->stride, l->pad, l->out_h, l->out_w};
    return abc_dnnl_conv_usable(g);
}

/* ---------------- forward ---------------- */

/* Output rows [r0, r1) of image b, then their bias / batch norm / activation. */
static void forward_rows(const conv_job *j, int b, int r0, int r1, int thread)
{
    const layer *l = j->l;
    int s0 = r0 * l->out_w, len = (r1 - r0) * l->out_w;
    if (j->wt) {
        float *scratch = abc_arena_floats(thread, SLOT_COL, abc_conv_direct_scratch(l->c, l->n, l->size, l->w, l->pad));
        abc_conv_direct_rows(j->net->input + (size_t)b * l->c * l->h * l->w, l->c, l->h, l->w, j->wt, l->n, l->size,
                             l->pad, l->out_h, r0, r1, l->output + (size_t)b * l->outputs, scratch, j->out);
        if (j->out) return;
    } else if (!j->dnnl) {
        int ldb;
        const float *col = col_rows(j, b, r0, r1, thread, &ldb);
        (j->net->train ? abc_sgemm_train : abc_sgemm1)(0, 0, j->m, len, j->k, 1, l->weights, j->k, col, ldb, 0,
                                                       l->output + (size_t)b * l->outputs + s0, j->n);
    }
    for (int f = 0; f < l->n; ++f) {
        float *o = row(l, l->output, b, f) + s0;
        if (!l->batch_normalize) {
            abc_bias_act_row(o, len, l->biases[f], l->activation);
        } else if (!j->net->train) {
            abc_bn_infer_row(o, NULL, len, l->rolling_mean[f], j->bn_k[f], l->biases[f], l->activation);
        } else if (j->stats) { /* whole image: its share of the batch statistics */
            double *s = j->stats + ((size_t)b * l->n + f) * 2;
            s[0] = s[1] = 0;
            abc_row_sums(o, len, s);
        }
    }
}

static void forward_task(void *ctx, int task, int thread)
{
    const conv_job *j = ctx;
    int b = task / j->parts, r0, r1;
    abc_split_range(j->l->out_h, j->parts, task % j->parts, &r0, &r1);
    int step = j->chunk_rows > 0 ? j->chunk_rows : r1 - r0;
    for (int r = r0; r < r1; r += step) forward_rows(j, b, r, r + step < r1 ? r + step : r1, thread);
}

/* Inference: rows in chunks whose output stays in L2 between the product and its bias / batch norm /
 * activation (a whole 416x416x16 image is 11 MB). Not where the weights are large: each chunk streams them all. */
static int chunk_rows(const layer *l, int wt)
{
    enum { OUT_BYTES = 128 << 10, MAX_WEIGHT_BYTES = 256 << 10 };
    size_t row_bytes = sizeof(float) * (size_t)l->n * l->out_w;
    if (!wt && sizeof(float) * (size_t)l->nweights > MAX_WEIGHT_BYTES) return 0;
    int rows = (int)(OUT_BYTES / row_bytes);
    return rows < 1 ? 1 : rows;
}

/* Inference at batch 1 of a layer whose weights outweigh its image (13x13x512 -> 1024: 18.9 MB of weights, a
 * 3 MB column matrix): split by filters, so that each thread streams its share of the weights once (split by
 * rows, every task would stream all of them). j->col: the whole image's column matrix. */
static void filters_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const layer *l = j->l;
    int f0, f1;
    abc_split_range(l->n, j->parts, task, &f0, &f1);
    if (f1 <= f0) return;
    abc_sgemm1(0, 0, f1 - f0, j->n, j->k, 1, l->weights + (size_t)f0 * j->k, j->k, j->col, j->n, 0,
               l->output + (size_t)f0 * j->n, j->n);
    for (int f = f0; f < f1; ++f) {
        float *o = l->output + (size_t)f * j->n;
        if (!l->batch_normalize) {
            abc_bias_act_row(o, j->n, l->biases[f], l->activation);
        } else {
            abc_bn_infer_row(o, NULL, j->n, l->rolling_mean[f], j->bn_k[f], l->biases[f], l->activation);
        }
    }
}

static void bn_train_image_task(void *ctx, int b, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const layer *l = j->l;
    for (int f = 0; f < l->n; ++f)
        abc_bn_train_row(row(l, l->output, b, f), row(l, l->x, b, f), row(l, l->x_norm, b, f), j->n, l->mean[f],
                         j->coef[f], l->scales[f], l->biases[f], l->activation);
}

static void bn_train_channels_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    int f0, f1;
    abc_split_range(j->l->n, j->parts, task, &f0, &f1);
    abc_bn_train_channels(j->l, f0, f1);
}

void abc_conv_fast_forward(layer l, network net)
{
    abc_sgemm_serial_mode();
    int threads = abc_pool_threads();
    conv_job j = make_job(&l, &net);
    j.parts = abc_float_parts_per_image(l.batch, threads, l.out_h);
    int bn_train = l.batch_normalize && net.train;
    if (bn_train && j.parts == 1) j.stats = abc_xmalloc((size_t)l.batch * l.n * 2 * sizeof(double));
    if (l.batch_normalize && !net.train) { /* once a forward, not once a chunk of rows */
        j.bn_k = abc_xmalloc((size_t)l.n * sizeof(float));
        for (int f = 0; f < l.n; ++f) j.bn_k[f] = l.scales[f] / (sqrtf(l.rolling_variance[f]) + .000001f);
    }
    abc_direct_out out = {j.bn_k ? l.rolling_mean : NULL, j.bn_k, l.biases, l.activation};
    abc_conv_geom g;
    if (on_dnnl(&l, &net, &g)) {
        abc_dnnl_conv_forward(&g, net.input, l.weights, l.output);
        j.dnnl = 1;
    } else if (abc_conv_direct_suits(l.c, l.size, l.stride)) {
        j.wt = abc_xmalloc(abc_conv_direct_weights_floats(l.n, l.c, l.size) * sizeof(float));
        abc_conv_direct_weights(l.weights, l.n, l.c, l.size, j.wt);
        if (!bn_train) j.out = &out;
    } else if (!net.train && l.batch == 1 && threads > 1 && l.n >= 16 * threads && j.m > j.n) {
        if (direct(&l)) {
            j.col = net.input;
        } else {
            float *col = abc_arena_floats(0, SLOT_COL, (size_t)j.k * j.n); /* the caller is the pool's thread 0 */
            abc_im2col(net.input, l.c, l.h, l.w, l.size, l.stride, l.pad, l.out_w, 0, l.out_h, col);
            j.col = col;
        }
        j.parts = abc_float_channel_parts(l.n, threads);
        abc_pool_run(j.parts, filters_task, &j);
        free(j.bn_k);
        return;
    }
    if (!net.train) j.chunk_rows = chunk_rows(&l, j.wt != NULL);
    abc_pool_run(l.batch * j.parts, forward_task, &j);
    free(j.wt);
    free(j.bn_k);
    if (!bn_train) return;
    if (j.stats) {
        j.coef = abc_xmalloc((size_t)l.n * sizeof(float));
        for (int f = 0; f < l.n; ++f) {
            double s[2] = {0, 0};
            for (int b = 0; b < l.batch; ++b) {
                s[0] += j.stats[((size_t)b * l.n + f) * 2];
                s[1] += j.stats[((size_t)b * l.n + f) * 2 + 1];
            }
            j.coef[f] = abc_bn_stats(&l, f, s, (double)j.n * l.batch);
        }
        abc_pool_run(l.batch, bn_train_image_task, &j);
        free(j.stats);
        free(j.coef);
    } else {
        j.parts = abc_float_channel_parts(l.n, threads);
        abc_pool_run(j.parts, bn_train_channels_task, &j);
    }
}

/* ---------------- backward ---------------- */

/* Batch norm, whole images: activation gradient and this image's sums. */
static void bn_grad_sums_task(void *ctx, int b, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    const layer *l = j->l;
    const float *means = j->net->train ? l->mean : l->rolling_mean;
    for (int f = 0; f < l->n; ++f) {
        double *s = j->stats + ((size_t)b * l->n + f) * 3;
        s[0] = s[1] = s[2] = 0;
        abc_bn_grad_sums_row(row(l, l->delta, b, f), row(l, l->output, b, f), row(l, l->x_norm, b, f),
                             row(l, l->x, b, f), j->n, means[f], l->activation, s);
    }
}

/* The weight gradient is a sum over images: each of `slots` fixed, contiguous
 * runs of tasks adds into its own partial sum (slot 0: l->weight_updates
 * itself), and the partial sums are added in slot order. Whichever thread runs
 * a slot, the sums are the same bits, so that a seeded training is
 * reproducible. */
static void weight_grad_images(conv_job *j, int b0, int nb, int thread, int slot);

static void slot_task(void *ctx, int slot, int thread)
{
    conv_job *j = ctx;
    int lo, hi;
    abc_split_range(j->slot_tasks, j->slots, slot, &lo, &hi);
    for (int t = lo; t < hi; ++t) j->slot_fn(j, t, thread, slot);
    for (int t = lo; j->group > 1 && t < hi; t += j->group)
        weight_grad_images(j, t, hi - t < j->group ? hi - t : j->group, thread, slot);
}

static void run_in_slots(conv_job *j, int ntasks, void (*fn)(void *ctx, int task, int thread, int slot))
{
    int threads = abc_pool_threads();
    j->slot_fn = fn;
    j->slot_tasks = ntasks;
    j->slots = threads < ntasks ? threads : ntasks;
    abc_pool_run(j->slots, slot_task, j);
}

/* dW (m x k) += delta (m x cols) * col^T (cols x k) for output rows [r0, r1)
 * of image b, into the partial sum of `slot` (see slot_task). */
static void weight_grad(conv_job *j, int b, int r0, int r1, int thread, int slot)
{
    const layer *l = j->l;
    int ldb;
    const float *col = col_rows(j, b, r0, r1, thread, &ldb);
    int s0 = r0 * l->out_w, len = (r1 - r0) * l->out_w;
    float *dw = l->weight_updates, beta = 1;
    if (slot > 0) {
        dw = abc_arena_floats(slot, SLOT_DW, (size_t)l->nweights);
        if (!j->used[slot]) beta = 0;
        j->used[slot] = 1;
    }
    abc_sgemm_train(0, 1, j->m, j->k, len, 1, l->delta + (size_t)b * l->outputs + s0, j->n, col, ldb, beta, dw, j->k);
}

/* The same for whole images [b0, b0 + nb) in one bf16 product: an image of a 7x7 or 4x4 layer has too few
 * pixels to be worth a pass over dW of its own. */
static void weight_grad_images(conv_job *j, int b0, int nb, int thread, int slot)
{
    const layer *l = j->l;
    size_t image = (size_t)l->c * l->h * l->w;
    const float *col = j->net->input + (size_t)b0 * image;
    size_t step = image;
    if (!direct(l)) {
        step = (size_t)j->k * j->n;
        float *buf = abc_arena_floats(thread, SLOT_COL, step * nb);
        for (int g = 0; g < nb; ++g)
            abc_im2col(col + g * image, l->c, l->h, l->w, l->size, l->stride, l->pad, l->out_w, 0, l->out_h,
                       buf + g * step);
        col = buf;
    }
    float *dw = l->weight_updates, beta = 1;
    if (slot > 0) {
        dw = abc_arena_floats(slot, SLOT_DW, (size_t)l->nweights);
        if (!j->used[slot]) beta = 0;
        j->used[slot] = 1;
    }
    abc_sgemm_bf16_images(j->m, j->k, j->n, nb, 1, l->delta + (size_t)b0 * l->outputs, j->n, l->outputs, col, j->n,
                          step, beta, dw, j->k);
}

/* How many images weight_grad_images takes at once: enough for 256 pixels (one image where bf16 is off, or
 * an image has 256 or more). */
static int weight_grad_group(const conv_job *j)
{
    if (!abc_sgemm_train_bf16() || j->n >= 256) return 1;
    int g = (256 + j->n - 1) / j->n, most = abc_sgemm_bf16_images_max(j->n);
    return g < most ? g : most;
}

/* net.delta of image b, input channels [c0, c1): darknet adds col2im(W^T delta)
 * into it, or for 1x1 kernels overwrites it with W^T delta. */
static void input_grad(const conv_job *j, int b, int c0, int c1, int thread)
{
    const layer *l = j->l;
    int kk = l->size * l->size, hw = l->h * l->w;
    const float *delta = l->delta + (size_t)b * l->outputs;
    float *imd = j->net->delta + (size_t)b * l->c * hw + (size_t)c0 * hw;
    const float *w = l->weights + (size_t)c0 * kk; /* columns c0*kk.. of W (m x k) */
    int rows = (c1 - c0) * kk;
    if (direct(l)) {
        abc_sgemm_train(1, 0, rows, j->n, j->m, 1, w, j->k, delta, j->n, 0, imd, j->n);
        return;
    }
    float *col = abc_arena_floats(thread, SLOT_COL, (size_t)rows * j->n);
    abc_sgemm_train(1, 0, rows, j->n, j->m, 1, w, j->k, delta, j->n, 0, col, j->n);
    abc_col2im_add(col, c1 - c0, l->h, l->w, l->size, l->stride, l->pad, l->out_h, l->out_w, imd);
}

/* Whole image b: finish its delta (batch-norm coefficients, or activation
 * gradient and bias sums), then its weight gradient and input gradient. */
static void image_backward_task(void *ctx, int b, int thread, int slot)
{
    conv_job *j = ctx;
    const layer *l = j->l;
    for (int f = 0; f < l->n; ++f) {
        float *d = row(l, l->delta, b, f);
        if (l->batch_normalize) {
            const float *c = j->coef + (size_t)f * 4;
            abc_bn_delta_row(d, row(l, l->x, b, f), j->n, c[3], c[0], c[1], c[2]);
        } else {
            j->stats[(size_t)b * l->n + f] = abc_grad_sum_row(d, row(l, l->output, b, f), j->n, l->activation);
        }
    }
    if (j->dnnl) return;
    if (j->group <= 1) weight_grad(j, b, 0, l->out_h, thread, slot);
    if (j->net->delta) input_grad(j, b, 0, l->c, thread);
}

static void grad_channels_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    int f0, f1;
    abc_split_range(j->l->n, j->parts, task, &f0, &f1);
    if (j->l->batch_normalize) abc_bn_backward_channels(j->l, j->net->train, f0, f1);
    else abc_bias_backward_channels(j->l, f0, f1);
}

static void weight_grad_task(void *ctx, int task, int thread, int slot)
{
    conv_job *j = ctx;
    int r0, r1;
    abc_split_range(j->l->out_h, j->parts, task % j->parts, &r0, &r1);
    if (r1 > r0) weight_grad(j, task / j->parts, r0, r1, thread, slot);
}

static void input_grad_task(void *ctx, int task, int thread)
{
    const conv_job *j = ctx;
    int c0, c1;
    abc_split_range(j->l->c, j->parts, task % j->parts, &c0, &c1);
    if (c1 > c0) input_grad(j, task / j->parts, c0, c1, thread);
}

static void reduce_task(void *ctx, int task, int thread)
{
    (void)thread;
    const conv_job *j = ctx;
    int lo, hi;
    abc_split_range(j->l->nweights, j->parts, task, &lo, &hi);
    float *dw = j->l->weight_updates;
    for (int t = 1; t < MAX_THREADS; ++t) {
        if (!j->used[t]) continue;
        const float *p = abc_arena_floats(t, SLOT_DW, (size_t)j->l->nweights);
        for (int i = lo; i < hi; ++i) dw[i] += p[i];
    }
}

void abc_conv_fast_backward(layer l, network net)
{
    abc_sgemm_serial_mode();
    int threads = abc_pool_threads();
    conv_job j = make_job(&l, &net);
    abc_conv_geom g;
    j.dnnl = on_dnnl(&l, &net, &g);
    int parts = abc_float_parts_per_image(l.batch, threads, l.out_h);
    if (parts == 1) {
        j.stats = abc_xmalloc((size_t)l.batch * l.n * 3 * sizeof(double));
        if (l.batch_normalize) {
            abc_pool_run(l.batch, bn_grad_sums_task, &j);
            j.coef = abc_xmalloc((size_t)l.n * 4 * sizeof(float));
            const float *means = net.train ? l.mean : l.rolling_mean;
            const float *vars = net.train ? l.variance : l.rolling_variance;
            for (int f = 0; f < l.n; ++f) {
                double s[3] = {0, 0, 0};
                for (int b = 0; b < l.batch; ++b)
                    for (int i = 0; i < 3; ++i) s[i] += j.stats[((size_t)b * l.n + f) * 3 + i];
                float *c = j.coef + (size_t)f * 4;
                abc_bn_grad_coefs(&l, f, s, vars[f], (double)j.n * l.batch, &c[0], &c[1], &c[2]);
                c[3] = means[f];
            }
        }
        j.group = j.dnnl ? 1 : weight_grad_group(&j);
        run_in_slots(&j, l.batch, image_backward_task);
        if (!l.batch_normalize) {
            for (int f = 0; f < l.n; ++f) {
                double sum = 0;
                for (int b = 0; b < l.batch; ++b) sum += j.stats[(size_t)b * l.n + f];
                l.bias_updates[f] += (float)sum;
            }
        }
        free(j.stats);
        free(j.coef);
    } else {
        j.parts = abc_float_channel_parts(l.n, threads);
        abc_pool_run(j.parts, grad_channels_task, &j);
        j.parts = parts;
        if (!j.dnnl) run_in_slots(&j, l.batch * parts, weight_grad_task);
        if (net.delta && !j.dnnl) {
            j.parts = abc_float_parts_per_image(l.batch, threads, l.c);
            abc_pool_run(l.batch * j.parts, input_grad_task, &j);
        }
    }
    if (j.dnnl) abc_dnnl_conv_backward(&g, net.input, l.weights, l.delta, l.weight_updates, net.delta);
    int any = 0;
    for (int t = 1; t < MAX_THREADS; ++t) any |= j.used[t];
    if (any) {
        j.parts = threads < l.nweights ? threads : 1;
        abc_pool_run(j.parts, reduce_task, &j);
    }
}
