/* Entry points of the command families of ./darknet (darknet.c dispatches). */
#ifndef ABC_COMMANDS_H
#define ABC_COMMANDS_H

int abc_classifier_main(int argc, char **argv); /* classifier.c: train/valid/predict */
int abc_data_main(int argc, char **argv);       /* data_cmd.c: dataset preparation */
int abc_demo_main(int argc, char **argv);       /* demo_cmd.c: make demo */
int abc_abc_main(int argc, char **argv);        /* abc_cmd.c: selftest, info, bench */
int abc_trainspeed_main(int argc, char **argv); /* abc_trainspeed_cmd.c: abc trainspeed */
int abc_bench_main(int argc, char **argv);      /* abc_bench_cmd.c: abc bench (binary GEMM kernels) */
void abc_bench_layers(int quick, int rounds, int scaling); /* abc_bench_layers.c: its whole-layer part */
void abc_bench_hgemm(int quick, int rounds);   /* abc_bench_hada.c: the segment GEMM kernels */

#endif
