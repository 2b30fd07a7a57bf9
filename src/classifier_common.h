/* Shared by the classifier commands: the .data file, labels and image lists
 * checked up front (libdarknet exits or crashes on bad ones), the network
 * checked against them, and the command-line layout [data] <cfg> [weights]. */
#ifndef ABC_CLASSIFIER_COMMON_H
#define ABC_CLASSIFIER_COMMON_H

#include "cli.h"
#include "darknet.h"
#include "data_file.h"
#include "progress.h"

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

/* load_network with the file checks libdarknet does not do. */
network *abc_cls_load_network(const char *cfg, const char *weights, int clear);

#endif
