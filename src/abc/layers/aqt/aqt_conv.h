/* [quant_convolutional] and [quant_connected]: AQT's quantization-aware int2..int8 layers (docs/methods.md
 * section 4). Weights per output channel, symmetric: s_w = (2^(b-1) - 1) / max|w|, q = round(s_w w). Inputs
 * per tensor: unsigned, q = clip(floor(s_a x), 0, 2^b - 1), s_a = (2^b - 1) / hi, while the inputs have never
 * been negative; else 2^b levels over [lo, hi] with an integer zero point z = round(-lo s_a),
 * s_a = (2^b - 1) / (hi - lo), q = clip(floor(s_a x), -z, 2^b - 1 - z); hi and lo are EMAs (coefficient 0.1)
 * of the training batches' max and min, saved in the
 * .weights record after the float layer's. Until quant_start iterations the inputs pass unquantized (the
 * bounds still learn). Gradients straight through round and floor, zero where an input is clipped.
 *
 * Training runs the float product of the dequantized weights and inputs on the fast float layers
 * (quant/quant_product.c). Inference runs the integer product (kernels/iconv.h, kernels/igemm.h: the inputs
 * as uint8 q + z, times int8 weights, exact int32 sums), then sum * (1 / (s_w s_a)) per channel, then bias
 * or batch norm and the activation; ABC_INFERENCE=sim computes the same sums in float from the integer
 * values, so both paths give the same outputs bit for bit while the float sums stay exact (below 2^24). */
#ifndef AQT_CONV_H
#define AQT_CONV_H

#include <stdint.h>

#include "darknet.h"

enum { AQT_EMA_WINDOW = 10 }; /* the EMA coefficient is 1 / AQT_EMA_WINDOW */

typedef struct {
    int wbits, abits, quant_start;
} aqt_opts;

typedef struct {
    aqt_opts o;
    /* depth (c x taps); the integers' depth taps x cp, tap-major, each tap's channels rounded up to 4 so that a
     * group of 4 depths is 4 channels of one input pixel; output pixels */
    int connected, K, kp, cp, P;
    int npad; /* filters rounded up to 32 (the direct convolution's vectors) */
    float lo, hi;            /* EMA bounds of the inputs (saved); hi = lo = 0: not calibrated */
    /* the last training forward: whether its inputs were quantized, and their scale and clip range */
    int quantized;
    float s_a, qlo, qhi;
    float *sw;     /* n: weight scale per filter */
    float *kf;     /* npad: 1 / (s_w s_a), the sums' scale at inference (0 past n) */
    float *wq;     /* nweights: dequantized weights (training), or their integers (inference, sim) */
    float *aq;     /* batch x inputs: the quantized inputs, dequantized */
    float *gw, *da;
    int8_t *w8;    /* n x kp: integer weights, tap-major (padding 0) */
    int32_t *wsum; /* n: sum of each filter's integers */
    int w8_valid;  /* sw, w8, wsum and wq hold the weights' quantization */
    int frozen;    /* loaded from a packed file: sw and the integers are the model, l.weights unused */
    int wq_ints;   /* wq holds the integers (inference) rather than the dequantized weights */
    uint32_t *w32; /* the weights as words for the direct convolution (kernels/iconv.h): [kp / 4][npad] */
    int32_t *woff; /* npad: the offset times each filter's sum of integers (0 past n) */
    float *kbn;    /* n: batch norm's scales / (sqrt(rolling variance) + eps), for the rows kernel's stores */
    uint8_t *x8;   /* an image's integers + the offset, padded by pad pixels of the offset on every side:
                    * channels last (cp a pixel), or in planes of 4 channels (the rows kernel, kernels/iconv.h);
                    * connected: the batch's, an image a row */
    uint8_t *col;  /* kp x P (connected: kp x batch): the im2col of x8 in groups of 4 */
    int32_t *acc;  /* n x P (connected: n x batch) */
} aqt_state;

static inline aqt_state *aqt_st(const layer *l) { return (aqt_state *)(void *)l->binary_weights; }

/* ---- aqt_quant.c: the quantizers ---- */
/* Filter scales and integers: sw[f], w8 (n x kp, tap-major, padded), wsum; and wq = q / sw (dequant = 1) or q,
 * in darknet's order. */
void aqt_quantize_weights(const layer *l, aqt_state *st, int dequant);
/* The layouts (w8, wsum, w32, wq) from the integers in wq and the scales sw; wq dequantized when asked. */
void aqt_lay_out_weights(const layer *l, aqt_state *st, int dequant);
/* An input's integer: clip(floor(s x), qlo, qhi) (the one rounding both paths share; NaN gives qlo). Without
 * libm's floorf, which the baseline x86-64 build calls out of line: inside the range |s x| < 256, so the
 * truncation to int is exact and one less than it for a negative non-integer is the floor. */
static inline float aqt_qa(float x, float s, float qlo, float qhi)
{
    float v = x * s;
    if (!(v >= qlo)) return qlo;
    if (v >= qhi) return qhi;
    int t = (int)v;
    return (float)(t - ((float)t > v));
}
/* The input scale and clip range from the bounds and bits; 0 if the bounds are not calibrated. */
int aqt_input_range(const aqt_state *st, float *s, float *qlo, float *qhi);
/* The bounds after one training batch x (n floats): the first batch sets them, later ones move them 1/10. */
void aqt_update_bounds(aqt_state *st, const float *x, size_t n);
/* Bounds without training (a converted model's first inference batch): the means over the images of each one's
 * min and max (as the EMA of batch-1 statistics would settle; the extremes of a large batch are outliers). */
void aqt_calibrate_bounds(aqt_state *st, const float *x, int images, size_t per_image);

/* ---- aqt_train.c ---- */
void aqt_forward(layer l, network net);
void aqt_backward(layer l, network net);
void aqt_update(layer l, update_args a);
/* Whether inference runs the integer kernels (else the float simulation from the integers). */
int aqt_uses_integer(void);

/* ---- aqt_int.c: inference ---- */
/* l.output from the integers: the sums through the integer kernel, or (simulate = 1) as float sums of the
 * same integers; then bias or batch norm (rolling statistics) and the activation. */
void aqt_forward_integer(layer l, network net, int simulate);
/* what the integer path runs for this layer: which direct convolution, or the integer GEMM and its kernel */
void aqt_integer_kernel(const layer *l, char *buf, size_t n);

layer aqt_make(int batch, int h, int w, int c, int n, int size, int stride, int pad, ACTIVATION act,
               int batch_normalize, const aqt_opts *o, int connected);

#endif
