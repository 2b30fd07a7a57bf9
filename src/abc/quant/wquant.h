/* Weight quantizers of the one-base binary layers ([abc_convolutional] / [abc_connected] with weight_bases=1),
 * beside ABC-Net's own least-squares bases: the shadow weights w pass through a soft projection P_beta while
 * training (wq = P(w), the product runs on wq), and the model is its hard limit at inference, wq = sign(.) with
 * scale 1. beta grows on a schedule: beta(it) = beta0 * growth^floor(it / every). docs/methods.md section 3-4.
 * A quantizer is one row of abc_wquants (wquant.c) and one file. */
#ifndef ABC_WQUANT_H
#define ABC_WQUANT_H

#include <stddef.h>

typedef struct {
    const char *name; /* the cfg's weight_quantizer= */
    const char *what; /* one line */
    int centred;      /* hard bit: w - (the group's mean) >= 0 (1), or w >= 0 (0) */
    int decay;        /* darknet's weight decay applies to the shadow weights */
    int keep_primal;  /* on a change of beta, w *= old / new: the primal tanh(beta w) stays (MD-tanh) */
    float beta, growth;
    int every;        /* default schedule */
    /* Soft weights of one group of len: wq = P_beta(w). */
    void (*soft)(const float *w, int len, float beta, float *wq);
    /* g (one group, -dLoss/dwq, darknet's sign) becomes -dLoss/dw, in place. */
    void (*grad)(const float *w, const float *wq, int len, float beta, float *g);
} abc_wquant;

/* The quantizers (NULL-terminated). */
extern const abc_wquant *const abc_wquants[];
/* By cfg name; NULL if none has it. */
const abc_wquant *abc_wquant_find(const char *name);
/* "smooth|md_tanh|..." (the table's names) for messages. */
const char *abc_wquant_names(void);
/* The schedule at iteration it (capped at 1e30). */
float abc_wquant_beta(float beta0, float growth, int every, size_t it);

/* Shared by the tanh family: wq = tanh(beta w). */
void abc_wquant_tanh(const float *w, int len, float beta, float *wq);
/* Straight through: the gradient of wq applied to w as it is (the mirror-descent / STE equivalence). */
void abc_wquant_straight(const float *w, const float *wq, int len, float beta, float *g);

extern const abc_wquant abc_wquant_smooth, abc_wquant_md_tanh, abc_wquant_md_tanh_s, abc_wquant_gd_tanh;

#endif
