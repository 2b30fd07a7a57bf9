#include "train_state.h"

#include <errno.h>
#include <string.h>

#include "base/util.h"
#include "registry.h"

#define MAGIC "ABCSTATE"
#define VERSION 1

/* The arrays one SGD (or Adam) step of layer l leaves for the next: darknet's update functions scale the
 * accumulated updates by the momentum instead of clearing them; with moments, Adam's m and v too. -1 if l
 * trains but is not known here. */
static int layer_arrays(layer *l, int moments, abc_state_floats *a)
{
    const abc_layer_type *t = abc_registry_of(l);
    if (!l->update && !t) return 0;
    int n, k = 0;
    size_t nw;
    if (l->type == BATCHNORM) { /* the project's [batchnorm] trains its scales */
        if (l->scale_updates) a[k++] = (abc_state_floats){l->scale_updates, (size_t)l->c};
        return k;
    }
    if (l->type == CONVOLUTIONAL || t) {
        n = l->n;
        nw = (size_t)l->nweights;
    } else if (l->type == CONNECTED) {
        n = l->outputs;
        nw = (size_t)l->inputs * (size_t)l->outputs;
    } else {
        return -1;
    }
    if (l->bias_updates) a[k++] = (abc_state_floats){l->bias_updates, (size_t)n};
    if (l->batch_normalize && l->scale_updates) a[k++] = (abc_state_floats){l->scale_updates, (size_t)n};
    if (l->weight_updates) a[k++] = (abc_state_floats){l->weight_updates, nw};
    if (moments && l->m) {
        a[k++] = (abc_state_floats){l->m, nw};
        a[k++] = (abc_state_floats){l->v, nw};
        if (l->bias_m) a[k++] = (abc_state_floats){l->bias_m, (size_t)n}, a[k++] = (abc_state_floats){l->bias_v, (size_t)n};
        if (l->batch_normalize && l->scale_m)
            a[k++] = (abc_state_floats){l->scale_m, (size_t)n}, a[k++] = (abc_state_floats){l->scale_v, (size_t)n};
    }
    if (t && t->momentum) k += t->momentum(l, a + k, ABC_TRAIN_MAX_ARRAYS - k);
    return k;
}

int abc_train_grad_arrays(layer *l, abc_state_floats *out) { return layer_arrays(l, 0, out); }

int abc_train_stat_arrays(layer *l, abc_state_floats *out, float *keep)
{
    const abc_layer_type *t = abc_registry_of(l);
    int k = 0, n = l->type == BATCHNORM ? l->c : l->type == CONNECTED && !t ? l->outputs : l->n;
    if ((l->batch_normalize || l->type == BATCHNORM) && l->rolling_mean && l->rolling_variance) {
        keep[k] = keep[k + 1] = 0.99f; /* darknet's and kernels/bn.c's rolling update */
        out[k++] = (abc_state_floats){l->rolling_mean, (size_t)n};
        out[k++] = (abc_state_floats){l->rolling_variance, (size_t)n};
    }
    int m = t && t->stats ? t->stats(l, out + k, ABC_TRAIN_MAX_ARRAYS - k) : 0;
    for (int j = 0; j < m; ++j) keep[k++] = 0;
    return k;
}

int abc_train_state_supported(network *net, char *why, size_t n)
{
    abc_state_floats a[ABC_TRAIN_MAX_ARRAYS];
    for (int i = 0; i < net->n; ++i)
        if (layer_arrays(&net->layers[i], net->adam, a) < 0) {
            snprintf(why, n, "layer %d (%s) keeps a momentum the checkpoint does not save", i,
                     abc_layer_name(&net->layers[i]));
            return 0;
        }
    return 1;
}

/* FNV-1a over the arrays' sizes: the trailer belongs to this network. */
static uint64_t layout_hash(network *net, uint64_t *floats)
{
    uint64_t h = 1469598103934665603ull;
    *floats = 0;
    abc_state_floats a[ABC_TRAIN_MAX_ARRAYS];
    for (int i = 0; i < net->n; ++i) {
        int k = layer_arrays(&net->layers[i], net->adam, a);
        for (int j = 0; j < k; ++j) {
            h = (h ^ (uint64_t)a[j].n) * 1099511628211ull;
            *floats += a[j].n;
        }
        h = (h ^ (uint64_t)(k + 1)) * 1099511628211ull;
    }
    return h;
}

typedef struct {
    char magic[8];
    uint32_t version, seeded;
    uint64_t seed, layout, floats;
    unsigned char rng[ABC_RNG_STATE_BYTES];
    float avg_loss;
    uint32_t pad;
} head;

int abc_train_state_write(FILE *fp, network *net, const abc_resume_info *r)
{
    head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, MAGIC, 8);
    h.version = VERSION;
    h.seeded = (uint32_t)r->seeded;
    h.seed = r->seed;
    h.layout = layout_hash(net, &h.floats);
    memcpy(h.rng, r->rng, sizeof h.rng);
    h.avg_loss = r->avg_loss;
    int e = fwrite(&h, sizeof h, 1, fp) != 1;
    abc_state_floats a[ABC_TRAIN_MAX_ARRAYS];
    for (int i = 0; i < net->n && !e; ++i) {
        int k = layer_arrays(&net->layers[i], net->adam, a);
        for (int j = 0; j < k && !e; ++j) e = fwrite(a[j].v, sizeof(float), a[j].n, fp) != a[j].n;
    }
    uint64_t bytes = sizeof h + 4 * h.floats;
    e |= fwrite(&bytes, 8, 1, fp) != 1;
    e |= fwrite(MAGIC, 8, 1, fp) != 1;
    return e;
}

long long abc_train_state_bytes(FILE *fp, long long fsize)
{
    unsigned char t[16];
    uint64_t bytes;
    long at = ftell(fp);
    int ok = fsize >= 16 + (long long)sizeof(head) && !fseek(fp, fsize - 16, SEEK_SET) && fread(t, 1, 16, fp) == 16 &&
             !memcmp(t + 8, MAGIC, 8);
    fseek(fp, at, SEEK_SET);
    if (!ok) return 0;
    memcpy(&bytes, t, 8);
    if (bytes < sizeof(head) || bytes > (uint64_t)fsize - 16) return 0;
    return (long long)bytes + 16;
}

int abc_train_state_read(const char *path, network *net, abc_resume_info *r)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) abc_die("cannot open weights file '%s': %s", path, strerror(errno));
    abc_cleanup_push(abc_cleanup_fclose, fp);
    fseek(fp, 0, SEEK_END);
    long long fsize = ftell(fp), bytes = abc_train_state_bytes(fp, fsize);
    if (!bytes) {
        abc_cleanup_pop(fp);
        fclose(fp);
        return 0;
    }
    head h;
    uint64_t floats;
    if (fseek(fp, fsize - bytes, SEEK_SET) || fread(&h, sizeof h, 1, fp) != 1 || memcmp(h.magic, MAGIC, 8))
        abc_die("checkpoint '%s': its training state (after the weights) is corrupt", path);
    if (h.version != VERSION)
        abc_die("checkpoint '%s': training state version %u, this build reads %d", path, h.version, VERSION);
    if (h.layout != layout_hash(net, &floats) || h.floats != floats ||
        (long long)(sizeof h + 4 * floats + 16) != bytes)
        abc_die("checkpoint '%s': its training state (momentum of %llu floats) does not fit the cfg (%llu)", path,
                (unsigned long long)h.floats, (unsigned long long)floats);
    abc_state_floats a[ABC_TRAIN_MAX_ARRAYS];
    for (int i = 0; i < net->n; ++i) {
        int k = layer_arrays(&net->layers[i], net->adam, a);
        for (int j = 0; j < k; ++j)
            if (fread(a[j].v, sizeof(float), a[j].n, fp) != a[j].n)
                abc_die("checkpoint '%s': read error in the training state of layer %d", path, i);
    }
    abc_cleanup_pop(fp);
    fclose(fp);
    r->seeded = (int)h.seeded;
    r->seed = h.seed;
    memcpy(r->rng, h.rng, sizeof r->rng);
    r->avg_loss = h.avg_loss;
    return 1;
}
