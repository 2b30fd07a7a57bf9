#include "det_scene.h"

#include <math.h>
#include <string.h>

uint64_t abc_scene_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

float abc_scene_uniform(uint64_t *state) { return (float)(abc_scene_rand(state) >> 40) * (1.0f / 16777216.0f); }

abc_scene_limits abc_scene_default_limits(int w, int h)
{
    float side = (float)(w < h ? w : h);
    abc_scene_limits l = {1, ABC_SCENE_MAX_ITEMS, 32.f, fminf(160.f, 0.6f * side), 0.25f, 0.4f};
    if (l.max_size < l.min_size) l.min_size = l.max_size;
    return l;
}

int abc_scene_src_box(const unsigned char *px, int *x0, int *y0, int *x1, int *y1)
{
    int lx = ABC_SCENE_SRC, ly = ABC_SCENE_SRC, hx = -1, hy = -1;
    for (int y = 0; y < ABC_SCENE_SRC; ++y)
        for (int x = 0; x < ABC_SCENE_SRC; ++x)
            if (px[y * ABC_SCENE_SRC + x] >= 26) {
                if (x < lx) lx = x;
                if (x > hx) hx = x;
                if (y < ly) ly = y;
                if (y > hy) hy = y;
            }
    if (hx < 0) return 0;
    *x0 = lx, *y0 = ly, *x1 = hx + 1, *y1 = hy + 1;
    return 1;
}

static float luma(const float *c) { return 0.299f * c[0] + 0.587f * c[1] + 0.114f * c[2]; }

static void random_colour(uint64_t *r, float *c)
{
    if (abc_scene_uniform(r) < 0.3f) { /* some grey, as Fashion-MNIST itself */
        c[0] = c[1] = c[2] = abc_scene_uniform(r);
        return;
    }
    for (int k = 0; k < 3; ++k) c[k] = abc_scene_uniform(r);
}

static float area(const float *b) { return (b[2] - b[0]) * (b[3] - b[1]); }

static float overlap(const float *a, const float *b)
{
    float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    return w > 0 && h > 0 ? w * h : 0.f;
}

/* The new box fits among the others: small overlap, and it hides little of any earlier item. */
static int fits(const abc_scene *s, const float *box, const abc_scene_limits *lim)
{
    for (int i = 0; i < s->n; ++i) {
        const float *o = s->item[i].box;
        float inter = overlap(box, o);
        if (inter / (area(box) + area(o) - inter) > lim->max_iou || inter / area(o) > lim->max_hidden) return 0;
    }
    return 1;
}

/* A tint that stands out from the background's colours (luminance apart by 0.3 or more). */
static void tint_for(const abc_scene *s, uint64_t *r, float *c)
{
    float lo = fminf(luma(s->c0), luma(s->c1)), hi = fmaxf(luma(s->c0), luma(s->c1));
    for (int t = 0; t < 24; ++t) {
        random_colour(r, c);
        float l = luma(c);
        if (l >= hi + 0.3f || l <= lo - 0.3f) return;
    }
    float v = lo > 1.f - hi ? 0.f : 1.f; /* black or white, whichever is further */
    c[0] = c[1] = c[2] = v;
}

void abc_scene_random(abc_scene *s, const abc_scene_pool *pool, int w, int h, const abc_scene_limits *lim,
                      uint64_t seed)
{
    uint64_t r = seed;
    memset(s, 0, sizeof *s);
    s->w = w;
    s->h = h;
    s->background = (int)(abc_scene_rand(&r) % 3);
    random_colour(&r, s->c0);
    random_colour(&r, s->c1);
    if (s->background != ABC_SCENE_GRADIENT && fabsf(luma(s->c0) - luma(s->c1)) > 0.35f) /* keep textures mild */
        for (int k = 0; k < 3; ++k) s->c1[k] = 0.5f * (s->c0[k] + s->c1[k]);
    s->angle = 6.2831853f * abc_scene_uniform(&r);
    s->freq = 6.2831853f / (8.f + 40.f * abc_scene_uniform(&r));
    s->noise = s->background == ABC_SCENE_NOISE ? 0.06f + 0.08f * abc_scene_uniform(&r) : 0.04f * abc_scene_uniform(&r);
    s->noise_seed = abc_scene_rand(&r);
    int want = lim->min_items + (int)(abc_scene_rand(&r) % (uint64_t)(lim->max_items - lim->min_items + 1));
    float lmin = logf(lim->min_size), lmax = logf(lim->max_size);
    for (int tries = 0; s->n < want && tries < 60 * want; ++tries) {
        abc_scene_item it;
        it.src = (int)(abc_scene_rand(&r) % (uint64_t)pool->n);
        it.cls = pool->labels[it.src];
        int x0, y0, x1, y1;
        float size = expf(lmin + (lmax - lmin) * abc_scene_uniform(&r));
        float ux = abc_scene_uniform(&r), uy = abc_scene_uniform(&r);
        if (!abc_scene_src_box(pool->pixels + (size_t)it.src * ABC_SCENE_SRC * ABC_SCENE_SRC, &x0, &y0, &x1, &y1))
            continue;
        it.scale = size / ABC_SCENE_SRC;
        float bw = (float)(x1 - x0) * it.scale, bh = (float)(y1 - y0) * it.scale;
        if (bw > (float)w || bh > (float)h) continue;
        it.box[0] = ux * ((float)w - bw);
        it.box[1] = uy * ((float)h - bh);
        it.box[2] = it.box[0] + bw;
        it.box[3] = it.box[1] + bh;
        it.x = it.box[0] - (float)x0 * it.scale;
        it.y = it.box[1] - (float)y0 * it.scale;
        if (!fits(s, it.box, lim)) continue;
        tint_for(s, &r, it.rgb);
        s->item[s->n++] = it;
    }
}

int abc_scene_random_item(const abc_scene *s, const abc_scene_pool *pool, const abc_scene_limits *lim,
                          uint64_t *rng, abc_scene_item *it)
{
    it->src = (int)(abc_scene_rand(rng) % (uint64_t)pool->n);
    it->cls = pool->labels[it->src];
    float lmin = logf(lim->min_size), lmax = logf(lim->max_size);
    it->scale = expf(lmin + (lmax - lmin) * abc_scene_uniform(rng)) / ABC_SCENE_SRC;
    tint_for(s, rng, it->rgb);
    int x0, y0, x1, y1;
    if (!abc_scene_src_box(pool->pixels + (size_t)it->src * ABC_SCENE_SRC * ABC_SCENE_SRC, &x0, &y0, &x1, &y1)) return 0;
    it->x = it->y = 0;
    it->box[0] = (float)x0 * it->scale;
    it->box[1] = (float)y0 * it->scale;
    it->box[2] = (float)x1 * it->scale;
    it->box[3] = (float)y1 * it->scale;
    return 1;
}

void abc_scene_move_item(abc_scene_item *it, float dx, float dy)
{
    it->x += dx;
    it->y += dy;
    it->box[0] += dx;
    it->box[2] += dx;
    it->box[1] += dy;
    it->box[3] += dy;
}

/* A value in [-0.5, 0.5) fixed by (seed, x, y). */
static float pixel_noise(uint64_t seed, int x, int y)
{
    uint64_t st = seed ^ ((uint64_t)(uint32_t)y << 32 | (uint32_t)x);
    return abc_scene_uniform(&st) - 0.5f;
}

static float background_t(const abc_scene *s, int x, int y)
{
    float ca = cosf(s->angle), sa = sinf(s->angle), fx = (float)x, fy = (float)y;
    if (s->background == ABC_SCENE_GRADIENT) {
        float d = sqrtf((float)(s->w * s->w + s->h * s->h));
        float t = ((fx - 0.5f * (float)s->w) * ca + (fy - 0.5f * (float)s->h) * sa) / d + 0.5f;
        return t < 0 ? 0 : t > 1 ? 1 : t;
    }
    if (s->background == ABC_SCENE_TEXTURE)
        return 0.5f + 0.25f * sinf(s->freq * (fx * ca + fy * sa)) + 0.25f * sinf(1.7f * s->freq * (fy * ca - fx * sa));
    return 0.f;
}

/* Bilinear sample of a source image at (u, v) in source pixels (centres at k + 0.5), 0 outside; in [0, 1]. */
static float sample(const unsigned char *px, float u, float v)
{
    u -= 0.5f;
    v -= 0.5f;
    int iu = (int)floorf(u), iv = (int)floorf(v);
    float fu = u - (float)iu, fv = v - (float)iv, sum = 0;
    for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
            int x = iu + dx, y = iv + dy;
            if (x < 0 || y < 0 || x >= ABC_SCENE_SRC || y >= ABC_SCENE_SRC) continue;
            sum += (dx ? fu : 1 - fu) * (dy ? fv : 1 - fv) * px[y * ABC_SCENE_SRC + x];
        }
    return sum / 255.f;
}

static float clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

void abc_scene_render(const abc_scene *s, const abc_scene_pool *pool, float *rgb)
{
    size_t plane = (size_t)s->w * s->h;
    for (int y = 0; y < s->h; ++y)
        for (int x = 0; x < s->w; ++x) {
            float t = background_t(s, x, y), n = s->noise * 2.f * pixel_noise(s->noise_seed, x, y);
            for (int k = 0; k < 3; ++k)
                rgb[k * plane + (size_t)y * s->w + x] = clamp01(s->c0[k] + (s->c1[k] - s->c0[k]) * t + n);
        }
    for (int i = 0; i < s->n; ++i) {
        const abc_scene_item *it = &s->item[i];
        const unsigned char *px = pool->pixels + (size_t)it->src * ABC_SCENE_SRC * ABC_SCENE_SRC;
        float extent = ABC_SCENE_SRC * it->scale;
        int xa = (int)floorf(it->x), ya = (int)floorf(it->y);
        int xb = (int)ceilf(it->x + extent), yb = (int)ceilf(it->y + extent);
        for (int y = ya < 0 ? 0 : ya; y < yb && y < s->h; ++y)
            for (int x = xa < 0 ? 0 : xa; x < xb && x < s->w; ++x) {
                float v = sample(px, ((float)x + 0.5f - it->x) / it->scale, ((float)y + 0.5f - it->y) / it->scale);
                if (v <= 0) continue;
                float a = fminf(1.f, 3.f * v), shade = 0.4f + 0.6f * v;
                for (int k = 0; k < 3; ++k) {
                    float *o = &rgb[k * plane + (size_t)y * s->w + x];
                    *o = (1 - a) * *o + a * it->rgb[k] * shade;
                }
            }
    }
}
