/* Images for the inference commands, as libdarknet's load_image_color gives them, loaded faster. */
#ifndef ABC_IMAGE_LOAD_H
#define ABC_IMAGE_LOAD_H

#include <stddef.h>

#include "darknet.h"
#include "data_file.h"

/* A file buffer reused across loads (start it zeroed). */
typedef struct {
    unsigned char *bytes;
    size_t cap;
} abc_image_buf;
void abc_image_buf_free(abc_image_buf *b);

/* load_image_color(path, w, h): 3 channels, planar, 0..1, resized to w x h when both are set and differ. */
image abc_load_image_color(const char *path, int w, int h, abc_image_buf *b);

/* Rows for libdarknet's OLD_CLASSIFICATION_DATA, allocated once and loaded again and again: X (rows images of
 * w x h x 3) and y (one-hot labels) in one block each, rows in order. Free with abc_cls_buffer_free. */
data abc_cls_buffer(int rows, int w, int h, int classes);
void abc_cls_buffer_free(data *d);
/* n paths (at most the rows d was made with) into d's first rows, on the pool's threads; their label (darknet's
 * strstr rule: the list was checked when loaded) into y; d's row counts become n. */
void abc_load_classification(data *d, char **paths, int n, const abc_strs *labels);

#endif
