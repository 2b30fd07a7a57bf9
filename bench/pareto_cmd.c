/* ./darknet abc pareto [data] [-rows LIST] [-weights DIR] [-limit N] [-rounds N] [-out PNG] [-json]: the
 * accuracy / cost frontier of the Fashion-MNIST family (cfg/fmnist-ROW.cfg with DIR/fmnist-ROW_final.weights):
 * per row top-1 on the valid list, the parameters' bytes at inference, the forward time of one image (batch 1,
 * 1 thread, the rows taking turns, medians) and AQT's cost model (MACs x weight bits x input bits); the rows on
 * the Pareto front of each cost marked, a table (or JSON) and a PNG of three panels. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/forward.h"
#include "abc/netio.h"
#include "bench_util.h"
#include "classifier_train.h"
#include "commands.h"
#include "draw.h"
#include "json.h"
#include "weights-tools/summary.h"

static const char *const default_rows = "float,bwn,xnor,xnor-distill,abc11,abc33,abc55,hada16-2,hbwn4-1,hada4-4,gdtanh,smooth,md,"
                                        "gdtanh-xnor,smooth-xnor,int8,int4";

enum { MAX_ROWS = 32, COSTS = 3 };
static const char *const cost_name[COSTS] = {"parameters", "forward", "bit-ops"};

typedef struct {
    char name[40], cfg[300], weights[600];
    int have;
    double top1, cost[COSTS]; /* bytes, ms per image, MACs x bits x bits */
    int front[COSTS];
    network *net;
    double *ms; /* per round */
} row;

/* Rows of list (comma-separated names); dies on an unknown one (no CFGDIR/fmnist-NAME.cfg). */
static int rows_of(const char *list, const char *cfgdir, const char *dir, row *r)
{
    char *s = abc_xstrdup(list), *save = NULL;
    int n = 0;
    for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (n == MAX_ROWS) abc_die("-rows: more than %d rows", MAX_ROWS);
        memset(&r[n], 0, sizeof r[n]);
        snprintf(r[n].name, sizeof r[n].name, "%s", t);
        snprintf(r[n].cfg, sizeof r[n].cfg, "%s/fmnist-%s.cfg", cfgdir, t);
        snprintf(r[n].weights, sizeof r[n].weights, "%s/fmnist-%s_final.weights", dir, t);
        if (access(r[n].cfg, R_OK)) abc_die("-rows: no row '%s' (%s cannot be read)", t, r[n].cfg);
        r[n].have = access(r[n].weights, R_OK) == 0;
        ++n;
    }
    free(s);
    if (!n) abc_die("-rows: no rows given");
    return n;
}

/* top-1 on the valid list, the valid command's printing sent to /dev/null */
static double top1_of(const char *data, const row *r, int limit)
{
    fflush(stdout);
    int keep = dup(1), null = open("/dev/null", O_WRONLY);
    if (keep < 0 || null < 0) abc_die("pareto: cannot redirect the output: %s", strerror(errno));
    dup2(null, 1);
    close(null);
    abc_valid_opts o = {limit, 0};
    abc_valid_result res;
    int st = abc_classifier_valid(data, r->cfg, r->weights, &o, &res);
    fflush(stdout);
    dup2(keep, 1);
    close(keep);
    if (st) exit(st); /* stopped by a signal */
    return res.top1;
}

/* x lower and top-1 higher is better: on the front unless another row is at least as good on both and better
 * on one. */
static void mark_front(row *r, int n, int c)
{
    for (int i = 0; i < n; ++i) {
        if (!r[i].have) continue;
        int beaten = 0;
        for (int j = 0; j < n && !beaten; ++j)
            beaten = j != i && r[j].have && r[j].cost[c] <= r[i].cost[c] && r[j].top1 >= r[i].top1 &&
                     (r[j].cost[c] < r[i].cost[c] || r[j].top1 > r[i].top1);
        r[i].front[c] = !beaten;
    }
}

static void time_rows(row *r, int n, int rounds)
{
    for (int i = 0; i < n; ++i) {
        if (!r[i].have) continue;
        float *in = abc_xcalloc((size_t)r[i].net->inputs, sizeof(float));
        unsigned seed = 7;
        for (int k = 0; k < r[i].net->inputs; ++k) in[k] = (float)rand_r(&seed) / (float)RAND_MAX;
        r[i].net->input = in; /* kept for the timed rounds; freed with the row */
        for (int w = 0; w < 3; ++w) abc_network_predict(r[i].net, in);
        r[i].ms = abc_xcalloc((size_t)rounds, sizeof(double));
    }
    enum { EACH = 5 };
    for (int k = 0; k < rounds; ++k)
        for (int i = 0; i < n; ++i) {
            if (!r[i].have) continue;
            double t0 = abc_now();
            for (int e = 0; e < EACH; ++e) abc_network_predict(r[i].net, r[i].net->input);
            r[i].ms[k] = (abc_now() - t0) / EACH * 1e3;
        }
    for (int i = 0; i < n; ++i)
        if (r[i].have) r[i].cost[1] = abc_median(r[i].ms, rounds);
}

static void print_json(const row *r, int n, const char *machine, const char *png, int limit)
{
    printf("{\"machine\": ");
    abc_json_string(stdout, machine);
    printf(", \"threads\": 1, \"batch\": 1, \"limit\": %d, \"plot\": ", limit);
    abc_json_string(stdout, png);
    printf(", \"rows\": [");
    for (int i = 0, first = 1; i < n; ++i) {
        printf("%s\n  {\"row\": ", first ? "" : ",");
        first = 0;
        abc_json_string(stdout, r[i].name);
        printf(", \"trained\": %s", r[i].have ? "true" : "false");
        if (r[i].have)
            printf(", \"top1\": %.2f, \"bytes\": %.0f, \"ms\": %.4f, \"bitops\": %.6g, \"front\": {\"bytes\": %s, "
                   "\"ms\": %s, \"bitops\": %s}",
                   r[i].top1, r[i].cost[0], r[i].cost[1], r[i].cost[2], r[i].front[0] ? "true" : "false",
                   r[i].front[1] ? "true" : "false", r[i].front[2] ? "true" : "false");
        printf("}");
    }
    printf("\n]}\n");
}

static void print_table(const row *r, int n, const char *machine, const char *png)
{
    printf("%s; forward: batch 1, 1 thread, the rows taking turns, medians\n", machine);
    printf("%-14s %8s %12s %10s %12s  %s\n", "row", "top-1", "params KiB", "ms/image", "Gbit-ops", "on the front of");
    for (int i = 0; i < n; ++i) {
        if (!r[i].have) {
            printf("%-14s not trained (no %s)\n", r[i].name, r[i].weights);
            continue;
        }
        char fr[64] = "";
        for (int c = 0; c < COSTS; ++c)
            if (r[i].front[c]) snprintf(fr + strlen(fr), sizeof fr - strlen(fr), "%s%s", *fr ? ", " : "", cost_name[c]);
        printf("%-14s %7.2f%% %12.1f %10.3f %12.3f  %s\n", r[i].name, r[i].top1, r[i].cost[0] / 1024, r[i].cost[1],
               r[i].cost[2] / 1e9, fr);
    }
    printf("plot: %s\n", png);
}

static int pareto_run(const abc_cli *a)
{
    const char *data = a->npos > 0 ? a->pos[0] : "cfg/fashion-mnist.data";
    const char *png = abc_cli_str(a, "-out", "pareto.png");
    int limit = (int)abc_cli_int(a, "-limit", 0), rounds = (int)abc_cli_int(a, "-rounds", 15);
    row r[MAX_ROWS];
    const char *wdir = abc_cli_str(a, "-weights", "backup");
    int n = rows_of(abc_cli_str(a, "-rows", default_rows), abc_cli_str(a, "-cfg", "cfg"), wdir, r), have = 0;
    for (int i = 0; i < n; ++i) {
        if (!r[i].have) continue;
        ++have;
        fprintf(stderr, "pareto: %s: top-1 on the valid list...", r[i].name);
        r[i].top1 = top1_of(data, &r[i], limit);
        abc_parse_set_batch(1);
        r[i].net = load_network(r[i].cfg, r[i].weights, 0);
        abc_parse_set_batch(0);
        size_t packed, flt;
        abc_model_bytes(r[i].net, &packed, &flt);
        r[i].cost[0] = (double)packed;
        r[i].cost[2] = abc_model_bitops(r[i].net, NULL);
        fprintf(stderr, " %.2f%%\n", r[i].top1);
    }
    if (!have) abc_die("pareto: no row has trained weights (%s/fmnist-ROW_final.weights): train them first", wdir);
    int threads = abc_get_threads();
    abc_set_threads(1);
    fprintf(stderr, "pareto: timing %d rows, %d rounds...\n", have, rounds);
    time_rows(r, n, rounds);
    abc_set_threads(threads);
    for (int c = 0; c < COSTS; ++c) mark_front(r, n, c);

    abc_scatter_point pts[COSTS][MAX_ROWS];
    abc_scatter_panel panels[COSTS] = {
        {"parameters at inference (KiB, log)", 1, pts[0], 0},
        {"forward (ms an image, batch 1, 1 thread)", 0, pts[1], 0},
        {"AQT cost: MACs x weight bits x input bits (G, log)", 1, pts[2], 0},
    };
    for (int c = 0; c < COSTS; ++c)
        for (int i = 0; i < n; ++i)
            if (r[i].have)
                pts[c][panels[c].n++] = (abc_scatter_point){
                    r[i].name, c == 0 ? r[i].cost[0] / 1024 : c == 2 ? r[i].cost[2] / 1e9 : r[i].cost[1], r[i].top1,
                    r[i].front[c]};
    char machine[512], err[512];
    abc_bench_machine(machine, sizeof machine);
    if (abc_scatter_png(png, 1800, 560, "Fashion-MNIST: top-1 against cost, the Pareto front in red", "top-1 (%)",
                        panels, COSTS, err, sizeof err))
        abc_die("%s", err);
    if (abc_cli_flag(a, "-json")) print_json(r, n, machine, png, limit);
    else print_table(r, n, machine, png);
    for (int i = 0; i < n; ++i)
        if (r[i].have) {
            free(r[i].net->input);
            r[i].net->input = NULL;
            abc_free_network(r[i].net);
            free(r[i].ms);
        }
    return 0;
}

static const abc_opt pareto_opts[] = {
    {"-rows", ABC_OPT_STR, "LIST", 0, 0, "rows, comma-separated (default: every cfg/fmnist-ROW.cfg of the table)"},
    {"-cfg", ABC_OPT_STR, "DIR", 0, 0, "where the rows' cfgs are, DIR/fmnist-ROW.cfg (default cfg)"},
    {"-weights", ABC_OPT_STR, "DIR", 0, 0, "where the trained weights are, DIR/fmnist-ROW_final.weights (backup)"},
    {"-limit", ABC_OPT_INT, "N", 1, 1 << 30, "top-1 on the first N images of the valid list only"},
    {"-rounds", ABC_OPT_INT, "N", 1, 1000, "timing rounds, the rows taking turns in each (default 15)"},
    {"-out", ABC_OPT_STR, "PNG", 0, 0, "the plot (default pareto.png)"},
    {"-json", ABC_OPT_FLAG, NULL, 0, 0, "the rows as JSON on stdout instead of the table"},
    {0},
};

const abc_cmd abc_pareto_cmd = {
    .name = "pareto",
    .args = "[data]",
    .max_args = 1,
    .what = "accuracy against parameters, forward time and AQT's bit-op cost of the Fashion-MNIST rows; the front",
    .notes = "Rows without DIR/fmnist-ROW_final.weights are listed as not trained. data: cfg/fashion-mnist.data.",
    .opts = pareto_opts,
    .run = pareto_run,
};
