/* MD-tanh (Ajanthan et al. 2021): the update atanh(x) <- atanh(x) - eta beta g on the primal x = tanh(beta w),
 * kept here as w = atanh(x) / beta (so the step is w <- w - eta g, MD-tanh-S's), with the primal held fixed when
 * beta grows (w rescaled by old / new), as the paper's MDAdam stores x itself; no weight decay. */
#include "wquant.h"

const abc_wquant abc_wquant_md_tanh = {"md_tanh", "mirror descent: primal tanh(beta w) kept across beta steps", 0, 0,
                                       1, 1.f, 1.02f, 200, abc_wquant_tanh, abc_wquant_straight};
