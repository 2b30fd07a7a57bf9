/* The record of a [hada_convolutional] / [hada_connected] layer in a packed
 * deployment file (layout: docs/design.md, "Packed files"): biases; if
 * batch_normalize: scales, rolling mean, rolling variance; the magnitude of
 * every weight segment (st->wmag, n*taps*sw); then each filter's signs of
 * W~ in darknet's weight order, one bit per weight (1: W~ >= +0), the
 * filter's row rounded up to whole bytes. Its size is what the summary
 * reports as packed. The segment kernel's layout (hada_conv_pack.h) is
 * built from these at the first forward, as it is from the shadow weights'
 * W~: it depends on the CPU's kernel, the file does not. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "hada_conv.h"
#include "hada_layers.h"
#include "quant/conv_layer.h"

static size_t row_bytes(const hada_conv_state *st) { return ((size_t)st->K + 7) / 8; }

int hada_conv_pack(layer *l, FILE *fp)
{
    hada_conv_state *st = hada_conv_st(l);
    if (!st->frozen && !st->wq_valid) hada_conv_quantize_weights(l);
    int r = abc_bias_bn_io(l, fp, 1);
    r |= abc_floats_io(st->wmag, (size_t)l->n * st->taps * st->sw, fp, 1);
    size_t nb = row_bytes(st);
    unsigned char *row = abc_xmalloc(nb);
    for (int f = 0; f < l->n && !r; ++f) {
        memset(row, 0, nb);
        const float *wq = st->wq + (size_t)f * st->K;
        for (int i = 0; i < st->K; ++i)
            if (!signbit(wq[i])) row[i / 8] |= (unsigned char)(1u << (i % 8));
        r |= fwrite(row, 1, nb, fp) == nb ? 0 : -1;
    }
    free(row);
    return r;
}

int hada_conv_unpack(layer *l, FILE *fp)
{
    hada_conv_state *st = hada_conv_st(l);
    size_t nmag = (size_t)l->n * st->taps * st->sw;
    int r = abc_bias_bn_io(l, fp, 0);
    r |= abc_floats_io(st->wmag, nmag, fp, 0);
    for (size_t i = 0; i < nmag && !r; ++i)
        if (!(st->wmag[i] >= 0.f)) r = -1; /* a mean magnitude: never negative or NaN */
    size_t nb = row_bytes(st);
    unsigned char *row = abc_xmalloc(nb);
    for (int f = 0; f < l->n && !r; ++f) {
        if (fread(row, 1, nb, fp) != nb) r = -1;
        float *wq = st->wq + (size_t)f * st->K;
        for (int t = 0; t < st->taps && !r; ++t)
            for (int s = 0; s < st->sw; ++s) {
                int c0, c1;
                size_t base = hada_wseg(l, st, f, t, s, &c0, &c1) - (size_t)f * st->K;
                float delta = st->wmag[((size_t)f * st->taps + t) * st->sw + s];
                for (int ch = c0; ch < c1; ++ch) {
                    size_t i = base + (size_t)ch * st->taps;
                    wq[i] = row[i / 8] >> (i % 8) & 1 ? delta : -delta;
                }
            }
    }
    free(row);
    if (r) return r;
    st->frozen = st->wq_valid = 1;
    st->packed_valid = 0;
    /* the shadow weights are not part of the model: give their pages back (calloc maps them lazily) */
    free(l->weights);
    l->weights = abc_xcalloc((size_t)l->nweights, sizeof(float));
    return 0;
}
