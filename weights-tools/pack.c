/* weights pack: writes the packed file, then loads it back into a fresh network and runs both on the same
 * input, so that a file that would not give the unpacked model's outputs is never left behind. */
#include "pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abc/base/util.h"
#include "abc/forward.h"
#include "abc/packfile.h"
#include "abc/registry.h"
#include "abc/netio.h"
#include "inspect.h"

static long long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) ? -1 : (long long)sb.st_size;
}

/* The network's output on a fixed pseudo-random input in [0, 1), copied (net->outputs floats). */
static float *probe_output(network *net)
{
    size_t n = (size_t)net->inputs;
    float *x = abc_xmalloc(n * sizeof(float));
    uint32_t s = 12345;
    for (size_t i = 0; i < n; ++i) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / 16777216.f;
    }
    float *y = abc_network_predict(net, x), *out = abc_xmalloc((size_t)net->outputs * sizeof(float));
    for (int i = 0; i < net->outputs; ++i) out[i] = y[i];
    free(x);
    return out;
}

static network *load_for_inference(const char *cfg, const char *weights)
{
    abc_parse_set_batch(1);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    set_batch_network(net, 1);
    net->train = 0;
    return net;
}

int abc_weights_pack(const char *cfg, const char *weights, const char *out, int half, int json)
{
    double t0 = abc_now();
    network *net = load_for_inference(cfg, weights);
    double t_unpacked = abc_now() - t0;
    abc_check_finite(net, weights);
    int binary = 0, flt = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (abc_registry_of(l)) ++binary;
        else if (l->type == CONVOLUTIONAL || l->type == CONNECTED || l->type == BATCHNORM) ++flt;
    }
    long long bytes = abc_packfile_save(net, out, half);

    float *want = probe_output(net);
    t0 = abc_now();
    network *back = load_for_inference(cfg, out);
    double t_packed = abc_now() - t0;
    float *got = probe_output(back);
    double maxdiff = 0, maxabs = 0;
    for (int i = 0; i < net->outputs; ++i) {
        double d = fabs((double)want[i] - got[i]);
        maxdiff = d > maxdiff || isnan(d) ? d : maxdiff;
        maxabs = fabs(want[i]) > maxabs ? fabs(want[i]) : maxabs;
    }
    /* float32 records and packed bits give the same floats; float16 weights move the outputs, and a binary
     * layer after them turns a small move into a flipped sign here and there: reported, not judged */
    if (!half && maxdiff != 0) {
        unlink(out);
        abc_die("'%s' reloaded gives outputs %g away from the unpacked model's (removed): please report this", out,
                maxdiff);
    }
    long long wbytes = file_size(weights);
    char diff[96] = "bit for bit";
    if (half)
        snprintf(diff, sizeof diff, "largest %.3g of outputs up to %.3g: check the accuracy (valid / map)", maxdiff,
                 maxabs);
    if (json)
        printf("{\"out\": \"%s\", \"bytes\": %lld, \"weights_bytes\": %lld, \"ratio\": %.3f, \"binary_layers\": %d, "
               "\"float_layers\": %d, \"half\": %s, \"load_ms_weights\": %.2f, \"load_ms_packed\": %.2f, "
               "\"max_output_diff\": %.3g}\n", out, bytes, wbytes, (double)wbytes / bytes, binary, flt,
               half ? "true" : "false", 1e3 * t_unpacked, 1e3 * t_packed, maxdiff);
    else
        printf("%s: %lld bytes (%.1f KiB); %s: %.1f KiB, %.2fx smaller\n"
               "  %d binary layers as packed bits, %d float layers as float%s\n"
               "  reloaded: %s (%s); load %.1f ms against %.1f ms for the .weights\n",
               out, bytes, bytes / 1024.0, weights, wbytes / 1024.0, (double)wbytes / bytes, binary, flt,
               half ? "16" : "32", half ? "outputs differ by float16's rounding" : "outputs identical", diff,
               1e3 * t_packed, 1e3 * t_unpacked);
    free(want);
    free(got);
    free_network(back);
    free_network(net);
    return 0;
}
