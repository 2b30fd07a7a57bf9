/* weights convert -data: the integer layers' input bounds from training images, saved with the model. */
#include "calibrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"
#include "abc/netio.h"
#include "abc/registry.h"
#include "data_file.h"
#include "image_check.h"
#include "image_load.h"

static int uncalibrated_layers(const network *net)
{
    int n = 0;
    for (int i = 0; i < net->n; ++i) {
        const abc_layer_type *t = abc_registry_of(&net->layers[i]);
        n += t && t->needs_calibration && t->needs_calibration(&net->layers[i]);
    }
    return n;
}

/* The train list, *images cut to its length; every (n / images)-th image (a list sorted by class gives every
 * class) must decode. */
static abc_strs calibration_list(const abc_data_cfg *d, int *images)
{
    if (!d->train) abc_die("%s: no 'train=' list (the calibration images)", d->path);
    abc_strs all = abc_read_lines(d->train, "list");
    if (all.n == 0) abc_die("%s: the train list '%s' is empty (the calibration images)", d->path, d->train);
    if (*images > all.n) *images = all.n;
    for (int i = 0; i < *images; ++i) {
        size_t at = (size_t)i * all.n / *images;
        char why[512];
        if (abc_image_problem(all.v[at], why, sizeof why))
            abc_die("%s line %zu: '%s' %s", d->train, at + 1, all.v[at], why);
    }
    return all;
}

void abc_calibrate_check(const char *datafile, int images)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs all = calibration_list(&d, &images);
    abc_strs_free(&all);
    abc_data_cfg_free(&d);
}

int abc_calibrate_inputs(const char *datafile, const char *cfg, const char *weights, int images, int detector)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs all = calibration_list(&d, &images);
    abc_parse_set_batch(images);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    abc_parse_set_batch(0);
    int layers = uncalibrated_layers(net);
    if (!layers) {
        abc_free_network(net);
        abc_strs_free(&all);
        abc_data_cfg_free(&d);
        return 0;
    }
    if (net->inputs != net->w * net->h * 3)
        abc_die("%s: the network takes %d channels; the calibration images are loaded with 3", cfg, net->c);
    float *x = abc_xmalloc((size_t)images * net->inputs * sizeof(float));
    abc_image_buf buf = {0};
    for (int i = 0; i < images; ++i) {
        const char *path = all.v[(size_t)i * all.n / images];
        image im = abc_load_image_color(path, detector ? 0 : net->w, detector ? 0 : net->h, &buf);
        if (detector) {
            image sized = letterbox_image(im, net->w, net->h);
            free_image(im);
            im = sized;
        }
        memcpy(x + (size_t)i * net->inputs, im.data, (size_t)net->inputs * sizeof(float));
        free_image(im);
    }
    abc_image_buf_free(&buf);
    network_predict(net, x); /* the layers without bounds take them from this batch */
    int left = uncalibrated_layers(net);
    if (left) abc_die("%s: %d of %d layers still have no input bounds after calibration", cfg, left, layers);
    abc_save_weights(net, weights, net->n); /* atomic: the whole file under its name, or an error */
    printf("input bounds of %d integer layer%s calibrated on %d of the %d images of %s (evenly spaced), saved in "
           "%s\n", layers, layers > 1 ? "s" : "", images, all.n, d.train, weights);
    free(x);
    abc_free_network(net);
    abc_strs_free(&all);
    abc_data_cfg_free(&d);
    return layers;
}
