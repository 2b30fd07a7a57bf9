/* IDX files (the MNIST format), gzipped, read with zlib. */
#ifndef ABC_IDX_H
#define ABC_IDX_H

typedef struct {
    int n, h, w;          /* h = w = 1 for label files */
    unsigned char *data;  /* n*h*w bytes, or NULL when only the header was read */
} abc_idx;

/* Reads the header of path and checks its magic (0x801 labels, 0x803
 * images); with load, reads min(n, limit) items too (limit <= 0: all).
 * Dies with one line naming the file on any problem. */
abc_idx abc_idx_read(const char *path, int magic, int load, int limit);
void abc_idx_free(abc_idx *x);

#endif
