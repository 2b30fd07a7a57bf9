#include "forward.h"

#include <string.h>

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

/* Whether rows [r0, r0 + n) of X lie end to end in memory: then they are the network's input as they are. */
static int rows_contiguous(matrix X, int r0, int n)
{
    for (int b = 1; b < n; ++b)
        if (X.vals[r0 + b] != X.vals[r0] + (size_t)b * X.cols) return 0;
    return 1;
}

matrix abc_network_predict_rows(network *net, matrix X)
{
    int out_n = net->outputs, batch = net->batch;
    size_t in_bytes = sizeof(float) * (size_t)X.cols;
    matrix pred = make_matrix(X.rows, out_n);
    float *in = NULL;
    for (int r0 = 0; r0 < X.rows; r0 += batch) {
        int n = X.rows - r0 < batch ? X.rows - r0 : batch;
        float *batch_in = X.vals[r0];
        if (n < batch || !rows_contiguous(X, r0, n)) {
            if (!in) in = abc_xcalloc((size_t)batch * X.cols, sizeof(float));
            for (int b = 0; b < n; ++b) memcpy(in + (size_t)b * X.cols, X.vals[r0 + b], in_bytes);
            batch_in = in;
        }
        const float *out = abc_network_predict(net, batch_in);
        for (int b = 0; b < n; ++b) memcpy(pred.vals[r0 + b], out + (size_t)b * out_n, sizeof(float) * (size_t)out_n);
    }
    free(in);
    return pred;
}
