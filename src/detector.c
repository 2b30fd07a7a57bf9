/* ./darknet detector train|map|valid|test|demo|calc_anchors|bench: darknet's commands
 * and flags (AlexeyAB's -map, -ext_output, -num_of_clusters). */
#include "detector.h"

#include <stdlib.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "commands.h"
#include "detector_cmds.h"
#include "train_loop.h"

#define DATA_NOTE "data: a darknet .data file (classes, train, valid, names, backup); `make data` builds\n" \
                  "cfg/fmnist-detect.data (./darknet data fmnist-detect)."

/* <data> <cfg> [weights] ...: the files must exist ("" weights: none). */
static void check_files(const abc_cli *a, int need_weights)
{
    if (!abc_file_exists(a->pos[0])) abc_die("cannot open data file '%s'", a->pos[0]);
    if (!abc_file_exists(a->pos[1])) abc_die("cannot open cfg file '%s'", a->pos[1]);
    if (a->npos > 2 && *a->pos[2] && !abc_file_exists(a->pos[2])) abc_die("cannot open weights file '%s'", a->pos[2]);
    if (need_weights && a->npos < 3) abc_cli_fail(a, "missing weights file");
}

static int train_run(const abc_cli *a)
{
    check_files(a, 0);
    abc_det_train_opts o = {abc_train_opts_of(a), abc_cli_flag(a, "-map")};
    if (a->npos > 2) abc_train_refuse_packed(a->pos[2]);
    return abc_detector_train(a->pos[0], a->pos[1], a->npos > 2 ? a->pos[2] : NULL, &o, NULL);
}

static int map_run(const abc_cli *a)
{
    check_files(a, 1);
    abc_det_map_cmd_opts o = {(float)abc_cli_real(a, "-thresh", 0.25), (float)abc_cli_real(a, "-iou_thresh", 0.5),
                              abc_cli_flag(a, "-json"), (int)abc_cli_int(a, "-limit", 0)};
    return abc_detector_map(a->pos[0], a->pos[1], a->pos[2], &o);
}

static int valid_run(const abc_cli *a)
{
    check_files(a, 1);
    return abc_detector_valid(a->pos[0], a->pos[1], a->pos[2], abc_cli_str(a, "-out", "results"));
}

static int test_run(const abc_cli *a)
{
    check_files(a, 1);
    abc_det_test_opts o = {(float)abc_cli_real(a, "-thresh", 0.25), abc_cli_flag(a, "-ext_output"),
                           abc_cli_str(a, "-out", NULL), abc_cli_str(a, "-out_prefix", "predictions")};
    return abc_detector_test(a->pos[0], a->pos[1], a->pos[2], a->npos > 3 ? a->pos[3] : NULL, &o);
}

static int anchors_run(const abc_cli *a)
{
    if (!abc_file_exists(a->pos[0])) abc_die("cannot open data file '%s'", a->pos[0]);
    return abc_detector_calc_anchors(a->pos[0], (int)abc_cli_int(a, "-num_of_clusters", 6),
                                     (int)abc_cli_int(a, "-width", 416), (int)abc_cli_int(a, "-height", 416),
                                     (unsigned long)abc_cli_int(a, "-seed", 1));
}

static const abc_opt train_opts[] = {
    ABC_TRAIN_OPT_ROWS,
    {"-map", ABC_OPT_FLAG, NULL, 0, 0, "mAP@0.5 on the valid list every 4 epochs, on the chart; keeps <cfg>_best.weights"},
    {0},
};
static const abc_opt map_opts[] = {
    {"-thresh", ABC_OPT_REAL, "X", 0, 1000, "precision, recall, F1 and average IoU at this confidence (default 0.25)"},
    {"-iou_thresh", ABC_OPT_REAL, "X", 1, 1000, "a detection matches a labelled box at this IoU (default 0.5)"},
    {"-json", ABC_OPT_FLAG, NULL, 0, 0, "one JSON object on stdout instead of the table"},
    {"-limit", ABC_OPT_INT, "N", 1, 100000000, "only the first N images of the valid list"},
    {0},
};
static const abc_opt valid_opts[] = {
    {"-out", ABC_OPT_STR, "DIR", 0, 0, "where comp4_det_test_<class>.txt and coco_results.json go (default results)"},
    {0},
};
static const abc_opt test_opts[] = {
    {"-thresh", ABC_OPT_REAL, "X", 0, 1000, "boxes with a confidence above X (default 0.25)"},
    {"-ext_output", ABC_OPT_FLAG, NULL, 0, 0, "print each box's left_x, top_y, width and height"},
    {"-out", ABC_OPT_STR, "FILE", 0, 0, "also write the detections as JSON"},
    {"-out_prefix", ABC_OPT_STR, "NAME", 0, 0, "the picture: NAME.png (default predictions; from stdin NAME_<n>.png)"},
    {0},
};
static const abc_opt anchors_opts[] = {
    {"-num_of_clusters", ABC_OPT_INT, "K", 1, 64, "anchors to find (default 6, yolov3-tiny's)"},
    {"-width", ABC_OPT_INT, "W", 32, 8192, "the network's width the boxes are scaled to (default 416)"},
    {"-height", ABC_OPT_INT, "H", 32, 8192, "the network's height (default 416)"},
    {"-seed", ABC_OPT_INT, "K", 0, 2147483647, "k-means++ seed (default 1)"},
    {0},
};

static const abc_cmd train_cmd = {
    .name = "train", .args = "<data> <cfg> [weights]", .min_args = 2, .max_args = 3,
    .what = "train a detector on the data file's train list, from the weights if given (resumes at their seen count)",
    .opts = train_opts, .run = train_run,
    .notes = DATA_NOTE "\n\n"
             "Multi-scale where the last layer says random=1 (every 10 iterations 0.7x-1.4x the cfg's size).\n"
             "Saves <backup>/<cfg>.backup every 60 s, <backup>/<cfg>_final.weights at the end and draws\n"
             "<backup>/<cfg>_chart.png (loss, and mAP with -map). Ctrl-C or SIGTERM saves and exits 130 / 143.\n\n"
             ABC_TRAIN_NOTES,
};
static const abc_cmd map_cmd = {
    .name = "map", .args = "<data> <cfg> <weights>", .min_args = 3, .max_args = 3,
    .what = "per-class AP, mAP@0.5 and mAP@[.5:.95], precision/recall/F1 at -thresh, forward ms, on the valid list",
    .opts = map_opts, .run = map_run,
    .notes = DATA_NOTE "\n\nAP: all-point interpolation (VOC2010+, as AlexeyAB's detector map); mAP@[.5:.95]: COCO's\n"
             "101-point AP averaged over IoU .50:.05:.95. A model with binary layers is also run through the\n"
             "training path's float simulation, and both mAPs are printed.",
};
static const abc_cmd valid_cmd = {
    .name = "valid", .args = "<data> <cfg> <weights>", .min_args = 3, .max_args = 3,
    .what = "detections on the valid list as darknet's comp4_det_test_<class>.txt files and coco_results.json",
    .opts = valid_opts, .run = valid_run, .notes = DATA_NOTE,
};
static const abc_cmd test_cmd = {
    .name = "test", .args = "<data> <cfg> <weights> [image]", .min_args = 3, .max_args = 4,
    .what = "detections of one image (or of each image path read from stdin), drawn into predictions.png",
    .opts = test_opts, .run = test_run, .notes = DATA_NOTE,
};
static const abc_cmd anchors_cmd = {
    .name = "calc_anchors", .args = "<data>", .min_args = 1, .max_args = 1,
    .what = "k-means anchors (1 - IoU distance) over the training labels, ready for [yolo] anchors=",
    .opts = anchors_opts, .run = anchors_run, .notes = DATA_NOTE,
};

static const abc_cmd *const subs[] = {&train_cmd, &map_cmd, &valid_cmd, &test_cmd, &abc_detector_demo_cmd, &anchors_cmd,
                                      &abc_detector_bench_cmd, NULL};

const abc_cmd abc_detector_cmd = {
    .name = "detector",
    .what = "darknet's detector commands: train, mAP, results files, test on images, demo on video, anchors, speed",
    .subs = subs,
};
