/* .weights files, read and written exactly as darknet does (same layer order
 * and layout), but checked: the file size must match the cfg before anything
 * is read, and writes are atomic (temp file, then rename). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "base/files.h"
#include "base/util.h"
#include "netio.h"
#include "packfile.h"
#include "registry.h"
#include "train_state.h"

/* A convolution's weights for n filters; libdarknet's deconvolutional layer leaves groups at 0 (one group). */
static size_t conv_weight_count(const layer *l, int n)
{
    size_t groups = l->groups > 0 ? (size_t)l->groups : 1;
    return (size_t)l->c / groups * n * l->size * l->size;
}

/* Floats a layer stores in a .weights file (darknet's layout). */
static size_t conv_floats(const layer *l)
{
    int n = l->numload ? l->numload : l->n;
    size_t f = (size_t)n;
    if (l->batch_normalize && !l->dontloadscales) f += 3 * (size_t)n;
    return f + conv_weight_count(l, n);
}

static size_t conn_floats(const layer *l)
{
    size_t f = (size_t)l->outputs + (size_t)l->outputs * l->inputs;
    if (l->batch_normalize && !l->dontloadscales) f += 3 * (size_t)l->outputs;
    return f;
}

size_t abc_layer_floats(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->weights_floats(l);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return conv_floats(l);
    case CONNECTED: return conn_floats(l);
    case BATCHNORM: return 3 * (size_t)l->c;
    case CRNN: return conv_floats(l->input_layer) + conv_floats(l->self_layer) + conv_floats(l->output_layer);
    case RNN: return conn_floats(l->input_layer) + conn_floats(l->self_layer) + conn_floats(l->output_layer);
    case LSTM:
        return conn_floats(l->wi) + conn_floats(l->wf) + conn_floats(l->wo) + conn_floats(l->wg) +
               conn_floats(l->ui) + conn_floats(l->uf) + conn_floats(l->uo) + conn_floats(l->ug);
    case GRU:
        return conn_floats(l->wz) + conn_floats(l->wr) + conn_floats(l->wh) + conn_floats(l->uz) +
               conn_floats(l->ur) + conn_floats(l->uh);
    case LOCAL:
        return (size_t)l->outputs + (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h;
    default: return 0;
    }
}

static int rd(float *x, size_t n, FILE *fp) { return fread(x, sizeof(float), n, fp) == n ? 0 : -1; }
static int wr(const float *x, size_t n, FILE *fp) { return fwrite(x, sizeof(float), n, fp) == n ? 0 : -1; }

static void transpose(float *a, int rows, int cols)
{
    float *t = abc_xcalloc((size_t)rows * cols, sizeof *t);
    for (int x = 0; x < rows; ++x)
        for (int y = 0; y < cols; ++y) t[(size_t)y * rows + x] = a[(size_t)x * cols + y];
    memcpy(a, t, (size_t)rows * cols * sizeof *t);
    free(t);
}

static int load_conv(layer *l, FILE *fp)
{
    int n = l->numload ? l->numload : l->n;
    int e = rd(l->biases, (size_t)n, fp);
    if (l->batch_normalize && !l->dontloadscales) {
        e |= rd(l->scales, (size_t)n, fp);
        e |= rd(l->rolling_mean, (size_t)n, fp);
        e |= rd(l->rolling_variance, (size_t)n, fp);
    }
    e |= rd(l->weights, conv_weight_count(l, n), fp);
    if (!e && l->flipped) transpose(l->weights, l->c * l->size * l->size, l->n);
    return e;
}

static int save_conv(const layer *l, FILE *fp)
{
    int e = wr(l->biases, (size_t)l->n, fp);
    if (l->batch_normalize) {
        e |= wr(l->scales, (size_t)l->n, fp);
        e |= wr(l->rolling_mean, (size_t)l->n, fp);
        e |= wr(l->rolling_variance, (size_t)l->n, fp);
    }
    return e | wr(l->weights, (size_t)l->nweights, fp);
}

static int load_conn(layer *l, FILE *fp, int trans)
{
    int e = rd(l->biases, (size_t)l->outputs, fp);
    e |= rd(l->weights, (size_t)l->outputs * l->inputs, fp);
    if (!e && trans) transpose(l->weights, l->inputs, l->outputs);
    if (l->batch_normalize && !l->dontloadscales) {
        e |= rd(l->scales, (size_t)l->outputs, fp);
        e |= rd(l->rolling_mean, (size_t)l->outputs, fp);
        e |= rd(l->rolling_variance, (size_t)l->outputs, fp);
    }
    return e;
}

static int save_conn(const layer *l, FILE *fp)
{
    int e = wr(l->biases, (size_t)l->outputs, fp);
    e |= wr(l->weights, (size_t)l->outputs * l->inputs, fp);
    if (l->batch_normalize) {
        e |= wr(l->scales, (size_t)l->outputs, fp);
        e |= wr(l->rolling_mean, (size_t)l->outputs, fp);
        e |= wr(l->rolling_variance, (size_t)l->outputs, fp);
    }
    return e;
}

/* A plugin layer's size in a float model of the same topology, or 0 when it has none. */
static size_t layer_floats_as_float(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->float_floats ? p->float_floats(l) : 0;
    return abc_layer_floats(l);
}

static int load_layer(layer *l, FILE *fp, int trans, int as_float)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return as_float ? p->load_float(l, fp) : p->load(l, fp);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return load_conv(l, fp);
    case CONNECTED: return load_conn(l, fp, trans);
    /* one read per statement: the operands of | run in no set order */
    case BATCHNORM: {
        int e = rd(l->scales, (size_t)l->c, fp);
        e |= rd(l->rolling_mean, (size_t)l->c, fp);
        return e | rd(l->rolling_variance, (size_t)l->c, fp);
    }
    case CRNN: {
        int e = load_conv(l->input_layer, fp);
        e |= load_conv(l->self_layer, fp);
        return e | load_conv(l->output_layer, fp);
    }
    case RNN: {
        int e = load_conn(l->input_layer, fp, trans);
        e |= load_conn(l->self_layer, fp, trans);
        return e | load_conn(l->output_layer, fp, trans);
    }
    case LSTM: {
        layer *g[] = {l->wi, l->wf, l->wo, l->wg, l->ui, l->uf, l->uo, l->ug};
        int e = 0;
        for (int i = 0; i < 8; ++i) e |= load_conn(g[i], fp, trans);
        return e;
    }
    case GRU: {
        layer *g[] = {l->wz, l->wr, l->wh, l->uz, l->ur, l->uh};
        int e = 0;
        for (int i = 0; i < 6; ++i) e |= load_conn(g[i], fp, trans);
        return e;
    }
    case LOCAL: {
        int e = rd(l->biases, (size_t)l->outputs, fp);
        return e | rd(l->weights, (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, fp);
    }
    default: return 0;
    }
}

static int save_layer(const layer *l, FILE *fp)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->save(l, fp);
    switch (l->type) {
    case CONVOLUTIONAL:
    case DECONVOLUTIONAL: return save_conv(l, fp);
    case CONNECTED: return save_conn(l, fp);
    case BATCHNORM: {
        int e = wr(l->scales, (size_t)l->c, fp);
        e |= wr(l->rolling_mean, (size_t)l->c, fp);
        return e | wr(l->rolling_variance, (size_t)l->c, fp);
    }
    case CRNN: {
        int e = save_conv(l->input_layer, fp);
        e |= save_conv(l->self_layer, fp);
        return e | save_conv(l->output_layer, fp);
    }
    case RNN: {
        int e = save_conn(l->input_layer, fp);
        e |= save_conn(l->self_layer, fp);
        return e | save_conn(l->output_layer, fp);
    }
    case LSTM: {
        layer *g[] = {l->wi, l->wf, l->wo, l->wg, l->ui, l->uf, l->uo, l->ug};
        int e = 0;
        for (int i = 0; i < 8; ++i) e |= save_conn(g[i], fp);
        return e;
    }
    case GRU: {
        layer *g[] = {l->wz, l->wr, l->wh, l->uz, l->ur, l->uh};
        int e = 0;
        for (int i = 0; i < 6; ++i) e |= save_conn(g[i], fp);
        return e;
    }
    case LOCAL: {
        int e = wr(l->biases, (size_t)l->outputs, fp);
        return e | wr(l->weights, (size_t)l->size * l->size * l->c * l->n * l->out_w * l->out_h, fp);
    }
    default: return 0;
    }
}

int abc_layer_record_read(layer *l, FILE *fp) { return load_layer(l, fp, 0, 0); }
int abc_layer_record_write(const layer *l, FILE *fp) { return save_layer(l, fp); }


/* ---- what the file is: a darknet weights file, or something given in its place ---- */

#define EXPECTED "expected a darknet .weights file (header: major, minor, revision, seen, then floats)"
/* The largest header number taken for darknet's: darknet writes 0.1.0 or 0.2.0, AlexeyAB's fork 0.2.5, and a
 * major or minor above 1000 flags transposed connected weights. Text, image magic and other binary formats
 * read as far larger (or negative) numbers; a plausible header always has NUL bytes, so is never text. */
#define VERSION_MAX 9999
#define SAMPLE_BYTES 4096

static void die_not_weights(const char *filename, const char *what, int order_hint)
{
    abc_die("'%s' is not a weights file: it is %s; " EXPECTED "%s", filename, what,
            order_hint ? ": were the files given in the wrong order?" : "");
}

/* The file's size; dies unless it is a regular file (a size to check against the cfg). */
static long long regular_file_size(FILE *fp, const char *filename)
{
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) abc_die("cannot stat weights file '%s': %s", filename, strerror(errno));
    if (S_ISDIR(st.st_mode)) abc_die("weights file '%s' is a directory; " EXPECTED, filename);
    if (!S_ISREG(st.st_mode))
        abc_die("weights file '%s' is not a regular file, so its size cannot be checked against the cfg", filename);
    return (long long)st.st_size;
}

/* No NUL byte and almost no control characters (UTF-8 counts as text). */
static int is_text(const unsigned char *b, size_t n)
{
    size_t control = 0;
    for (size_t i = 0; i < n; ++i) {
        if (!b[i]) return 0;
        control += (b[i] < 0x20 && !strchr("\t\n\v\f\r", b[i])) || b[i] == 0x7f;
    }
    return control * 64 <= n;
}

/* s as printable ASCII between quotes, cut to QUOTE_MAX characters. */
#define QUOTE_MAX 40
static void quote(const char *s, char out[QUOTE_MAX + 8])
{
    size_t k = 0;
    out[k++] = '\'';
    for (; *s && k <= QUOTE_MAX; ++s) out[k++] = *s >= 0x20 && *s < 0x7f ? *s : '?';
    strcpy(out + k, *s ? "...'" : "'");
}

/* One line of a text sample, stripped of surrounding blanks, or NULL for a blank or comment line. */
static char *meaningful(char *line)
{
    line += strspn(line, " \t\v\f\r");
    size_t n = strlen(line);
    while (n && strchr(" \t\v\f\r", line[n - 1])) line[--n] = 0;
    return *line && *line != '#' && *line != ';' ? line : NULL;
}

/* What a text file looks like: a cfg ([sections]), a .data file (key=value lines), or other text. */
static void describe_text(const unsigned char *b, size_t n, char *what, size_t cap)
{
    char *t = abc_xmalloc(n + 1), q[QUOTE_MAX + 8];
    memcpy(t, b, n);
    t[n] = 0;
    char *first = NULL, *sect = NULL, *pair = NULL;
    int first_no = 0, sect_no = 0, pair_no = 0, no = 0;
    for (char *line = t, *nl; line; line = nl ? nl + 1 : NULL) {
        if ((nl = strchr(line, '\n'))) *nl = 0;
        char *s = meaningful(line);
        ++no;
        if (!s) continue;
        if (!first) first = s, first_no = no;
        if (!sect && s[0] == '[' && s[strlen(s) - 1] == ']') sect = s, sect_no = no;
        if (!pair && strchr(s, '=')) pair = s, pair_no = no;
    }
    if (sect) {
        int net = !strcmp(sect, "[net]") || !strcmp(sect, "[network]");
        quote(sect, q);
        snprintf(what, cap, "text, %s by the look of it (%s on line %d)",
                 net ? "a darknet cfg" : "cfg-like with [sections]", q, sect_no);
    } else if (pair) {
        quote(pair, q);
        snprintf(what, cap, "text, a darknet .data file by the look of it (%s on line %d)", q, pair_no);
    } else if (first) {
        quote(first, q);
        snprintf(what, cap, "text (%s on line %d)", q, first_no);
    } else {
        snprintf(what, cap, "text (blank lines and comments only)");
    }
    free(t);
}

/* What a binary file is by its magic number, or NULL. */
static const char *magic_kind(const unsigned char *b, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *kind;
    } kinds[] = {
        {"\x89PNG\r\n\x1a\n", 8, "a PNG image"},
        {"\xff\xd8\xff", 3, "a JPEG image"},
        {"GIF87a", 6, "a GIF image"},
        {"GIF89a", 6, "a GIF image"},
        {"BM", 2, "a BMP image"},
        {"II*\0", 4, "a TIFF image"},
        {"MM\0*", 4, "a TIFF image"},
        {"PK\x03\x04", 4, "a zip archive (a PyTorch .pt/.pth model?)"},
        {"\x1f\x8b", 2, "gzip-compressed (decompress it first?)"},
        {"\x89HDF\r\n\x1a\n", 8, "an HDF5 file (a Keras .h5 model?)"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; ++i)
        if (n >= kinds[i].len && !memcmp(b, kinds[i].magic, kinds[i].len)) return kinds[i].kind;
    return NULL;
}

typedef struct {
    int major, minor, revision;
    long long size; /* bytes: 12, then seen in 4 or 8 */
    uint64_t seen;
    int transposed; /* connected weights stored inputs x outputs */
} weights_header;

static int plausible(int v) { return v >= 0 && v <= VERSION_MAX; }

/* The header of a file whose first n bytes are b (n >= 12); dies if it is not a darknet header. */
static weights_header parse_header(const unsigned char *b, size_t n, const char *filename)
{
    int32_t v[3];
    memcpy(v, b, sizeof v);
    weights_header h = {v[0], v[1], v[2], 16, 0, 0};
    if (!plausible(h.major) || !plausible(h.minor) || !plausible(h.revision))
        abc_die("'%s' is not a weights file: its header reads as version %d.%d.%d, which no darknet writes "
                "(0.1.0, 0.2.0, forks 0.2.5; each number 0..%d); " EXPECTED,
                filename, h.major, h.minor, h.revision, VERSION_MAX);
    /* darknet's rule; the bounds above keep major*10 from overflowing */
    int long_seen = h.major * 10 + h.minor >= 2 && h.major < 1000 && h.minor < 1000;
    h.size = long_seen ? 20 : 16;
    if ((long long)n < h.size) {
        char what[128];
        snprintf(what, sizeof what, "too short: %zu bytes, and a header %d.%d.%d alone takes %lld", n, h.major,
                 h.minor, h.revision, h.size);
        die_not_weights(filename, what, 0);
    }
    if (long_seen) {
        memcpy(&h.seen, b + 12, 8);
    } else {
        int32_t s;
        memcpy(&s, b + 12, 4);
        h.seen = (uint64_t)(s < 0 ? 0 : s);
    }
    h.transposed = h.major > 1000 || h.minor > 1000;
    return h;
}

/* Reads the start of the file; dies, saying what the file is, unless it starts like darknet weights. */
static weights_header read_header(FILE *fp, const char *filename)
{
    unsigned char b[SAMPLE_BYTES];
    size_t n = fread(b, 1, sizeof b, fp);
    if (ferror(fp)) abc_die("cannot read weights file '%s': %s", filename, strerror(errno));
    if (n == 0) die_not_weights(filename, "empty (0 bytes)", 0);
    char what[160];
    if (is_text(b, n)) {
        describe_text(b, n, what, sizeof what);
        die_not_weights(filename, what, 1);
    }
    const char *kind = magic_kind(b, n);
    if (kind) die_not_weights(filename, kind, 1);
    if (n < 12) {
        snprintf(what, sizeof what, "too short: %zu bytes, and a weights header alone takes 16 or 20", n);
        die_not_weights(filename, what, 0);
    }
    return parse_header(b, n, filename);
}

/* ---- whether the file's size fits the cfg ---- */

/* Floats layers start..cutoff-1 take in a file: as this cfg says, and as the float model of the same topology
 * (-1 when a binary layer has no float form). */
typedef struct {
    int start, cutoff, all; /* all: cutoff is the whole network */
    long long need, need_float;
    int binary;          /* binary layers with a float form */
    int first, last;     /* first and last layer with weights, or -1 */
} weights_plan;

static weights_plan plan_of(const network *net, int start, int cutoff)
{
    weights_plan p = {start, cutoff, cutoff == net->n, 0, 0, 0, -1, -1};
    for (int i = start; i < cutoff; ++i) {
        const layer *l = &net->layers[i];
        if (l->dontload) continue;
        size_t f = abc_layer_floats(l), ff = layer_floats_as_float(l);
        p.need += (long long)f;
        if (abc_registry_of(l)) p.binary += ff > 0;
        if (p.need_float >= 0) p.need_float = ff || !abc_registry_of(l) ? p.need_float + (long long)ff : -1;
        if (f) {
            if (p.first < 0) p.first = i;
            p.last = i;
        }
    }
    return p;
}

/* Where `floats` end among the planned layers: the last layer held whole (start-1 if none), the layer they end
 * inside (-1 if none) and that layer's first float. */
typedef struct {
    int last_full, inside;
    long long inside_at;
} weights_end;

static weights_end find_end(const network *net, const weights_plan *p, long long floats)
{
    weights_end e = {p->start - 1, -1, 0};
    long long at = 0;
    for (int i = p->start; i < p->cutoff && e.inside < 0; ++i) {
        if (net->layers[i].dontload) continue;
        long long f = (long long)abc_layer_floats(&net->layers[i]);
        if (!f) continue;
        if (floats >= at + f) e.last_full = i;
        else if (floats > at) e.inside = i, e.inside_at = at;
        at += f;
    }
    return e;
}

/* "layer 3" or "layers 0..3" */
static const char *layers_str(int a, int b, char *out, size_t cap)
{
    if (a == b) snprintf(out, cap, "layer %d", a);
    else snprintf(out, cap, "layers %d..%d", a, b);
    return out;
}

/* "the cfg needs N floats for layers a..b[ (or M as its float model)]" */
static void needs_str(const weights_plan *p, char *out, size_t cap)
{
    char r[48], alt[64] = "";
    if (p->first < 0) {
        snprintf(out, cap, "the cfg's layers %d..%d hold no weights", p->start, p->cutoff - 1);
        return;
    }
    if (p->binary && p->need_float >= 0) snprintf(alt, sizeof alt, " (or %lld as its float model)", p->need_float);
    snprintf(out, cap, "the cfg needs %lld floats for %s%s", p->need, layers_str(p->first, p->last, r, sizeof r), alt);
}

/* How far a file that ends inside layer e->inside gets: "layers 0..2 take N and layer 3 needs M more". */
static void held_str(const network *net, const weights_plan *p, const weights_end *e, char *out, size_t cap)
{
    char r[48];
    long long f = (long long)abc_layer_floats(&net->layers[e->inside]);
    if (!e->inside_at) snprintf(out, cap, "but layer %d alone needs %lld", e->inside, f);
    else snprintf(out, cap, "%s take%s %lld and layer %d needs %lld more",
                  layers_str(p->first, e->last_full, r, sizeof r), e->last_full == p->first ? "s" : "",
                  e->inside_at, e->inside, f);
}

/* A size that is not the cfg's, read as follows:
 *  - bytes after the header that are not whole floats: truncated or corrupt (no darknet writer makes them);
 *  - more floats than the cfg needs (loading the whole network): the weights of another network;
 *  - fewer, ending exactly where a layer ends: a pretrained prefix (darknet's *.conv.N): a warning;
 *  - fewer, ending inside a layer: a truncated file and the smaller file of another network look the same
 *    from the size alone, so the message names both and gives the numbers.
 * Returns the cutoff to load up to. */
static int check_fit(const network *net, const char *filename, const weights_header *h, long long fsize,
                     const weights_plan *p)
{
    long long bytes = fsize - h->size, floats = bytes / 4;
    if (floats == p->need && bytes % 4 == 0) return p->cutoff;
    if (floats >= p->need && !p->all) return p->cutoff; /* darknet reads the layers asked for */
    char need[160];
    needs_str(p, need, sizeof need);
    if (bytes % 4)
        abc_die("weights file '%s' is truncated or corrupt: after its %lld-byte header it has %lld bytes, not a "
                "whole number of 4-byte floats; %s", filename, h->size, bytes, need);
    if (floats > p->need)
        abc_die("weights file '%s' does not fit the cfg: it holds %lld floats after its %lld-byte header, %s; "
                "the weights of another network (another cfg)?", filename, floats, h->size, need);
    if (floats == 0) abc_die("weights file '%s' has a header but no weights; %s", filename, need);
    weights_end e = find_end(net, p, floats);
    if (e.inside >= 0) {
        char held[128];
        held_str(net, p, &e, held, sizeof held);
        abc_die("weights file '%s' ends inside layer %d (%s): truncated, or the weights of another network: it "
                "holds %lld floats after its %lld-byte header, %s; %s", filename, e.inside,
                abc_layer_name(&net->layers[e.inside]), floats, h->size, held, need);
    }
    abc_warn("weights file '%s' holds layers %d..%d only (%lld of %lld bytes): a pretrained prefix; "
             "later layers keep their initial values", filename, p->start, e.last_full, fsize, h->size + 4 * p->need);
    return e.last_full + 1;
}

void abc_load_weights(network *net, const char *filename, int start, int cutoff)
{
    if (abc_packfile_is(filename)) {
        if (start != 0 || cutoff < net->n)
            abc_die("'%s' is a packed file: it loads whole, not layers %d..%d", filename, start, cutoff - 1);
        abc_packfile_load(net, filename);
        return;
    }
    FILE *fp = fopen(filename, "rb");
    if (!fp) abc_die("cannot open weights file '%s': %s", filename, strerror(errno));
    abc_cleanup_push(abc_cleanup_fclose, fp);
    long long fsize = regular_file_size(fp, filename);
    fsize -= abc_train_state_bytes(fp, fsize); /* a checkpoint's training state: read by the training loop */
    weights_header h = read_header(fp, filename);
    if (cutoff > net->n) cutoff = net->n;

    /* Check the size before reading anything. A file of exactly the size of
     * the float model of this topology is one: its weights become the binary
     * layers' shadow weights (fine-tuning, the ABC-Net recipe). */
    weights_plan p = plan_of(net, start, cutoff);
    long long bytes = fsize - h.size;
    int as_float = p.binary > 0 && bytes != 4 * p.need && p.need_float >= 0 && bytes == 4 * p.need_float;
    *net->seen = (size_t)h.seen;
    if (as_float) {
        fprintf(stderr, "%s: a float model of this topology: its weights become the shadow weights of the %d binary "
                "layers (alphas fitted to them); the iteration count restarts at 0\n", filename, p.binary);
        *net->seen = 0;
    } else {
        cutoff = check_fit(net, filename, &h, fsize, &p);
    }
    /* only now: an error above must start its own line */
    fprintf(stderr, "Loading weights from %s...", filename);
    if (fseek(fp, h.size, SEEK_SET)) abc_die("weights file '%s': cannot seek: %s", filename, strerror(errno));
    for (int i = start; i < cutoff; ++i) {
        layer *l = &net->layers[i];
        if (l->dontload) continue;
        if (load_layer(l, fp, h.transposed, as_float))
            abc_die("weights file '%s': read error in layer %d (%s)", filename, i, abc_layer_name(l));
    }
    abc_cleanup_pop(fp);
    fclose(fp);
    fprintf(stderr, "Done!\n");
}

int abc_weights_write_header(FILE *fp, uint64_t seen)
{
    int32_t hdr[3] = {0, 2, 0}; /* version 0.2.0: an 8-byte seen follows */
    int e = fwrite(hdr, sizeof hdr, 1, fp) != 1;
    return e | (fwrite(&seen, sizeof seen, 1, fp) != 1);
}

static int save_try(network *net, const char *filename, int cutoff, const abc_resume_info *r, char *err, size_t errn)
{
    fprintf(stderr, "Saving weights to %s\n", filename);
    abc_atomic_file f;
    if (abc_atomic_open(&f, filename)) {
        snprintf(err, errn, "cannot write weights file '%s': %s", filename, strerror(errno));
        return -1;
    }
    int e = abc_weights_write_header(f.fp, *net->seen);
    for (int i = 0; i < net->n && i < cutoff && !e; ++i)
        if (!net->layers[i].dontsave) e |= save_layer(&net->layers[i], f.fp);
    if (r && !e) e = abc_train_state_write(f.fp, net, r);
    int why = errno;
    if (e) abc_atomic_abort(&f);
    if (e || abc_atomic_commit(&f)) {
        snprintf(err, errn, "writing weights file '%s' failed (%s); the previous file is unchanged", filename,
                 e ? strerror(why) : "disk full?");
        return -1;
    }
    return 0;
}

int abc_save_weights_try(network *net, const char *filename, int cutoff, char *err, size_t errn)
{
    return save_try(net, filename, cutoff, NULL, err, errn);
}

int abc_save_checkpoint_try(network *net, const char *filename, const abc_resume_info *r, char *err, size_t errn)
{
    return save_try(net, filename, net->n, r, err, errn);
}

void abc_save_weights(network *net, const char *filename, int cutoff)
{
    char err[8400];
    if (abc_save_weights_try(net, filename, cutoff, err, sizeof err)) abc_die("%s", err);
}
