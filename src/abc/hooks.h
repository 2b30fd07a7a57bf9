/* The libdarknet functions this executable replaces (defined in hooks.c;
 * what runs behind them is in netio.h), the calls each counted, and the
 * start-up check that the replacement is live. */
#ifndef ABC_HOOKS_H
#define ABC_HOOKS_H

#include "darknet.h"

/* libdarknet's gemm, which darknet.h does not declare; hooked to OpenBLAS. */
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb,
          float BETA, float *C, int ldc);

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
