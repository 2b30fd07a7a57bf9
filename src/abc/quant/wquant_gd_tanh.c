/* GD-tanh (the baseline of Ajanthan et al. 2021): the forward on tanh(beta w), the exact gradient
 * beta (1 - tanh^2) through it; no weight decay. */
#include "wquant.h"

static void grad(const float *w, const float *wq, int len, float beta, float *g)
{
    (void)w;
    for (int i = 0; i < len; ++i) g[i] *= beta * (1.f - wq[i] * wq[i]);
}

const abc_wquant abc_wquant_gd_tanh = {"gd_tanh", "gradient descent through tanh(beta w)", 0, 0, 0, 1.f, 1.02f, 200,
                                       abc_wquant_tanh, grad};
