/* The run-time switches of the project: environment variables read once, in
 * this one place, and overridable for the rest of the process (tests, and
 * commands that compare two paths in one run). A switch's value is its
 * override if one is set, else the environment variable as first read, else
 * unset (the default). */
#ifndef ABC_MODE_H
#define ABC_MODE_H

typedef enum {
    ABC_MODE_THREADS,   /* ABC_THREADS: threads of every parallel part */
    ABC_MODE_FLOAT,     /* ABC_FLOAT: fast | stock (darknet's own float layers) */
    ABC_MODE_GEMM,      /* ABC_GEMM: abc | openblas (the float GEMM) */
    ABC_MODE_INFERENCE, /* ABC_INFERENCE: packed | sim | soft (binary layers at inference) */
    ABC_MODE_BGEMM,     /* ABC_BGEMM: a binary GEMM kernel (kernels/bgemm.c) */
    ABC_MODE_HGEMM,     /* HADA_KERNEL: a segment GEMM kernel (kernels/hgemm.c) */
    ABC_MODE_PACK,      /* ABC_PACK: an input bit packer (kernels/bitpack.c) */
    ABC_MODE_IM2COL,    /* ABC_IM2COL: a binary im2col loop (kernels/bim2col.c) */
    ABC_MODE_IGEMM,     /* ABC_IGEMM: an integer GEMM kernel (kernels/igemm.c) */
    ABC_MODE_ICONV,     /* ABC_ICONV: auto | rows | pixels (the direct integer convolution, kernels/iconv.h) */
    ABC_MODE_PRECISION, /* ABC_PRECISION: cfg | fp32 | bf16 (the training GEMMs) */
    ABC_MODE_TRAIN_CONV, /* ABC_TRAIN_CONV: auto | own (bf16 training convolutions on oneDNN or not) */
    ABC_MODE_COUNT
} abc_mode_key;

/* The choices of the switches with fixed values, in the order of their `values`. */
enum { ABC_FLOAT_FAST, ABC_FLOAT_STOCK };
enum { ABC_GEMM_AUTO, ABC_GEMM_ABC, ABC_GEMM_OPENBLAS };
enum { ABC_INFERENCE_PACKED, ABC_INFERENCE_SIM, ABC_INFERENCE_SOFT };
enum { ABC_PRECISION_CFG, ABC_PRECISION_FP32, ABC_PRECISION_BF16 };
enum { ABC_TRAIN_CONV_AUTO, ABC_TRAIN_CONV_OWN };

typedef struct {
    const char *env;    /* the variable */
    const char *values; /* "fast|stock": the choices, the default first; NULL: free-form (a number, a kernel name) */
    const char *what;   /* one line for `abc info` */
} abc_mode_info;

const abc_mode_info *abc_mode_about(abc_mode_key k);

/* The switch's value, or NULL when unset. */
const char *abc_mode_get(abc_mode_key k);

/* For a switch with fixed choices: the index of its value in `values`
 * (0, the default, when unset); anything else ends the program with a one-line
 * error naming the variable and the choices. */
int abc_mode_choice(abc_mode_key k);

/* Overrides the switch for the rest of the process (value: a string that
 * outlives the process's use of it, normally a literal; NULL: back to the
 * environment). Not to be called while pool tasks read the switch. */
void abc_mode_set(abc_mode_key k, const char *value);

#endif
