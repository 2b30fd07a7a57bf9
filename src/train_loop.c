#include "train_loop.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "abc/base/files.h"
#include "abc/base/rng.h"
#include "abc/base/util.h"
#include "abc/netio.h"
#include "abc/packfile.h"
#include "abc/registry.h"
#include "abc/train_state.h"
#include "data_file.h"
#include "dist.h"
#include "precision.h"
#include "progress.h"

#define PROGRESS_SECONDS 3.0
#define CHECKPOINT_SECONDS 60.0
#define CHECKPOINT_ITERATIONS 1000
#define CHECKPOINT_RETRY_SECONDS 10.0
#define FINAL_SAVE_TRIES 3

/* Temp files "<base>.backup.tmp.<pid>" / "<base>_final.weights.tmp.<pid>"
 * left by a run killed with SIGKILL during a save (the real files are never
 * half-written: saves rename a complete temp file). */
static void remove_stale_temps(const char *dir, const char *base)
{
    DIR *dp = opendir(dir);
    if (!dp) return;
    size_t bl = strlen(base);
    struct dirent *e;
    while ((e = readdir(dp))) {
        const char *t = strstr(e->d_name, ".tmp.");
        if (!t || strncmp(e->d_name, base, bl)) continue;
        const char *rest = e->d_name + bl;
        if (strncmp(rest, ".backup.tmp.", 12) && strncmp(rest, "_final.weights.tmp.", 19)) continue;
        char *end;
        long pid = strtol(t + 5, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* its writer may still be running */
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) fprintf(stderr, "removed %s (left by a killed run)\n", path);
    }
    closedir(dp);
}

/* One training per cfg and backup directory: a second would overwrite the first's checkpoints. Returns the
 * lock's descriptor. */
static int lock_backup(const char *dir, const char *base, const char *cfg)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.lock", dir, base);
    long holder;
    int fd = abc_lock_file(path, &holder);
    if (fd >= 0) return fd;
    if (errno == EWOULDBLOCK && holder > 0)
        abc_die("another training (pid %ld) is writing %s's checkpoints into '%s' (lock %s): wait for it, or give "
                "this run another backup= directory", holder, cfg, dir, path);
    if (errno == EWOULDBLOCK)
        abc_die("another training is writing %s's checkpoints into '%s' (lock %s)", cfg, dir, path);
    abc_die("backup directory '%s' is not writable: cannot create %s: %s", dir, path, strerror(errno));
}

/* seen (images) from a checkpoint makes the iteration to resume at: refuses what no run could have written. */
static void check_seen(const network *net, const abc_train_setup *s, int imgs)
{
    size_t it = *net->seen / (size_t)imgs;
    if (it <= (size_t)INT_MAX / 2) return;
    abc_die("weights file '%s': its header's seen=%zu images would resume %s at iteration %zu of %d, beyond what "
            "any run writes (a corrupt header?); give -clear to start from these weights at iteration 0",
            s->weights ? s->weights : "?", *net->seen, s->cfg, it, net->max_batches);
}

static uint64_t run_seed;

/* Before the batch of iteration it is drawn: in one process, rand()'s state is kept for a checkpoint (restore:
 * draw it again); on N ranks, each rank's draws are seeded by the run's seed, the rank and it. */
static void draw_state(unsigned char rng[ABC_RNG_STATE_BYTES], int it, int restore)
{
    if (abc_dist_world() > 1) abc_rng_seed(abc_dist_batch_seed(run_seed, it));
    else if (restore) abc_rng_restore(rng);
    else abc_rng_save(rng);
}

abc_train_opts abc_train_opts_of(const abc_cli *a)
{
    abc_train_opts o = {0};
    o.clear = abc_cli_flag(a, "-clear");
    o.seeded = abc_cli_given(a, "-seed");
    o.seed = (unsigned long long)abc_cli_int(a, "-seed", 0);
    o.checkpoint_every = (int)abc_cli_int(a, "-checkpoint", 0);
    o.skip_bad_images = abc_cli_flag(a, "-skip_bad_images");
    return o;
}

void abc_train_seed(const abc_train_opts *o)
{
    abc_dist_init();
    run_seed = abc_dist_bcast_u64(o->seeded ? o->seed : (uint64_t)time(NULL));
    abc_rng_seed((unsigned)run_seed);
    abc_dist_quiet_begin(); /* until the loop starts: the lists and the network are read on every rank */
    abc_skip_bad_images(o->skip_bad_images);
}

uint64_t abc_train_run_seed(void) { return run_seed; }

/* A checkpoint with its training state (or, when a layer's momentum is unknown, the weights alone); a failure
 * is reported and the run goes on (the previous checkpoint is unchanged). */
static int try_checkpoint(network *net, const char *path, const abc_resume_info *r)
{
    char err[8400];
    if (abc_save_checkpoint_try(net, path, r, err, sizeof err) == 0) return 0;
    fprintf(stderr, "darknet: warning: %s; training goes on and tries again in %.0f s\n", err,
            CHECKPOINT_RETRY_SECONDS);
    return -1;
}

/* The last save of a run (r: with the training state): tried a few times, then one error line naming what is
 * kept. */
static void save_or_die(network *net, const char *path, const abc_resume_info *r, const char *kept)
{
    char err[8400];
    for (int k = 0; k < FINAL_SAVE_TRIES; ++k) {
        if (abc_save_checkpoint_try(net, path, r, err, sizeof err) == 0) return;
        fprintf(stderr, "darknet: warning: %s (try %d of %d)\n", err, k + 1, FINAL_SAVE_TRIES);
        if (k + 1 < FINAL_SAVE_TRIES) sleep(2);
    }
    abc_die("%s; %s", err, kept);
}

int abc_train_loop(network *net, load_args args, const abc_train_setup *s, const abc_train_hooks *hooks,
                   abc_train_result *res)
{
    abc_train_hooks none = {0};
    if (!hooks) hooks = &none;
    if (net->max_batches <= 0) abc_die("%s: [net] max_batches must be set (> 0) for training", s->cfg);
    char *base = basecfg((char *)s->cfg);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", s->backup_dir);
    for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/'; --l) dir[l - 1] = 0;
    int world = abc_dist_world(), lead = abc_dist_rank() == 0, lock = -1; /* rank 0 alone prints and saves */
    if (lead) {
        if (abc_mkdirs(dir)) abc_die("cannot create backup directory '%s': %s", dir, strerror(errno));
        lock = lock_backup(dir, base, s->cfg);
        if (abc_dir_writable(dir))
            abc_die("backup directory '%s' is not writable (checkpoints could not be saved): %s", dir, strerror(errno));
        remove_stale_temps(dir, base);
    }
    char ckpt[4096 + 300], final[4096 + 300];
    snprintf(ckpt, sizeof ckpt, "%s/%s.backup", dir, base);
    snprintf(final, sizeof final, "%s/%s_final.weights", dir, base);

    abc_dist_quiet_end();
    abc_dist_prepare(net, s->cfg);
    int imgs = net->batch * net->subdivisions; /* the world's: each rank trains imgs / world */
    check_seen(net, s, imgs);
    const char *precision = abc_precision_apply(s->cfg);
    char ranks[96] = "";
    if (world > 1) snprintf(ranks, sizeof ranks, " on %d ranks (%d images each)", world, imgs / world);
    if (lead)
        fprintf(stderr, "Training %s on %d images of %s: batch %d%s, %d iterations, learning rate %g, momentum %g, "
                "decay %g, %s GEMMs%s\n", s->cfg, s->images, s->list, imgs, ranks, net->max_batches,
                net->learning_rate, net->momentum, net->decay, precision, *net->seen ? " (resumed)" : "");
    args.n = imgs / world;
    if (s->opts.seeded) args.threads = 1; /* the loader's threads would draw from rand() in any order */

    /* what a checkpoint carries beyond the weights; restored from the one resumed */
    abc_resume_info info = {0};
    info.seeded = s->opts.seeded;
    info.seed = s->opts.seed;
    char why[256];
    abc_resume_info *with_state = abc_train_state_supported(net, why, sizeof why) ? &info : NULL;
    if (!with_state && lead) fprintf(stderr, "darknet: warning: %s: checkpoints hold the weights alone\n", why);
    float avg_loss = -1;
    abc_resume_info got;
    if (with_state && s->weights && *s->weights && *net->seen && abc_train_state_read(s->weights, net, &got)) {
        abc_rng_restore(got.rng);
        avg_loss = got.avg_loss;
        if (lead) fprintf(stderr, "resumed with the checkpoint's training state (momentum, data order)\n");
        if (lead && got.seeded && (!s->opts.seeded || got.seed != s->opts.seed))
            fprintf(stderr, "darknet: warning: %s was trained with -seed %llu: resume with -seed %llu to continue "
                    "exactly as the run would have\n", s->weights, (unsigned long long)got.seed,
                    (unsigned long long)got.seed);
    }

    abc_stop_guard guard;
    abc_stop_catch(&guard);

    data buffer = {0}, train;
    args.d = &buffer;
    pthread_t loader = 0;
    int max_b = net->max_batches;
    int start_iter = (int)get_current_batch(net);
    double t0 = abc_now(), last_print = t0, last_ckpt = t0;
    long imgs_since_print = 0;
    double rate_ips = 0, retry_at = 0;
    int done = 0;
    if (start_iter < max_b) {
        if (hooks->reshape) hooks->reshape(hooks->ctx, net, &args, start_iter);
        draw_state(info.rng, start_iter, 0);
        loader = load_data(args);
    } else if (lead) {
        fprintf(stderr, "%s: already trained to iteration %d of %d (to start from these weights at iteration 0, as "
                "when fine-tuning from a float model whose file has the same layout, give -clear)\n", s->cfg,
                start_iter, max_b);
    }

    int stop = 0; /* on N ranks: whether any rank was asked to stop, agreed at each iteration */
    while ((int)get_current_batch(net) < max_b && !(world > 1 ? stop : abc_stop_signal())) {
        int it0 = (int)get_current_batch(net);
        if (done && hooks->reshape && hooks->reshape(hooks->ctx, net, &args, it0)) {
            pthread_join(loader, NULL); /* loaded at the old size: load again, drawing the same numbers */
            free_data(buffer);
            draw_state(info.rng, it0, 1);
            loader = load_data(args);
        }
        pthread_join(loader, NULL);
        train = buffer;
        int last = it0 + 1 >= max_b;
        if (!last) draw_state(info.rng, it0 + 1, 0); /* a checkpoint from now on resumes with this batch */
        loader = last ? 0 : load_data(args);
        if (hooks->before_step) hooks->before_step(hooks->ctx, &train);
        float loss;
        if (world > 1) stop = abc_stop_signal(), loss = abc_dist_train(net, train, &stop);
        else loss = train_network(net, train);
        if (hooks->step_loss) loss = hooks->step_loss(hooks->ctx, net, &train, loss);
        free_data(train);
        ++done;
        if (isfinite(loss)) { /* one diverging batch must not make the average inf for good */
            if (avg_loss < 0) avg_loss = loss;
            avg_loss = avg_loss * .9f + loss * .1f;
        }
        imgs_since_print += imgs;

        int it = (int)get_current_batch(net);
        double now = abc_now();
        int stopping = world > 1 ? stop : abc_stop_signal();
        if (lead && (now - last_print >= PROGRESS_SECONDS || done == 1 || it >= max_b || stopping)) {
            double ips = imgs_since_print / (now - last_print > 1e-9 ? now - last_print : 1e-9);
            rate_ips = done == 1 ? ips : (rate_ips > 0 ? 0.5 * rate_ips + 0.5 * ips : ips);
            char eta[32];
            abc_fmt_eta(eta, sizeof eta, (double)(max_b - it) * imgs / (rate_ips > 0 ? rate_ips : 1));
            char soft[64] = "";
            float beta, near;
            if (abc_net_binarization(net, &beta, &near))
                snprintf(soft, sizeof soft, " beta %.3g binary %.1f%%", beta, 100.0 * near);
            printf("epoch %.2f iter %d/%d loss %.4f avg %.4f rate %g %.0f img/s ETA %s%s\n",
                   (double)*net->seen / (s->images > 0 ? s->images : 1), it, max_b, loss, avg_loss,
                   get_current_rate(net), ips, eta, soft);
            fflush(stdout);
            last_print = now;
            imgs_since_print = 0;
        }
        if (lead && hooks->after) hooks->after(hooks->ctx, net, it, loss, avg_loss, rate_ips);
        int every = s->opts.checkpoint_every;
        int due = every ? it % every == 0 : it % CHECKPOINT_ITERATIONS == 0 || abc_now() - last_ckpt >= CHECKPOINT_SECONDS;
        if (retry_at > 0 && abc_now() >= retry_at) due = 1;
        if (lead && !stopping && it < max_b && due) {
            info.avg_loss = avg_loss;
            last_ckpt = abc_now();
            retry_at = try_checkpoint(net, ckpt, with_state) ? last_ckpt + CHECKPOINT_RETRY_SECONDS : 0;
        }
    }
    if (loader) pthread_join(loader, NULL), free_data(buffer);
    double secs = abc_now() - t0;
    int rc = 0, stop_signal = abc_stop_signal();
    if (world > 1 && stop && !stop_signal) stop_signal = SIGTERM; /* another rank was stopped */
    info.avg_loss = avg_loss;
    char kept[4400 + 300];
    snprintf(kept, sizeof kept, "the previous checkpoint %s is kept (if any)", ckpt);
    if (lead) save_or_die(net, ckpt, with_state, kept);
    if (stop_signal) {
        rc = 128 + stop_signal;
        if (lead) fprintf(stderr, "darknet: stopped by %s at iteration %d of %d; checkpoint saved to %s (resume: %s)\n",
                abc_stop_name(stop_signal), (int)get_current_batch(net), max_b, ckpt,
                "pass it as the weights argument");
    } else if (lead) {
        snprintf(kept, sizeof kept, "the run's weights are in the checkpoint %s", ckpt);
        save_or_die(net, final, NULL, kept);
        fprintf(stderr, "Trained %d iterations in %.1f s (%.0f images/s); final weights saved to %s\n", done, secs,
                secs > 0 ? done * (double)imgs / secs : 0, final);
    }
    if (lead) abc_dist_report(stderr);
    abc_stop_release(&guard);
    if (res) {
        res->seconds = secs;
        res->iterations = done;
        res->images_per_s = secs > 0 ? done * (double)imgs / secs : 0;
        snprintf(res->final_path, sizeof res->final_path, "%s", rc ? ckpt : final);
    }
    if (lock >= 0) close(lock);
    free(base);
    abc_dist_finish();
    return rc;
}

void abc_train_refuse_packed(const char *weights)
{
    if (weights && *weights && abc_packfile_is(weights))
        abc_die("'%s' is a packed deployment file (weights pack): it has no shadow weights to train; train from the "
                ".weights it was packed from", weights);
}
