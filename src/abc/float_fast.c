#include "float_fast.h"

void abc_float_fast_install(layer *l)
{
    (void)l; /* the fast path is being written; stock functions stay */
}
