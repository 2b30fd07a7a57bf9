/* Checks of stock darknet sections made before libdarknet's parse_* runs,
 * so that bad values stop with file:line instead of libdarknet's error()
 * (abort), assert or a segfault. */
#ifndef ABC_STOCK_CHECKS_H
#define ABC_STOCK_CHECKS_H

#include "base/cfg.h"

void abc_check_net_section(const abc_section *s);
/* net: the layers built so far (route/shortcut look back). */
void abc_check_stock_section(const abc_section *s, LAYER_TYPE t, size_params p, const network *net);

#endif
