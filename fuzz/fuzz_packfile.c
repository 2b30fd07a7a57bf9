/* Fuzz target: a packed deployment file read into a fixed network. An input of even length first gets its
 * header's length and checksum made to match its bytes (else nearly every mutation would stop at the
 * checksum); one of odd length is read as given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abc/packfile.h"
#include "fuzz_net.h"
#include "targets.h"

static void init(void) { abc_fuzz_net(); }

static void run(const char *path, const uint8_t *data, size_t size)
{
    if (size % 2 == 0) {
        unsigned char *sealed = malloc(size ? size : 1);
        memcpy(sealed, data, size);
        abc_packfile_seal(sealed, size);
        FILE *fp = fopen(path, "wb");
        if (!fp || fwrite(sealed, 1, size, fp) != size || fclose(fp)) abc_fuzz_require(0, "rewriting the input");
        free(sealed);
    }
    abc_packfile_load(abc_fuzz_net(), path);
}

const abc_fuzz_target abc_fuzz_packfile = {"packfile", "packed deployment files (weights pack)", init, run};
