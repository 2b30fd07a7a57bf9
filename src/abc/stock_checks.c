#include "stock_checks.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/files.h"
#include "base/util.h"

#define BIG INT_MAX

static const char *const activations[] = {"logistic", "loggy", "relu", "elu", "selu", "relie", "plse",
                                          "hardtan", "lhtan", "linear", "ramp", "leaky", "tanh",
                                          "stair", NULL};
static const char *const policies[] = {"random", "poly", "constant", "step", "exp", "sigmoid", "steps", NULL};
/* Data sets a cfg may name with [net] dataset= (used when the .data file is left out). */
static const char *const datasets[] = {"fashion-mnist", NULL};
static const char *const costs[] = {"sse", "masked", "smooth", "L1", "seg", "wgan", NULL};

static void check_word(const abc_section *s, const char *key, const char *const *words)
{
    const char *v = abc_sec_str(s, key);
    if (!v) return;
    for (const char *const *w = words; *w; ++w)
        if (!strcmp(*w, v)) return;
    char all[512] = "";
    for (const char *const *w = words; *w; ++w) {
        strncat(all, *w, sizeof all - strlen(all) - 1);
        if (w[1]) strncat(all, ", ", sizeof all - strlen(all) - 1);
    }
    abc_sec_die(s, key, "unknown value '%s' (one of: %s)", v, all);
}

static void need_image(const abc_section *s, size_params p)
{
    if (p.h <= 0 || p.w <= 0 || p.c <= 0)
        abc_sec_die(s, NULL, "needs an image input, but the previous layer outputs %dx%dx%d", p.w, p.h, p.c);
}

static void need_inputs(const abc_section *s, size_params p)
{
    if (p.inputs <= 0) abc_sec_die(s, NULL, "input size is 0 (the previous layer has no output)");
}

/* Rejects a key whose value is given but not a valid number in range, while
 * letting libdarknet read it afterwards. */
static void check_int(const abc_section *s, const char *key, int min, int max)
{
    (void)abc_sec_int(s, key, 0, min, max);
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, key)) s->kv[i]->used = 0; /* darknet marks it again */
}

static void check_float(const abc_section *s, const char *key, float min, float max)
{
    (void)abc_sec_float(s, key, 0, min, max);
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, key)) s->kv[i]->used = 0;
}

static int peek_int(const abc_section *s, const char *key, int def)
{
    int v = abc_sec_int(s, key, def, INT_MIN, INT_MAX);
    check_int(s, key, INT_MIN, INT_MAX);
    return v;
}

/* Output side of a window op; dies if it is not at least 1. */
static void check_window(const abc_section *s, size_params p, int size, int stride, int pad)
{
    int oh = (p.h + 2 * pad - size) / stride + 1;
    int ow = (p.w + 2 * pad - size) / stride + 1;
    if (p.h + 2 * pad < size || p.w + 2 * pad < size || oh < 1 || ow < 1)
        abc_sec_die(s, "size", "%d does not fit the %dx%d input (pad %d): output would be empty", size,
                    p.w, p.h, pad);
}

void abc_check_net_section(const abc_section *s)
{
    check_int(s, "batch", 1, 1 << 20);
    check_int(s, "subdivisions", 1, 1 << 20);
    int batch = peek_int(s, "batch", 1), sub = peek_int(s, "subdivisions", 1);
    if (batch / sub < 1) abc_sec_die(s, "subdivisions", "%d is larger than batch=%d", sub, batch);
    check_int(s, "width", 0, 1 << 16);
    check_int(s, "height", 0, 1 << 16);
    check_int(s, "channels", 0, 1 << 16);
    check_int(s, "inputs", 0, BIG);
    check_int(s, "time_steps", 1, 1 << 20);
    check_int(s, "max_batches", 0, BIG);
    check_int(s, "max_crop", 1, 1 << 16);
    check_int(s, "min_crop", 1, 1 << 16);
    check_int(s, "burn_in", 0, BIG);
    check_int(s, "step", 1, BIG);
    check_int(s, "adam", 0, 1);
    check_int(s, "random", 0, 1);
    check_float(s, "learning_rate", 0, 1e6f);
    check_float(s, "momentum", 0, 1);
    check_float(s, "decay", 0, 1e3f);
    /* the schedule's and augmentation's numbers: libdarknet trains on NaN or inf without a word */
    check_float(s, "power", 0, 1e3f);
    check_float(s, "gamma", 0, 1e6f);
    check_float(s, "scale", 0, 1e6f);
    check_float(s, "B1", 0, 1);
    check_float(s, "B2", 0, 1);
    check_float(s, "eps", 0, 1);
    check_float(s, "angle", 0, 360);
    check_float(s, "aspect", 1e-3f, 1e3f);
    check_float(s, "saturation", 0, 1e3f);
    check_float(s, "exposure", 0, 1e3f);
    check_float(s, "hue", 0, 1);
    check_word(s, "policy", policies);
    check_word(s, "dataset", datasets);
    int h = peek_int(s, "height", 0), w = peek_int(s, "width", 0), c = peek_int(s, "channels", 0);
    int inputs = peek_int(s, "inputs", h * w * c);
    if (inputs <= 0 && !(h && w && c))
        abc_sec_die(s, NULL, "no input size: give width, height and channels (or inputs)");
    if ((long long)h * w * c > (1LL << 28)) abc_sec_die(s, NULL, "input %dx%dx%d is too large", w, h, c);
    const char *policy = abc_sec_str(s, "policy");
    if (policy && !strcmp(policy, "steps")) {
        int ns = 0, nc = 0;
        if (!abc_sec_has(s, "steps")) abc_sec_die(s, "policy", "steps needs the key 'steps'");
        if (!abc_sec_has(s, "scales")) abc_sec_die(s, "policy", "steps needs the key 'scales'");
        free(abc_sec_ints(s, "steps", &ns)); /* any iteration: darknet's own cfgs have steps=-1,... */
        float *sc = abc_sec_floats(s, "scales", &nc);
        abc_cleanup_push(free, sc);
        if (ns != nc) abc_sec_die(s, "scales", "has %d values but steps has %d", nc, ns);
        for (int i = 0; i < nc; ++i)
            if (!(sc[i] >= 0 && sc[i] <= 1e6f))
                abc_sec_die(s, "scales", "value %d is %g (a factor from 0 to 1e6)", i + 1, sc[i]);
        abc_cleanup_pop(sc);
        free(sc);
        for (int i = 0; i < s->n; ++i)
            if (!strcmp(s->kv[i]->key, "steps") || !strcmp(s->kv[i]->key, "scales")) s->kv[i]->used = 0;
    }
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, "policy")) s->kv[i]->used = 0;
}

/* Layer indices of route/shortcut: relative (<0) or absolute, before this one. */
static int look_back(const abc_section *s, const char *key, int v, int index)
{
    int abs = v < 0 ? index + v : v;
    if (abs < 0 || abs >= index)
        abc_sec_die(s, key, "layer %d does not exist before layer %d", v, index);
    return abs;
}

static void check_route(const abc_section *s, size_params p, const network *net)
{
    if (!abc_sec_has(s, "layers")) abc_sec_die(s, NULL, "missing required key 'layers'");
    int n = 0;
    int *ls = abc_sec_ints(s, "layers", &n);
    abc_cleanup_push(free, ls);
    const layer *first = NULL;
    for (int i = 0; i < n; ++i) {
        const layer *l = &net->layers[look_back(s, "layers", ls[i], p.index)];
        if (l->outputs <= 0) abc_sec_die(s, "layers", "layer %d has no output", ls[i]);
        if (!first) first = l;
        else if (l->out_w != first->out_w || l->out_h != first->out_h)
            abc_sec_die(s, "layers", "inputs differ in size: %dx%d vs %dx%d", first->out_w,
                        first->out_h, l->out_w, l->out_h);
    }
    abc_cleanup_pop(ls);
    free(ls);
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, "layers")) s->kv[i]->used = 0;
}

static void check_shortcut(const abc_section *s, size_params p, const network *net)
{
    if (!abc_sec_has(s, "from")) abc_sec_die(s, NULL, "missing required key 'from'");
    int from = look_back(s, "from", peek_int(s, "from", 0), p.index);
    need_image(s, p);
    if (net->layers[from].outputs <= 0) abc_sec_die(s, "from", "layer %d has no output", from);
    check_word(s, "activation", activations);
}

/* Detection heads assert that their input matches; check it first. */
static void check_head_inputs(const abc_section *s, size_params p, long long need)
{
    if (need != p.inputs)
        abc_sec_die(s, NULL, "expects %lld inputs from the previous layer, which gives %d (check filters "
                    "of the layer before it)", need, p.inputs);
}

static void check_yolo(const abc_section *s, size_params p)
{
    need_image(s, p);
    int classes = abc_sec_int(s, "classes", 20, 1, 1 << 20);
    int total = abc_sec_int(s, "num", 1, 1, 1 << 12);
    check_int(s, "classes", 1, 1 << 20);
    check_int(s, "num", 1, 1 << 12);
    int n = total;
    if (abc_sec_has(s, "mask")) {
        int *mask = abc_sec_ints(s, "mask", &n);
        abc_cleanup_push(free, mask);
        for (int i = 0; i < n; ++i)
            if (mask[i] < 0 || mask[i] >= total)
                abc_sec_die(s, "mask", "index %d is outside 0..%d (num=%d)", mask[i], total - 1, total);
        abc_cleanup_pop(mask);
        free(mask);
    }
    if (abc_sec_has(s, "anchors")) {
        int na = 0;
        free(abc_sec_floats(s, "anchors", &na));
        if (na != 2 * total) abc_sec_die(s, "anchors", "has %d values, num=%d needs %d", na, total, 2 * total);
    }
    check_head_inputs(s, p, (long long)p.w * p.h * n * (classes + 4 + 1));
    for (int i = 0; i < s->n; ++i)
        if (!strcmp(s->kv[i]->key, "mask") || !strcmp(s->kv[i]->key, "anchors")) s->kv[i]->used = 0;
}

static void check_region(const abc_section *s, size_params p)
{
    need_image(s, p);
    int coords = peek_int(s, "coords", 4), classes = peek_int(s, "classes", 20), num = peek_int(s, "num", 1);
    if (coords < 1) abc_sec_die(s, "coords", "must be >= 1");
    if (classes < 1) abc_sec_die(s, "classes", "must be >= 1");
    if (num < 1) abc_sec_die(s, "num", "must be >= 1");
    if (abc_sec_has(s, "anchors")) {
        int na = 0;
        free(abc_sec_floats(s, "anchors", &na));
        if (na > 2 * num) abc_sec_die(s, "anchors", "has %d values, num=%d allows %d", na, num, 2 * num);
        for (int i = 0; i < s->n; ++i)
            if (!strcmp(s->kv[i]->key, "anchors")) s->kv[i]->used = 0;
    }
    check_head_inputs(s, p, (long long)p.w * p.h * num * (classes + coords + 1));
}

void abc_check_stock_section(const abc_section *s, LAYER_TYPE t, size_params p, const network *net)
{
    check_word(s, "activation", activations);
    switch (t) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL:
    case LOCAL: {
        need_image(s, p);
        int filters = abc_sec_int(s, "filters", 1, 1, 1 << 20);
        int size = abc_sec_int(s, "size", 1, 1, 1 << 10);
        int stride = abc_sec_int(s, "stride", 1, 1, 1 << 10);
        int pad = abc_sec_int(s, "pad", 0, 0, 1);
        int padding = abc_sec_int(s, "padding", 0, 0, 1 << 10);
        int groups = abc_sec_int(s, "groups", 1, 1, 1 << 20);
        check_int(s, "filters", 1, 1 << 20);
        check_int(s, "size", 1, 1 << 10);
        check_int(s, "stride", 1, 1 << 10);
        check_int(s, "pad", 0, 1);
        check_int(s, "padding", 0, 1 << 10);
        check_int(s, "groups", 1, 1 << 20);
        check_int(s, "batch_normalize", 0, 1);
        if (pad) padding = size / 2;
        if (t == CONVOLUTIONAL) {
            if (p.c % groups) abc_sec_die(s, "groups", "%d does not divide the %d input channels", groups, p.c);
            if (filters % groups) abc_sec_die(s, "groups", "%d does not divide filters=%d", groups, filters);
        }
        long long oh = p.h / stride + 2 * padding + size, ow = p.w / stride + 2 * padding + size;
        if (t == DECONVOLUTIONAL) { /* libdarknet's: (in - 1) * stride + size - 2 * padding, unchecked */
            oh = (long long)(p.h - 1) * stride + size - 2LL * padding;
            ow = (long long)(p.w - 1) * stride + size - 2LL * padding;
            if (oh < 1 || ow < 1)
                abc_sec_die(s, "padding", "%d gives an output of %lldx%lld from %dx%d (size %d, stride %d)", padding, ow,
                            oh, p.w, p.h, size, stride);
        } else {
            check_window(s, p, size, stride, padding);
        }
        long long out = (long long)filters * oh * ow;
        if (out * p.batch > INT_MAX / 2) abc_sec_die(s, "filters", "output of %d filters is too large", filters);
        break;
    }
    case CONNECTED:
    case RNN:
    case GRU:
    case LSTM:
        need_inputs(s, p);
        check_int(s, "output", 1, 1 << 24);
        if ((long long)peek_int(s, "output", 1) * p.inputs > INT_MAX / 2)
            abc_sec_die(s, "output", "%d x %d inputs weights are too many", peek_int(s, "output", 1), p.inputs);
        check_int(s, "batch_normalize", 0, 1);
        break;
    case CRNN:
        need_image(s, p);
        check_int(s, "output_filters", 1, 1 << 20);
        check_int(s, "hidden_filters", 1, 1 << 20);
        break;
    case MAXPOOL: {
        need_image(s, p);
        int stride = abc_sec_int(s, "stride", 1, 1, 1 << 10);
        int size = abc_sec_int(s, "size", stride, 1, 1 << 10);
        int padding = abc_sec_int(s, "padding", size - 1, 0, 1 << 10);
        check_int(s, "stride", 1, 1 << 10);
        check_int(s, "size", 1, 1 << 10);
        check_int(s, "padding", 0, 1 << 10);
        if ((p.w + padding - size) / stride + 1 < 1 || (p.h + padding - size) / stride + 1 < 1)
            abc_sec_die(s, "size", "%d does not fit the %dx%d input", size, p.w, p.h);
        break;
    }
    case AVGPOOL:
    case BATCHNORM:
        need_image(s, p);
        break;
    case NORMALIZATION:
        need_image(s, p);
        check_int(s, "size", 1, 1 << 10);
        break;
    case CROP:
        need_image(s, p);
        check_int(s, "crop_height", 1, p.h);
        check_int(s, "crop_width", 1, p.w);
        break;
    case REORG: {
        need_image(s, p);
        int stride = abc_sec_int(s, "stride", 1, 1, 1 << 10);
        check_int(s, "stride", 1, 1 << 10);
        int reverse = peek_int(s, "reverse", 0);
        if (!reverse && (p.w % stride || p.h % stride))
            abc_sec_die(s, "stride", "%d does not divide the %dx%d input", stride, p.w, p.h);
        if (p.c % (stride * stride)) /* libdarknet's reorg_cpu divides by c / stride^2 either way */
            abc_sec_die(s, "stride", "%d^2 does not divide the %d channels", stride, p.c);
        break;
    }
    case UPSAMPLE: {
        need_image(s, p);
        int stride = peek_int(s, "stride", 2);
        if (stride == 0) abc_sec_die(s, "stride", "must not be 0");
        if (stride < 0 && (p.w % -stride || p.h % -stride))
            abc_sec_die(s, "stride", "%d does not divide the %dx%d input", -stride, p.w, p.h);
        break;
    }
    case SOFTMAX: {
        need_inputs(s, p);
        int groups = abc_sec_int(s, "groups", 1, 1, 1 << 20);
        check_int(s, "groups", 1, 1 << 20);
        if (p.inputs % groups) abc_sec_die(s, "groups", "%d does not divide the %d inputs", groups, p.inputs);
        const char *tree = abc_sec_str(s, "tree");
        if (tree && !abc_file_exists(tree)) abc_sec_die(s, "tree", "cannot open file '%s'", tree);
        for (int i = 0; i < s->n; ++i)
            if (!strcmp(s->kv[i]->key, "tree")) s->kv[i]->used = 0;
        break;
    }
    case DROPOUT:
        need_inputs(s, p);
        if (p.index == 0) abc_sec_die(s, NULL, "cannot be the first layer");
        check_float(s, "probability", 0, 0.999f);
        break;
    case COST:
        need_inputs(s, p);
        check_word(s, "type", costs);
        break;
    case ACTIVE:
    case LOGXENT:
    case L2NORM:
        need_inputs(s, p);
        break;
    case ROUTE:
        check_route(s, p, net);
        break;
    case SHORTCUT:
        check_shortcut(s, p, net);
        break;
    case YOLO:
        check_yolo(s, p);
        break;
    case REGION:
        check_region(s, p);
        break;
    case DETECTION: {
        int coords = peek_int(s, "coords", 1), classes = peek_int(s, "classes", 1);
        int num = peek_int(s, "num", 1), side = peek_int(s, "side", 7);
        if (coords < 1 || classes < 1 || num < 1 || side < 1)
            abc_sec_die(s, NULL, "coords, classes, num and side must be >= 1");
        check_head_inputs(s, p, (long long)side * side * ((1 + coords) * num + classes));
        break;
    }
    case ISEG: {
        need_image(s, p);
        int classes = peek_int(s, "classes", 20), ids = peek_int(s, "ids", 32);
        if (classes < 1 || ids < 1) abc_sec_die(s, NULL, "classes and ids must be >= 1");
        check_head_inputs(s, p, (long long)p.w * p.h * (classes + ids));
        break;
    }
    default:
        break;
    }
}

/* The backward of those layers in first place: libdarknet's, only where there is a gradient to add into. */
static void first_layer_backward(layer l, network net)
{
    if (!net.delta) return;
    switch (l.type) {
    case MAXPOOL: backward_maxpool_layer(l, net); break;
    case AVGPOOL: backward_avgpool_layer(l, net); break;
    case UPSAMPLE: backward_upsample_layer(l, net); break;
    case REORG: backward_reorg_layer(l, net); break;
    default: break;
    }
}

void abc_guard_first_layer(layer *l)
{
    if (l->type == MAXPOOL || l->type == AVGPOOL || l->type == UPSAMPLE || l->type == REORG)
        l->backward = first_layer_backward;
}
