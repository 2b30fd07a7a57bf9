#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math") /* lets the row loops vectorize; same results */
#endif
#include "bn.h"

#include <math.h>
#include <string.h>

#include "act.h"

enum { LANES = 8 }; /* independent float partial sums, added into double per row */

void abc_bias_act_row(float *out, int S, float bias, ACTIVATION a)
{
    for (int s = 0; s < S; ++s) out[s] += bias;
    abc_act_row(out, S, a);
}

void abc_bn_infer_row(float *out, float *x, int S, float mean, float k, float bias, ACTIVATION a)
{
    if (x) memcpy(x, out, sizeof(float) * (size_t)S);
    for (int s = 0; s < S; ++s) out[s] = (out[s] - mean) * k + bias;
    abc_act_row(out, S, a);
}

void abc_row_sums(const float *out, int S, double s[2])
{
    float a[LANES] = {0}, q[LANES] = {0};
    int i = 0;
    for (; i + LANES <= S; i += LANES)
        for (int j = 0; j < LANES; ++j) {
            a[j] += out[i + j];
            q[j] += out[i + j] * out[i + j];
        }
    double sa = 0, sq = 0;
    for (; i < S; ++i) {
        sa += out[i];
        sq += (double)out[i] * out[i];
    }
    for (int j = 0; j < LANES; ++j) {
        sa += a[j];
        sq += q[j];
    }
    s[0] += sa;
    s[1] += sq;
}

void abc_bn_train_row(float *out, float *x, float *x_norm, int S, float mean, float inv, float scale,
                      float bias, ACTIVATION a)
{
    for (int s = 0; s < S; ++s) {
        float v = out[s];
        float n = (v - mean) * inv;
        x[s] = v;
        x_norm[s] = n;
        out[s] = n * scale + bias;
    }
    abc_act_row(out, S, a);
}

void abc_bn_grad_sums_row(float *delta, const float *y, const float *x_norm, const float *x, int S,
                          float mean, ACTIVATION a, double s[3])
{
    abc_grad_row(y, S, a, delta);
    float d[LANES] = {0}, dn[LANES] = {0}, dx[LANES] = {0};
    int i = 0;
    for (; i + LANES <= S; i += LANES)
        for (int j = 0; j < LANES; ++j) {
            float v = delta[i + j];
            d[j] += v;
            dn[j] += v * x_norm[i + j];
            dx[j] += v * (x[i + j] - mean);
        }
    double sd = 0, sdn = 0, sdx = 0;
    for (; i < S; ++i) {
        sd += delta[i];
        sdn += (double)delta[i] * x_norm[i];
        sdx += (double)delta[i] * (x[i] - mean);
    }
    for (int j = 0; j < LANES; ++j) {
        sd += d[j];
        sdn += dn[j];
        sdx += dx[j];
    }
    s[0] += sd;
    s[1] += sdn;
    s[2] += sdx;
}

void abc_bn_delta_row(float *delta, const float *x, int S, float mean, float k, float kx, float k0)
{
    for (int s = 0; s < S; ++s) delta[s] = delta[s] * k + kx * (x[s] - mean) + k0;
}

double abc_grad_sum_row(float *delta, const float *y, int S, ACTIVATION a)
{
    abc_grad_row(y, S, a, delta);
    float d[LANES] = {0};
    int i = 0;
    for (; i + LANES <= S; i += LANES)
        for (int j = 0; j < LANES; ++j) d[j] += delta[i + j];
    double sum = 0;
    for (; i < S; ++i) sum += delta[i];
    for (int j = 0; j < LANES; ++j) sum += d[j];
    return sum;
}

float abc_bn_stats(const layer *l, int f, const double s[2], double count)
{
    double mean = s[0] / count;
    float m = (float)mean;
    float var = (float)((s[1] - s[0] * mean) / (count - 1));
    if (var < 0) var = 0; /* rounding of a constant channel */
    l->mean[f] = m;
    l->variance[f] = var;
    l->rolling_mean[f] = l->rolling_mean[f] * .99f + .01f * m;
    l->rolling_variance[f] = l->rolling_variance[f] * .99f + .01f * var;
    return 1.0f / (sqrtf(var) + .000001f);
}

void abc_bn_grad_coefs(const layer *l, int f, const double s[3], float var, double count, float *k, float *kx,
                       float *k0)
{
    float scale = l->scales[f];
    l->bias_updates[f] += (float)s[0];
    l->scale_updates[f] += (float)s[1];
    /* darknet scales delta by `scale` first, then takes these sums of it */
    double inv = 1.0 / sqrt((double)var + .00001f);
    float md = (float)(scale * s[0] * -inv);
    float vd = (float)(scale * s[2] * -.5 * inv * inv * inv);
    l->mean_delta[f] = md;
    l->variance_delta[f] = vd;
    *k = (float)(scale * inv);
    *kx = (float)(vd * 2.0 / count);
    *k0 = (float)(md / count);
}

static size_t at(const layer *l, int b, int f) { return ((size_t)b * l->out_c + f) * l->out_h * l->out_w; }

void abc_bn_train_channels(const layer *l, int f0, int f1)
{
    int S = l->out_h * l->out_w, B = l->batch;
    for (int f = f0; f < f1; ++f) {
        double s[2] = {0, 0};
        for (int b = 0; b < B; ++b) abc_row_sums(l->output + at(l, b, f), S, s);
        float inv = abc_bn_stats(l, f, s, (double)S * B);
        for (int b = 0; b < B; ++b) {
            size_t i = at(l, b, f);
            abc_bn_train_row(l->output + i, l->x + i, l->x_norm + i, S, l->mean[f], inv, l->scales[f],
                             l->biases[f], l->activation);
        }
    }
}

void abc_bn_backward_channels(const layer *l, int train, int f0, int f1)
{
    int S = l->out_h * l->out_w, B = l->batch;
    const float *means = train ? l->mean : l->rolling_mean;
    const float *vars = train ? l->variance : l->rolling_variance;
    for (int f = f0; f < f1; ++f) {
        double s[3] = {0, 0, 0};
        for (int b = 0; b < B; ++b) {
            size_t i = at(l, b, f);
            abc_bn_grad_sums_row(l->delta + i, l->output + i, l->x_norm + i, l->x + i, S, means[f], l->activation, s);
        }
        float k, kx, k0;
        abc_bn_grad_coefs(l, f, s, vars[f], (double)S * B, &k, &kx, &k0);
        for (int b = 0; b < B; ++b) {
            size_t i = at(l, b, f);
            abc_bn_delta_row(l->delta + i, l->x + i, S, means[f], k, kx, k0);
        }
    }
}

void abc_bias_backward_channels(const layer *l, int f0, int f1)
{
    int S = l->out_h * l->out_w;
    for (int f = f0; f < f1; ++f) {
        double sum = 0;
        for (int b = 0; b < l->batch; ++b) {
            size_t i = at(l, b, f);
            sum += abc_grad_sum_row(l->delta + i, l->output + i, S, l->activation);
        }
        l->bias_updates[f] += (float)sum;
    }
}
