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
#include "dataset_dir.h"
#include "idx.h"


const char *const abc_fmnist_names[10] = {"Tshirt", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal", "Shirt",  "Sneaker",  "Bag",   "Ankleboot"};

typedef struct {
    const char *name; /* "train" or "test" */
    const char *images, *labels;
    abc_idx im, lab;
} fm_set;

static void check_labels(const char *abs_out)
{
    for (int i = 0; i < 10; ++i) {
        for (int j = 0; j < 10; ++j)
            if (i != j && strstr(abc_fmnist_names[j], abc_fmnist_names[i]))
                abc_die("label '%s' is part of label '%s': darknet could not tell them apart", abc_fmnist_names[i], abc_fmnist_names[j]);
        if (strstr(abs_out, abc_fmnist_names[i]))
            abc_die("output directory '%s' contains the label '%s': darknet matches labels anywhere in an image "
                    "path, choose another -out", abs_out, abc_fmnist_names[i]);
        if (strlen(abs_out) > 200) abc_die("output directory '%s' is too long (libdarknet copies paths into 256 bytes)", abs_out);
    }
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
        snprintf(path, sizeof path, "%s/%05d_%s", j->dir, i, abc_fmnist_names[j->set->lab.data[i]]);
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
        abc_dataset_remove_tree(tmp_root);
        abc_die("writing PNG %d of the %s set under '%s' failed (disk full?)", j.failed - 1, s->name, dir);
    }
    double dt = abc_now() - t0;
    fprintf(stderr, "  %s: %d images in %.1f s (%.0f images/s)\n", s->name, s->im.n, dt, s->im.n / (dt > 0 ? dt : 1));
}

/* ---- small text files ---- */

static void write_list(const char *path, const fm_set *s, const char *abs_out)
{
    abc_atomic_file f;
    if (abc_atomic_open(&f, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    for (int i = 0; i < s->im.n; ++i)
        fprintf(f.fp, "%s/%s/%05d_%s.png\n", abs_out, s->name, i, abc_fmnist_names[s->lab.data[i]]);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", path);
}

static char *data_text(const char *prefix)
{
    return abc_dataset_printf("classes=10\ntrain=%s/train.list\nvalid=%s/test.list\nlabels=%s/labels.txt\nbackup=backup/\ntop=2\n",
                              prefix, prefix, prefix);
}

static void write_repo_data_file(void)
{
    char *t = data_text(ABC_FMNIST_DIR);
    abc_dataset_write_repo_file(ABC_FMNIST_DATA, t);
    free(t);
}

int abc_fmnist_ready(void)
{
    return abc_file_exists(ABC_FMNIST_DATA) && abc_file_exists(ABC_FMNIST_DIR "/train.list") &&
           abc_file_exists(ABC_FMNIST_DIR "/test.list") && abc_file_exists(ABC_FMNIST_DIR "/labels.txt") &&
           abc_dataset_complete(ABC_FMNIST_DIR, NULL);
}

void abc_fmnist_prepare(const char *out, int limit)
{
    fm_set sets[2] = {{"train", ABC_FMNIST_SRC "/train-images-idx3-ubyte.gz", ABC_FMNIST_SRC "/train-labels-idx1-ubyte.gz", {0}, {0}},
                      {"test", ABC_FMNIST_SRC "/t10k-images-idx3-ubyte.gz", ABC_FMNIST_SRC "/t10k-labels-idx1-ubyte.gz", {0}, {0}}};
    for (int s = 0; s < 2; ++s)
        if (!abc_file_exists(sets[s].images) || !abc_file_exists(sets[s].labels))
            abc_die("Fashion-MNIST is not installed (%s is missing): run `make deps`", sets[s].images);
    int is_default = !strcmp(out, ABC_FMNIST_DIR) || !strcmp(out, ABC_FMNIST_DIR "/");
    check_labels(out); /* before creating anything */
    char *abs = abc_dataset_abs(out);
    check_labels(abs);
    free(abs);

    for (int s = 0; s < 2; ++s) {
        sets[s].im = abc_idx_read(sets[s].images, 0x803, 0, limit);
        sets[s].lab = abc_idx_read(sets[s].labels, 0x801, 0, limit);
        if (sets[s].im.n != sets[s].lab.n)
            abc_die("'%s' has %d images but '%s' has %d labels", sets[s].images, sets[s].im.n, sets[s].labels, sets[s].lab.n);
    }
    char *params = abc_dataset_printf("train=%d test=%d", sets[0].im.n, sets[1].im.n);
    abc_dataset_dir d;
    if (abc_dataset_begin(&d, out, params)) {
        if (is_default) write_repo_data_file();
        printf("%s is complete (%d train + %d test images): nothing to do\n", out, sets[0].im.n, sets[1].im.n);
        abc_dataset_free(&d);
        free(params);
        return;
    }
    fprintf(stderr, "converting Fashion-MNIST into %s (%d train + %d test images, %d threads)\n", out, sets[0].im.n,
            sets[1].im.n, abc_get_threads());
    for (int s = 0; s < 2; ++s) {
        sets[s].im = abc_idx_read(sets[s].images, 0x803, 1, limit);
        sets[s].lab = abc_idx_read(sets[s].labels, 0x801, 1, limit);
        for (int i = 0; i < sets[s].lab.n; ++i)
            if (sets[s].lab.data[i] > 9) abc_die("'%s': label %d of item %d is not 0..9", sets[s].labels, sets[s].lab.data[i], i);
        char *dir = abc_dataset_printf("%s/%s", d.tmp, sets[s].name);
        if (abc_mkdirs(dir)) abc_die("cannot create directory '%s': %s", dir, strerror(errno));
        convert(&sets[s], dir, d.tmp);
        free(dir);
        char *list = abc_dataset_printf("%s/%s.list", d.tmp, sets[s].name);
        write_list(list, &sets[s], d.abs);
        free(list);
    }
    char *lt = abc_dataset_printf("%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n", abc_fmnist_names[0], abc_fmnist_names[1], abc_fmnist_names[2], abc_fmnist_names[3],
                                  abc_fmnist_names[4], abc_fmnist_names[5], abc_fmnist_names[6], abc_fmnist_names[7], abc_fmnist_names[8], abc_fmnist_names[9]);
    char *p = abc_dataset_printf("%s/labels.txt", d.tmp);
    abc_dataset_write_text(p, lt);
    free(p);
    free(lt);
    char *dt = data_text(d.abs);
    p = abc_dataset_printf("%s/fashion-mnist.data", d.tmp);
    abc_dataset_write_text(p, dt);
    free(p);
    free(dt);
    abc_dataset_commit(&d);
    if (is_default) write_repo_data_file();
    printf("Fashion-MNIST ready in %s: %d train + %d test images; data file %s%s\n", out, sets[0].im.n, sets[1].im.n,
           is_default ? ABC_FMNIST_DATA : d.abs, is_default ? "" : "/fashion-mnist.data");
    for (int s = 0; s < 2; ++s) {
        abc_idx_free(&sets[s].im);
        abc_idx_free(&sets[s].lab);
    }
    abc_dataset_free(&d);
    free(params);
}
