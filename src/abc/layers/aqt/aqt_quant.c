/* The AQT quantizers (aqt_conv.h): weights per filter, inputs per tensor from EMA bounds. */
#include <math.h>
#include <string.h>

#include "aqt_conv.h"

/* w8 (tap-major), wsum, wq (dequantized or the integers) and w32 from the integers in wq (darknet's order) and
 * the scales sw */
void aqt_lay_out_weights(const layer *l, aqt_state *st, int dequant)
{
    int taps = l->size * l->size;
    for (int f = 0; f < l->n; ++f) {
        int8_t *w8 = st->w8 + (size_t)f * st->kp;
        float *wq = st->wq + (size_t)f * st->K;
        int32_t sum = 0;
        memset(w8, 0, (size_t)st->kp);
        for (int k = 0; k < st->K; ++k) { /* darknet's k = c x taps + tap */
            float q = wq[k];
            w8[k % taps * st->cp + k / taps] = (int8_t)q;
            sum += (int32_t)q;
            if (dequant) wq[k] = q / st->sw[f];
        }
        st->wsum[f] = sum;
    }
    /* the direct convolution's words: w8 transposed, [kp / 4][npad], the filters past n 0 */
    int words = st->kp / 4;
    const uint32_t *w8w = (const uint32_t *)(const void *)st->w8;
    for (int g = 0; g < words; ++g)
        for (int f = 0; f < st->npad; ++f) st->w32[(size_t)g * st->npad + f] = f < l->n ? w8w[(size_t)f * words + g] : 0;
    st->w8_valid = 1;
    st->wq_ints = !dequant;
}

void aqt_quantize_weights(const layer *l, aqt_state *st, int dequant)
{
    if (st->frozen) { /* a packed file's integers are the model */
        aqt_lay_out_weights(l, st, 0);
        return;
    }
    float qmax = (float)((1 << (st->o.wbits - 1)) - 1);
    for (int f = 0; f < l->n; ++f) {
        const float *w = l->weights + (size_t)f * st->K;
        float m = 0;
        for (int k = 0; k < st->K; ++k) m = fmaxf(m, fabsf(w[k]));
        float s = m > 0 ? qmax / m : 1.f;
        st->sw[f] = s;
        float *wq = st->wq + (size_t)f * st->K;
        for (int k = 0; k < st->K; ++k) wq[k] = fminf(fmaxf(rintf(w[k] * s), -qmax), qmax);
    }
    aqt_lay_out_weights(l, st, dequant);
}

int aqt_input_range(const aqt_state *st, float *s, float *qlo, float *qhi)
{
    int b = st->o.abits;
    if (st->lo >= 0) { /* never negative: unsigned */
        if (!(st->hi > 0)) return 0;
        *qlo = 0, *qhi = (float)((1 << b) - 1);
        *s = *qhi / st->hi;
        return 1;
    }
    /* negative inputs: all 2^b levels over [lo, hi], an integer zero point (the kernels' offset) */
    float levels = (float)((1 << b) - 1);
    *s = levels / (st->hi - st->lo);
    float zp = rintf(-st->lo * *s);
    *qlo = -zp, *qhi = levels - zp;
    return 1;
}

static void min_max(const float *x, size_t n, float *lo, float *hi)
{
    *lo = x[0], *hi = x[0];
    for (size_t i = 1; i < n; ++i) *lo = fminf(*lo, x[i]), *hi = fmaxf(*hi, x[i]);
    *lo = fminf(*lo, 0.f), *hi = fmaxf(*hi, 0.f);
}

void aqt_calibrate_bounds(aqt_state *st, const float *x, int images, size_t per_image)
{
    double lo = 0, hi = 0;
    for (int b = 0; b < images; ++b) {
        float l, h;
        min_max(x + (size_t)b * per_image, per_image, &l, &h);
        lo += l, hi += h;
    }
    st->lo = (float)(lo / images), st->hi = (float)(hi / images);
}

void aqt_update_bounds(aqt_state *st, const float *x, size_t n)
{
    if (!n) return;
    float lo, hi;
    min_max(x, n, &lo, &hi);
    if (st->lo == 0 && st->hi == 0) {
        st->lo = lo, st->hi = hi;
        return;
    }
    const float a = 1.f / AQT_EMA_WINDOW;
    st->lo += a * (lo - st->lo);
    st->hi += a * (hi - st->hi);
}
