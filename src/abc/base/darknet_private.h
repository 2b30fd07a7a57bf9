/* Declarations of libdarknet.so exports that darknet.h does not publish.
 * Debian's darknet package (pjreddie 61c9d02e) exports these symbols; the
 * struct layouts below are the library's private ones, verified against the
 * binary (size_params: sizeof 40, net at offset 32; section: 2 pointers).
 * Nothing here is defined by the project: declarations only. */
#ifndef ABC_DN_PRIVATE_H
#define ABC_DN_PRIVATE_H

#include <stdio.h>
#include "darknet.h"

typedef struct {
    char *key;
    char *val;
    int used;
} kvp;

typedef struct {
    char *type;
    list *options;
} section;

typedef struct size_params {
    int batch;
    int inputs;
    int h;
    int w;
    int c;
    int index;
    int time_steps;
    network *net;
} size_params;

/* list / options */
list *make_list(void);
void list_insert(list *l, void *val);
void option_insert(list *l, char *key, char *val);
char *option_find(list *l, char *key);
float option_find_float(list *l, char *key, float def);
float option_find_float_quiet(list *l, char *key, float def);
void option_unused(list *l);

/* network construction */
network *make_network(int n);
void parse_net_options(list *options, network *net);
LAYER_TYPE string_to_layer_type(char *type);
ACTIVATION get_activation(char *s);
char *get_activation_string(ACTIVATION a);

layer parse_convolutional(list *options, size_params params);
layer parse_deconvolutional(list *options, size_params params);
layer parse_local(list *options, size_params params);
layer parse_activation(list *options, size_params params);
layer parse_logistic(list *options, size_params params);
layer parse_l2norm(list *options, size_params params);
layer parse_rnn(list *options, size_params params);
layer parse_gru(list *options, size_params params);
layer parse_lstm(list *options, size_params params);
layer parse_crnn(list *options, size_params params);
layer parse_connected(list *options, size_params params);
layer parse_crop(list *options, size_params params);
layer parse_cost(list *options, size_params params);
layer parse_region(list *options, size_params params);
layer parse_yolo(list *options, size_params params);
layer parse_iseg(list *options, size_params params);
layer parse_detection(list *options, size_params params);
layer parse_softmax(list *options, size_params params);
layer parse_normalization(list *options, size_params params);
layer parse_batchnorm(list *options, size_params params);
layer parse_maxpool(list *options, size_params params);
layer parse_reorg(list *options, size_params params);
layer parse_avgpool(list *options, size_params params);
layer parse_route(list *options, size_params params, network *net);
layer parse_upsample(list *options, size_params params, network *net);
layer parse_shortcut(list *options, size_params params, network *net);
layer parse_dropout(list *options, size_params params);

/* stock layer functions the fast path and the tests compare against */
void forward_convolutional_layer(layer l, network net);
void backward_convolutional_layer(layer l, network net);
void update_convolutional_layer(layer l, update_args a);
void forward_connected_layer(layer l, network net);
void backward_connected_layer(layer l, network net);
void update_connected_layer(layer l, update_args a);
layer make_convolutional_layer(int batch, int h, int w, int c, int n, int groups, int size,
                               int stride, int padding, ACTIVATION activation,
                               int batch_normalize, int binary, int xnor, int adam);
layer make_connected_layer(int batch, int inputs, int outputs, ACTIVATION activation,
                           int batch_normalize, int adam);
void resize_convolutional_layer(layer *l, int w, int h);
layer make_maxpool_layer(int batch, int h, int w, int c, int size, int stride, int padding);
void forward_maxpool_layer(layer l, network net);
void backward_maxpool_layer(layer l, network net);
void backward_avgpool_layer(layer l, network net);
void backward_upsample_layer(layer l, network net);
void backward_reorg_layer(layer l, network net);
void forward_yolo_layer(const layer l, network net);
void binarize_weights(float *weights, int n, int size, float *binary);
layer make_yolo_layer(int batch, int w, int h, int n, int total, int *mask, int classes);
layer make_upsample_layer(int batch, int w, int h, int c, int stride);
void forward_upsample_layer(const layer l, network net);
void calc_network_cost(network *net);
void resize_crop_layer(layer *l, int w, int h);
void resize_maxpool_layer(layer *l, int w, int h);
void resize_region_layer(layer *l, int w, int h);
void resize_yolo_layer(layer *l, int w, int h);
void resize_route_layer(layer *l, network *net);
void resize_shortcut_layer(layer *l, int w, int h);
layer make_shortcut_layer(int batch, int index, int w, int h, int c, int w2, int h2, int c2);
void forward_shortcut_layer(const layer l, network net);
void backward_shortcut_layer(const layer l, network net);
void resize_upsample_layer(layer *l, int w, int h);
void resize_reorg_layer(layer *l, int w, int h);
void resize_avgpool_layer(layer *l, int w, int h);
void resize_normalization_layer(layer *l, int w, int h);
void resize_cost_layer(layer *l, int inputs);

/* blas.c / activations.c / im2col.c */
void activate_array(float *x, const int n, const ACTIVATION a);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);
void im2col_cpu(float *data_im, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_col);
void col2im_cpu(float *data_col, int channels, int height, int width, int ksize, int stride,
                int pad, float *data_im);
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B,
              int ldb, float BETA, float *C, int ldc);
layer make_batchnorm_layer(int batch, int w, int h, int c);
void forward_batchnorm_layer(layer l, network net);
void backward_batchnorm_layer(layer l, network net);

#endif
