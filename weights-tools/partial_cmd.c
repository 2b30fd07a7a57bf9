/* ./darknet partial <cfg> <weights> <output> <layers>: darknet's own command, the first layers' weights
 * (a backbone to train from), the iteration count at 0. */
#include <stdlib.h>

#include "abc/base/files.h"
#include "abc/base/util.h"
#include "abc/packfile.h"
#include "commands.h"
#include "darknet.h"

static int partial_run(const abc_cli *a)
{
    if (!abc_file_exists(a->pos[0])) abc_die("cannot open cfg file '%s'", a->pos[0]);
    if (!abc_file_exists(a->pos[1])) abc_die("cannot open weights file '%s'", a->pos[1]);
    if (abc_packfile_is(a->pos[1]))
        abc_die("'%s' is a packed deployment file: partial takes the .weights it was packed from", a->pos[1]);
    char *end;
    long n = strtol(a->pos[3], &end, 10);
    if (*end || end == a->pos[3] || n < 1) abc_cli_fail(a, "layers: '%s' is not a number of layers (1 or more)", a->pos[3]);
    network *net = load_network((char *)a->pos[0], (char *)a->pos[1], 1);
    if (n > net->n) abc_die("partial: '%s' has %d layers, not %ld", a->pos[0], net->n, n);
    save_weights_upto(net, (char *)a->pos[2], (int)n);
    free_network(net);
    return 0;
}

const abc_cmd abc_partial_cmd = {
    .name = "partial", .args = "<cfg> <weights> <output> <layers>", .min_args = 4, .max_args = 4,
    .what = "darknet's partial: the weights of the first <layers> layers into <output>, iteration count 0",
    .run = partial_run,
};
