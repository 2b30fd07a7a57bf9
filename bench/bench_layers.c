/* The layer part of ./darknet abc bench: whole 3x3 convolution layers (stride
 * 1, pad 1, batch norm with rolling statistics, leaky), batch 1, on real
 * shapes (ResNet-18's 3x3 convs, yolov3-tiny's at 416 px):
 *   fp32 BLAS: im2col + cblas_sgemm (OpenBLAS, 1 thread) + batch norm + leaky
 *   fp32 dn:   the same with darknet's own gemm_cpu
 *   XNOR:      [abc_convolutional] M=1, N=1, the packed inference path
 *   ABC33:     [abc_convolutional] M=3, N=3
 *   Hada16:    [hada_convolutional] weight_segment = activation_segment = 16
 *   int8/int4: [quant_convolutional] weight_bits = activation_bits = 8 / 4, the integer path (inputs signed)
 * packing of the input included (weights packed once, before timing). Before
 * each forward the input is written afresh, as the layer before it in a
 * network would have just written it. Every round runs each variant in
 * turn, in steady state: one untimed forward (it finds the caches as the
 * other variants left them: the fp32 layers' 2-30 MB im2col buffers evict
 * everything, which never happens between the layers of a binary network),
 * then the mean of STEADY forwards back to back. That first forward of XNOR
 * is reported too (cold). Figures are medians over rounds, speedups medians
 * of per-round ratios. Then 2 threads against 1 for the binary layers on the
 * large shapes, each run on the output of an XNOR layer run just before it on
 * the same threads (only that part with -scaling). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/kernels/act.h"
#include "abc/kernels/bgemm_kernels.h"
#include "abc/kernels/blas_threads.h"
#include "abc/kernels/cpu.h"
#include "abc/kernels/im2col.h"
#include "abc/kernels/iconv.h"
#include "abc/kernels/igemm.h"
#include "abc/layers/abc/abc_conv.h"
#include "abc/layers/aqt/aqt_conv.h"
#include "abc/layers/hada/hada_conv_pack.h"
#include "bench_peaks.h"
#include "bench_util.h"
#include "commands.h"

/* libdarknet's own float GEMM (not `gemm`, which the project hooks to OpenBLAS). */
void gemm_cpu(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb, float BETA,
              float *C, int ldc);

typedef struct {
    const char *name;
    int h, w, c, n;
    int large; /* also timed on 2 threads */
} shape;

static const shape shapes[] = {
    {"resnet18 56x56x64->64", 56, 56, 64, 64, 1},     {"resnet18 28x28x128->128", 28, 28, 128, 128, 1},
    {"resnet18 14x14x256->256", 14, 14, 256, 256, 1}, {"resnet18 7x7x512->512", 7, 7, 512, 512, 0},
    {"yolo 208x208x16->32", 208, 208, 16, 32, 1},     {"yolo 104x104x32->64", 104, 104, 32, 64, 1},
    {"yolo 52x52x64->128", 52, 52, 64, 128, 1},       {"yolo 26x26x128->256", 26, 26, 128, 256, 0},
    {"yolo 13x13x256->512", 13, 13, 256, 512, 0},     {"yolo 13x13x512->1024", 13, 13, 512, 1024, 1},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };
/* -quick: two small shapes */
static const int quick_shapes[] = {2, 8};

enum { V_BLAS, V_DN, V_XNOR, V_ABC, V_HADA, V_INT8, V_INT4, NV };
static const char *const vname[NV] = {"fp32 BLAS", "fp32 dn", "XNOR", "ABC33", "Hada16", "int8", "int4"};

typedef struct {
    const shape *s;
    int P, K;
    float *W, *x, *x0, *col, *out, *bn_k, *bn_off; /* x0: the input, copied into x before each forward */
    layer bin[5]; /* XNOR, ABC33, Hada16, int8, int4 */
    network net;
    layer *prev;  /* when set, writes the binary layers' input before each forward (on pnet, untimed) */
    network pnet;
} bench_layer;

static float urand(unsigned *seed, float lo, float hi) { return lo + (hi - lo) * (float)rand_r(seed) / (float)RAND_MAX; }

static layer make_binary(const shape *s, int M, int N, unsigned *seed)
{
    abc_conv_opts o;
    abc_conv_default_opts(&o, M, N);
    layer l = abc_conv_make(1, s->h, s->w, s->c, s->n, 3, 1, 1, LEAKY, 1, &o);
    for (int f = 0; f < l.n; ++f) {
        l.scales[f] = urand(seed, .5f, 1.5f);
        l.rolling_mean[f] = urand(seed, -.1f, .1f);
        l.rolling_variance[f] = urand(seed, .5f, 2.f);
    }
    return l;
}

static layer make_hada(const shape *s, unsigned *seed)
{
    hada_conv_opts o = {.bw = 16, .ba = 16};
    layer l = hada_conv_make(1, s->h, s->w, s->c, s->n, 3, 1, 1, LEAKY, 1, &o, 0);
    for (int f = 0; f < l.n; ++f) {
        l.scales[f] = urand(seed, .5f, 1.5f);
        l.rolling_mean[f] = urand(seed, -.1f, .1f);
        l.rolling_variance[f] = urand(seed, .5f, 2.f);
    }
    return l;
}

/* Bounds as training on inputs in [-1, 2] would have left them: signed inputs. */
static layer make_int(const shape *s, int bits, unsigned *seed)
{
    aqt_opts o = {bits, bits, 0};
    layer l = aqt_make(1, s->h, s->w, s->c, s->n, 3, 1, 1, LEAKY, 1, &o, 0);
    for (int f = 0; f < l.n; ++f) {
        l.scales[f] = urand(seed, .5f, 1.5f);
        l.rolling_mean[f] = urand(seed, -.1f, .1f);
        l.rolling_variance[f] = urand(seed, .5f, 2.f);
    }
    aqt_st(&l)->lo = -1.f, aqt_st(&l)->hi = 2.f;
    return l;
}

static void setup(bench_layer *b, const shape *s, unsigned *seed)
{
    memset(b, 0, sizeof *b);
    b->s = s;
    b->P = s->h * s->w;
    b->K = 9 * s->c;
    b->W = abc_xmalloc((size_t)s->n * b->K * sizeof(float));
    b->x = abc_xmalloc((size_t)s->c * b->P * sizeof(float));
    b->x0 = abc_xmalloc((size_t)s->c * b->P * sizeof(float));
    b->col = abc_xmalloc((size_t)b->K * b->P * sizeof(float));
    b->out = abc_xmalloc((size_t)s->n * b->P * sizeof(float));
    b->bn_k = abc_xmalloc((size_t)s->n * sizeof(float));
    b->bn_off = abc_xmalloc((size_t)s->n * sizeof(float));
    for (long i = 0; i < (long)s->n * b->K; ++i) b->W[i] = urand(seed, -.1f, .1f);
    for (long i = 0; i < (long)s->c * b->P; ++i) b->x0[i] = urand(seed, -1.f, 2.f);
    for (int f = 0; f < s->n; ++f) {
        b->bn_k[f] = urand(seed, .5f, 1.5f);
        b->bn_off[f] = urand(seed, -.1f, .1f);
    }
    b->bin[0] = make_binary(s, 1, 1, seed);
    b->bin[1] = make_binary(s, 3, 3, seed);
    b->bin[2] = make_hada(s, seed);
    b->bin[3] = make_int(s, 8, seed);
    b->bin[4] = make_int(s, 4, seed);
    b->net.batch = 1;
    b->net.train = 0;
    b->net.input = b->x;
}

static void teardown(bench_layer *b)
{
    free(b->W); free(b->x); free(b->x0); free(b->col); free(b->out); free(b->bn_k); free(b->bn_off);
    free_layer(b->bin[0]);
    free_layer(b->bin[1]);
    for (int i = 2; i < 5; ++i) free_layer(b->bin[i]);
}

/* The fp32 layer: im2col, GEMM, batch norm (folded to k, off) and leaky. */
static void fp32_layer(bench_layer *b, int darknet_gemm)
{
    const shape *s = b->s;
    abc_im2col(b->x, s->c, s->h, s->w, 3, 1, 1, s->w, 0, s->h, b->col);
    if (darknet_gemm) gemm_cpu(0, 0, s->n, b->P, b->K, 1, b->W, b->K, b->col, b->P, 0, b->out, b->P);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->n, b->P, b->K, 1, b->W, b->K, b->col, b->P, 0,
                     b->out, b->P);
    for (int f = 0; f < s->n; ++f) {
        float *o = b->out + (size_t)f * b->P, k = b->bn_k[f], off = b->bn_off[f];
        for (int p = 0; p < b->P; ++p) o[p] = o[p] * k + off;
        abc_act_row(o, b->P, LEAKY);
    }
}

static double time_variant(bench_layer *b, int v)
{
    if (b->prev) b->prev->forward(*b->prev, b->pnet); /* a binary layer before, on the same threads */
    else memcpy(b->x, b->x0, (size_t)b->s->c * b->P * sizeof(float)); /* the previous layer's output, just written */
    double t0 = abc_now();
    if (v == V_BLAS || v == V_DN) fp32_layer(b, v == V_DN);
    else b->bin[v - V_XNOR].forward(b->bin[v - V_XNOR], b->net);
    return abc_now() - t0;
}

enum { STEADY = 4 };

/* One untimed forward (returns its time in *cold), then the mean time of STEADY back to back. */
static double time_steady(bench_layer *b, int v, double *cold)
{
    *cold = time_variant(b, v);
    double sum = 0;
    for (int k = 0; k < STEADY; ++k) sum += time_variant(b, v);
    return sum / STEADY;
}

/* bMAC (binary layers) or MAC (fp32) of one forward */
static double macs(const bench_layer *b, int v)
{
    double m = (double)b->s->n * b->P * b->K;
    return v == V_ABC ? 9 * m : m;
}

static double ratio_median(const double *num, const double *den, int n)
{
    double *r = abc_xmalloc((size_t)n * sizeof *r);
    for (int i = 0; i < n; ++i) r[i] = num[i] / den[i];
    double m = abc_median(r, n);
    free(r);
    return m;
}

/* Appends to buf one line: each binary variant on 1 and 2 threads; lowers low[v] to the ratio if smaller.
 * The input is written by a previous XNOR layer (c -> c) on the same threads, as in a network: on two
 * threads, a row the other core has just written costs the packing about five times one of its own. */
static void two_threads(bench_layer *b, int rounds, char *buf, size_t len, double low[2], unsigned *seed)
{
    double t[2][2][64]; /* variant (XNOR, ABC), threads - 1, round */
    shape ps = *b->s;
    ps.n = ps.c;
    layer prev = make_binary(&ps, 1, 1, seed);
    for (int i = 0; i < prev.nweights; ++i) prev.weights[i] = urand(seed, -.1f, .1f);
    b->prev = &prev;
    b->pnet = b->net;
    b->pnet.input = b->x0;
    b->net.input = prev.output;
    /* Per round and thread count, steady state (the untimed forward also wakes the pool's worker, asleep
     * during the 1-thread runs). */
    for (int r = 0; r < rounds; ++r)
        for (int th = 1; th <= 2; ++th) {
            abc_set_threads(th);
            for (int v = 0; v < 2; ++v) {
                double cold;
                t[v][th - 1][r] = time_steady(b, V_XNOR + v, &cold);
            }
        }
    b->net.input = b->x;
    b->prev = NULL;
    free_layer(prev);
    abc_set_threads(1);
    size_t at = strlen(buf);
    at += (size_t)snprintf(buf + at, len - at, "%-24s", b->s->name);
    for (int v = 0; v < 2 && at < len; ++v) {
        double ratio = ratio_median(t[v][0], t[v][1], rounds);
        if (ratio < low[v]) low[v] = ratio;
        at += (size_t)snprintf(buf + at, len - at, "  %s %7.3f -> %7.3f ms %5.2fx", vname[V_XNOR + v],
                               abc_median(t[v][0], rounds) * 1e3, abc_median(t[v][1], rounds) * 1e3, ratio);
    }
    if (at < len) snprintf(buf + at, len - at, "\n");
}

static void print_two(const char *two, const double low[2], int rounds)
{
    abc_peak_kind best = abc_cpu_has(ABC_CPU_AVX512F | ABC_CPU_AVX512VPOPCNTDQ) ? ABC_PEAK_AVX512
                         : abc_cpu_has(ABC_CPU_AVX2 | ABC_CPU_POPCNT)          ? ABC_PEAK_AVX2
                                                       : ABC_PEAK_POPCNT;
    double peak2 = abc_peak_two_threads(best, rounds);
    printf("\n2 threads vs 1 on the large layers (binary layers, each on the output of an XNOR layer c->c run just "
           "before it on the same threads; steady state: per round one untimed pair, then the mean of %d; ratio = "
           "median of per-round 1-thread/2-thread times; meaningful only on an idle machine)\n%s", STEADY, two);
    printf("lowest 2-thread/1-thread speedup over these layers: XNOR %.2fx, ABC33 %.2fx; this machine's ceiling: "
           "the %s peak loop on 2 threads at once gives %.2fx its 1-thread rate\n", low[0], low[1],
           abc_peak_what(best), peak2);
}

/* -scaling: only the 2-thread comparison, on the large shapes. */
static void two_thread_table(int rounds)
{
    unsigned seed = 42;
    char two[4096] = "";
    double low[2] = {1e9, 1e9};
    for (int i = 0; i < NSHAPES; ++i) {
        if (!shapes[i].large) continue;
        bench_layer b;
        setup(&b, &shapes[i], &seed);
        for (int v = V_XNOR; v <= V_ABC; ++v) time_variant(&b, v); /* weights packed, scratch grown */
        two_threads(&b, rounds, two, sizeof two, low, &seed);
        teardown(&b);
    }
    print_two(two, low, rounds);
}

void abc_bench_layers(int quick, int rounds, int scaling)
{
    int n = quick ? (int)(sizeof quick_shapes / sizeof quick_shapes[0]) : NSHAPES;
    if (rounds > 64) rounds = 64;
    abc_blas_threads(1);
    abc_set_threads(1);
    if (scaling) {
        two_thread_table(rounds);
        return;
    }
    printf("\nlayers: 3x3 conv, stride 1, pad 1, batch norm + leaky, batch 1, 1 thread each, input packing included "
           "(weights packed once), the input written just before each forward as by the layer before it; %d round%s "
           "taking turns, medians; steady state: per round and variant one untimed forward, then the mean of %d back "
           "to back\n", rounds, rounds > 1 ? "s" : "", STEADY);
    printf("fp32 BLAS = im2col + cblas_sgemm (OpenBLAS) + BN + leaky; fp32 dn = the same with darknet's gemm_cpu; "
           "XNOR = abc (M,N)=(1,1); ABC33 = (3,3); Hada16 = hada (bw,ba)=(16,16), segment kernel %s; "
           "G/s: binary MACs (fp32: MACs) per second; X/BL: fp32 BLAS time / X time; cold/BL: the same for XNOR's untimed "
           "forward, right after the fp32 layers evicted the caches\n",
           hada_conv_kernel_name(NULL));
    const char *ik = abc_kernel_chosen_name(&abc_igemm_family);
    printf("int8 / int4 = quant (bits 8 / 4), the integer path whole (input quantization included): %s %s; int8 G/s: "
           "MACs per second\n",
           abc_iconv_usable() && !strcmp(ik, "avx512vnni")
               ? "a direct convolution, pixels or filters in the lanes by shape (ABC_ICONV=rows|pixels forces one), on"
               : "byte im2col and the integer GEMM kernel",
           ik);
    printf("%-24s %10s %10s %9s %9s %9s %9s %9s %8s %8s %8s %8s %9s %8s %9s %9s %8s %8s\n", "layer", "BLAS ms", "dn ms",
           "XNOR ms", "ABC33 ms", "BLAS G/s", "XNOR G/s", "ABC G/s", "XNOR/BL", "cold/BL", "ABC/BL", "BL/dn",
           "Hada16 ms", "Hada/BL", "int8 ms", "int8 G/s", "int8/BL", "int4/BL");
    unsigned seed = 42;
    char two[4096] = "";
    double low[2] = {1e9, 1e9};
    for (int i = 0; i < n; ++i) {
        bench_layer b;
        setup(&b, &shapes[quick ? quick_shapes[i] : i], &seed);
        double t[NV][64], cold[NV][64];
        for (int v = 0; v < NV; ++v) time_variant(&b, v); /* warm-up: weights packed, scratch grown */
        for (int r = 0; r < rounds; ++r)
            for (int v = 0; v < NV; ++v) t[v][r] = time_steady(&b, v, &cold[v][r]);
        double m[NV];
        for (int v = 0; v < NV; ++v) m[v] = abc_median(t[v], rounds);
        printf("%-24s %10.3f %10.3f %9.3f %9.3f %9.1f %9.1f %9.1f %7.1fx %7.1fx %7.2fx %7.1fx %9.3f %7.2fx %9.3f %9.1f "
               "%7.2fx %7.2fx\n",
               b.s->name, m[V_BLAS] * 1e3, m[V_DN] * 1e3, m[V_XNOR] * 1e3, m[V_ABC] * 1e3,
               macs(&b, V_BLAS) / m[V_BLAS] / 1e9, macs(&b, V_XNOR) / m[V_XNOR] / 1e9, macs(&b, V_ABC) / m[V_ABC] / 1e9,
               ratio_median(t[V_BLAS], t[V_XNOR], rounds), ratio_median(t[V_BLAS], cold[V_XNOR], rounds),
               ratio_median(t[V_BLAS], t[V_ABC], rounds),
               ratio_median(t[V_DN], t[V_BLAS], rounds), m[V_HADA] * 1e3, ratio_median(t[V_BLAS], t[V_HADA], rounds),
               m[V_INT8] * 1e3, macs(&b, V_INT8) / m[V_INT8] / 1e9, ratio_median(t[V_BLAS], t[V_INT8], rounds),
               ratio_median(t[V_BLAS], t[V_INT4], rounds));
        fflush(stdout);
        if (!quick && b.s->large) two_threads(&b, rounds, two, sizeof two, low, &seed);
        teardown(&b);
    }
    if (*two) print_two(two, low, rounds);
}
