/* The record of an [abc_convolutional] / [abc_connected] layer in a packed
 * deployment file (layout: docs/design.md, "Packed files"): biases; if
 * batch_normalize: scales, rolling mean, rolling variance; alpha (M*G);
 * beta (N); v (N); then the weight bases as the binary GEMM reads them
 * (st->wbits: n*M rows of `words` 64-bit words, abc_conv_pack.h). Its size is
 * what abc_conv_describe reports as packed. The batch norm is stored as
 * trained, not folded: the packed path folds it when it builds its
 * coefficients, and the float-activation path (N = 0) computes it unfolded,
 * so either path gives the bits the unpacked model gives. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abc_conv.h"
#include "abc_conv_pack.h"
#include "abc_layers.h"
#include "base/util.h"
#include "quant/conv_layer.h"

static int scales_io(layer *l, abc_conv_state *st, FILE *fp, int save)
{
    int r = abc_bias_bn_io(l, fp, save);
    r |= abc_floats_io(st->alpha, (size_t)st->o.M * st->G, fp, save);
    r |= abc_floats_io(st->beta, (size_t)st->o.N, fp, save);
    return r | abc_floats_io(st->v, (size_t)st->o.N, fp, save);
}

static size_t wbits_words(const layer *l, const abc_conv_state *st) { return (size_t)st->o.M * l->n * st->words; }

int abc_conv_pack(layer *l, FILE *fp)
{
    abc_conv_state *st = abc_conv_st(l);
    if (!st->frozen && !st->wq_valid) abc_conv_quantize_weights(l, 0);
    if (!st->packed_valid) abc_conv_pack_weights(l);
    int r = scales_io(l, st, fp, 1);
    size_t n = wbits_words(l, st);
    return r | (fwrite(st->wbits, sizeof(uint64_t), n, fp) == n ? 0 : -1);
}

int abc_conv_unpack(layer *l, FILE *fp)
{
    abc_conv_state *st = abc_conv_st(l);
    size_t n = wbits_words(l, st);
    if (scales_io(l, st, fp, 0) || fread(st->wbits, sizeof(uint64_t), n, fp) != n) return -1;
    const float *sc[] = {st->alpha, st->beta, st->v};
    size_t nsc[] = {(size_t)st->o.M * st->G, (size_t)st->o.N, (size_t)st->o.N};
    for (int k = 0; k < 3; ++k)
        for (size_t i = 0; i < nsc[k]; ++i)
            if (!isfinite(sc[k][i])) return -1;
    /* spare bits of a kernel row must be 0 (the product counts each as +1 and takes the count off) */
    int spare = st->rk * 64 - l->size * l->c;
    if (spare > 0)
        for (size_t r = 0; r < n / (size_t)st->rk; ++r)
            if (st->wbits[r * st->rk + st->rk - 1] >> (64 - spare)) return -1;
    abc_conv_pack_corrections(l);
    st->frozen = 1;
    st->wq_valid = 0; /* wq is built from the bits if a float path asks for it (N = 0, ABC_INFERENCE=sim) */
    /* the shadow weights are not part of the model: give their pages back (calloc maps them lazily) */
    free(l->weights);
    l->weights = abc_xcalloc((size_t)l->nweights, sizeof(float));
    return 0;
}
