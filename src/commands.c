/* The program's command table: its families, in the order the usage lists
 * them, and the options every command takes. */
#include "commands.h"

#include "abc/base/threads.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const abc_opt global_opts[] = {
    {"-threads", ABC_OPT_INT, "N", 1, ABC_MAX_THREADS,
     "threads for every parallel part (default: all cores, or ABC_THREADS; 1 to " STR(ABC_MAX_THREADS) ")"},
    {0},
};

static const abc_cmd *const families[] = {&abc_classifier_cmd, &abc_detector_cmd, &abc_weights_cmd, &abc_data_cmd,
                                           &abc_partial_cmd, &abc_demo_cmd, &abc_abc_cmd, NULL};

const abc_cmd abc_darknet_cmd = {
    .name = "darknet",
    .what = "darknet for binary neural networks (ABC-Net, XNOR-Net, HadaNets) on Debian's libdarknet: "
            "darknet's commands, cfg and .weights files",
    .opts = global_opts,
    .subs = families,
};
