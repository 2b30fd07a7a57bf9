#include "dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abc/base/rng.h"
#include "abc/base/util.h"

#ifndef ABC_NO_MPI

#include <math.h>
#include <mpi.h>

#include "abc/netio.h"
#include "abc/registry.h"
#include "abc/train_state.h"

/* Gradients are fused into buckets of this many bytes (ABC_MPI_BUCKET_MB), each reduced as soon as backward
 * has filled it; an array at least this large is reduced where it lies. */
#define BUCKET_MB_DEFAULT 8
#define MAX_REQUESTS 4096

typedef struct {
    float *v;
    size_t n;
    size_t at; /* offset in the fusion buffer; (size_t)-1: reduced in place */
    float keep; /* statistics: the share of the old value a training forward keeps (0: averaged) */
} slot;

static struct {
    int ready, world, rank, overlap;
    size_t bucket_floats;
    slot *grads, *stats;
    int ngrads, nstats;
    int *first_grad; /* per layer + 1: its slots are first_grad[i] .. first_grad[i + 1] - 1 */
    float *fused, *fused_stats, *stats_before;
    size_t nfused, nfused_stats;
    /* the iteration's reduction */
    MPI_Request req[MAX_REQUESTS];
    int nreq;
    size_t bucket_start, cursor;
    uint64_t bytes;
    double waited, stepped; /* seconds in MPI waits after backward, and in whole iterations */
    int steps;
} g = {.world = 1, .overlap = 1};

static void mpi_check(int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "darknet: error: rank %d: %s failed: %s; the run ends (the last checkpoint is kept)\n", g.rank,
            what, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

const char *abc_dist_about(void)
{
    static char about[MPI_MAX_LIBRARY_VERSION_STRING + 96];
    if (about[0]) return about;
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    v[strcspn(v, ",\n")] = 0;
    snprintf(about, sizeof about, "%s (mpirun -np N ./darknet classifier|detector train ...)", v);
    return about;
}

void abc_dist_init(void)
{
    if (g.ready) return;
    g.ready = 1;
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size || atoi(size) < 2) return;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        abc_die("MPI_Init failed: cannot join the %s ranks mpirun started", size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_size(MPI_COMM_WORLD, &g.world);
    MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
    const char *mb = getenv("ABC_MPI_BUCKET_MB");
    double m = mb && *mb ? atof(mb) : BUCKET_MB_DEFAULT;
    if (!(m >= 0.001 && m <= 4096)) abc_die("ABC_MPI_BUCKET_MB=%s: must be a size in MB between 0.001 and 4096", mb);
    g.bucket_floats = (size_t)(m * 1048576.0 / sizeof(float));
    const char *ov = getenv("ABC_MPI_OVERLAP");
    if (ov && *ov && strcmp(ov, "0") && strcmp(ov, "1")) abc_die("ABC_MPI_OVERLAP=%s: must be 0 or 1", ov);
    g.overlap = !(ov && !strcmp(ov, "0"));
}

int abc_dist_world(void) { return g.world; }
int abc_dist_rank(void) { return g.rank; }

uint64_t abc_dist_bcast_u64(uint64_t v)
{
    if (g.world > 1) mpi_check(MPI_Bcast(&v, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
    return v;
}

static void bcast_bytes(char *p, size_t n)
{
    for (size_t at = 0; at < n;) {
        int part = n - at > (1u << 30) ? 1 << 30 : (int)(n - at);
        mpi_check(MPI_Bcast(p + at, part, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast of the weights");
        at += (size_t)part;
    }
}

/* Rank 0's weights (every layer's .weights record) and seen on every rank. */
static void share_weights(network *net, const char *cfg)
{
    char *buf = NULL;
    size_t n = 0;
    if (g.rank == 0) {
        FILE *fp = open_memstream(&buf, &n);
        if (!fp) abc_die("out of memory for the weights rank 0 sends");
        for (int i = 0; i < net->n; ++i)
            if (abc_layer_record_write(&net->layers[i], fp)) abc_die("%s: cannot serialise layer %d", cfg, i);
        fclose(fp);
    }
    n = (size_t)abc_dist_bcast_u64(n);
    if (g.rank) buf = abc_xmalloc(n ? n : 1);
    bcast_bytes(buf, n);
    if (g.rank) {
        FILE *fp = fmemopen(buf, n, "rb");
        if (!fp) abc_die("cannot read the weights rank 0 sent");
        for (int i = 0; i < net->n; ++i)
            if (abc_layer_record_read(&net->layers[i], fp))
                abc_die("%s: layer %d: the weights rank 0 sent do not fit this rank's network (another cfg?)", cfg, i);
        fclose(fp);
    }
    free(buf);
    *net->seen = (size_t)abc_dist_bcast_u64(*net->seen);
}

/* The slots of every layer's arrays; the small ones get places in a fusion buffer. */
static slot *collect(network *net, int grads, int *count, size_t *nfused, int *first)
{
    slot *s = abc_xmalloc(sizeof(slot) * ((size_t)net->n * ABC_TRAIN_MAX_ARRAYS + 1));
    int k = 0;
    size_t at = 0;
    abc_state_floats a[ABC_TRAIN_MAX_ARRAYS];
    float keep[ABC_TRAIN_MAX_ARRAYS] = {0};
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (first) first[i] = k;
        int m = grads ? abc_train_grad_arrays(l, a) : abc_train_stat_arrays(l, a, keep);
        if (m < 0)
            abc_die("layer %d (%s): data-parallel training does not know where its gradients are; train it in one "
                    "process", i, abc_layer_name(l));
        for (int j = 0; j < m; ++j) {
            if (!a[j].n) continue;
            int own = grads && a[j].n >= g.bucket_floats;
            s[k++] = (slot){a[j].v, a[j].n, own ? (size_t)-1 : at, grads ? 0 : keep[j]};
            if (!own) at += a[j].n;
        }
    }
    if (first) first[net->n] = k;
    *count = k;
    *nfused = at;
    return s;
}

void abc_dist_prepare(network *net, const char *cfg)
{
    if (g.world < 2) return;
    free(g.grads), free(g.stats), free(g.first_grad), free(g.fused), free(g.fused_stats), free(g.stats_before);
    g.first_grad = abc_xmalloc(sizeof(int) * ((size_t)net->n + 1));
    g.grads = collect(net, 1, &g.ngrads, &g.nfused, g.first_grad);
    g.stats = collect(net, 0, &g.nstats, &g.nfused_stats, NULL);
    g.fused = abc_xmalloc(sizeof(float) * (g.nfused ? g.nfused : 1));
    g.fused_stats = abc_xmalloc(sizeof(float) * (g.nfused_stats ? g.nfused_stats : 1));
    g.stats_before = abc_xmalloc(sizeof(float) * (g.nfused_stats ? g.nfused_stats : 1));
    if (g.ngrads + 2 > MAX_REQUESTS) abc_die("%s: too many trainable arrays (%d) for one reduction", cfg, g.ngrads);
    g.bytes = 0;
    for (int i = 0; i < g.ngrads; ++i) g.bytes += g.grads[i].n * sizeof(float);
    g.bytes += (g.nfused_stats + 2) * sizeof(float);
    share_weights(net, cfg);
    net->subdivisions *= g.world;
}

void abc_dist_report(FILE *fp)
{
    if (g.world < 2 || !g.steps) return;
    fprintf(fp, "%d ranks: each reduced %.2f MB per iteration (%s), %.1f ms per iteration after backward waiting on "
            "it (%.1f%% of the iteration)\n", g.world, g.bytes / 1e6, g.overlap ? "overlapping backward" : "after backward",
            1e3 * g.waited / g.steps, 100 * g.waited / (g.stepped > 0 ? g.stepped : 1));
}

static void start(float *v, size_t n)
{
    if (!n) return;
    if (n > (size_t)1 << 30) abc_die("one gradient array of %zu floats is beyond one MPI call", n);
    mpi_check(MPI_Iallreduce(MPI_IN_PLACE, v, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &g.req[g.nreq++]),
              "MPI_Iallreduce of the gradients");
}

static void flush_bucket(void)
{
    start(g.fused + g.bucket_start, g.cursor - g.bucket_start);
    g.bucket_start = g.cursor;
}

/* Layer i's gradients are final: into the bucket (reduced when full), or reduced where they lie. */
static void layer_done(int i)
{
    for (int k = g.first_grad[i]; k < g.first_grad[i + 1]; ++k) {
        slot *s = &g.grads[k];
        if (s->at == (size_t)-1) {
            start(s->v, s->n);
            continue;
        }
        /* the slots of layers later in the network come first in the buffer's order of filling */
        memcpy(g.fused + g.cursor, s->v, s->n * sizeof(float));
        s->at = g.cursor;
        g.cursor += s->n;
        if (g.cursor - g.bucket_start >= g.bucket_floats) flush_bucket();
    }
}

static void progress(void)
{
    int done;
    if (g.nreq) mpi_check(MPI_Testall(g.nreq, g.req, &done, MPI_STATUSES_IGNORE), "MPI_Testall");
}

/* darknet's backward over the layers, last to first, handing each layer's gradients to the reduction as soon as
 * they are final. */
static void backward_reducing(network *netp)
{
    network net = *netp, orig = *netp;
    int i = net.n - 1;
    for (; i >= 0; --i) {
        layer l = net.layers[i];
        if (l.stopbackward) break;
        if (i == 0) {
            net = orig;
        } else {
            net.input = net.layers[i - 1].output;
            net.delta = net.layers[i - 1].delta;
        }
        net.index = i;
        l.backward(l, net);
        layer_done(i);
        progress();
    }
    for (; i >= 0; --i) layer_done(i); /* below a stopbackward: nothing added, reduced all the same */
}

static void reduce_finish(void)
{
    flush_bucket();
    mpi_check(MPI_Waitall(g.nreq, g.req, MPI_STATUSES_IGNORE), "MPI_Waitall (gradients)");
    g.nreq = 0;
    for (int k = 0; k < g.ngrads; ++k)
        if (g.grads[k].at != (size_t)-1) memcpy(g.grads[k].v, g.fused + g.grads[k].at, g.grads[k].n * sizeof(float));
}

/* The statistics as one process would have them after training the world's n x world parts in rank order:
 * a rolling average s <- keep s + (1 - keep) x over rank r's n parts left keep^n s0 + x_r, and in one process
 * x_r would be kept keep^(n (world - 1 - r)) times more. Others (keep 0) are averaged. */
static void merge_stats(int n)
{
    if (!g.nstats) return;
    for (int k = 0; k < g.nstats; ++k) {
        slot *s = &g.stats[k];
        float *f = g.fused_stats + s->at, *b = g.stats_before + s->at;
        if (s->keep > 0) {
            float own = powf(s->keep, (float)n), later = powf(s->keep, (float)(n * (g.world - 1 - g.rank)));
            for (size_t j = 0; j < s->n; ++j) f[j] = later * (s->v[j] - own * b[j]);
        } else {
            memcpy(f, s->v, s->n * sizeof(float));
        }
    }
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, g.fused_stats, (int)g.nfused_stats, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce of the statistics");
    for (int k = 0; k < g.nstats; ++k) {
        slot *s = &g.stats[k];
        const float *f = g.fused_stats + s->at, *b = g.stats_before + s->at;
        float all = powf(s->keep, (float)(n * g.world)), inv = 1.0f / (float)g.world;
        for (size_t j = 0; j < s->n; ++j) s->v[j] = s->keep > 0 ? all * b[j] + f[j] : f[j] * inv;
    }
}

float abc_dist_train(network *net, data d, int *stop)
{
    int b = net->batch, n = d.X.rows / b;
    if (n < 1 || d.X.rows % b) abc_die("a batch of %d images does not split into batches of %d", d.X.rows, b);
    /* The sum below carries rank 0's momentum once: the others add their gradients to zeros. */
    if (g.rank)
        for (int k = 0; k < g.ngrads; ++k) memset(g.grads[k].v, 0, g.grads[k].n * sizeof(float));
    double t0 = abc_now();
    size_t seen0 = *net->seen, world_batch = (size_t)n * b * g.world;
    for (int k = 0; k < g.nstats; ++k) memcpy(g.stats_before + g.stats[k].at, g.stats[k].v, g.stats[k].n * sizeof(float));
    double loss = 0;
    g.cursor = g.bucket_start = 0;
    for (int i = 0; i < n; ++i) {
        get_next_batch(d, b, i * b, net->input, net->truth);
        /* as in one process, this part being part rank * n + i of the world's batch */
        *net->seen = seen0 + ((size_t)g.rank * n + i + 1) * b;
        net->train = 1;
        forward_network(net);
        if (i == n - 1 && g.overlap) backward_reducing(net);
        else backward_network(net);
        loss += *net->cost;
    }
    double t1 = abc_now();
    if (!g.overlap)
        for (int i = net->n - 1; i >= 0; --i) layer_done(i);
    reduce_finish();
    double small[2] = {loss, *stop ? 1 : 0};
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, small, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    double t2 = abc_now();
    *net->seen = seen0 + world_batch;
    update_network(net);
    double t3 = abc_now();
    merge_stats(n);
    double t4 = abc_now();
    g.waited += (t2 - t1) + (t4 - t3);
    g.stepped += t4 - t0;
    ++g.steps;
    *stop = small[1] > 0;
    return (float)(small[0] / (double)world_batch);
}

void abc_dist_finish(void)
{
    int done = 0;
    if (g.world < 2 || (MPI_Finalized(&done), done)) return;
    MPI_Finalize();
}

#else /* built without Open MPI (make MPI=0) */

void abc_dist_init(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (size && atoi(size) > 1)
        abc_die("this ./darknet was built without Open MPI (make MPI=0): it cannot join the %s ranks mpirun "
                "started; rebuild with `make` where libopenmpi-dev is installed",
                size);
}
const char *abc_dist_about(void) { return "not built (make MPI=0)"; }
int abc_dist_world(void) { return 1; }
int abc_dist_rank(void) { return 0; }
uint64_t abc_dist_bcast_u64(uint64_t v) { return v; }
void abc_dist_prepare(network *net, const char *cfg) { (void)net, (void)cfg; }
float abc_dist_train(network *net, data d, int *stop)
{
    (void)stop;
    return train_network(net, d);
}
void abc_dist_report(FILE *fp) { (void)fp; }
void abc_dist_finish(void) {}

#endif

/* What ranks > 0 print while they build the network (the layer table rank 0 prints too): held in a temporary
 * file, and shown only if the rank exits before abc_dist_quiet_end (its error line then reaches the user). */
static FILE *held;
static int saved_fd = -1;

static void show_held(void)
{
    if (!held) return;
    fflush(stderr);
    dup2(saved_fd, 2);
    rewind(held);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, held)) > 0) fwrite(buf, 1, n, stderr);
    fclose(held);
    held = NULL;
}

void abc_dist_quiet_begin(void)
{
    if (abc_dist_rank() == 0 || held) return;
    fflush(stderr);
    held = tmpfile();
    saved_fd = held ? dup(2) : -1;
    if (saved_fd < 0 || dup2(fileno(held), 2) < 0) {
        if (held) fclose(held);
        held = NULL;
        return;
    }
    static int registered;
    if (!registered++) atexit(show_held);
}

void abc_dist_quiet_end(void)
{
    if (!held) return;
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    saved_fd = -1;
    fclose(held);
    held = NULL;
}

unsigned abc_dist_batch_seed(uint64_t seed, int it)
{
    return (unsigned)abc_mix64(abc_mix64(seed ^ 0x5157a11ull) + ((uint64_t)abc_dist_rank() << 32) + (uint64_t)it);
}
