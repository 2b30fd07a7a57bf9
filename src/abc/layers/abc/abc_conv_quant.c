#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math") /* lets the per-base loops vectorize; same results */
#endif
/* Weight bases of [abc_convolutional]: B_m = sgn(W - mean + u_m std) over a
 * group (the whole tensor, or one output filter), alpha by least squares
 * with a small ridge term: (B^T B + lambda I) alpha = B^T W. */
#include <math.h>
#include <string.h>

#include "abc_conv.h"
#include "base/util.h"
#include "kernels/cpu.h"
#include "kernels/pool.h"

/* Ridge term relative to the diagonal (B^T B)_mm = group size. */
#define ABC_RIDGE 1e-4

void abc_conv_group_stats(const layer *l, int g, float *mean, float *std)
{
    const abc_conv_state *st = abc_conv_st(l);
    int len = l->nweights / st->G;
    const float *w = l->weights + (size_t)g * len;
    double s = 0, s2 = 0;
    for (int i = 0; i < len; ++i) s += w[i];
    double m = s / len;
    for (int i = 0; i < len; ++i) s2 += (w[i] - m) * (w[i] - m);
    *mean = (float)m;
    *std = (float)sqrt(s2 / len);
}

/* Solves the M x M system a x = b in place (Gaussian elimination with partial
 * pivoting; a is symmetric positive definite thanks to the ridge). */
static void solve(int M, double a[ABC_MAX_BASES][ABC_MAX_BASES], double *b)
{
    for (int i = 0; i < M; ++i) {
        int p = i;
        for (int r = i + 1; r < M; ++r)
            if (fabs(a[r][i]) > fabs(a[p][i])) p = r;
        if (p != i) {
            for (int c = 0; c < M; ++c) { double t = a[i][c]; a[i][c] = a[p][c]; a[p][c] = t; }
            double t = b[i]; b[i] = b[p]; b[p] = t;
        }
        if (a[i][i] == 0) { b[i] = 0; continue; }
        for (int r = i + 1; r < M; ++r) {
            double f = a[r][i] / a[i][i];
            for (int c = i; c < M; ++c) a[r][c] -= f * a[i][c];
            b[r] -= f * b[i];
        }
    }
    for (int i = M - 1; i >= 0; --i) {
        double s = b[i];
        for (int c = i + 1; c < M; ++c) s -= a[i][c] * b[c];
        b[i] = a[i][i] != 0 ? s / a[i][i] : 0;
    }
}

/* The bases' statistics and the quantized weights run on the pool in CHUNKS fixed slices of each group,
 * whatever the thread count, and the slices' sums are added in slice order: the same bits on any thread. */
enum { CHUNKS = 8 };

typedef struct {
    const layer *l;
    int M, len, refit;
    float *mean, *ustd; /* per group: the mean, and u_m * std per base */
    double *b;          /* per (group, chunk): B^T W, M values */
    long *differ;       /* per (group, chunk): M x M counts of bits where B_m and B_k differ (m < k) */
} wq_job;

/* What a task of the pool works on: slice [i0, i1) of group g's weights w, the group's mean and u_m * std. */
typedef struct {
    int g, i0, i1;
    const float *w, *ustd;
    float mean;
} wq_slice;

static wq_slice slice_of(const wq_job *j, int task)
{
    wq_slice s;
    s.g = task / CHUNKS;
    abc_split_range(j->len, CHUNKS, task % CHUNKS, &s.i0, &s.i1);
    s.w = j->l->weights + (size_t)s.g * j->len;
    s.ustd = j->ustd + (size_t)s.g * ABC_MAX_BASES;
    s.mean = j->mean[s.g];
    return s;
}

/* B^T W and the bases' disagreements over one slice of one group: one pass per base (and per pair), each a
 * loop the compiler vectorizes: +-w summed in 16 float lanes over blocks of 1024 weights, the blocks in
 * double. */
enum { LANES = 16, BLOCK = 1024 };

static double signed_sum(const abc_conv_state *st, const float *w, int n, float mean, float ustd)
{
    double total = 0;
    for (int b0 = 0; b0 < n; b0 += BLOCK) {
        int b1 = b0 + BLOCK < n ? b0 + BLOCK : n, i = b0;
        float acc[LANES] = {0};
        for (; i + LANES <= b1; i += LANES)
            for (int k = 0; k < LANES; ++k) acc[k] += abc_conv_wbit(st, w[i + k], mean, ustd) ? w[i + k] : -w[i + k];
        for (; i < b1; ++i) acc[0] += abc_conv_wbit(st, w[i], mean, ustd) ? w[i] : -w[i];
        double s = 0;
        for (int k = 0; k < LANES; ++k) s += acc[k];
        total += s;
    }
    return total;
}

static long disagreements(const abc_conv_state *st, const float *w, int n, float mean, float u1, float u2)
{
    long d = 0;
    for (int i = 0; i < n; ++i) d += abc_conv_wbit(st, w[i], mean, u1) != abc_conv_wbit(st, w[i], mean, u2);
    return d;
}

ABC_CLONED static void fit_sums_task(void *ctx, int task, int thread)
{
    (void)thread;
    const wq_job *j = ctx;
    const abc_conv_state *st = abc_conv_st(j->l);
    wq_slice sl = slice_of(j, task);
    int M = j->M, n = sl.i1 - sl.i0;
    const float *w = sl.w + sl.i0;
    double *b = j->b + (size_t)task * ABC_MAX_BASES;
    long *d = j->differ + (size_t)task * ABC_MAX_BASES * ABC_MAX_BASES;
    for (int m = 0; m < M; ++m) {
        b[m] = signed_sum(st, w, n, sl.mean, sl.ustd[m]);
        for (int k = m + 1; k < M; ++k)
            d[m * ABC_MAX_BASES + k] = disagreements(st, w, n, sl.mean, sl.ustd[m], sl.ustd[k]);
    }
}

/* wq = sum_m alpha_m B_m over one slice of one group, base by base (the sum in base order, as a scalar loop). */
ABC_CLONED static void weights_task(void *ctx, int task, int thread)
{
    (void)thread;
    const wq_job *j = ctx;
    const abc_conv_state *st = abc_conv_st(j->l);
    wq_slice sl = slice_of(j, task);
    int M = j->M, i0 = sl.i0, i1 = sl.i1;
    const float *w = sl.w, *ustd = sl.ustd, *alpha = st->alpha + (size_t)sl.g * M;
    float *wq = st->wq + (size_t)sl.g * j->len, mean = sl.mean;
    for (int i = i0; i < i1; ++i) wq[i] = 0.f;
    for (int m = 0; m < M; ++m) {
        float a = alpha[m], u = ustd[m];
        for (int i = i0; i < i1; ++i) wq[i] += abc_conv_wbit(st, w[i], mean, u) ? a : -a;
    }
}

void abc_conv_quantize_weights(layer *l, int refit)
{
    abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, G = st->G, len = l->nweights / G;
    st->packed_valid = 0;
    if (st->surrogate) {
        memcpy(st->wq, l->weights, (size_t)l->nweights * sizeof(float));
        st->wq_valid = 1;
        return;
    }
    st->wq_soft = 0;
    wq_job j = {l, M, len, refit, abc_xmalloc((size_t)G * sizeof(float)),
                abc_xmalloc((size_t)G * ABC_MAX_BASES * sizeof(float)), NULL, NULL};
    for (int g = 0; g < G; ++g) {
        float sd;
        abc_conv_group_stats(l, g, &j.mean[g], &sd);
        for (int m = 0; m < M; ++m) j.ustd[(size_t)g * ABC_MAX_BASES + m] = st->o.u[m] * sd;
    }
    int fit = refit && !st->o.wquant && !st->o.darknet;
    if (fit) {
        j.b = abc_xmalloc((size_t)G * CHUNKS * ABC_MAX_BASES * sizeof(double));
        j.differ = abc_xmalloc((size_t)G * CHUNKS * ABC_MAX_BASES * ABC_MAX_BASES * sizeof(long));
        abc_pool_run(G * CHUNKS, fit_sums_task, &j);
    }
    for (int g = 0; g < G; ++g) {
        const float *w = l->weights + (size_t)g * len;
        float *alpha = st->alpha + (size_t)g * M;
        if (st->o.wquant) { /* the hard model: sign, scale 1 */
            alpha[0] = 1.f;
        } else if (refit && st->o.darknet) { /* darknet's binarize_weights: the filter's mean |W| */
            double sum = 0;
            for (int i = 0; i < len; ++i) sum += fabsf(w[i]);
            alpha[0] = (float)(sum / len);
        } else if (fit) {
            /* (B^T B + ridge) alpha = B^T W, with (B^T B)_mk = len - 2 (bits where B_m and B_k differ) */
            double a[ABC_MAX_BASES][ABC_MAX_BASES] = {{0}}, b[ABC_MAX_BASES] = {0};
            long differ[ABC_MAX_BASES][ABC_MAX_BASES] = {{0}};
            for (int c = 0; c < CHUNKS; ++c) {
                const double *bc = j.b + ((size_t)g * CHUNKS + c) * ABC_MAX_BASES;
                const long *dc = j.differ + ((size_t)g * CHUNKS + c) * ABC_MAX_BASES * ABC_MAX_BASES;
                for (int m = 0; m < M; ++m) {
                    b[m] += bc[m];
                    for (int k = m + 1; k < M; ++k) differ[m][k] += dc[m * ABC_MAX_BASES + k];
                }
            }
            for (int m = 0; m < M; ++m) {
                a[m][m] = len + ABC_RIDGE * len;
                for (int k = m + 1; k < M; ++k) a[m][k] = a[k][m] = (double)len - 2.0 * differ[m][k];
            }
            solve(M, a, b);
            for (int m = 0; m < M; ++m) alpha[m] = (float)b[m];
        }
    }
    abc_pool_run(G * CHUNKS, weights_task, &j);
    free(j.mean), free(j.ustd), free(j.b), free(j.differ);
    st->wq_valid = 1;
}

void abc_conv_quantize_soft(layer *l, size_t it, int train)
{
    abc_conv_state *st = abc_conv_st(l);
    const abc_wquant *q = st->o.wquant;
    float beta = abc_wquant_beta(st->o.wq_beta, st->o.wq_growth, st->o.wq_every, it);
    if (train && q->keep_primal && st->beta_now > 0 && beta != st->beta_now)
        for (int i = 0; i < l->nweights; ++i) l->weights[i] *= st->beta_now / beta;
    st->beta_now = beta;
    int len = l->nweights / st->G;
    long near = 0;
    for (int g = 0; g < st->G; ++g) q->soft(l->weights + (size_t)g * len, len, beta, st->wq + (size_t)g * len);
    for (int i = 0; i < l->nweights; ++i) near += fabsf(fabsf(st->wq[i]) - 1.f) <= 0.01f;
    st->near_binary = (float)near / (float)l->nweights;
    st->wq_soft = 1;
    st->wq_valid = 1;
    st->packed_valid = 0;
}
