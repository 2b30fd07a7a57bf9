/* MD-tanh-S (Ajanthan et al. 2021): the dual variable w stored, the forward on tanh(beta w), the gradient of the
 * soft weights applied to w straight (their full-STE option, the paper's MD <-> STE equivalence); no weight
 * decay (their setting). */
#include "wquant.h"

const abc_wquant abc_wquant_md_tanh_s = {"md_tanh_s", "mirror descent, stable form: tanh(beta w), straight gradient",
                                         0, 0, 0, 1.f, 1.02f, 200, abc_wquant_tanh, abc_wquant_straight};
