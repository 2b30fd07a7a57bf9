/* The libdarknet functions this executable replaces (defined in hooks.c),
 * the project functions behind them, and the start-up check that the
 * replacement is live. */
#ifndef ABC_HOOKS_H
#define ABC_HOOKS_H

#include "darknet.h"

/* libdarknet's gemm, which darknet.h does not declare; hooked to OpenBLAS. */
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb,
          float BETA, float *C, int ldc);

/* Behind the hooks. */
network *abc_parse_network(const char *cfgfile);
void abc_load_weights(network *net, const char *filename, int start, int cutoff);
void abc_save_weights(network *net, const char *filename, int cutoff);
/* Floats of one layer in a .weights file. */
size_t abc_layer_floats(const layer *l);
int abc_resize_network(network *net, int w, int h);

/* Calls counted by each hook, for the self-test and the tests. */
typedef struct {
    long parse, load, save, resize, gemm;
} abc_hook_counts;
abc_hook_counts abc_hooks_counts(void);

/* Runs libdarknet's own load_network/save_weights/load_weights/conv forward
 * on a tiny in-memory network and checks that each reached our hook.
 * Returns NULL if all are live, else a message naming the dead hook. */
const char *abc_hooks_selftest(void);
/* abc_hooks_selftest() or die with its message. */
void abc_hooks_require_live(void);

#endif
