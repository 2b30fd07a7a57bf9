#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3") /* short word loops: unrolled */
#endif
/* Bit streams and the binary im2col over words (bim2col.h): the plain loops
 * and the table; the AVX-512 VBMI2 loop is in bim2col_vbmi2.c. */
#include "bim2col.h"

#include "cpu.h"

void abc_bim2col_stream_rows(const uint64_t *px, int w, int cw, int C, int pad, int y0, int y1, uint64_t *rows, int rw)
{
    for (int y = y0; y < y1; ++y) {
        uint64_t *row = rows + (size_t)y * rw;
        const uint64_t *src = px + (size_t)y * w * cw;
        if (C % 64 == 0) { /* whole words: a copy between zero pads */
            size_t lead = (size_t)pad * cw, n = (size_t)w * cw;
            for (size_t i = 0; i < lead; ++i) row[i] = 0;
            for (size_t i = 0; i < n; ++i) row[lead + i] = src[i];
            for (size_t i = lead + n; i < (size_t)rw; ++i) row[i] = 0;
            continue;
        }
        if (cw == 1) { /* C < 64: a pixel's bits in one word or two; the word being filled kept in a register */
            size_t bit = (size_t)pad * C;
            int wi = (int)(bit / 64);
            uint64_t acc = 0;
            for (int i = 0; i < wi; ++i) row[i] = 0;
            for (int x = 0; x < w; ++x, bit += (size_t)C) {
                int j = (int)(bit / 64), sh = (int)(bit % 64);
                uint64_t v = src[x];
                if (j != wi) { /* the next word (C < 64: never further) */
                    row[wi] = acc;
                    acc = 0;
                    wi = j;
                }
                acc |= v << sh;
                if (sh + C > 64) { /* the pixel runs into the next word */
                    row[wi++] = acc;
                    acc = v >> (64 - sh);
                }
            }
            row[wi] = acc;
            for (int i = wi + 1; i < rw; ++i) row[i] = 0;
            continue;
        }
        for (int i = 0; i < rw; ++i) row[i] = 0;
        for (int x = 0; x < w; ++x)
            for (int i = 0; i < cw; ++i) {
                long bit = (long)(x + pad) * C + 64L * i;
                uint64_t v = src[(size_t)x * cw + i];
                int sh = (int)(bit % 64);
                row[bit / 64] |= v << sh;
                if (sh) row[bit / 64 + 1] |= v >> (64 - sh); /* the spare word takes the last overflow */
            }
    }
}

/* Positions [0, n) of one output row, windows starting at bit shift sh of s: one position at a time. */
static void windows_shifted(const uint64_t *s, int rw, int size, int rk, size_t step, size_t bit, int n,
                            uint64_t tail, uint64_t *out, int ld, int ws)
{
    for (int q = 0; q < n; ++q, bit += step) {
        unsigned sh = (unsigned)(bit % 64);
        const uint64_t *r = s + bit / 64;
        uint64_t *dst = out + (size_t)q * ld;
        for (int ky = 0; ky < size; ++ky, dst += (size_t)rk * ws, r += rw) {
            if (sh == 0)
                for (int i = 0; i < rk; ++i) dst[(size_t)i * ws] = r[i];
            else
                for (int i = 0; i < rk; ++i) dst[(size_t)i * ws] = (r[i] >> sh) | (r[i + 1] << (64 - sh));
            dst[(size_t)(rk - 1) * ws] &= tail;
        }
    }
}

static const abc_bim2col_kernel table[] = {
    {{"plain", "word by word, any window", 0}, NULL},
    {{"vbmi2", "AVX-512 VBMI2: 8 windows off words at once into panels (steps up to 128 bits)",
      ABC_CPU_AVX512F | ABC_CPU_AVX512VBMI2},
     abc_bim2col_panel_vbmi2},
};

abc_kernel_family abc_bim2col_family = ABC_KERNEL_FAMILY("binary im2col", ABC_MODE_IM2COL, table);

/* The same when every window starts on a word (d words apart): word k of position q is s[ky*rw + i + q*d],
 * copied word by word along the row (into the kernel's panels, ld = 1: contiguous runs). */
static void windows_aligned(const uint64_t *s, int rw, int size, int rk, size_t d, int n, uint64_t tail,
                            uint64_t *out, int ld, int ws)
{
    for (int ky = 0; ky < size; ++ky)
        for (int i = 0; i < rk; ++i) {
            const uint64_t *restrict src = s + (size_t)ky * rw + i;
            uint64_t *restrict dst = out + (size_t)(ky * rk + i) * ws;
            uint64_t m = i == rk - 1 ? tail : ~0ull;
            if (ld == 1 && d == 1)
                for (int q = 0; q < n; ++q) dst[q] = src[q] & m;
            else
                for (int q = 0; q < n; ++q) dst[(size_t)q * ld] = src[(size_t)q * d] & m;
        }
}

void abc_bim2col(const uint64_t *rows, int rw, int C, int size, int stride, int out_w, int p0, int p1, uint64_t *out,
                 int ld, int ws)
{
    const abc_bim2col_kernel *k = abc_kernel_chosen(&abc_bim2col_family);
    int nbits = size * C, rk = (nbits + 63) / 64;
    uint64_t tail = nbits % 64 ? (1ull << (nbits % 64)) - 1 : ~0ull;
    size_t step = (size_t)stride * C; /* bits from one output column to the next */
    int oy = p0 / out_w, ox = p0 % out_w;
    for (int p = p0; p < p1;) { /* runs of positions along one output row */
        int n = p1 - p < out_w - ox ? p1 - p : out_w - ox;
        const uint64_t *s = rows + (size_t)oy * stride * rw;
        uint64_t *dst = out + (size_t)(p - p0) * ld;
        if (step % 64 == 0) windows_aligned(s + ox * step / 64, rw, size, rk, step / 64, n, tail, dst, ld, ws);
        else if (ld == 1 && ws == 16 && step <= 128 && k->panel)
            k->panel(s, rw, size, rk, step, (size_t)ox * step, n, tail, dst);
        else windows_shifted(s, rw, size, rk, step, (size_t)ox * step, n, tail, dst, ld, ws);
        p += n;
        ox += n;
        if (ox == out_w) {
            ox = 0;
            ++oy;
        }
    }
}

