/* Image files checked before libdarknet's decoder sees them. */
#ifndef ABC_IMAGE_CHECK_H
#define ABC_IMAGE_CHECK_H

#include <stddef.h>

/* Bounds on an image read here: far above any data set's, far below what would exhaust memory. */
#define ABC_IMAGE_MAX_SIDE 16384
#define ABC_IMAGE_MAX_PIXELS (1 << 26)

/* NULL if path holds an image that decodes whole within the bounds; otherwise why not, in why (n bytes),
 * worded to follow the path: "is a broken PNG (...)". */
const char *abc_image_problem(const char *path, char *why, size_t n);
/* The same, with the size its header gives in *w, *h (0 if none was read). */
const char *abc_image_problem_size(const char *path, char *why, size_t n, long long *w, long long *h);

#endif
