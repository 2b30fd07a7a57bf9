/* The detector commands' entry points (detector.c parses their arguments). */
#ifndef ABC_DETECTOR_CMDS_H
#define ABC_DETECTOR_CMDS_H

typedef struct {
    float thresh, iou_thresh; /* -thresh (P/R/F1 at this score), -iou_thresh */
    int json, limit;
} abc_det_map_cmd_opts;

int abc_detector_map(const char *datafile, const char *cfg, const char *weights, const abc_det_map_cmd_opts *c);
/* darknet's comp4_det_test_<class>.txt files and coco_results.json into out_dir. */
int abc_detector_valid(const char *datafile, const char *cfg, const char *weights, const char *out_dir);

typedef struct {
    float thresh;           /* boxes drawn and printed: score above it */
    int ext_output;         /* print box coordinates */
    const char *out_json;   /* -out: the detections as JSON, or NULL */
    const char *out_prefix; /* the picture: <prefix>.png (default "predictions"; with a list, <prefix>_<n>.png) */
} abc_det_test_opts;

/* image NULL: image paths from stdin, one a line. */
int abc_detector_test(const char *datafile, const char *cfg, const char *weights, const char *image,
                      const abc_det_test_opts *o);

/* k-means anchors over the training labels at the network size w x h. */
int abc_detector_calc_anchors(const char *datafile, int clusters, int w, int h, unsigned long seed);

typedef struct {
    float thresh;          /* boxes drawn and written: score at or above it */
    const char *out_video; /* -out_filename: the annotated video, or NULL */
    const char *json;      /* -json: one JSON line per frame, or NULL */
    const char *truth;     /* -truth: score against these per-frame boxes, or NULL */
    int benchmark;         /* no output files */
    int frames;            /* stop after this many frames (0: all) */
} abc_det_demo_opts;

/* Detection on a video file or /dev/videoN (detector_demo.c). */
int abc_detector_demo(const char *datafile, const char *cfg, const char *weights, const char *video,
                      const abc_det_demo_opts *o);

#endif
