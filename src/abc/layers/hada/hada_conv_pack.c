/* Packing for the HadaNet packed path (layout: hada_conv_pack.h): the
 * geometry, the weights (once per quantization) and the pixels of an input
 * image (every forward). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* the pixel loops vectorize */
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "hada_conv_pack.h"
#include "hada_conv_pixels.h"
#include "kernels/bitpack.h"
#include "kernels/hgemm_kernels.h"

int hada_pack_geometry(int c, int taps, const hada_conv_opts *o, hada_pack_geom *gm)
{
    memset(gm, 0, sizeof *gm);
    if (o->ba <= 1) return 0;
    gm->g = o->bw <= 1 ? 1 : o->bw < o->ba ? o->bw : o->ba;
    gm->piece = gm->g > 64 ? 64 : gm->g;
    gm->s = hada_hgemm_slot(gm->piece);
    for (int c0 = 0; c0 < c; c0 += gm->g) {
        int len = c - c0 < gm->g ? c - c0 : gm->g;
        gm->Q += (len + gm->piece - 1) / gm->piece;
    }
    int bits = (gm->Q * gm->s + 7) / 8 * 8; /* a tap fills whole bytes */
    gm->Qp = bits / gm->s;
    gm->bytes = bits / 8;
    gm->S = taps * gm->Qp;
    gm->words = hada_hgemm_words(gm->S, gm->s);
    return 1;
}

void hada_pack_tap_segments(int c, const hada_pack_geom *gm, int *ch0, int *len)
{
    int q = 0;
    for (int c0 = 0; c0 < c; c0 += gm->g) {
        int end = c - c0 < gm->g ? c : c0 + gm->g;
        for (int p = c0; p < end; p += gm->piece, ++q) {
            ch0[q] = p;
            len[q] = end - p < gm->piece ? end - p : gm->piece;
        }
    }
    for (; q < gm->Qp; ++q) ch0[q] = len[q] = 0;
}

void hada_conv_packed_sizes(const layer *l, const hada_conv_opts *o, size_t *wbits_words, size_t *wmag_g_floats)
{
    hada_pack_geom gm;
    hada_pack_geometry(l->c, l->size * l->size, o, &gm);
    /* then room for row panels of up to 8 rows (hada_conv_weight_panels) */
    size_t panel = (size_t)(l->n + 7) / 8 * 8 * gm.S * ((gm.s > 32 ? 2 : 1) + 1);
    *wbits_words = gm.S ? (size_t)l->n * gm.words + (panel + 1) / 2 : 0;
    *wmag_g_floats = (size_t)l->n * gm.S;
}

const uint32_t *hada_conv_weight_panels(layer *l, const hada_pack_geom *gm, int mr)
{
    hada_conv_state *st = hada_conv_st(l);
    uint32_t *p = (uint32_t *)(void *)(st->wbits + (size_t)l->n * gm->words);
    if (mr <= 0 || mr > 8) return NULL;
    if (st->wpanel_mr != mr) {
        hada_hgemm_args a = {.M = l->n, .S = gm->S, .s = gm->s, .Wb = st->wbits, .Wm = st->wmag_g,
                             .ldwb = gm->words, .ldwm = (size_t)gm->S};
        hada_hgemm_pack_all_rows(&a, mr, p);
        st->wpanel_mr = mr;
    }
    return p;
}

void hada_conv_pack_weights(layer *l)
{
    hada_conv_state *st = hada_conv_st(l);
    hada_pack_geom gm;
    if (!hada_pack_geometry(l->c, st->taps, &st->o, &gm)) return;
    int c = l->c, taps = st->taps, bw = st->o.bw;
    int *ch0 = abc_xmalloc(2 * (size_t)gm.Qp * sizeof *ch0), *len = ch0 + gm.Qp;
    hada_pack_tap_segments(c, &gm, ch0, len);
    memset(st->wbits, 0, st->wbits_words * sizeof *st->wbits);
    for (int f = 0; f < l->n; ++f) {
        uint64_t *row = st->wbits + (size_t)f * gm.words;
        float *mag = st->wmag_g + (size_t)f * gm.S;
        for (int t = 0; t < taps; ++t) {
            size_t base = (size_t)f * c * taps + t; /* element (f, ch, t): base + ch*taps */
            for (int q = 0; q < gm.Qp; ++q) {
                int j = t * gm.Qp + q;
                uint64_t v = 0;
                for (int i = 0; i < len[q]; ++i) v |= (uint64_t)(st->wq[base + (size_t)(ch0[q] + i) * taps] >= 0.f) << i;
                hada_hgemm_set_seg(row, j, gm.s, v);
                mag[j] = len[q] ? st->wmag[((size_t)f * taps + t) * st->sw + ch0[q] / bw] : 0.f;
            }
        }
    }
    free(ch0);
    st->wpanel_mr = 0;
    st->packed_valid = 1;
}

size_t hada_pixels_scratch_floats(int c, int ba)
{
    return (size_t)HADA_PIXEL_CHUNK * (2 * ((c + 63) / 64) + hada_nseg(c, ba)) + 16;
}

/* Chunk [a, a+n) of pixels: channel sign bits (pixel i's at px + i*cw) and delta_a (segment k's at
 * delta + k*HADA_PIXEL_CHUNK), delta_a as hada_conv_quantize_input computes it. */
static void chunk(const float *x, int c, int HW, int a, int n, int ba, uint64_t *px, float *delta)
{
    static const float thr0 = 0.f;
    int cw = (c + 63) / 64, nsa = hada_nseg(c, ba);
    abc_bitpack_pixels(x + a, c, HW, 0, n, &thr0, 1, px, cw);
    for (int k = 0; k < nsa; ++k) {
        int c0 = k * ba, c1 = c0 + ba < c ? c0 + ba : c;
        float inv = 1.f / (float)(c1 - c0), *d = delta + (size_t)k * HADA_PIXEL_CHUNK;
        for (int i = 0; i < n; ++i) d[i] = 0.f;
        for (int ch = c0; ch < c1; ++ch) {
            const float *xc = x + (size_t)ch * HW + a;
            for (int i = 0; i < n; ++i) d[i] += fabsf(xc[i]);
        }
        for (int i = 0; i < n; ++i) d[i] *= inv;
    }
}

/* Channels [lo, lo + len) of a pixel's channel bits (len <= 64). */
static inline uint64_t channels(const uint64_t *p, int lo, int len)
{
    int sh = lo % 64;
    uint64_t v = p[lo / 64] >> sh;
    if (sh && sh + len > 64) v |= p[lo / 64 + 1] << (64 - sh);
    return len < 64 ? v & ((1ull << len) - 1) : v;
}

void hada_pack_pixels(const float *x, int c, int HW, int q0, int q1, int ba, const hada_pack_geom *gm,
                      const int *ch0, const int *len, uint8_t *bits, float *mags, float *scratch)
{
    int cw = (c + 63) / 64;
    uint64_t *px = (uint64_t *)(void *)scratch;
    float *delta = scratch + 2 * (size_t)HADA_PIXEL_CHUNK * cw;
    /* the tap's bit string is the channels' own when every kernel segment is a whole slot of consecutive channels */
    int same = 1;
    for (int q = 0; q < gm->Q; ++q) same &= ch0[q] == q * gm->s && len[q] == gm->s;
    for (int a = q0; a < q1; a += HADA_PIXEL_CHUNK) {
        int n = q1 - a < HADA_PIXEL_CHUNK ? q1 - a : HADA_PIXEL_CHUNK;
        chunk(x, c, HW, a, n, ba, px, delta);
        for (int i = 0; i < n; ++i) {
            uint8_t *b = bits + (size_t)(a + i) * gm->bytes;
            const uint64_t *p = px + (size_t)i * cw;
            if (same) {
                memcpy(b, p, (size_t)gm->bytes);
            } else {
                memset(b, 0, (size_t)gm->bytes);
                for (int q = 0; q < gm->Q; ++q) { /* len[q] channels from ch0[q] into slot q */
                    uint64_t v = channels(p, ch0[q], len[q]);
                    size_t bit = (size_t)q * gm->s;
                    for (int k = 0; k < gm->s && k < 64; k += 8)
                        b[(bit + k) / 8] |= (uint8_t)((v >> k) << (bit % 8));
                }
            }
            float *m = mags + (size_t)(a + i) * gm->Qp;
            for (int q = 0; q < gm->Qp; ++q) m[q] = len[q] ? delta[(size_t)(ch0[q] / ba) * HADA_PIXEL_CHUNK + i] : 0.f;
        }
    }
}

void hada_pack_pixel_planes(const float *x, int c, int h, int w, int pad, int q0, int q1, int ba,
                            const hada_pack_geom *gm, const int *ch0, const int *len, uint32_t *planes,
                            float *scratch)
{
    int cw = (c + 63) / 64, HW = h * w, wp = w + 2 * pad, nsub = gm->s > 32 ? 2 : 1, nf = nsub + 2;
    size_t HWp = (size_t)(h + 2 * pad) * wp;
    uint64_t *px = (uint64_t *)(void *)scratch;
    float *delta = scratch + 2 * (size_t)HADA_PIXEL_CHUNK * cw;
    for (int a = q0; a < q1; a += HADA_PIXEL_CHUNK) {
        int n = q1 - a < HADA_PIXEL_CHUNK ? q1 - a : HADA_PIXEL_CHUNK;
        chunk(x, c, HW, a, n, ba, px, delta);
        for (int q = 0; q < gm->Qp; ++q) {
            uint32_t *pl = planes + (size_t)q * nf * HWp;
            const float *d = delta + (size_t)(len[q] ? ch0[q] / ba : 0) * HADA_PIXEL_CHUNK;
            float fl = (float)len[q];
            for (int i = 0; i < n; ++i) {
                int y = (a + i) / w, xx = (a + i) % w;
                size_t at = (size_t)(y + pad) * wp + xx + pad;
                uint64_t v = len[q] ? channels(px + (size_t)i * cw, ch0[q], len[q]) : 0;
                float m = len[q] ? d[i] : 0.f, as = fl * m, am2 = -2.f * m;
                for (int u = 0; u < nsub; ++u) pl[u * HWp + at] = (uint32_t)(v >> (32 * u));
                memcpy(&pl[nsub * HWp + at], &as, 4);
                memcpy(&pl[(nsub + 1) * HWp + at], &am2, 4);
            }
        }
    }
}
