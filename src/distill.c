#include "distill.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/cfg.h"
#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/forward.h"
#include "abc/netio.h"

struct abc_distill {
    network *net;
    char *cfg;
    float a, T;
    float *in; /* a teacher batch of inputs */
    double *e; /* exp((z - max z) / T) of one image's logits */
    double seconds;
};

abc_distill *abc_distill_open(const char *cfg, const network *student)
{
    abc_cfg *c = abc_cfg_read(cfg);
    const abc_section *ns = &c->sec[0];
    const char *tc = abc_sec_str(ns, "teacher"), *tw = abc_sec_str(ns, "teacher_weights");
    if (!tc && !tw && !abc_sec_has(ns, "distill") && !abc_sec_has(ns, "distill_temperature")) {
        abc_cfg_free(c);
        return NULL;
    }
    if (!tc) abc_sec_die(ns, "teacher", "distillation needs teacher=<cfg> (and teacher_weights=<weights>)");
    if (!tw) abc_sec_die(ns, "teacher_weights", "distillation needs teacher_weights=<weights> (the trained teacher)");
    if (!abc_file_exists(tc)) abc_sec_die(ns, "teacher", "cannot open the teacher's cfg '%s'", tc);
    if (!abc_file_exists(tw)) abc_sec_die(ns, "teacher_weights", "cannot open the teacher's weights '%s'", tw);
    abc_distill *t = abc_xcalloc(1, sizeof *t);
    t->a = abc_sec_float(ns, "distill", 0.5f, 0.f, 1.f);
    t->T = abc_sec_float(ns, "distill_temperature", 4.f, 1.f, 100.f);
    t->cfg = abc_xstrdup(tc);
    abc_parse_set_batch(student->batch);
    t->net = load_network((char *)tc, (char *)tw, 0);
    abc_parse_set_batch(0);
    network *n = t->net;
    if (n->w != student->w || n->h != student->h || n->c != student->c)
        abc_sec_die(ns, "teacher", "the teacher '%s' takes %dx%dx%d inputs, the student %dx%dx%d", tc, n->w, n->h,
                    n->c, student->w, student->h, student->c);
    if (n->outputs != student->outputs)
        abc_sec_die(ns, "teacher", "the teacher '%s' has %d outputs, the student %d", tc, n->outputs,
                    student->outputs);
    if (n->n < 2 || n->layers[n->n - 1].type != SOFTMAX || n->layers[n->n - 2].outputs != n->outputs)
        abc_sec_die(ns, "teacher", "the teacher '%s' must end in [softmax] after a layer of its %d logits", tc,
                    n->outputs);
    t->in = abc_xmalloc((size_t)n->batch * n->inputs * sizeof(float));
    t->e = abc_xmalloc((size_t)n->outputs * sizeof(double));
    abc_cfg_free(c);
    return t;
}

void abc_distill_targets(abc_distill *t, data *d)
{
    network *n = t->net;
    int k = n->outputs, rows = d->X.rows;
    double t0 = abc_now();
    for (int r0 = 0; r0 < rows; r0 += n->batch) {
        int m = rows - r0 < n->batch ? rows - r0 : n->batch;
        for (int b = 0; b < m; ++b)
            memcpy(t->in + (size_t)b * n->inputs, d->X.vals[r0 + b], (size_t)n->inputs * sizeof(float));
        abc_network_predict(n, t->in);
        const float *z = n->layers[n->n - 2].output; /* the logits the teacher's softmax took */
        for (int b = 0; b < m; ++b) {
            const float *zb = z + (size_t)b * k;
            float *y = d->y.vals[r0 + b], top = zb[0];
            for (int j = 1; j < k; ++j) top = fmaxf(top, zb[j]);
            double sum = 0;
            for (int j = 0; j < k; ++j) sum += t->e[j] = exp((zb[j] - top) / t->T);
            for (int j = 0; j < k; ++j) y[j] = (1 - t->a) * y[j] + t->a * (float)(t->e[j] / sum);
        }
    }
    t->seconds += abc_now() - t0;
}

float abc_distill_loss(const network *net, const data *d)
{
    const layer *l = &net->layers[net->n - 1];
    int k = l->outputs, m = net->batch < d->y.rows ? net->batch : d->y.rows, r0 = d->y.rows - m;
    double sum = 0;
    for (int b = 0; b < m; ++b)
        for (int j = 0; j < k; ++j) {
            float t = d->y.vals[r0 + b][j], p = l->output[(size_t)b * k + j];
            if (t > 0) sum -= t * log(p > 1e-30f ? p : 1e-30f);
        }
    return (float)(sum / m);
}

void abc_distill_report(const abc_distill *t, FILE *out, double train_seconds)
{
    fprintf(out, "distillation from %s (distill=%g, distill_temperature=%g): the teacher's forwards took %.1f s",
            t->cfg, t->a, t->T, t->seconds);
    if (train_seconds > 0) fprintf(out, " (%.0f%% of the training's %.1f s)", 100 * t->seconds / train_seconds,
                                   train_seconds);
    fprintf(out, "\n");
}

void abc_distill_close(abc_distill *t)
{
    if (!t) return;
    abc_free_network(t->net);
    free(t->in), free(t->e), free(t->cfg), free(t);
}
