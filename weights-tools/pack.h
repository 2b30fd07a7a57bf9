/* ./darknet weights pack: a trained model into a packed deployment file (pack.c; format: abc/packfile.h). */
#ifndef ABC_PACK_H
#define ABC_PACK_H

/* Packs cfg + weights into out (float layers as float16 with half), reloads it and checks that it gives the
 * unpacked model's outputs on a test input; prints sizes and timings (json: one object on stdout). */
int abc_weights_pack(const char *cfg, const char *weights, const char *out, int half, int json);

#endif
