/* ./darknet demo (make demo): what the project is for, in about five minutes. Prepares Fashion-MNIST if needed,
 * trains cfg/fmnist-small.cfg (float) from scratch, converts it to an XNOR model with `weights convert`,
 * fine-tunes that for one epoch, packs it with `weights pack`, and evaluates both on the 10,000 test images:
 * accuracy (packed and simulated for the binary one), file size and images/s side by side. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abc/base/files.h"
#include "abc/base/threads.h"
#include "abc/base/util.h"
#include "classifier_train.h"
#include "commands.h"
#include "data/fmnist.h"
#include "weights-tools/convert.h"
#include "weights-tools/pack.h"

#define DEMO_CFG "cfg/fmnist-small.cfg"
#define DEMO_BIN "backup/fmnist-small-xnor"
#define FINE_TUNE_ITERATIONS "470" /* one epoch of 128-image batches */

static void step(int i, const char *what)
{
    printf("\n== %d/6 %s\n", i, what);
    fflush(stdout);
}

/* Sets key=value in path's [net] section (the converted cfg keeps the float model's schedule). */
static void set_net_key(const char *path, const char *key, const char *value)
{
    FILE *in = fopen(path, "r");
    if (!in) abc_die("cannot open '%s': %s", path, strerror(errno));
    abc_atomic_file out;
    if (abc_atomic_open(&out, path)) abc_die("cannot write '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, klen = strlen(key);
    int in_net = 0, done = 0;
    while (getline(&line, &cap, in) >= 0) {
        if (line[0] == '[') in_net = !strncmp(line, "[net]", 5);
        if (in_net && !done && !strncmp(line, key, klen) && line[klen] == '=') {
            fprintf(out.fp, "%s=%s\n", key, value);
            done = 1;
        } else {
            fputs(line, out.fp);
        }
    }
    free(line);
    fclose(in);
    if (!done) {
        abc_atomic_abort(&out);
        abc_die("'%s' has no %s= in [net]", path, key);
    }
    if (abc_atomic_commit(&out)) abc_die("writing '%s' failed (disk full?)", path);
}

static double kib(const char *path)
{
    struct stat sb;
    return stat(path, &sb) ? 0 : sb.st_size / 1024.0;
}

static int demo_run(const abc_cli *a)
{
    (void)a;
    if (!abc_file_exists(DEMO_CFG)) abc_die("cannot open cfg file '%s' (run from the repository root)", DEMO_CFG);
    if (!abc_fmnist_ready()) {
        step(1, "Preparing Fashion-MNIST in " ABC_FMNIST_DIR);
        abc_fmnist_prepare(ABC_FMNIST_DIR, 0);
    } else {
        step(1, "Fashion-MNIST already in " ABC_FMNIST_DIR);
    }
    step(2, "Training the float model " DEMO_CFG " (progress every few seconds; Ctrl-C saves and stops)");
    abc_train_result tf;
    abc_train_opts fresh = {.clear = 1}, resume = {0};
    int rc = abc_classifier_train(ABC_FMNIST_DATA, DEMO_CFG, NULL, &fresh, &tf);
    if (rc) return rc;
    step(3, "Converting it to an XNOR model (weights convert -to xnor): first and last layers stay float");
    abc_convert_opts co = {"xnor", NULL, DEMO_BIN, 0};
    abc_weights_convert(DEMO_CFG, tf.final_path, &co);
    set_net_key(DEMO_BIN ".cfg", "max_batches", FINE_TUNE_ITERATIONS);
    step(4, "Fine-tuning the XNOR model for one epoch (" FINE_TUNE_ITERATIONS " iterations)");
    abc_train_result tb;
    rc = abc_classifier_train(ABC_FMNIST_DATA, DEMO_BIN ".cfg", DEMO_BIN ".weights", &resume, &tb);
    if (rc) return rc;
    step(5, "Packing it for deployment (weights pack): binary layers as bits");
    abc_weights_pack(DEMO_BIN ".cfg", tb.final_path, DEMO_BIN ".abcw", 0, 0);
    step(6, "Evaluating both on the 10,000 test images");
    abc_valid_result vf, vb;
    if ((rc = abc_classifier_valid(ABC_FMNIST_DATA, DEMO_CFG, tf.final_path, NULL, &vf))) return rc;
    if ((rc = abc_classifier_valid(ABC_FMNIST_DATA, DEMO_BIN ".cfg", DEMO_BIN ".abcw", NULL, &vb))) return rc;

    char f_acc[48], b_acc[48], f_file[64], b_file[64];
    snprintf(f_acc, sizeof f_acc, "%.2f%%", vf.top1);
    snprintf(b_acc, sizeof b_acc, "%.2f%% / %.2f%%", vb.top1, vb.top1_sim);
    snprintf(f_file, sizeof f_file, "%.0f KiB (.weights)", kib(tf.final_path));
    snprintf(b_file, sizeof b_file, "%.0f KiB (packed)", kib(DEMO_BIN ".abcw"));
    printf("\nDemo result: Fashion-MNIST, %d test images, %d threads\n", vf.images, abc_get_threads());
    printf("  %-6s  %-26s  %-20s  %8s  %s\n", "model", "top-1 (packed / simulated)", "file", "images/s", "training");
    printf("  %-6s  %-26s  %-20s  %8.0f  %d iterations, %.0f s\n", "float", f_acc, f_file, vf.images_per_s,
           tf.iterations, tf.seconds);
    printf("  %-6s  %-26s  %-20s  %8.0f  + %d iterations, %.0f s\n", "xnor", b_acc, b_file, vb.images_per_s,
           tb.iterations, tb.seconds);
    printf("\nfiles: %s (float), %s.cfg + %s (binary, trainable), %s.abcw (binary, packed)\n", tf.final_path,
           DEMO_BIN, tb.final_path, DEMO_BIN);
    printf("try:   ./darknet classifier predict %s.cfg %s.abcw %s/test/00000_Ankleboot.png\n", DEMO_BIN, DEMO_BIN,
           ABC_FMNIST_DIR);
    return 0;
}

const abc_cmd abc_demo_cmd = {
    .name = "demo",
    .what = "train a float model, convert it to XNOR, fine-tune, pack, compare both on the test set (make demo)",
    .notes = "Run from the repository root (about five minutes on 2 cores). Prints accuracy, file sizes and speed\n"
             "of the float and the binary model side by side, and the files' paths. Ctrl-C saves a checkpoint\n"
             "during training, or prints the partial result during an evaluation, and stops.",
    .run = demo_run,
};
