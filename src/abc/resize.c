/* resize_network, done by the project: darknet's loop, plus plugin layers
 * through the registry, and a clear error (not an abort) for layer types
 * that cannot change size. */
#include "base/darknet_private.h"
#include "base/util.h"
#include "float/float_batchnorm.h"
#include "float/float_fast.h"
#include "netio.h"
#include "registry.h"

static const char *stock_name(LAYER_TYPE t)
{
    switch (t) {
    case CONNECTED: return "connected";
    case SOFTMAX: return "softmax";
    case DROPOUT: return "dropout";
    case BATCHNORM: return "batchnorm";
    case LOCAL: return "local";
    case DETECTION: return "detection";
    default: return "this";
    }
}

int abc_resize_network(network *net, int w, int h)
{
    if (w <= 0 || h <= 0) abc_die("cannot resize the network to %dx%d", w, h);
    net->w = w;
    net->h = h;
    int inputs = 0;
    size_t workspace = 0;
    for (int i = 0; i < net->n; ++i) {
        layer l = net->layers[i];
        const abc_layer_type *p = abc_registry_of(&l);
        if (p) {
            if (!p->resize) abc_die("cannot resize layer %d ([%s]) to a new input size", i, p->name);
            p->resize(&l, w, h);
        } else {
            switch (l.type) {
            case CONVOLUTIONAL: resize_convolutional_layer(&l, w, h); break;
            case CROP: resize_crop_layer(&l, w, h); break;
            case MAXPOOL: resize_maxpool_layer(&l, w, h); break;
            case REGION: resize_region_layer(&l, w, h); break;
            case YOLO: resize_yolo_layer(&l, w, h); break;
            case ROUTE: resize_route_layer(&l, net); break;
            case SHORTCUT: resize_shortcut_layer(&l, w, h); break;
            case UPSAMPLE: resize_upsample_layer(&l, w, h); break;
            case REORG: resize_reorg_layer(&l, w, h); break;
            case AVGPOOL: resize_avgpool_layer(&l, w, h); break;
            case BATCHNORM: abc_batchnorm_resize(&l, w, h); break;
            case NORMALIZATION: resize_normalization_layer(&l, w, h); break;
            case COST: resize_cost_layer(&l, inputs); break;
            default:
                abc_die("cannot resize layer %d (%s layer) to %dx%d: darknet can only resize "
                        "networks whose size-dependent part ends with [avgpool]", i, stock_name(l.type), w, h);
            }
        }
        if (l.outputs <= 0) abc_die("resizing to %dx%d leaves layer %d with no output", net->w, net->h, i);
        abc_float_fast_install(&l);
        if (l.workspace_size > workspace) workspace = l.workspace_size;
        inputs = l.outputs;
        net->layers[i] = l;
        w = l.out_w;
        h = l.out_h;
        if (l.type == AVGPOOL) break;
    }
    layer out = get_network_output_layer(net);
    net->inputs = net->layers[0].inputs;
    net->outputs = out.outputs;
    net->truths = out.outputs;
    if (net->layers[net->n - 1].truths) net->truths = net->layers[net->n - 1].truths;
    net->output = out.output;
    free(net->input);
    free(net->truth);
    free(net->workspace);
    net->input = abc_xcalloc((size_t)net->inputs * net->batch, sizeof(float));
    net->truth = abc_xcalloc((size_t)net->truths * net->batch, sizeof(float));
    net->workspace = workspace ? abc_xcalloc(1, workspace) : NULL;
    return 0;
}
