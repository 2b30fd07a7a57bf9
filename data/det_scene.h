/* Scenes of the generated detection set (and, later, of its test video):
 * Fashion-MNIST items, scaled and tinted, on a textured, noisy or gradient
 * background. A scene is drawn at random from a seed, then rendered; the two
 * are separate so that a video can move a scene's items between frames.
 * Everything is a function of the seed: the same seed gives the same bytes. */
#ifndef ABC_DET_SCENE_H
#define ABC_DET_SCENE_H

#include <stdint.h>

enum { ABC_SCENE_MAX_ITEMS = 8, ABC_SCENE_SRC = 28 };

/* The items to draw from: n images of 28x28 bytes and their classes (0..9). */
typedef struct {
    const unsigned char *pixels;
    const unsigned char *labels;
    int n;
} abc_scene_pool;

typedef struct {
    int cls, src;    /* class, and the pool image drawn */
    float x, y;      /* canvas position of the source image's top-left corner, pixels */
    float scale;     /* canvas pixels per source pixel */
    float rgb[3];    /* tint */
    float box[4];    /* the item's tight box on the canvas: x0, y0, x1, y1 (pixels, x1 > x0, y1 > y0) */
} abc_scene_item;

typedef struct {
    int w, h;
    int background;    /* ABC_SCENE_GRADIENT, ABC_SCENE_NOISE or ABC_SCENE_TEXTURE */
    float c0[3], c1[3];
    float angle, freq, noise;
    uint64_t noise_seed;
    int n;
    abc_scene_item item[ABC_SCENE_MAX_ITEMS];
} abc_scene;

enum { ABC_SCENE_GRADIENT, ABC_SCENE_NOISE, ABC_SCENE_TEXTURE };

/* Limits of a random scene: item count and item size (the 28 px source at
 * its drawn size, pixels); items overlap by at most max_iou, and no item
 * hides more than max_hidden of an earlier one's box. */
typedef struct {
    int min_items, max_items;
    float min_size, max_size;
    float max_iou, max_hidden;
} abc_scene_limits;

/* The limits the generated set uses for a w x h canvas. */
abc_scene_limits abc_scene_default_limits(int w, int h);

/* A random scene from seed (items from pool). Fewer items than drawn when no
 * free place is found for one (never fewer than one). */
void abc_scene_random(abc_scene *s, const abc_scene_pool *pool, int w, int h, const abc_scene_limits *lim,
                      uint64_t seed);

/* One random item for scene s (a video's newcomer): source, class, size and a tint that stands out from s's
 * background, its source's top-left corner at (0, 0). Returns 0 when the source drawn is empty. */
int abc_scene_random_item(const abc_scene *s, const abc_scene_pool *pool, const abc_scene_limits *lim,
                          uint64_t *rng, abc_scene_item *it);
/* Moves an item (its position and box) by (dx, dy) pixels. */
void abc_scene_move_item(abc_scene_item *it, float dx, float dy);

/* The scene as darknet's image layout: 3 planes of w*h floats in [0, 1] (R, G, B). */
void abc_scene_render(const abc_scene *s, const abc_scene_pool *pool, float *rgb);

/* The tight box of a source image (pixels >= 10% of full scale): columns [*x0, *x1), rows [*y0, *y1);
 * 0 for an empty image. */
int abc_scene_src_box(const unsigned char *px, int *x0, int *y0, int *x1, int *y1);

/* splitmix64: the generator's random numbers (the seed advances). */
uint64_t abc_scene_rand(uint64_t *state);
/* Uniform in [0, 1). */
float abc_scene_uniform(uint64_t *state);

#endif
