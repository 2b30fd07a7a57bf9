/* Shared helpers of the Check suites: suite registration, temp dirs, files,
 * running ./darknet as a user would. */
#ifndef ABC_TEST_UTIL_H
#define ABC_TEST_UTIL_H

#include <check.h>
#include <sys/types.h>

#include "darknet.h"
#include "kernels/select.h"

/* Each tests/test_*.c registers its suites from a constructor:
 *   ABC_TEST_SUITE(suite_parser)   where Suite *suite_parser(void) */
void abc_test_register(Suite *(*make)(void), const char *name);
/* test_dist.c: one rank of a 2-rank training run under mpirun (spec: see there). */
int abc_test_dist_worker(const char *spec);
#define ABC_TEST_SUITE(fn) \
    __attribute__((constructor)) static void register_##fn(void) { abc_test_register(fn, #fn); }

/* A fresh directory under $TMPDIR (removed at exit); returns its path. */
const char *abc_test_tmpdir(void);
/* Writes text to dir/name; returns the malloc'd full path. */
char *abc_test_write(const char *dir, const char *name, const char *text);
/* The whole file as a malloc'd string (fails the test if unreadable). */
char *abc_test_slurp(const char *path);

typedef struct {
    int status;    /* exit status, or -1 */
    int signal;    /* terminating signal, or 0 */
    char *out;     /* stdout and stderr together */
} abc_run_result;
/* Runs "<darknet> args" (ABC_DARKNET, default ../darknet) through sh. */
abc_run_result abc_test_run_darknet(const char *args);
abc_run_result abc_test_run(const char *cmdline);
void abc_run_free(abc_run_result *r);
/* Starts "darknet <words...>" (NULL-ended) with stdout and stderr into log; returns its pid. */
pid_t abc_test_start_darknet(const char *log, const char *const *words);
/* Starts "darknet <words...>" with its output into log, waits (up to a minute) for the file ckpt to appear, then
 * a random 0-300 ms more, and kills it with SIGKILL; asserts that it was killed (not ended) after ckpt
 * appeared. */
void abc_test_kill_after_checkpoint(const char *log, const char *const *words, const char *ckpt);
/* Waits up to `seconds` for a line of log starting with prefix: 1; 0 when pid exits first or the time is up
 * (then pid, which may run for hours, is killed). */
int abc_test_wait_for_line(const char *log, const char *prefix, pid_t pid, int seconds);
/* "dir/<formatted name>" (malloc'd); a shell command or darknet's arguments, formatted, then run as above. */
char *abc_test_pathf(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
abc_run_result abc_test_runf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
abc_run_result abc_test_darknetf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Number of non-empty lines of s. */
int abc_test_count_lines(const char *s);
/* JSON (test_json.c): the end of the value at s (NULL if it is none), whitespace skipped, and whether the whole
 * text is one value. */
const char *abc_test_json_value(const char *s, int depth);
const char *abc_test_json_ws(const char *s);
int abc_test_json_valid(const char *text);
const char *abc_test_darknet_path(void);

/* Makes kernel family f (kernels/select.h) run its row i and returns it; NULL (and one line on stderr saying
 * so) when this CPU cannot run that kernel. abc_kernel_set(f, NULL) goes back to the default. */
const void *abc_test_use_kernel(abc_kernel_family *f, int i);

/* Asserts a clean failure: no signal, a non-zero exit, exactly one "darknet: error:" line, naming path (if not
 * NULL) and the expected substrings (the first n, or up to a NULL). */
void abc_test_expect_one_error(const char *what, const abc_run_result *r, const char *path,
                               const char *const *expect, int n);

/* Writes text as name in the temp dir (*path: its malloc'd path) and runs `darknet abc check` on it. */
abc_run_result abc_test_check_cfg(const char *name, const char *text, char **path);

/* The plain convolution of a CONVOLUTIONAL-shaped layer l (zero padding) of
 * input a with weights w (darknet order), plus l's biases, for l->batch
 * images, in double: the reference the layer tests compare with. */
void abc_test_direct_conv(const layer *l, const float *a, const float *w, float *out);

/* x rounded to bf16 as VCVTNEPS2BF16 does: nearest even, denormals to zero, NaN kept quiet. */
float abc_test_bf16_round(float x);

/* Uniform in [lo, hi] from rand_r(seed). */
float abc_test_urand(unsigned *seed, float lo, float hi);
/* A conv-shaped layer's parameters at random: weights and biases in [-0.5, 0.5], batch norm scales in
 * [0.5, 1.5], rolling means in [-0.5, 0.5], rolling variances in [0.5, 2] (in that order). */
void abc_test_fill_conv_params(layer *l, unsigned *seed);
/* A training network for l alone: batch images of input in [-2, 2], a zero input delta, l's workspace. */
network abc_test_layer_net(const layer *l, int batch, unsigned *seed);
void abc_test_layer_net_free(network *net);

/* Gradient checks: L = sum g*out after l's forward on net; and (L(p+eps) - L(p-eps)) / 2eps. With
 * l.delta = g, darknet's *_updates hold dL/dparam and net.delta dL/dinput after the backward. */
double abc_test_loss(const layer *l, network net, const float *g);
double abc_test_fd(const layer *l, network net, const float *g, float *p, float eps);

#endif
