/* ./darknet abc check <cfg> [weights]: parse a cfg (and load weights)
 * through the hooks; print layer count, output size and weight floats. */
#include <stdio.h>

#include "abc/abc_util.h"
#include "abc/registry.h"
#include "darknet.h"

int abc_check_main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) abc_die("usage: %s abc check <cfg> [weights]", argv[0]);
    network *net = load_network(argv[3], argc == 5 ? argv[4] : NULL, 0);
    long long floats = 0;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        const abc_layer_type *p = abc_registry_of(l);
        if (p)
            floats += (long long)p->weights_floats(l);
        else if (l->type == CONVOLUTIONAL || l->type == DECONVOLUTIONAL)
            floats += l->nweights + (long long)l->n * (l->batch_normalize ? 4 : 1);
        else if (l->type == CONNECTED)
            floats += (long long)l->inputs * l->outputs + (long long)l->outputs * (l->batch_normalize ? 4 : 1);
        else if (l->type == BATCHNORM)
            floats += 3LL * l->c;
    }
    printf("layers: %d\noutputs: %d\nweights: %lld\n", net->n, net->outputs, floats);
    free_network(net);
    return 0;
}
