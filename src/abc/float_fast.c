#include "float_fast.h"

#include <stdlib.h>
#include <string.h>

#include "abc_util.h"
#include "dn_private.h"
#include "float_layers.h"

static int mode = -1;

void abc_float_fast_set(int on) { mode = on ? 1 : 0; }

int abc_float_fast_enabled(void)
{
    if (mode < 0) {
        const char *e = getenv("ABC_FLOAT");
        if (!e || !*e || !strcmp(e, "fast")) mode = 1;
        else if (!strcmp(e, "stock")) mode = 0;
        else abc_die("ABC_FLOAT='%s': expected 'fast' (the default) or 'stock'", e);
    }
    return mode;
}

int abc_float_fast_use(layer *l)
{
    if (l->type == CONVOLUTIONAL && abc_conv_fast_supports(l) &&
        (l->forward == forward_convolutional_layer || l->forward == abc_conv_fast_forward)) {
        l->forward = abc_conv_fast_forward;
        l->backward = abc_conv_fast_backward;
        return 1;
    }
    if (l->type == CONNECTED && abc_connected_fast_supports(l) &&
        (l->forward == forward_connected_layer || l->forward == abc_connected_fast_forward)) {
        l->forward = abc_connected_fast_forward;
        l->backward = abc_connected_fast_backward;
        return 1;
    }
    return 0;
}

void abc_float_fast_install(layer *l)
{
    if (abc_float_fast_enabled()) abc_float_fast_use(l);
}
