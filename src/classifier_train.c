/* classifier train: darknet's classification loader through the project's
 * training loop (train_loop.h). */
#include "classifier_train.h"

#include <stdlib.h>
#include <time.h>

#include "abc/base/threads.h"
#include "abc/netio.h"
#include "classifier_common.h"
#include "dist.h"
#include "distill.h"

static void distill_step(void *ctx, data *batch) { abc_distill_targets(ctx, batch); }
static float distill_loss(void *ctx, network *net, const data *batch, float loss)
{
    (void)ctx, (void)loss;
    return abc_distill_loss(net, batch);
}

int abc_classifier_train(const char *datafile, const char *cfg, const char *weights, const abc_train_opts *o,
                         abc_train_result *res)
{
    abc_train_opts none = {0};
    if (!o) o = &none;
    abc_train_seed(o);
    abc_data_cfg d = abc_data_cfg_read(datafile);
    abc_strs labels = abc_labels_load(&d);
    abc_strs paths = abc_list_load(&d, "train", &labels, 0, NULL);
    network *net = abc_cls_load_network(cfg, weights, o->clear);
    abc_check_net_for_data(net, cfg, &d);

    load_args args = {0};
    args.w = net->w;
    args.h = net->h;
    args.size = net->w;
    args.threads = abc_get_threads() < 2 ? 2 : abc_get_threads();
    args.hierarchy = net->hierarchy;
    args.min = (int)(net->min_ratio * net->w);
    args.max = (int)(net->max_ratio * net->w);
    args.angle = net->angle;
    args.aspect = net->aspect;
    args.exposure = net->exposure;
    args.saturation = net->saturation;
    args.hue = net->hue;
    args.center = net->center;
    args.paths = paths.v;
    args.classes = d.classes;
    args.m = paths.n;
    args.labels = labels.v;
    args.type = CLASSIFICATION_DATA;

    abc_train_setup setup = {cfg, d.backup, d.train, paths.n, weights, *o};
    abc_distill *teacher = abc_distill_open(cfg, net);
    abc_train_hooks hooks = {teacher, NULL, teacher ? distill_step : NULL, teacher ? distill_loss : NULL, NULL};
    abc_train_result local;
    if (!res) res = &local;
    int rc = abc_train_loop(net, args, &setup, &hooks, res);
    if (teacher && abc_dist_rank() == 0) abc_distill_report(teacher, stdout, res->seconds);
    abc_distill_close(teacher);
    abc_free_network(net);
    abc_strs_free(&paths);
    abc_strs_free(&labels);
    abc_data_cfg_free(&d);
    return rc;
}
