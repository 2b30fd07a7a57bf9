#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the output-stage loops vectorize */
#endif
/* [hada_convolutional] / [hada_connected] inference path: the same function
 * as the float simulation, computed by the segment GEMM over packed bits
 * (layout: hada_conv_pack.h):
 *   out[f,p] = act(k_f * sum_j Wm[f,j] Am[p,j] (len_j - 2 popcount(Wb[f,j] xor Ab[p,j])) + off_f)
 * with k_f, off_f the batch norm (rolling statistics) or 1, bias.
 *
 * Two pool runs per forward: the pixels of every image (sign bits and
 * segment magnitudes, a range of pixels per task), then the products: an
 * image, a block of positions and a range of filters per task. For the SIMD
 * kernels the pixels go into padded planes (one per segment and field:
 * bits, len*delta_a, -2*delta_a), and a product task's im2col copies runs of
 * consecutive plane entries straight into the kernel's column panels (runs
 * along an output row: one contiguous copy per tap, segment and field); the
 * weights go in the kernel's row panels, built once per packing; the kernel
 * applies batch norm/bias and leaky/relu as it stores into l.output. For the
 * plain kernels the im2col builds rows of the GEMM's layout instead. A layer
 * with one output position (connected layers) and a batch of 8 or more runs
 * one product for a range of images, the images as the kernel's rows and the
 * filters as its columns.
 * On ResNet-18's 56x56x64 3x3 conv the planes and the fused output stage
 * took the layer from 0.62 to 0.31 ms (one thread, AVX-512). */
#include <math.h>
#include <string.h>

#include "base/util.h"
#include "hada_conv_pack.h"
#include "hada_conv_pixels.h"
#include "kernels/act.h"
#include "kernels/arena.h"
#include "kernels/blas_threads.h"
#include "kernels/hgemm_kernels.h"
#include "kernels/pool.h"

/* arena slots: the forward's shared buffers (calling thread) and each task's scratch (the float layers use 0, 1) */
enum { SLOT_SHARED = 2, SLOT_TASK = 3 };
enum { PB = 256 };          /* positions a product task, at most (a multiple of the kernels' 32-column panels) */
#define MIN_SPLIT (1L << 22) /* below this many binary MACs a forward runs on the calling thread alone */

static inline int imin(int a, int b) { return a < b ? a : b; }

typedef struct {
    const layer *l;
    const hada_conv_state *st;
    const float *input;
    const hada_hgemm_kernel *k;
    hada_pack_geom gm;
    const int *ch0, *len; /* a tap's segments */
    const uint8_t *slen;  /* the S segment lengths of a row */
    uint8_t *pbits;       /* batch x HW pixels of gm.bytes */
    float *pmags;         /* batch x HW pixels of gm.Qp */
    const uint32_t *Wp;   /* the weights in the kernel's row panels, or NULL */
    uint32_t *planes;     /* kernels with column panels: per image Qp*(nsub+2) padded planes (hada_conv_pixels.h),
                           * else NULL (then pbits/pmags) */
    size_t hwp;           /* words of a plane */
    int nsub;
    const float *ks, *off;
    int pix_parts, pb, pblocks, fparts, fstep, img_per_task;
} job;

static void pixel_task(void *ctx, int task, int thread)
{
    const job *j = ctx;
    const layer *l = j->l;
    int HW = l->h * l->w, b = task / j->pix_parts, q0, q1;
    abc_split_range(HW, j->pix_parts, task % j->pix_parts, &q0, &q1);
    if (q0 >= q1) return;
    float *scr = abc_arena_floats(thread, SLOT_TASK, hada_pixels_scratch_floats(l->c, j->st->o.ba));
    if (j->planes) {
        hada_pack_pixel_planes(j->input + (size_t)b * l->inputs, l->c, l->h, l->w, l->pad, q0, q1, j->st->o.ba,
                               &j->gm, j->ch0, j->len,
                               j->planes + (size_t)b * j->gm.Qp * (j->nsub + 2) * j->hwp, scr);
        return;
    }
    hada_pack_pixels(j->input + (size_t)b * l->inputs, l->c, HW, q0, q1, j->st->o.ba, &j->gm, j->ch0, j->len,
                     j->pbits + (size_t)b * HW * j->gm.bytes, j->pmags + (size_t)b * HW * j->gm.Qp, scr);
}

/* The kernel's column panels (nr columns, hgemm_kernels.h) for positions [p0, p1) of image b, from the
 * padded planes: along a run of positions of one output row inside one panel, each tap's and segment's
 * fields are consecutive lanes, copied from one row of a plane (every stride-th pixel). */
static void im2col_panels(const job *j, int b, int p0, int p1, uint32_t *P)
{
    const layer *l = j->l;
    const hada_pack_geom *gm = &j->gm;
    int NR = j->k->nr, nf = j->nsub + 2, Qp = gm->Qp, L = p1 - p0, st = l->stride, wp = l->w + 2 * l->pad;
    size_t step = (size_t)nf * NR, pan = hada_hgemm_col_panel_size(gm->S, gm->s, NR), HWp = j->hwp;
    if (L % NR) memset(P + (size_t)(L / NR) * pan, 0, pan * sizeof *P); /* spare lanes of the last panel: 0 */
    const uint32_t *img = j->planes + (size_t)b * Qp * nf * HWp;
    for (int p = p0; p < p1;) {
        int i = p - p0, oy = p / l->out_w, ox = p % l->out_w;
        int run = imin(imin(p1 - p, l->out_w - ox), NR - i % NR);
        uint32_t *d0 = P + (size_t)(i / NR) * pan + i % NR;
        for (int ky = 0; ky < l->size; ++ky)
            for (int kx = 0; kx < l->size; ++kx) {
                size_t at = (size_t)(oy * st + ky) * wp + (size_t)ox * st + kx;
                uint32_t *d = d0 + (size_t)(ky * l->size + kx) * Qp * step;
                for (int f = 0; f < Qp * nf; ++f) { /* plane f = q*nf + field: lanes at d + q*step + field*NR */
                    const uint32_t *restrict src = img + (size_t)f * HWp + at;
                    uint32_t *restrict dst = d + (size_t)(f / nf) * step + (size_t)(f % nf) * NR;
                    if (st == 1)
                        for (int k = 0; k < run; ++k) dst[k] = src[k];
                    else
                        for (int k = 0; k < run; ++k) dst[k] = src[(size_t)k * st];
                }
            }
        p += run;
    }
}

/* Zeroes the border (the padding) of every plane of the batch. */
static void zero_borders(const job *j, int nplanes)
{
    const layer *l = j->l;
    int pad = l->pad, wp = l->w + 2 * pad;
    if (!pad) return;
    for (int k = 0; k < nplanes; ++k) {
        uint32_t *pl = j->planes + (size_t)k * j->hwp;
        memset(pl, 0, (size_t)pad * wp * sizeof *pl);
        memset(pl + (size_t)(pad + l->h) * wp, 0, (size_t)pad * wp * sizeof *pl);
        for (int y = pad; y < pad + l->h; ++y) {
            memset(pl + (size_t)y * wp, 0, (size_t)pad * sizeof *pl);
            memset(pl + (size_t)y * wp + pad + l->w, 0, (size_t)pad * sizeof *pl);
        }
    }
}

/* n bytes (a multiple of 8 when w8) and nq floats: small copies, inlined. */
static inline __attribute__((always_inline)) void copy_tap(uint8_t *restrict r, const uint8_t *restrict b, size_t nb,
                                                           int w8, float *restrict m, const float *restrict pm,
                                                           size_t nq)
{
    if (w8) {
        for (size_t i = 0; i < nb; i += 8) {
            uint64_t v;
            memcpy(&v, b + i, 8);
            memcpy(r + i, &v, 8);
        }
    } else {
        for (size_t i = 0; i < nb; ++i) r[i] = b[i];
    }
    for (size_t i = 0; i < nq; ++i) m[i] = pm[i];
}

/* Rows of the product for positions [p0, p1) of image b: row i at rb + i*words, its magnitudes at rm + i*S. */
static void im2col(const job *j, int b, int p0, int p1, uint64_t *rb, float *rm)
{
    const layer *l = j->l;
    const hada_pack_geom *gm = &j->gm;
    size_t HW = (size_t)l->h * l->w, nb = (size_t)gm->bytes, nq = (size_t)gm->Qp;
    const uint8_t *pb = j->pbits + b * HW * nb;
    const float *pm = j->pmags + b * HW * nq;
    size_t tail = gm->words * 8 - (size_t)j->st->taps * nb;
    int w8 = nb % 8 == 0;
    for (int p = p0; p < p1; ++p) {
        uint8_t *r = (uint8_t *)(void *)(rb + (size_t)(p - p0) * gm->words);
        float *m = rm + (size_t)(p - p0) * gm->S;
        int oy = p / l->out_w, ox = p % l->out_w;
        for (int ky = 0; ky < l->size; ++ky) {
            int iy = oy * l->stride - l->pad + ky;
            for (int kx = 0; kx < l->size; ++kx, r += nb, m += nq) {
                int ix = ox * l->stride - l->pad + kx;
                if (iy < 0 || iy >= l->h || ix < 0 || ix >= l->w) { /* padding: bits 0, magnitude 0 */
                    for (size_t i = 0; i < nb; ++i) r[i] = 0;
                    for (size_t i = 0; i < nq; ++i) m[i] = 0.f;
                } else {
                    size_t px = (size_t)iy * l->w + ix;
                    copy_tap(r, pb + px * nb, nb, w8, m, pm + px * nq, nq);
                }
            }
        }
        for (size_t i = 0; i < tail; ++i) r[i] = 0;
    }
}

/* o[i] = act(o[i] * k + off) over n values with per-value k/off at ks/off + i*stride (stride 0: one filter). */
static void output_stage(float *o, int n, const float *ks, const float *off, int stride, ACTIVATION act)
{
    if (stride)
        for (int i = 0; i < n; ++i) o[i] = o[i] * ks[i] + off[i];
    else
        for (int i = 0; i < n; ++i) o[i] = o[i] * ks[0] + off[0];
    abc_act_row(o, n, act);
}

static void conv_task(void *ctx, int task, int thread)
{
    const job *j = ctx;
    const layer *l = j->l;
    const hada_conv_state *st = j->st;
    const hada_pack_geom *gm = &j->gm;
    int fpart = task % j->fparts, blk = (task / j->fparts) % j->pblocks, b = task / j->fparts / j->pblocks;
    int p0 = blk * j->pb, p1 = imin(st->P, p0 + j->pb), L = p1 - p0;
    int f0 = fpart * j->fstep, f1 = imin(l->n, f0 + j->fstep);
    if (L <= 0 || f0 >= f1) return;
    uint64_t *rb = NULL;
    float *rm = NULL;
    uint32_t *Ap = NULL;
    if (j->planes) {
        int NR = j->k->nr;
        Ap = (uint32_t *)(void *)abc_arena_floats(
            thread, SLOT_TASK, (size_t)(L + NR - 1) / NR * hada_hgemm_col_panel_size(gm->S, gm->s, NR) + 16);
        im2col_panels(j, b, p0, p1, Ap);
    } else {
        float *scr = abc_arena_floats(thread, SLOT_TASK, (size_t)L * (2 * gm->words + gm->S) + 16);
        rb = (uint64_t *)(void *)scr;
        rm = scr + 2 * (size_t)L * gm->words;
        im2col(j, b, p0, p1, rb, rm);
    }
    float *out = l->output + (size_t)b * l->outputs + (size_t)f0 * st->P + p0;
    hada_hgemm_args a = {.M = f1 - f0, .N = L, .S = gm->S, .s = gm->s, .Wb = st->wbits + (size_t)f0 * gm->words,
                         .Wm = st->wmag_g + (size_t)f0 * gm->S, .Ab = rb, .Am = rm, .len = j->slen, .C = out,
                         .ldwb = gm->words, .ldwm = (size_t)gm->S, .ldab = gm->words, .ldam = (size_t)gm->S,
                         .ldc = (size_t)st->P, .Ap = Ap, .scale = j->ks + f0, .shift = j->off + f0};
    ACTIVATION act = l->activation;
    a.act = act == LEAKY ? HADA_ACT_LEAKY : act == RELU ? HADA_ACT_RELU : HADA_ACT_NONE; /* the kernel's output stage */
    if (j->Wp) a.Wp = j->Wp + (size_t)(f0 / j->k->mr) * gm->S * ((gm->s > 32 ? 2 : 1) + 1) * j->k->mr;
    j->k->fn(&a);
    if (act != LEAKY && act != RELU && act != LINEAR) /* the rest of darknet's activations */
        for (int f = f0; f < f1; ++f) abc_act_row(out + (size_t)(f - f0) * st->P, L, act);
}

/* One output position: images [b0, b1) as the kernel's rows, the filters as its columns. */
static void rows_task(void *ctx, int task, int thread)
{
    const job *j = ctx;
    const layer *l = j->l;
    const hada_conv_state *st = j->st;
    const hada_pack_geom *gm = &j->gm;
    int b0 = task * j->img_per_task, b1 = imin(l->batch, b0 + j->img_per_task), nb = b1 - b0;
    if (nb <= 0) return;
    float *scr = abc_arena_floats(thread, SLOT_TASK, (size_t)nb * (2 * gm->words + gm->S) + 16);
    uint64_t *rb = (uint64_t *)(void *)scr;
    float *rm = scr + 2 * (size_t)nb * gm->words;
    for (int b = b0; b < b1; ++b) im2col(j, b, 0, 1, rb + (size_t)(b - b0) * gm->words, rm + (size_t)(b - b0) * gm->S);
    float *out = l->output + (size_t)b0 * l->outputs;
    hada_hgemm_args a = {.M = nb, .N = l->n, .S = gm->S, .s = gm->s, .Wb = rb, .Wm = rm, .Ab = st->wbits,
                         .Am = st->wmag_g, .len = j->slen, .C = out, .ldwb = gm->words, .ldwm = (size_t)gm->S,
                         .ldab = gm->words, .ldam = (size_t)gm->S, .ldc = (size_t)l->outputs};
    j->k->fn(&a);
    for (int b = b0; b < b1; ++b) output_stage(out + (size_t)(b - b0) * l->outputs, l->n, j->ks, j->off, 1, l->activation);
}

static void run(int ntasks, void (*fn)(void *, int, int), job *j, int serial)
{
    if (!serial) {
        abc_pool_run(ntasks, fn, j);
        return;
    }
    int self = abc_pool_self();
    for (int t = 0; t < ntasks; ++t) fn(j, t, self);
}

void hada_conv_forward_packed(layer l, network net)
{
    hada_conv_state *st = hada_conv_st(&l);
    job j;
    memset(&j, 0, sizeof j);
    if (!hada_pack_geometry(l.c, st->taps, &st->o, &j.gm)) abc_die("hada layer: no packed path with activation_segment=1");
    if (!st->packed_valid) hada_conv_pack_weights(&l);
    const hada_pack_geom *gm = &j.gm;
    /* One output position (connected layers): at a batch of 8 or more, images as the kernel's rows and the filters
     * as its columns (their panels built per forward, worth it for that many images); below, as a conv: the
     * filters' cached row panels, one column an image. */
    int HW = l.h * l.w, P = st->P, threads = abc_pool_threads(), one = P == 1 && l.batch >= 8;
    j.l = &l;
    j.st = st;
    j.input = net.input;
    j.k = abc_kernel_chosen(&hada_hgemm_family);
    long work = (long)l.batch * l.n * P * gm->S * gm->piece;
    int serial = threads <= 1 || work < MIN_SPLIT;
    if (!serial) abc_blas_threads(1); /* OpenBLAS workers of float layers stay asleep while the pool runs */

    if (!one) j.Wp = hada_conv_weight_panels(&l, gm, j.k->mr);
    /* shared buffers: tap segments, row lengths, output coefficients, packed pixels */
    size_t nint = 2 * (size_t)gm->Qp, nlen = ((size_t)gm->S + 3) / 4, ncoef = 2 * (size_t)l.n;
    size_t npix = (size_t)l.batch * HW, nbits = (npix * gm->bytes + 3) / 4, nmag = npix * gm->Qp;
    j.nsub = gm->s > 32 ? 2 : 1;
    j.hwp = (size_t)(l.h + 2 * l.pad) * (l.w + 2 * l.pad);
    int nplanes = !one && j.k->nr ? l.batch * gm->Qp * (j.nsub + 2) : 0;
    size_t nppx = (size_t)nplanes * j.hwp;
    if (nplanes) nbits = nmag = 0; /* the planes replace the pixel bits and magnitudes */
    size_t total = nint + nlen + ncoef + nbits + nmag + nppx + 64;
    float *sh = abc_arena_floats(abc_pool_self(), SLOT_SHARED, total);
    int *ints = (int *)(void *)sh;
    uint8_t *slen = (uint8_t *)(void *)(ints + nint);
    float *ks = (float *)(void *)(slen + 4 * nlen), *off = ks + l.n;
    j.pbits = (uint8_t *)(void *)(off + l.n);
    j.pmags = (float *)(void *)(j.pbits + 4 * nbits);
    if (nplanes) {
        j.planes = (uint32_t *)(void *)(j.pmags + nmag);
        zero_borders(&j, nplanes);
    }
    j.ch0 = ints;
    j.len = ints + gm->Qp;
    hada_pack_tap_segments(l.c, gm, ints, ints + gm->Qp);
    for (int t = 0; t < st->taps; ++t)
        for (int q = 0; q < gm->Qp; ++q) slen[t * gm->Qp + q] = (uint8_t)j.len[q];
    j.slen = slen;
    for (int f = 0; f < l.n; ++f) {
        float k = 1, o = l.biases[f];
        if (l.batch_normalize) {
            k = l.scales[f] / (sqrtf(l.rolling_variance[f]) + .000001f);
            o = l.biases[f] - l.rolling_mean[f] * k;
        }
        ks[f] = k;
        off[f] = o;
    }
    j.ks = ks;
    j.off = off;

    j.pix_parts = serial || l.batch >= 2 * threads ? 1 : imin(HW, (4 * threads + l.batch - 1) / l.batch);
    run(l.batch * j.pix_parts, pixel_task, &j, serial);

    if (one) {
        int tasks = serial ? 1 : imin(l.batch, 4 * threads);
        j.img_per_task = (l.batch + tasks - 1) / tasks;
        run((l.batch + j.img_per_task - 1) / j.img_per_task, rows_task, &j, serial);
        return;
    }
    j.pblocks = (P + PB - 1) / PB;
    j.pb = ((P + j.pblocks - 1) / j.pblocks + 31) & ~31; /* even blocks of whole 32-column panels */
    j.pblocks = (P + j.pb - 1) / j.pb;
    j.fparts = 1;
    int tasks = l.batch * j.pblocks;
    if (!serial && tasks < 8 * threads) { /* enough tasks that the last ones balance the threads */
        j.fparts = (8 * threads + tasks - 1) / tasks;
        int most = (l.n + 15) / 16; /* at least 16 filters a part */
        if (j.fparts > most) j.fparts = most;
    }
    j.fstep = ((l.n + j.fparts - 1) / j.fparts + 7) & ~7; /* whole 8-row panels */
    j.fparts = (l.n + j.fstep - 1) / j.fstep;
    run(tasks * j.fparts, conv_task, &j, serial);
}

const char *hada_conv_kernel_name(const layer *l)
{
    (void)l;
    return abc_kernel_chosen_name(&hada_hgemm_family);
}
