/* The fast forward/backward of stock [convolutional] and [connected]
 * layers (float_conv.c, float_connected.c) and the fast inference forward of
 * [maxpool] (float_maxpool.c); abc_float_fast_install puts them
 * into layers. Same signatures and results as libdarknet's. */
#ifndef ABC_FLOAT_LAYERS_H
#define ABC_FLOAT_LAYERS_H

#include "darknet.h"

/* Whether the fast conv handles this layer (groups 1, no binary/xnor, 1x1
 * kernels only at stride 1 without padding, as darknet's 1x1 shortcut needs). */
int abc_conv_fast_supports(const layer *l);
void abc_conv_fast_forward(layer l, network net);
void abc_conv_fast_backward(layer l, network net);

int abc_connected_fast_supports(const layer *l);
void abc_connected_fast_forward(layer l, network net);
void abc_connected_fast_backward(layer l, network net);

/* [maxpool]: at inference the max of each window as libdarknet takes it, without the argmax indexes, planes
 * across the pool; in training libdarknet's own forward (its backward reads the indexes). */
void abc_maxpool_fast_forward(layer l, network net);
/* [yolo] at inference (float_yolo.c) and [upsample] (float_upsample.c): libdarknet's outputs, bit for bit, planes
 * across the pool; [yolo] trains with libdarknet's forward, a reverse [upsample] runs libdarknet's. */
void abc_yolo_fast_forward(layer l, network net);
void abc_upsample_fast_forward(layer l, network net);

/* [shortcut] forward and backward (float_shortcut.c): libdarknet's results, bit for bit, across the pool. */
void abc_shortcut_fast_forward(layer l, network net);
void abc_shortcut_fast_backward(layer l, network net);

/* Tasks per image for a batch of `batch` so that `threads` threads stay busy. */
int abc_float_parts_per_image(int batch, int threads, int max_parts);
/* Channel ranges for per-channel work over the whole batch. */
int abc_float_channel_parts(int channels, int threads);

#endif
