/* Smooth deterministic binary weights, the project's reading of Shulman's group weight transformation (only
 * the abstract was available, docs/methods.md section 3): each group (an output filter with scale=channel) is
 * standardised, z = (w - mean) / std, and projected, wq = tanh(beta z), a deterministic, differentiable map
 * whose limit is the binary state sign(w - mean); backpropagation is exact through all of it (the group's mean
 * and std included), with no straight-through step; the ordinary recipe applies (weight decay kept). */
#include <math.h>

#include "wquant.h"

#define SMOOTH_EPS 1e-8

static void stats(const float *w, int len, double *mean, double *sd)
{
    double s = 0, s2 = 0;
    for (int i = 0; i < len; ++i) s += w[i];
    *mean = s / len;
    for (int i = 0; i < len; ++i) s2 += (w[i] - *mean) * (w[i] - *mean);
    *sd = sqrt(s2 / len + SMOOTH_EPS);
}

static void soft(const float *w, int len, float beta, float *wq)
{
    double mean, sd;
    stats(w, len, &mean, &sd);
    for (int i = 0; i < len; ++i) wq[i] = tanhf(beta * (float)((w[i] - mean) / sd));
}

/* h = g beta (1 - wq^2) is the gradient of z; through z = (w - mean) / sd:
 * dw = (h - mean(h) - z mean(h z)) / sd. */
static void grad(const float *w, const float *wq, int len, float beta, float *g)
{
    double mean, sd, mh = 0, mhz = 0;
    stats(w, len, &mean, &sd);
    for (int i = 0; i < len; ++i) {
        double h = (double)g[i] * beta * (1.0 - (double)wq[i] * wq[i]), z = (w[i] - mean) / sd;
        mh += h;
        mhz += h * z;
    }
    mh /= len;
    mhz /= len;
    for (int i = 0; i < len; ++i) {
        double h = (double)g[i] * beta * (1.0 - (double)wq[i] * wq[i]), z = (w[i] - mean) / sd;
        g[i] = (float)((h - mh - z * mhz) / sd);
    }
}

const abc_wquant abc_wquant_smooth = {"smooth", "group-standardised tanh(beta z), exact gradient", 1, 1, 0, 1.f, 1.02f,
                                      200, soft, grad};
