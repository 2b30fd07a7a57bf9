/* Fashion-MNIST -> darknet classifier layout. Darknet finds an image's class
 * by strstr(path, label), so labels are chosen (and checked) so that none is
 * inside another or inside the output path. */
#include "fmnist.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "abc/base/files.h"
#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "darknet.h"
#include "idx.h"

#define SRC_DIR "/usr/share/datasets/fashion-mnist"
#define STAMP ".complete"

static const char *const labels[10] = {"Tshirt", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal", "Shirt",  "Sneaker",  "Bag",   "Ankleboot"};

typedef struct {
    const char *name; /* "train" or "test" */
    const char *images, *labels;
    abc_idx im, lab;
} fm_set;

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) abc_die("out of memory");
    va_end(ap);
    return s;
}

/* Absolute form of out (its parent is created and resolved). */
static char *absolute_out(const char *out)
{
    char *copy = abc_xstrdup(out);
    size_t n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') copy[--n] = 0;
    char *slash = strrchr(copy, '/');
    const char *parent = slash ? (slash == copy ? "/" : copy) : ".";
    const char *base = slash ? slash + 1 : copy;
    if (slash && slash != copy) *slash = 0;
    if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) abc_die("-out '%s': name a directory to create", out);
    if (abc_mkdirs(parent)) abc_die("cannot create directory '%s': %s", parent, strerror(errno));
    char real[PATH_MAX];
    if (!realpath(parent, real)) abc_die("cannot resolve '%s': %s", parent, strerror(errno));
    char *abs = xasprintf("%s/%s", strcmp(real, "/") ? real : "", base);
    free(copy);
    return abs;
}

static void check_labels(const char *abs_out)
{
    for (int i = 0; i < 10; ++i) {
        for (int j = 0; j < 10; ++j)
            if (i != j && strstr(labels[j], labels[i]))
                abc_die("label '%s' is part of label '%s': darknet could not tell them apart", labels[i], labels[j]);
        if (strstr(abs_out, labels[i]))
            abc_die("output directory '%s' contains the label '%s': darknet matches labels anywhere in an image "
                    "path, choose another -out", abs_out, labels[i]);
        if (strlen(abs_out) > 200) abc_die("output directory '%s' is too long (libdarknet copies paths into 256 bytes)", abs_out);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Leftovers of runs that were killed: <abs_out>.tmp.<pid> of dead pids. */
static void remove_stale_temps(const char *abs_out)
{
    char *dir = abc_xstrdup(abs_out);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    const char *base = slash + 1;
    size_t bl = strlen(base);
    DIR *d = opendir(*dir ? dir : "/");
    if (!d) { free(dir); return; }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, base, bl) || (strncmp(e->d_name + bl, ".tmp.", 5) && strncmp(e->d_name + bl, ".old.", 5)))
            continue;
        long pid = strtol(e->d_name + bl + 5, NULL, 10);
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue;
        char *p = xasprintf("%s/%s", dir, e->d_name);
        remove_tree(p);
        free(p);
    }
    closedir(d);
    free(dir);
}

/* ---- conversion, on a few threads ---- */

typedef struct {
    const fm_set *set;
    const char *dir; /* temp dir of this set */
    int next, done, failed;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    const abc_idx *im = &j->set->im;
    image img = make_image(im->w, im->h, 1);
    char path[512];
    for (;;) {
        int i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        if (i >= im->n || __atomic_load_n(&j->failed, __ATOMIC_RELAXED)) break;
        const unsigned char *px = im->data + (size_t)i * im->w * im->h;
        /* +0.5: libdarknet writes (unsigned char)(255*v), which truncates. */
        for (int k = 0; k < im->w * im->h; ++k) img.data[k] = (px[k] + 0.5f) / 255.f;
        snprintf(path, sizeof path, "%s/%05d_%s", j->dir, i, labels[j->set->lab.data[i]]);
        save_image_options(img, path, PNG, 0); /* appends ".png" */
        strcat(path, ".png");
        if (!abc_file_exists(path)) __atomic_store_n(&j->failed, i + 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&j->done, 1, __ATOMIC_RELAXED);
    }
    free_image(img);
    return NULL;
}

static void convert(const fm_set *s, const char *dir, const char *tmp_root)
{
    job j = {s, dir, 0, 0, 0};
    int nt = abc_get_threads();
    if (nt > 16) nt = 16;
    pthread_t th[16];
    for (int t = 0; t < nt; ++t)
        if (pthread_create(&th[t], NULL, worker, &j)) abc_die("cannot start a thread");
    double t0 = abc_now(), last = t0;
    while (__atomic_load_n(&j.done, __ATOMIC_RELAXED) < s->im.n && !__atomic_load_n(&j.failed, __ATOMIC_RELAXED)) {
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        double now = abc_now();
        int done = __atomic_load_n(&j.done, __ATOMIC_RELAXED);
        if (now - last < 1.0 || done == 0) continue;
        last = now;
        double eta = (now - t0) / done * (s->im.n - done);
        fprintf(stderr, "  %s: %d/%d images (%.0f%%), %.0f s, ETA %.0f s\n", s->name, done, s->im.n,
                100.0 * done / s->im.n, now - t0, eta);
    }
    for (int t = 0; t < nt; ++t) pthread_join(th[t], NULL);
    if (j.failed) {
        remove_tree(tmp_root);
        abc_die("writing PNG %d of the %s set under '%s' failed (disk full?)", j.failed - 1, s->name, dir);
    }
    double dt = abc_now() - t0;
    fprintf(stderr, "  %s: %d images in %.1f s (%.0f images/s)\n", s->name, s->im.n, dt, s->im.n / (dt > 0 ? dt : 1));
}

/* ---- small text files ---- */

static void write_text(const char *path, const char *text)
{
    abc_atomic_file f;
    if (abc_atomic_open(&f, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    fputs(text, f.fp);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", path);
}

static void write_list(const char *path, const fm_set *s, const char *abs_out)
{
    abc_atomic_file f;
    if (abc_atomic_open(&f, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    for (int i = 0; i < s->im.n; ++i)
        fprintf(f.fp, "%s/%s/%05d_%s.png\n", abs_out, s->name, i, labels[s->lab.data[i]]);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", path);
}

static char *data_text(const char *prefix)
{
    return xasprintf("classes=10\ntrain=%s/train.list\nvalid=%s/test.list\nlabels=%s/labels.txt\nbackup=backup/\ntop=2\n",
                     prefix, prefix, prefix);
}

static char *read_small(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    char *buf = abc_xcalloc(4096, 1);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

/* cfg/fashion-mnist.data, paths relative to the repository root. */
static void write_repo_data_file(void)
{
    char *want = data_text(ABC_FMNIST_DIR);
    char *have = read_small(ABC_FMNIST_DATA);
    if (!have || strcmp(have, want)) {
        if (abc_mkdirs("cfg")) abc_die("cannot create directory 'cfg': %s", strerror(errno));
        write_text(ABC_FMNIST_DATA, want);
        fprintf(stderr, "wrote %s\n", ABC_FMNIST_DATA);
    }
    free(have);
    free(want);
}

int abc_fmnist_ready(void)
{
    if (!abc_file_exists(ABC_FMNIST_DATA) || !abc_file_exists(ABC_FMNIST_DIR "/" STAMP) ||
        !abc_file_exists(ABC_FMNIST_DIR "/train.list") || !abc_file_exists(ABC_FMNIST_DIR "/test.list") ||
        !abc_file_exists(ABC_FMNIST_DIR "/labels.txt"))
        return 0;
    /* made here, not in a tree copied from elsewhere (the lists hold absolute paths) */
    char *abs = absolute_out(ABC_FMNIST_DIR), *tail = xasprintf(" dir=%s\n", abs);
    char *stamp = read_small(ABC_FMNIST_DIR "/" STAMP);
    size_t ls = stamp ? strlen(stamp) : 0, lt = strlen(tail);
    int ok = ls >= lt && !strcmp(stamp + ls - lt, tail);
    free(abs);
    free(tail);
    free(stamp);
    return ok;
}

void abc_fmnist_prepare(const char *out, int limit)
{
    fm_set sets[2] = {{"train", SRC_DIR "/train-images-idx3-ubyte.gz", SRC_DIR "/train-labels-idx1-ubyte.gz", {0}, {0}},
                      {"test", SRC_DIR "/t10k-images-idx3-ubyte.gz", SRC_DIR "/t10k-labels-idx1-ubyte.gz", {0}, {0}}};
    for (int s = 0; s < 2; ++s)
        if (!abc_file_exists(sets[s].images) || !abc_file_exists(sets[s].labels))
            abc_die("Fashion-MNIST is not installed (%s is missing): run `make deps`", sets[s].images);
    int is_default = !strcmp(out, ABC_FMNIST_DIR) || !strcmp(out, ABC_FMNIST_DIR "/");
    check_labels(out); /* before creating anything */
    char *abs = absolute_out(out);
    check_labels(abs);
    remove_stale_temps(abs);

    for (int s = 0; s < 2; ++s) {
        sets[s].im = abc_idx_read(sets[s].images, 0x803, 0, limit);
        sets[s].lab = abc_idx_read(sets[s].labels, 0x801, 0, limit);
        if (sets[s].im.n != sets[s].lab.n)
            abc_die("'%s' has %d images but '%s' has %d labels", sets[s].images, sets[s].im.n, sets[s].labels, sets[s].lab.n);
    }
    /* The lists hold absolute paths: a tree copied or moved elsewhere is converted again. */
    char *stamp_want = xasprintf("train=%d test=%d dir=%s\n", sets[0].im.n, sets[1].im.n, abs);
    char *stamp_path = xasprintf("%s/" STAMP, abs);
    char *stamp_have = read_small(stamp_path);
    struct stat st;
    if (stamp_have && !strcmp(stamp_have, stamp_want)) {
        if (is_default) write_repo_data_file();
        printf("%s is complete (%d train + %d test images): nothing to do\n", out, sets[0].im.n, sets[1].im.n);
        free(stamp_have); free(stamp_want); free(stamp_path); free(abs);
        return;
    }
    if (!stamp_have && stat(abs, &st) == 0)
        abc_die("'%s' exists but is not a conversion made by this command: remove it or choose another -out", abs);

    char *tmp = xasprintf("%s.tmp.%ld", abs, (long)getpid());
    fprintf(stderr, "converting Fashion-MNIST into %s (%d train + %d test images, %d threads)\n", out, sets[0].im.n,
            sets[1].im.n, abc_get_threads());
    for (int s = 0; s < 2; ++s) {
        sets[s].im = abc_idx_read(sets[s].images, 0x803, 1, limit);
        sets[s].lab = abc_idx_read(sets[s].labels, 0x801, 1, limit);
        for (int i = 0; i < sets[s].lab.n; ++i)
            if (sets[s].lab.data[i] > 9) abc_die("'%s': label %d of item %d is not 0..9", sets[s].labels, sets[s].lab.data[i], i);
        char *dir = xasprintf("%s/%s", tmp, sets[s].name);
        if (abc_mkdirs(dir)) abc_die("cannot create directory '%s': %s", dir, strerror(errno));
        convert(&sets[s], dir, tmp);
        free(dir);
        char *list = xasprintf("%s/%s.list", tmp, sets[s].name);
        write_list(list, &sets[s], abs);
        free(list);
    }
    char *lt = xasprintf("%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n", labels[0], labels[1], labels[2], labels[3],
                         labels[4], labels[5], labels[6], labels[7], labels[8], labels[9]);
    char *p = xasprintf("%s/labels.txt", tmp);
    write_text(p, lt);
    free(p);
    char *dt = data_text(abs);
    p = xasprintf("%s/fashion-mnist.data", tmp);
    write_text(p, dt);
    free(p);
    p = xasprintf("%s/" STAMP, tmp);
    write_text(p, stamp_want);
    free(p);

    /* A different earlier conversion (other -limit) is swapped out, then removed. */
    char *old = NULL;
    if (stamp_have) {
        old = xasprintf("%s.old.%ld", abs, (long)getpid());
        if (rename(abs, old)) abc_die("cannot move '%s' aside: %s", abs, strerror(errno));
    }
    if (rename(tmp, abs)) abc_die("cannot rename '%s' to '%s': %s", tmp, abs, strerror(errno));
    if (old) remove_tree(old);
    if (is_default) write_repo_data_file();
    printf("Fashion-MNIST ready in %s: %d train + %d test images; data file %s%s\n", out, sets[0].im.n, sets[1].im.n,
           is_default ? ABC_FMNIST_DATA : abs, is_default ? "" : "/fashion-mnist.data");
    for (int s = 0; s < 2; ++s) {
        abc_idx_free(&sets[s].im);
        abc_idx_free(&sets[s].lab);
    }
    free(old); free(tmp); free(lt); free(dt); free(stamp_have); free(stamp_want); free(stamp_path); free(abs);
}
