/* Choosing one kernel of a family (the binary GEMM, the segment GEMM, the
 * input bit packers, the binary im2col loops), the same way for all: a
 * family's table lists its kernels, the plain reference first and the best
 * last, one row each; a row begins with an abc_kernel_desc (name, one line,
 * the CPU features it needs). The family runs the kernel its switch names
 * (ABC_BGEMM=avx2, ...; base/mode.h), else the last one this CPU can run.
 * Adding a kernel: one row in its family's table and one file. */
#ifndef ABC_SELECT_H
#define ABC_SELECT_H

#include <stddef.h>

#include "base/mode.h"

typedef struct {
    const char *name;  /* what the switch names */
    const char *what;  /* one line */
    unsigned needs;    /* ABC_CPU_* features (cpu.h) it needs; 0: any CPU */
} abc_kernel_desc;

typedef struct {
    const char *what;  /* "binary GEMM" */
    abc_mode_key mode; /* the switch that forces a kernel by name */
    const void *rows;  /* the table; each row begins with an abc_kernel_desc */
    size_t stride;     /* bytes a row */
    int n;             /* rows */
    const void *chosen; /* the row in use, NULL until chosen (atomic) */
} abc_kernel_family;

/* The family of a table `rows` (an array of row structs). */
#define ABC_KERNEL_FAMILY(what, mode, rows) {(what), (mode), (rows), sizeof (rows)[0], sizeof(rows) / sizeof (rows)[0], 0}

/* Row i's descriptor. */
const abc_kernel_desc *abc_kernel_at(const abc_kernel_family *f, int i);
/* 1 if this CPU runs the kernel. */
int abc_kernel_usable(const abc_kernel_desc *d);
/* The row named `name`, or NULL. */
const void *abc_kernel_find(const abc_kernel_family *f, const char *name);
/* The row the family runs: the one its switch names (a name that is not in the
 * table, or that this CPU cannot run, ends the program with a one-line error
 * listing the family's kernels), else the last usable row. */
const void *abc_kernel_chosen(abc_kernel_family *f);
/* The chosen row's name. */
const char *abc_kernel_chosen_name(abc_kernel_family *f);
/* Makes the family run `row` (one of its rows; NULL: back to the switch or the
 * best) for the rest of the process (tests, benchmarks). */
void abc_kernel_set(abc_kernel_family *f, const void *row);
/* "ref|portable|popcnt|..." into buf: the family's kernel names. */
const char *abc_kernel_names(const abc_kernel_family *f, char *buf, size_t n);

/* Every kernel family, NULL-ended (families.c). */
abc_kernel_family *const *abc_kernel_families(void);

#endif
