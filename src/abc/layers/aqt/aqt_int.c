/* The quant layers' inference product from the integers (aqt_conv.h): the inputs quantized once to bytes
 * (padded with the offset), then on AVX-512 VNNI a direct convolution (kernels/iconv.h), the output stage in
 * its registers for linear / relu / leaky: for stride 1 and rows of at least ROWS_MIN_W pixels the one with the
 * pixels in the lanes (inputs in planes of 4-channel words), else the one with the filters in the lanes (inputs
 * channels last); elsewhere an im2col of the channels-last bytes in groups of 4 and the integer GEMM; sum * (1 / (s_w
 * s_a)) per filter into l.output.
 * The simulation takes the same integers as floats through im2col and the float GEMM. Conv layers split an
 * image's pixels between the pool's threads; connected layers take the batch's images as the columns. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aqt_conv.h"
#include "base/mode.h"
#include "base/util.h"
#include "kernels/bn.h"
#include "kernels/iconv.h"
#include "kernels/igemm.h"
#include "kernels/im2col.h"
#include "kernels/pool.h"
#include "kernels/sgemm.h"

/* The rows kernel drops the 2 x pad positions past out_w in each row and computes 48 positions a block; below
 * this row width the pixels kernel, whose scattered stores cost less than that there, is the faster one. */
enum { ROWS_MIN_W = 14 };
enum { DIRECT_NONE, DIRECT_PIXELS, DIRECT_ROWS };

typedef struct {
    const layer *l;
    const aqt_state *st;
    const float *x; /* the image (conv) or the batch (connected) */
    float *out;
    const float *k; /* per filter: 1 / (s_w s_a) */
    float s, qlo, qhi;
    int zp, parts, cols; /* columns: pixels of an image, or images */
    int direct;          /* DIRECT_*: conv layers on AVX-512 VNNI, a direct convolution, no im2col */
    int stage;           /* direct kernels: ABC_ICONV_STAGE_* (NONE: output_stage runs after) */
} int_job;

/* the rows kernel's input planes: words per plane (the padded image and the slack the kernel reads past it) */
static size_t plane_words(const layer *l)
{
    return (size_t)(l->h + 2 * l->pad) * (l->w + 2 * l->pad) + ABC_ICONV_ROWS_SLACK;
}

/* which direct convolution a conv layer runs here (ABC_ICONV forces one), or none (the integer GEMM) */
static int direct_kind(const layer *l)
{
    if (aqt_st(l)->connected || !abc_iconv_usable() ||
        strcmp(abc_kernel_chosen_name(&abc_igemm_family), "avx512vnni"))
        return DIRECT_NONE;
    int force = abc_mode_choice(ABC_MODE_ICONV); /* auto | rows | pixels */
    int rows_fit = l->stride == 1 && l->size <= ABC_ICONV_ROWS_SLACK - 47;
    if (force == 2 || !rows_fit) return DIRECT_PIXELS;
    return force == 1 || l->out_w >= ROWS_MIN_W ? DIRECT_ROWS : DIRECT_PIXELS;
}

void aqt_integer_kernel(const layer *l, char *buf, size_t n)
{
    int d = direct_kind(l);
    if (d == DIRECT_NONE) snprintf(buf, n, "integer GEMM, kernel %s", abc_kernel_chosen_name(&abc_igemm_family));
    else snprintf(buf, n, "direct convolution, %s in the lanes (avx512vnni)", d == DIRECT_ROWS ? "pixels" : "filters");
}

/* x8 from the floats: integer + offset, channels last or in planes (the rows kernel); the tasks split the rows
 * (conv) or the images */
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
    if (j->direct == DIRECT_ROWS) {
        abc_iquant_planes_avx512(j->x, l->c, l->h, l->w, l->pad, lo, hi, j->s, j->qlo, j->qhi, j->zp,
                                 (uint32_t *)(void *)j->st->x8, wp, plane_words(l));
        return;
    }
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
    if (j->direct) {
        const aqt_state *st = j->st;
        const layer *l = j->l;
        int wp = l->w + 2 * l->pad;
        abc_iconv_args a = {(const uint32_t *)(const void *)st->x8,
                            j->direct == DIRECT_ROWS ? plane_words(l) : 0,
                            wp,
                            st->cp / 4,
                            st->w32,
                            l->n,
                            st->npad,
                            st->woff,
                            st->kf,
                            j->stage,
                            l->batch_normalize ? l->rolling_mean : NULL,
                            st->kbn,
                            l->biases,
                            l->out_w,
                            l->stride,
                            l->size,
                            j->out,
                            st->P};
        if (j->direct == DIRECT_ROWS) { /* the output rows split; each part its positions of the padded grid */
            abc_split_range(l->out_h, j->parts, task, &p0, &p1);
            abc_iconv_rows_avx512vnni(&a, p0 * wp, p1 * wp);
            return;
        }
        /* many filter blocks: each part its filters over all pixels, else its pixels */
        int nfb = (l->n + 31) / 32, b0 = 0, b1 = nfb;
        p0 = 0, p1 = j->cols;
        if (nfb >= 2 * j->parts) abc_split_range(nfb, j->parts, task, &b0, &b1);
        else abc_split_range(j->cols, j->parts, task, &p0, &p1);
        abc_iconv_avx512vnni(&a, p0, p1, 32 * b0, 32 * b1);
        return;
    }
    abc_split_range(j->cols, j->parts, task, &p0, &p1);
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
    if (j->direct == DIRECT_ROWS) { /* each plane's top and bottom padding rows and its slack: the offset */
        int wp = l->w + 2 * l->pad;
        size_t ps = plane_words(l), top = (size_t)l->pad * wp, bottom = (size_t)(l->pad + l->h) * wp;
        uint32_t *x = (uint32_t *)(void *)j->st->x8, zword = (uint32_t)j->zp * 0x01010101u;
        for (int g = 0; g < j->st->cp / 4; ++g) {
            for (size_t i = 0; i < top; ++i) x[g * ps + i] = zword;
            for (size_t i = bottom; i < ps; ++i) x[g * ps + i] = zword;
        }
    } else if (!j->st->connected && l->pad) { /* the top and bottom padding rows: the offset (the value 0) */
        size_t rowb = (size_t)j->st->cp * (l->w + 2 * l->pad), padb = rowb * l->pad;
        memset(j->st->x8, j->zp, padb);
        memset(j->st->x8 + padb + rowb * l->h, j->zp, padb);
    }
    j->parts = parts_for(n_in, j->st->connected ? l->batch : l->h);
    abc_pool_run(j->parts, quantize_task, j);
    int units = j->direct == DIRECT_ROWS ? l->out_h : j->cols; /* what the parts split */
    if (j->direct == DIRECT_PIXELS && (l->n + 31) / 32 > units) units = (l->n + 31) / 32;
    j->parts = parts_for(l->n * j->cols * j->st->kp, units);
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

/* Bias or batch norm (rolling statistics) and the activation, with the fast row loops; both paths end here,
 * the direct convolutions' in their own stores (the same operations). */
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
    int_job j = {&l, st, net.input, l.output, NULL, 0, 0, 0, 0, 0, st->connected ? l.batch : st->P, 0, 0};
    if (!aqt_input_range(st, &j.s, &j.qlo, &j.qhi)) {
        /* no bounds yet (a float model's weights, just converted): calibrated once, on this batch */
        aqt_calibrate_bounds(st, net.input, l.batch, (size_t)l.inputs);
        fprintf(stderr, "[quant_%s] %d -> %d: no input bounds in the weights; calibrated on the first batch "
                "(%.4g .. %.4g, the means of its images' extremes), kept from now on\n",
                st->connected ? "connected" : "convolutional", l.c, l.n, st->lo, st->hi);
        if (!aqt_input_range(st, &j.s, &j.qlo, &j.qhi)) st->hi = 1.f, aqt_input_range(st, &j.s, &j.qlo, &j.qhi);
    }
    j.zp = (int)-j.qlo;
    for (int f = 0; f < st->npad; ++f) {
        st->kf[f] = f < l.n ? 1.f / (st->sw[f] * j.s) : 0.f;
        st->woff[f] = f < l.n ? j.zp * st->wsum[f] : 0;
    }
    j.k = st->kf;
    j.direct = simulate ? DIRECT_NONE : direct_kind(&l);
    if (j.direct != DIRECT_NONE) { /* the output stage in the kernel's registers where it has the activation */
        j.stage = l.activation == LINEAR ? ABC_ICONV_STAGE_LINEAR
                  : l.activation == RELU ? ABC_ICONV_STAGE_RELU
                  : l.activation == LEAKY ? ABC_ICONV_STAGE_LEAKY
                                          : ABC_ICONV_STAGE_NONE;
        if (l.batch_normalize)
            for (int f = 0; f < l.n; ++f) st->kbn[f] = l.scales[f] / (sqrtf(l.rolling_variance[f]) + 1e-6f);
    }
    int images = st->connected ? 1 : l.batch;
    for (int b = 0; b < images; ++b) {
        j.x = net.input + (size_t)b * l.inputs;
        j.out = l.output + (size_t)b * l.outputs;
        if (simulate) float_product(&j, net);
        else integer_product(&j);
    }
    if (j.stage == ABC_ICONV_STAGE_NONE) output_stage(&l);
}
