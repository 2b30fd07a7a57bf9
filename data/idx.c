#include "idx.h"

#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "abc/base/util.h"

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

abc_idx abc_idx_read(const char *path, int magic, int load, int limit)
{
    abc_idx x = {0, 1, 1, NULL};
    gzFile gz = gzopen(path, "rb");
    if (!gz) abc_die("cannot open '%s'", path);
    int ndims = magic == 0x803 ? 3 : 1;
    unsigned char hdr[16];
    int want = 4 + 4 * ndims;
    if (gzread(gz, hdr, (unsigned)want) != want) abc_die("'%s': too short for an IDX header", path);
    if (be32(hdr) != (uint32_t)magic)
        abc_die("'%s': IDX magic is 0x%x, expected 0x%x", path, (unsigned)be32(hdr), (unsigned)magic);
    uint32_t n = be32(hdr + 4);
    if (ndims == 3) {
        x.h = (int)be32(hdr + 8);
        x.w = (int)be32(hdr + 12);
        if (x.h < 1 || x.h > 4096 || x.w < 1 || x.w > 4096) abc_die("'%s': bad image size %dx%d", path, x.w, x.h);
    }
    if (n < 1 || n > 10000000) abc_die("'%s': bad item count %u", path, (unsigned)n);
    x.n = limit > 0 && (uint32_t)limit < n ? limit : (int)n;
    if (load) {
        size_t bytes = (size_t)x.n * x.h * x.w;
        x.data = abc_xmalloc(bytes);
        size_t got = 0;
        while (got < bytes) {
            unsigned chunk = bytes - got > (1u << 30) ? 1u << 30 : (unsigned)(bytes - got);
            int r = gzread(gz, x.data + got, chunk);
            if (r <= 0) abc_die("'%s': truncated or corrupt (read %zu of %zu bytes)", path, got, bytes);
            got += (size_t)r;
        }
    }
    gzclose(gz);
    return x;
}

void abc_idx_free(abc_idx *x)
{
    free(x->data);
    x->data = NULL;
}
