/* ./darknet weights inspect (inspect.c), and the per-array checks weights convert shares with it. */
#ifndef ABC_INSPECT_H
#define ABC_INSPECT_H

#include <stddef.h>

#include "darknet.h"

typedef struct {
    const char *name; /* "weights", "biases", "scales", "rolling_mean", "rolling_variance" */
    const float *v;
    int n;
} abc_layer_array;

/* The parameter arrays of a layer with parameters (conv, connected, batchnorm, plugin layers' shadow weights
 * and batch norm): fills out (up to 5), returns how many. */
int abc_layer_arrays(const layer *l, abc_layer_array *out);

typedef struct {
    double min, max, mean; /* over the finite values */
    int nan, inf;
} abc_array_stats;

abc_array_stats abc_stats_of(const float *v, int n);

/* Dies with one line naming the layer and the array when a parameter of net is NaN or infinite. */
void abc_check_finite(const network *net, const char *weights);

int abc_weights_inspect(const char *cfg, const char *weights, int json);

#endif
