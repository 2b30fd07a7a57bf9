/* [abc_convolutional]: an ABC-Net convolution (Lin, Zhao, Pan 2017; spec in
 * docs/methods.md section 1). Weights W (shadow, float, trained) are
 * approximated by sum_m alpha_m B_m with B_m = sgn(W - mean + u_m std) and
 * alpha by ridge least squares; the input R by sum_n beta_n H_n(R) with
 * H_n = +1 iff R >= 0.5 - v_n, else -1 (N = 0: the float input, a BWN).
 *
 * The layer is libdarknet's `layer`; everything darknet has no field for is
 * in one abc_conv_state block owned through l.binary_weights (libdarknet's
 * free_layer frees that pointer, and a plugin layer never sets binary=1, so
 * nothing in libdarknet reads it). The block is a single allocation, arrays
 * included, so free_layer frees all of it.
 *
 * Two paths computing the same function:
 *   training (net.train = 1, or N = 0): float simulation, one im2col + GEMM
 *     with the quantized weights on the quantized input; straight-through
 *     backward (abc_conv_train.c);
 *   inference (net.train = 0, N > 0): weight bases packed once, inputs packed
 *     per forward (channel-innermost words, abc_conv_pack.c), the M*N binary
 *     products in one binary GEMM per block of positions, combined with
 *     alpha_m*beta_n, the padded-tap correction, bias or batch norm and the
 *     activation in one pass (abc_conv_packed.c). */
#ifndef ABC_CONV_H
#define ABC_CONV_H

#include <float.h>
#include <stdint.h>

#include "darknet.h"
#include "quant/wquant.h"

#define ABC_MAX_BASES 8

enum { ABC_GRAD_STE = 0, ABC_GRAD_PAPER = 1 };
enum { ABC_SCALE_LAYER = 0, ABC_SCALE_CHANNEL = 1 };

/* What the cfg decides (abc_conv.c parses it). */
typedef struct {
    int M, N;                       /* weight / activation bases */
    float u[ABC_MAX_BASES];         /* weight shifts */
    float v[ABC_MAX_BASES];         /* initial activation shifts */
    float beta[ABC_MAX_BASES];      /* initial activation scales */
    int scale;                      /* ABC_SCALE_LAYER or ABC_SCALE_CHANNEL (alpha groups) */
    int grad;                       /* ABC_GRAD_STE or ABC_GRAD_PAPER */
    /* binarize=darknet: darknet's own [convolutional] binary=1 / xnor=1 (M = 1, N = 0 or 1, per-filter alpha):
     * B = +1 iff W > 0, alpha = mean |W| of the filter, input +1 iff R > 0 (scale 1, not trained) */
    int darknet;
    /* weight_quantizer= other than abc (M = 1): soft weights P_beta(W) in training, sign and alpha = 1 at
     * inference (quant/wquant.h); NULL: ABC-Net's bases */
    const abc_wquant *wquant;
    float wq_beta, wq_growth; /* beta=, beta_growth= */
    int wq_every;             /* beta_every= */
} abc_conv_opts;

typedef struct {
    abc_conv_opts o;
    int G;             /* alpha groups: 1 (per layer) or l.n (per output channel) */
    int K, P;          /* c*size*size, out_h*out_w */
    /* packed (abc_conv_pack.h): 64-bit words per pixel ceil(c/64), per kernel row ceil(size*c/64), per
     * product row size*rk, per padded image row ceil((w+2 pad)*c/64) + 1 */
    int cw, rk, words, rw;
    int surrogate;     /* tests only: W~ = W and H_n(R) = clip(R+v_n,0,1) (differentiable) */
    int wq_valid;      /* wq/alpha hold the current weights' quantization */
    int packed_valid;  /* wbits/wcorr hold the packing of wq's bases */
    int frozen;        /* loaded from a packed file: wq, wbits and alpha are the model, l.weights unused */
    int wq_soft;       /* wq holds a quantizer's soft weights (training), not the hard model */
    float beta_now;    /* the quantizer's beta of the last training or soft forward (0: none yet) */
    float near_binary; /* share of the soft weights within 0.01 of +-1 then */
    float *alpha;      /* M*G, alpha[g*M + m] */
    float *beta, *v;   /* N each: trained */
    float *beta_upd, *v_upd; /* N each: accumulated gradients (darknet's *_updates convention) */
    float *wq;         /* nweights: sum_m alpha_m B_m */
    float *gw;         /* nweights: scratch for the weight gradient */
    float *aq;         /* batch*inputs: quantized input of the last training forward */
    float *da;         /* batch*inputs: gradient w.r.t. the quantized input */
    uint64_t *wbits;   /* n * M * words: packed weight bases, row f*M + m (abc_conv_pack.h layout) */
    /* Padded-tap correction by border class: output row oy is in row class rcls[oy] (which kernel rows fall
     * inside the image), column ox in ccls[ox]; class (r, c) of filter f has wcorr[f*nrc*ncc + r*ncc + c] =
     * sum_m alpha_m sum of B_m over the channels of its padded taps. */
    int nrc, ncc;
    int32_t *rcls, *ccls; /* out_h, out_w */
    float *wcorr;      /* n * nrc * ncc */
} abc_conv_state;

static inline abc_conv_state *abc_conv_st(const layer *l) { return (abc_conv_state *)(void *)l->binary_weights; }

/* Default shifts (u evenly spaced in [-1,1]; v from the paper's table S4). */
void abc_conv_default_opts(abc_conv_opts *o, int M, int N);

/* Builds the layer (weights random as darknet's conv: scale sqrt(2/K)). */
layer abc_conv_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
                    int batch_normalize, const abc_conv_opts *o);
/* Re-sizes for a new input (keeps the trained parameters). */
void abc_conv_resize(layer *l, int w, int h);
/* From the packed bits (wbits) and alpha: wq, and the padded-tap
 * corrections (abc_conv_pack.c); used where no shadow weights exist. */
void abc_conv_weights_from_bits(layer *l);
void abc_conv_pack_corrections(layer *l);
/* wq valid: quantized from the shadow weights, or (frozen) built from the bits on first use. */
void abc_conv_ensure_wq(layer *l);

/* Quantizes the shadow weights into st->wq; refit = 1 re-solves alpha
 * (training), 0 keeps the frozen alpha. Invalidates the packing. */
void abc_conv_quantize_weights(layer *l, int refit);
/* abc_conv_quantize_weights(l, 0), then st->wq (the registry's quantized_weights). */
const float *abc_conv_quantized(layer *l);
/* A weight quantizer's soft weights at the schedule's beta for iteration it into st->wq, recording that beta
 * and the share near +-1; training (train = 1) also takes the step of beta (MD-tanh keeps its primal). */
void abc_conv_quantize_soft(layer *l, size_t it, int train);
/* Sign of a weight base element: W - mean + u std >= 0 (binarize=darknet: W > 0). */
static inline int abc_conv_wbit(const abc_conv_state *st, float w, float mean, float ustd)
{
    if (st->o.wquant && !st->o.wquant->centred) return w >= 0.f;
    return st->o.darknet ? w > 0.f : w - mean + ustd >= 0.f;
}
/* Activation base n: +1 iff R >= thr, thr = 0.5 - v_n; binarize=darknet: R > 0, which is R >= FLT_MIN here
 * (libdarknet, built with -Ofast, sets the CPU to treat subnormal inputs as zero in every process that loads it,
 * so a subnormal R counts as 0 in darknet's comparison as in this one). */
static inline int abc_conv_abit(float r, float thr) { return r >= thr; }
static inline float abc_conv_thr(const abc_conv_state *st, int n) { return st->o.darknet ? FLT_MIN : 0.5f - st->v[n]; }
/* Mean and population std of group g of the weights. */
void abc_conv_group_stats(const layer *l, int g, float *mean, float *std);

void abc_conv_forward(layer l, network net);
void abc_conv_backward(layer l, network net);
void abc_conv_update(layer l, update_args a);

/* The two forward paths (abc_conv_forward chooses). */
void abc_conv_forward_sim(layer l, network net);
void abc_conv_forward_packed(layer l, network net);

#endif
