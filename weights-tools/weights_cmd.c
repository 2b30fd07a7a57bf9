/* ./darknet weights <command>: tools for darknet weights files. */
#include <stdio.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "commands.h"
#include "convert.h"
#include "inspect.h"

static int convert_run(const abc_cli *a)
{
    if (!abc_file_exists(a->pos[0])) abc_die("cannot open cfg file '%s'", a->pos[0]);
    if (!abc_file_exists(a->pos[1])) abc_die("cannot open weights file '%s'", a->pos[1]);
    abc_convert_opts o = {abc_cli_str(a, "-to", NULL), abc_cli_str(a, "-keep", NULL), abc_cli_str(a, "-out", NULL)};
    if (!o.to) abc_cli_fail(a, "-to is required (xnor, bwn, abcMN, hada<w>-<a>, hbwn<w>)");
    if (!o.out) abc_cli_fail(a, "-out is required (writes <out>.cfg and <out>.weights)");
    return abc_weights_convert(a->pos[0], a->pos[1], &o);
}

static const abc_opt convert_opts[] = {
    {"-to", ABC_OPT_STR, "FAMILY", 0, 0, "xnor, bwn, abcMN (abc33: 3 weight, 3 activation bases), hada<w>-<a>, hbwn<w>"},
    {"-keep", ABC_OPT_STR, "LIST", 0, 0, "layers that stay float: default (first, last, convs feeding [yolo]), "
                                         "first, last, detect, none, a type, layer indices; comma-separated"},
    {"-out", ABC_OPT_STR, "PREFIX", 0, 0, "writes PREFIX.cfg and PREFIX.weights"},
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
    if (!abc_file_exists(a->pos[0])) abc_die("cannot open cfg file '%s'", a->pos[0]);
    if (!abc_file_exists(a->pos[1])) abc_die("cannot open weights file '%s'", a->pos[1]);
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

static const abc_cmd *const subs[] = {&convert_cmd, &inspect_cmd, NULL};

const abc_cmd abc_weights_cmd = {
    .name = "weights",
    .what = "weights tools: convert a float model to a binary one, inspect a model",
    .subs = subs,
};
