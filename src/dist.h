/* Data-parallel training over Open MPI (`mpirun -np N ./darknet classifier|detector train ...`).
 *
 * Every rank trains the cfg's batch on its own draws; the gradients of every trainable array are summed over
 * the ranks (bucketed MPI_Allreduce, started while backward still runs on the earlier layers) before one
 * update, so every rank keeps the same weights; batch-norm rolling statistics are merged as one process would
 * have them, the integer layers' input bounds averaged. An iteration of N ranks is an iteration of one process whose cfg has N times the batch
 * and N times the subdivisions: the same learning-rate schedule, `seen` counting the world's images. Without
 * mpirun (or built with MPI=0) the world is one process and nothing here runs. */
#ifndef ABC_DIST_H
#define ABC_DIST_H

#include <stdint.h>
#include <stdio.h>

#include "darknet.h"

/* The MPI library this build uses, and how to start a run (or why there is none). */
const char *abc_dist_about(void);
/* Joins the MPI world when launched by mpirun with more than one rank (once; later calls return at once). */
void abc_dist_init(void);
int abc_dist_world(void); /* 1 without mpirun */
int abc_dist_rank(void);
/* Rank 0's value on every rank. */
uint64_t abc_dist_bcast_u64(uint64_t v);
/* Before training net on N ranks: refuses layers whose gradients are unknown, gives every rank rank 0's
 * weights, and scales net->subdivisions by N (see above). */
void abc_dist_prepare(network *net, const char *cfg);
/* One iteration on this rank's part d (batch x subdivisions images): forward, backward, gradients summed over
 * the ranks, one update, statistics averaged. *stop: in, this rank's stop request; out, whether any rank asked
 * (every rank gets the same answer). Returns the world's mean loss per image, as train_network does. */
float abc_dist_train(network *net, data d, int *stop);
/* The seed of this rank's draws for iteration it: a function of the run's seed, the rank and it alone, so a
 * resumed run draws what the first would have. */
unsigned abc_dist_batch_seed(uint64_t seed, int it);
/* One line: the bytes reduced per iteration and the time spent waiting on them (nothing on one process). */
void abc_dist_report(FILE *fp);
/* Between these, ranks > 0 hold back what they print (rank 0 prints the same), unless they exit. */
void abc_dist_quiet_begin(void);
void abc_dist_quiet_end(void);
/* Leaves the MPI world (at the end of a training command; every rank). */
void abc_dist_finish(void);

#endif
