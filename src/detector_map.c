/* detector map (AlexeyAB's: per-class AP, mAP@0.5, mAP@[.5:.95], P/R/F1 and
 * average IoU at a threshold, forward speed; packed and simulated side by
 * side for binary models) and detector valid (darknet's per-class result
 * files and a COCO results JSON). */
#include "detector_cmds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/mode.h"
#include "abc/base/util.h"
#include "abc/registry.h"
#include "abc/netio.h"
#include "detector.h"
#include "detector_common.h"
#include "image_load.h"
#include "json.h"
#include "progress.h"
#include "weights-tools/summary.h"

static int has_binary_layers(const network *net)
{
    for (int i = 0; i < net->n; ++i)
        if (abc_registry_of(&net->layers[i])) return 1;
    return 0;
}

static network *load_for_eval(const char *cfg, const char *weights, const abc_data_cfg *d)
{
    abc_parse_set_batch(1);
    network *net = load_network((char *)cfg, (char *)weights, 0);
    abc_print_model_summary(net, stderr);
    abc_det_check_net(net, cfg, d);
    return net;
}

int abc_detector_map(const char *datafile, const char *cfg, const char *weights, const abc_det_map_cmd_opts *c)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs names = abc_det_names_load(&d);
    int listed;
    abc_strs paths = abc_det_list_load(&d, "valid", c->limit, &listed);
    network *net = load_for_eval(cfg, weights, &d);
    abc_det_map_opts o = abc_det_map_default_opts();
    o.conf_thresh = c->thresh;
    o.iou_thresh = c->iou_thresh;
    o.quiet = c->json;
    abc_det_map_summary s, sim = {0};
    abc_map_result r;
    abc_stop_guard guard;
    abc_stop_catch(&guard);
    abc_det_map_run(net, &d, &paths, &o, &s, &r);
    int sig = abc_stop_signal();
    int compare = !sig && has_binary_layers(net) && abc_mode_choice(ABC_MODE_INFERENCE) != ABC_INFERENCE_SIM;
    if (compare) {
        abc_mode_set(ABC_MODE_INFERENCE, "sim");
        o.quiet = 1;
        abc_det_map_run(net, &d, &paths, &o, &sim, NULL);
        abc_mode_set(ABC_MODE_INFERENCE, NULL);
    }
    const char *const *nv = (const char *const *)names.v;
    if (c->json) {
        abc_map_print_json(stdout, &r, nv);
    } else {
        if (sig) printf("interrupted by %s after %d of %d images, partial result:\n", abc_stop_name(sig), s.images, paths.n);
        abc_map_print(stdout, &r, nv);
        printf("%d images%s, forward %.2f ms an image (median, letterbox and NMS included, %d x %d, batch 1)\n",
               s.images, paths.n < listed ? " (-limit)" : "", s.forward_ms, net->w, net->h);
        if (compare)
            printf("quantized layers: mAP@%.2f %.2f%% packed (as above), %.2f%% through the training path's float "
                   "simulation: difference %+.2f points (mAP@[.5:.95] %.2f%% and %.2f%%)\n",
                   o.iou_thresh, 100 * s.map, 100 * sim.map, 100 * (s.map - sim.map), 100 * s.map_coco,
                   100 * sim.map_coco);
    }
    fflush(stdout);
    abc_stop_release(&guard);
    abc_map_free(&r);
    abc_free_network(net);
    abc_strs_free(&paths);
    abc_strs_free(&names);
    abc_data_cfg_free(&d);
    return sig ? 128 + sig : 0;
}

/* COCO's image ids are numbers: a file name of digits is written as its number, any other as a string. */
static void print_image_id(FILE *fp, const char *id)
{
    if (*id && strspn(id, "0123456789") == strlen(id) && strlen(id) < 16) {
        fprintf(fp, "%lld", strtoll(id, NULL, 10));
        return;
    }
    abc_json_string(fp, id);
}

/* "…/dir/000123.png" -> "000123" */
static void stem(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    snprintf(out, n, "%.*s", (int)(dot ? dot - b : (long)strlen(b)), b);
}

/* A result file, kept in memory until the end and then written atomically, one file at a time: an error or a
 * signal on the way leaves no temporary files behind (with every file open at once there would be classes + 1
 * of them, more than the 8 that base/files.c removes on a signal). */
typedef struct {
    char path[4400];
    char *buf;
    size_t len;
    FILE *fp;
} result_file;

static void result_open(result_file *r)
{
    r->fp = open_memstream(&r->buf, &r->len);
    if (!r->fp) abc_die("out of memory (results)");
}

static void result_write(result_file *r)
{
    if (fclose(r->fp)) abc_die("out of memory (results)");
    abc_atomic_file f;
    if (abc_atomic_open(&f, r->path)) abc_die("cannot write '%s': %s", r->path, strerror(errno));
    if (r->len) fwrite(r->buf, 1, r->len, f.fp);
    if (abc_atomic_commit(&f)) abc_die("writing '%s' failed (disk full?)", r->path);
    free(r->buf);
}

int abc_detector_valid(const char *datafile, const char *cfg, const char *weights, const char *out_dir)
{
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs names = abc_det_names_load(&d);
    abc_strs paths = abc_det_list_load(&d, "valid", 0, NULL);
    network *net = load_for_eval(cfg, weights, &d);
    set_batch_network(net, 1);
    if (abc_mkdirs(out_dir)) abc_die("cannot create output directory '%s': %s", out_dir, strerror(errno));
    result_file *per = abc_xcalloc((size_t)d.classes + 1, sizeof *per), *coco = &per[d.classes];
    for (int c = 0; c < d.classes; ++c) {
        snprintf(per[c].path, sizeof per[c].path, "%s/comp4_det_test_%s.txt", out_dir, names.v[c]);
        result_open(&per[c]);
    }
    snprintf(coco->path, sizeof coco->path, "%s/coco_results.json", out_dir);
    result_open(coco);
    abc_atomic_file probe; /* the directory is writable: said now, not after the run */
    if (abc_atomic_open(&probe, coco->path)) abc_die("cannot write '%s': %s", coco->path, strerror(errno));
    abc_atomic_abort(&probe);
    fputs("[", coco->fp);
    abc_det_map_opts o = abc_det_map_default_opts();
    abc_det *dets = NULL;
    int nd = 0, cap = 0, first = 1;
    double t0 = abc_now(), last = t0;
    abc_image_buf buf = {0};
    for (int i = 0; i < paths.n; ++i) {
        image im = abc_load_image_color(paths.v[i], 0, 0, &buf);
        nd = 0;
        abc_det_image(net, im, i, &o, &dets, &nd, &cap);
        char id[512];
        stem(paths.v[i], id, sizeof id);
        for (int k = 0; k < nd; ++k) {
            const abc_det *e = &dets[k];
            /* darknet's files: 1-based pixel corners, clipped to the image */
            float x0 = e->box.x0 < 0 ? 0 : e->box.x0, y0 = e->box.y0 < 0 ? 0 : e->box.y0;
            float x1 = e->box.x1 > im.w ? (float)im.w : e->box.x1, y1 = e->box.y1 > im.h ? (float)im.h : e->box.y1;
            fprintf(per[e->cls].fp, "%s %f %f %f %f %f\n", id, e->score, x0 + 1, y0 + 1, x1 + 1, y1 + 1);
            fprintf(coco->fp, "%s\n{\"image_id\": ", first ? "" : ",");
            print_image_id(coco->fp, id);
            fprintf(coco->fp, ", \"category_id\": %d, \"bbox\": [%.3f, %.3f, %.3f, %.3f], \"score\": %.6f}", e->cls,
                    x0, y0, x1 - x0, y1 - y0, e->score);
            first = 0;
        }
        free_image(im);
        double now = abc_now();
        if (now - last >= 3.0 && i + 1 < paths.n) {
            fprintf(stderr, "valid: %d/%d images\n", i + 1, paths.n);
            last = now;
        }
    }
    abc_image_buf_free(&buf);
    fputs("\n]\n", coco->fp);
    for (int c = 0; c <= d.classes; ++c) result_write(&per[c]);
    printf("%d images: results in %s/comp4_det_test_<class>.txt and %s (%.1f s)\n", paths.n, out_dir, coco->path,
           abc_now() - t0);
    free(per);
    free(dets);
    abc_free_network(net);
    abc_strs_free(&paths);
    abc_strs_free(&names);
    abc_data_cfg_free(&d);
    return 0;
}
