/* ./darknet weights inspect (inspect.c), and the per-array checks weights convert shares with it. */
#ifndef ABC_INSPECT_H
#define ABC_INSPECT_H

#include <stddef.h>

#include "darknet.h"

#include "abc/layers/layer_type.h"

/* "weights", "biases", "scales", "rolling_mean", "rolling_variance", then a plugin layer's own (alpha, ...) */
typedef abc_named_floats abc_layer_array;

#define ABC_LAYER_ARRAYS_MAX 9
/* The parameter arrays of a layer with parameters (conv, connected, batchnorm, plugin layers' shadow weights,
 * batch norm and own arrays): fills out (up to ABC_LAYER_ARRAYS_MAX), returns how many. */
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
