/* ./darknet abc check <cfg> [weights]: parse a cfg (and load weights)
 * through the hooks; print layer count, output size, weight floats and the
 * binary-layer summary. */
#include <stdio.h>

#include "abc/base/util.h"
#include "abc/netio.h"
#include "darknet.h"
#include "summary.h"

int abc_check_main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) abc_die("usage: %s abc check <cfg> [weights]", argv[0]);
    network *net = load_network(argv[3], argc == 5 ? argv[4] : NULL, 0);
    long long floats = 0;
    for (int i = 0; i < net->n; ++i) floats += (long long)abc_layer_floats(&net->layers[i]);
    printf("layers: %d\noutputs: %d\nweights: %lld\n", net->n, net->outputs, floats);
    abc_print_model_summary(net, stdout);
    free_network(net);
    return 0;
}
