/* Packed deployment files: format in packfile.h. */
#include "packfile.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/files.h"
#include "base/half.h"
#include "base/util.h"
#include "netio.h"
#include "registry.h"

enum { HEADER = 48, RECORD = 16, VERSION = 1 };
enum { ENC_NONE = 0, ENC_F32 = 1, ENC_F16 = 2, ENC_PACKED = 3 };


static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; ++i) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define FNV_START 0xcbf29ce484222325ull

static uint64_t hash_int(uint64_t h, long long v) { return fnv1a(h, &v, sizeof v); }

/* Bytes of a plugin layer's packed record (its describe()'s figure), 0 for another layer. */
static size_t packed_bytes(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (!p || !p->describe) return 0;
    char what[400];
    size_t pb = 0, fb = 0;
    p->describe(l, what, sizeof what, &pb, &fb);
    return pb;
}

uint64_t abc_network_shape_hash(const network *net)
{
    uint64_t h = FNV_START;
    h = hash_int(h, net->n);
    for (int i = 0; i < net->n; ++i) {
        const layer *l = &net->layers[i];
        const abc_layer_type *p = abc_registry_of(l);
        if (p) h = fnv1a(h, p->name, strlen(p->name));
        else h = hash_int(h, l->type);
        long long v[] = {l->n, l->c, l->size, l->stride, l->pad, l->groups, l->batch_normalize, l->activation,
                         (long long)abc_layer_floats(l), (long long)packed_bytes(l)};
        for (size_t k = 0; k < sizeof v / sizeof v[0]; ++k) h = hash_int(h, v[k]);
    }
    return h;
}

int abc_packfile_is(const char *filename)
{
    FILE *fp = fopen(filename, "rb");
    if (!fp) return 0;
    char m[8];
    int is = fread(m, 1, 8, fp) == 8 && !memcmp(m, ABC_PACK_MAGIC, 8);
    fclose(fp);
    return is;
}

/* ---- writing ---- */

static void put32(FILE *fp, uint32_t v) { fwrite(&v, 4, 1, fp); }
static void put64(FILE *fp, uint64_t v) { fwrite(&v, 8, 1, fp); }

/* The layer's darknet record as floats (malloc'd, *n of them). */
static float *float_record(const layer *l, int i, size_t *n)
{
    *n = abc_layer_floats(l);
    float *v = abc_xmalloc(*n * sizeof(float) + 1);
    FILE *fp = fmemopen(v, *n * sizeof(float) + 1, "wb");
    if (!fp || abc_layer_record_write(l, fp) || fflush(fp) || ftell(fp) != (long)(*n * sizeof(float)))
        abc_die("packing: cannot serialise layer %d's record", i);
    fclose(fp);
    return v;
}

/* 1 if every value keeps a finite float16 form (written into h), else 0. */
static int to_half(const float *v, size_t n, uint16_t *h)
{
    for (size_t i = 0; i < n; ++i) {
        h[i] = abc_f32_to_f16(v[i]);
        if ((h[i] & 0x7c00) == 0x7c00) return 0; /* infinite or NaN */
    }
    return 1;
}

static int write_layer(FILE *ms, layer *l, int i, int half)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) {
        if (!p->pack) abc_die("layer %d ([%s]) has no packed form", i, p->name);
        size_t want = packed_bytes(l);
        put32(ms, ENC_PACKED), put32(ms, l->type), put64(ms, want);
        long at = ftell(ms);
        if (p->pack(l, ms)) return -1;
        if ((size_t)(ftell(ms) - at) != want)
            abc_die("layer %d ([%s]) packed %ld bytes, its summary says %zu", i, p->name, ftell(ms) - at, want);
        return 0;
    }
    size_t n;
    float *v = float_record(l, i, &n);
    int r = 0;
    uint16_t *h = half && n ? abc_xmalloc(n * 2) : NULL;
    if (!n) {
        put32(ms, ENC_NONE), put32(ms, l->type), put64(ms, 0);
    } else if (h && to_half(v, n, h)) {
        put32(ms, ENC_F16), put32(ms, l->type), put64(ms, 2 * n);
        r = fwrite(h, 2, n, ms) == n ? 0 : -1;
    } else {
        if (half) abc_warn("layer %d keeps float32: a value of it has no float16 form", i);
        put32(ms, ENC_F32), put32(ms, l->type), put64(ms, 4 * n);
        r = fwrite(v, 4, n, ms) == n ? 0 : -1;
    }
    free(h);
    free(v);
    return r;
}

long long abc_packfile_save(network *net, const char *filename, int half)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *ms = open_memstream(&buf, &len);
    if (!ms) abc_die("packing: out of memory");
    for (int i = 0; i < net->n; ++i)
        if (write_layer(ms, &net->layers[i], i, half)) abc_die("packing layer %d failed", i);
    if (fclose(ms)) abc_die("packing: out of memory");
    abc_atomic_file f;
    if (abc_atomic_open(&f, filename)) abc_die("cannot write packed file '%s': %s", filename, strerror(errno));
    fwrite(ABC_PACK_MAGIC, 1, 8, f.fp);
    put32(f.fp, VERSION), put32(f.fp, (uint32_t)net->n);
    put64(f.fp, abc_network_shape_hash(net)), put64(f.fp, *net->seen), put64(f.fp, len);
    put64(f.fp, fnv1a(FNV_START, buf, len));
    int bad = fwrite(buf, 1, len, f.fp) != len;
    free(buf);
    if (bad || ferror(f.fp)) {
        abc_atomic_abort(&f);
        abc_die("writing packed file '%s' failed (disk full?)", filename);
    }
    if (abc_atomic_commit(&f)) abc_die("writing packed file '%s' failed (disk full?)", filename);
    return (long long)(HEADER + len);
}

/* ---- reading ---- */

static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* What a record of layer l must hold, or -1 for an encoding it cannot have. */
static long long record_bytes(const layer *l, uint32_t enc)
{
    const abc_layer_type *p = abc_registry_of(l);
    size_t n = p ? 0 : abc_layer_floats(l);
    if (p) return enc == ENC_PACKED ? (long long)packed_bytes(l) : -1;
    if (enc == ENC_NONE) return n ? -1 : 0;
    if (enc == ENC_F32 && n) return 4 * (long long)n;
    if (enc == ENC_F16 && n) return 2 * (long long)n;
    return -1;
}

static const char *enc_name(uint32_t e)
{
    static const char *const names[] = {"empty", "float32", "float16", "packed"};
    return e <= ENC_PACKED ? names[e] : "unknown";
}

static int read_layer(layer *l, uint32_t enc, const unsigned char *b, size_t bytes)
{
    if (!bytes) return 0;
    float *exp = NULL;
    if (enc == ENC_F16) {
        size_t n = bytes / 2;
        exp = abc_xmalloc(n * sizeof(float));
        for (size_t i = 0; i < n; ++i) {
            uint16_t x;
            memcpy(&x, b + 2 * i, 2);
            exp[i] = abc_f16_to_f32(x);
        }
        b = (const unsigned char *)exp;
        bytes = n * sizeof(float);
    }
    FILE *fp = fmemopen((void *)b, bytes, "rb");
    if (!fp) abc_die("unpacking: out of memory");
    const abc_layer_type *p = abc_registry_of(l);
    int r = p ? p->unpack(l, fp) : abc_layer_record_read(l, fp);
    if (!r && ftell(fp) != (long)bytes) r = -1;
    fclose(fp);
    free(exp);
    return r;
}

void abc_packfile_load(network *net, const char *filename)
{
    FILE *fp = fopen(filename, "rb");
    if (!fp) abc_die("cannot open packed file '%s': %s", filename, strerror(errno));
    abc_cleanup_push(abc_cleanup_fclose, fp);
    struct stat sb;
    if (fstat(fileno(fp), &sb) || !S_ISREG(sb.st_mode)) abc_die("packed file '%s' is not a regular file", filename);
    unsigned char h[HEADER];
    if (fread(h, 1, HEADER, fp) != HEADER) abc_die("packed file '%s' is truncated (no whole header)", filename);
    uint32_t version = get32(h + 8), layers = get32(h + 12);
    uint64_t hash = get64(h + 16), seen = get64(h + 24), len = get64(h + 32), sum = get64(h + 40);
    if (version != VERSION)
        abc_die("packed file '%s' has format version %u; this darknet reads version %d", filename, version, VERSION);
    if ((int)layers != net->n || hash != abc_network_shape_hash(net))
        abc_die("packed file '%s' was packed from another cfg (%u layers, shape hash %016llx; this cfg: %d layers, "
                "%016llx): pack this cfg's own weights", filename, layers, (unsigned long long)hash, net->n,
                (unsigned long long)abc_network_shape_hash(net));
    if (len != (uint64_t)sb.st_size - HEADER) /* st_size >= HEADER: the header was read */
        abc_die("packed file '%s' is %s: %lld bytes after its header, which says %llu", filename,
                len > (uint64_t)sb.st_size - HEADER ? "truncated" : "followed by extra bytes",
                (long long)sb.st_size - HEADER, (unsigned long long)len);
    unsigned char *buf = abc_xmalloc(len + 1);
    abc_cleanup_pop(fp);
    abc_cleanup_push(free, buf);
    int short_read = fread(buf, 1, len, fp) != len;
    fclose(fp);
    if (short_read) abc_die("packed file '%s': read error", filename);
    if (fnv1a(FNV_START, buf, len) != sum) abc_die("packed file '%s' is corrupt (its checksum does not match)", filename);

    /* every record checked before any layer changes */
    size_t off = 0;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        if (len - off < RECORD) abc_die("packed file '%s': layer %d's record is missing", filename, i);
        uint32_t enc = get32(buf + off), type = get32(buf + off + 4);
        uint64_t bytes = get64(buf + off + 8);
        long long want = record_bytes(l, enc);
        if (type != (uint32_t)l->type || want < 0 || bytes != (uint64_t)want || bytes > len - off - RECORD)
            abc_die("packed file '%s': layer %d's record (%s, %llu bytes) does not fit this cfg's layer", filename, i,
                    enc_name(enc), (unsigned long long)bytes);
        off += RECORD + bytes;
    }
    if (off != len) abc_die("packed file '%s' holds more records than this cfg has layers", filename);
    fprintf(stderr, "Loading packed weights from %s...", filename);
    off = 0;
    for (int i = 0; i < net->n; ++i) {
        uint32_t enc = get32(buf + off);
        uint64_t bytes = get64(buf + off + 8);
        if (read_layer(&net->layers[i], enc, buf + off + RECORD, bytes))
            abc_die("packed file '%s': layer %d's record holds values its layer cannot take", filename, i);
        off += RECORD + bytes;
    }
    abc_cleanup_pop(buf);
    free(buf);
    *net->seen = (size_t)seen;
    fprintf(stderr, "Done!\n");
}

void abc_packfile_seal(unsigned char *file, size_t n)
{
    if (n < HEADER) return;
    uint64_t len = n - HEADER, sum = fnv1a(FNV_START, file + HEADER, len);
    memcpy(file + 32, &len, 8);
    memcpy(file + 40, &sum, 8);
}
