#include "abc/abc_util.h"
#include "commands.h"
int abc_data_main(int argc, char **argv) { (void)argc; (void)argv; abc_die("data: being written"); }
