/* ./darknet weights convert: a float darknet model into a binary one of the same topology (convert.c). */
#ifndef ABC_CONVERT_H
#define ABC_CONVERT_H

typedef struct {
    const char *to;   /* the family: xnor, bwn, abcMN, hada<w>-<a>, hbwn<w> */
    const char *keep; /* the layers that stay float (NULL: "default") */
    const char *out;  /* writes <out>.cfg and <out>.weights */
    int detector;     /* set by the call: 1 if the model ends in a detection layer */
} abc_convert_opts;

int abc_weights_convert(const char *cfg, const char *weights, abc_convert_opts *o);

#endif
