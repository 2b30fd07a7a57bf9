/* Whether an image file will decode whole, found before libdarknet's decoder
 * (OpenCV) sees it: OpenCV aborts the process on a header of more pixels than
 * it allows, and hands libdarknet an empty image for a file it cannot read,
 * which libdarknet then uses as a black one. PNG and JPEG (what the data sets
 * hold) are decoded whole here, by libpng and libjpeg with a bound on their
 * size; of BMP, GIF and PNM the header's size is read; TIFF and WebP pass on
 * their magic alone. */
#include "image_check.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static const char *too_big(long long w, long long h, char *why, size_t n)
{
    if (w <= 0 || h <= 0) {
        snprintf(why, n, "has a header of %lldx%lld pixels", w, h);
        return why;
    }
    if (w > ABC_IMAGE_MAX_SIDE || h > ABC_IMAGE_MAX_SIDE || w * h > ABC_IMAGE_MAX_PIXELS) {
        snprintf(why, n, "has %lldx%lld pixels, more than this program reads (at most %d a side, %d in all)", w, h,
                 ABC_IMAGE_MAX_SIDE, ABC_IMAGE_MAX_PIXELS);
        return why;
    }
    return NULL;
}

static const char *check_png(const char *path, char *why, size_t n)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) {
        snprintf(why, n, "is a broken PNG (%s)", im.message);
        return why;
    }
    const char *big = too_big(im.width, im.height, why, n);
    if (big) {
        png_image_free(&im);
        return big;
    }
    im.format = PNG_FORMAT_GRAY; /* decoding checks every row; one byte a pixel is enough to hold them */
    void *buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf) {
        png_image_free(&im);
        snprintf(why, n, "cannot be decoded: out of memory");
        return why;
    }
    int ok = png_image_finish_read(&im, NULL, buf, 0, NULL);
    free(buf);
    if (!ok) {
        snprintf(why, n, "is a broken PNG (%s)", im.message);
        return why;
    }
    png_image_free(&im);
    return NULL;
}

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_fail(j_common_ptr c)
{
    jpeg_err *e = (jpeg_err *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

/* libjpeg only warns of a truncated or corrupt stream (and fills the rest grey), as OpenCV then does: here a
 * warning is a failure. */
static void jpeg_message(j_common_ptr c, int level)
{
    if (level < 0) jpeg_fail(c);
}

static const char *check_jpeg(const char *path, char *why, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, n, "is missing or unreadable (cannot open: %s)", strerror(errno));
        return why;
    }
    struct jpeg_decompress_struct c;
    jpeg_err e;
    c.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jpeg_fail;
    e.pub.emit_message = jpeg_message;
    JSAMPARRAY row = NULL;
    const char *volatile bad = NULL;
    jpeg_create_decompress(&c);
    if (setjmp(e.jump)) {
        snprintf(why, n, "is a broken JPEG (%s)", e.msg);
        bad = why;
    } else {
        jpeg_stdio_src(&c, fp);
        jpeg_read_header(&c, TRUE);
        bad = too_big(c.image_width, c.image_height, why, n);
        if (!bad) {
            c.out_color_space = JCS_GRAYSCALE;
            jpeg_start_decompress(&c);
            row = (*c.mem->alloc_sarray)((j_common_ptr)&c, JPOOL_IMAGE, c.output_width * c.output_components, 1);
            while (c.output_scanline < c.output_height) jpeg_read_scanlines(&c, row, 1);
            jpeg_finish_decompress(&c);
        }
    }
    jpeg_destroy_decompress(&c);
    fclose(fp);
    return bad;
}

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* "P6\n# comment\n640 480\n": the two numbers after the magic */
static const char *check_pnm(const unsigned char *b, size_t got, char *why, size_t n)
{
    long long v[2] = {-1, -1};
    size_t i = 2;
    for (int k = 0; k < 2; ++k) {
        while (i < got && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n' || b[i] == '#')) {
            if (b[i] == '#')
                while (i < got && b[i] != '\n') ++i;
            else
                ++i;
        }
        if (i >= got || b[i] < '0' || b[i] > '9') break;
        v[k] = 0;
        while (i < got && b[i] >= '0' && b[i] <= '9' && v[k] < (1LL << 40)) v[k] = v[k] * 10 + (b[i++] - '0');
    }
    return too_big(v[0], v[1], why, n);
}

const char *abc_image_problem(const char *path, char *why, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, n, "is missing or unreadable (cannot open: %s)", strerror(errno));
        return why;
    }
    unsigned char b[512] = {0};
    size_t got = fread(b, 1, sizeof b, fp);
    fclose(fp);
    if (got >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return check_png(path, why, n);
    if (got >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return check_jpeg(path, why, n);
    if (got >= 26 && b[0] == 'B' && b[1] == 'M') {
        int32_t h = (int32_t)le32(b + 22);
        return too_big((int32_t)le32(b + 18), h < 0 ? -(long long)h : h, why, n);
    }
    if (got >= 10 && !memcmp(b, "GIF8", 4)) return too_big(b[6] | b[7] << 8, b[8] | b[9] << 8, why, n);
    if (got >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return check_pnm(b, got, why, n);
    if ((got >= 4 && (!memcmp(b, "II*", 4) || !memcmp(b, "MM\0*", 4))) ||
        (got >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4)))
        return NULL;
    snprintf(why, n, "is not an image (PNG, JPEG, BMP, GIF, PNM, TIFF or WebP expected)");
    return why;
}
