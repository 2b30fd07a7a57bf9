/* The precision of a training run's GEMMs: fp32, or bf16 operands with fp32 sums (fp32 master weights,
 * optimizer and batch norm either way), from ABC_PRECISION when set, else the cfg's [net] precision=, else
 * bf16 where the CPU has AVX512-BF16 (the Fashion-MNIST rows trained so within 0.2 points of fp32:
 * docs/methods.md section 6) and fp32 elsewhere. A bf16 request falls back to fp32, with a note, on a CPU
 * without AVX512-BF16. */
#ifndef ABC_PRECISION_H
#define ABC_PRECISION_H

/* Sets the training GEMMs' precision for cfg (NULL: ABC_PRECISION or the default) and returns its name,
 * "fp32" or "bf16". */
const char *abc_precision_apply(const char *cfg);

#endif
