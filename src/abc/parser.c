/* parse_network_cfg, done by the project: stock sections go to libdarknet's
 * own parse_* after strict checks; plugin sections go to the registry; the
 * stock conv/connected layers get the project's fast float functions. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfg.h"
#include "base/util.h"
#include "float/float_batchnorm.h"
#include "float/float_fast.h"
#include "netio.h"
#include "mem_estimate.h"
#include "registry.h"
#include "stock_checks.h"

/* Keys the parse loop reads for every layer, stock or plugin. */
static const char *const common_keys[] = {"truth", "onlyforward", "stopbackward", "dontsave", "dontload",
                                          "numload", "dontloadscales", "learning_rate", "smooth", NULL};

int abc_layer_common_key(const char *k)
{
    for (const char *const *c = common_keys; *c; ++c)
        if (!strcmp(*c, k)) return 1;
    return 0;
}

int abc_layer_accepts_key(const abc_layer_type *t, const char *key)
{
    if (abc_layer_common_key(key)) return 1;
    for (const char *const *k = t->keys; *k; ++k)
        if (!strcmp(*k, key)) return 1;
    return 0;
}

static layer parse_stock(const abc_section *s, LAYER_TYPE t, size_params p, network *net)
{
    list *o = s->options;
    switch (t) {
    case CONVOLUTIONAL: return parse_convolutional(o, p);
    case DECONVOLUTIONAL: return parse_deconvolutional(o, p);
    case LOCAL: return parse_local(o, p);
    case ACTIVE: return parse_activation(o, p);
    case LOGXENT: return parse_logistic(o, p);
    case L2NORM: return parse_l2norm(o, p);
    case RNN: return parse_rnn(o, p);
    case GRU: return parse_gru(o, p);
    case LSTM: return parse_lstm(o, p);
    case CRNN: return parse_crnn(o, p);
    case CONNECTED: return parse_connected(o, p);
    case CROP: return parse_crop(o, p);
    case COST: return parse_cost(o, p);
    case REGION: return parse_region(o, p);
    case YOLO: return parse_yolo(o, p);
    case ISEG: return parse_iseg(o, p);
    case DETECTION: return parse_detection(o, p);
    case SOFTMAX: {
        layer l = parse_softmax(o, p);
        net->hierarchy = l.softmax_tree;
        return l;
    }
    case NORMALIZATION: return parse_normalization(o, p);
    case BATCHNORM: {
        layer l = parse_batchnorm(o, p);
        abc_batchnorm_install(&l); /* libdarknet's own segfaults at its first forward */
        return l;
    }
    case MAXPOOL: return parse_maxpool(o, p);
    case REORG: return parse_reorg(o, p);
    case AVGPOOL: return parse_avgpool(o, p);
    case ROUTE: return parse_route(o, p, net);
    case UPSAMPLE: return parse_upsample(o, p, net);
    case SHORTCUT: return parse_shortcut(o, p, net);
    case DROPOUT: {
        layer l = parse_dropout(o, p);
        l.output = net->layers[p.index - 1].output; /* dropout works in place */
        l.delta = net->layers[p.index - 1].delta;
        return l;
    }
    default:
        abc_sec_die(s, NULL, "section type not supported");
    }
}

static void read_common_keys(const abc_section *s, layer *l, const network *net)
{
    l->clip = net->clip;
    l->truth = abc_sec_int(s, "truth", 0, 0, 1);
    l->onlyforward = abc_sec_int(s, "onlyforward", 0, 0, 1);
    l->stopbackward = abc_sec_int(s, "stopbackward", 0, 0, 1);
    l->dontsave = abc_sec_int(s, "dontsave", 0, 0, 1);
    l->dontload = abc_sec_int(s, "dontload", 0, 0, 1);
    l->numload = abc_sec_int(s, "numload", 0, 0, INT_MAX);
    l->dontloadscales = abc_sec_int(s, "dontloadscales", 0, 0, 1);
    l->learning_rate_scale = abc_sec_float(s, "learning_rate", 1, 0, 1e6f);
    l->smooth = abc_sec_float(s, "smooth", 0, 0, 1);
    if (l->numload && (l->type != CONVOLUTIONAL || l->numload > l->n))
        abc_sec_die(s, "numload", "only for convolutional layers, at most filters=%d", l->n);
}

static void warn_unused(const abc_section *s)
{
    for (int i = 0; i < s->n; ++i)
        if (!s->kv[i]->used)
            abc_sec_warn(s, s->kv[i]->key, "unused key '%s=%s' (darknet ignores it)", s->kv[i]->key, s->kv[i]->val);
}

static void stock_section_name_check(const abc_section *s, LAYER_TYPE *t)
{
    *t = string_to_layer_type(s->type);
    if (*t == BLANK || *t == NETWORK) {
        if (*t == NETWORK) abc_sec_die(s, NULL, "[net] must be the first section, and only once");
        abc_sec_die(s, NULL, "unknown section type %s", s->type);
    }
}

void abc_free_network(network *net)
{
    if (!net) return;
    free(net->workspace);
    free(net->seen);
    free(net->t);
    free(net->cost);
    free_network(net);
}

static int batch_override;

void abc_parse_set_batch(int batch) { batch_override = batch > 0 ? batch : 0; }

/* Before libdarknet's constructor, which would crash on a failed allocation: the layer's estimate added to the
 * network's so far must fit the budget. */
static void fits_in_memory(const abc_section *s, const char *type, size_params p, double budget, double *total)
{
    double bytes = abc_layer_bytes(s, type, p);
    if (*total + bytes > budget)
        abc_sec_die(s, NULL, "the network would take about %.3g GB with this layer (%.3g GB before it), more than the "
                    "%.3g GB this process may use (RAM + swap, ulimit -v); a smaller batch, input or layer",
                    (*total + bytes) / 1e9, *total / 1e9, budget / 1e9);
    *total += bytes;
}

typedef struct {
    abc_cfg *cfg;
    network *net;
} parsing;

static void parsing_free(void *arg)
{
    parsing *p = arg;
    abc_cfg_free(p->cfg);
    abc_free_network(p->net);
}

network *abc_parse_network(const char *path)
{
    abc_cfg *cfg = abc_cfg_read(path);
    parsing undo = {cfg, NULL};
    abc_cleanup_push(parsing_free, &undo);
    abc_section *ns = &cfg->sec[0];
    ns->index = -1;
    if (strcmp(ns->type, "[net]") && strcmp(ns->type, "[network]"))
        abc_sec_die(ns, NULL, "the first section must be [net] or [network]");
    if (cfg->n < 2) abc_die("%s: no layers after [net]", path);
    abc_check_net_section(ns);
    for (int i = 0; i < ns->n; ++i) ns->kv[i]->used = 0;

    network *net = undo.net = make_network(cfg->n - 1);
    net->gpu_index = -1;
    parse_net_options(ns->options, net);
    if (batch_override) net->batch = batch_override; /* no buffer sized for a training batch at inference */
    (void)abc_sec_str(ns, "dataset"); /* ours, not darknet's: read by the classifier commands */
    (void)abc_sec_str(ns, "teacher"); /* ours too: distillation in classifier train (src/distill.h) */
    (void)abc_sec_str(ns, "teacher_weights");
    (void)abc_sec_float(ns, "distill", 0.5f, 0.f, 1.f);
    (void)abc_sec_float(ns, "distill_temperature", 4.f, 1.f, 100.f);
    (void)abc_sec_choice(ns, "precision", "fp32", "bf16", 0); /* ours: the training GEMMs (src/precision.h) */
    warn_unused(ns);

    size_params params = {0};
    params.h = net->h;
    params.w = net->w;
    params.c = net->c;
    params.inputs = net->inputs;
    params.batch = net->batch;
    params.time_steps = net->time_steps;
    params.net = net;
    size_t workspace = 0;
    double budget = abc_memory_budget(), total = 4.0 * params.inputs * params.batch;

    fprintf(stderr, "layer     filters    size              input                output\n");
    for (int i = 1; i < cfg->n; ++i) {
        abc_section *s = &cfg->sec[i];
        s->index = i - 1;
        params.index = i - 1;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)strlen(s->type) - 2, s->type + 1);
        const abc_layer_type *plugin = abc_registry_find(name);
        layer l;
        if (plugin) {
            for (int k = 0; k < s->n; ++k) {
                const char *key = s->kv[k]->key;
                int known = abc_layer_common_key(key);
                for (const char *const *pk = plugin->keys; *pk && !known; ++pk) known = !strcmp(*pk, key);
                if (!known) abc_sec_die(s, key, "unknown key for %s (misspelled?)", s->type);
            }
            fits_in_memory(s, name, params, budget, &total);
            fprintf(stderr, "%5d ", i - 1);
            abc_stderr_midline(1);
            l = plugin->parse(s, params);
            abc_stderr_midline(0);
            for (int t = 0; t < abc_registry_count(); ++t)
                if (abc_registry_at(t) == plugin) l.type = (LAYER_TYPE)(ABC_LAYER_TYPE_BASE + t);
        } else {
            LAYER_TYPE t;
            stock_section_name_check(s, &t);
            abc_check_stock_section(s, t, params, net);
            for (int k = 0; k < s->n; ++k) s->kv[k]->used = 0;
            fits_in_memory(s, name, params, budget, &total);
            fprintf(stderr, "%5d ", i - 1);
            l = parse_stock(s, t, params, net);
            if (t == ROUTE && l.outputs <= 0) abc_sec_die(s, "layers", "inputs cannot be joined");
        }
        net->layers[i - 1] = l; /* freed with the network should a check below fail */
        read_common_keys(s, &l, net);
        if (!plugin) warn_unused(s);
        if (l.outputs <= 0 || l.batch <= 0)
            abc_sec_die(s, NULL, "output size is 0 (input %dx%dx%d)", params.w, params.h, params.c);
        if ((long long)l.outputs * l.batch > INT_MAX)
            abc_sec_die(s, NULL, "output of %d floats x batch %d is too large", l.outputs, l.batch);
        abc_float_fast_install(&l);
        if (i == 1 && !plugin) abc_guard_first_layer(&l);
        net->layers[i - 1] = l;
        if (l.workspace_size > workspace) workspace = l.workspace_size;
        params.h = l.out_h;
        params.w = l.out_w;
        params.c = l.out_c;
        params.inputs = l.outputs;
    }
    int last = net->n - 1; /* libdarknet's output layer is the last that is not [cost]: it reads before the
                            * first layer if there is none */
    while (last >= 0 && net->layers[last].type == COST) --last;
    if (last < 0) abc_die("%s: every layer is a [cost] layer: none computes an output for it to score", path);
    abc_cleanup_pop(&undo);
    abc_cfg_free(cfg);

    layer out = get_network_output_layer(net);
    net->outputs = out.outputs;
    net->truths = out.outputs;
    if (net->layers[net->n - 1].truths) net->truths = net->layers[net->n - 1].truths;
    net->output = out.output;
    net->input = abc_xcalloc((size_t)net->inputs * net->batch, sizeof(float));
    net->truth = abc_xcalloc((size_t)net->truths * net->batch, sizeof(float));
    if (workspace) net->workspace = abc_xcalloc(1, workspace);
    return net;
}
