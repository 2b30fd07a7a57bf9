/* ./darknet: darknet's command names, dispatched through the command table
 * (commands.c); the global options (-threads N) are applied here. */
#include "abc/base/threads.h"
#include "abc/float/float_fast.h"
#include "abc/hooks.h"
#include "abc/kernels/blas_core.h"
#include "commands.h"

int main(int argc, char **argv)
{
    abc_blas_fix_core(argv); /* before anything: may start the program again with OPENBLAS_CORETYPE set */
    abc_cli a = abc_cli_parse(&abc_darknet_cmd, argc, argv); /* usage and argument errors end here */
    if (abc_cli_given(&a, "-threads")) abc_set_threads((int)abc_cli_int(&a, "-threads", 0));
    abc_float_fast_enabled(); /* checks ABC_FLOAT before anything runs quietly */
    abc_hooks_require_live();
    return a.cmd->run(&a);
}
