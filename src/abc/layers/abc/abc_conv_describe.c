/* What an ABC layer runs at inference, and its parameter bytes packed
 * (one bit per weight-base element) against the float layer it replaces. */
#include <stdio.h>

#include "abc_conv.h"
#include "abc_conv_pack.h"
#include "abc_layers.h"
#include "base/mode.h"
#include "kernels/bgemm_kernels.h"
#include "kernels/bitpack.h"

void abc_conv_describe(const layer *l, char *buf, size_t n, size_t *packed_bytes, size_t *float_bytes)
{
    const abc_conv_state *st = abc_conv_st(l);
    int M = st->o.M, N = st->o.N;
    size_t common = (size_t)l->n * (l->batch_normalize ? 4 : 1) * sizeof(float); /* biases, batch norm */
    *float_bytes = (size_t)l->nweights * sizeof(float) + common;
    *packed_bytes = (size_t)M * l->n * st->words * sizeof(uint64_t) + ((size_t)M * st->G + 2 * (size_t)N) * sizeof(float) +
                    common;
    char path[192];
    if (N == 0)
        snprintf(path, sizeof path, "binary weights on float activations: float GEMM on the quantized weights");
    else if (abc_mode_choice(ABC_MODE_INFERENCE) != ABC_INFERENCE_PACKED)
        snprintf(path, sizeof path, "float simulation (ABC_INFERENCE=%s)", abc_mode_get(ABC_MODE_INFERENCE));
    else
        snprintf(path, sizeof path, "packed: %d binary products in one GEMM per block, kernel %s, packer %s", M * N,
                 abc_kernel_chosen_name(&abc_bgemm_family), abc_kernel_chosen_name(&abc_bitpack_family));
    if (st->o.wquant)
        snprintf(buf, n, "binary weights by %s (%s; beta %g x%g every %d), sign at inference, %d-bit rows; %s",
                 st->o.wquant->name, st->o.wquant->what, st->o.wq_beta, st->o.wq_growth, st->o.wq_every, st->K, path);
    else if (st->o.darknet)
        snprintf(buf, n, "darknet's %s=1 (signs of W > 0 times mean |W| per filter%s), %d-bit rows; %s",
                 N ? "xnor" : "binary", N ? ", inputs R > 0" : "", st->K, path);
    else
        snprintf(buf, n, "ABC (M,N)=(%d,%d), %d-bit rows, alphas per %s; %s", M, N, st->K,
                 st->o.scale == ABC_SCALE_CHANNEL ? "channel" : "layer", path);
}

void abc_conv_bits(const layer *l, int *weight_bits, int *input_bits)
{
    const abc_conv_state *st = abc_conv_st(l);
    *weight_bits = st->o.M;
    *input_bits = st->o.N ? st->o.N : 32;
}
