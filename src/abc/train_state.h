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

typedef struct abc_resume_info {
    int seeded;     /* trained with -seed: deterministic */
    uint64_t seed;
    unsigned char rng[ABC_RNG_STATE_BYTES]; /* rand()'s state before the next batch is drawn */
    float avg_loss;
} abc_resume_info;

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
