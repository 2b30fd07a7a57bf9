/* [hada_convolutional] and [hada_connected]: HadaNet layers (Akhauri 2019;
 * spec in docs/methods.md section 2). Weights and inputs are replaced by
 * Hadamard products delta (.) sgn(X): the sign of every element times the
 * mean magnitude of its segment.
 *
 * Segments run along the input channels at each kernel position, so that
 * weight and activation segments line up in the packed reduction order:
 *   weights: filter f, tap (ky,kx), channels [s*bw, min((s+1)*bw, c)):
 *            W~ = delta_w * sgn(W), delta_w = mean |W| over the segment;
 *   inputs:  image b, pixel (y,x), channels [s*ba, min((s+1)*ba, c)):
 *            A  = delta_a * sgn(R), delta_a = mean |R| over the segment;
 *            ba = 1 keeps the float input (the paper's HBWN).
 * A partial last segment uses its own mean; sgn(0) = +1. [hada_connected]
 * is the 1x1 convolution of a 1x1 image with `inputs` channels, so its
 * segments are runs of consecutive inputs. When both bw and ba are > 1 the
 * larger must be a multiple of the smaller: the product then splits into
 * segments of g = min(bw, ba) channels, each one popcount and one multiply
 * of the two magnitudes (Eq. 7 with the 2*popcount - length correction).
 * Zero padding is exact for free: a padded pixel has delta_a = 0.
 *
 * Training (net.train = 1): every forward first mean-centres each filter's
 * shadow weights and clips them to [-1, 1] in place, quantizes, and runs the
 * float simulation
 * (quantized weights times quantized input through the fast float layers).
 * Backward, weights (key gradient):
 *   ste (default): dW_i = dW~_i 1[|W_i| <= 1] (straight through);
 *   paper: Eq. 6, dW_i = (1/len) sgn(W_i) sum_{j in seg(i)} dW~_j sgn(W_j) + delta_i dW~_i 1[|W_i| <= 1]
 *          (the magnitudes, about 0.05, scale the step: SGD needs a larger rate);
 * inputs (key input_gradient):
 *   segment (default): the same chain rule through the segment's magnitude,
 *          dR_i = (1/len) sgn(R_i) sum_{j in seg(i)} dA_j sgn(R_j) + delta_a dA_i 1[|R_i| <= 1];
 *   paper: the straight-through mask alone, dR = dA 1[|R| <= 1] (XNOR-Net's).
 * Inference (net.train = 0): ba > 1 runs the packed segment kernel
 * (hada_conv_packed.c); ba = 1 runs the float product on W~.
 *
 * The layer's extra state lives in one block owned through l.binary_weights
 * (as the ABC layers do; libdarknet's free_layer frees it). */
#ifndef HADA_CONV_H
#define HADA_CONV_H

#include <stdint.h>

#include "darknet.h"

#define HADA_MAX_SEGMENT 4096

enum { HADA_GRAD_STE = 0, HADA_GRAD_PAPER = 1 };        /* gradient */
enum { HADA_XGRAD_SEGMENT = 0, HADA_XGRAD_PAPER = 1 };   /* input_gradient */

typedef struct {
    int bw, ba;  /* weight_segment, activation_segment (1 = full precision) */
    int grad;    /* HADA_GRAD_* */
    int xgrad;   /* HADA_XGRAD_* */
} hada_conv_opts;

typedef struct {
    hada_conv_opts o;
    int K, P;          /* c*size*size, out_h*out_w */
    int taps;          /* size*size */
    int sw;            /* weight segments per tap: ceil(c / bw) */
    int connected;     /* [hada_connected] (weights record in darknet's [connected] order) */
    int surrogate;     /* tests only: the functions the backward differentiates exactly (clip(x) = min(max(x, -1), 1)),
                        * no centring: W~ = delta_w clip(W) (gradient=paper) or clip(W) (ste); A = delta_a clip(R)
                        * (input_gradient=segment) or clip(R) (paper) */
    int wq_valid;      /* wq/wmag hold the current weights' quantization */
    int packed_valid;  /* the packed weights (hada_conv_packed.c) match wq */
    int frozen;        /* loaded from a packed file: wq and wmag are the model, l.weights unused */
    float *wq;         /* nweights: W~, darknet order (filter, channel, ky, kx) */
    float *wmag;       /* n * taps * sw: delta_w of (filter f, tap t, segment s) at (f*taps + t)*sw + s */
    float *gw;         /* nweights: scratch for dW~ */
    float *aq;         /* batch*inputs: quantized input of the last forward */
    float *da;         /* batch*inputs: gradient w.r.t. the quantized input */
    /* Packed inference weights (layout: hada_conv_pack.h). */
    uint64_t *wbits;   /* also holds, after the packed rows, the weights in the chosen kernel's row panels */
    float *wmag_g;
    size_t wbits_words, wmag_g_floats;
    int wpanel_mr;     /* rows of those panels (the kernel's mr), 0: not built */
} hada_conv_state;

static inline hada_conv_state *hada_conv_st(const layer *l) { return (hada_conv_state *)(void *)l->binary_weights; }

/* Builds the layer (weights random as darknet's conv). connected: see above. */
layer hada_conv_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
                     int batch_normalize, const hada_conv_opts *o, int connected);
void hada_conv_resize(layer *l, int w, int h);

/* Segment bounds along c channels for segment length len: segment s covers [s*len, min((s+1)*len, c)). */
static inline int hada_nseg(int c, int len) { return (c + len - 1) / len; }

/* Weight segment s of tap t of filter f: its channels [*c0, *c1); channel ch's weight is at base + ch * taps
 * (darknet's filter, channel, ky, kx order). */
static inline size_t hada_wseg(const layer *l, const hada_conv_state *st, int f, int t, int s, int *c0, int *c1)
{
    *c0 = s * st->o.bw;
    *c1 = *c0 + st->o.bw < l->c ? *c0 + st->o.bw : l->c;
    return (size_t)f * l->c * st->taps + t;
}

/* Quantization (hada_conv_quant.c). */
/* In place: every filter's weights minus their mean, clipped to [-1, 1] (each training forward). */
void hada_conv_centre_weights(layer *l);
/* W~ and delta_w from l.weights into st->wq / st->wmag. */
void hada_conv_quantize_weights(layer *l);
/* A from R for `batch` images of l's input shape (ba = 1: a copy). */
void hada_conv_quantize_input(const layer *l, const float *x, float *aq, int batch);
/* sgn with the project's tie rule (sgn(0) = +1). */
static inline float hada_sgn(float x) { return x >= 0.f ? 1.f : -1.f; }
/* sgn, or the surrogate's clip(x, -1, 1). */
static inline float hada_sgn_or_clip(int surrogate, float x)
{
    if (!surrogate) return hada_sgn(x);
    return x < -1.f ? -1.f : x > 1.f ? 1.f : x;
}

void hada_conv_forward(layer l, network net);
void hada_conv_backward(layer l, network net);
void hada_conv_update(layer l, update_args a);

/* The two inference paths (hada_conv_forward chooses; ABC_INFERENCE=sim forces the simulation). */
void hada_conv_forward_sim(layer l, network net);
void hada_conv_forward_packed(layer l, network net);
/* 1 if this layer runs the packed kernel at inference. */
int hada_conv_uses_packed(const layer *l);

#endif
