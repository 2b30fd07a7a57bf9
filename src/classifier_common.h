/* Shared by the classifier commands: the .data file, labels and image lists
 * checked up front (libdarknet exits or crashes on bad ones), the network
 * checked against them, and the command-line layout [data] <cfg> [weights]. */
#ifndef ABC_CLASSIFIER_COMMON_H
#define ABC_CLASSIFIER_COMMON_H

#include <signal.h>
#include <stddef.h>

#include "cli.h"
#include "darknet.h"

typedef struct {
    char *path;     /* the .data file */
    int classes;
    char *train;    /* list files (NULL if missing) */
    char *valid;
    char *labels;
    char *backup;   /* directory, default "backup" */
    int top;        /* top-k reported by valid/predict, default 1 (.data `top=`) */
} abc_data_cfg;

typedef struct {
    char **v;
    int n;
} abc_strs;

/* Reads a darknet .data file (key=value lines, # comments). Dies on a
 * missing file, a malformed line or a bad classes/top value. */
abc_data_cfg abc_data_cfg_read(const char *path);
void abc_data_cfg_free(abc_data_cfg *d);

/* Non-empty lines of a text file, trimmed. what: "labels", "list" (messages). */
abc_strs abc_read_lines(const char *path, const char *what);
void abc_strs_free(abc_strs *s);

/* Labels file: exactly d->classes labels, distinct, none inside another. */
abc_strs abc_labels_load(const abc_data_cfg *d);
/* Image list (d->train or d->valid): non-empty, every file exists, every
 * path matches exactly one label (darknet's strstr rule). key: "train"/"valid".
 * limit > 0: only its first limit images (only those are checked); *listed
 * (if not NULL): how many the list holds. */
abc_strs abc_list_load(const abc_data_cfg *d, const char *key, const abc_strs *labels, int limit, int *listed);
/* Index of the one label inside path, or -1 (none) / -2 (several). */
int abc_label_of(const char *path, const abc_strs *labels);

/* The network fits the data: 3 channels (the loader always loads 3), an
 * image input, and as many outputs as classes. */
void abc_check_net_for_data(const network *net, const char *cfg, const abc_data_cfg *d);

/* The positional arguments of "classifier <cmd> [data] <cfg> [weights] [extra]"
 * (a->pos): if the first ends in ".cfg", the data file is the cfg's dataset
 * (prepared if missing). */
typedef struct {
    char *data;     /* malloc'd */
    const char *cfg;
    const char *weights; /* NULL if not given; "" means none */
    const char *extra;   /* predict: the image */
} abc_cls_args;
abc_cls_args abc_cls_args_parse(const abc_cli *a, int need_weights, int max_extra);

/* The data file of the cfg's [net] dataset= (default fashion-mnist),
 * preparing the data set if it is missing. Returns a malloc'd path. */
char *abc_cfg_dataset_data(const char *cfg);

/* 1 if the file looks like an image libdarknet can read (PNG, JPEG, BMP,
 * GIF, PNM, TGA-less magic check); dies naming it otherwise. */
void abc_check_image_file(const char *path);

/* load_network with the file checks libdarknet does not do. */
network *abc_cls_load_network(const char *cfg, const char *weights, int clear);

/* A long command's clean stop: while caught, SIGINT and SIGTERM only set a
 * flag, which the command reads at its next safe point (after an iteration,
 * after a chunk of images) to finish its work there and exit 128 + signal. */
typedef struct {
    struct sigaction old_int, old_term;
} abc_stop_guard;
void abc_stop_catch(abc_stop_guard *g);
void abc_stop_release(const abc_stop_guard *g);
/* The signal caught since abc_stop_catch (SIGINT or SIGTERM), or 0. */
int abc_stop_signal(void);
/* "SIGINT" or "SIGTERM". */
const char *abc_stop_name(int sig);

/* "1h02m", "5m01s", "42s" ("?" if unknown). */
void abc_fmt_eta(char *buf, size_t n, double seconds);

#endif
