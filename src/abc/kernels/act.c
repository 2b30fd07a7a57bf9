#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math") /* lets the row loops vectorize; same results */
#endif
#include "act.h"

#include <math.h>

#include "base/darknet_private.h"

void abc_act_row(float *x, int n, ACTIVATION a)
{
    switch (a) {
    case LINEAR: return;
    case LEAKY:
        for (int i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.1f * x[i];
        return;
    case RELU:
        for (int i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.0f;
        return;
    case RELIE:
        for (int i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.01f * x[i];
        return;
    case RAMP:
        for (int i = 0; i < n; ++i) x[i] = (x[i] > 0 ? x[i] : 0.0f) + 0.1f * x[i];
        return;
    case LOGISTIC:
        for (int i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + expf(-x[i]));
        return;
    default: activate_array(x, n, a); return;
    }
}

void abc_grad_row(const float *y, int n, ACTIVATION a, float *delta)
{
    switch (a) {
    case LINEAR: return;
    case LEAKY:
        for (int i = 0; i < n; ++i) delta[i] *= y[i] > 0 ? 1.0f : 0.1f;
        return;
    case RELU:
        for (int i = 0; i < n; ++i) delta[i] = y[i] > 0 ? delta[i] : 0.0f * delta[i];
        return;
    case RELIE:
        for (int i = 0; i < n; ++i) delta[i] *= y[i] > 0 ? 1.0f : 0.01f;
        return;
    case RAMP:
        for (int i = 0; i < n; ++i) delta[i] *= (y[i] > 0 ? 1.0f : 0.0f) + 0.1f;
        return;
    case LOGISTIC:
        for (int i = 0; i < n; ++i) delta[i] *= (1 - y[i]) * y[i];
        return;
    default: gradient_array(y, n, a, delta); return;
    }
}
