/* ./darknet weights export: a binary model back into a float darknet model of the same topology (export.c). */
#ifndef ABC_EXPORT_H
#define ABC_EXPORT_H

/* Writes <out>.cfg (each binary section as the float section it stands for: [convolutional] or [connected], its
 * geometry, batch norm and activation kept, the family's keys dropped) and <out>.weights in darknet's format:
 * the binary layers' weights as they compute with them (their quantized weights; shadow: the shadow weights,
 * to train on in float), every other layer as it is. */
int abc_weights_export(const char *cfg, const char *weights, const char *out, int shadow);

/* Writes to out the cfg with each quantized section as its float twin (the cfg text of abc_weights_export, no
 * weights): the float model of the same topology, to time against. Returns the sections so rewritten (0: none,
 * and nothing written). */
int abc_cfg_float_twin(const char *cfg, const char *out);

#endif
