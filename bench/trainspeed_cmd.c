/* ./darknet abc trainspeed <cfg> [-iters N] [-compare] [-stock]: training
 * throughput of a cfg built by the project parser, on random input and one-hot
 * truth: train_network timed per iteration after one warm-up, median seconds
 * per iteration and images/s. -compare adds a twin training with bf16 GEMMs,
 * -twin the float model of the same topology (each quantized section as the
 * float section it stands for), -stock one with darknet's own conv/connected
 * functions (as ABC_FLOAT=stock), -conv one whose bf16 convolutions run on the
 * project's im2col + GEMM instead of oneDNN; the runs take turns. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abc/base/darknet_private.h"
#include "abc/base/files.h"
#include "abc/base/mode.h"
#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/float/float_fast.h"
#include "abc/float/float_layers.h"
#include "abc/kernels/conv_dnnl.h"
#include "abc/kernels/sgemm.h"
#include "bench_util.h"
#include "commands.h"
#include "precision.h"
#include "weights-tools/export.h"
#include "darknet.h"

char *openblas_get_corename(void);

typedef struct {
    const char *name;
    const char *cfg; /* the cfg given, or the float twin's */
    network *net;
    int fast, bf16;
    const char *conv; /* ABC_TRAIN_CONV for this run (NULL: as the environment says) */
    double *secs;
    float loss;
} run;

/* Conv/connected layers running the fast path, and how many there are. */
static int count_fast(const network *net, int *total)
{
    int fast = 0;
    *total = 0;
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        ++*total;
        fast += l->forward == abc_conv_fast_forward || l->forward == abc_connected_fast_forward;
    }
    return fast;
}

static void to_stock(network *net)
{
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->forward == abc_conv_fast_forward) {
            l->forward = forward_convolutional_layer;
            l->backward = backward_convolutional_layer;
        } else if (l->forward == abc_connected_fast_forward) {
            l->forward = forward_connected_layer;
            l->backward = backward_connected_layer;
        }
    }
}

static float train_once(run *r, data d)
{
    abc_mode_set(ABC_MODE_FLOAT, r->fast ? "fast" : "stock");
    abc_sgemm_set_train_bf16(r->bf16);
    abc_mode_set(ABC_MODE_TRAIN_CONV, r->conv);
    return train_network(r->net, d);
}

static int trainspeed_run(const abc_cli *a)
{
    const char *cfg = a->pos[0];
    int iters = (int)abc_cli_int(a, "-iters", 10), compare = abc_cli_flag(a, "-compare");
    if (!abc_file_exists(cfg)) abc_die("%s: cannot open the cfg", cfg);

    int stock = abc_cli_flag(a, "-stock"), twin = abc_cli_flag(a, "-twin"), conv = abc_cli_flag(a, "-conv");
    char twin_dir[4096] = "", twin_cfg[4200] = "";
    if (twin) { /* the twin's cfg in a directory of its own, removed at the end */
        const char *tmp = getenv("TMPDIR");
        snprintf(twin_dir, sizeof twin_dir, "%s/abc-twin-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(twin_dir)) abc_die("-twin: cannot make a directory in %s: %s", tmp && *tmp ? tmp : "/tmp",
                                        strerror(errno));
        snprintf(twin_cfg, sizeof twin_cfg, "%s/float-twin.cfg", twin_dir);
        int n = abc_cfg_float_twin(cfg, twin_cfg);
        if (!n) {
            rmdir(twin_dir);
            abc_die("-twin: '%s' has no quantized layer to compare", cfg);
        }
    }
    if (compare && !abc_sgemm_bf16_supported()) {
        printf("this CPU has no AVX512-BF16: no bf16 run to compare\n");
        compare = 0;
    }
    if (conv && !abc_sgemm_bf16_supported()) {
        printf("this CPU has no AVX512-BF16: no bf16 convolutions to compare\n");
        conv = 0;
    }
    /* the cfg's own precision (or ABC_PRECISION) first, then the other; darknet's own layers last */
    int own_bf16 = !strcmp(abc_precision_apply(cfg), "bf16");
    run runs[5];
    int nruns = 0;
    const char *env_conv = abc_mode_choice(ABC_MODE_TRAIN_CONV) == ABC_TRAIN_CONV_OWN ? "own" : NULL;
    runs[nruns++] = (run){own_bf16 ? "bf16" : "fp32", cfg, NULL, abc_float_fast_enabled(), own_bf16, env_conv, NULL, 0};
    if (compare) runs[nruns++] = (run){own_bf16 ? "fp32" : "bf16", cfg, NULL, 1, !own_bf16, env_conv, NULL, 0};
    if (conv) runs[nruns++] = (run){"bf16, own convs", cfg, NULL, 1, 1, "own", NULL, 0};
    if (twin) runs[nruns++] = (run){"float twin", twin_cfg, NULL, 1, own_bf16, env_conv, NULL, 0};
    if (stock) runs[nruns++] = (run){"stock", cfg, NULL, 0, 0, NULL, NULL, 0};
    if (nruns > 1) runs[0].fast = 1;
    for (int r = 0; r < nruns; ++r) {
        srand(1);
        runs[r].net = parse_network_cfg((char *)runs[r].cfg);
        int total, fast = count_fast(runs[r].net, &total);
        if (runs[r].fast && !fast) /* ABC_FLOAT=stock with a comparison: install by hand */
            for (int i = 0; i < runs[r].net->n; ++i) abc_float_fast_use(&runs[r].net->layers[i]);
        if (!runs[r].fast) to_stock(runs[r].net);
        fast = count_fast(runs[r].net, &total);
        if (!runs[r].fast) runs[r].name = "stock";
        runs[r].secs = abc_xcalloc((size_t)iters, sizeof(double));
        if (runs[r].fast) {
            printf("%s: fast float path (%d of %d conv/connected layers), %s GEMMs", runs[r].name, fast, total,
                   runs[r].bf16 ? "bf16 (AVX512-BF16, fp32 sums)" : "fp32");
            if (runs[r].bf16 && runs[r].conv) printf(", convolutions on im2col + that GEMM");
            else if (runs[r].bf16) printf(", convolutions on %s where it has a kernel", abc_dnnl_conv_about());
            printf("\n");
            if (runs[r].cfg == twin_cfg) printf("  (its quantized layers as float ones)\n");
        } else {
            printf("stock: darknet's own conv/connected, OpenBLAS gemm\n");
        }
    }
    network *net = runs[0].net;
    int n = net->batch * net->subdivisions;
    data d;
    memset(&d, 0, sizeof d);
    d.X = make_matrix(n, net->inputs);
    d.y = make_matrix(n, net->truths);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < net->inputs; ++j) d.X.vals[i][j] = (float)rand() / (float)RAND_MAX;
        d.y.vals[i][rand() % net->truths] = 1;
    }
    char machine[512];
    printf("%s\nthreads %d; gemm in the fast layers: %s; OpenBLAS core %s\n", abc_bench_machine(machine, sizeof machine),
           abc_get_threads(), abc_sgemm_kernel_name(), openblas_get_corename());
    printf("cfg: %s; %d images/iteration; %d timed iterations after 1 warm-up%s\n", cfg, n, iters,
           nruns > 1 ? ", the runs taking turns" : "");
    fflush(stdout);

    for (int r = 0; r < nruns; ++r) train_once(&runs[r], d);
    for (int it = 0; it < iters; ++it) {
        for (int k = 0; k < nruns; ++k) {
            run *r = &runs[(it + k) % nruns]; /* alternate which goes first */
            double t0 = abc_now();
            r->loss = train_once(r, d);
            r->secs[it] = abc_now() - t0;
        }
    }
    double med[5];
    for (int r = 0; r < nruns; ++r) {
        double lo = runs[r].secs[0], hi = runs[r].secs[0];
        for (int i = 0; i < iters; ++i) {
            if (runs[r].secs[i] < lo) lo = runs[r].secs[i];
            if (runs[r].secs[i] > hi) hi = runs[r].secs[i];
        }
        med[r] = abc_median(runs[r].secs, iters);
        printf("%s: median %.4f s/iteration, %.1f img/s (min %.4f, max %.4f s); last loss %.4f\n", runs[r].name,
               med[r], n / med[r], lo, hi, runs[r].loss);
    }
    for (int r = 1; r < nruns; ++r) {
        if (runs[r].cfg == twin_cfg)
            printf("the quantized model's step takes %.2fx its float twin's (%s GEMMs)\n", med[0] / med[r],
                   runs[r].bf16 ? "bf16" : "fp32");
        else printf("%s vs %s: %.2fx images/s\n", runs[r].name, runs[0].name, med[0] / med[r]);
    }
    abc_mode_set(ABC_MODE_FLOAT, NULL);
    abc_mode_set(ABC_MODE_TRAIN_CONV, NULL);
    abc_sgemm_set_train_bf16(own_bf16);
    if (twin) {
        unlink(twin_cfg);
        rmdir(twin_dir);
    }
    for (int r = 0; r < nruns; ++r) {
        free(runs[r].secs);
        free_network(runs[r].net);
    }
    free_data(d);
    return 0;
}

static const abc_opt trainspeed_opts[] = {
    {"-iters", ABC_OPT_INT, "N", 1, 100000, "timed iterations after one warm-up (default 10)"},
    {"-compare", ABC_OPT_FLAG, NULL, 0, 0, "also the other precision (fp32 / bf16 GEMMs), taking turns"},
    {"-twin", ABC_OPT_FLAG, NULL, 0, 0, "also the float model of the same topology (quantized layers as float)"},
    {"-stock", ABC_OPT_FLAG, NULL, 0, 0, "also darknet's own conv/connected layers (OpenBLAS), taking turns"},
    {"-conv", ABC_OPT_FLAG, NULL, 0, 0, "also bf16 with the project's own convolutions instead of oneDNN's"},
    {0},
};

const abc_cmd abc_trainspeed_cmd = {
    .name = "trainspeed",
    .args = "<cfg>",
    .min_args = 1,
    .max_args = 1,
    .what = "training speed of a cfg on random data: median s/iteration and images/s",
    .notes = "The cfg's [net] precision= (or ABC_PRECISION) sets the first run's GEMMs; ABC_FLOAT=stock times\n"
             "darknet's own float layers instead of the project's.",
    .opts = trainspeed_opts,
    .run = trainspeed_run,
};
