#include "det_video.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "json.h"
#include "video_pipe.h"

/* An item on the move: its velocity in pixels a frame. */
typedef struct {
    float vx, vy;
} motion;

/* A newcomer enters from a random edge, just outside the frame, heading inwards at 0.7-2.5 px a frame. */
static void enter(const abc_scene *s, abc_scene_item *it, motion *m, uint64_t *rng)
{
    float bw = it->box[2] - it->box[0], bh = it->box[3] - it->box[1];
    int edge = (int)(abc_scene_rand(rng) % 4);
    float along = abc_scene_uniform(rng), speed = 0.7f + 1.8f * abc_scene_uniform(rng);
    float slant = (abc_scene_uniform(rng) - 0.5f) * speed;
    float x, y; /* the box's top-left corner */
    if (edge == 0) x = -bw, y = along * ((float)s->h - bh), m->vx = speed, m->vy = slant;
    else if (edge == 1) x = (float)s->w, y = along * ((float)s->h - bh), m->vx = -speed, m->vy = slant;
    else if (edge == 2) x = along * ((float)s->w - bw), y = -bh, m->vx = slant, m->vy = speed;
    else x = along * ((float)s->w - bw), y = (float)s->h, m->vx = slant, m->vy = -speed;
    abc_scene_move_item(it, x - it->box[0], y - it->box[1]);
}

static int outside(const abc_scene *s, const abc_scene_item *it)
{
    return it->box[2] <= 0 || it->box[3] <= 0 || it->box[0] >= (float)s->w || it->box[1] >= (float)s->h;
}

/* The part of a box inside the frame; its area. */
static float visible(const abc_scene *s, const float *b, float *v)
{
    v[0] = fmaxf(b[0], 0), v[1] = fmaxf(b[1], 0), v[2] = fminf(b[2], (float)s->w), v[3] = fminf(b[3], (float)s->h);
    return v[2] > v[0] && v[3] > v[1] ? (v[2] - v[0]) * (v[3] - v[1]) : 0.f;
}

/* Truth of item i: shows a third of its box or more, and no item drawn over it covers 70% of what shows. */
static int shown(const abc_scene *s, int i, float *v)
{
    const float *b = s->item[i].box;
    float full = (b[2] - b[0]) * (b[3] - b[1]), vis = visible(s, b, v);
    if (vis < full / 3) return 0;
    for (int j = i + 1; j < s->n; ++j) {
        const float *o = s->item[j].box;
        float w = fminf(v[2], o[2]) - fmaxf(v[0], o[0]), h = fminf(v[3], o[3]) - fmaxf(v[1], o[1]);
        if (w > 0 && h > 0 && w * h > 0.7f * vis) return 0;
    }
    return 1;
}

static void write_truth(FILE *fp, const abc_scene *s, const char *const *names, int frame, int fps)
{
    fprintf(fp, "{\"frame\": %d, \"time\": %.4f, \"boxes\": [", frame, (double)frame / fps);
    int first = 1;
    for (int i = 0; i < s->n; ++i) {
        float v[4];
        if (!shown(s, i, v)) continue;
        fprintf(fp, "%s{\"class_id\": %d, \"name\": ", first ? "" : ", ", s->item[i].cls);
        abc_json_string(fp, names[s->item[i].cls]);
        fprintf(fp, ", \"x0\": %.2f, \"y0\": %.2f, \"x1\": %.2f, \"y1\": %.2f}", v[0], v[1], v[2], v[3]);
        first = 0;
    }
    fprintf(fp, "]}\n");
}

void abc_video_render(const abc_scene_pool *pool, const char *const *names, const abc_video_opts *o,
                      const char *video_path, const char *truth_path)
{
    uint64_t rng = o->seed;
    abc_scene_limits lim = abc_scene_default_limits(o->w, o->h);
    lim.min_items = 4;
    abc_scene s;
    abc_scene_random(&s, pool, o->w, o->h, &lim, abc_scene_rand(&rng));
    motion mv[ABC_SCENE_MAX_ITEMS];
    for (int i = 0; i < s.n; ++i) { /* those on screen at the start drift in any direction */
        float a = 6.2831853f * abc_scene_uniform(&rng), sp = 0.5f + 2.0f * abc_scene_uniform(&rng);
        mv[i].vx = sp * cosf(a);
        mv[i].vy = sp * sinf(a);
    }
    char *tmp_video = abc_xmalloc(strlen(video_path) + 32);
    sprintf(tmp_video, "%s.tmp.%ld.mp4", video_path, (long)getpid());
    abc_atomic_file truth;
    if (abc_atomic_open(&truth, truth_path)) abc_die("cannot write '%s': %s", truth_path, strerror(errno));
    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN); /* a dead ffmpeg is an error here, not a signal */
    abc_video_pipe enc;
    char rate[16], err[512];
    snprintf(rate, sizeof rate, "%d", o->fps);
    if (abc_video_encode_open(&enc, tmp_video, "mp4", o->w, o->h, rate, 18, err, sizeof err)) abc_die("%s", err);
    size_t plane = (size_t)o->w * o->h;
    float *rgb = abc_xmalloc(3 * plane * sizeof *rgb);
    unsigned char *bytes = abc_xmalloc(3 * plane);
    int failed = 0;
    for (int f = 0; f < o->frames && !failed; ++f) {
        write_truth(truth.fp, &s, names, f, o->fps);
        abc_scene_render(&s, pool, rgb);
        for (size_t p = 0; p < plane; ++p)
            for (int k = 0; k < 3; ++k) bytes[3 * p + (size_t)k] = (unsigned char)(255.f * rgb[(size_t)k * plane + p] + 0.5f);
        failed = abc_video_write(&enc, bytes, 3 * plane) != 0;
        for (int i = 0; i < s.n; ++i) {
            abc_scene_move_item(&s.item[i], mv[i].vx, mv[i].vy);
            if (!outside(&s, &s.item[i])) continue;
            abc_scene_item it;
            while (!abc_scene_random_item(&s, pool, &lim, &rng, &it)) {}
            enter(&s, &it, &mv[i], &rng);
            s.item[i] = it;
        }
    }
    char first[300] = "";
    if (abc_video_close(&enc, NULL, first, sizeof first) || failed) {
        unlink(tmp_video);
        abc_atomic_abort(&truth);
        abc_die("ffmpeg could not encode '%s'%s%s (is ffmpeg with libx264 installed? make deps)", video_path,
                first[0] ? ": " : "", first);
    }
    signal(SIGPIPE, old_pipe);
    if (rename(tmp_video, video_path)) abc_die("cannot rename '%s' to '%s': %s", tmp_video, video_path, strerror(errno));
    if (abc_atomic_commit(&truth)) abc_die("writing '%s' failed (disk full?)", truth_path);
    free(tmp_video);
    free(rgb);
    free(bytes);
}
