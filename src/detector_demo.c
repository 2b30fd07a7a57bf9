/* detector demo: detection on a video file or camera, headless. Three threads in a pipeline: one reads frames
 * from an ffmpeg decoder and letterboxes them, the caller runs the network on each, one draws the boxes and feeds an ffmpeg encoder
 * and writes a JSON line per frame; slots of frames go round between them, so that decoding and encoding
 * overlap the network. -truth scores the detections (mAP@0.5 over every frame). */
#include "detector_cmds.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/netio.h"
#include "commands.h"
#include "data_file.h"
#include "det_truth.h"
#include "detector.h"
#include "detector_common.h"
#include "draw.h"
#include "json.h"
#include "progress.h"
#include "video_pipe.h"
#include "weights-tools/summary.h"

#define SLOTS 4
#define MAP_THRESH 0.005f /* detections kept for -truth's mAP, as detector map */

/* A blocking queue of slot numbers (-1: the end). */
typedef struct {
    int v[SLOTS + 1], head, count;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} queue;

static void q_init(queue *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

static void q_push(queue *q, int s)
{
    pthread_mutex_lock(&q->mu);
    q->v[(q->head + q->count++) % (SLOTS + 1)] = s;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static int q_pop(queue *q)
{
    pthread_mutex_lock(&q->mu);
    while (!q->count) pthread_cond_wait(&q->cv, &q->mu);
    int s = q->v[q->head];
    q->head = (q->head + 1) % (SLOTS + 1);
    --q->count;
    pthread_mutex_unlock(&q->mu);
    return s;
}

static void q_free(queue *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

typedef struct {
    unsigned char *rgb;
    image im, sized; /* the frame as floats, and letterboxed to the network (made by the reader) */
    abc_det *d;
    int n, cap, frame;
} slot;

typedef struct {
    const abc_det_demo_opts *o;
    const abc_strs *names;
    int net_w, net_h;
    abc_video_info info;
    size_t bytes;
    slot s[SLOTS];
    queue empty, decoded, detected;
    abc_video_pipe dec, enc;
    int encoding;
    volatile int stop; /* read no further */
    int write_failed;
    abc_atomic_file json, video;
    int json_open;
} demo_run_state;

/* The frame's pixels as a darknet image (3 planes of floats in [0, 1]). */
static void to_image(const unsigned char *rgb, image *im)
{
    size_t plane = (size_t)im->w * (size_t)im->h;
    for (size_t p = 0; p < plane; ++p)
        for (int c = 0; c < 3; ++c) im->data[(size_t)c * plane + p] = rgb[3 * p + (size_t)c] * (1.0f / 255.0f);
}

static void *reader(void *arg)
{
    demo_run_state *m = arg;
    for (int f = 0;; ++f) {
        int i = q_pop(&m->empty);
        if (m->stop || (m->o->frames > 0 && f >= m->o->frames) || !abc_video_read(&m->dec, m->s[i].rgb, m->bytes)) {
            q_push(&m->empty, i);
            break;
        }
        slot *s = &m->s[i];
        s->frame = f;
        to_image(s->rgb, &s->im);
        free_image(s->sized);
        s->sized = letterbox_image(s->im, m->net_w, m->net_h);
        q_push(&m->decoded, i);
    }
    q_push(&m->decoded, -1);
    return NULL;
}

static void write_json_line(demo_run_state *m, const slot *s)
{
    FILE *fp = m->json.fp;
    fprintf(fp, "{\"frame\": %d, \"time\": %.4f, \"boxes\": [", s->frame, m->info.fps > 0 ? s->frame / m->info.fps : 0.0);
    int first = 1;
    for (int k = 0; k < s->n; ++k) {
        const abc_det *d = &s->d[k];
        if (!(d->score >= m->o->thresh)) continue;
        fprintf(fp, "%s{\"class_id\": %d, \"name\": ", first ? "" : ", ", d->cls);
        abc_json_string(fp, m->names->v[d->cls]);
        fprintf(fp, ", \"confidence\": %.4f, \"x0\": %.1f, \"y0\": %.1f, \"x1\": %.1f, \"y1\": %.1f}", d->score,
                d->box.x0, d->box.y0, d->box.x1, d->box.y1);
        first = 0;
    }
    fprintf(fp, "]}\n");
}

static void *writer(void *arg)
{
    demo_run_state *m = arg;
    abc_draw_box *boxes = NULL;
    int cap = 0;
    for (;;) {
        int i = q_pop(&m->detected);
        if (i < 0) break;
        slot *s = &m->s[i];
        if (m->json_open) write_json_line(m, s);
        if (m->encoding && !m->write_failed) {
            if (s->n > cap) {
                cap = s->n;
                boxes = realloc(boxes, (size_t)cap * sizeof *boxes);
                if (!boxes) abc_die("out of memory (boxes)");
            }
            int nb = 0;
            for (int k = 0; k < s->n; ++k)
                if (s->d[k].score >= m->o->thresh) {
                    abc_draw_box b = {s->d[k].box.x0, s->d[k].box.y0, s->d[k].box.x1, s->d[k].box.y1, s->d[k].cls,
                                      s->d[k].score};
                    boxes[nb++] = b;
                }
            char err[256];
            if (abc_draw_detections_rgb(s->rgb, m->info.w, m->info.h, boxes, nb, (const char *const *)m->names->v,
                                        m->names->n, err, sizeof err))
                abc_die("%s", err);
            if (abc_video_write(&m->enc, s->rgb, m->bytes)) m->write_failed = 1;
        }
        q_push(&m->empty, i);
    }
    free(boxes);
    return NULL;
}


/* Boxes cut to the frame, as the truth's boxes are (what of an object is visible). */
static void clip_boxes(abc_det *d, int n, float w, float h)
{
    for (int i = 0; i < n; ++i) {
        abc_box *b = &d[i].box;
        b->x0 = fminf(fmaxf(b->x0, 0), w), b->x1 = fminf(fmaxf(b->x1, 0), w);
        b->y0 = fminf(fmaxf(b->y0, 0), h), b->y1 = fminf(fmaxf(b->y1, 0), h);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Opens the outputs (atomic: nothing is left under their names unless the demo ends well). */
static void open_outputs(demo_run_state *m)
{
    const abc_det_demo_opts *o = m->o;
    if (o->benchmark) return;
    if (o->json) {
        if (abc_atomic_open(&m->json, o->json)) abc_die("cannot write '%s': %s", o->json, strerror(errno));
        m->json_open = 1;
    }
    if (o->out_video) {
        const char *format = abc_video_format_of(o->out_video);
        if (!format) abc_die("output video '%s': unknown extension (use .mp4, .m4v, .mov, .mkv or .avi)", o->out_video);
        /* ffmpeg writes the atomic file's temporary name (removed if we end early), renamed at the end */
        if (abc_atomic_open(&m->video, o->out_video)) abc_die("cannot write '%s': %s", o->out_video, strerror(errno));
        char err[512];
        if (abc_video_encode_open(&m->enc, m->video.tmp, format, m->info.w, m->info.h, m->info.rate, 20, err,
                                  sizeof err))
            abc_die("%s", err);
        m->encoding = 1;
    }
}

int abc_detector_demo(const char *datafile, const char *cfg, const char *weights, const char *video,
                      const abc_det_demo_opts *o)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs names = abc_det_names_load(&d);
    demo_run_state m;
    memset(&m, 0, sizeof m);
    m.o = o;
    m.names = &names;
    char err[512];
    if (abc_video_probe(video, &m.info, err, sizeof err)) abc_die("%s", err);
    abc_gt *gts = NULL;
    int ng = 0, truth_frames = 0;
    if (o->truth) abc_det_truth_read(o->truth, names.n, &gts, &ng, &truth_frames);
    abc_parse_set_batch(1);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    abc_print_model_summary(net, stderr);
    abc_det_check_net(net, cfg, &d);
    set_batch_network(net, 1);
    m.bytes = (size_t)m.info.w * (size_t)m.info.h * 3;
    long total = m.info.frames;
    if (o->frames > 0 && (total < 0 || total > o->frames)) total = o->frames;
    fprintf(stderr, "demo: %s, %dx%d at %s fps, %s%ld frames; network %dx%d\n", video, m.info.w, m.info.h,
            m.info.rate, m.info.frames < 0 ? "unknown count of " : "", total < 0 ? 0 : total, net->w, net->h);

    void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN); /* a dead ffmpeg is an error, not a signal */
    open_outputs(&m);
    if (abc_video_decode_open(&m.dec, video, &m.info, err, sizeof err)) abc_die("%s", err);
    q_init(&m.empty), q_init(&m.decoded), q_init(&m.detected);
    m.net_w = net->w, m.net_h = net->h;
    for (int i = 0; i < SLOTS; ++i) {
        m.s[i].rgb = abc_xmalloc(m.bytes);
        m.s[i].im = make_image(m.info.w, m.info.h, 3);
        q_push(&m.empty, i);
    }
    abc_stop_guard guard;
    abc_stop_catch(&guard);
    pthread_t rt, wt;
    if (pthread_create(&rt, NULL, reader, &m) || pthread_create(&wt, NULL, writer, &m))
        abc_die("cannot start the demo's threads");

    abc_det_map_opts mo = abc_det_map_default_opts();
    mo.thresh = o->truth ? MAP_THRESH : o->thresh;
    abc_det *all = NULL;
    int nall = 0, call = 0, frames = 0;
    size_t ms_cap = 1024;
    double *ms = abc_xmalloc(ms_cap * sizeof *ms), t0 = abc_now(), last = t0;
    for (;;) {
        int i = q_pop(&m.decoded);
        if (i < 0) break;
        slot *s = &m.s[i];
        double ts = abc_now();
        s->n = 0;
        abc_det_letterboxed(net, s->sized, m.info.w, m.info.h, s->frame, &mo, &s->d, &s->n, &s->cap);
        clip_boxes(s->d, s->n, (float)m.info.w, (float)m.info.h);
        if ((size_t)frames == ms_cap) ms = realloc(ms, (ms_cap *= 2) * sizeof *ms);
        if (!ms) abc_die("out of memory (timings)");
        ms[frames++] = 1e3 * (abc_now() - ts);
        if (o->truth) {
            if (nall + s->n > call) {
                call = 2 * (nall + s->n) + 1024;
                all = realloc(all, (size_t)call * sizeof *all);
                if (!all) abc_die("out of memory (detections)");
            }
            memcpy(all + nall, s->d, (size_t)s->n * sizeof *all);
            nall += s->n;
        }
        q_push(&m.detected, i);
        double now = abc_now();
        if (now - last >= 2) {
            char eta[32] = "?";
            double fps = frames / (now - t0);
            if (total > 0) abc_fmt_eta(eta, sizeof eta, (total - frames) / fps);
            fprintf(stderr, "demo: frame %d%s%ld, %.1f fps, ETA %s\n", frames, total > 0 ? "/" : "",
                    total > 0 ? total : 0L, fps, total > 0 ? eta : "?");
            last = now;
        }
        if (abc_stop_signal() || m.write_failed) m.stop = 1;
    }
    double seconds = abc_now() - t0;
    q_push(&m.detected, -1);
    pthread_join(wt, NULL);
    pthread_join(rt, NULL);
    int sig = abc_stop_signal();
    abc_stop_release(&guard);

    int messages = 0;
    char first[300];
    if (m.stop || (o->frames > 0 && frames >= o->frames)) abc_video_kill(&m.dec);
    else if (abc_video_close(&m.dec, &messages, first, sizeof first) && !frames)
        abc_die("cannot decode '%s': %s", video, messages ? first : "ffmpeg failed");
    if (messages)
        fprintf(stderr, "demo: ffmpeg reported %d problem%s decoding '%s' (frames it could not decode are left "
                "out), the first: %s\n", messages, messages == 1 ? "" : "s", video, first);
    int enc_bad = 0, enc_messages = 0;
    char enc_first[300] = "";
    if (m.encoding) enc_bad = abc_video_close(&m.enc, &enc_messages, enc_first, sizeof enc_first) || m.write_failed;
    signal(SIGPIPE, old_pipe);
    if (sig || enc_bad) {
        if (m.json_open) abc_atomic_abort(&m.json);
        if (m.encoding) abc_atomic_abort(&m.video);
        if (enc_bad) abc_die("encoding '%s' failed: %s", o->out_video, enc_first[0] ? enc_first : "ffmpeg stopped");
    } else {
        if (m.json_open && abc_atomic_commit(&m.json)) abc_die("writing '%s' failed (disk full?)", o->json);
        if (m.encoding && abc_atomic_commit(&m.video)) abc_die("writing '%s' failed (disk full?)", o->out_video);
    }

    qsort(ms, (size_t)frames, sizeof *ms, cmp_double);
    double sum = 0;
    for (int i = 0; i < frames; ++i) sum += ms[i];
    printf("%d frames%s in %.1f s: %.1f fps end to end; the network alone %.1f fps (median %.2f ms a frame)\n", frames,
           sig ? " (stopped)" : "", seconds, seconds > 0 ? frames / seconds : 0, sum > 0 ? 1e3 * frames / sum : 0,
           frames ? ms[frames / 2] : 0);
    if (!sig && m.encoding) printf("annotated video: %s\n", o->out_video);
    if (!sig && m.json_open) printf("detections: %s (one JSON line per frame)\n", o->json);
    if (o->truth && frames) {
        if (frames != truth_frames)
            fprintf(stderr, "demo: %d frames scored, '%s' has %d\n", frames, o->truth, truth_frames);
        int keep = 0;
        for (int i = 0; i < ng; ++i)
            if (gts[i].image < frames) gts[keep++] = gts[i];
        abc_map_result r;
        if (abc_map_compute(all, nall, gts, keep, names.n, 0.5f, o->thresh, &r))
            abc_die("demo: the detections hold values the evaluation cannot take");
        printf("mAP@0.5 over %d frames: %.2f%% (mAP@[.5:.95] %.2f%%; precision %.3f, recall %.3f at -thresh %.2f)\n",
               frames, 100 * r.map, 100 * r.map_coco, r.precision, r.recall, (double)o->thresh);
        abc_map_free(&r);
    }
    for (int i = 0; i < SLOTS; ++i) free(m.s[i].rgb), free(m.s[i].d), free_image(m.s[i].im), free_image(m.s[i].sized);
    q_free(&m.empty), q_free(&m.decoded), q_free(&m.detected);
    free(ms);
    free(all);
    free(gts);
    abc_free_network(net);
    abc_strs_free(&names);
    abc_data_cfg_free(&d);
    return sig ? 128 + sig : 0;
}

static int demo_run(const abc_cli *a)
{
    for (int i = 0; i < 3; ++i)
        if (!abc_file_exists(a->pos[i]))
            abc_die("cannot open %s file '%s'", i == 0 ? "data" : i == 1 ? "cfg" : "weights", a->pos[i]);
    abc_det_demo_opts o = {(float)abc_cli_real(a, "-thresh", 0.25), abc_cli_str(a, "-out_filename", NULL),
                           abc_cli_str(a, "-json", NULL), abc_cli_str(a, "-truth", NULL), abc_cli_flag(a, "-benchmark"),
                           (int)abc_cli_int(a, "-frames", 0)};
    if (o.benchmark && (o.out_video || o.json)) abc_cli_fail(a, "-benchmark writes no files: drop -out_filename / -json");
    if (!o.benchmark && !o.out_video && !o.json) o.out_video = "predictions.mp4";
    if (o.truth && !abc_file_exists(o.truth)) abc_die("cannot open truth file '%s'", o.truth);
    return abc_detector_demo(a->pos[0], a->pos[1], a->pos[2], a->pos[3], &o);
}

static const abc_opt demo_opts[] = {
    {"-out_filename", ABC_OPT_STR, "FILE", 0, 0, "the annotated video (.mp4 .m4v .mov .mkv: H.264; .avi: MPEG-4); default predictions.mp4"},
    {"-json", ABC_OPT_STR, "FILE", 0, 0, "one JSON line per frame: frame, time, boxes in pixels with class and confidence"},
    {"-thresh", ABC_OPT_REAL, "X", 0, 1000, "boxes drawn and written: confidence at or above X (default 0.25)"},
    {"-truth", ABC_OPT_STR, "FILE", 0, 0, "score the video: mAP@0.5 over its frames against these JSON lines"},
    {"-benchmark", ABC_OPT_FLAG, NULL, 0, 0, "write nothing: frames per second only"},
    {"-frames", ABC_OPT_INT, "N", 1, 2000000000, "stop after N frames"},
    {0},
};

const abc_cmd abc_detector_demo_cmd = {
    .name = "demo", .args = "<data> <cfg> <weights> <video | /dev/videoN>", .min_args = 4, .max_args = 4,
    .what = "detection on a video, headless: an annotated video and/or JSON lines, fps, mAP with -truth",
    .opts = demo_opts, .run = demo_run,
    .notes = "Reads any video Debian's ffmpeg reads (ffmpeg processes on pipes decode and encode it). The\n"
             "output has the input's frame count and rate. With neither -out_filename nor -json, writes\n"
             "predictions.mp4. Outputs are written under temporary names and renamed when complete.\n"
             "The test video of `./darknet data fmnist-detect`: data/fmnist-detect-video/video.mp4, its truth\n"
             "beside it (truth.jsonl).",
};
