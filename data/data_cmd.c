/* ./darknet data fashion-mnist [-out DIR] [-limit N]
 * ./darknet data fmnist-detect [-out DIR] [-n N] [-valid N] [-size S] [-seed K] */
#include "commands.h"
#include "fmnist.h"
#include "fmnist_detect.h"

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

static int fmnist_detect_run(const abc_cli *a)
{
    abc_detect_opts o = abc_detect_default_opts();
    o.train = (int)abc_cli_int(a, "-n", o.train);
    o.valid = (int)abc_cli_int(a, "-valid", o.valid);
    o.size = (int)abc_cli_int(a, "-size", o.size);
    o.seed = (uint64_t)abc_cli_int(a, "-seed", (long)o.seed);
    o.video_frames = (int)abc_cli_int(a, "-video_frames", o.video_frames);
    o.video_size = (int)abc_cli_int(a, "-video_size", o.video_size);
    abc_fmnist_detect_prepare(abc_cli_str(a, "-out", ABC_DETECT_DIR), &o);
    return 0;
}

static const abc_opt fmnist_detect_opts[] = {
    {"-out", ABC_OPT_STR, "DIR", 0, 0,
     "output directory (default " ABC_DETECT_DIR "; only the default also writes " ABC_DETECT_DATA ")"},
    {"-n", ABC_OPT_INT, "N", 1, 1000000, "training canvases (default 6000), drawn from Fashion-MNIST's training images"},
    {"-valid", ABC_OPT_INT, "N", 1, 1000000, "validation canvases (default 1000), drawn from its test images"},
    {"-size", ABC_OPT_INT, "S", 64, 4096, "canvas side in pixels (default 256)"},
    {"-seed", ABC_OPT_INT, "K", 0, 2147483647, "random seed (default 1): the same seed gives the same files"},
    {"-video_frames", ABC_OPT_INT, "N", 0, 1000000, "frames of the test video at 30 fps (default 900; 0: none)"},
    {"-video_size", ABC_OPT_INT, "S", 64, 4096, "the test video's side in pixels (default 416)"},
    {0},
};

static const abc_cmd fmnist_detect_cmd = {
    .name = "fmnist-detect",
    .what = "a detection set from Fashion-MNIST: canvases of 1-8 items with darknet labels, lists, names, .data",
    .notes = "Items of 32-160 px (at most 60% of the canvas), tinted, on gradient, noisy or textured backgrounds,\n"
             "overlapping little; labels beside the images (class cx cy w h). Then a test video in <out>-video/:\n"
             "items of the test images moving across one scene, entering, leaving and passing over each other\n"
             "(H.264 MP4, encoded by ffmpeg), with its truth as one JSON line per frame. Each built atomically;\n"
             "the same request twice leaves them alone.",
    .opts = fmnist_detect_opts,
    .run = fmnist_detect_run,
};

static const abc_cmd *const subs[] = {&fashion_mnist_cmd, &fmnist_detect_cmd, NULL};

const abc_cmd abc_data_cmd = {
    .name = "data",
    .what = "prepare a data set in darknet's layout (Fashion-MNIST for the classifier, a detection set)",
    .subs = subs,
};
