/* detector train / map / valid / test / calc_anchors, written against
 * libdarknet's API (its [yolo] and [region] layers, detection loader,
 * get_network_boxes, letterbox) with the project's metrics, NMS and
 * pictures. */
#ifndef ABC_DETECTOR_H
#define ABC_DETECTOR_H

#include "darknet.h"
#include "data_file.h"
#include "det_eval.h"
#include "train_loop.h"

typedef struct {
    abc_train_opts train; /* -clear, -seed, -checkpoint */
    int map;   /* mAP on the valid list every 4 epochs (at least 100 iterations), the best weights kept */
} abc_det_train_opts;

/* Trains cfg on the data file's train list (weights: NULL or "" for a fresh start). Returns 0 at max_batches,
 * 128 + signal when stopped. */
int abc_detector_train(const char *datafile, const char *cfg, const char *weights, const abc_det_train_opts *o,
                       abc_train_result *res);

typedef struct {
    float thresh;      /* detections kept from the network: objectness x class probability above it */
    float nms;         /* per-class NMS IoU */
    float iou_thresh;  /* a detection matches ground truth at this IoU or more */
    float conf_thresh; /* precision / recall / F1 / average IoU over the detections at this score or more */
    int quiet;         /* no progress lines */
} abc_det_map_opts;

/* thresh 0.005, nms 0.45, iou_thresh 0.5, conf_thresh 0.25 (darknet's and AlexeyAB's). */
abc_det_map_opts abc_det_map_default_opts(void);

typedef struct {
    double map, map_coco;   /* mAP@iou_thresh and mAP@[.5:.95], fractions */
    double forward_ms;      /* median forward (letterboxed image in, boxes out) */
    int images;
} abc_det_map_summary;

/* The network (any batch; run at batch 1, inference) over the images of paths (labels checked by
 * abc_det_list_load): detections against the labels. full (may be NULL) gets the whole result (abc_map_free).
 * A stop signal caught (progress.h) ends it after the current image: s->images < paths->n, the figures over the
 * images done. */
void abc_det_map_run(network *net, const abc_data_cfg *d, const abc_strs *paths, const abc_det_map_opts *o,
                     abc_det_map_summary *s, abc_map_result *full);

/* The detections of one image: letterboxed to the network's size, forward, boxes in the image's pixels for
 * each class whose probability is above o->thresh, per-class NMS. Appends to *v (count *n, capacity *cap),
 * with the given image id; returns how many it added. Set the network's batch to 1 first. */
int abc_det_image(network *net, image im, int image_id, const abc_det_map_opts *o, abc_det **v, int *n, int *cap);
/* The same from the image already letterboxed to the network's size (sized), the original being w x h. */
int abc_det_letterboxed(network *net, image sized, int w, int h, int image_id, const abc_det_map_opts *o, abc_det **v,
                        int *n, int *cap);

#endif
