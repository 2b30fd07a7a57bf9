/* Every kernel family (select.h), for `abc info`, the benchmarks and the tests. */
#include "bgemm_kernels.h"
#include "bim2col.h"
#include "bitpack.h"
#include "hgemm_kernels.h"
#include "igemm.h"

abc_kernel_family *const *abc_kernel_families(void)
{
    static abc_kernel_family *const all[] = {&abc_bgemm_family, &hada_hgemm_family, &abc_bitpack_family,
                                             &abc_bim2col_family, &abc_igemm_family, NULL};
    return all;
}
