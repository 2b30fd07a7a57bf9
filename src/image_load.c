/* Image loading for inference: 8-bit opaque PNGs decoded here with libpng, from one read of the file into a
 * reused buffer; every other file by libdarknet's load_image_color (OpenCV in Debian's build), whose decoding
 * of small files is mostly allocation and system calls. */
#include "image_load.h"

#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abc/base/util.h"
#include "abc/kernels/pool.h"
#include "classifier_common.h"
#include "image_check.h"

typedef struct {
    const unsigned char *p;
    size_t n, at;
} png_src;

static void read_mem(png_structp png, png_bytep out, size_t n)
{
    png_src *s = png_get_io_ptr(png);
    if (n > s->n - s->at) png_error(png, "truncated");
    memcpy(out, s->p + s->at, n);
    s->at += n;
}

/* libpng's default handlers print; these stay silent (an error returns to the setjmp below). */
static void on_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* Whole file into *buf (grown as needed); its length, or -1. */
static long read_whole_file(const char *path, unsigned char **buf, size_t *cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    long n = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < (1L << 30)) {
        if ((size_t)st.st_size > *cap) {
            free(*buf);
            *cap = (size_t)st.st_size;
            *buf = abc_xmalloc(*cap);
        }
        size_t got = 0;
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, *buf + got, (size_t)st.st_size - got);
            if (r <= 0) break;
            got += (size_t)r;
        }
        if (got == (size_t)st.st_size) n = (long)got;
    }
    close(fd);
    return n;
}

/* The decoded PNG as an RGB image of floats in 0..1 (darknet's layout), or an image with no data when libpng
 * should not decode it here: not 8 bits, transparency (OpenCV drops alpha its own way), or any error. */
static image decode_png(const unsigned char *buf, size_t n)
{
    image none = {0};
    if (n < 8 || png_sig_cmp(buf, 0, 8)) return none;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, on_error, on_warning);
    if (!png) return none;
    png_infop info = png_create_info_struct(png);
    png_src src = {buf, n, 0};
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        return none;
    }
    png_set_read_fn(png, &src, read_mem);
    png_read_info(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (depth > 8 || (type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS) ||
        (unsigned long long)w * h > ABC_IMAGE_MAX_PIXELS)
        png_error(png, "not decoded here");
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (type == PNG_COLOR_TYPE_GRAY) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) png_error(png, "unexpected layout");
    pixels = abc_xmalloc((size_t)w * h * 3);
    rows = abc_xmalloc(sizeof(png_bytep) * h);
    for (png_uint_32 y = 0; y < h; ++y) rows[y] = pixels + (size_t)y * w * 3;
    png_read_image(png, rows);
    image im = make_image((int)w, (int)h, 3);
    size_t plane = (size_t)w * h;
    for (size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) im.data[c * plane + i] = (float)(pixels[i * 3 + c] / 255.);
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return im;
}

image abc_load_image_color(const char *path, int w, int h, abc_image_buf *b)
{
    long n = read_whole_file(path, &b->bytes, &b->cap);
    image im = n > 0 ? decode_png(b->bytes, (size_t)n) : (image){0};
    if (!im.data) return load_image_color((char *)path, w, h);
    if (w && h && (im.w != w || im.h != h)) {
        image r = resize_image(im, w, h);
        free_image(im);
        im = r;
    }
    return im;
}

void abc_image_buf_free(abc_image_buf *b)
{
    free(b->bytes);
    b->bytes = NULL;
    b->cap = 0;
}

data abc_cls_buffer(int rows, int w, int h, int classes)
{
    data d = {0};
    d.w = w;
    d.h = h;
    d.X.rows = d.y.rows = rows;
    d.X.cols = w * h * 3;
    d.y.cols = classes;
    d.X.vals = abc_xcalloc((size_t)rows + 1, sizeof *d.X.vals); /* a NULL after the last row marks the capacity */
    d.y.vals = abc_xmalloc((size_t)rows * sizeof *d.y.vals);
    float *x = abc_xcalloc((size_t)rows * d.X.cols, sizeof(float)), *y = abc_xcalloc((size_t)rows * classes, sizeof(float));
    for (int i = 0; i < rows; ++i) {
        d.X.vals[i] = x + (size_t)i * d.X.cols;
        d.y.vals[i] = y + (size_t)i * classes;
    }
    return d;
}

void abc_cls_buffer_free(data *d)
{
    if (d->X.vals) free(d->X.vals[0]), free(d->y.vals[0]);
    free(d->X.vals);
    free(d->y.vals);
    memset(d, 0, sizeof *d);
}

typedef struct {
    data *d;
    char **paths;
    int n, parts;
    const abc_strs *labels;
} load_job;

static void load_task(void *ctx, int task, int thread)
{
    (void)thread;
    const load_job *j = ctx;
    data *d = j->d;
    int i0, i1;
    abc_split_range(j->n, j->parts, task, &i0, &i1);
    abc_image_buf b = {0};
    size_t bytes = sizeof(float) * (size_t)d->X.cols;
    for (int i = i0; i < i1; ++i) {
        image im = abc_load_image_color(j->paths[i], d->w, d->h, &b);
        memcpy(d->X.vals[i], im.data, bytes);
        free_image(im);
        memset(d->y.vals[i], 0, sizeof(float) * (size_t)d->y.cols);
        int k = abc_label_of(j->paths[i], j->labels);
        if (k >= 0) d->y.vals[i][k] = 1;
    }
    abc_image_buf_free(&b);
}

void abc_load_classification(data *d, char **paths, int n, const abc_strs *labels)
{
    for (int i = 0; i < n; ++i)
        if (!d->X.vals[i]) abc_die("image loader: %d images for a buffer of %d rows", n, i);
    int threads = abc_pool_threads();
    load_job j = {d, paths, n, threads > 1 ? 4 * threads : 1, labels};
    if (j.parts > n) j.parts = n > 0 ? n : 1;
    abc_pool_run(j.parts, load_task, &j);
    d->X.rows = d->y.rows = n;
}
