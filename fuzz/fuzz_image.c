/* Fuzz target: an image file through the check every image passes before libdarknet's decoder sees it; one
 * the check accepts is then decoded by libdarknet, which must read it whole, at the size its header gives, and
 * by the inference commands' loader (src/image_load.c), which must give the same pixels bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "abc/base/darknet_private.h"
#include "abc/base/util.h"
#include "image_check.h"
#include "image_load.h"
#include "targets.h"

static void run(const char *path, const uint8_t *data, size_t size)
{
    (void)data, (void)size;
    char why[512];
    long long w, h;
    if (abc_image_problem_size(path, why, sizeof why, &w, &h))
        abc_die("image '%s' %s", path, why); /* as the commands refuse it */
    /* a file it cannot read, libdarknet replaces by a 10x10 black image */
    image im = load_image_color((char *)path, 0, 0);
    abc_fuzz_require(im.data && im.w == w && im.h == h, "an image libdarknet's decoder cannot read");
    abc_image_buf buf = {0};
    image ours = abc_load_image_color(path, 0, 0, &buf);
    abc_image_buf_free(&buf);
    abc_fuzz_require(ours.w == im.w && ours.h == im.h && ours.c == im.c &&
                         !memcmp(ours.data, im.data, sizeof(float) * (size_t)im.w * im.h * im.c),
                     "an image the project's loader decodes otherwise than libdarknet");
    free_image(ours);
    free_image(im);
}

const abc_fuzz_target abc_fuzz_image = {"image", "image files: the check, then libdarknet's decoder and the project's loader on what it accepts", NULL, run};
