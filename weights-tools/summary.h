/* Network summary for models with plugin (binary) layers. */
#ifndef ABC_SUMMARY_H
#define ABC_SUMMARY_H

#include <stdio.h>

#include "darknet.h"

/* One line per plugin layer (what runs at inference: bases, kernel; its
 * parameter size packed and as float) and the model's total both ways.
 * Prints nothing for a model without plugin layers. Returns their count. */
int abc_print_model_summary(const network *net, FILE *out);

#endif
