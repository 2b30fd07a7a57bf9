/* ./darknet detector bench <cfg> [-compare other.cfg] [-rounds R] [-width W -height H] [-batch B] [-json]: the
 * whole forward of a network at batch 1 or B (inference, random weights and input), layer by layer, at 1 and 2
 * threads.
 *
 * Each round runs the forward pass the project's commands run (abc_forward_network), timing each layer.
 * The settings (1 thread, 2 threads; each cfg) take turns within every round, so that a noisy neighbour hits
 * them alike; the figures are medians over the rounds, and a network's total is the sum of its rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/darknet_private.h"
#include "abc/base/files.h"
#include "abc/base/mode.h"
#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/forward.h"
#include "abc/float/float_fast.h"
#include "abc/float/float_layers.h"
#include "abc/kernels/sgemm.h"
#include "abc/registry.h"
#include "abc/netio.h"
#include "bench_util.h"
#include "commands.h"
#include "darknet.h"
#include "json.h"

char *get_layer_string(LAYER_TYPE a);

enum { SETTINGS = 2 }; /* 1 thread, 2 threads */

typedef struct {
    const char *cfg;
    network *net;
    int rows;        /* layers */
    double *ms;      /* [setting][round][row] */
    double *median;  /* [setting][row] */
    double total[SETTINGS];
} netbench;

/* One forward as the project's inference commands run it (abc_network_predict), each layer timed. */
static void forward_rows(network *netp, const float *input, double *ms)
{
    network *net = netp;
    float *keep = net->input;
    net->input = (float *)input;
    net->truth = 0;
    net->train = 0;
    net->delta = 0;
    abc_forward_network(net, ms);
    net->input = keep;
}

static const char *type_name(const layer *l)
{
    const abc_layer_type *t = abc_registry_of(l);
    if (t) return t->name;
    switch (l->type) { /* get_layer_string has no name for some of them */
    case UPSAMPLE: return "upsample";
    case YOLO: return "yolo";
    case REORG: return "reorg";
    case L2NORM: return "l2norm";
    case LOGXENT: return "logistic";
    default: return get_layer_string(l->type);
    }
}

/* "w x h x c -> w x h x c"; a route has no single input, a [yolo] / [region] layer's output is its input
 * (libdarknet leaves their out_w / out_h at the cfg's size after a resize). */
static void shape_of(const layer *l, char *buf, size_t n)
{
    char in[32] = "-";
    if (l->type != ROUTE) snprintf(in, sizeof in, "%dx%dx%d", l->w, l->h, l->c);
    if (l->type == YOLO || l->type == REGION) snprintf(buf, n, "%s -> %dx%dx%d", in, l->w, l->h, l->c);
    else snprintf(buf, n, "%s -> %dx%dx%d", in, l->out_w, l->out_h, l->out_c);
}

/* What runs the layer at inference. */
static void path_of(const layer *l, char *buf, size_t n)
{
    const abc_layer_type *t = abc_registry_of(l);
    if (t && t->describe) {
        size_t packed, flt;
        t->describe(l, buf, n, &packed, &flt);
    } else if (l->forward == abc_conv_fast_forward || l->forward == abc_connected_fast_forward) {
        snprintf(buf, n, "float, the project's (GEMM: %s)", abc_sgemm_kernel_name());
    } else if (l->forward == abc_maxpool_fast_forward) {
        snprintf(buf, n, "the project's (no argmax indexes, planes across threads)");
    } else if (l->forward == abc_yolo_fast_forward || l->forward == abc_upsample_fast_forward) {
        snprintf(buf, n, "the project's (planes across threads)");
    } else {
        snprintf(buf, n, "libdarknet's");
    }
}

static void load(netbench *b, const char *cfg, int w, int h, int batch, int rounds)
{
    b->cfg = cfg;
    if (!abc_file_exists(cfg)) abc_die("cannot open cfg file '%s'", cfg);
    abc_parse_set_batch(batch);
    b->net = parse_network_cfg((char *)cfg);
    abc_parse_set_batch(0);
    set_batch_network(b->net, batch);
    if ((w || h) && resize_network(b->net, w ? w : b->net->w, h ? h : b->net->h))
        abc_die("cfg '%s': cannot run at %dx%d", cfg, w ? w : b->net->w, h ? h : b->net->h);
    b->rows = b->net->n;
    b->ms = abc_xcalloc((size_t)SETTINGS * rounds * b->rows, sizeof *b->ms);
    b->median = abc_xcalloc((size_t)SETTINGS * b->rows, sizeof *b->median);
}

static void summarise(netbench *b, int rounds)
{
    double *v = abc_xmalloc((size_t)rounds * sizeof *v);
    for (int s = 0; s < SETTINGS; ++s) {
        b->total[s] = 0;
        for (int r = 0; r < b->rows; ++r) {
            for (int k = 0; k < rounds; ++k) v[k] = b->ms[((size_t)s * rounds + k) * b->rows + r];
            b->median[s * b->rows + r] = abc_median(v, rounds);
            b->total[s] += b->median[s * b->rows + r];
        }
    }
    free(v);
}

static void print_table(const netbench *b)
{
    const network *net = b->net;
    printf("\n%s: %dx%dx%d, batch %d, %d layers\n", b->cfg, net->w, net->h, net->c, net->batch, net->n);
    printf("%5s  %-18s %-27s %9s %6s %9s %6s  %s\n", "layer", "type", "input -> output", "1 thr ms", "share",
           "2 thr ms", "2v1", "path");
    for (int r = 0; r < b->rows; ++r) {
        double m1 = b->median[r], m2 = b->median[b->rows + r];
        char shape[64], path[200];
        const layer *l = &net->layers[r];
        shape_of(l, shape, sizeof shape);
        path_of(l, path, sizeof path);
        printf("%5d  %-18.18s %-27s %9.3f %5.1f%% %9.3f %5.2fx  %s\n", r, type_name(l), shape, m1,
               b->total[0] > 0 ? 100 * m1 / b->total[0] : 0, m2, m2 > 0 ? m1 / m2 : 0, path);
    }
    printf("%5s  %-18s %-27s %9.3f %5.1f%% %9.3f %5.2fx  (the sum of the rows)\n", "", "total", "", b->total[0],
           100.0, b->total[1], b->total[1] > 0 ? b->total[0] / b->total[1] : 0);
}

static void print_json(const netbench *b, int n)
{
    printf("{\"networks\": [");
    for (int k = 0; k < n; ++k) {
        const network *net = b[k].net;
        printf("%s{\"cfg\": ", k ? ", " : "");
        abc_json_string(stdout, b[k].cfg);
        printf(", \"width\": %d, \"height\": %d, \"batch\": %d, \"total_ms\": [%.4f, %.4f], \"rows\": [", net->w, net->h,
               net->batch, b[k].total[0], b[k].total[1]);
        for (int r = 0; r < b[k].rows; ++r) {
            printf("%s{\"layer\": %d, \"type\": ", r ? ", " : "", r);
            abc_json_string(stdout, type_name(&net->layers[r]));
            printf(", \"ms\": [%.4f, %.4f]}", b[k].median[r], b[k].median[b[k].rows + r]);
        }
        printf("]}");
    }
    printf("]}\n");
}

static int bench_run(const abc_cli *a)
{
    int rounds = (int)abc_cli_int(a, "-rounds", 11), w = (int)abc_cli_int(a, "-width", 0),
        h = (int)abc_cli_int(a, "-height", 0), batch = (int)abc_cli_int(a, "-batch", 1), json = abc_cli_flag(a, "-json");
    const char *other = abc_cli_str(a, "-compare", NULL);
    netbench b[2];
    memset(b, 0, sizeof b);
    int n = other ? 2 : 1;
    load(&b[0], a->pos[0], w, h, batch, rounds);
    if (other) load(&b[1], other, w, h, batch, rounds);
    int threads[SETTINGS] = {1, 2}, keep = abc_get_threads();
    float *input[2];
    for (int k = 0; k < n; ++k) {
        size_t sz = (size_t)b[k].net->w * b[k].net->h * b[k].net->c * batch;
        input[k] = abc_xmalloc(sz * sizeof(float));
        unsigned seed = 7;
        for (size_t i = 0; i < sz; ++i) input[k][i] = (float)((seed = seed * 1103515245u + 12345u) >> 8) / 16777216.0f;
        abc_network_predict(b[k].net, input[k]); /* warm-up: packs weights, touches buffers */
    }
    char machine[512];
    if (!json) printf("%s\n%d rounds, medians; 1 and 2 threads taking turns%s\n", abc_bench_machine(machine, sizeof machine),
                      rounds, other ? ", the two cfgs too" : "");
    double last = abc_now();
    for (int r = 0; r < rounds; ++r) {
        for (int j = 0; j < SETTINGS * n; ++j) {
            int step = (j + r) % (SETTINGS * n), s = step % SETTINGS, k = step / SETTINGS;
            abc_set_threads(threads[s]);
            forward_rows(b[k].net, input[k], &b[k].ms[((size_t)s * rounds + r) * b[k].rows]);
        }
        if (!json && abc_now() - last > 5) {
            fprintf(stderr, "bench: round %d/%d\n", r + 1, rounds);
            last = abc_now();
        }
    }
    abc_set_threads(keep);
    for (int k = 0; k < n; ++k) summarise(&b[k], rounds);
    if (json) {
        print_json(b, n);
    } else {
        for (int k = 0; k < n; ++k) print_table(&b[k]);
        if (other)
            printf("\n%s vs %s: %.2fx at 1 thread, %.2fx at 2 threads\n", b[1].cfg, b[0].cfg,
                   b[1].total[0] > 0 ? b[0].total[0] / b[1].total[0] : 0, b[1].total[1] > 0 ? b[0].total[1] / b[1].total[1] : 0);
    }
    for (int k = 0; k < n; ++k) {
        free(input[k]);
        free(b[k].ms);
        free(b[k].median);
        free_network(b[k].net);
    }
    return 0;
}

static const abc_opt bench_opts[] = {
    {"-compare", ABC_OPT_STR, "CFG", 0, 0, "a second cfg, measured in the same rounds, and the ratio of the totals"},
    {"-rounds", ABC_OPT_INT, "R", 1, 100000, "rounds (default 11); the figures are medians"},
    {"-width", ABC_OPT_INT, "W", 32, 8192, "run at this width instead of the cfg's"},
    {"-height", ABC_OPT_INT, "H", 32, 8192, "run at this height instead of the cfg's"},
    {"-batch", ABC_OPT_INT, "B", 1, 4096, "images a forward (default 1; classifier valid runs the cfg's batch)"},
    {"-json", ABC_OPT_FLAG, NULL, 0, 0, "one JSON object on stdout: per network its rows' and total medians"},
    {0},
};

const abc_cmd abc_detector_bench_cmd = {
    .name = "bench", .args = "<cfg>", .min_args = 1, .max_args = 1,
    .what = "the whole forward of a cfg at batch 1 (or -batch B), layer by layer, 1 and 2 threads (random weights and input)",
    .opts = bench_opts, .run = bench_run,
    .notes = "Rows: each layer's forward as the project's commands run it; the total is the sum of the rows'\n"
             "medians. Any cfg works, classifier too.",
};
