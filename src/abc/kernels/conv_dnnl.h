/* The bf16 training passes of a convolution on Debian's oneDNN (libdnnl): forward, backward data and
 * backward weights in darknet's layouts (NCHW fp32 tensors, OIHW fp32 weights, no bias), with bf16
 * operands rounded to nearest even and fp32 sums and outputs, as the project's own bf16 GEMM. */
#ifndef ABC_CONV_DNNL_H
#define ABC_CONV_DNNL_H

typedef struct {
    int batch, c, h, w;  /* input */
    int n, size, stride, pad;
    int out_h, out_w;
} abc_conv_geom;

/* 1 if oneDNN has a fast bf16 kernel (not its reference or im2col ones) for every pass of this
 * convolution on this CPU and ABC_TRAIN_CONV does not say `own`; 0 otherwise (the caller then runs its
 * own im2col + GEMM). Call on the pool's calling thread, outside pool tasks. */
int abc_dnnl_conv_usable(const abc_conv_geom *g);

/* out = conv(in, w): overwritten. */
void abc_dnnl_conv_forward(const abc_conv_geom *g, const float *in, const float *w, float *out);

/* dw += the weight gradient; din (NULL: none) += the input gradient (= for 1x1 kernels, as darknet). */
void abc_dnnl_conv_backward(const abc_conv_geom *g, const float *in, const float *w, const float *dout, float *dw,
                            float *din);

/* "oneDNN 2.6.3 (AVX512-BF16)": the library and the bf16 instructions it runs here, for trainspeed. */
const char *abc_dnnl_conv_about(void);

#endif
