/* What a checkpoint carries beyond darknet's weights so that a run resumed
 * from it continues as if never stopped: the momentum of every trained array,
 * the random state of the data loader, the seed, the running loss average. It
 * is a trailer after the weights of <cfg>.backup: libdarknet's reader stops at
 * the last layer and never sees it; the project's reader leaves it out of the
 * size check. */
#ifndef ABC_TRAIN_STATE_H
#define ABC_TRAIN_STATE_H

#include <stdint.h>
#include <stdio.h>

#include "base/rng.h"
#include "darknet.h"
#include "layers/layer_type.h"

typedef struct abc_resume_info {
    int seeded;     /* trained with -seed: deterministic */
    uint64_t seed;
    unsigned char rng[ABC_RNG_STATE_BYTES]; /* rand()'s state before the next batch is drawn */
    float avg_loss;
} abc_resume_info;

/* The most arrays either function below gives for one layer. */
#define ABC_TRAIN_MAX_ARRAYS 16
/* The arrays of layer l into which its backward adds the gradient (darknet's bias, scale and weight updates, and
 * a plugin layer's own, which carry the momentum between steps) into out (at most ABC_TRAIN_MAX_ARRAYS); -1 if l
 * trains but its arrays are not known here. */
int abc_train_grad_arrays(layer *l, abc_state_floats *out);
/* The statistics a training forward of l changes without a gradient (batch norm's rolling mean and variance, a
 * plugin layer's input bounds) into out; how many. keep[k]: the share of the old value each forward keeps
 * (s <- keep s + (1 - keep) batch's), 0 where the rule is not that (the input bounds' start and first batch). */
int abc_train_stat_arrays(layer *l, abc_state_floats *out, float *keep);
/* Whether every layer's momentum is known here (else, why in why: a resume is then not exact). */
int abc_train_state_supported(network *net, char *why, size_t n);
/* Appends the trailer to fp (after the weights); nonzero on a write error. */
int abc_train_state_write(FILE *fp, network *net, const abc_resume_info *r);
/* The trailer's size in bytes at the end of fp, whose size is fsize; 0 if it has none. */
long long abc_train_state_bytes(FILE *fp, long long fsize);
/* Reads the trailer of the weights file path into net's momentum and *r: 1; 0 if it has none. Dies with one
 * line if it is there but does not fit net. */
int abc_train_state_read(const char *path, network *net, abc_resume_info *r);

#endif
