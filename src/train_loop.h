/* darknet's training loop as the classifier and the detector run it: a
 * loader thread fills the next batch while train_network runs; a progress
 * line every few seconds (iteration, loss, average, img/s, ETA); atomic
 * checkpoints every 60 s or 1000 iterations (a failed one is reported, the
 * previous kept, and tried again); resume from the weights' `seen`; a clean
 * stop on SIGINT/SIGTERM (checkpoint saved, exit 128 + signal). One run at a
 * time per cfg and backup directory (<backup>/<cfg base>.lock), which is
 * checked to be writable before the first iteration. */
#ifndef ABC_TRAIN_LOOP_H
#define ABC_TRAIN_LOOP_H

#include <stdint.h>

#include "cli.h"
#include "darknet.h"

/* What the user asks of a training run (classifier train, detector train). */
typedef struct {
    int clear;            /* -clear: the weights start at iteration 0 */
    int seeded;           /* -seed N given: a deterministic run (one loader thread) */
    unsigned long long seed;
    int checkpoint_every; /* -checkpoint N: every N iterations; 0: every 1000 iterations or 60 s */
    int skip_bad_images;  /* -skip_bad_images: train without the images that do not decode */
} abc_train_opts;

/* The options above as command-table rows, and read from a parsed command line. */
#define ABC_TRAIN_OPT_ROWS                                                                                          \
    {"-clear", ABC_OPT_FLAG, NULL, 0, 0, "start from iteration 0 (ignore the seen count stored in the weights)"},    \
    {"-seed", ABC_OPT_INT, "N", 0, 2147483647L,                                                                   \
     "deterministic: this seed for initialisation, image order and augmentation (one loader thread)"},              \
    {"-checkpoint", ABC_OPT_INT, "N", 1, 100000000L, "save <backup>/<cfg>.backup every N iterations"},            \
    {"-skip_bad_images", ABC_OPT_FLAG, NULL, 0, 0, "train without the listed images that do not decode (listed)"}
/* The usage notes both train commands print about them. */
#define ABC_TRAIN_NOTES                                                                                            \
    "A checkpoint holds the weights and what a resume needs (momentum, the data order's random state): a run\n"   \
    "given -seed N and resumed from its checkpoint, even after kill -9, ends with the bytes of a run never\n"    \
    "stopped (at the same -threads). One run per cfg and backup directory: a second is refused.\n"              \
    "Under `mpirun -np N`: data-parallel training, each rank training the cfg's batch on its own draws, the\n" \
    "gradients summed before each update (the world's batch is N x batch; docs/distributed.md)."
abc_train_opts abc_train_opts_of(const abc_cli *a);
/* rand() seeded from -seed, or from the clock (darknet's way), and the bad images' policy; call before the
 * lists are read and the network is built. */
void abc_train_seed(const abc_train_opts *o);
/* The seed the run draws from (-seed's, or the clock's; rank 0's on every rank). */
uint64_t abc_train_run_seed(void);

typedef struct {
    double seconds;      /* wall time of the training loop */
    double images_per_s; /* training images per second */
    int iterations;      /* done by this run */
    char final_path[4400];
} abc_train_result;

/* What a command adds to the loop (any of the functions may be NULL). */
typedef struct {
    void *ctx;
    /* Before the batch of iteration `it` (0-based) is trained: may change the network's input size (resizing the
     * network) and args->w/h; returns 1 if it did, and the batch already loaded is then loaded again at the
     * new size. */
    int (*reshape)(void *ctx, network *net, load_args *args, int it);
    /* Before a loaded batch is trained on: may change its targets (distillation). */
    void (*before_step)(void *ctx, data *batch);
    /* After it: the loss to report instead of train_network's. */
    float (*step_loss)(void *ctx, network *net, const data *batch, float loss);
    /* After iteration `it` (1-based) and its progress line. */
    void (*after)(void *ctx, network *net, int it, float loss, float avg_loss, double images_per_s);
} abc_train_hooks;

typedef struct {
    const char *cfg;        /* for messages and the backup names (<backup>/<cfg base>.backup, _final.weights) */
    const char *backup_dir;
    const char *list;       /* the training list, for messages */
    int images;             /* in the list: epochs = seen / images */
    const char *weights;    /* the weights the run starts from (NULL: none): a checkpoint's training state is read */
    abc_train_opts opts;
} abc_train_setup;

/* Dies with one line when weights (may be NULL) is a packed deployment file: it has no shadow weights. */
void abc_train_refuse_packed(const char *weights);

/* Trains net to its max_batches on batches from args (args.n = batch * subdivisions). Returns 0 when
 * max_batches is reached, or 128 + signal when stopped. */
int abc_train_loop(network *net, load_args args, const abc_train_setup *s, const abc_train_hooks *hooks,
                   abc_train_result *res);

#endif
