/* detector demo as a user runs it, on the test video of a tiny generated set (96x96, 24 frames) and a tiny
 * detector with the parser's random weights, saved once (its boxes are poor and many; what is checked is what
 * the demo does with them):
 *  - the annotated video has the input's frame count, size and rate; one JSON line per frame that parses, in
 *    frame order, boxes inside the frame at or above -thresh; -truth prints a mAP;
 *  - AVI (MPEG-4) at an odd size in and out; the default output; -benchmark writes nothing;
 *  - a truncated AVI is decoded as far as it goes; a missing, non-video or truncated MP4 input, an unwritable
 *    or unknown output, a bad truth file: one error line, a non-zero exit, no file left behind. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#define FRAMES 24
#define SIDE 96

static char root[4096];
static pid_t root_owner;
static int fixture_ok;

static const char cfg_text[] =
    "[net]\nbatch=2\nsubdivisions=1\nwidth=64\nheight=64\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
    "learning_rate=0.001\nmax_batches=1\npolicy=constant\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n\n"
    "[maxpool]\nsize=2\nstride=2\n\n"
    "[convolutional]\nfilters=45\nsize=1\nstride=1\npad=1\nactivation=linear\n\n"
    "[yolo]\nmask=0,1,2\nanchors=12,29,  29,14,  24,30\nclasses=10\nnum=3\njitter=.1\nignore_thresh=.7\n"
    "truth_thresh=1\nrandom=0\n";

#define in_root(...) abc_test_pathf(root, __VA_ARGS__)

#define run abc_test_runf

/* The demo on the fixture's model: "<darknet> detector demo <data> <cfg> <weights> <args>". */
static abc_run_result run_demo(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static abc_run_result run_demo(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *args;
    ck_assert(vasprintf(&args, fmt, ap) > 0);
    va_end(ap);
    abc_run_result r = run("%s detector demo %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights %s",
                           abc_test_darknet_path(), root, root, root, args);
    free(args);
    return r;
}

static void rm_root(void)
{
    if (!root[0] || getpid() != root_owner) return;
    abc_run_result r = run("rm -rf '%s'", root);
    abc_run_free(&r);
    root[0] = 0;
}

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/abc-demo-XXXXXX", base && *base ? base : "/tmp");
    ck_assert(mkdtemp(root) != NULL);
    root_owner = getpid();
    atexit(rm_root);
    abc_run_result r = run("%s data fmnist-detect -out %s/set -n 8 -valid 4 -size 64 -seed 3 -video_frames %d "
                           "-video_size %d", abc_test_darknet_path(), root, FRAMES, SIDE);
    if (r.status) fprintf(stderr, "demo fixture: %s\n", r.out);
    abc_run_free(&r);
    char *data;
    ck_assert(asprintf(&data, "classes=10\ntrain=%s/set/train.list\nvalid=%s/set/valid.list\n"
                       "names=%s/set/fmnist-detect.names\nbackup=%s/backup/\n", root, root, root, root) > 0);
    free(abc_test_write(root, "det.data", data));
    free(data);
    char *cfg = abc_test_write(root, "tiny.cfg", cfg_text), *weights = in_root("backup/tiny_final.weights");
    char *dir = in_root("backup");
    ck_assert(mkdir(dir, 0755) == 0);
    srand(5);
    network *net = load_network(cfg, NULL, 0);
    for (int i = 0; i < net->n; ++i) /* darknet starts them at 0: inference would divide by sqrt(1e-6) */
        if (net->layers[i].batch_normalize)
            for (int f = 0; f < net->layers[i].out_c; ++f) net->layers[i].rolling_variance[f] = 1;
    save_weights(net, weights);
    free_network(net);
    fixture_ok = access(weights, R_OK) == 0;
    free(cfg), free(weights), free(dir);
}

static void teardown(void) { rm_root(); }

static void need_fixture(void) { ck_assert_msg(fixture_ok, "the demo fixture (set, video, model) failed"); }

/* "width,height,rate,frames" of a video by ffprobe, counting the frames it decodes. */
static char *probe(const char *path)
{
    abc_run_result r = run("ffprobe -v error -count_frames -select_streams v:0 -show_entries "
                           "stream=width,height,r_frame_rate,nb_read_frames -of csv=p=0 '%s'", path);
    ck_assert_msg(r.status == 0, "ffprobe %s: %s", path, r.out);
    char *s = strdup(r.out);
    s[strcspn(s, "\n")] = 0;
    abc_run_free(&r);
    return s;
}

/* Checks the JSON lines of a demo: one per frame, in order, each one object whose boxes are inside w x h with a
 * confidence in [thresh, 1]. Returns the number of boxes. */
static int check_json_lines(const char *path, int frames, int w, int h, double thresh)
{
    char *text = abc_test_slurp(path);
    ck_assert_int_eq(abc_test_count_lines(text), frames);
    int f = 0, boxes = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), ++f) {
        ck_assert_msg(abc_test_json_valid(line), "line %d is not JSON: %.200s", f + 1, line);
        int got;
        ck_assert_msg(sscanf(line, "{\"frame\": %d, ", &got) == 1 && got == f, "line %d: %.80s", f + 1, line);
        for (const char *p = strstr(line, "\"confidence\": "); p; p = strstr(p + 1, "\"confidence\": ")) {
            float c, x0, y0, x1, y1;
            ck_assert(sscanf(p, "\"confidence\": %f, \"x0\": %f, \"y0\": %f, \"x1\": %f, \"y1\": %f", &c, &x0, &y0,
                             &x1, &y1) == 5);
            ck_assert_msg(c >= thresh - 1e-4 && c <= 1, "frame %d: confidence %g", f, c);
            ck_assert_msg(x0 >= 0 && y0 >= 0 && x1 <= w && y1 <= h && x0 <= x1 && y0 <= y1,
                          "frame %d: box %g %g %g %g outside %dx%d", f, x0, y0, x1, y1, w, h);
            ++boxes;
        }
    }
    free(text);
    return boxes;
}

/* No file of root's top level holds ".tmp." (atomic writes left behind). */
static void no_temporaries(void)
{
    DIR *d = opendir(root);
    ck_assert(d != NULL);
    for (struct dirent *e; (e = readdir(d));) ck_assert_msg(!strstr(e->d_name, ".tmp."), "left behind: %s", e->d_name);
    closedir(d);
}

START_TEST(demo_writes_video_json_and_scores)
{
    need_fixture();
    abc_run_result r = run_demo("%s/set-video/video.mp4 -out_filename %s/out.mp4 -json %s/out.jsonl -thresh 0.05 "
                            "-truth %s/set-video/truth.jsonl", root, root, root, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    char want[64];
    snprintf(want, sizeof want, "%d frames in ", FRAMES);
    ck_assert_msg(strstr(r.out, want) && strstr(r.out, " fps end to end; the network alone "), "%s", r.out);
    const char *m = strstr(r.out, "mAP@0.5 over ");
    double map = -1;
    ck_assert_msg(m && sscanf(m, "mAP@0.5 over %*d frames: %lf%%", &map) == 1 && map >= 0 && map <= 100, "%s", r.out);
    abc_run_free(&r);
    char *out = in_root("out.mp4"), *json = in_root("out.jsonl"), *in = in_root("set-video/video.mp4");
    char *pin = probe(in), *pout = probe(out);
    ck_assert_str_eq(pout, pin);
    snprintf(want, sizeof want, "%d,%d,30/1,%d", SIDE, SIDE, FRAMES);
    ck_assert_str_eq(pout, want);
    ck_assert_int_gt(check_json_lines(json, FRAMES, SIDE, SIDE, 0.05), 0);
    no_temporaries();
    free(pin), free(pout), free(out), free(json), free(in);
}
END_TEST

/* MPEG-4 in AVI at an odd size, in and out (the output padded to even sides, as 4:2:0 needs). */
START_TEST(demo_avi_odd_size)
{
    need_fixture();
    abc_run_result r = run("ffmpeg -loglevel error -nostdin -y -i %s/set-video/video.mp4 -vf scale=95:77 -c:v mpeg4 "
                           "-q:v 4 %s/odd.avi", root, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    r = run_demo("%s/odd.avi -out_filename %s/odd-out.avi -json %s/odd.jsonl -thresh 0.1", root, root, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    char *out = in_root("odd-out.avi"), *json = in_root("odd.jsonl");
    char *p = probe(out), want[64];
    snprintf(want, sizeof want, "96,78,30/1,%d", FRAMES);
    ck_assert_str_eq(p, want);
    check_json_lines(json, FRAMES, 95, 77, 0.1);
    free(p), free(out), free(json);
}
END_TEST

/* With neither -out_filename nor -json: predictions.mp4 in the current directory; -benchmark: nothing at all. */
START_TEST(demo_default_output_and_benchmark)
{
    need_fixture();
    char *dir = in_root("cwd");
    ck_assert(mkdir(dir, 0755) == 0);
    char *exe = realpath(abc_test_darknet_path(), NULL);
    ck_assert(exe != NULL);
    abc_run_result r = run("cd %s && %s detector demo %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights "
                           "%s/set-video/video.mp4 -frames 5", dir, exe, root, root, root, root);
    ck_assert_msg(r.status == 0 && strstr(r.out, "5 frames in "), "%s", r.out);
    abc_run_free(&r);
    char *pred = in_root("cwd/predictions.mp4"), *p = probe(pred), want[64];
    snprintf(want, sizeof want, "%d,%d,30/1,5", SIDE, SIDE);
    ck_assert_str_eq(p, want);
    unlink(pred);
    r = run("cd %s && %s detector demo %s/det.data %s/tiny.cfg %s/backup/tiny_final.weights %s/set-video/video.mp4 "
            "-benchmark", dir, exe, root, root, root, root);
    snprintf(want, sizeof want, "%d frames in ", FRAMES);
    ck_assert_msg(r.status == 0 && strstr(r.out, want), "%s", r.out);
    abc_run_free(&r);
    r = run("ls -A %s", dir);
    ck_assert_msg(r.status == 0 && !r.out[0], "-benchmark wrote: %s", r.out);
    abc_run_free(&r);
    free(pred), free(p), free(exe), free(dir);
}
END_TEST

/* A truncated AVI: the frames before the cut, as many in the video as in the JSON. */
START_TEST(demo_truncated_avi)
{
    need_fixture();
    abc_run_result r = run("ffmpeg -loglevel error -nostdin -y -i %s/set-video/video.mp4 -c:v mpeg4 -q:v 4 %s/full.avi"
                           " && head -c $(( $(stat -c %%s %s/full.avi) * 6 / 10 )) %s/full.avi > %s/cut.avi", root,
                           root, root, root, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    abc_run_free(&r);
    r = run_demo("%s/cut.avi -out_filename %s/cut-out.mp4 -json %s/cut.jsonl", root, root, root);
    ck_assert_msg(r.status == 0, "%s", r.out);
    int frames = -1;
    const char *at = strstr(r.out, " frames in ");
    while (at && at > r.out && at[-1] >= '0' && at[-1] <= '9') --at;
    ck_assert_msg(at && sscanf(at, "%d frames in ", &frames) == 1, "%s", r.out);
    ck_assert_msg(frames > 0 && frames < FRAMES, "%d frames from a file cut at 60%%:\n%s", frames, r.out);
    abc_run_free(&r);
    char *out = in_root("cut-out.mp4"), *json = in_root("cut.jsonl"), *p = probe(out);
    int n = -1;
    ck_assert(sscanf(p, "%*d,%*d,%*[^,],%d", &n) == 1);
    ck_assert_int_eq(n, frames);
    check_json_lines(json, frames, SIDE, SIDE, 0.25);
    free(out), free(json), free(p);
}
END_TEST

START_TEST(demo_bad_inputs)
{
    need_fixture();
    abc_run_result r = run("head -c 3000 %s/set-video/video.mp4 > %s/cut.mp4 && echo hello > %s/text.mp4 && "
                           "printf '{\"frame\": 0, \"boxes\": []}\\n{\"frame\": 1, \"boxes\": [{\"class_id\": 12, "
                           "\"x0\": 1, \"y0\": 1, \"x1\": 2, \"y1\": 2}]}\\n' > %s/bad.jsonl", root, root, root, root);
    ck_assert_int_eq(r.status, 0);
    abc_run_free(&r);
    struct {
        const char *args, *says;
    } cases[] = {
        {"%s/nosuch.mp4", "nosuch.mp4"},
        {"%s/text.mp4", "text.mp4"},
        {"%s/cut.mp4", "cut.mp4"},
        {"%s/set-video/video.mp4 -out_filename %s/nodir/out.mp4", "nodir/out.mp4"},
        {"%s/set-video/video.mp4 -out_filename %s/out.xyz", "out.xyz"},
        {"%s/set-video/video.mp4 -json %s/nodir/out.jsonl", "nodir/out.jsonl"},
        {"%s/set-video/video.mp4 -benchmark -json %s/b.jsonl", "-benchmark"},
        {"%s/set-video/video.mp4 -truth %s/bad.jsonl", "bad.jsonl' line 2"},
        {"%s/set-video/video.mp4 -truth %s/nosuch.jsonl", "nosuch.jsonl"},
        {"%s/set-video/video.mp4 -frames 0", "-frames"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char args[9000];
        snprintf(args, sizeof args, cases[i].args, root, root);
        if (strstr(args, "-out_filename") || strstr(args, "-benchmark")) r = run_demo("%s", args);
        else r = run_demo("%s -out_filename %s/bad%zu.mp4", args, root, i);
        const char *e = strstr(r.out, "darknet: error:");
        ck_assert_msg(r.status != 0 && e && !strstr(e + 1, "darknet: error:") && strstr(e, cases[i].says),
                      "%s: status %d:\n%s", args, r.status, r.out);
        ck_assert_msg(!strstr(r.out, "Sanitizer") && !strstr(r.out, "Segmentation"), "%s", r.out);
        abc_run_free(&r);
        char *bad = in_root("bad%zu.mp4", i);
        ck_assert_msg(access(bad, F_OK) != 0, "%s: %s left behind", args, bad);
        free(bad);
    }
    no_temporaries();
}
END_TEST

static Suite *suite_detector_demo(void)
{
    Suite *s = suite_create("detector_demo");
    TCase *tc = tcase_create("demo");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, demo_writes_video_json_and_scores);
    tcase_add_test(tc, demo_avi_odd_size);
    tcase_add_test(tc, demo_default_output_and_benchmark);
    tcase_add_test(tc, demo_truncated_avi);
    tcase_add_test(tc, demo_bad_inputs);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_detector_demo)
