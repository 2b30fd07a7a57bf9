#include "forward.h"

#include "base/darknet_private.h"
#include "base/util.h"

void abc_forward_network(network *netp, double *layer_ms)
{
    network net = *netp;
    for (int i = 0; i < net.n; ++i) {
        net.index = i;
        layer l = net.layers[i];
        if (l.delta && net.train) fill_cpu(l.outputs * l.batch, 0, l.delta, 1);
        double t0 = layer_ms ? abc_now() : 0;
        l.forward(l, net);
        if (layer_ms) layer_ms[i] = 1e3 * (abc_now() - t0);
        net.input = l.output;
        if (l.truth) net.truth = l.output;
    }
    calc_network_cost(netp);
}

float *abc_network_predict(network *net, float *input)
{
    network keep = *net;
    net->input = input;
    net->truth = 0;
    net->train = 0;
    net->delta = 0;
    abc_forward_network(net, NULL);
    float *out = net->output;
    *net = keep;
    return out;
}
