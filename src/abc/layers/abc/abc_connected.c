/* [abc_connected]: the ABC-Net fully connected layer. It is the
 * [abc_convolutional] layer as a 1x1 convolution on a 1x1 image with
 * inputs channels (the flattened input), so both paths, the gradients and
 * the packing are abc_conv's; only the cfg keys and the summary differ.
 * Weights are [outputs][inputs] (darknet's [connected] order). The .weights
 * record is abc_convolutional's (see abc_conv.c): biases; if
 * batch_normalize: scales, rolling_mean, rolling_variance; weights; alpha; beta; v. */
#include <stdlib.h>
#include <string.h>

#include "abc_conv.h"
#include "abc_layers.h"
#include "quant/conv_layer.h"

static const char *const conn_keys[] = {"output", "batch_normalize", "activation", "weight_bases",
                                        "activation_bases", "weight_shifts", "activation_shifts",
                                        "activation_scales", "scale", "gradient", "weight_quantizer", "beta",
                                        "beta_growth", "beta_every", NULL};

static layer conn_parse(const abc_section *s, size_params p)
{
    int out = abc_sec_int(s, "output", 1, 1, 1 << 20);
    int bn = abc_sec_int(s, "batch_normalize", 0, 0, 1);
    ACTIVATION act = abc_parse_activation_key(s);
    abc_conv_opts o;
    abc_parse_abc_keys(s, &o);
    if (p.inputs <= 0) abc_sec_die(s, NULL, "no input");
    layer l = abc_conv_make(p.batch, 1, 1, p.inputs, out, 1, 1, 0, act, bn, &o);
    fprintf(stderr, "abc_connected               %4d  ->  %4d  %s%s M=%d N=%d%s\n", p.inputs, out,
            o.wquant ? "weights " : "ABC", o.wquant ? o.wquant->name : "", o.M, o.N, o.N == 0 ? " (float activations)" : "");
    return l;
}

static int conn_load_float(layer *l, FILE *fp) { return abc_conv_load_float(l, fp, 1); }

const abc_layer_type abc_connected_type = {"abc_connected", conn_keys,    conn_parse, abc_conv_weights_floats,
                                           abc_conv_load,   abc_conv_save, abc_connected_layer_resize,
                                           abc_float_record_floats, conn_load_float, abc_conv_describe,
                                           abc_conv_quantized, abc_conv_pack, abc_conv_unpack, abc_conv_arrays,
                                           abc_conv_momentum, abc_conv_binarization, abc_conv_bits, NULL, NULL};
