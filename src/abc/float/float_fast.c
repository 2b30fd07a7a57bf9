#include "float_fast.h"

#include "base/darknet_private.h"
#include "base/mode.h"
#include "float_layers.h"

int abc_float_fast_enabled(void) { return abc_mode_choice(ABC_MODE_FLOAT) == ABC_FLOAT_FAST; }

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
    if (l->type == MAXPOOL && (l->forward == forward_maxpool_layer || l->forward == abc_maxpool_fast_forward)) {
        l->forward = abc_maxpool_fast_forward;
        return 1;
    }
    if (l->type == YOLO && (l->forward == forward_yolo_layer || l->forward == abc_yolo_fast_forward)) {
        l->forward = abc_yolo_fast_forward;
        return 1;
    }
    if (l->type == SHORTCUT && (l->forward == forward_shortcut_layer || l->forward == abc_shortcut_fast_forward)) {
        l->forward = abc_shortcut_fast_forward;
        l->backward = abc_shortcut_fast_backward;
        return 1;
    }
    if (l->type == UPSAMPLE && (l->forward == forward_upsample_layer || l->forward == abc_upsample_fast_forward)) {
        l->forward = abc_upsample_fast_forward;
        return 1;
    }
    return 0;
}

void abc_float_fast_install(layer *l)
{
    if (abc_float_fast_enabled()) abc_float_fast_use(l);
}
