/* The precision of a training run's GEMMs: fp32, or bf16 operands with fp32 sums (fp32 master weights,
 * optimizer and batch norm either way), from the cfg's [net] precision= (fp32 by default), or ABC_PRECISION
 * when set. bf16 falls back to fp32, with a note, on a CPU without AVX512-BF16. */
#ifndef ABC_PRECISION_H
#define ABC_PRECISION_H

/* Sets the training GEMMs' precision for cfg (NULL: ABC_PRECISION alone) and returns its name, "fp32" or
 * "bf16". */
const char *abc_precision_apply(const char *cfg);

#endif
