/* The ground truth of a video: one JSON line per frame, as `data fmnist-detect` writes it beside its test video
 * and `detector demo -json` writes detections: {"frame": N, ..., "boxes": [{"class_id": C, ..., "x0": X, "y0": Y,
 * "x1": X, "y1": Y}, ...]} (pixels of the frame). */
#ifndef ABC_DET_TRUTH_H
#define ABC_DET_TRUTH_H

#include "det_eval.h"

/* Reads path into *gts (count *ng, image = the frame number; free() it) and *frames (lines read). A line that is
 * not such an object, a class outside 0..classes-1, a box that is not finite or not x0 <= x1, y0 <= y1, or frames
 * out of order end the program with one line naming the file and line. */
void abc_det_truth_read(const char *path, int classes, abc_gt **gts, int *ng, int *frames);

#endif
