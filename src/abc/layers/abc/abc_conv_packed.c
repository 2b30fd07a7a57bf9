#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "no-math-errno") /* the combine and coefficient loops vectorize */
#endif
/* [abc_convolutional] inference path: the same function as the float
 * simulation, computed over packed bits (layout: abc_conv_pack.h).
 *   out[f,p] = act(k_f * sum_m sum_n alpha_m[f] beta_n (C_mn[f,p] + corr_m[f,p]) + off_f)
 * with k_f, off_f the batch norm (rolling statistics) or 1, bias. C_mn is the
 * +-1 product of weight base m and activation base n over the K real bits.
 * A padded tap is 0 in the simulation but its packed bits are 0 (-1), which
 * adds -B_m[f, tap] per channel: corr_m adds back sum_c B_m over the padded
 * taps of position p, and sum_m alpha_m corr_m is st->wcorr summed over them.
 *
 * One pool run per forward, nothing serial around it. The work units are an
 * image, a block of positions and a range of filters (ordered by positions
 * first, or, when the blocks are few, by sets of filters first); each pool
 * thread owns a contiguous range of units (kernels/steal.h) and, first,
 * packs its share of the image rows (each image once for all N bases, in
 * groups of rows, into a shared plane with a ready flag per group; with
 * filter sets, the channels its set wrote as the layer before, then all
 * rows from every set's bits into planes of its own; the first thread done
 * with its share computes the output coefficients), then runs its units,
 * stealing from the back of other ranges once its own is empty. A unit waits
 * only for the row groups its windows read, packing any that nobody has
 * claimed yet, so there is no barrier between packing and products, and the
 * same thread writes the same output lines in every forward (when two
 * threads took turns on neighbouring blocks, the lines moved between the
 * cores' caches and two threads ran slower than one). A unit does im2col over words
 * of the N bases into per-thread scratch (straight into the kernel's panels
 * where it takes them), ONE binary GEMM for all M*N products (A = the M rows
 * of each filter, B = N rows per position). For M = N = 1 with the AVX-512
 * kernel the output stage runs in the kernel's store, which writes l.output
 * (scale, offset, the padded-tap correction by border class, leaky/relu).
 * Otherwise the kernel gives int32 counts, then per filter one pass over the
 * block combines them, the correction, batch norm / bias and the activation.
 * (Combining M*N > 1 products in the kernel's store instead, each filter's
 * rows summed in registers and added to the output rows, was 7-10% slower
 * on ABC (3,3) at 56x56x64: its tiles must hold whole filters.)
 * One GEMM per block beat M*N GEMMs of one base pair each by 13-35% on
 * ResNet-18 3x3 shapes (AVX-512, one thread). */
#include <math.h>
#include <sched.h>
#include <string.h>

#include "abc_conv.h"
#include "abc_conv_pack.h"
#include "kernels/act.h"
#include "kernels/arena.h"
#include "kernels/bgemm_kernels.h"
#include "kernels/bim2col.h"
#include "kernels/bitpack.h"
#include "kernels/blas_threads.h"
#include "kernels/pool.h"
#include "kernels/steal.h"

_Static_assert(ABC_MAX_BASES <= ABC_BITPACK_MAX_THRESHOLDS, "the input packer takes every activation base");

/* arena slots: the forward's shared buffers (on the calling thread) and each task's scratch;
 * the float layers use slots 0 and 1, so a packed forward never clobbers theirs. */
enum { SLOT_SHARED = 2, SLOT_TASK = 3, SLOT_PACK = 4, SLOT_PLANE = 5 };
/* GEMM block: about COLS columns (N bases x positions), counts up to C_BYTES (L2). */
enum { COLS = 192, C_BYTES = 128 * 1024 };
/* Below this many binary MACs a forward runs on the calling thread alone. */
#define MIN_SPLIT (1L << 22)

/* The output loops built for AVX-512, AVX2 and the baseline, chosen at load time (ifunc). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

static inline int imin(int a, int b) { return a < b ? a : b; }

typedef struct {
    const layer *l;
    const abc_conv_state *st;
    const float *input;
    const abc_bgemm_kernel *kernel;
    uint64_t *xw; /* batch x N planes of `plane` words: the packed inputs */
    size_t plane; /* words of one base's padded plane of one image: (h + 2 pad) x rw */
    float *coef;  /* per filter: M*N scales k_f alpha_m beta_n */
    float *off;   /* per filter: offset (bias - k_f mean) */
    float *bk;    /* per filter: k_f sum_n beta_n (scale of the correction) */
    float *shift; /* per filter, M = N = 1: off - coef * kfix (the fused output stage's constant) */
    float *corr;  /* per filter and border class, M = N = 1: bk * wcorr (the fused stage's corrections) */
    float thr[ABC_MAX_BASES];
    int kfix;     /* 64*words - K: the product over padded words counts each spare bit as +1 */
    int groups, pb, pblocks, fparts, fc;
    int fsets;        /* units go (image, filter set, block, filter part): fparts / fsets parts a set */
    int parts, units; /* ranges of units (one per pool thread) and units in all */
    uint64_t *ranges; /* abc_steal ranges */
    /* With filter sets: an image is first packed in cparts ranges of channel words into pxs (image b, range t
     * at b*N*HW*cw + N*HW*w0(t), w1(t) - w0(t) words a pixel), each thread the channels its set wrote as the
     * layer before, and then each thread puts the whole image's rows together from those, in planes of its
     * own (arena slot SLOT_PLANE; xw is not used): the other thread's bits, not its floats, cross between
     * the cores, once, in order (6-7% faster on 2 threads at 14x14x256 and 7x7x512 than packing rows from
     * the floats, and 2-6% more than a shared plane half built by each thread, whose im2col read the other
     * half across). Else cparts 1. (Building each block's B once, half on each thread, and both reading it,
     * was 5% slower than both building it.) */
    int cparts;
    uint64_t *pxs;
    size_t nbw; /* words of a block's B in the task scratch */
    /* 0 to do, 1 being done, 2 done (atomic): per image and row group, the output coefficients (index kc), per
     * image and channel range (from kp) */
    int *ready;
    int kc, kp;
} job;

static void claim(const job *j, int k, int thread);
static void wait_done(const job *j, int k);

/* Channel range t of image b (task b*cparts + t): all pixels, packed into its part of pxs. */
static void pack_channels(const job *j, int task)
{
    const layer *l = j->l;
    const abc_conv_state *st = j->st;
    int b = task / j->cparts, w0, w1, HW = l->h * l->w;
    abc_split_range(st->cw, j->cparts, task % j->cparts, &w0, &w1);
    int c0 = 64 * w0, c1 = imin(l->c, 64 * w1);
    uint64_t *part = j->pxs + (size_t)st->o.N * HW * ((size_t)b * st->cw + w0);
    abc_bitpack_pixels(j->input + (size_t)b * l->inputs + (size_t)c0 * HW, c1 - c0, HW, 0, HW, j->thr, st->o.N,
                        part, w1 - w0);
}

/* Pixels [q0, q1) of image b, all bases, as abc_bitpack_pixels writes them (px[(n*HW + q)*cw + w]), put
 * together from the image's channel ranges (packing those nobody has claimed). */
static void gather_channels(const job *j, int b, int q0, int q1, uint64_t *px, int thread)
{
    const abc_conv_state *st = j->st;
    int HW = j->l->h * j->l->w, N = st->o.N, cw = st->cw;
    for (int t = 0; t < j->cparts; ++t) claim(j, j->kp + b * j->cparts + t, thread);
    for (int t = 0; t < j->cparts; ++t) wait_done(j, j->kp + b * j->cparts + t);
    for (int t = 0; t < j->cparts; ++t) {
        int w0, w1;
        abc_split_range(cw, j->cparts, t, &w0, &w1);
        int n_w = w1 - w0;
        const uint64_t *part = j->pxs + (size_t)N * HW * ((size_t)b * cw + w0);
        for (int n = 0; n < N; ++n)
            for (int q = q0; q < q1; ++q) {
                const uint64_t *src = part + ((size_t)n * HW + q) * n_w;
                uint64_t *dst = px + ((size_t)n * HW + q) * cw + w0;
                for (int w = 0; w < n_w; ++w) dst[w] = src[w];
            }
    }
}

/* Image rows [y0, y1) of image b: packed per pixel into scratch, then into the bit-stream planes at xw. */
static void pack_rows(const job *j, int b, int y0, int y1, uint64_t *xw, int thread)
{
    const layer *l = j->l;
    const abc_conv_state *st = j->st;
    int N = st->o.N, HW = l->h * l->w;
    if (y0 >= y1) return;
    size_t npx = (size_t)N * HW * st->cw;
    uint64_t *px = (uint64_t *)(void *)abc_arena_floats(thread, SLOT_PACK, 2 * npx);
    if (j->cparts > 1) gather_channels(j, b, y0 * l->w, y1 * l->w, px, thread);
    else abc_bitpack_pixels(j->input + (size_t)b * l->inputs, l->c, HW, y0 * l->w, y1 * l->w, j->thr, N, px, st->cw);
    for (int n = 0; n < N; ++n) {
        uint64_t *rows = xw + ((size_t)b * N + n) * j->plane;
        abc_bim2col_stream_rows(px + (size_t)n * HW * st->cw, l->w, st->cw, l->c, l->pad, y0, y1,
                             rows + (size_t)l->pad * st->rw, st->rw);
        if (y0 == 0) memset(rows, 0, (size_t)l->pad * st->rw * sizeof *rows);
        if (y1 == l->h) memset(rows + (size_t)(l->pad + l->h) * st->rw, 0, (size_t)l->pad * st->rw * sizeof *rows);
    }
}

/* Row group g of the image rows, into the shared planes. */
static void pack_group(const job *j, int task, int thread)
{
    int y0, y1;
    abc_split_range(j->l->h, j->groups, task % j->groups, &y0, &y1);
    pack_rows(j, task / j->groups, y0, y1, j->xw, thread);
}

/* o[p] += sum_i s[i] * (c[i*L + p] - kfix), i over the M*N products, o
 * already holding the offset and the border correction; act 1 (leaky) or
 * 2 (relu) is applied in the last product's loop (0: none). */
CLONES static void combine(float *o, int L, const int32_t *c, const float *s, int MN, int kfix, int act)
{
    for (int i = 0; i < MN; ++i) {
        const int32_t *ci = c + (size_t)i * L;
        float si = s[i];
        if (i < MN - 1 || act == 0) {
            for (int p = 0; p < L; ++p) o[p] += si * (float)(ci[p] - kfix);
        } else if (act == 1) { /* act.c's leaky and relu */
            for (int p = 0; p < L; ++p) {
                float v = o[p] + si * (float)(ci[p] - kfix);
                o[p] = v > 0 ? v : 0.1f * v;
            }
        } else {
            for (int p = 0; p < L; ++p) {
                float v = o[p] + si * (float)(ci[p] - kfix);
                o[p] = v > 0 ? v : 0.0f;
            }
        }
    }
}

/* A position whose kernel window is partly in the padding, and its border class. */
typedef struct {
    int p, cls;
} border;

static int borders(const layer *l, const abc_conv_state *st, int p0, int p1, border *bd)
{
    int nb = 0, s = l->size, W = l->out_w;
    /* columns [0, left) and [right, W) have padded taps: x0 = ox*stride - pad < 0, or x0 + size > w */
    int left = imin(W, (l->pad + l->stride - 1) / l->stride);
    int right = l->w + l->pad - s < 0 ? 0 : imin(W, (l->w + l->pad - s) / l->stride + 1);
    for (int p = p0; p < p1;) { /* one output row at a time: only its padded columns, unless all are */
        int oy = p / W, ox = p % W, e = imin(p1, p - ox + W), y0 = oy * l->stride - l->pad;
        int all = y0 < 0 || y0 + s > l->h;
        for (int q = p; q < e; ++q) {
            int x = ox + q - p;
            if (!all && x >= left && x < right) { /* jump over the row's inner columns */
                q += right - x - 1;
                continue;
            }
            bd[nb++] = (border){q - p0, st->rcls[oy] * st->ncc + st->ccls[x]};
        }
        p = e;
    }
    return nb;
}

/* Unit u: image *b, block *blk (positions [*p0, *p1)), filter part *fpart. */
static void unit_at(const job *j, int u, int *b, int *blk, int *fpart, int *p0, int *p1)
{
    int fsub = j->fparts / j->fsets, fi = u % fsub, rest = u / fsub;
    *blk = rest % j->pblocks;
    rest /= j->pblocks;
    *fpart = rest % j->fsets * fsub + fi;
    *b = rest / j->fsets;
    *p0 = *blk * j->pb;
    *p1 = imin(j->st->P, *p0 + j->pb);
}

/* The B of image b's block [p0, p1) (column q = n*L + p - p0: base n, position p), as plain rows of kw words
 * or, with panels, into the kernel's panels; the last panel's spare columns zero. */
static void im2col_block(const job *j, const uint64_t *xw, int b, int p0, int p1, uint64_t *Bw, int panels)
{
    const layer *l = j->l;
    const abc_conv_state *st = j->st;
    int N = st->o.N, kw = st->words, L = p1 - p0, cols = N * L;
    for (int n = 0; n < N; ++n) {
        const uint64_t *plane_n = xw + ((size_t)b * N + n) * j->plane;
        if (!panels) {
            abc_bim2col(plane_n, st->rw, l->c, l->size, l->stride, l->out_w, p0, p1, Bw + (size_t)n * L * kw,
                                  kw, 1);
            continue;
        }
        for (int p = p0; p < p1;) { /* column q: lane q % 16 of panel q / 16 */
            int q = n * L + p - p0, lane = q % ABC_BGEMM_PANEL, e = imin(p1, p + ABC_BGEMM_PANEL - lane);
            abc_bim2col(plane_n, st->rw, l->c, l->size, l->stride, l->out_w, p, e,
                                  Bw + (size_t)(q / ABC_BGEMM_PANEL) * kw * ABC_BGEMM_PANEL + lane, 1,
                                  ABC_BGEMM_PANEL);
            p = e;
        }
    }
    if (panels && cols % ABC_BGEMM_PANEL) {
        uint64_t *last = Bw + (size_t)(cols / ABC_BGEMM_PANEL) * kw * ABC_BGEMM_PANEL;
        for (int w = 0; w < kw; ++w)
            for (int c = cols % ABC_BGEMM_PANEL; c < ABC_BGEMM_PANEL; ++c) last[(size_t)w * ABC_BGEMM_PANEL + c] = 0;
    }
}

/* What a thread's scratch holds for the block of its last unit, which consecutive units of one block share:
 * the block's im2col, its positions with padded taps and their border classes. */
typedef struct {
    int key; /* image * pblocks + block, -1: none */
    int nb;  /* positions with padded taps */
    const uint64_t *xw; /* the packed planes this thread reads */
} block_cache;

/* One unit. */
static void conv_task(const job *j, int task, int thread, block_cache *bc)
{
    const layer *l = j->l;
    const abc_conv_state *st = j->st;
    int M = st->o.M, N = st->o.N, MN = M * N, kw = st->words;
    int ncls = st->nrc * st->ncc;
    int b, blk, fpart, p0, p1, f0, f1;
    unit_at(j, task, &b, &blk, &fpart, &p0, &p1);
    int L = p1 - p0;
    abc_split_range(l->n, j->fparts, fpart, &f0, &f1);
    if (L <= 0 || f0 >= f1) return;
    int cols = N * L, panels = j->kernel->panels && cols >= ABC_BGEMM_PANEL; /* im2col into the kernel's panels */
    /* scratch: packed rows (or panels) of B, the counts (and their transpose), the border list, the border
     * class of each position; sized for the largest unit, so that it is the same buffer for every unit of
     * the forward */
    int most = M * imin(j->fc, (l->n + j->fparts - 1) / j->fparts), widest = N * j->pb;
    size_t nC = (size_t)most * widest;
    float *scr = abc_arena_floats(thread, SLOT_TASK, 2 * j->nbw + 2 * nC + 3 * (size_t)j->pb + 16);
    uint64_t *Bw = (uint64_t *)(void *)scr;
    int32_t *Cb = (int32_t *)(void *)(scr + 2 * j->nbw), *Ct = Cb + nC;
    border *bd = (border *)(void *)(Ct + nC);
    int32_t *cls = (int32_t *)(void *)(bd + j->pb); /* M = N = 1: each position's border class, or -1 */
    /* one base each way: the kernel writes the floats, the output stage (the padded-tap correction, batch
     * norm or bias, leaky/relu) fused into its store */
    int fused = MN == 1 && panels && j->kernel->panels_out;
    int key = b * j->pblocks + blk;
    if (bc->key != key) {
        im2col_block(j, bc->xw, b, p0, p1, Bw, panels);
        bc->nb = l->pad ? borders(l, st, p0, p1, bd) : 0;
        if (fused && bc->nb) {
            for (int i = 0; i < L; ++i) cls[i] = -1;
            for (int e = 0; e < bc->nb; ++e) cls[bd[e].p] = bd[e].cls;
        }
        bc->key = key;
    }
    int nb = bc->nb;
    int act = l->activation == LEAKY ? 1 : l->activation == RELU ? 2 : 0;
    float *out = l->output + (size_t)b * l->outputs;
    for (int fa = f0; fa < f1; fa += j->fc) {
        int fb = imin(f1, fa + j->fc), r = M * (fb - fa);
        const uint64_t *A = st->wbits + (size_t)fa * M * kw;
        if (fused) {
            abc_bgemm_out o = {out + (size_t)fa * st->P + p0, st->P, j->coef + fa, j->shift + fa,
                               act == 1 ? ABC_BGEMM_ACT_LEAKY : act == 2 ? ABC_BGEMM_ACT_RELU : ABC_BGEMM_ACT_NONE,
                               nb ? cls : NULL, j->corr + (size_t)fa * ncls, ncls};
            j->kernel->panels_out(r, cols, 64 * kw, A, kw, Bw, &o);
            if (act == 0 && l->activation != LINEAR)
                for (int f = fa; f < fb; ++f) abc_act_row(out + (size_t)f * st->P + p0, L, l->activation);
            continue;
        }
        if (panels) {
            j->kernel->panels(r, cols, 64 * kw, A, kw, Bw, Cb, cols);
        } else if (cols >= 16) {
            j->kernel->fn(r, cols, 64 * kw, A, kw, Bw, kw, Cb, cols);
        } else { /* few columns (connected layers): the kernels' tiles are wider in columns */
            j->kernel->fn(cols, r, 64 * kw, Bw, kw, A, kw, Ct, r);
            for (int i = 0; i < r; ++i)
                for (int q = 0; q < cols; ++q) Cb[(size_t)i * cols + q] = Ct[(size_t)q * r + i];
        }
        for (int f = fa; f < fb; ++f) {
            float *o = out + (size_t)f * st->P + p0, off = j->off[f];
            for (int p = 0; p < L; ++p) o[p] = off;
            const float *wc = st->wcorr + (size_t)f * ncls;
            for (int e = 0; e < nb; ++e) o[bd[e].p] += j->bk[f] * wc[bd[e].cls];
            combine(o, L, Cb + (size_t)(f - fa) * MN * L, j->coef + (size_t)f * MN, MN, j->kfix, act);
            if (act == 0 && l->activation != LINEAR) abc_act_row(o, L, l->activation);
        }
    }
}

/* Scales and offsets of the output stage, per filter, every forward from the layer's current parameters
 * (in loops that vectorize: with a division and a scalar sqrtf per filter, 256 filters took 6 us, now 2-3). */
static void output_coefs(const layer *l, const abc_conv_state *st, const job *j)
{
    int M = st->o.M, N = st->o.N, MN = M * N, G = st->G, n = l->n, ncls = st->nrc * st->ncc;
    float sbeta = 0, *k = j->bk; /* bk holds the batch norm's scale k_f until the last loop */
    for (int i = 0; i < N; ++i) sbeta += st->beta[i];
    if (l->batch_normalize)
        for (int f = 0; f < n; ++f) {
            k[f] = l->scales[f] / (sqrtf(l->rolling_variance[f]) + .000001f);
            j->off[f] = l->biases[f] - l->rolling_mean[f] * k[f];
        }
    else
        for (int f = 0; f < n; ++f) {
            k[f] = 1;
            j->off[f] = l->biases[f];
        }
    for (int g = 0; g < G; ++g) { /* the filters of scale group g: f*G/n == g */
        int f0 = (int)(((long)g * n + G - 1) / G), f1 = (int)(((long)(g + 1) * n + G - 1) / G);
        const float *alpha = st->alpha + (size_t)g * M;
        for (int f = f0; f < f1; ++f)
            for (int m = 0; m < M; ++m)
                for (int i = 0; i < N; ++i) j->coef[(size_t)f * MN + m * N + i] = k[f] * alpha[m] * st->beta[i];
    }
    for (int f = 0; f < n; ++f) {
        j->shift[f] = j->off[f] - j->coef[(size_t)f * MN] * (float)j->kfix;
        k[f] *= sbeta;
    }
    if (MN == 1)
        for (int f = 0; f < n; ++f)
            for (int c = 0; c < ncls; ++c) j->corr[(size_t)f * ncls + c] = k[f] * st->wcorr[(size_t)f * ncls + c];
}

/* The row group of image row y (the inverse of abc_split_range(h, groups, .)). */
static int group_of(const job *j, int y)
{
    int h = j->l->h, q = h / j->groups, r = h % j->groups;
    return y < r * (q + 1) ? y / (q + 1) : r + (y - r * (q + 1)) / q;
}

/* Does job k (ready[] indices, job) unless another thread has claimed it. */
static void claim(const job *j, int k, int thread)
{
    int free_ = 0;
    if (__atomic_load_n(&j->ready[k], __ATOMIC_RELAXED) != 0 ||
        !__atomic_compare_exchange_n(&j->ready[k], &free_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    if (k < j->kc) pack_group(j, k, thread);
    else if (k == j->kc) output_coefs(j->l, j->st, j);
    else pack_channels(j, k - j->kp);
    __atomic_store_n(&j->ready[k], 2, __ATOMIC_RELEASE);
}

/* Waits until job k is done: another thread is on it (microseconds), so spin, but let a descheduled one run. */
static void wait_done(const job *j, int k)
{
    for (int spins = 0; __atomic_load_n(&j->ready[k], __ATOMIC_ACQUIRE) != 2; ++spins) {
        if (spins >= 2000) sched_yield();
#if defined(__x86_64__) && defined(__GNUC__)
        else __builtin_ia32_pause();
#endif
    }
}

/* The row groups [*g0, *g1] of image rows that unit u's windows read (the
 * first and last groups also write the planes' padding rows). */
static void unit_groups(const job *j, int u, int *g0, int *g1)
{
    const layer *l = j->l;
    int b, blk, fpart, p0, p1;
    unit_at(j, u, &b, &blk, &fpart, &p0, &p1);
    int y0 = p0 / l->out_w * l->stride - l->pad, y1 = (p1 - 1) / l->out_w * l->stride - l->pad + l->size - 1;
    *g0 = y0 <= 0 ? 0 : group_of(j, imin(y0, l->h - 1));
    *g1 = y1 >= l->h - 1 ? j->groups - 1 : group_of(j, y1 < 0 ? 0 : y1);
}

/* Waits until the groups unit u reads are packed, packing those nobody has claimed. */
static void need_rows(const job *j, int u, int thread)
{
    int g0, g1, b, blk, fpart, p0, p1;
    unit_groups(j, u, &g0, &g1);
    unit_at(j, u, &b, &blk, &fpart, &p0, &p1);
    int base = b * j->groups;
    for (int g = g0; g <= g1; ++g) claim(j, base + g, thread);
    for (int g = g0; g <= g1; ++g) wait_done(j, base + g);
}

/* One pool thread: first its even share of the row groups, which are the
 * rows it wrote as the layer before when that layer had this shape (a row
 * group packed from floats the other core wrote took 2-3x a local one;
 * claiming the groups this thread's units read instead, the boundary groups
 * went to the wrong side), then the output coefficients unless another
 * thread has taken them, then units. With filter sets and channel ranges
 * (every unit reads every row): the channels of its set, the coefficients,
 * then all rows into its own planes. */
static void layer_task(void *ctx, int task, int thread)
{
    (void)task;
    const job *j = ctx;
    int self = thread % j->parts, k0, k1, kc = j->kc;
    if (j->cparts > 1 && self < j->cparts)
        for (int b = 0; b < j->l->batch; ++b) claim(j, j->kp + b * j->cparts + self, thread);
    block_cache bc = {-1, 0, j->xw};
    int own = j->cparts > 1;
    if (own) { /* every thread puts all rows together, in planes of its own */
        size_t nx = (size_t)j->l->batch * j->st->o.N * j->plane;
        uint64_t *xw = (uint64_t *)(void *)abc_arena_floats(thread, SLOT_PLANE, 2 * nx);
        claim(j, kc, thread);
        for (int b = 0; b < j->l->batch; ++b) pack_rows(j, b, 0, j->l->h, xw, thread);
        bc.xw = xw;
    } else {
        abc_split_range(j->l->batch * j->groups, j->parts, self, &k0, &k1);
        for (int k = k0; k < k1; ++k) claim(j, k, thread);
        claim(j, kc, thread);
    }
    int u;
    while (abc_steal_next(j->ranges, j->parts, self, &u)) {
        if (!own) need_rows(j, u, thread);
        wait_done(j, kc);
        conv_task(j, u, thread, &bc);
    }
}

void abc_conv_forward_packed(layer l, network net)
{
    abc_conv_state *st = abc_conv_st(&l);
    if (!st->packed_valid) abc_conv_pack_weights(&l);
    int M = st->o.M, N = st->o.N, P = st->P, threads = abc_pool_threads();
    job j;
    memset(&j, 0, sizeof j);
    j.l = &l;
    j.st = st;
    j.input = net.input;
    j.kernel = abc_kernel_chosen(&abc_bgemm_family);
    j.kfix = 64 * st->words - st->K;
    for (int n = 0; n < N; ++n) j.thr[n] = abc_conv_thr(st, n);
    long work = (long)l.batch * M * N * l.n * P * st->K;
    int serial = threads <= 1 || work < MIN_SPLIT;
    if (!serial) abc_blas_threads(1); /* OpenBLAS workers of float layers stay asleep while the pool runs */
    j.parts = serial ? 1 : threads;
    /* row groups per image: a few per thread */
    j.groups = serial || l.batch >= 2 * threads ? 1 : imin(l.h, (4 * threads + l.batch - 1) / l.batch);

    j.pb = (COLS / N) & ~15;
    if (j.pb < 16) j.pb = 16;
    if (j.pb > P) j.pb = P;
    j.pblocks = (P + j.pb - 1) / j.pb;
    if (j.pblocks > 1) { /* even blocks, multiples of 16: no narrow leftover block */
        j.pb = ((P + j.pblocks - 1) / j.pblocks + 15) & ~15;
        j.pblocks = (P + j.pb - 1) / j.pb;
    }
    int rows = C_BYTES / (4 * N * j.pb);
    j.fc = rows / M < 1 ? 1 : rows / M;
    if (j.fc >= 16) j.fc &= ~7;
    j.fparts = j.fsets = 1;
    int tasks = l.batch * j.pblocks;
    if (!serial && tasks < 8 * threads) { /* enough units that the last ones balance the threads */
        j.fparts = (8 * threads + tasks - 1) / tasks;
        int most = (l.n + 7) / 8; /* at least 8 filters a part */
        if (j.fparts > most) j.fparts = most;
    }
    /* Few blocks, or a few with output rows not whole cache lines (the threads would share a line in every
     * row at their blocks' edge): each thread takes a set of filters over all positions instead. */
    if (!serial && (tasks < 2 * threads || (P % 16 && tasks < 8 * threads)) && l.n >= 8 * threads) {
        j.fsets = threads;
        j.fparts = (j.fparts + threads - 1) / threads * threads;
        if (j.fparts > l.n) j.fparts = l.n / threads * threads;
    }
    j.units = tasks * j.fparts;
    /* with filter sets each thread first packs the channels it wrote as the layer before */
    j.cparts = j.fsets > 1 && st->cw >= j.parts ? j.parts : 1;
    j.nbw = (size_t)(N * j.pb + ABC_BGEMM_PANEL - 1) / ABC_BGEMM_PANEL * ABC_BGEMM_PANEL * st->words;
    j.kc = l.batch * j.groups;
    j.kp = j.kc + 1;
    int nflags = j.kp + (j.cparts > 1 ? l.batch * j.cparts : 0);

    /* shared buffers: coefficients, the ranges, the ready flags, then the packed images (64-byte aligned) */
    int ncls = st->nrc * st->ncc;
    size_t ncoef = ((size_t)l.n * (M * N + 3 + (M * N == 1 ? ncls : 0)) + 15) & ~(size_t)15;
    size_t nrange = 2 * ABC_STEAL_WORDS(j.parts), nready = ((size_t)nflags + 15) & ~(size_t)15;
    j.plane = (size_t)(l.h + 2 * l.pad) * st->rw;
    size_t nx = j.cparts > 1 ? 0 : ((size_t)l.batch * N * j.plane + 7) & ~(size_t)7;
    size_t npxs = j.cparts > 1 ? (size_t)l.batch * N * l.h * l.w * st->cw : 0;
    float *sh = abc_arena_floats(abc_pool_self(), SLOT_SHARED, ncoef + nrange + nready + 2 * (nx + npxs));
    j.coef = sh;
    j.off = sh + (size_t)l.n * M * N;
    j.bk = j.off + l.n;
    j.shift = j.bk + l.n;
    j.corr = j.shift + l.n;
    j.ranges = (uint64_t *)(void *)(sh + ncoef);
    j.ready = (int *)(void *)(sh + ncoef + nrange);
    uint64_t *bits = (uint64_t *)(void *)(sh + ncoef + nrange + nready);
    j.xw = j.cparts > 1 ? NULL : bits;
    j.pxs = j.cparts > 1 ? bits : NULL;
    abc_steal_init(j.ranges, j.parts, j.units);
    memset(j.ready, 0, (size_t)nflags * sizeof *j.ready);

    if (!serial) abc_pool_run(j.parts, layer_task, &j);
    else layer_task(&j, 0, abc_pool_self());
}
