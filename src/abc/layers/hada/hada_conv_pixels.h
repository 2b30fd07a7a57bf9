/* The per-forward input packing of the HadaNet packed path (hada_conv_pack.h). */
#ifndef HADA_CONV_PIXELS_H
#define HADA_CONV_PIXELS_H

#include <stddef.h>
#include <stdint.h>

#include "hada_conv_pack.h"

enum { HADA_PIXEL_CHUNK = 64 }; /* pixels packed at a time */

/* Floats of scratch hada_pack_pixels needs. */
size_t hada_pixels_scratch_floats(int c, int ba);
/* Pixels [q0, q1) of one image x (c x HW floats, NCHW): pixel q's tap bits
 * (sign bits, 1 = x >= 0, in the kernel segments' slots) at bits + q*gm->bytes
 * and its Qp segment magnitudes (delta_a of each segment's activation
 * segment; 0 for padding segments) at mags + q*gm->Qp. ch0/len: the tap's
 * segments (hada_pack_tap_segments). */
void hada_pack_pixels(const float *x, int c, int HW, int q0, int q1, int ba, const hada_pack_geom *gm,
                      const int *ch0, const int *len, uint8_t *bits, float *mags, float *scratch);

/* The same pixels into padded planes, the form the kernels' column panels are
 * copied from: plane (q, f) at planes + (q*(nsub+2) + f)*HWp (HWp = (h+2pad)*(w+2pad),
 * nsub = 2 for 64-bit slots, else 1), pixel (y, x) at (y+pad)*(w+2pad) + x+pad;
 * f < nsub: word f of segment q's bits, f = nsub: len[q]*delta_a, nsub+1:
 * -2*delta_a (floats). The borders are left as they are (the caller zeroes them). */
void hada_pack_pixel_planes(const float *x, int c, int h, int w, int pad, int q0, int q1, int ba,
                            const hada_pack_geom *gm, const int *ch0, const int *len, uint32_t *planes,
                            float *scratch);

#endif
