#include "abc/abc_util.h"
#include "commands.h"
int abc_classifier_main(int argc, char **argv) { (void)argc; (void)argv; abc_die("classifier: being written"); }
