/* detector test: the detections of one image (or of each path read from
 * stdin) drawn into a PNG, printed as darknet prints them ("name: 87%"),
 * with -ext_output their boxes, with -out a JSON file. */
#include "detector_cmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/netio.h"
#include "data_file.h"
#include "detector.h"
#include "detector_common.h"
#include "draw.h"
#include "image_load.h"
#include "json.h"
#include "weights-tools/summary.h"


typedef struct {
    network *net;
    const abc_strs *names;
    const abc_det_test_opts *o;
    FILE *json;
    int images;
    int numbered; /* paths from stdin: every picture is <prefix>_<n>.png */
} test_ctx;

static void test_one(test_ctx *t, const char *path)
{
    abc_check_image_file(path);
    abc_image_buf buf = {0};
    image im = abc_load_image_color(path, 0, 0, &buf);
    abc_image_buf_free(&buf);
    abc_det_map_opts mo = abc_det_map_default_opts();
    mo.thresh = t->o->thresh;
    abc_det *d = NULL;
    int n = 0, cap = 0;
    double t0 = abc_now();
    abc_det_image(t->net, im, t->images, &mo, &d, &n, &cap);
    printf("%s: Predicted in %.2f milli-seconds.\n", path, 1e3 * (abc_now() - t0));
    abc_draw_box *boxes = abc_xcalloc((size_t)(n ? n : 1), sizeof *boxes);
    for (int i = 0; i < n; ++i) {
        const abc_det *e = &d[i];
        printf("%s: %.0f%%", t->names->v[e->cls], 100 * e->score);
        if (t->o->ext_output)
            printf("\t(left_x: %4.0f   top_y: %4.0f   width: %4.0f   height: %4.0f)", e->box.x0, e->box.y0,
                   e->box.x1 - e->box.x0, e->box.y1 - e->box.y0);
        printf("\n");
        abc_draw_box b = {e->box.x0, e->box.y0, e->box.x1, e->box.y1, e->cls, e->score};
        boxes[i] = b;
    }
    char png[4400], err[512];
    if (t->numbered) snprintf(png, sizeof png, "%s_%d.png", t->o->out_prefix, t->images);
    else snprintf(png, sizeof png, "%s.png", t->o->out_prefix);
    if (abc_draw_detections_png(png, im.data, im.w, im.h, im.c, boxes, n, (const char *const *)t->names->v,
                                t->names->n, err, sizeof err))
        abc_die("%s", err);
    if (t->json) {
        fprintf(t->json, "%s{\"image\": ", t->images ? ",\n" : "");
        abc_json_string(t->json, path);
        fprintf(t->json, ", \"width\": %d, \"height\": %d, \"picture\": ", im.w, im.h);
        abc_json_string(t->json, png);
        fprintf(t->json, ", \"objects\": [");
        for (int i = 0; i < n; ++i) {
            fprintf(t->json, "%s{\"class_id\": %d, \"name\": ", i ? ", " : "", d[i].cls);
            abc_json_string(t->json, t->names->v[d[i].cls]);
            fprintf(t->json, ", \"confidence\": %.6f, \"left_x\": %.2f, \"top_y\": %.2f, \"width\": %.2f, "
                    "\"height\": %.2f}", d[i].score, d[i].box.x0, d[i].box.y0, d[i].box.x1 - d[i].box.x0,
                    d[i].box.y1 - d[i].box.y0);
        }
        fprintf(t->json, "]}");
    }
    fflush(stdout);
    ++t->images;
    free(boxes);
    free(d);
    free_image(im);
}

static void test_each(void *ctx, const char *path) { test_one(ctx, path); }

int abc_detector_test(const char *datafile, const char *cfg, const char *weights, const char *image,
                      const abc_det_test_opts *o)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs names = abc_det_names_load(&d);
    abc_parse_set_batch(1);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    abc_print_model_summary(net, stderr);
    abc_det_check_net(net, cfg, &d);
    set_batch_network(net, 1);
    test_ctx t = {net, &names, o, NULL, 0, !image};
    /* the JSON in memory, written at the end: a bad path on stdin or an unwritable picture stops the command
     * without leaving a temporary file (abc_die does not remove it) */
    char *jbuf = NULL;
    size_t jlen = 0;
    if (o->out_json) {
        abc_atomic_file probe; /* writable: said now */
        if (abc_atomic_open(&probe, o->out_json)) abc_die("cannot write '%s': %s", o->out_json, strerror(errno));
        abc_atomic_abort(&probe);
        t.json = open_memstream(&jbuf, &jlen);
        if (!t.json) abc_die("out of memory (JSON)");
        fputs("[\n", t.json);
    }
    if (image) {
        test_one(&t, image);
    } else {
        abc_each_stdin_path(test_each, &t);
    }
    if (t.json) {
        fputs("\n]\n", t.json);
        if (fclose(t.json)) abc_die("out of memory (JSON)");
        abc_atomic_file jf;
        if (abc_atomic_open(&jf, o->out_json)) abc_die("cannot write '%s': %s", o->out_json, strerror(errno));
        fwrite(jbuf, 1, jlen, jf.fp);
        if (abc_atomic_commit(&jf)) abc_die("writing '%s' failed (disk full?)", o->out_json);
        free(jbuf);
    }
    abc_free_network(net);
    abc_strs_free(&names);
    abc_data_cfg_free(&d);
    return 0;
}
