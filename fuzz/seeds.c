/* Writes the seed inputs of the weights and packfile targets (make fuzz-seeds): files of the fuzz network in
 * every form its readers take. The text targets' seeds are kept by hand in fuzz/corpus/. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/util.h"
#include "abc/netio.h"
#include "abc/packfile.h"
#include "abc/train_state.h"
#include "fuzz_net.h"
#include "seeds.h"

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = abc_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) abc_die("fuzz seeds: cannot read '%s'", path);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *b = abc_xmalloc(*n + 1);
    if (fread(b, 1, *n, fp) != *n) abc_die("fuzz seeds: cannot read '%s'", path);
    fclose(fp);
    return b;
}

static void spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(b, 1, n, fp) != n || fclose(fp)) abc_die("fuzz seeds: cannot write '%s'", path);
}

void abc_fuzz_write_seeds(const char *weights_dir, const char *packfile_dir)
{
    network *net = abc_fuzz_net();
    char err[512];
    char *w = join(weights_dir, "new-header.weights");
    abc_save_weights(net, w, net->n);

    /* darknet's old header: major 0, minor 1, revision 0, a 4-byte seen */
    size_t n;
    unsigned char *b = slurp(w, &n);
    unsigned char *old = abc_xmalloc(n);
    int32_t v[4] = {0, 1, 0, 7};
    memcpy(old, v, 16);
    memcpy(old + 16, b + 20, n - 20);
    char *o = join(weights_dir, "old-header.weights");
    spit(o, old, n - 4);

    /* a prefix: the first layers only */
    char *p = join(weights_dir, "prefix.weights");
    spit(p, b, n / 3);

    network *twin = abc_fuzz_net_float_twin();
    char *f = join(weights_dir, "float-twin.weights");
    abc_save_weights(twin, f, twin->n);
    abc_free_network(twin);

    abc_resume_info r = {1, 42, {0}, 1.5f};
    for (size_t i = 0; i < sizeof r.rng; ++i) r.rng[i] = (unsigned char)(i * 37);
    char *c = join(weights_dir, "checkpoint.backup");
    if (abc_save_checkpoint_try(net, c, &r, err, sizeof err)) abc_die("%s", err);

    char *k = join(packfile_dir, "float32.abcw"), *h = join(packfile_dir, "float16.abcw");
    abc_packfile_save(net, k, 0);
    abc_packfile_save(net, h, 1);
    char *kw = join(weights_dir, "packed.abcw");
    abc_packfile_save(net, kw, 0);
    printf("fuzz seeds: %s, %s, %s, %s, %s, %s, %s, %s\n", w, o, p, f, c, k, h, kw);
    free(b), free(old), free(w), free(o), free(p), free(f), free(c), free(k), free(h), free(kw);
}
