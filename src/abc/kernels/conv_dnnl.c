/* oneDNN's bf16 convolutions for the training passes (see conv_dnnl.h).
 *
 * The batch is split across the project's pool, each thread running oneDNN single-threaded on its images:
 * oneDNN's own OpenMP threads would spin on the cores for milliseconds after each call, while the pool's
 * threads need them (resnet18-fmnist, 2 threads: 89 img/s that way, against 119 with them asleep), and
 * libgomp's wait policy cannot be set once it is loaded. Each pool thread (a lane) keeps its own stream, scratch and
 * entries: per shape, the three convolution primitives in the layouts oneDNN chose (format_any: blocked,
 * nChw16c-like) and the reorders from and to darknet's plain tensors around them. Gradients are added by
 * reorders with a sum post-op, so darknet's accumulation (dW over subdivisions, net.delta shared with
 * shortcuts) holds; the first part's weight gradient is added into dW, the others' into their own arrays,
 * added after in part order, so the sums do not depend on which thread ran which part. */
#include "conv_dnnl.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mode.h"
#include "base/util.h"
#include "pool.h"

enum { MAX_OPS = 6, MAX_INTERNAL = 9, MAX_ENTRIES = 32, MAX_LANES = 256, AMX_BWD_W_MAX_WIDTH = 352 };

typedef struct {
    dnnl_primitive_t p;
    int nargs;
    dnnl_exec_arg_t args[3];
} op;

typedef struct {
    op ops[MAX_OPS];
    int n;
} pass;

typedef struct {
    abc_conv_geom g;
    int usable;
    unsigned long last_use;
    /* darknet's tensors: memories without a buffer, pointed at the caller's arrays each call */
    dnnl_memory_t x, w, y, dy, dx, dw;
    dnnl_memory_t internal[MAX_INTERNAL];
    size_t offset[MAX_INTERNAL];
    int ninternal;
    size_t scratch_bytes;
    pass fwd, bwd_data, bwd_weights, dw_add, dw_set; /* bwd_weights, then dw_add (+= into dW) or dw_set */
} entry;

typedef struct {
    entry *entries[MAX_ENTRIES];
    unsigned long uses;
    dnnl_stream_t stream;
    void *scratch;
    size_t scratch_size;
} lane;

static dnnl_engine_t engine;
static int engine_state; /* 0 not tried, 1 ready, -1 failed */
static lane *lanes[MAX_LANES];
static float *partial_dw; /* the weight gradients of parts 1.. (one array each) */
static size_t partial_size;
static char about[128];

static int ok(dnnl_status_t s) { return s == dnnl_success; }

/* Debian's oneDNN runs on OpenMP (libgomp): a lane's thread count (1) is set through libgomp, found at run
 * time so that neither omp.h nor a link against libgomp is needed. The count is the calling thread's own. */
static void set_threads(int n)
{
    static void (*set)(int);
    static int looked;
    if (!looked) {
        *(void **)&set = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
        looked = 1;
    }
    if (set) set(n);
}

static int engine_ready(void)
{
    if (!engine_state) {
        engine_state = ok(dnnl_engine_create(&engine, dnnl_cpu, 0)) ? 1 : -1;
    }
    return engine_state > 0;
}

static void destroy_pass(pass *p)
{
    for (int i = 0; i < p->n; ++i) dnnl_primitive_destroy(p->ops[i].p);
    p->n = 0;
}

static void destroy_entry(entry *e)
{
    if (!e) return;
    destroy_pass(&e->fwd);
    destroy_pass(&e->bwd_data);
    destroy_pass(&e->bwd_weights);
    destroy_pass(&e->dw_add);
    destroy_pass(&e->dw_set);
    dnnl_memory_t plain[] = {e->x, e->w, e->y, e->dy, e->dx, e->dw};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; ++i)
        if (plain[i]) dnnl_memory_destroy(plain[i]);
    for (int i = 0; i < e->ninternal; ++i) dnnl_memory_destroy(e->internal[i]);
    free(e);
}

static int add_op(pass *p, dnnl_primitive_desc_t pd, int a0, dnnl_memory_t m0, int a1, dnnl_memory_t m1, int a2,
                  dnnl_memory_t m2)
{
    if (p->n == MAX_OPS) return 0;
    op *o = &p->ops[p->n];
    if (!ok(dnnl_primitive_create(&o->p, pd))) return 0;
    o->nargs = m2 ? 3 : 2;
    o->args[0] = (dnnl_exec_arg_t){a0, m0};
    o->args[1] = (dnnl_exec_arg_t){a1, m1};
    o->args[2] = (dnnl_exec_arg_t){a2, m2};
    p->n++;
    return 1;
}

/* A tensor of the entry's own, in the scratch buffer (its place is set before each pass). */
static dnnl_memory_t internal(entry *e, const dnnl_memory_desc_t *md)
{
    if (e->ninternal == MAX_INTERNAL) return NULL;
    dnnl_memory_t m;
    if (!ok(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_NONE))) return NULL;
    e->offset[e->ninternal] = e->scratch_bytes;
    e->scratch_bytes += (dnnl_memory_desc_get_size(md) + 63) & ~(size_t)63;
    e->internal[e->ninternal++] = m;
    return m;
}

static int add_reorder(pass *p, dnnl_memory_t from, dnnl_memory_t to, int sum)
{
    const dnnl_memory_desc_t *fmd, *tmd;
    if (!ok(dnnl_memory_get_memory_desc(from, &fmd)) || !ok(dnnl_memory_get_memory_desc(to, &tmd))) return 0;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    int good = 1;
    if (sum) {
        good = ok(dnnl_primitive_attr_create(&attr)) && ok(dnnl_post_ops_create(&po)) &&
               ok(dnnl_post_ops_append_sum(po, 1.f)) && ok(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    dnnl_primitive_desc_t pd = NULL;
    good = good && ok(dnnl_reorder_primitive_desc_create(&pd, fmd, engine, tmd, engine, attr));
    good = good && add_op(p, pd, DNNL_ARG_FROM, from, DNNL_ARG_TO, to, 0, NULL);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return good;
}

/* The conv reads `plain` in layout `want`: plain itself, or a reorder into a tensor of the entry. */
static dnnl_memory_t conv_input(entry *e, pass *p, dnnl_memory_t plain, const dnnl_memory_desc_t *want)
{
    const dnnl_memory_desc_t *have;
    if (!ok(dnnl_memory_get_memory_desc(plain, &have))) return NULL;
    if (dnnl_memory_desc_equal(have, want)) return plain;
    dnnl_memory_t m = internal(e, want);
    return m && add_reorder(p, plain, m, 0) ? m : NULL;
}

/* A conv output in layout `md`, copied (or added: sum) into `plain` by a reorder after the conv. */
static dnnl_memory_t conv_output(entry *e, dnnl_memory_t plain, const dnnl_memory_desc_t *md, int sum)
{
    const dnnl_memory_desc_t *have;
    if (!sum && ok(dnnl_memory_get_memory_desc(plain, &have)) && dnnl_memory_desc_equal(have, md)) return plain;
    return internal(e, md);
}

static int fast_impl(dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    if (!ok(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)) || !impl) return 0;
    return !strstr(impl, "ref") && !strstr(impl, "gemm");
}

static int is_amx(dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return ok(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl)) && impl && strstr(impl, "amx");
}

static int md_init(dnnl_memory_desc_t *md, const dnnl_dims_t dims, dnnl_data_type_t t, dnnl_format_tag_t tag)
{
    return ok(dnnl_memory_desc_init_by_tag(md, 4, dims, t, tag));
}

static int plain_memory(dnnl_memory_t *m, const dnnl_memory_desc_t *md)
{
    return ok(dnnl_memory_create(m, md, engine, DNNL_MEMORY_NONE));
}

static const dnnl_memory_desc_t *md_of(dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* Builds the three passes; 0 where oneDNN has no fast kernel or fails. */
static int build(entry *e)
{
    const abc_conv_geom *g = &e->g;
    dnnl_dims_t src_d = {g->batch, g->c, g->h, g->w}, wei_d = {g->n, g->c, g->size, g->size},
                dst_d = {g->batch, g->n, g->out_h, g->out_w};
    dnnl_dims_t strides = {g->stride, g->stride}, pad_l = {g->pad, g->pad},
                pad_r = {(g->out_h - 1) * g->stride + g->size - g->h - g->pad,
                         (g->out_w - 1) * g->stride + g->size - g->w - g->pad};
    if (pad_r[0] < 0 || pad_r[1] < 0) return 0;
    dnnl_memory_desc_t src, wei, dst, ddst, dsrc, dwei, psrc, pwei, pdst;
    const dnnl_format_tag_t any = dnnl_format_tag_any;
    if (!md_init(&src, src_d, dnnl_bf16, any) || !md_init(&wei, wei_d, dnnl_bf16, any) ||
        !md_init(&dst, dst_d, dnnl_f32, any) || !md_init(&ddst, dst_d, dnnl_bf16, any) ||
        !md_init(&dsrc, src_d, dnnl_f32, any) || !md_init(&dwei, wei_d, dnnl_f32, any) ||
        !md_init(&psrc, src_d, dnnl_f32, dnnl_nchw) || !md_init(&pwei, wei_d, dnnl_f32, dnnl_oihw) ||
        !md_init(&pdst, dst_d, dnnl_f32, dnnl_nchw))
        return 0;
    if (!plain_memory(&e->x, &psrc) || !plain_memory(&e->w, &pwei) || !plain_memory(&e->y, &pdst) ||
        !plain_memory(&e->dy, &pdst) || !plain_memory(&e->dx, &psrc) || !plain_memory(&e->dw, &pwei))
        return 0;

    dnnl_convolution_desc_t fd, bd, bw;
    dnnl_primitive_desc_t fpd = NULL, bdpd = NULL, bwpd = NULL;
    int good = ok(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei,
                                                     NULL, &dst, strides, pad_l, pad_r)) &&
               ok(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL)) &&
               ok(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &dsrc, &wei, &ddst, strides,
                                                           pad_l, pad_r)) &&
               ok(dnnl_primitive_desc_create(&bdpd, &bd, NULL, engine, fpd)) &&
               ok(dnnl_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &src, &dwei, NULL, &ddst,
                                                              strides, pad_l, pad_r)) &&
               ok(dnnl_primitive_desc_create(&bwpd, &bw, NULL, engine, fpd));
    /* oneDNN 2.6's AMX backward-weights kernel is wrong for outputs wider than 352 */
    good = good && fast_impl(fpd) && fast_impl(bdpd) && fast_impl(bwpd) &&
           !(is_amx(bwpd) && g->out_w > AMX_BWD_W_MAX_WIDTH);
    if (good) {
        dnnl_memory_t xs = conv_input(e, &e->fwd, e->x, md_of(fpd, dnnl_query_src_md));
        dnnl_memory_t ws = conv_input(e, &e->fwd, e->w, md_of(fpd, dnnl_query_weights_md));
        dnnl_memory_t ys = conv_output(e, e->y, md_of(fpd, dnnl_query_dst_md), 0);
        good = xs && ws && ys && add_op(&e->fwd, fpd, DNNL_ARG_SRC, xs, DNNL_ARG_WEIGHTS, ws, DNNL_ARG_DST, ys) &&
               (ys == e->y || add_reorder(&e->fwd, ys, e->y, 0));
    }
    dnnl_memory_t dys = NULL;
    if (good) {
        dnnl_memory_t xs = conv_input(e, &e->bwd_weights, e->x, md_of(bwpd, dnnl_query_src_md));
        dys = conv_input(e, &e->bwd_weights, e->dy, md_of(bwpd, dnnl_query_diff_dst_md));
        dnnl_memory_t dws = conv_output(e, e->dw, md_of(bwpd, dnnl_query_diff_weights_md), 1);
        good = xs && dys && dws &&
               add_op(&e->bwd_weights, bwpd, DNNL_ARG_SRC, xs, DNNL_ARG_DIFF_DST, dys, DNNL_ARG_DIFF_WEIGHTS, dws) &&
               add_reorder(&e->dw_add, dws, e->dw, 1) && add_reorder(&e->dw_set, dws, e->dw, 0);
    }
    if (good) {
        /* backward data runs right after backward weights: the gradient it reordered serves again */
        const dnnl_memory_desc_t *want = md_of(bdpd, dnnl_query_diff_dst_md), *have = NULL;
        if (!dys || !ok(dnnl_memory_get_memory_desc(dys, &have)) || !dnnl_memory_desc_equal(have, want))
            dys = conv_input(e, &e->bwd_data, e->dy, want);
        dnnl_memory_t ws = conv_input(e, &e->bwd_data, e->w, md_of(bdpd, dnnl_query_weights_md));
        int add = g->size > 1; /* darknet adds a kernel's input gradient into net.delta, but a 1x1's overwrites it */
        dnnl_memory_t dxs = conv_output(e, e->dx, md_of(bdpd, dnnl_query_diff_src_md), add);
        good = dys && ws && dxs &&
               add_op(&e->bwd_data, bdpd, DNNL_ARG_DIFF_DST, dys, DNNL_ARG_WEIGHTS, ws, DNNL_ARG_DIFF_SRC, dxs) &&
               (dxs == e->dx || add_reorder(&e->bwd_data, dxs, e->dx, add));
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (bdpd) dnnl_primitive_desc_destroy(bdpd);
    if (bwpd) dnnl_primitive_desc_destroy(bwpd);
    return good;
}

static lane *lane_of(int thread)
{
    if (!lanes[thread]) {
        lane *ln = abc_xmalloc(sizeof *ln);
        memset(ln, 0, sizeof *ln);
        if (!ok(dnnl_stream_create(&ln->stream, engine, dnnl_stream_default_flags)))
            abc_die("oneDNN: cannot make a stream");
        lanes[thread] = ln;
    }
    return lanes[thread];
}

/* The lane's entry for shape g, built on first use (single-threaded: oneDNN splits the work when it builds a
 * kernel); a new shape (darknet's random= resizes) takes the place of the least recently used. */
static entry *find(lane *ln, const abc_conv_geom *g)
{
    int oldest = 0;
    for (int i = 0; i < MAX_ENTRIES; ++i) {
        entry *e = ln->entries[i];
        if (e && !memcmp(&e->g, g, sizeof *g)) {
            e->last_use = ++ln->uses;
            return e;
        }
        if (!e || (ln->entries[oldest] && e->last_use < ln->entries[oldest]->last_use)) oldest = i;
    }
    destroy_entry(ln->entries[oldest]);
    entry *e = abc_xmalloc(sizeof *e);
    memset(e, 0, sizeof *e);
    e->g = *g;
    e->last_use = ++ln->uses;
    set_threads(1);
    e->usable = build(e);
    if (!e->usable) { /* keep the verdict, drop the parts */
        entry verdict = {.g = *g, .last_use = e->last_use};
        destroy_entry(e);
        e = abc_xmalloc(sizeof *e);
        *e = verdict;
    }
    ln->entries[oldest] = e;
    return e;
}

/* The images of part `part` of `parts`, and their shape. */
static abc_conv_geom part_of(const abc_conv_geom *g, int parts, int part, int *b0)
{
    int b1;
    abc_split_range(g->batch, parts, part, b0, &b1);
    abc_conv_geom p = *g;
    p.batch = b1 - *b0;
    return p;
}

static int parts_for(const abc_conv_geom *g)
{
    int t = abc_pool_threads();
    return t < g->batch ? t : g->batch;
}

int abc_dnnl_conv_usable(const abc_conv_geom *g)
{
    if (abc_mode_choice(ABC_MODE_TRAIN_CONV) == ABC_TRAIN_CONV_OWN || !engine_ready()) return 0;
    int parts = parts_for(g), b0;
    abc_conv_geom most = part_of(g, parts, 0, &b0), least = part_of(g, parts, parts - 1, &b0);
    lane *ln = lane_of(0);
    return find(ln, &most)->usable && find(ln, &least)->usable;
}

static void run(lane *ln, entry *e, pass *p)
{
    if (e->scratch_bytes > ln->scratch_size) {
        free(ln->scratch);
        ln->scratch = NULL;
        if (posix_memalign(&ln->scratch, 64, e->scratch_bytes)) abc_die("out of memory (oneDNN convolution tensors)");
        ln->scratch_size = e->scratch_bytes;
    }
    for (int i = 0; i < e->ninternal; ++i)
        if (!ok(dnnl_memory_set_data_handle(e->internal[i], (char *)ln->scratch + e->offset[i])))
            abc_die("oneDNN: cannot place a tensor of a %dx%dx%d convolution", e->g.c, e->g.h, e->g.w);
    set_threads(1);
    for (int i = 0; i < p->n; ++i)
        if (!ok(dnnl_primitive_execute(p->ops[i].p, ln->stream, p->ops[i].nargs, p->ops[i].args)))
            abc_die("oneDNN: a pass of a %dx%dx%d -> %d convolution failed", e->g.c, e->g.h, e->g.w, e->g.n);
    if (!ok(dnnl_stream_wait(ln->stream))) abc_die("oneDNN: the stream failed");
}

static void point(dnnl_memory_t m, const void *data)
{
    if (!ok(dnnl_memory_set_data_handle(m, (void *)data))) abc_die("oneDNN: cannot point a tensor at its array");
}

static entry *ready(lane *ln, const abc_conv_geom *g)
{
    entry *e = find(ln, g);
    if (!e->usable) abc_die("oneDNN: a %dx%dx%d -> %d convolution it cannot run", g->c, g->h, g->w, g->n);
    return e;
}

typedef struct {
    const abc_conv_geom *g;
    int parts;
    const float *in, *w, *dout;
    float *out, *dw, *din;
} conv_job;

static void forward_task(void *ctx, int task, int thread)
{
    const conv_job *j = ctx;
    int b0;
    abc_conv_geom p = part_of(j->g, j->parts, task, &b0);
    lane *ln = lane_of(thread);
    entry *e = ready(ln, &p);
    point(e->x, j->in + (size_t)b0 * p.c * p.h * p.w);
    point(e->w, j->w);
    point(e->y, j->out + (size_t)b0 * p.n * p.out_h * p.out_w);
    run(ln, e, &e->fwd);
}

static void backward_task(void *ctx, int task, int thread)
{
    const conv_job *j = ctx;
    int b0;
    abc_conv_geom p = part_of(j->g, j->parts, task, &b0);
    size_t nw = (size_t)p.n * p.c * p.size * p.size;
    lane *ln = lane_of(thread);
    entry *e = ready(ln, &p);
    point(e->x, j->in + (size_t)b0 * p.c * p.h * p.w);
    point(e->w, j->w);
    point(e->dy, j->dout + (size_t)b0 * p.n * p.out_h * p.out_w);
    point(e->dw, task ? partial_dw + (task - 1) * nw : j->dw);
    run(ln, e, &e->bwd_weights);
    run(ln, e, task ? &e->dw_set : &e->dw_add);
    if (!j->din) return;
    point(e->dx, j->din + (size_t)b0 * p.c * p.h * p.w);
    run(ln, e, &e->bwd_data);
}

void abc_dnnl_conv_forward(const abc_conv_geom *g, const float *in, const float *w, float *out)
{
    conv_job j = {g, parts_for(g), in, w, NULL, out, NULL, NULL};
    abc_pool_run(j.parts, forward_task, &j);
}

void abc_dnnl_conv_backward(const abc_conv_geom *g, const float *in, const float *w, const float *dout, float *dw,
                            float *din)
{
    conv_job j = {g, parts_for(g), in, w, dout, NULL, dw, din};
    size_t nw = (size_t)g->n * g->c * g->size * g->size, need = nw * (size_t)(j.parts - 1);
    if (need > partial_size) {
        free(partial_dw);
        partial_dw = abc_xmalloc(need * sizeof(float));
        partial_size = need;
    }
    abc_pool_run(j.parts, backward_task, &j);
    for (int t = 1; t < j.parts; ++t) {
        const float *p = partial_dw + (size_t)(t - 1) * nw;
        for (size_t i = 0; i < nw; ++i) dw[i] += p[i];
    }
}

const char *abc_dnnl_conv_about(void)
{
    const dnnl_version_t *v = dnnl_version();
    const char *isa = "";
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: isa = "AMX"; break;
    case dnnl_cpu_isa_avx512_core_bf16: isa = "AVX512-BF16"; break;
    default: isa = "no bf16 kernels on this CPU"; break;
    }
    snprintf(about, sizeof about, "oneDNN %d.%d.%d (%s)", v->major, v->minor, v->patch, isa);
    return about;
}
