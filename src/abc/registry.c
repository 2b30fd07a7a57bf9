#include "registry.h"

#include <string.h>

#include "base/util.h"
#include "layers/abc/abc_layers.h"
#include "layers/aqt/aqt_layers.h"
#include "layers/hada/hada_layers.h"

/* The plugin layer types built into ./darknet: one row each. */
static const abc_layer_type *const builtin[] = {
    &abc_conv_type,
    &abc_connected_type,
    &hada_conv_type,
    &hada_connected_type,
    &aqt_conv_type,
    &aqt_connected_type,
    NULL, /* the table ends with NULL; the plugin layer types go above */
};

#define ABC_MAX_EXTRA 16
static const abc_layer_type *extra[ABC_MAX_EXTRA];
static int n_extra;

static int n_builtin(void)
{
    int n = 0;
    while (builtin[n]) ++n;
    return n;
}

int abc_registry_count(void) { return n_builtin() + n_extra; }

const abc_layer_type *abc_registry_at(int i)
{
    int nb = n_builtin();
    if (i < 0 || i >= nb + n_extra) return NULL;
    return i < nb ? builtin[i] : extra[i - nb];
}

int abc_registry_add(const abc_layer_type *t)
{
    if (n_extra >= ABC_MAX_EXTRA) abc_die("too many plugin layer types");
    if (abc_registry_find(t->name)) abc_die("plugin layer type '%s' registered twice", t->name);
    extra[n_extra++] = t;
    return ABC_LAYER_TYPE_BASE + abc_registry_count() - 1;
}

const abc_layer_type *abc_registry_find(const char *name)
{
    for (int i = 0; i < abc_registry_count(); ++i)
        if (!strcmp(abc_registry_at(i)->name, name)) return abc_registry_at(i);
    return NULL;
}

const abc_layer_type *abc_registry_of(const layer *l)
{
    return abc_registry_at((int)l->type - ABC_LAYER_TYPE_BASE);
}

int abc_net_binarization(const network *net, float *beta, float *near_binary)
{
    double near = 0, total = 0;
    float most = 0;
    for (int i = 0; i < net->n; ++i) {
        const abc_layer_type *t = abc_registry_of(&net->layers[i]);
        float b, s;
        int n = t && t->binarization ? t->binarization(&net->layers[i], &b, &s) : 0;
        if (n <= 0) continue;
        near += (double)s * n;
        total += n;
        if (b > most) most = b;
    }
    if (total <= 0) return 0;
    *beta = most;
    *near_binary = (float)(near / total);
    return 1;
}

const char *abc_layer_name(const layer *l)
{
    const abc_layer_type *p = abc_registry_of(l);
    if (p) return p->name;
    switch (l->type) {
    case CONVOLUTIONAL: return "convolutional";
    case DECONVOLUTIONAL: return "deconvolutional";
    case CONNECTED: return "connected";
    case BATCHNORM: return "batchnorm";
    default: return "layer";
    }
}
