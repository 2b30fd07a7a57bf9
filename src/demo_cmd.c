/* ./darknet demo (make demo): prepare Fashion-MNIST if needed, train
 * cfg/fmnist-small.cfg from scratch, evaluate it on the 10,000 test images. */
#include <string.h>

#include "abc/base/files.h"
#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "classifier_train.h"
#include "commands.h"
#include "data/fmnist.h"

#define DEMO_CFG "cfg/fmnist-small.cfg"

static int demo_run(const abc_cli *a)
{
    if (!abc_file_exists(DEMO_CFG)) abc_die("cannot open cfg file '%s' (run from the repository root)", DEMO_CFG);
    if (!abc_fmnist_ready()) {
        printf("== 1/3 Preparing Fashion-MNIST in %s\n", ABC_FMNIST_DIR);
        fflush(stdout);
        abc_fmnist_prepare(ABC_FMNIST_DIR, 0);
    } else {
        printf("== 1/3 Fashion-MNIST already in %s\n", ABC_FMNIST_DIR);
    }
    printf("== 2/3 Training %s (progress every few seconds; Ctrl-C saves a checkpoint and stops)\n", DEMO_CFG);
    fflush(stdout);
    abc_train_result tr;
    int rc = abc_classifier_train(ABC_FMNIST_DATA, DEMO_CFG, NULL, 1, &tr);
    if (rc) return rc;
    printf("== 3/3 Evaluating on the test set\n");
    fflush(stdout);
    abc_valid_result vr;
    rc = abc_classifier_valid(ABC_FMNIST_DATA, DEMO_CFG, tr.final_path, NULL, &vr);
    if (rc) return rc;
    printf("\nDemo result: top-1 %.2f%%, top-%d %.2f%% on %d test images\n", vr.top1, vr.k, vr.topk, vr.images);
    printf("  training: %d iterations in %.1f s (%.0f images/s, %d threads)\n", tr.iterations, tr.seconds,
           tr.images_per_s, abc_get_threads());
    printf("  inference: %.0f images/s\n", vr.images_per_s);
    printf("  weights: %s\n", tr.final_path);
    printf("  try: ./darknet classifier predict %s %s %s/test/00000_Ankleboot.png\n", DEMO_CFG, tr.final_path,
           ABC_FMNIST_DIR);
    return 0;
}

const abc_cmd abc_demo_cmd = {
    .name = "demo",
    .what = "prepare Fashion-MNIST, train " DEMO_CFG " from scratch, evaluate it on the test set (make demo)",
    .notes = "Run from the repository root. Prints accuracy, training and inference speed, and the weights' path.\n"
             "Ctrl-C saves a checkpoint during training, or prints the partial result during the evaluation, and stops.",
    .run = demo_run,
};
