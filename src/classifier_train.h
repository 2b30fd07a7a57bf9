/* classifier train / valid / predict, written against libdarknet's API. */
#ifndef ABC_CLASSIFIER_TRAIN_H
#define ABC_CLASSIFIER_TRAIN_H

typedef struct {
    double seconds;      /* wall time of the training loop */
    double images_per_s; /* training images per second */
    int iterations;      /* done by this run */
    char final_path[4400];
} abc_train_result;

/* Trains cfg on the data file's train list, starting from weights (NULL or
 * "": fresh). Returns 0 when max_batches is reached; on SIGINT/SIGTERM saves
 * the checkpoint and returns 128+signal. */
int abc_classifier_train(const char *datafile, const char *cfg, const char *weights, int clear,
                         abc_train_result *res);

typedef struct {
    int images;
    int k;          /* top-k reported */
    double top1, topk; /* percent */
    double images_per_s;
} abc_valid_result;

void abc_classifier_valid(const char *datafile, const char *cfg, const char *weights, abc_valid_result *res);
/* image NULL: read image paths from stdin, one per line. */
void abc_classifier_predict(const char *datafile, const char *cfg, const char *weights, const char *image);

#endif
