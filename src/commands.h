/* The commands of ./darknet (cli.h tables). Adding a command: its file with
 * its abc_cmd, and one entry in its family's list (commands.c for a new
 * family). */
#ifndef ABC_COMMANDS_H
#define ABC_COMMANDS_H

#include "cli.h"

extern const abc_cmd abc_darknet_cmd;    /* commands.c: the program, its families and global options */
extern const abc_cmd abc_classifier_cmd; /* classifier.c: train, valid, predict */
extern const abc_cmd abc_detector_cmd;   /* detector.c: train, map, valid, test, demo, calc_anchors */
extern const abc_cmd abc_detector_demo_cmd; /* detector_demo.c: detector demo */
extern const abc_cmd abc_detector_bench_cmd; /* bench/detector_bench.c: detector bench */
extern const abc_cmd abc_weights_cmd;   /* weights-tools/weights_cmd.c: weights convert */
extern const abc_cmd abc_partial_cmd;   /* weights-tools/partial_cmd.c: darknet's partial */
extern const abc_cmd abc_data_cmd;       /* data/data_cmd.c: dataset preparation */
extern const abc_cmd abc_demo_cmd;       /* demo_cmd.c: make demo */
extern const abc_cmd abc_abc_cmd;        /* abc_cmd.c: the project's tools, and selftest */
extern const abc_cmd abc_info_cmd;       /* abc_info.c: abc info */
extern const abc_cmd abc_check_cmd;      /* weights-tools/check_cmd.c: abc check */
extern const abc_cmd abc_trainspeed_cmd; /* bench/trainspeed_cmd.c: abc trainspeed */
extern const abc_cmd abc_bench_cmd;      /* bench/bench_cmd.c: abc bench */
extern const abc_cmd abc_pareto_cmd;     /* bench/pareto_cmd.c: abc pareto */

void abc_bench_layers(int quick, int rounds, int scaling); /* bench_layers.c: abc bench's whole-layer part */
void abc_bench_hgemm(int quick, int rounds);              /* bench_hgemm.c: the segment GEMM kernels */

#endif
