/* ./darknet classifier train|valid|predict [data] <cfg> [weights] [image] */
#include <stdlib.h>

#include "classifier_common.h"
#include "classifier_train.h"
#include "train_loop.h"
#include "commands.h"

#define DATA_NOTES \
    "data: a darknet .data file (classes, train, valid, labels, backup, top); without it, the cfg's [net]\n" \
    "dataset= names the data (default fashion-mnist: cfg/fashion-mnist.data, prepared first if missing)."

static int train_run(const abc_cli *a)
{
    for (int i = 0; i < a->npos; ++i) abc_train_refuse_packed(a->pos[i]);
    abc_cls_args c = abc_cls_args_parse(a, 0, 0);
    abc_train_opts o = abc_train_opts_of(a);
    int rc = abc_classifier_train(c.data, c.cfg, c.weights, &o, NULL);
    free(c.data);
    return rc;
}

static int valid_run(const abc_cli *a)
{
    abc_cls_args c = abc_cls_args_parse(a, 1, 0);
    abc_valid_opts o = {(int)abc_cli_int(a, "-limit", 0), (int)abc_cli_int(a, "-t", 0)};
    int rc = abc_classifier_valid(c.data, c.cfg, c.weights, &o, NULL);
    free(c.data);
    return rc;
}

static int predict_run(const abc_cli *a)
{
    abc_cls_args c = abc_cls_args_parse(a, 1, 1);
    abc_classifier_predict(c.data, c.cfg, c.weights, c.extra, (int)abc_cli_int(a, "-t", 0));
    free(c.data);
    return 0;
}

static const abc_opt train_opts[] = {
    ABC_TRAIN_OPT_ROWS,
    {0},
};
static const abc_opt valid_opts[] = {
    {"-limit", ABC_OPT_INT, "N", 1, 100000000, "only the first N images of the valid list"},
    {"-t", ABC_OPT_INT, "N", 1, 1 << 20, "report top-1 and top-N (default: the data file's top=, else 1)"},
    {0},
};
static const abc_opt predict_opts[] = {
    {"-t", ABC_OPT_INT, "N", 1, 1 << 20, "print the N top classes (default: the data file's top=, else 1)"},
    {0},
};

static const abc_cmd train_cmd = {
    .name = "train", .args = "[data] <cfg> [weights]", .min_args = 1, .max_args = 3,
    .what = "train a classifier on the data file's train list, from the weights if given (resumes at their seen count)",
    .opts = train_opts, .run = train_run,
    .notes = DATA_NOTES "\n\n"
             "Prints a progress line every few seconds; saves <backup>/<cfg>.backup every 60 s (or 1000 iterations)\n"
             "and <backup>/<cfg>_final.weights at the end, and prints that path. Ctrl-C or SIGTERM saves the\n"
             "checkpoint and exits with status 130 / 143.\n\n" ABC_TRAIN_NOTES,
};
static const abc_cmd valid_cmd = {
    .name = "valid", .args = "[data] <cfg> <weights>", .min_args = 2, .max_args = 3,
    .what = "top-1 / top-k accuracy on the data file's valid list",
    .opts = valid_opts, .run = valid_run,
    .notes = DATA_NOTES "\n\n"
             "Progress (images done, img/s, ETA) goes to stderr every few seconds. Ctrl-C or SIGTERM finishes the\n"
             "current chunk of images, prints the partial result and exits with status 130 / 143.",
};
static const abc_cmd predict_cmd = {
    .name = "predict", .args = "[data] <cfg> <weights> [image]", .min_args = 2, .max_args = 4,
    .what = "top classes of one image, or of each image path read from stdin (one a line)",
    .opts = predict_opts, .run = predict_run, .notes = DATA_NOTES,
};

static const abc_cmd *const subs[] = {&train_cmd, &valid_cmd, &predict_cmd, NULL};

const abc_cmd abc_classifier_cmd = {
    .name = "classifier",
    .what = "darknet's classifier commands: train, measure accuracy, predict",
    .subs = subs,
};
