/* HadaNet quantization: weight centring and clipping, W~ = delta_w sgn(W)
 * per (filter, tap, channel segment), A = delta_a sgn(R) per (pixel,
 * channel segment). See hada_conv.h. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the segment loops vectorize */
#endif
#include <math.h>
#include <string.h>

#include "hada_conv.h"
#include "kernels/cpu.h"
#include "kernels/pool.h"

void hada_conv_centre_weights(layer *l)
{
    int K = l->nweights / l->n;
    for (int f = 0; f < l->n; ++f) {
        float *w = l->weights + (size_t)f * K;
        double s = 0;
        for (int i = 0; i < K; ++i) s += w[i];
        float mean = (float)(s / K);
        for (int i = 0; i < K; ++i) {
            float v = w[i] - mean;
            w[i] = v < -1.f ? -1.f : v > 1.f ? 1.f : v;
        }
    }
    hada_conv_st(l)->wq_valid = 0;
}

/* Filters [f0, f1): per (tap, channel segment) the mean |W| over the segment's channels, summed channel by
 * channel, taps side by side (a filter's taps are contiguous, its channels `taps` floats apart); element-wise
 * over the taps: cloned for AVX-512 and AVX2, the same bits. */
ABC_CLONED static void quantize_filters(layer *l, int f0, int f1)
{
    hada_conv_state *st = hada_conv_st(l);
    enum { TAPS = 64 };
    int taps = st->taps;
    float sum[TAPS];
    for (int f = f0; f < f1; ++f)
        for (int s = 0; s < st->sw; ++s) {
            int c0, c1;
            size_t base = hada_wseg(l, st, f, 0, s, &c0, &c1);
            for (int t0 = 0; t0 < taps; t0 += TAPS) {
                int nt = taps - t0 < TAPS ? taps - t0 : TAPS;
                for (int t = 0; t < nt; ++t) sum[t] = 0.f;
                for (int ch = c0; ch < c1; ++ch) {
                    const float *w = l->weights + base + (size_t)ch * taps + t0;
                    for (int t = 0; t < nt; ++t) sum[t] += fabsf(w[t]);
                }
                for (int t = 0; t < nt; ++t) {
                    float delta = sum[t] / (float)(c1 - c0);
                    st->wmag[((size_t)f * taps + t0 + t) * st->sw + s] = delta;
                    /* the ste surrogate is clip(W) alone, whose derivative is the straight-through mask */
                    sum[t] = st->surrogate && st->o.grad == HADA_GRAD_STE ? 1.f : delta;
                }
                for (int ch = c0; ch < c1; ++ch) {
                    size_t i = base + (size_t)ch * taps + t0;
                    for (int t = 0; t < nt; ++t)
                        st->wq[i + t] = sum[t] * hada_sgn_or_clip(st->surrogate, l->weights[i + t]);
                }
            }
        }
}

/* Filter ranges for the pool: 4 a thread. */
static int filter_parts(const layer *l)
{
    int parts = 4 * abc_pool_threads();
    return parts < l->n ? parts : l->n;
}

static void weights_task(void *ctx, int task, int thread)
{
    (void)thread;
    layer *l = ctx;
    int f0, f1;
    abc_split_range(l->n, filter_parts(l), task, &f0, &f1);
    quantize_filters(l, f0, f1);
}

void hada_conv_quantize_weights(layer *l)
{
    hada_conv_state *st = hada_conv_st(l);
    abc_pool_run(filter_parts(l), weights_task, l);
    st->wq_valid = 1;
    st->packed_valid = 0;
}

typedef struct {
    const layer *l;
    const float *x;
    float *aq;
    int batch; /* images */
    int nseg;  /* segments per image */
    int parts; /* tasks */
} input_job;

/* Segment s of image b: mean |R| over the segment's channels at every pixel (element-wise: cloned for AVX-512
 * and AVX2, the same bits). */
ABC_CLONED static void quantize_segment(const input_job *j, int b, int s)
{
    const layer *l = j->l;
    const hada_conv_state *st = hada_conv_st(l);
    int ba = st->o.ba, hw = l->h * l->w;
    int c0 = s * ba, c1 = c0 + ba < l->c ? c0 + ba : l->c;
    float inv = 1.f / (float)(c1 - c0);
    const float *x = j->x + ((size_t)b * l->c + c0) * hw;
    float *aq = j->aq + ((size_t)b * l->c + c0) * hw;
    enum { CHUNK = 256 };
    float mag[CHUNK];
    for (int i0 = 0; i0 < hw; i0 += CHUNK) {
        int n = hw - i0 < CHUNK ? hw - i0 : CHUNK;
        for (int i = 0; i < n; ++i) mag[i] = 0.f;
        for (int ch = 0; ch < c1 - c0; ++ch)
            for (int i = 0; i < n; ++i) mag[i] += fabsf(x[(size_t)ch * hw + i0 + i]);
        for (int i = 0; i < n; ++i) mag[i] *= inv;
        for (int ch = 0; ch < c1 - c0; ++ch) {
            const float *xc = x + (size_t)ch * hw + i0;
            float *ac = aq + (size_t)ch * hw + i0;
            if (st->surrogate && st->o.xgrad == HADA_XGRAD_PAPER)
                for (int i = 0; i < n; ++i) ac[i] = hada_sgn_or_clip(1, xc[i]);
            else if (st->surrogate)
                for (int i = 0; i < n; ++i) ac[i] = mag[i] * hada_sgn_or_clip(1, xc[i]);
            else
                for (int i = 0; i < n; ++i) ac[i] = xc[i] >= 0.f ? mag[i] : -mag[i];
        }
    }
}

/* A task: a range of the (image, segment) pairs. */
static void quantize_task(void *ctx, int task, int thread)
{
    (void)thread;
    const input_job *j = ctx;
    int total = j->batch * j->nseg, lo, hi;
    abc_split_range(total, j->parts, task, &lo, &hi);
    for (int i = lo; i < hi; ++i) quantize_segment(j, i / j->nseg, i % j->nseg);
}

void hada_conv_quantize_input(const layer *l, const float *x, float *aq, int batch)
{
    const hada_conv_state *st = hada_conv_st(l);
    if (st->o.ba == 1) {
        memcpy(aq, x, (size_t)batch * l->inputs * sizeof(float));
        return;
    }
    input_job j = {l, x, aq, batch, hada_nseg(l->c, st->o.ba), 0};
    int total = batch * j.nseg, parts = 4 * abc_pool_threads();
    if ((size_t)total * l->h * l->w < 16384) parts = 1; /* too small to be worth waking the pool */
    j.parts = parts < total ? parts : total;
    abc_pool_run(j.parts, quantize_task, &j);
}
