/* Shared by the detector commands: the names file, the image lists and their
 * label files checked up front (libdarknet's loader trains on a black image
 * when an image is missing, ends the process from a loader thread when a
 * label file is, and never checks class ids), and the network checked
 * against the data. */
#ifndef ABC_DETECTOR_COMMON_H
#define ABC_DETECTOR_COMMON_H

#include <stddef.h>

#include "darknet.h"
#include "data_file.h"

/* One line of a darknet label file: class, box centre and size relative to the image. */
typedef struct {
    int cls;
    float cx, cy, w, h;
} abc_label;

/* The label file libdarknet's detection loader reads for an image: the first "images", "JPEGImages" and
 * "raw" in the path become "labels", and the extension (.jpg, .png, .JPG, .JPEG) becomes ".txt". */
void abc_det_label_path(const char *image, char *out, size_t n);

/* Reads a label file: lines "class cx cy w h" with class in [0, classes), finite numbers, centres in [0, 1],
 * sizes in (0, 1]; blank lines skipped. Dies naming the file and line on anything else. Returns the count;
 * *out (malloc'd, NULL when empty) holds them. */
int abc_det_read_labels(const char *path, int classes, abc_label **out);

/* The names file (names= in the .data file): exactly classes names. */
abc_strs abc_det_names_load(const abc_data_cfg *d);

/* The image list under key ("train" or "valid"): non-empty; every image exists and its label file (as
 * libdarknet finds it) exists and is valid. limit > 0: only the first limit images (*listed: the list's
 * length, if not NULL). */
abc_strs abc_det_list_load(const abc_data_cfg *d, const char *key, int limit, int *listed);

/* The network's last layer must be a detection layer ([yolo] or [region]) with the data's classes, and the
 * input 3 channels. Returns that layer. */
layer abc_det_check_net(const network *net, const char *cfg, const abc_data_cfg *d);

/* Positional arguments "<data> <cfg> [weights] [extra]" of a detector command, checked to exist. */
typedef struct {
    const char *data, *cfg, *weights, *extra;
} abc_det_args;

#endif
