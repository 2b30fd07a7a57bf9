#include "precision.h"

#include <stdio.h>

#include "abc/base/cfg.h"
#include "abc/base/mode.h"
#include "abc/kernels/sgemm.h"

const char *abc_precision_apply(const char *cfg)
{
    int want = abc_mode_choice(ABC_MODE_PRECISION), bf16 = abc_sgemm_bf16_supported(), asked = 0;
    if (want != ABC_PRECISION_CFG) {
        bf16 = want == ABC_PRECISION_BF16;
        asked = 1;
    } else if (cfg) {
        abc_cfg *c = abc_cfg_read(cfg);
        if (abc_sec_has(&c->sec[0], "precision")) {
            bf16 = abc_sec_choice(&c->sec[0], "precision", "fp32", "bf16", 0);
            asked = 1;
        }
        abc_cfg_free(c);
    }
    if (abc_sgemm_set_train_bf16(bf16) != bf16 && asked)
        fprintf(stderr, "precision: this CPU has no AVX512-BF16: training in fp32\n");
    return abc_sgemm_train_bf16() ? "bf16" : "fp32";
}
