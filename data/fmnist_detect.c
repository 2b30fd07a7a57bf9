#include "fmnist_detect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "abc/kernels/pool.h"
#include "darknet.h"
#include "dataset_dir.h"
#include "det_scene.h"
#include "det_video.h"
#include "fmnist.h"
#include "idx.h"

/* Bumped when the generator's output changes, so that an older set is rebuilt. */
#define GENERATOR_VERSION 2
#define NAMES "fmnist-detect.names"

abc_detect_opts abc_detect_default_opts(void)
{
    abc_detect_opts o = {6000, 1000, 256, 1, 900, 416};
    return o;
}

typedef struct {
    const char *name;  /* "train" / "valid" */
    const char *images, *labels;
    int count;         /* canvases */
    abc_idx im, lab;
    abc_scene_pool pool;
} det_set;

/* The seed of one canvas: the set's seed, the set and the index, mixed. */
static uint64_t canvas_seed(uint64_t seed, int set, int i)
{
    uint64_t s = seed ^ ((uint64_t)set << 56) ^ (uint64_t)i * 0x9e3779b97f4a7c15ull;
    return abc_scene_rand(&s);
}

typedef struct {
    const det_set *set;
    int set_id, size, first, count;
    uint64_t seed;
    const char *dir;
    int failed; /* 1 + the canvas that could not be written, or 0 */
} render_job;

static int write_labels(const char *path, const abc_scene *s)
{
    FILE *fp = fopen(path, "w");
    if (!fp) return -1;
    for (int k = 0; k < s->n; ++k) {
        const float *b = s->item[k].box;
        fprintf(fp, "%d %.6f %.6f %.6f %.6f\n", s->item[k].cls, 0.5f * (b[0] + b[2]) / (float)s->w,
                0.5f * (b[1] + b[3]) / (float)s->h, (b[2] - b[0]) / (float)s->w, (b[3] - b[1]) / (float)s->h);
    }
    int bad = ferror(fp);
    return fclose(fp) || bad ? -1 : 0;
}

static void render_task(void *ctx, int task, int thread)
{
    (void)thread;
    render_job *j = ctx;
    int i = j->first + task;
    abc_scene s;
    abc_scene_limits lim = abc_scene_default_limits(j->size, j->size);
    abc_scene_random(&s, &j->set->pool, j->size, j->size, &lim, canvas_seed(j->seed, j->set_id, i));
    image img = make_image(j->size, j->size, 3);
    abc_scene_render(&s, &j->set->pool, img.data);
    char path[4200];
    snprintf(path, sizeof path, "%s/%06d", j->dir, i);
    save_image_options(img, path, PNG, 0); /* appends ".png" */
    free_image(img);
    size_t n = strlen(path);
    snprintf(path + n, sizeof path - n, ".png");
    int bad = !abc_file_exists(path);
    snprintf(path + n, sizeof path - n, ".txt");
    if (bad || write_labels(path, &s)) __atomic_store_n(&j->failed, i + 1, __ATOMIC_RELAXED);
}

static void render_set(const det_set *set, int set_id, const abc_detect_opts *o, const char *dir, const char *tmp)
{
    if (abc_mkdirs(dir)) abc_die("cannot create directory '%s': %s", dir, strerror(errno));
    render_job j = {set, set_id, o->size, 0, 0, o->seed, dir, 0};
    double t0 = abc_now(), last = t0;
    enum { CHUNK = 64 };
    for (j.first = 0; j.first < set->count && !j.failed; j.first += CHUNK) {
        j.count = set->count - j.first < CHUNK ? set->count - j.first : CHUNK;
        abc_pool_run(j.count, render_task, &j);
        double now = abc_now();
        int done = j.first + j.count;
        if (now - last >= 1.0 && done < set->count) {
            fprintf(stderr, "  %s: %d/%d canvases, %.0f s, ETA %.0f s\n", set->name, done, set->count, now - t0,
                    (now - t0) / done * (set->count - done));
            last = now;
        }
    }
    if (j.failed) abc_dataset_remove_tree(tmp);
    if (j.failed) abc_die("writing canvas %d of the %s set under '%s' failed (disk full?)", j.failed - 1, set->name, dir);
    double dt = abc_now() - t0;
    fprintf(stderr, "  %s: %d canvases in %.1f s\n", set->name, set->count, dt);
}

static void write_list(const char *path, const det_set *s, const char *abs)
{
    abc_atomic_file f;
    if (abc_atomic_open(&f, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    for (int i = 0; i < s->count; ++i) fprintf(f.fp, "%s/%s/%06d.png\n", abs, s->name, i);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", path);
}

static char *data_text(const char *prefix)
{
    return abc_dataset_printf("classes=10\ntrain=%s/train.list\nvalid=%s/valid.list\nnames=%s/" NAMES
                              "\nbackup=backup/\n",
                              prefix, prefix, prefix);
}

/* libdarknet finds a label file by replacing the first "images", "JPEGImages" and "raw" in the image's path;
 * the set keeps labels beside the images, so none of those may appear in its location. */
static void check_location(const char *abs)
{
    static const char *const bad[] = {"images", "JPEGImages", "raw"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i)
        if (strstr(abs, bad[i]))
            abc_die("output directory '%s' contains '%s': libdarknet would look for the label files elsewhere "
                    "(it replaces that part of an image's path), choose another -out", abs, bad[i]);
    if (strlen(abs) > 200) abc_die("output directory '%s' is too long (libdarknet copies paths into 256 bytes)", abs);
}

static void load_set(det_set *s)
{
    s->im = abc_idx_read(s->images, 0x803, 1, 0);
    s->lab = abc_idx_read(s->labels, 0x801, 1, 0);
    if (s->im.n != s->lab.n || s->im.w != ABC_SCENE_SRC || s->im.h != ABC_SCENE_SRC)
        abc_die("'%s' and '%s' are not a set of 28x28 images and their labels", s->images, s->labels);
    for (int i = 0; i < s->lab.n; ++i)
        if (s->lab.data[i] > 9) abc_die("'%s': label %d of item %d is not 0..9", s->labels, s->lab.data[i], i);
    s->pool.pixels = s->im.data;
    s->pool.labels = s->lab.data;
    s->pool.n = s->im.n;
}

/* The test video beside the set: <out>-video/video.mp4 and truth.jsonl, from the test images. */
static void prepare_video(const char *out, const abc_detect_opts *o, det_set *valid)
{
    char *dir = abc_dataset_printf("%s-video", out);
    char *params = abc_dataset_printf("version=1 frames=%d fps=30 size=%d seed=%llu", o->video_frames, o->video_size,
                                      (unsigned long long)o->seed);
    abc_dataset_dir d;
    if (abc_dataset_begin(&d, dir, params)) {
        printf("%s is complete (%d frames of %dx%d): nothing to do\n", dir, o->video_frames, o->video_size,
               o->video_size);
    } else {
        fprintf(stderr, "rendering the test video into %s: %d frames of %dx%d at 30 fps\n", dir, o->video_frames,
                o->video_size, o->video_size);
        double t0 = abc_now();
        load_set(valid);
        char *video = abc_dataset_printf("%s/video.mp4", d.tmp), *truth = abc_dataset_printf("%s/truth.jsonl", d.tmp);
        abc_video_opts vo = {o->video_size, o->video_size, o->video_frames, 30, o->seed ^ 0x766964656full};
        abc_video_render(&valid->pool, abc_fmnist_names, &vo, video, truth);
        abc_idx_free(&valid->im);
        abc_idx_free(&valid->lab);
        free(video);
        free(truth);
        abc_dataset_commit(&d);
        printf("test video ready: %s/video.mp4 (%d frames, %.1f s to render), truth %s/truth.jsonl\n", dir,
               o->video_frames, abc_now() - t0, dir);
    }
    abc_dataset_free(&d);
    free(params);
    free(dir);
}

int abc_fmnist_detect_ready(void)
{
    return abc_file_exists(ABC_DETECT_DATA) && abc_dataset_complete(ABC_DETECT_DIR, NULL);
}

void abc_fmnist_detect_prepare(const char *out, const abc_detect_opts *o)
{
    det_set sets[2] = {
        {"train", ABC_FMNIST_SRC "/train-images-idx3-ubyte.gz", ABC_FMNIST_SRC "/train-labels-idx1-ubyte.gz",
         o->train, {0}, {0}, {0}},
        {"valid", ABC_FMNIST_SRC "/t10k-images-idx3-ubyte.gz", ABC_FMNIST_SRC "/t10k-labels-idx1-ubyte.gz", o->valid,
         {0}, {0}, {0}},
    };
    for (int s = 0; s < 2; ++s)
        if (!abc_file_exists(sets[s].images) || !abc_file_exists(sets[s].labels))
            abc_die("Fashion-MNIST is not installed (%s is missing): run `make deps`", sets[s].images);
    int is_default = !strcmp(out, ABC_DETECT_DIR) || !strcmp(out, ABC_DETECT_DIR "/");
    char *abs = abc_dataset_abs(out);
    check_location(abs);
    free(abs);
    char *params = abc_dataset_printf("version=%d train=%d valid=%d size=%d seed=%llu", GENERATOR_VERSION, o->train,
                                      o->valid, o->size, (unsigned long long)o->seed);
    abc_dataset_dir d;
    char *dt = NULL;
    if (abc_dataset_begin(&d, out, params)) {
        printf("%s is complete (%d train + %d valid canvases of %dx%d, seed %llu): nothing to do\n", out, o->train,
               o->valid, o->size, o->size, (unsigned long long)o->seed);
    } else {
        fprintf(stderr, "rendering the detection set into %s: %d train + %d valid canvases of %dx%d, seed %llu, %d threads\n",
                out, o->train, o->valid, o->size, o->size, (unsigned long long)o->seed, abc_get_threads());
        for (int s = 0; s < 2; ++s) {
            load_set(&sets[s]);
            char *dir = abc_dataset_printf("%s/%s", d.tmp, sets[s].name);
            render_set(&sets[s], s, o, dir, d.tmp);
            free(dir);
            char *list = abc_dataset_printf("%s/%s.list", d.tmp, sets[s].name);
            write_list(list, &sets[s], d.abs);
            free(list);
            abc_idx_free(&sets[s].im);
            abc_idx_free(&sets[s].lab);
        }
        char *names = abc_dataset_printf("%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n", abc_fmnist_names[0],
                                         abc_fmnist_names[1], abc_fmnist_names[2], abc_fmnist_names[3],
                                         abc_fmnist_names[4], abc_fmnist_names[5], abc_fmnist_names[6],
                                         abc_fmnist_names[7], abc_fmnist_names[8], abc_fmnist_names[9]);
        char *p = abc_dataset_printf("%s/" NAMES, d.tmp);
        abc_dataset_write_text(p, names);
        free(p);
        free(names);
        dt = data_text(d.abs);
        p = abc_dataset_printf("%s/fmnist-detect.data", d.tmp);
        abc_dataset_write_text(p, dt);
        free(p);
        free(dt);
        abc_dataset_commit(&d);
        printf("detection set ready in %s: %d train + %d valid canvases of %dx%d; data file %s%s\n", out, o->train,
               o->valid, o->size, o->size, is_default ? ABC_DETECT_DATA : d.abs, is_default ? "" : "/fmnist-detect.data");
    }
    if (is_default) {
        dt = data_text(ABC_DETECT_DIR);
        abc_dataset_write_repo_file(ABC_DETECT_DATA, dt);
        free(dt);
    }
    abc_dataset_free(&d);
    free(params);
    if (o->video_frames > 0) prepare_video(out, o, &sets[1]);
}
