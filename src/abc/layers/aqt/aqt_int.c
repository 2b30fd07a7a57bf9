/* The quant layers' inference product from the integers (aqt_conv.h): the inputs quantized once to bytes
 * (channels last, padded with the offset), then on AVX-512 VNNI the direct convolution (kernels/iconv.h), else
 * an im2col of the bytes in groups of 4 and the integer GEMM; sum * (1 / (s_w s_a)) per filter into l.output.
 * The simulation takes the same integers as floats through im2col and the float GEMM. Conv layers split an
 * image's pixels between the pool's threads; connected layers take the batch's images as the columns. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aqt_conv.h"
#include "base/util.h"
#include "kernels/bn.h"
#include "kernels/iconv.h"
#include "kernels/igemm.h"
#include "kernels/im2col.h"
#include "kernels/pool.h"
#include "kernels/sgemm.h"

typedef struct {
    const layer *l;
    const aqt_state *st;
    const float *x; /* the image (conv) or the batch (connected) */
    float *out;
    const float *k; /* per filter: 1 / (s_w s_a) */
    float s, qlo, qhi;
    int zp, parts, cols; /* columns: pixels of an image, or images */
    int direct;          /* conv layers on AVX-512 VNNI: the direct convolution, no im2col */
} int_job;

/* x8 from the floats: integer + offset, channels last; the tasks split the channels (conv) or the images */
static void quantize_task(void *ctx, int task, int thread)
{
    (void)thread;
    const int_job *j = ctx;
    const layer *l = j->l;
    int cp = j->st->cp, lo, hi;
    if (j->st->connected) {
        abc_split_range(l->batch, j->parts, task, &lo, &hi);
        for (int b = lo; b < hi; ++b) {
            const float *x = j->x + (size_t)b * l->inputs;
            uint8_t *o = j->st->x8 + (size_t)b * cp;
            for (int c = 0; c < l->c; ++c) o[c] = (uint8_t)((int)aqt_qa(x[c], j->s, j->qlo, j->qhi) + j->zp);
        }
        return;
    }
    /* a row at a time (the tasks split the rows), its channels in turn: the row's bytes stay in L1; the row's
     * left and right padding too */
    int wp = l->w + 2 * l->pad;
    abc_split_range(l->h, j->parts, task, &lo, &hi);
    for (int y = lo; y < hi; ++y) {
        uint8_t *row = j->st->x8 + (size_t)(y + l->pad) * wp * cp;
        memset(row, j->zp, (size_t)l->pad * cp);
        memset(row + (size_t)(l->pad + l->w) * cp, j->zp, (size_t)l->pad * cp);
        for (int c = 0; c < l->c; ++c) {
            const float *x = j->x + ((size_t)c * l->h + y) * l->w;
            uint8_t *o = row + (size_t)l->pad * cp + c;
            for (int q = 0; q < l->w; ++q)
                o[(size_t)q * cp] = (uint8_t)((int)aqt_qa(x[q], j->s, j->qlo, j->qhi) + j->zp);
        }
    }
}

/* Columns [p0, p1) of the im2col, a 4-byte word (4 channels of one input pixel) at a time: group g of column p
 * at word g * cols + p, group g = tap x cp / 4 + channel / 4. */
static void im2col_words(const int_job *j, int p0, int p1)
{
    const layer *l = j->l;
    const aqt_state *st = j->st;
    int cols = j->cols, cw = st->cp / 4;
    const uint32_t *x = (const uint32_t *)(const void *)st->x8;
    uint32_t *col = (uint32_t *)(void *)st->col;
    if (st->connected) {
        for (int g = 0; g < cw; ++g)
            for (int p = p0; p < p1; ++p) col[(size_t)g * cols + p] = x[(size_t)p * cw + g];
        return;
    }
    int wp = l->w + 2 * l->pad; /* the input is padded with the offset: no bounds to check */
    for (int t = 0; t < l->size * l->size; ++t) {
        int ky = t / l->size, kx = t % l->size;
        for (int g = 0; g < cw; ++g) {
            uint32_t *o = col + (size_t)(t * cw + g) * cols;
            int oy = p0 / l->out_w, ox = p0 % l->out_w;
            for (int p = p0; p < p1; ++oy, ox = 0) { /* a row of output pixels at a time */
                int end = p + (l->out_w - ox) < p1 ? p + (l->out_w - ox) : p1;
                const uint32_t *xr = x + ((size_t)(oy * l->stride + ky) * wp + kx) * cw + g;
                for (int ix = ox * l->stride; p < end; ++p, ix += l->stride) o[p] = xr[(size_t)ix * cw];
            }
        }
    }
}

/* out (filter-major for conv, image-major for connected) from the sums of columns [p0, p1) */
static void store(const int_job *j, int p0, int p1)
{
    const layer *l = j->l;
    const aqt_state *st = j->st;
    for (int f = 0; f < l->n; ++f) {
        const int32_t *a = st->acc + (size_t)f * j->cols;
        for (int p = p0; p < p1; ++p) {
            float v = (float)(a[p] - st->woff[f]) * j->k[f];
            if (st->connected) j->out[(size_t)p * l->n + f] = v;
            else j->out[(size_t)f * j->cols + p] = v;
        }
    }
}

static void product_task(void *ctx, int task, int thread)
{
    (void)thread;
    const int_job *j = ctx;
    int p0, p1;
    abc_split_range(j->cols, j->parts, task, &p0, &p1);
    if (j->direct) {
        const aqt_state *st = j->st;
        const layer *l = j->l;
        abc_iconv_args a = {(const uint32_t *)(const void *)st->x8, l->w + 2 * l->pad, st->cp / 4, st->w32, l->n,
                            st->npad, st->woff, st->kf, l->out_w, l->stride, l->size, j->out, st->P};
        abc_iconv_avx512vnni(&a, p0, p1);
        return;
    }
    /* columns a chunk at a time: its im2col (about 128 KB, at least 256 columns, so that the weights are not
     * read again too often) is still in L2 when the GEMM reads it */
    int chunk = (131072 / j->st->kp + 31) & ~31;
    if (chunk < 256) chunk = 256;
    for (int c0 = p0; c0 < p1; c0 += chunk) {
        int c1 = c0 + chunk < p1 ? c0 + chunk : p1;
        im2col_words(j, c0, c1);
        abc_igemm(j->l->n, c1 - c0, j->st->kp, j->st->w8, j->st->col + (size_t)c0 * 4, j->cols, j->st->acc + c0,
                  j->cols);
        store(j, c0, c1);
    }
}

static int parts_for(int work, int cols)
{
    int parts = abc_pool_threads();
    if (work < 1 << 16) parts = 1; /* too small to be worth waking the pool */
    return parts < cols ? parts : cols;
}

static void integer_product(int_job *j)
{
    const layer *l = j->l;
    int n_in = j->st->connected ? l->batch * l->inputs : l->inputs;
    if (!j->st->connected && l->pad) { /* the top and bottom padding rows: the offset (the value 0) */
        size_t rowb = (size_t)j->st->cp * (l->w + 2 * l->pad), padb = rowb * l->pad;
        memset(j->st->x8, j->zp, padb);
        memset(j->st->x8 + padb + rowb * l->h, j->zp, padb);
    }
    j->parts = parts_for(n_in, j->st->connected ? l->batch : l->h);
    abc_pool_run(j->parts, quantize_task, j);
    j->parts = parts_for(l->n * j->cols * j->st->kp, j->cols);
    abc_pool_run(j->parts, product_task, j);
}

/* The same sums in float: the integers as floats, im2col, the float GEMM (exact while below 2^24). */
static void float_product(int_job *j, network net)
{
    const layer *l = j->l;
    aqt_state *st = (aqt_state *)j->st;
    int n_in = st->connected ? l->batch * l->inputs : l->inputs;
    float *xq = st->aq;
    for (int i = 0; i < n_in; ++i) xq[i] = aqt_qa(j->x[i], j->s, j->qlo, j->qhi);
    if (st->connected) {
        abc_sgemm_blas(0, 1, l->batch, l->n, st->K, 1.f, xq, st->K, st->wq, st->K, 0.f, j->out, l->n);
        for (int b = 0; b < l->batch; ++b)
            for (int f = 0; f < l->n; ++f) j->out[(size_t)b * l->n + f] *= j->k[f];
        return;
    }
    const float *B = xq;
    if (!(l->size == 1 && l->stride == 1 && l->pad == 0)) {
        abc_im2col(xq, l->c, l->h, l->w, l->size, l->stride, l->pad, l->out_w, 0, l->out_h, net.workspace);
        B = net.workspace;
    }
    abc_sgemm_blas(0, 0, l->n, j->cols, st->K, 1.f, st->wq, st->K, B, j->cols, 0.f, j->out, j->cols);
    for (int f = 0; f < l->n; ++f)
        for (int p = 0; p < j->cols; ++p) j->out[(size_t)f * j->cols + p] *= j->k[f];
}

/* Bias or batch norm (rolling statistics) and the activation, with the fast row loops; both paths end here. */
static void output_stage(const layer *l)
{
    int S = aqt_st(l)->connected ? 1 : aqt_st(l)->P;
    for (int b = 0; b < l->batch; ++b)
        for (int f = 0; f < l->n; ++f) {
            float *o = l->output + ((size_t)b * l->n + f) * S;
            if (l->batch_normalize)
                abc_bn_infer_row(o, NULL, S, l->rolling_mean[f],
                                 l->scales[f] / (sqrtf(l->rolling_variance[f]) + 1e-6f), l->biases[f], l->activation);
            else
                abc_bias_act_row(o, S, l->biases[f], l->activation);
        }
}

void aqt_forward_integer(layer l, network net, int simulate)
{
    aqt_state *st = aqt_st(&l);
    int_job j = {&l, st, net.input, l.output, NULL, 0, 0, 0, 0, 0, st->connected ? l.batch : st->P, 0};
    if (!aqt_input_range(st, &j.s, &j.qlo, &j.qhi)) {
        /* no bounds yet (a float model's weights, just converted): calibrated once, on this batch */
        aqt_update_bounds(st, net.input, (size_t)l.batch * l.inputs);
        fprintf(stderr, "[quant_%s] %d -> %d: no input bounds in the weights; calibrated on the first batch "
                "(%.4g .. %.4g), kept from now on\n", st->connected ? "connected" : "convolutional", l.c, l.n,
                st->lo, st->hi);
        if (!aqt_input_range(st, &j.s, &j.qlo, &j.qhi)) st->hi = 1.f, aqt_input_range(st, &j.s, &j.qlo, &j.qhi);
    }
    j.zp = (int)-j.qlo;
    for (int f = 0; f < st->npad; ++f) {
        st->kf[f] = f < l.n ? 1.f / (st->sw[f] * j.s) : 0.f;
        st->woff[f] = f < l.n ? j.zp * st->wsum[f] : 0;
    }
    j.k = st->kf;
    j.direct = !st->connected && abc_iconv_usable() &&
               !strcmp(abc_kernel_chosen_name(&abc_igemm_family), "avx512vnni");
    int images = st->connected ? 1 : l.batch;
    for (int b = 0; b < images; ++b) {
        j.x = net.input + (size_t)b * l.inputs;
        j.out = l.output + (size_t)b * l.outputs;
        if (simulate) float_product(&j, net);
        else integer_product(&j);
    }
    output_stage(&l);
}
