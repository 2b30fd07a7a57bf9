/* Checks of stock darknet sections made before libdarknet's parse_* runs,
 * so that bad values stop with file:line instead of libdarknet's error()
 * (abort), assert or a segfault. */
#ifndef ABC_STOCK_CHECKS_H
#define ABC_STOCK_CHECKS_H

#include "base/cfg.h"

void abc_check_net_section(const abc_section *s);
/* net: the layers built so far (route/shortcut look back). */
void abc_check_stock_section(const abc_section *s, LAYER_TYPE t, size_params p, const network *net);

/* A stock layer of no parameters whose libdarknet backward only adds its gradient into net.delta, and does so
 * even when net.delta is NULL, as it is for the first layer in training (maxpool, avgpool, upsample, reorg:
 * a segfault): as the first layer, its backward does nothing without a net.delta. */
void abc_guard_first_layer(layer *l);

#endif
