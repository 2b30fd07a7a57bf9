/* Whether an image file will decode whole, found before libdarknet's decoder
 * (OpenCV) sees it: OpenCV aborts the process on a header of more pixels than
 * it allows, and hands libdarknet a 10x10 black image for a file it cannot
 * read (appending its name to ./bad.list), which libdarknet then trains on.
 * PNG and JPEG (what the data sets hold) are decoded whole here by libpng and
 * libjpeg, with a bound on their size; uncompressed 24/32-bit BMP and binary
 * PNM have their header read and every row's bytes found in the file. Other
 * kinds (GIF, which OpenCV does not read; TIFF, WebP, ASCII PNM, compressed
 * BMP, which cannot be checked here) are refused, with a word to convert them. */
#include "image_check.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <zlib.h>

static _Thread_local long long seen_w, seen_h; /* the size the last header gave */

static const char *too_big(long long w, long long h, char *why, size_t n)
{
    seen_w = w;
    seen_h = h;
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

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

/* Every chunk whole, with its CRC, up to IEND: libpng's simplified reader stops at the image data, while
 * OpenCV reads on to the end and fails the file on a bad chunk there. */
static const char *png_chunks(const char *path, char *why, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, n, "is missing or unreadable (cannot open: %s)", strerror(errno));
        return why;
    }
    unsigned char h[8], *data = NULL;
    const char *bad = "it ends before its IEND chunk";
    if (fseek(fp, 8, SEEK_SET) == 0)
        while (fread(h, 1, 8, fp) == 8) {
            uint32_t len = be32(h);
            unsigned char *d = len < (1u << 31) ? realloc(data, len + 4) : NULL;
            if (!d) {
                bad = "a chunk longer than 2 GB";
                break;
            }
            data = d;
            if (fread(data, 1, len + 4, fp) != len + 4) break;
            uLong crc = crc32(crc32(0, h + 4, 4), data, len);
            if (crc != be32(data + len)) {
                bad = "a chunk's CRC does not match";
                break;
            }
            if (!memcmp(h + 4, "IEND", 4)) {
                bad = NULL;
                break;
            }
        }
    free(data);
    fclose(fp);
    if (!bad) return NULL;
    snprintf(why, n, "is a broken PNG (%s)", bad);
    return why;
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
    return png_chunks(path, why, n);
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

/* BMP: a BITMAPINFOHEADER or later, uncompressed 24 or 32 bits a pixel, every row in the file */
static const char *check_bmp(const unsigned char *b, size_t got, long long fsize, char *why, size_t n)
{
    if (got < 54) {
        snprintf(why, n, "is a truncated BMP (%zu bytes)", got);
        return why;
    }
    uint32_t off = le32(b + 10), hdr = le32(b + 14), comp = le32(b + 30);
    int32_t w = (int32_t)le32(b + 18), h = (int32_t)le32(b + 22);
    int planes = b[26] | b[27] << 8, bpp = b[28] | b[29] << 8;
    long long rows = h < 0 ? -(long long)h : h;
    const char *big = too_big(w, rows, why, n);
    if (big) return big;
    int known = hdr == 40 || hdr == 52 || hdr == 56 || hdr == 108 || hdr == 124; /* BITMAPINFOHEADER to V5 */
    if (!known || planes != 1 || (bpp != 24 && bpp != 32) || comp != 0) {
        snprintf(why, n, "is a BMP of a kind not checked here (%d bits a pixel, compression %u, header %u bytes): "
                 "convert it to PNG", bpp, comp, hdr);
        return why;
    }
    long long need = (long long)off + ((long long)w * bpp + 31) / 32 * 4 * rows;
    if (off < 14 + (long long)hdr || need > fsize) {
        snprintf(why, n, "is a truncated BMP (%lld bytes; its header needs %lld)", fsize, need);
        return why;
    }
    return NULL;
}

/* The PNM blanks of libdarknet's decoder (stb_image): C's isspace set. */
static int pnm_blank(unsigned char c) { return c && strchr(" \t\r\n\v\f", c) != NULL; }

/* The next number of a PNM header ("P6\n# comment\n640 480\n255\n"), skipping blanks and comments (a comment
 * ends at a line feed or a carriage return, as in the decoder); -1 if none. *i is left on the byte after it. */
static long long pnm_number(const unsigned char *b, size_t got, size_t *i)
{
    while (*i < got && (pnm_blank(b[*i]) || b[*i] == '#')) {
        if (b[*i] == '#')
            while (*i < got && b[*i] != '\n' && b[*i] != '\r') ++*i;
        else
            ++*i;
    }
    if (*i >= got || b[*i] < '0' || b[*i] > '9') return -1;
    long long v = 0;
    while (*i < got && b[*i] >= '0' && b[*i] <= '9' && v < (1LL << 40)) v = v * 10 + (b[(*i)++] - '0');
    if (*i >= got || !pnm_blank(b[*i])) return -1; /* a number ends at a blank */
    return v;
}

/* Binary PNM (P4 bitmap, P5 grey, P6 colour): the header, then every pixel's bytes in the file. */
static const char *check_pnm(const unsigned char *b, size_t got, long long fsize, char *why, size_t n)
{
    size_t i = 2;
    long long w = -1, h = -1;
    if (got > 2 && pnm_blank(b[2])) { /* "P6" then a blank */
        w = pnm_number(b, got, &i);
        h = pnm_number(b, got, &i);
    }
    if (w < 0 || h < 0) {
        snprintf(why, n, "is a broken PNM (no width and height after its magic)");
        return why;
    }
    const char *big = too_big(w, h, why, n);
    if (big) return big;
    if (b[1] < '4') {
        snprintf(why, n, "is an ASCII PNM (P%c), not checked here: convert it to PNG", b[1]);
        return why;
    }
    long long maxval = b[1] == '4' ? 1 : pnm_number(b, got, &i);
    if (maxval < 1 || maxval > 65535 || i >= got) {
        snprintf(why, n, "is a broken PNM (its header has no maximum value in 1..65535 within %zu bytes)", got);
        return why;
    }
    long long per_row = b[1] == '4' ? (w + 7) / 8 : w * (b[1] == '6' ? 3 : 1) * (maxval > 255 ? 2 : 1);
    long long need = (long long)i + 1 + per_row * h; /* one blank after the header */
    if (need > fsize) {
        snprintf(why, n, "is a truncated PNM (%lld bytes; its header needs %lld)", fsize, need);
        return why;
    }
    return NULL;
}

static const char *check(const char *path, char *why, size_t n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(why, n, "is missing or unreadable (cannot open: %s)", strerror(errno));
        return why;
    }
    unsigned char b[512] = {0};
    size_t got = fread(b, 1, sizeof b, fp);
    struct stat st;
    long long fsize = fstat(fileno(fp), &st) ? 0 : (long long)st.st_size;
    fclose(fp);
    if (got >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return check_png(path, why, n);
    if (got >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return check_jpeg(path, why, n);
    if (got >= 2 && b[0] == 'B' && b[1] == 'M') return check_bmp(b, got, fsize, why, n);
    if (got >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6') return check_pnm(b, got, fsize, why, n);
    if (got >= 4 && !memcmp(b, "GIF8", 4))
        snprintf(why, n, "is a GIF, which libdarknet's decoder (OpenCV) does not read: convert it to PNG");
    else if (got >= 4 && (!memcmp(b, "II*", 4) || !memcmp(b, "MM\0*", 4)))
        snprintf(why, n, "is a TIFF, not checked here: convert it to PNG or JPEG");
    else if (got >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        snprintf(why, n, "is a WebP, not checked here: convert it to PNG or JPEG");
    else
        snprintf(why, n, "is not an image (PNG, JPEG, BMP or binary PNM expected)");
    return why;
}

const char *abc_image_problem(const char *path, char *why, size_t n)
{
    long long w, h;
    return abc_image_problem_size(path, why, n, &w, &h);
}

const char *abc_image_problem_size(const char *path, char *why, size_t n, long long *w, long long *h)
{
    seen_w = seen_h = 0;
    const char *bad = check(path, why, n);
    *w = seen_w;
    *h = seen_h;
    return bad;
}
