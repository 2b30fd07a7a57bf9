#include "bn.h"

#include <math.h>

#include "act.h"

static size_t at(const layer *l, int b, int f) { return ((size_t)b * l->out_c + f) * l->out_h * l->out_w; }

/* The activation over channels [f0, f1), positions [s0, s1) of image b. */
static void act_block(const layer *l, int b, int f0, int f1, int s0, int s1)
{
    int S = l->out_h * l->out_w;
    if (s0 == 0 && s1 == S) {
        abc_act_row(l->output + at(l, b, f0), (f1 - f0) * S, l->activation);
        return;
    }
    for (int f = f0; f < f1; ++f) abc_act_row(l->output + at(l, b, f) + s0, s1 - s0, l->activation);
}

void abc_bias_act_block(const layer *l, int b, int f0, int f1, int s0, int s1)
{
    for (int f = f0; f < f1; ++f) {
        float *o = l->output + at(l, b, f);
        float bias = l->biases[f];
        for (int s = s0; s < s1; ++s) o[s] += bias;
    }
    act_block(l, b, f0, f1, s0, s1);
}

void abc_bn_infer_block(const layer *l, int b, int f0, int f1, int s0, int s1)
{
    for (int f = f0; f < f1; ++f) {
        size_t base = at(l, b, f);
        float *o = l->output + base, *x = l->x + base;
        float mean = l->rolling_mean[f];
        float k = l->scales[f] / (sqrtf(l->rolling_variance[f]) + .000001f);
        float bias = l->biases[f];
        for (int s = s0; s < s1; ++s) {
            float v = o[s];
            x[s] = v;
            o[s] = (v - mean) * k + bias;
        }
    }
    act_block(l, b, f0, f1, s0, s1);
}

void abc_bn_train_channels(const layer *l, int f0, int f1)
{
    int S = l->out_h * l->out_w, B = l->batch;
    double count = (double)S * B;
    for (int f = f0; f < f1; ++f) {
        double sum = 0, sq = 0;
        for (int b = 0; b < B; ++b) {
            const float *o = l->output + at(l, b, f);
            for (int s = 0; s < S; ++s) {
                sum += o[s];
                sq += (double)o[s] * o[s];
            }
        }
        double mean = sum / count;
        float m = (float)mean;
        float var = (float)((sq - sum * mean) / (count - 1));
        if (var < 0) var = 0; /* rounding of a constant channel */
        l->mean[f] = m;
        l->variance[f] = var;
        l->rolling_mean[f] = l->rolling_mean[f] * .99f + .01f * m;
        l->rolling_variance[f] = l->rolling_variance[f] * .99f + .01f * var;
        float inv = 1.0f / (sqrtf(var) + .000001f);
        float scale = l->scales[f], bias = l->biases[f];
        for (int b = 0; b < B; ++b) {
            size_t base = at(l, b, f);
            float *o = l->output + base, *x = l->x + base, *xn = l->x_norm + base;
            for (int s = 0; s < S; ++s) {
                float v = o[s];
                float n = (v - m) * inv;
                x[s] = v;
                xn[s] = n;
                o[s] = n * scale + bias;
            }
        }
    }
    for (int b = 0; b < B; ++b) act_block(l, b, f0, f1, 0, S);
}

static void grad_channels(const layer *l, int f0, int f1)
{
    int S = l->out_h * l->out_w;
    for (int b = 0; b < l->batch; ++b) {
        size_t base = at(l, b, f0);
        abc_grad_row(l->output + base, (f1 - f0) * S, l->activation, l->delta + base);
    }
}

void abc_bn_backward_channels(const layer *l, int train, int f0, int f1)
{
    int S = l->out_h * l->out_w, B = l->batch;
    const float *means = train ? l->mean : l->rolling_mean;
    const float *vars = train ? l->variance : l->rolling_variance;
    grad_channels(l, f0, f1);
    for (int f = f0; f < f1; ++f) {
        float mean = means[f], var = vars[f];
        double sd = 0, sdn = 0, sdx = 0;
        for (int b = 0; b < B; ++b) {
            size_t base = at(l, b, f);
            const float *d = l->delta + base, *x = l->x + base, *xn = l->x_norm + base;
            for (int s = 0; s < S; ++s) {
                sd += d[s];
                sdn += (double)d[s] * xn[s];
                sdx += (double)d[s] * (x[s] - mean);
            }
        }
        float scale = l->scales[f];
        l->bias_updates[f] += (float)sd;
        l->scale_updates[f] += (float)sdn;
        /* darknet scales delta by `scale` first, then takes these sums of it */
        double inv = 1.0 / sqrt((double)var + .00001f);
        float md = (float)(scale * sd * -inv);
        float vd = (float)(scale * sdx * -.5 * inv * inv * inv);
        l->mean_delta[f] = md;
        l->variance_delta[f] = vd;
        float k = (float)(scale * inv);
        float kx = (float)(vd * 2.0 / ((double)S * B));
        float k0 = (float)(md / ((double)S * B));
        for (int b = 0; b < B; ++b) {
            size_t base = at(l, b, f);
            float *d = l->delta + base;
            const float *x = l->x + base;
            for (int s = 0; s < S; ++s) d[s] = d[s] * k + kx * (x[s] - mean) + k0;
        }
    }
}

void abc_bias_backward_channels(const layer *l, int f0, int f1)
{
    int S = l->out_h * l->out_w;
    grad_channels(l, f0, f1);
    for (int f = f0; f < f1; ++f) {
        double sum = 0;
        for (int b = 0; b < l->batch; ++b) {
            const float *d = l->delta + at(l, b, f);
            for (int s = 0; s < S; ++s) sum += d[s];
        }
        l->bias_updates[f] += (float)sum;
    }
}
