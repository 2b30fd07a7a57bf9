/* The fast float [convolutional]/[connected] path against libdarknet's own
 * layer functions: the same random layer twice (stock and fast), the same
 * input and incoming gradient, forward and backward in training and
 * inference mode, on 1 and 2 threads; outputs, deltas, gradients and batch
 * statistics must agree within float rounding. Plus: the parser installs
 * the fast path, ABC_FLOAT=stock keeps darknet's, and a whole network trains
 * the same way on both. */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/darknet_private.h"
#include "base/files.h"
#include "base/threads.h"
#include "float/float_fast.h"
#include "float/float_layers.h"
#include "kernels/cpu.h"
#include "kernels/im2col.h"
#include "kernels/sgemm.h"
#include "kernels/sgemm_avx512.h"
#include "test_util.h"

static float urand(float lo, float hi) { return lo + (hi - lo) * (float)rand() / (float)RAND_MAX; }

static void fill(float *p, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; ++i) p[i] = urand(lo, hi);
}

static float *dup_floats(const float *p, size_t n)
{
    if (!p) return NULL;
    float *q = malloc((n ? n : 1) * sizeof *q);
    memcpy(q, p, n * sizeof *q);
    return q;
}

static size_t nweights_of(const layer *l)
{
    return l->type == CONNECTED ? (size_t)l->inputs * l->outputs : (size_t)l->nweights;
}

/* A deep copy of the buffers the forward/backward passes touch. */
static layer clone_layer(const layer *a)
{
    layer b = *a;
    size_t out = (size_t)a->outputs * a->batch, nw = nweights_of(a), c = (size_t)a->out_c;
    b.output = dup_floats(a->output, out);
    b.delta = dup_floats(a->delta, out);
    b.weights = dup_floats(a->weights, nw);
    b.weight_updates = dup_floats(a->weight_updates, nw);
    b.biases = dup_floats(a->biases, c);
    b.bias_updates = dup_floats(a->bias_updates, c);
    b.scales = dup_floats(a->scales, c);
    b.scale_updates = dup_floats(a->scale_updates, c);
    b.mean = dup_floats(a->mean, c);
    b.variance = dup_floats(a->variance, c);
    b.mean_delta = dup_floats(a->mean_delta, c);
    b.variance_delta = dup_floats(a->variance_delta, c);
    b.rolling_mean = dup_floats(a->rolling_mean, c);
    b.rolling_variance = dup_floats(a->rolling_variance, c);
    b.x = dup_floats(a->x, out);
    b.x_norm = dup_floats(a->x_norm, out);
    return b;
}

static void free_clone(layer *b)
{
    float *ps[] = {b->output, b->delta, b->weights, b->weight_updates, b->biases, b->bias_updates,
                   b->scales, b->scale_updates, b->mean, b->variance, b->mean_delta, b->variance_delta,
                   b->rolling_mean, b->rolling_variance, b->x, b->x_norm};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; ++i) free(ps[i]);
}

/* Random parameters and state, so that every buffer is checked for real. */
static void randomize(layer *l)
{
    size_t out = (size_t)l->outputs * l->batch, nw = nweights_of(l), c = (size_t)l->out_c;
    fill(l->weights, nw, -0.5f, 0.5f);
    fill(l->weight_updates, nw, -0.1f, 0.1f);
    fill(l->biases, c, -0.5f, 0.5f);
    fill(l->bias_updates, c, -0.1f, 0.1f);
    if (l->batch_normalize) {
        fill(l->scales, c, 0.5f, 1.5f);
        fill(l->scale_updates, c, -0.1f, 0.1f);
        fill(l->rolling_mean, c, -0.3f, 0.3f);
        fill(l->rolling_variance, c, 0.5f, 2.0f);
        fill(l->x_norm, out, -1, 1); /* inference backward reads the last training x_norm */
    }
}

/* max |a-b| / max(1, max|a|), NaN-safe (a NaN anywhere gives 1e30). */
static double rel_diff(const float *a, const float *b, size_t n)
{
    if (!a && !b) return 0;
    double d = 0, mag = 1;
    for (size_t i = 0; i < n; ++i) {
        if (isnan(a[i]) != isnan(b[i])) return 1e30;
        if (isnan(a[i])) continue;
        double e = fabs((double)a[i] - b[i]);
        if (e > d) d = e;
        if (fabs(a[i]) > mag) mag = fabs(a[i]);
    }
    return d / mag;
}

#define TOL 1e-4

#define CHECK_SAME(what, a, b, n)                                                                        \
    do {                                                                                                 \
        double e_ = rel_diff((a), (b), (n));                                                             \
        ck_assert_msg(e_ <= TOL, "%s: %s differs from stock by %g (relative)", name, what, e_);          \
    } while (0)

/* Runs stock layer `s` and fast copy `f` through forward + backward and compares. */
static void compare(const char *name, layer *s, int train, int threads)
{
    abc_set_threads(threads);
    layer f = clone_layer(s);
    ck_assert_msg(abc_float_fast_use(&f), "%s: fast path not installed", name);
    ck_assert_ptr_ne((void *)f.forward, (void *)s->forward);

    size_t in = (size_t)s->inputs * s->batch, out = (size_t)s->outputs * s->batch;
    size_t nw = nweights_of(s), c = (size_t)s->out_c;
    float *input = malloc(in * sizeof(float));
    fill(input, in, -1, 1);
    float *nd_s = malloc(in * sizeof(float)), *nd_f = malloc(in * sizeof(float));
    fill(nd_s, in, -0.2f, 0.2f);
    memcpy(nd_f, nd_s, in * sizeof(float));
    size_t ws = s->workspace_size + 64;
    float *workspace = calloc(ws, 1);

    network ns;
    memset(&ns, 0, sizeof ns);
    ns.input = input;
    ns.train = train;
    ns.workspace = workspace;
    ns.batch = s->batch;
    network nf = ns;

    s->forward(*s, ns);
    f.forward(f, nf);
    CHECK_SAME("output", s->output, f.output, out);
    if (s->batch_normalize) {
        if (train) CHECK_SAME("x", s->x, f.x, out);
        CHECK_SAME("rolling_mean", s->rolling_mean, f.rolling_mean, c);
        CHECK_SAME("rolling_variance", s->rolling_variance, f.rolling_variance, c);
        if (train) {
            CHECK_SAME("x_norm", s->x_norm, f.x_norm, out);
            CHECK_SAME("mean", s->mean, f.mean, c);
            CHECK_SAME("variance", s->variance, f.variance, c);
        }
    }

    /* Inference keeps no pre-normalization copy (x) for a backward pass, which only follows a training forward. */
    if (!train) goto done;
    fill(s->delta, out, -1, 1);
    memcpy(f.delta, s->delta, out * sizeof(float));
    ns.delta = nd_s;
    nf.delta = nd_f;
    s->backward(*s, ns);
    f.backward(f, nf);
    CHECK_SAME("delta", s->delta, f.delta, out);
    CHECK_SAME("input delta", nd_s, nd_f, in);
    CHECK_SAME("weight_updates", s->weight_updates, f.weight_updates, nw);
    CHECK_SAME("bias_updates", s->bias_updates, f.bias_updates, c);
    if (s->batch_normalize) {
        CHECK_SAME("scale_updates", s->scale_updates, f.scale_updates, c);
        CHECK_SAME("mean_delta", s->mean_delta, f.mean_delta, c);
        CHECK_SAME("variance_delta", s->variance_delta, f.variance_delta, c);
    }

    /* the first layer of a network has no net.delta */
    ns.delta = nf.delta = NULL;
    s->backward(*s, ns);
    f.backward(f, nf);
    CHECK_SAME("weight_updates (no input delta)", s->weight_updates, f.weight_updates, nw);

    update_args ua;
    memset(&ua, 0, sizeof ua);
    ua.batch = s->batch;
    ua.learning_rate = 0.01f;
    ua.momentum = 0.9f;
    ua.decay = 0.0005f;
    s->update(*s, ua);
    f.update(f, ua);
    CHECK_SAME("weights after update", s->weights, f.weights, nw);
    CHECK_SAME("biases after update", s->biases, f.biases, c);
    if (s->batch_normalize) CHECK_SAME("scales after update", s->scales, f.scales, c);

done:
    free_clone(&f);
    free(input);
    free(nd_s);
    free(nd_f);
    free(workspace);
}

typedef struct {
    int h, w, c, n, size, stride, pad, batch, bn;
    ACTIVATION act;
} conv_case;

static const conv_case conv_cases[] = {
    {7, 6, 3, 4, 3, 1, 1, 3, 1, LEAKY},    {9, 9, 5, 6, 3, 2, 1, 1, 0, LINEAR},
    {8, 7, 3, 5, 5, 1, 2, 3, 1, RELU},     {10, 10, 4, 3, 5, 2, 0, 2, 0, LOGISTIC},
    {6, 5, 7, 8, 1, 1, 0, 3, 1, LINEAR},   {6, 6, 3, 4, 1, 1, 0, 1, 0, LEAKY},
    {5, 5, 1, 2, 3, 1, 0, 1, 1, TANH},     {12, 11, 3, 16, 3, 2, 1, 3, 1, RAMP},
    {9, 8, 2, 5, 3, 1, 1, 3, 0, RELIE},    {7, 7, 3, 3, 3, 3, 1, 2, 1, ELU},
    {4, 9, 3, 4, 3, 1, 1, 5, 1, LOGGY},    {6, 6, 3, 4, 3, 1, 1, 2, 0, HARDTAN},
    {6, 6, 2, 3, 3, 1, 1, 2, 1, PLSE},     {6, 6, 2, 3, 3, 1, 1, 2, 0, LHTAN},
    {6, 6, 2, 3, 3, 1, 1, 2, 1, SELU},     {6, 6, 2, 3, 3, 1, 1, 2, 0, STAIR},
    {9, 9, 5, 6, 3, 2, 1, 6, 0, LEAKY},    {8, 8, 4, 6, 1, 1, 0, 4, 0, RELU},
    /* batch 1, more filters than pixels: inference splits by filters */
    {5, 5, 8, 40, 3, 1, 1, 1, 1, LEAKY},   {4, 3, 6, 37, 1, 1, 0, 1, 0, LINEAR}, {6, 5, 5, 33, 3, 2, 1, 1, 1, RELU},
};

START_TEST(conv_matches_stock)
{
    const conv_case *k = &conv_cases[_i];
    for (int train = 0; train <= 1; ++train) {
        for (int threads = 1; threads <= 2; ++threads) {
            srand(1000 + _i);
            layer s = make_convolutional_layer(k->batch, k->h, k->w, k->c, k->n, 1, k->size, k->stride, k->pad,
                                               k->act, k->bn, 0, 0, 0);
            randomize(&s);
            char name[160];
            snprintf(name, sizeof name, "conv %dx%dx%d->%d size %d stride %d pad %d batch %d bn %d act %s train %d threads %d",
                     k->h, k->w, k->c, k->n, k->size, k->stride, k->pad, k->batch, k->bn,
                     get_activation_string(k->act), train, threads);
            compare(name, &s, train, threads);
            free_layer(s);
        }
    }
}
END_TEST

typedef struct {
    int inputs, outputs, batch, bn;
    ACTIVATION act;
} fc_case;

static const fc_case fc_cases[] = {
    {37, 10, 3, 0, LINEAR}, {50, 13, 4, 1, LEAKY}, {9, 300, 2, 1, RELU},
    {200, 7, 1, 0, LOGISTIC}, {64, 64, 5, 1, TANH}, {400, 600, 3, 0, RAMP},
};

START_TEST(connected_matches_stock)
{
    const fc_case *k = &fc_cases[_i];
    for (int train = 0; train <= 1; ++train) {
        for (int threads = 1; threads <= 2; ++threads) {
            srand(2000 + _i);
            layer s = make_connected_layer(k->batch, k->inputs, k->outputs, k->act, k->bn, 0);
            randomize(&s);
            char name[160];
            snprintf(name, sizeof name, "connected %d->%d batch %d bn %d act %s train %d threads %d", k->inputs,
                     k->outputs, k->batch, k->bn, get_activation_string(k->act), train, threads);
            compare(name, &s, train, threads);
            free_layer(s);
        }
    }
}
END_TEST

START_TEST(unsupported_configurations_stay_stock)
{
    layer g = make_convolutional_layer(2, 6, 6, 4, 4, 2, 3, 1, 1, LEAKY, 0, 0, 0, 0); /* groups 2 */
    layer x = make_convolutional_layer(2, 6, 6, 4, 4, 1, 3, 1, 1, LEAKY, 0, 0, 1, 0); /* xnor */
    layer b = make_convolutional_layer(2, 6, 6, 4, 4, 1, 3, 1, 1, LEAKY, 0, 1, 0, 0); /* binary */
    layer s = make_convolutional_layer(2, 6, 6, 4, 4, 1, 1, 2, 0, LEAKY, 0, 0, 0, 0); /* 1x1 stride 2 */
    layer *ls[] = {&g, &x, &b, &s};
    for (int i = 0; i < 4; ++i) {
        ck_assert_int_eq(abc_float_fast_use(ls[i]), 0);
        ck_assert_ptr_eq((void *)ls[i]->forward, (void *)forward_convolutional_layer);
        free_layer(*ls[i]);
    }
}
END_TEST

/* The row-block im2col against libdarknet's, every shape of the cases above. */
START_TEST(im2col_matches_stock)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; ++i) {
        const conv_case *k = &conv_cases[i];
        int oh = (k->h + 2 * k->pad - k->size) / k->stride + 1, ow = (k->w + 2 * k->pad - k->size) / k->stride + 1;
        size_t rows = (size_t)k->c * k->size * k->size, cols = (size_t)oh * ow;
        float *im = malloc((size_t)k->c * k->h * k->w * sizeof(float));
        fill(im, (size_t)k->c * k->h * k->w, -1, 1);
        float *ref = malloc(rows * cols * sizeof(float)), *ours = malloc(rows * cols * sizeof(float));
        im2col_cpu(im, k->c, k->h, k->w, k->size, k->stride, k->pad, ref);
        /* in two row blocks, as the pool's tasks do */
        int mid = oh / 2;
        float *top = malloc(rows * (size_t)mid * ow * sizeof(float) + 4);
        float *bot = malloc(rows * (size_t)(oh - mid) * ow * sizeof(float));
        abc_im2col(im, k->c, k->h, k->w, k->size, k->stride, k->pad, ow, 0, mid, top);
        abc_im2col(im, k->c, k->h, k->w, k->size, k->stride, k->pad, ow, mid, oh, bot);
        for (size_t r = 0; r < rows; ++r) {
            memcpy(ours + r * cols, top + r * mid * ow, (size_t)mid * ow * sizeof(float));
            memcpy(ours + r * cols + (size_t)mid * ow, bot + r * (oh - mid) * ow, (size_t)(oh - mid) * ow * sizeof(float));
        }
        ck_assert_msg(memcmp(ref, ours, rows * cols * sizeof(float)) == 0, "im2col case %zu differs", i);

        float *back_ref = calloc((size_t)k->c * k->h * k->w, sizeof(float));
        float *back = calloc((size_t)k->c * k->h * k->w, sizeof(float));
        col2im_cpu(ref, k->c, k->h, k->w, k->size, k->stride, k->pad, back_ref);
        abc_col2im_add(ref, k->c, k->h, k->w, k->size, k->stride, k->pad, oh, ow, back);
        ck_assert_msg(rel_diff(back_ref, back, (size_t)k->c * k->h * k->w) < 1e-6, "col2im case %zu differs", i);
        free(im), free(ref), free(ours), free(top), free(bot), free(back_ref), free(back);
    }
}
END_TEST

/* The project's AVX-512 gemm against OpenBLAS: every transpose, tile edges,
 * K below/at/above the 256 block, beta 0 ignoring NaN in C, strided C. */
START_TEST(avx512_gemm_matches_openblas)
{
    if (!abc_cpu_has(ABC_CPU_AVX512F)) return; /* nothing to test on this CPU */
    const int shapes[][3] = {{1, 1, 1}, {7, 31, 5}, {8, 32, 256}, {9, 33, 257}, {17, 65, 300},
                             {130, 1030, 40}, {64, 100, 576}, {3, 1100, 9}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; ++si) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], ldc = N + 3;
        for (int t = 0; t < 4; ++t) {
            int TA = t & 1, TB = t >> 1, lda = (TA ? M : K) + 1, ldb = (TB ? K : N) + 2;
            float *A = malloc(sizeof(float) * (size_t)lda * (TA ? K : M));
            float *B = malloc(sizeof(float) * (size_t)ldb * (TB ? N : K));
            float *C = malloc(sizeof(float) * (size_t)ldc * M), *D = malloc(sizeof(float) * (size_t)ldc * M);
            fill(A, (size_t)lda * (TA ? K : M), -1, 1);
            fill(B, (size_t)ldb * (TB ? N : K), -1, 1);
            for (int beta = 0; beta <= 1; ++beta) {
                fill(C, (size_t)ldc * M, -1, 1);
                memcpy(D, C, sizeof(float) * (size_t)ldc * M);
                if (!beta) C[0] = D[0] = NAN; /* beta 0: C is not read */
                cblas_sgemm(CblasRowMajor, TA ? CblasTrans : CblasNoTrans, TB ? CblasTrans : CblasNoTrans, M, N, K,
                            1.5f, A, lda, B, ldb, beta ? 0.5f : 0.0f, C, ldc);
                abc_sgemm_avx512(TA, TB, M, N, K, 1.5f, A, lda, B, ldb, beta ? 0.5f : 0.0f, D, ldc);
                double e = rel_diff(C, D, (size_t)ldc * M) / sqrt((double)K);
                ck_assert_msg(e <= 1e-6, "gemm M=%d N=%d K=%d TA=%d TB=%d beta=%d differs by %g", M, N, K, TA, TB,
                              beta, e);
            }
            free(A), free(B), free(C), free(D);
        }
    }
}
END_TEST


/* The bf16 gemm (the packed A kept for the epoch) against a double-precision product of the operands rounded to bf16 (within fp32 summation's
 * error: a k pair packed wrong is off by the size of the sum) and of the fp32 operands (within bf16's
 * rounding, 2^-7 of the sum of |products|): every transpose, tile edges (8 and 16 rows, 16 and 32 columns), odd K, K across
 * the 512 block, N across the 1024 block, beta 0 ignoring NaN in C, strided operands. */
START_TEST(bf16_gemm_matches_reference)
{
    if (!abc_sgemm_bf16_supported()) {
        fprintf(stderr, "bf16_gemm_matches_reference: this CPU has no AVX512-BF16; nothing to test\n");
        return;
    }
    const int shapes[][3] = {{1, 1, 1},     {7, 31, 5},     {8, 32, 512},  {9, 33, 513},   {17, 65, 301},
                             {130, 1030, 40}, {64, 100, 576}, {3, 1100, 9}, {33, 47, 1100}, {2, 17, 2}, {20, 16, 100}, {512, 16, 600},
                             {4099, 3, 4097}}; /* the last: op(A) too large to keep whole, packed block by block */
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; ++si) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], ldc = N + 3;
        for (int t = 0; t < 4; ++t) {
            int TA = t & 1, TB = t >> 1, lda = (TA ? M : K) + 1, ldb = (TB ? K : N) + 2;
            size_t na = (size_t)lda * (TA ? K : M), nb = (size_t)ldb * (TB ? N : K), nc = (size_t)ldc * M;
            float *A = malloc(sizeof(float) * na), *B = malloc(sizeof(float) * nb);
            float *C0 = malloc(sizeof(float) * nc), *C = malloc(sizeof(float) * nc);
            fill(A, na, -1, 1);
            fill(B, nb, -1, 1);
            for (int beta = 0; beta <= 1; ++beta) {
                fill(C0, nc, -1, 1);
                if (!beta) C0[0] = NAN; /* beta 0: C is not read */
                memcpy(C, C0, sizeof(float) * nc);
                float al = 1.5f, be = beta ? 0.5f : 0.0f;
                if (!beta) abc_sgemm_bf16_new_epoch(); /* A is new (beta 1 reuses the A packed for beta 0) */
                abc_sgemm_bf16_avx512(TA, TB, M, N, K, al, A, lda, B, ldb, be, C, ldc);
                for (int i = 0; i < M; ++i)
                    for (int j = 0; j < N; ++j) {
                        double exact = 0, rounded = 0, size = 0;
                        for (int k = 0; k < K; ++k) {
                            float a = TA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                            float b = TB ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                            exact += (double)a * b;
                            rounded += (double)abc_test_bf16_round(a) * abc_test_bf16_round(b);
                            size += fabs((double)a * b);
                        }
                        double c0 = beta ? be * (double)C0[(size_t)i * ldc + j] : 0, c = C[(size_t)i * ldc + j];
                        size = al * size + fabs(c0);
                        ck_assert_msg(fabs(c - (al * rounded + c0)) <= 2e-6 * sqrt((double)K) * size + 1e-6,
                                      "bf16 gemm M=%d N=%d K=%d TA=%d TB=%d beta=%d (%d,%d): %g, bf16 operands %g",
                                      M, N, K, TA, TB, beta, i, j, c, al * rounded + c0);
                        ck_assert_msg(fabs(c - (al * exact + c0)) <= size / 128 + 1e-6,
                                      "bf16 gemm M=%d N=%d K=%d TA=%d TB=%d beta=%d (%d,%d): %g, fp32 %g", M, N, K,
                                      TA, TB, beta, i, j, c, al * exact + c0);
                    }
            }
            free(A), free(B), free(C0), free(C);
        }
    }
}
END_TEST

static const char *small_cfg = "[net]\nbatch=8\nwidth=12\nheight=12\nchannels=3\nlearning_rate=0.05\n"
                               "momentum=0.9\ndecay=0.0005\n"
                               "[convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                               "[maxpool]\nsize=2\nstride=2\n"
                               "[convolutional]\nfilters=6\nsize=1\nactivation=relu\n"
                               "[convolutional]\nfilters=12\nsize=3\nstride=2\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                               "[connected]\noutput=5\nactivation=linear\n"
                               "[softmax]\n";

START_TEST(parser_installs_fast_path_and_training_matches_stock)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "fast.cfg", small_cfg);
    srand(7);
    network *fast = load_network(cfg, NULL, 0);
    srand(7);
    network *stock = load_network(cfg, NULL, 0);
    int installed = 0, by_parser = abc_float_fast_enabled(); /* not when the tests run under ABC_FLOAT=stock */
    for (int i = 0; i < stock->n; ++i) {
        layer *l = &stock->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED) continue;
        void *fast_fn = l->type == CONVOLUTIONAL ? (void *)abc_conv_fast_forward : (void *)abc_connected_fast_forward;
        if (by_parser) ck_assert_ptr_eq((void *)l->forward, fast_fn);
        installed += abc_float_fast_use(&fast->layers[i]);
        /* the stock twin gets darknet's own functions back */
        if (l->type == CONVOLUTIONAL) { l->forward = forward_convolutional_layer; l->backward = backward_convolutional_layer; }
        if (l->type == CONNECTED) { l->forward = forward_connected_layer; l->backward = backward_connected_layer; }
    }
    ck_assert_int_eq(installed, 4);
    abc_set_threads(2);
    int n = fast->batch, inputs = fast->inputs, classes = fast->outputs;
    data d = {0};
    d.X = make_matrix(n, inputs);
    d.y = make_matrix(n, classes);
    for (int it = 0; it < 4; ++it) {
        for (int i = 0; i < n; ++i) {
            fill(d.X.vals[i], inputs, 0, 1);
            memset(d.y.vals[i], 0, classes * sizeof(float));
            d.y.vals[i][rand() % classes] = 1;
        }
        float lf = train_network(fast, d), ls = train_network(stock, d);
        ck_assert_msg(fabs(lf - ls) <= 1e-4 * fmax(1, fabs(ls)), "iteration %d: loss %g (fast) vs %g (stock)", it, lf, ls);
    }
    for (int i = 0; i < fast->n; ++i) {
        layer *a = &stock->layers[i], *b = &fast->layers[i];
        if (a->type != CONVOLUTIONAL && a->type != CONNECTED) continue;
        double e = rel_diff(a->weights, b->weights, nweights_of(a));
        ck_assert_msg(e <= 1e-4, "layer %d: weights after 4 iterations differ by %g", i, e);
        if (a->batch_normalize) {
            e = rel_diff(a->rolling_variance, b->rolling_variance, a->out_c);
            ck_assert_msg(e <= 1e-4, "layer %d: rolling variance differs by %g", i, e);
        }
    }
    free_data(d);
    free_network(fast);
    free_network(stock);
    free(cfg);
}
END_TEST

/* abc_sgemm_bf16_images: the sum over images of A_g B_g^T against the double-precision sum of the bf16-rounded
 * operands, odd and even K (an odd K's images each padded to an even count), 1 image and the most that fit. */
START_TEST(bf16_images_gemm_matches_reference)
{
    if (!abc_sgemm_bf16_supported()) return;
    const int shapes[][3] = {{8, 27, 64}, {16, 4608, 16}, {13, 70, 49}, {33, 17, 1}, {5, 40, 512}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; ++si) {
        int M = shapes[si][0], N = shapes[si][1], K = shapes[si][2], most = abc_sgemm_bf16_images_max(K);
        ck_assert_int_ge(most, 1);
        ck_assert_int_le(most * ((K + 1) & ~1), 512);
        for (int G = 1; G <= most; G = G < most && 2 * G > most ? most : 2 * G) {
            int lda = K + 2, ldb = K + 1, ldc = N + 1;
            size_t sa = (size_t)M * lda + 5, sb = (size_t)N * ldb + 3;
            float *A = malloc(sizeof(float) * sa * G), *B = malloc(sizeof(float) * sb * G);
            float *C = malloc(sizeof(float) * (size_t)M * ldc), *C0 = malloc(sizeof(float) * (size_t)M * ldc);
            fill(A, sa * G, -1, 1);
            fill(B, sb * G, -1, 1);
            fill(C0, (size_t)M * ldc, -1, 1);
            memcpy(C, C0, sizeof(float) * (size_t)M * ldc);
            abc_sgemm_bf16_images(M, N, K, G, 1.f, A, lda, sa, B, ldb, sb, 0.5f, C, ldc);
            for (int i = 0; i < M; ++i)
                for (int j = 0; j < N; ++j) {
                    double want = 0.5 * C0[(size_t)i * ldc + j], size = fabs(want);
                    for (int g = 0; g < G; ++g)
                        for (int k = 0; k < K; ++k) {
                            double p = (double)abc_test_bf16_round(A[g * sa + (size_t)i * lda + k]) *
                                       abc_test_bf16_round(B[g * sb + (size_t)j * ldb + k]);
                            want += p;
                            size += fabs(p);
                        }
                    double got = C[(size_t)i * ldc + j];
                    ck_assert_msg(fabs(got - want) <= 2e-6 * sqrt((double)K * G) * size + 1e-6,
                                  "images gemm M=%d N=%d K=%d G=%d (%d,%d): %g, want %g", M, N, K, G, i, j, got, want);
                }
            free(A), free(B), free(C), free(C0);
        }
    }
}
END_TEST

/* One forward and backward of a float net through the fast layers in bf16 against fp32, 1 and 2 threads, a 4x4
 * conv and a 1x1 conv whose weight gradients take several images at once: every layer's weight gradient and
 * the input gradient within 10% of their norm, and not equal (bf16 ran). Gradients are sums of products of
 * both signs, so bf16's 2^-8 per operand becomes a few percent of their norm (6% in the first layer here);
 * the products themselves are held to bf16's bound by the two tests above. */
static const char *bf16_cfg = "[net]\nbatch=12\nwidth=8\nheight=8\nchannels=3\nlearning_rate=0.05\nmomentum=0.9\n"
                              "[convolutional]\nfilters=8\nsize=3\npad=1\nactivation=leaky\n"
                              "[maxpool]\nsize=2\nstride=2\n"
                              "[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n"
                              "[convolutional]\nfilters=6\nsize=1\nactivation=relu\n"
                              "[connected]\noutput=5\nactivation=linear\n"
                              "[softmax]\n";

static double norm_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; ++i) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* The gradients of one step in precision bf16 on `threads`: per layer, weight_updates then bias_updates, then
 * the network's input gradient, into one malloc'd array. */
static float *one_step_gradients(network *net, const float *x, const float *y, int bf16, int threads, size_t *n)
{
    abc_set_threads(threads);
    abc_sgemm_set_train_bf16(bf16);
    size_t total = (size_t)net->batch * net->inputs;
    for (int i = 0; i < net->n; ++i) total += (size_t)net->layers[i].nweights + net->layers[i].n;
    float *g = calloc(total, sizeof(float)), *dx = calloc((size_t)net->batch * net->inputs, sizeof(float));
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->weight_updates) memset(l->weight_updates, 0, (size_t)l->nweights * sizeof(float));
        if (l->bias_updates) memset(l->bias_updates, 0, (size_t)l->n * sizeof(float));
    }
    float *input = net->input, *truth = net->truth; /* free_network frees these */
    net->input = (float *)x;
    net->truth = (float *)y;
    net->train = 1;
    forward_network(net);
    backward_network(net);
    net->input = input;
    net->truth = truth;
    /* the input gradient of layer 0: backward_network leaves net->delta NULL there, so ask the layer itself */
    network copy = *net;
    copy.input = (float *)x;
    copy.delta = dx;
    net->layers[0].backward(net->layers[0], copy);
    size_t at = 0;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (l->weight_updates) memcpy(g + at, l->weight_updates, (size_t)l->nweights * sizeof(float));
        at += (size_t)l->nweights;
        if (l->bias_updates) memcpy(g + at, l->bias_updates, (size_t)l->n * sizeof(float));
        at += (size_t)l->n;
    }
    memcpy(g + at, dx, (size_t)net->batch * net->inputs * sizeof(float));
    free(dx);
    abc_sgemm_set_train_bf16(0);
    *n = total;
    return g;
}

START_TEST(bf16_training_step_matches_fp32)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "bf16.cfg", bf16_cfg);
    srand(3);
    network *net = load_network(cfg, NULL, 0);
    size_t nx = (size_t)net->batch * net->inputs, ny = (size_t)net->batch * net->outputs, n;
    float *x = malloc(nx * sizeof(float)), *y = calloc(ny, sizeof(float));
    fill(x, nx, 0, 1);
    for (int b = 0; b < net->batch; ++b) y[(size_t)b * net->outputs + b % net->outputs] = 1;
    float *ref = one_step_gradients(net, x, y, 0, 1, &n);
    float *ref2 = one_step_gradients(net, x, y, 0, 2, &n);
    ck_assert_msg(norm_diff(ref2, ref, n) < 1e-5, "fp32 gradients differ between 1 and 2 threads");
    if (!abc_sgemm_bf16_supported()) {
        fprintf(stderr, "bf16_training_step_matches_fp32: this CPU has no AVX512-BF16; fp32 only\n");
    } else {
        for (int threads = 1; threads <= 2; ++threads) {
            float *g = one_step_gradients(net, x, y, 1, threads, &n);
            size_t at = 0;
            for (int i = 0; i < net->n; ++i) {
                layer *l = &net->layers[i];
                if (!l->nweights) continue;
                double e = norm_diff(g + at, ref + at, (size_t)l->nweights);
                ck_assert_msg(e < 0.1 && e > 0, "%d threads: layer %d's weight gradient in bf16 is %g off fp32",
                              threads, i, e);
                at += (size_t)l->nweights + l->n;
            }
            double e = norm_diff(g + at, ref + at, nx);
            ck_assert_msg(e < 0.1 && e > 0, "%d threads: the input gradient in bf16 is %g off fp32", threads, e);
            free(g);
        }
    }
    abc_set_threads(1);
    free(ref), free(ref2), free(x), free(y), free(cfg);
    free_network(net);
}
END_TEST

START_TEST(abc_float_switch_reaches_the_command)
{
    const char *dir = abc_test_tmpdir();
    char *cfg = abc_test_write(dir, "speed.cfg", small_cfg);
    char args[4200];
    snprintf(args, sizeof args, "abc trainspeed %s -iters 2 -threads 1", cfg);
    abc_run_result r = abc_test_run_darknet(args);
    ck_assert_msg(r.status == 0, "%s", r.out);
    /* the default precision: bf16 where the CPU has it */
    ck_assert_msg(strstr(r.out, abc_sgemm_bf16_supported()
                                    ? "bf16: fast float path (4 of 4 conv/connected layers), bf16"
                                    : "fp32: fast float path (4 of 4 conv/connected layers), fp32 GEMMs"),
                  "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "img/s"));
    abc_run_free(&r);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "ABC_FLOAT=stock %s %s", abc_test_darknet_path(), args);
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_msg(strstr(r.out, "stock: darknet's own conv/connected"), "%s", r.out);
    abc_run_free(&r);
    /* the precision: ABC_PRECISION over the cfg's precision=, -compare adds the other one, -conv bf16 on the
     * project's own convolutions instead of oneDNN's */
    snprintf(cmd, sizeof cmd, "ABC_PRECISION=bf16 %s %s -compare -conv", abc_test_darknet_path(), args);
    r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    if (abc_sgemm_bf16_supported()) {
        ck_assert_msg(strstr(r.out, "bf16: fast float path (4 of 4 conv/connected layers), bf16"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "fp32: fast float path (4 of 4 conv/connected layers), fp32 GEMMs"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "fp32 vs bf16: "), "%s", r.out);
        ck_assert_msg(strstr(r.out, "GEMMs, convolutions on oneDNN 2."), "%s", r.out);
        ck_assert_msg(strstr(r.out, "bf16, own convs: fast float path (4 of 4 conv/connected layers), bf16 (AVX512-BF16, "
                                    "fp32 sums) GEMMs, convolutions on im2col + that GEMM"), "%s", r.out);
        ck_assert_msg(strstr(r.out, "bf16, own convs vs bf16: "), "%s", r.out);
    } else {
        ck_assert_msg(strstr(r.out, "this CPU has no AVX512-BF16"), "%s", r.out);
    }
    abc_run_free(&r);
    /* the cfg's precision=fp32 over the default */
    char *fp32_cfg = abc_test_write(dir, "speed-fp32.cfg", "[net]\nprecision=fp32\nbatch=8\nwidth=12\nheight=12\n"
                                    "channels=3\n[connected]\noutput=5\nactivation=linear\n[softmax]\n");
    r = abc_test_darknetf("abc trainspeed %s -iters 1 -threads 1", fp32_cfg);
    ck_assert_msg(r.status == 0 && strstr(r.out, "fp32: fast float path (1 of 1 conv/connected layers), fp32 GEMMs"),
                  "%s", r.out);
    abc_run_free(&r);
    free(fp32_cfg);
    snprintf(cmd, sizeof cmd, "ABC_PRECISION=half %s %s", abc_test_darknet_path(), args);
    r = abc_test_run(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "darknet: error: ABC_PRECISION='half'"), "%s", r.out);
    abc_run_free(&r);
    snprintf(cmd, sizeof cmd, "ABC_FLOAT=quick %s %s", abc_test_darknet_path(), args);
    r = abc_test_run(cmd);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "darknet: error: ABC_FLOAT='quick'"), "%s", r.out);
    abc_run_free(&r);
    free(cfg);
}
END_TEST

/* abc trainspeed -twin: the quantized model against its float twin (the quantized sections as the float ones
 * they stand for, from the cfg's text), the twin's cfg removed afterwards; a cfg with nothing quantized is
 * refused in one line. */
START_TEST(trainspeed_twin_times_the_float_model)
{
    const char *dir = abc_test_tmpdir();
    char *cfg = abc_test_write(dir, "abc.cfg",
                               "[net]\nbatch=4\nwidth=12\nheight=12\nchannels=3\nlearning_rate=0.05\n"
                               "[convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                               "[abc_convolutional]\nfilters=8\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
                               "weight_bases=3\nactivation_bases=3\n"
                               "[connected]\noutput=5\nactivation=linear\n[softmax]\n");
    char *twin_tmp = abc_test_pathf(dir, "twin-tmp");
    ck_assert_int_eq(abc_mkdirs(twin_tmp), 0);
    abc_run_result r = abc_test_runf("TMPDIR=%s %s abc trainspeed %s -twin -iters 2 -threads 2", twin_tmp,
                                     abc_test_darknet_path(), cfg);
    ck_assert_msg(r.status == 0, "%s", r.out);
    ck_assert_msg(strstr(r.out, "float twin: fast float path (3 of 3 conv/connected layers)"), "%s", r.out);
    ck_assert_msg(strstr(r.out, ": fast float path (2 of 2 conv/connected layers)"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "the quantized model's step takes "), "%s", r.out);
    abc_run_free(&r);
    r = abc_test_runf("ls -A %s | wc -l", twin_tmp);
    ck_assert_msg(atoi(r.out) == 0, "the twin's files are left in %s: %s", twin_tmp, r.out);
    abc_run_free(&r);
    char *plain = abc_test_write(dir, "plain.cfg", small_cfg);
    r = abc_test_darknetf("abc trainspeed %s -twin -iters 1", plain);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.out, "darknet: error: -twin: ") && strstr(r.out, "no quantized layer"), "%s", r.out);
    abc_run_free(&r);
    free(cfg), free(plain), free(twin_tmp);
}
END_TEST

/* The OpenBLAS core in "... OpenBLAS core <name>" of `abc trainspeed`, run with env prefix pre. */
static void openblas_core_of_run(const char *pre, char *core, size_t n)
{
    char *cfg = abc_test_write(abc_test_tmpdir(), "core.cfg", small_cfg);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "%s %s abc trainspeed %s -iters 1 -threads 1", pre, abc_test_darknet_path(), cfg);
    abc_run_result r = abc_test_run(cmd);
    ck_assert_msg(r.status == 0, "%s", r.out);
    const char *at = strstr(r.out, "OpenBLAS core ");
    ck_assert_msg(at != NULL, "%s", r.out);
    snprintf(core, n, "%.*s", (int)strcspn(at + 14, " \n"), at + 14);
    abc_run_free(&r);
    free(cfg);
}

/* ./darknet never leaves OpenBLAS on kernels older than the CPU (Debian's 0.3.21 falls back to SSE3 on CPUs it
 * does not know), and keeps the user's OPENBLAS_CORETYPE. */
START_TEST(openblas_runs_kernels_for_this_cpu)
{
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "float_fast: OpenBLAS core check skipped: no AVX2 and FMA on this CPU\n");
        return;
    }
    static const char *const modern[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
    char core[64];
    openblas_core_of_run("env -u OPENBLAS_CORETYPE", core, sizeof core);
    int ok = 0;
    for (size_t i = 0; i < sizeof modern / sizeof modern[0]; ++i) ok |= !strcasecmp(core, modern[i]);
    ck_assert_msg(ok, "OpenBLAS runs its %s kernels on a CPU with AVX2 and FMA", core);
    openblas_core_of_run("OPENBLAS_CORETYPE=Haswell", core, sizeof core);
    ck_assert_str_eq(core, "Haswell");
}
END_TEST

static Suite *suite_float_fast(void)
{
    Suite *s = suite_create("float_fast");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, conv_matches_stock, 0, (int)(sizeof conv_cases / sizeof conv_cases[0]));
    tcase_add_loop_test(tc, connected_matches_stock, 0, (int)(sizeof fc_cases / sizeof fc_cases[0]));
    tcase_add_test(tc, unsupported_configurations_stay_stock);
    tcase_add_test(tc, im2col_matches_stock);
    tcase_add_test(tc, avx512_gemm_matches_openblas);
    tcase_add_test(tc, bf16_gemm_matches_reference);
    tcase_add_test(tc, bf16_images_gemm_matches_reference);
    tcase_add_test(tc, bf16_training_step_matches_fp32);
    tcase_add_test(tc, parser_installs_fast_path_and_training_matches_stock);
    tcase_add_test(tc, abc_float_switch_reaches_the_command);
    tcase_add_test(tc, trainspeed_twin_times_the_float_model);
    tcase_add_test(tc, openblas_runs_kernels_for_this_cpu);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_float_fast)
