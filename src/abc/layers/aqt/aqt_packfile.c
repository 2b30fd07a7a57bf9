/* The record of a [quant_convolutional] / [quant_connected] layer in a packed deployment file (layout:
 * docs/design.md, "Packed files"): biases; if batch_normalize: scales, rolling mean, rolling variance; the
 * filters' weight scales s_w (n); the input bounds lo, hi; then every weight's integer in darknet's order,
 * weight_bits bits each in two's complement, least significant bit first, the last byte padded with 0. Its
 * size is describe()'s packed size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aqt_conv.h"
#include "aqt_layers.h"
#include "base/util.h"
#include "quant/conv_layer.h"

static size_t int_bytes(const layer *l) { return ((size_t)l->nweights * aqt_st(l)->o.wbits + 7) / 8; }

int aqt_pack(layer *l, FILE *fp)
{
    aqt_state *st = aqt_st(l);
    if (!st->frozen && !(st->w8_valid && st->wq_ints)) aqt_quantize_weights(l, st, 0);
    float b[2] = {st->lo, st->hi};
    int r = abc_bias_bn_io(l, fp, 1) | abc_floats_io(st->sw, (size_t)l->n, fp, 1) | abc_floats_io(b, 2, fp, 1);
    size_t nb = int_bytes(l);
    unsigned char *bits = abc_xcalloc(nb, 1);
    unsigned wb = (unsigned)st->o.wbits, mask = (1u << wb) - 1;
    for (size_t i = 0; i < (size_t)l->nweights; ++i) {
        unsigned v = (unsigned)(int)st->wq[i] & mask;
        for (unsigned k = 0; k < wb; ++k)
            if (v >> k & 1) bits[(i * wb + k) / 8] |= (unsigned char)(1u << ((i * wb + k) % 8));
    }
    r |= fwrite(bits, 1, nb, fp) == nb ? 0 : -1;
    free(bits);
    return r;
}

int aqt_unpack(layer *l, FILE *fp)
{
    aqt_state *st = aqt_st(l);
    float b[2];
    int r = abc_bias_bn_io(l, fp, 0) | abc_floats_io(st->sw, (size_t)l->n, fp, 0) | abc_floats_io(b, 2, fp, 0);
    for (int f = 0; f < l->n && !r; ++f)
        if (!(st->sw[f] > 0) || !isfinite(st->sw[f])) r = -1;
    if (!r && (!isfinite(b[0]) || !isfinite(b[1]) || b[0] > 0 || b[1] < 0)) r = -1;
    size_t nb = int_bytes(l);
    unsigned char *bits = abc_xmalloc(nb);
    if (!r && fread(bits, 1, nb, fp) != nb) r = -1;
    int wb = st->o.wbits, qmax = (1 << (wb - 1)) - 1;
    for (size_t i = 0; i < (size_t)l->nweights && !r; ++i) {
        int v = 0;
        for (int k = 0; k < wb; ++k) v |= (bits[(i * wb + k) / 8] >> ((i * wb + k) % 8) & 1) << k;
        if (v >> (wb - 1)) v -= 1 << wb; /* two's complement */
        if (v < -qmax || v > qmax) r = -1;
        st->wq[i] = (float)v;
    }
    free(bits);
    if (r) return r;
    st->lo = b[0], st->hi = b[1];
    st->frozen = 1;
    aqt_lay_out_weights(l, st, 0);
    /* the shadow weights are not part of the model: give their pages back (calloc maps them lazily) */
    free(l->weights);
    l->weights = abc_xcalloc((size_t)l->nweights, sizeof(float));
    return 0;
}
