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

#include "darknet.h"

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
    /* After iteration `it` (1-based) and its progress line. */
    void (*after)(void *ctx, network *net, int it, float loss, float avg_loss, double images_per_s);
} abc_train_hooks;

typedef struct {
    const char *cfg;        /* for messages and the backup names (<backup>/<cfg base>.backup, _final.weights) */
    const char *backup_dir;
    const char *list;       /* the training list, for messages */
    int images;             /* in the list: epochs = seen / images */
    const char *weights;    /* the weights the run starts from (NULL: none), for messages */
} abc_train_setup;

/* Dies with one line when weights (may be NULL) is a packed deployment file: it has no shadow weights. */
void abc_train_refuse_packed(const char *weights);

/* Trains net to its max_batches on batches from args (args.n = batch * subdivisions). Returns 0 when
 * max_batches is reached, or 128 + signal when stopped. */
int abc_train_loop(network *net, load_args args, const abc_train_setup *s, const abc_train_hooks *hooks,
                   abc_train_result *res);

#endif
