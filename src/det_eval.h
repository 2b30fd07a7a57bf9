/* Detection metrics for the `detector` commands, in plain C (no libdarknet): box IoU, per-class NMS,
 * mAP (VOC2010+ all-point AP at one IoU threshold, as AlexeyAB's `detector map`, and COCO's 101-point AP
 * averaged over IoU .50:.05:.95), precision / recall / F1 / average IoU at a confidence threshold, and k-means
 * anchors (`detector calc_anchors`). Every function is deterministic: the same input gives the same output. */
#ifndef ABC_DET_EVAL_H
#define ABC_DET_EVAL_H

#include <stdint.h>
#include <stdio.h>

/* A box by its corners, x0 <= x1 and y0 <= y1 for a non-empty box, in any consistent unit. */
typedef struct {
    float x0, y0, x1, y1;
} abc_box;

/* One detection: the image it belongs to (any int id), its class (0..classes-1), its score. */
typedef struct {
    int image, cls;
    float score;
    abc_box box;
} abc_det;

/* One ground-truth box. */
typedef struct {
    int image, cls;
    abc_box box;
} abc_gt;

/* Intersection over union of a and b, in [0, 1]. 0 when either box is empty or degenerate (zero or negative
 * width or height), when they only touch, or when a coordinate is NaN or makes the areas infinite: never NaN.
 * Computed in double and rounded once, so IoU(a, b) == IoU(b, a) and an IoU that is exactly a decimal fraction
 * of integer areas (1/2, 3/5) compares equal to that threshold written as a float (0.5f, 0.6f). */
float abc_box_iou(abc_box a, abc_box b);

/* Greedy non-maximum suppression per (image, class): detections are taken by score, highest first (equal
 * scores in their order in d, NaN scores last); one is dropped when its IoU with an already kept detection of the
 * same image and class is greater than iou_thresh (IoU == iou_thresh is kept), so a dropped box suppresses
 * nothing. The kept detections are moved to d[0..kept-1] in that order (score descending, ties in input order:
 * across images and classes too); returns kept (0 when n <= 0 or d is NULL). Cost: a sort, plus, within each
 * (image, class), one IoU per (candidate, kept box) pair: not O(classes * n^2) as libdarknet's do_nms_sort. */
int abc_nms(abc_det *d, int n, float iou_thresh);

/* Number of IoU thresholds of the COCO metric: .50, .55, ..., .95. */
enum { ABC_COCO_IOUS = 10 };

/* The figures of one class. */
typedef struct {
    int gt;           /* ground-truth boxes of the class */
    int dets;         /* detections of the class, at any score */
    double ap;        /* all-point AP at iou_thresh; 0 when gt == 0 (then the class is not in map) */
    double ap_coco;   /* mean over the COCO thresholds of the 101-point AP; 0 when gt == 0 */
    int tp, fp, fn;   /* at conf_thresh: matched detections, unmatched ones, unmatched ground truth */
} abc_class_eval;

typedef struct {
    int classes;
    float iou_thresh, conf_thresh;    /* as given to abc_map_compute */
    int dets, gt;                     /* totals */
    int classes_in_map;               /* classes with ground truth: the ones map and map_coco average */
    double map;                       /* mean AP at iou_thresh over classes_in_map classes (0 if there are none) */
    double map_coco;                  /* mAP@[.5:.95]: mean of ap_coco over the same classes */
    double map_coco_at[ABC_COCO_IOUS];/* mean 101-point AP at IoU .50 + .05 i (index 0: AP50, 5: AP75) */
    /* at conf_thresh, over every class (detections of classes without ground truth are false positives): */
    int tp, fp, fn;
    double precision;                 /* tp / (tp + fp), 0 when there are no detections */
    double recall;                    /* tp / gt, 0 when there is no ground truth */
    double f1;                        /* 2 P R / (P + R), 0 when P + R == 0 */
    double avg_iou;                   /* mean IoU of the true positives with their ground truth, 0 if none */
    abc_class_eval *per_class;        /* [classes] */
} abc_map_result;

/* Evaluates detections against ground truth over many images, for `classes` classes.
 *
 * Matching, at an IoU threshold t: per class, the detections are taken by score, highest first; equal scores
 * are taken in their order in dets (give them in a meaningful order, e.g. image by image, or the result of
 * abc_nms). Each detection is matched to the ground-truth box of the same image and class that is not yet
 * matched and has the highest IoU >= t with it (equal IoUs: the first in gts); a detection that finds none (no
 * overlap >= t, or only boxes that higher-scored detections took: duplicates) is a false positive.
 *
 *  - ap (per class, at t = iou_thresh; 0.5 gives AP50): ALL-POINT interpolation (VOC2010+, as AlexeyAB's
 *    detector map): precision at each detection in rank order, made monotone from the right (the precision at a
 *    rank is the best precision at that rank or below), AP = sum over the true positives of
 *    (1 / gt) * that precision, i.e. the area under the interpolated precision/recall curve;
 *  - map: mean of ap over the classes that have ground truth (a class with none is left out and has gt == 0;
 *    a class with ground truth and no detections has ap 0);
 *  - ap_coco / map_coco, as COCO's AP@[.5:.95]: the same matching at each t in .50, .55, ..., .95; at each t
 *    the precision made monotone as above and read at the 101 recalls 0, .01, ..., 1 (at the first rank whose
 *    recall reaches that value, compared exactly as tp * 100 >= k * gt; 0 if none does), AP = their mean; then
 *    the mean over the ten thresholds. Unlike pycocotools: no 100-detections-per-image cap, no crowd boxes and no
 *    area ranges;
 *  - at conf_thresh, for the detections with score >= conf_thresh and their matching at iou_thresh (the same
 *    matching: the kept detections are the highest-ranked ones): tp, fp, fn (ground truth left unmatched),
 *    precision, recall, F1 and the mean IoU of the true positives; in total and per class.
 *
 * Matching differs from the VOC devkit and AlexeyAB's code in one case only: they compare a detection with the
 * best-overlapping ground truth even when it is taken (then it is a false positive), here (as COCO does) it is
 * matched with the best one that is still free; the two differ only where ground-truth boxes overlap each other.
 *
 * Returns 0, or -1 (with *r zeroed: nothing to free) when an argument is bad: r NULL, classes < 1, nd or ng < 0,
 * dets or gts NULL with a count > 0, iou_thresh not in (0, 1], conf_thresh NaN, a class id outside
 * 0..classes-1, a NaN score, a box coordinate that is NaN or infinite. Never crashes; runs in O(sort + one IoU
 * per (detection, ground truth of the same image and class) per threshold). Release r with abc_map_free. */
int abc_map_compute(const abc_det *dets, int nd, const abc_gt *gts, int ng, int classes, float iou_thresh,
                    float conf_thresh, abc_map_result *r);

/* Frees what abc_map_compute allocated and zeroes *r (safe on a zeroed or already freed result, and on NULL). */
void abc_map_free(abc_map_result *r);

/* Writes r as one JSON object on one line, then a newline: every figure above, and "per_class", an array of one
 * object per class {"id", "name", "gt", "dets", "ap", "ap_coco", "tp", "fp", "fn"} where "ap" and "ap_coco" are
 * null for a class without ground truth ("in_map": false); "map" and "map_coco" are null when no class has ground
 * truth. names: the class names (escaped for JSON), or NULL (then each "name" is null; a NULL entry too). */
void abc_map_print_json(FILE *fp, const abc_map_result *r, const char *const *names);

/* The human table of AlexeyAB's `detector map`: one line per class (id, name, AP in %, TP, FP; a class without
 * ground truth says so instead of an AP), then precision / recall / F1 and TP / FP / FN / average IoU at the
 * confidence threshold, the IoU threshold, mAP at it, and mAP@[.5:.95] with AP50 and AP75. names as above (NULL:
 * the class id is printed). The thresholds printed are r's. */
void abc_map_print(FILE *fp, const abc_map_result *r, const char *const *names);

/* k-means anchors (`detector calc_anchors`): wh holds n (w, h) pairs (label boxes at the network's size); k
 * clusters with the distance 1 - IoU of boxes aligned at a corner (IoU = min(w) min(h) / union). Seeding is
 * greedy k-means++ (for each further centre, 2 + floor(ln k) boxes drawn with probability proportional to their
 * squared distance to the nearest chosen centre, and the one that lowers the sum of squared distances most kept)
 * from the project's own PRNG seeded by seed (not rand(): the same seed gives the same anchors on every
 * machine); then Lloyd iterations (each box to its nearest centre, ties to the lower index; each centre to
 * the mean w and mean h of its boxes; an emptied cluster restarts at the box farthest from its centre) until no
 * box changes cluster or 1000 iterations. Writes the k anchors (w, h) to anchors_wh[2k], sorted by area w * h
 * ascending (equal areas by w), and returns the mean over the boxes of the IoU with their best anchor, in (0, 1].
 * Returns -1 (anchors_wh untouched) if wh or anchors_wh is NULL, n < 1, k < 1, k > n, or a w or h is not a
 * positive finite number. */
float abc_kmeans_anchors(const float *wh, int n, int k, uint64_t seed, float *anchors_wh);

#endif
