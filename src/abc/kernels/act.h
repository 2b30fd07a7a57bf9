/* darknet's activations on rows of floats, in place: the common ones
 * written here (vectorizable loops), the rest through libdarknet's own
 * activate_array/gradient_array, so every ACTIVATION darknet has works. */
#ifndef ABC_ACT_H
#define ABC_ACT_H

#include "darknet.h"

/* x[i] = f(x[i]) */
void abc_act_row(float *x, int n, ACTIVATION a);
/* delta[i] *= f'(y[i]), with y the activated output (darknet's convention). */
void abc_grad_row(const float *y, int n, ACTIVATION a, float *delta);

#endif
