/* [maxpool] at inference: libdarknet's windows and comparisons without the argmax indexes that only backward
 * reads, planes split across the pool. Training keeps libdarknet's forward (backward needs the indexes). */
#include <float.h>
#include <immintrin.h>

#include "base/darknet_private.h"
#include "float_layers.h"
#include "kernels/pool.h"

typedef struct {
    const layer *l;
    const float *in;
    int parts;
} pool_job;

/* A window's max as libdarknet computes it: from -FLT_MAX, in row order, cells outside the input counting as
 * -FLT_MAX. Its source says m = v > m ? v : m, but Debian builds it with -Ofast and the compiled code is SSE's
 * max(m, v) = m > v ? m : v, which differs on NaN (a NaN cell becomes the max unless a later cell replaces it)
 * and on signed zeros; this is that instruction, so that both give the same bits. */
static inline float max_as_darknet(float m, float v) { return _mm_cvtss_f32(_mm_max_ss(_mm_set_ss(m), _mm_set_ss(v))); }

/* One output of a window as libdarknet takes it. */
static inline float window(const layer *l, const float *in, int i, int j)
{
    int off = -l->pad / 2;
    float m = -FLT_MAX;
    for (int n = 0; n < l->size; ++n) {
        int y = off + i * l->stride + n;
        for (int k = 0; k < l->size; ++k) {
            int x = off + j * l->stride + k;
            m = max_as_darknet(m, y >= 0 && y < l->h && x >= 0 && x < l->w ? in[y * l->w + x] : -FLT_MAX);
        }
    }
    return m;
}

static void plane_any(const layer *l, const float *in, float *out)
{
    for (int i = 0; i < l->out_h; ++i)
        for (int j = 0; j < l->out_w; ++j) out[i * l->out_w + j] = window(l, in, i, j);
}

/* size 2, stride 1, windows from (0, 0) (yolov3-tiny's 13x13 pool, padding 1): four outputs at a time inside,
 * the last row and column (whose windows reach past the input) one by one. */
static void plane_2x2_s1(const layer *l, const float *in, float *out)
{
    const __m128 lowest = _mm_set1_ps(-FLT_MAX);
    for (int i = 0; i < l->out_h; ++i) {
        float *o = out + (size_t)i * l->out_w;
        int j = 0;
        if (i + 1 < l->h) {
            const float *r0 = in + (size_t)i * l->w, *r1 = r0 + l->w;
            for (; j + 4 < l->w; j += 4) { /* j + 4 < w: every window of the four inside */
                __m128 m = _mm_max_ps(lowest, _mm_loadu_ps(r0 + j));
                m = _mm_max_ps(m, _mm_loadu_ps(r0 + j + 1));
                m = _mm_max_ps(m, _mm_loadu_ps(r1 + j));
                m = _mm_max_ps(m, _mm_loadu_ps(r1 + j + 1));
                _mm_storeu_ps(o + j, m);
            }
        }
        for (; j < l->out_w; ++j) o[j] = window(l, in, i, j);
    }
}

/* A 2x2 window as libdarknet takes it, its cells in row order (a cell outside the input given as -FLT_MAX). */
static inline float window4(float a, float b, float c, float d)
{
    return max_as_darknet(max_as_darknet(max_as_darknet(max_as_darknet(-FLT_MAX, a), b), c), d);
}

/* size 2, stride 2, windows from (0, 0) (darknet's default padding of size - 1 = 1 shifts them by -1/2 = 0):
 * the common case, four outputs at a time; on an odd width or height the last windows reach one cell past the
 * input. */
static void plane_2x2(const layer *l, const float *in, float *out)
{
    const __m128 lowest = _mm_set1_ps(-FLT_MAX);
    int inside_w = l->w / 2 < l->out_w ? l->w / 2 : l->out_w;
    for (int i = 0; i < l->out_h; ++i) {
        const float *r0 = in + (size_t)(2 * i) * l->w, *r1 = r0 + l->w;
        float *o = out + (size_t)i * l->out_w;
        int j = 0, two_rows = 2 * i + 1 < l->h;
        if (two_rows)
            for (; j + 4 <= inside_w; j += 4) {
                __m128 a0 = _mm_loadu_ps(r0 + 2 * j), a1 = _mm_loadu_ps(r0 + 2 * j + 4);
                __m128 b0 = _mm_loadu_ps(r1 + 2 * j), b1 = _mm_loadu_ps(r1 + 2 * j + 4);
                __m128 m = _mm_max_ps(lowest, _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)));
                m = _mm_max_ps(m, _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)));
                m = _mm_max_ps(m, _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)));
                m = _mm_max_ps(m, _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)));
                _mm_storeu_ps(o + j, m);
            }
        if (2 * i < l->h) {
            for (; j < inside_w; ++j)
                o[j] = window4(r0[2 * j], r0[2 * j + 1], two_rows ? r1[2 * j] : -FLT_MAX,
                               two_rows ? r1[2 * j + 1] : -FLT_MAX);
            if (j < l->out_w && 2 * j == l->w - 1) /* the odd last column: one cell wide */
                o[j] = window4(r0[2 * j], -FLT_MAX, two_rows ? r1[2 * j] : -FLT_MAX, -FLT_MAX), ++j;
        }
        for (; j < l->out_w; ++j) o[j] = window(l, in, i, j); /* any other shape a padding makes */
    }
}

static void task(void *ctx, int t, int thread)
{
    (void)thread;
    const pool_job *j = ctx;
    const layer *l = j->l;
    int p0, p1, planes = l->batch * l->c;
    abc_split_range(planes, j->parts, t, &p0, &p1);
    int s2 = l->size == 2 && l->stride == 2 && l->pad / 2 == 0;
    int s1 = l->size == 2 && l->stride == 1 && l->pad / 2 == 0;
    for (int p = p0; p < p1; ++p) {
        const float *in = j->in + (size_t)p * l->h * l->w;
        float *out = l->output + (size_t)p * l->out_h * l->out_w;
        if (s2) plane_2x2(l, in, out);
        else if (s1) plane_2x2_s1(l, in, out);
        else plane_any(l, in, out);
    }
}

void abc_maxpool_fast_forward(layer l, network net)
{
    if (net.train) {
        forward_maxpool_layer(l, net);
        return;
    }
    int planes = l.batch * l.c, threads = abc_pool_threads();
    /* small layers on one thread: waking the pool costs more than they do */
    long work = (long)planes * l.out_h * l.out_w * l.size * l.size;
    pool_job j = {&l, net.input, threads <= 1 || work < (1L << 15) ? 1 : (planes < 8 * threads ? planes : 8 * threads)};
    abc_pool_run(j.parts, task, &j);
}
