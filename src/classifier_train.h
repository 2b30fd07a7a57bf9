/* classifier train / valid / predict, written against libdarknet's API. */
#ifndef ABC_CLASSIFIER_TRAIN_H
#define ABC_CLASSIFIER_TRAIN_H

#include "train_loop.h"

/* Trains cfg on the data file's train list, starting from weights (NULL or
 * "": fresh). Returns 0 when max_batches is reached; on SIGINT/SIGTERM saves
 * the checkpoint and returns 128+signal. */
int abc_classifier_train(const char *datafile, const char *cfg, const char *weights, const abc_train_opts *o,
                         abc_train_result *res);

typedef struct {
    int limit; /* > 0: only the first limit images of the valid list */
    int top;   /* > 0: top-k reported instead of the data file's top= */
} abc_valid_opts;

typedef struct {
    int images;     /* evaluated */
    int k;          /* top-k reported */
    double top1, topk; /* percent */
    double top1_sim;   /* binary models: top-1 through the training path's float simulation; else -1 */
    double images_per_s;
} abc_valid_result;

/* Accuracy on the data file's valid list (opts may be NULL). Returns 0, or
 * 128+signal when SIGINT/SIGTERM stopped it (after printing the partial
 * result of the images done). */
int abc_classifier_valid(const char *datafile, const char *cfg, const char *weights, const abc_valid_opts *opts,
                         abc_valid_result *res);
/* image NULL: read image paths from stdin, one per line. top > 0: classes
 * printed instead of the data file's top=. */
void abc_classifier_predict(const char *datafile, const char *cfg, const char *weights, const char *image, int top);

#endif
