/* Network summary for models with plugin (binary) layers. */
#ifndef ABC_SUMMARY_H
#define ABC_SUMMARY_H

#include <stdio.h>

#include "darknet.h"

/* One line per plugin layer (what runs at inference: bases, kernel; its
 * parameter size packed and as float) and the model's total both ways.
 * Prints nothing for a model without plugin layers. Returns their count. */
int abc_print_model_summary(const network *net, FILE *out);
/* The parameters' bytes at inference (plugin layers packed, describe()) and as the float model. */
void abc_model_bytes(const network *net, size_t *packed, size_t *flt);
/* AQT's cost model of one image's forward: the sum over the conv and connected layers of MACs x weight bits x
 * input bits (float: 32 x 32; plugin layers: their bits()); *macs (if not NULL): the MACs alone. */
double abc_model_bitops(const network *net, double *macs);

#endif
