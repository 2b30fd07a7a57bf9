/* ./darknet data fashion-mnist [-out DIR] [-limit N] */
#include "commands.h"
#include "fmnist.h"

static int fashion_mnist_run(const abc_cli *a)
{
    abc_fmnist_prepare(abc_cli_str(a, "-out", ABC_FMNIST_DIR), (int)abc_cli_int(a, "-limit", 0));
    return 0;
}

static const abc_opt fashion_mnist_opts[] = {
    {"-out", ABC_OPT_STR, "DIR", 0, 0,
     "output directory (default " ABC_FMNIST_DIR "; only the default also writes " ABC_FMNIST_DATA ")"},
    {"-limit", ABC_OPT_INT, "N", 1, 1000000, "only the first N images of each set"},
    {0},
};

static const abc_cmd fashion_mnist_cmd = {
    .name = "fashion-mnist",
    .what = "Debian's Fashion-MNIST (dataset-fashion-mnist) -> train/ and test/ PNGs, lists, labels, a .data file",
    .notes = "Converts atomically (a temp directory, then a rename); a complete conversion with the same counts\n"
             "is left alone.",
    .opts = fashion_mnist_opts,
    .run = fashion_mnist_run,
};

static const abc_cmd *const subs[] = {&fashion_mnist_cmd, NULL};

const abc_cmd abc_data_cmd = {
    .name = "data",
    .what = "prepare a data set in darknet's classifier layout",
    .subs = subs,
};
