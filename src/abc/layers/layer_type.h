/* What a plugin layer family provides to the backend: one row of the layer
 * type table (registry.c) per cfg section it adds. A family implements these
 * functions in its own folder (layers/<family>/) and declares its rows in its
 * <family>_layers.h. */
#ifndef ABC_LAYER_TYPE_H
#define ABC_LAYER_TYPE_H

#include <stddef.h>
#include <stdio.h>

#include "base/cfg.h"

/* A named parameter array, for reports (weights inspect). */
typedef struct {
    const char *name;
    const float *v;
    int n;
} abc_named_floats;

/* An array a training step carries to the next (momentum), saved in checkpoints for exact resume. */
typedef struct {
    float *v;
    size_t n;
} abc_state_floats;

typedef struct abc_layer_type {
    const char *name;              /* section name without brackets */
    const char *const *keys;       /* accepted keys (NULL ended); others are errors */
    /* Builds the layer. params.h/w/c/inputs describe the input; dies through
     * abc_sec_die on bad values. */
    layer (*parse)(const abc_section *s, size_params params);
    size_t (*weights_floats)(const layer *l); /* floats in a .weights file */
    /* Read/write exactly weights_floats(l) floats; return 0 on success. */
    int (*load)(layer *l, FILE *fp);
    int (*save)(const layer *l, FILE *fp);
    void (*resize)(layer *l, int w, int h); /* NULL: cannot resize */
    /* Optional (NULL: none): the record of the float layer this one stands
     * for ([convolutional], [connected]), so that a float model of the same
     * topology loads as the starting point (fine-tuning): its size, and a
     * reader that makes the float weights this layer's own. */
    size_t (*float_floats)(const layer *l);
    int (*load_float)(layer *l, FILE *fp);
    /* Optional: one line on what the layer runs at inference (bases, kernel)
     * into buf, and its inference-time parameter bytes (packed) and those of
     * the float layer it stands for. */
    void (*describe)(const layer *l, char *buf, size_t n, size_t *packed_bytes, size_t *float_bytes);
    /* Optional: the weights the layer computes with, quantized from its
     * shadow weights now (l->nweights floats, darknet's order), for reports
     * such as `weights convert`'s quantization error. */
    const float *(*quantized_weights)(layer *l);
    /* Optional, both or neither: the layer's record in a packed deployment
     * file (packfile.h), describe()'s packed_bytes long: what inference
     * computes with (binary layers: packed bits, scales, batch norm), no
     * shadow weights. unpack leaves the layer ready for inference and unable
     * to train. 0 on success. */
    int (*pack)(layer *l, FILE *fp);
    int (*unpack)(layer *l, FILE *fp);
    /* Optional: the layer's own parameter arrays beyond darknet's fields (alphas, betas, shifts, segment
     * magnitudes) into out (at most max); returns how many. */
    int (*arrays)(const layer *l, abc_named_floats *out, int max);
    /* Optional: the momentum of the layer's own parameters (beyond darknet's bias, scale and weight updates,
     * which every conv-shaped layer has) into out (at most max); returns how many. */
    int (*momentum)(layer *l, abc_state_floats *out, int max);
    /* Optional: a layer with soft binary weights (a weight quantizer) gives the beta of its last training or
     * soft forward (0 before one) and the share of its soft weights within 0.01 of +-1 then, and returns its
     * weight count; 0: none. */
    int (*binarization)(const layer *l, float *beta, float *near_binary);
    /* Optional (NULL: 32 and 32, a float layer): the bits of the weights and of the inputs its products take at
     * inference, for AQT's cost model (MACs x weight bits x input bits): ABC's M and N bases count as M and N
     * bits, float inputs as 32. */
    void (*bits)(const layer *l, int *weight_bits, int *input_bits);
    /* Optional: 1 while the layer lacks what inference calibrates on its first batch (the integer layers' input
     * bounds): `weights convert -data` then runs a batch of training images through the model and saves it. */
    int (*needs_calibration)(const layer *l);
    /* Optional: statistics a training forward changes without a gradient (the integer layers' input bounds) into
     * out (at most max); returns how many. Data-parallel training averages them over the ranks. */
    int (*stats)(layer *l, abc_state_floats *out, int max);
} abc_layer_type;

#endif
