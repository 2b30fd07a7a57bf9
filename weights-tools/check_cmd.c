/* ./darknet abc check <cfg> [weights]: parse a cfg (and load weights)
 * through the hooks; print layer count, output size, weight floats and the
 * binary-layer summary. */
#include <stdio.h>

#include "abc/base/util.h"
#include "abc/netio.h"
#include "commands.h"
#include "darknet.h"
#include "summary.h"

static int check_run(const abc_cli *a)
{
    network *net = load_network((char *)a->pos[0], a->npos > 1 ? (char *)a->pos[1] : NULL, 0);
    long long floats = 0;
    for (int i = 0; i < net->n; ++i) floats += (long long)abc_layer_floats(&net->layers[i]);
    printf("layers: %d\noutputs: %d\nweights: %lld\n", net->n, net->outputs, floats);
    abc_print_model_summary(net, stdout);
    free_network(net);
    return 0;
}

const abc_cmd abc_check_cmd = {
    .name = "check",
    .args = "<cfg> [weights]",
    .min_args = 1,
    .max_args = 2,
    .what = "parse a cfg (and load weights) through the project's parser; print the network or the first error",
    .run = check_run,
};
