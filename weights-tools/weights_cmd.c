/* ./darknet weights <command>: tools for darknet weights files. */
#include <stdio.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "calibrate.h"
#include "classifier_train.h"
#include "detector_cmds.h"
#include "commands.h"
#include "convert.h"
#include "export.h"
#include "inspect.h"
#include "pack.h"

/* <cfg> <weights>: both must exist. */
static void need_model(const abc_cli *a)
{
    if (!abc_file_exists(a->pos[0])) abc_die("cannot open cfg file '%s'", a->pos[0]);
    if (!abc_file_exists(a->pos[1])) abc_die("cannot open weights file '%s'", a->pos[1]);
}

static int convert_run(const abc_cli *a)
{
    need_model(a);
    abc_convert_opts o = {abc_cli_str(a, "-to", NULL), abc_cli_str(a, "-keep", NULL), abc_cli_str(a, "-out", NULL), 0};
    const char *data = abc_cli_str(a, "-data", NULL);
    int valid = abc_cli_flag(a, "-valid");
    if (!o.to) abc_cli_fail(a, "-to is required (xnor, bwn, abcMN, hada<w>-<a>, hbwn<w>, a weight quantizer, darknet)");
    if (!o.out) abc_cli_fail(a, "-out is required (writes <out>.cfg and <out>.weights)");
    if (valid && !data) abc_cli_fail(a, "-valid needs -data <data file> (its valid list)");
    if (data && !abc_file_exists(data)) abc_die("cannot open data file '%s'", data);
    int calib = (int)abc_cli_int(a, "-calib", 0);
    if (data) abc_calibrate_check(data, calib ? calib : 32); /* before anything is written */
    int rc = abc_weights_convert(a->pos[0], a->pos[1], &o);
    if (rc) return rc;
    char cfg[4200], w[4200];
    snprintf(cfg, sizeof cfg, "%s.cfg", o.out);
    snprintf(w, sizeof w, "%s.weights", o.out);
    if (data) {
        fflush(stdout);
        abc_calibrate_inputs(data, cfg, w, calib ? calib : o.detector ? 8 : 32, o.detector);
    }
    if (!valid) return 0;
    printf("\nthe converted model before any fine-tuning, on the valid list of %s:\n", data);
    fflush(stdout);
    if (!o.detector) return abc_classifier_valid(data, cfg, w, NULL, NULL);
    abc_det_map_cmd_opts m = {0.25f, 0.5f, 0, 0};
    return abc_detector_map(data, cfg, w, &m);
}

static const abc_opt convert_opts[] = {
    {"-to", ABC_OPT_STR, "FAMILY", 0, 0, "xnor, bwn, abcMN (abc33: 3 weight, 3 activation bases), hada<w>-<a>, hbwn<w>; "
                                        "smooth, md_tanh, md_tanh_s, gd_tanh (binary weights by that quantizer; "
                                        "-xnor appended: binary activations too); int8, int4, int<w>-<a> "
                                        "(AQT integer layers, w and a bits 2..8); darknet: only darknet's own binary=1 / xnor=1 layers (always imported)"},
    {"-keep", ABC_OPT_STR, "LIST", 0, 0, "layers that stay float: default (first, last, convs feeding [yolo]), "
                                         "first, last, detect, none, a type, layer indices; comma-separated"},
    {"-out", ABC_OPT_STR, "PREFIX", 0, 0, "writes PREFIX.cfg and PREFIX.weights"},
    {"-data", ABC_OPT_STR, "FILE", 0, 0, "a darknet .data file: its train list calibrates the integer layers' input "
                                         "bounds (saved in the weights), its valid list is -valid's"},
    {"-calib", ABC_OPT_INT, "N", 1, 4096, "training images the input bounds are calibrated on, in one batch through "
                                          "the model (default 32, detectors 8: the batch's memory)"},
    {"-valid", ABC_OPT_FLAG, NULL, 0, 0, "then the converted model's accuracy (classifier) or mAP (detector) on the "
                                         "data's valid list, before any fine-tuning"},
    {0},
};

static const abc_cmd convert_cmd = {
    .name = "convert", .args = "<cfg> <weights>", .min_args = 2, .max_args = 2,
    .what = "a float darknet model into a binary one of the same topology, ready to fine-tune",
    .opts = convert_opts, .run = convert_run,
    .notes = "Only the converted sections of the cfg change (their header and the family's keys); the weights\n"
             "are the float ones as the binary layers' shadow weights (scales fitted, batch norm carried), the\n"
             "iteration count at 0. Prints what became what, each layer's quantization error and the sizes.",
};

static int inspect_run(const abc_cli *a)
{
    need_model(a);
    return abc_weights_inspect(a->pos[0], a->pos[1], abc_cli_flag(a, "-json"));
}

static const abc_opt inspect_opts[] = {
    {"-json", ABC_OPT_FLAG, NULL, 0, 0, "one JSON object on stdout"},
    {0},
};

static const abc_cmd inspect_cmd = {
    .name = "inspect", .args = "<cfg> <weights>", .min_args = 2, .max_args = 2,
    .what = "per layer: type, what it computes with, shape, bytes (file and packed), each array's range and NaN/Inf",
    .opts = inspect_opts, .run = inspect_run,
};

static int pack_run(const abc_cli *a)
{
    need_model(a);
    const char *out = abc_cli_str(a, "-out", NULL);
    if (!out) abc_cli_fail(a, "-out is required (the packed file to write, e.g. model.abcw)");
    return abc_weights_pack(a->pos[0], a->pos[1], out, abc_cli_flag(a, "-half"), abc_cli_flag(a, "-json"));
}

static const abc_opt pack_opts[] = {
    {"-out", ABC_OPT_STR, "FILE", 0, 0, "the packed file to write"},
    {"-half", ABC_OPT_FLAG, NULL, 0, 0, "float layers as float16 (half their size; outputs then differ slightly)"},
    {"-json", ABC_OPT_FLAG, NULL, 0, 0, "one JSON object on stdout"},
    {0},
};

static const abc_cmd pack_cmd = {
    .name = "pack", .args = "<cfg> <weights>", .min_args = 2, .max_args = 2,
    .what = "a trained model into a packed deployment file (binary layers as bits, float layers as floats)",
    .opts = pack_opts, .run = pack_run,
    .notes = "The file holds what inference computes with: no shadow weights. classifier valid / predict and\n"
             "detector test / map / demo / bench load it in place of the .weights (with the same cfg); training\n"
             "from it is refused. It is checked after writing: reloaded, it must give the unpacked model's\n"
             "outputs on a test input bit for bit (with -half, the difference is reported).",
};

static int export_run(const abc_cli *a)
{
    need_model(a);
    const char *out = abc_cli_str(a, "-out", NULL);
    if (!out) abc_cli_fail(a, "-out is required (writes <out>.cfg and <out>.weights)");
    return abc_weights_export(a->pos[0], a->pos[1], out, abc_cli_flag(a, "-shadow"));
}

static const abc_opt export_opts[] = {
    {"-out", ABC_OPT_STR, "PREFIX", 0, 0, "writes PREFIX.cfg and PREFIX.weights"},
    {"-shadow", ABC_OPT_FLAG, NULL, 0, 0, "the shadow weights (to train on in float) instead of the binary ones"},
    {0},
};

static const abc_cmd export_cmd = {
    .name = "export", .args = "<cfg> <weights>", .min_args = 2, .max_args = 2,
    .what = "a binary model as a float darknet model of the same topology (any darknet loads it)",
    .opts = export_opts, .run = export_run,
    .notes = "Each binary section becomes the float section it stands for ([convolutional], [connected]) with\n"
             "its geometry, batch norm and activation; its weights are the binary ones it computes with (alpha\n"
             "times the signs), or with -shadow its shadow weights. The float model computes the binary model's\n"
             "function where its binary layers take float activations (bwn, hbwn), and binary weights on float\n"
             "activations elsewhere.",
};

static const abc_cmd *const subs[] = {&convert_cmd, &pack_cmd, &export_cmd, &inspect_cmd, NULL};

const abc_cmd abc_weights_cmd = {
    .name = "weights",
    .what = "weights tools: convert a float model to a binary one, pack it for deployment, export it back, inspect it",
    .subs = subs,
};
