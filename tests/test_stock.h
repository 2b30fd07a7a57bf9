/* Test helpers that reach libdarknet's OWN functions (the ones hooks.c
 * replaces) with dlsym(RTLD_NEXT, ...), and walk/compare network parameters
 * and outputs. Used by the parity, weights and stock-cfg suites. */
#ifndef ABC_TEST_STOCK_H
#define ABC_TEST_STOCK_H

#include <stddef.h>

#include "darknet.h"

/* libdarknet's own parse_network_cfg / load_weights_upto / save_weights_upto. */
network *abc_test_stock_parse(const char *cfg);
void abc_test_stock_load(network *net, const char *weights, int start, int cutoff);
void abc_test_stock_save(network *net, const char *weights, int cutoff);

/* One parameter array of a layer, in .weights file order. */
typedef struct {
    float *p;
    size_t n;
    char kind;   /* 'b' biases, 's' scales, 'm' rolling mean, 'v' rolling variance, 'w' weights */
    int fan_in;  /* for 'w' */
} abc_test_param;

/* The arrays a layer stores in a .weights file (conv, deconv, connected,
 * batchnorm, local, rnn, crnn, gru, lstm); returns how many (<= max). */
int abc_test_layer_params(const layer *l, abc_test_param *out, int max);
/* Fills every stored parameter with deterministic values from seed: weights
 * uniform with a fan-in scale, BN scales/variances near 1, small biases/means. */
void abc_test_fill_params(network *net, unsigned seed);
/* 1 if both networks hold bit-identical parameters; otherwise 0 and a
 * description of the first difference in why. */
int abc_test_same_params(const network *a, const network *b, char *why, size_t n);

/* max |a-b| / max(1, |b|) over n floats (NaN counts as infinite). */
double abc_test_max_rel_diff(const float *a, const float *b, size_t n);
double abc_test_max_abs_diff(const float *a, const float *b, size_t n);

/* Whole file into memory (NULL if unreadable); *n gets its size. */
unsigned char *abc_test_read_file(const char *path, size_t *n);

#endif
