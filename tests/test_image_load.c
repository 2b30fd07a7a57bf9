/* The inference commands' image loader (src/image_load.c) against libdarknet's load_image_color, bit for bit:
 * PNGs of every colour type and depth it decodes itself (gray 8 and 4 bits, RGB, palette, interlaced), those it
 * leaves to libdarknet (alpha, transparency, 16 bits, JPEG), at their size and resized; and the classification
 * chunk loader's rows and labels. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "abc/base/threads.h"
#include "image_load.h"
#include "test_util.h"

typedef struct {
    const char *name;
    int w, h, type, depth, interlace, npal, ntrns;
} png_case;

static const png_case cases[] = {
    {"gray8", 28, 28, PNG_COLOR_TYPE_GRAY, 8, 0, 0, 0},
    {"rgb8", 13, 7, PNG_COLOR_TYPE_RGB, 8, 0, 0, 0},
    {"palette", 17, 9, PNG_COLOR_TYPE_PALETTE, 8, 0, 5, 0},
    {"gray4", 11, 6, PNG_COLOR_TYPE_GRAY, 4, 0, 0, 0},
    {"rgb_interlaced", 19, 23, PNG_COLOR_TYPE_RGB, 8, 1, 0, 0},
    {"gray_alpha", 9, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, 0, 0},
    {"rgba", 10, 5, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, 0, 0},
    {"rgb16", 7, 6, PNG_COLOR_TYPE_RGB, 16, 0, 0, 0},
    {"palette_trns", 8, 8, PNG_COLOR_TYPE_PALETTE, 8, 0, 4, 2},
};

static void write_png(const char *path, const png_case *k, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert(png && info);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)k->w, (png_uint_32)k->h, k->depth, k->type,
                 k->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (k->npal) {
        png_color pal[8];
        for (int i = 0; i < k->npal; ++i)
            pal[i] = (png_color){(png_byte)(37 * i + 11), (png_byte)(90 * i + 3), (png_byte)(250 - 41 * i)};
        png_set_PLTE(png, info, pal, k->npal);
    }
    if (k->ntrns) {
        png_byte trns[4] = {0, 128, 255, 77};
        png_set_tRNS(png, info, trns, k->ntrns, NULL);
    }
    png_write_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    unsigned char *px = malloc(rowbytes * k->h);
    for (size_t i = 0; i < rowbytes * k->h; ++i) {
        seed = seed * 1103515245u + 12345u;
        px[i] = (unsigned char)(seed >> 16);
        if (k->npal) px[i] %= (unsigned char)k->npal;
    }
    png_bytep rows[64];
    for (int y = 0; y < k->h; ++y) rows[y] = px + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    free(px);
}

static void assert_same(const char *what, image a, image b)
{
    ck_assert_msg(a.w == b.w && a.h == b.h && a.c == b.c, "%s: %dx%dx%d against libdarknet's %dx%dx%d", what, a.w,
                  a.h, a.c, b.w, b.h, b.c);
    ck_assert_msg(!memcmp(a.data, b.data, sizeof(float) * (size_t)a.w * a.h * a.c), "%s: pixels differ", what);
}

START_TEST(png_as_libdarknet_loads_it)
{
    const png_case *k = &cases[_i];
    char path[256];
    snprintf(path, sizeof path, "%s/load_%s.png", abc_test_tmpdir(), k->name);
    write_png(path, k, 5 + (unsigned)_i);
    abc_image_buf buf = {0};
    int sizes[][2] = {{0, 0}, {20, 11}, {k->w, k->h}};
    for (int s = 0; s < 3; ++s) {
        image ours = abc_load_image_color(path, sizes[s][0], sizes[s][1], &buf);
        image stock = load_image_color(path, sizes[s][0], sizes[s][1]);
        char what[128];
        snprintf(what, sizeof what, "%s at %dx%d", k->name, sizes[s][0], sizes[s][1]);
        assert_same(what, ours, stock);
        free_image(ours);
        free_image(stock);
    }
    abc_image_buf_free(&buf);
}
END_TEST

START_TEST(jpeg_goes_to_libdarknet)
{
    image im = make_image(31, 17, 3);
    for (int i = 0; i < 31 * 17 * 3; ++i) im.data[i] = (float)((i * 37) % 256) / 255.f;
    char base[256], path[300];
    snprintf(base, sizeof base, "%s/load_jpeg", abc_test_tmpdir());
    save_image_options(im, base, JPG, 90);
    snprintf(path, sizeof path, "%s.jpg", base);
    abc_image_buf buf = {0};
    image ours = abc_load_image_color(path, 24, 24, &buf), stock = load_image_color(path, 24, 24);
    assert_same("jpeg", ours, stock);
    free_image(ours), free_image(stock), free_image(im);
    abc_image_buf_free(&buf);
}
END_TEST

START_TEST(classification_rows_and_labels)
{
    char *names[] = {"cat", "dog", "bird"};
    abc_strs labels = {names, 3};
    char *paths[4], buf[4][256];
    const char *kind[] = {"dog", "bird", "cat", "dog"};
    for (int i = 0; i < 4; ++i) {
        snprintf(buf[i], sizeof buf[i], "%s/%d_%s.png", abc_test_tmpdir(), i, kind[i]);
        write_png(buf[i], &cases[i % 3], 40 + (unsigned)i);
        paths[i] = buf[i];
    }
    data d = abc_cls_buffer(4, 14, 12, 3);
    ck_assert_int_eq(d.X.cols, 14 * 12 * 3);
    ck_assert_int_eq(d.y.cols, 3);
    /* the buffer loaded again: all four, then three (as the last chunk of a list), in a different order */
    int orders[2][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}}, counts[2] = {4, 3};
    for (int round = 0; round < 2; ++round) {
        char *p[4];
        for (int i = 0; i < 4; ++i) p[i] = paths[orders[round][i]];
        for (int threads = 1; threads <= 2; ++threads) {
            abc_set_threads(threads);
            abc_load_classification(&d, p, counts[round], &labels);
            ck_assert_int_eq(d.X.rows, counts[round]);
            ck_assert_int_eq(d.y.rows, counts[round]);
            for (int i = 0; i < counts[round]; ++i) {
                int at = orders[round][i];
                image stock = load_image_color(paths[at], 14, 12);
                ck_assert_msg(!memcmp(d.X.vals[i], stock.data, sizeof(float) * d.X.cols), "row %d differs", i);
                free_image(stock);
                for (int c = 0; c < 3; ++c)
                    ck_assert_msg(d.y.vals[i][c] == (strcmp(names[c], kind[at]) ? 0.f : 1.f), "row %d label %d", i, c);
            }
        }
    }
    abc_cls_buffer_free(&d);
}
END_TEST

static Suite *suite_image_load(void)
{
    Suite *s = suite_create("image_load");
    TCase *tc = tcase_create("load");
    tcase_add_loop_test(tc, png_as_libdarknet_loads_it, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, jpeg_goes_to_libdarknet);
    tcase_add_test(tc, classification_rows_and_labels);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_image_load)
