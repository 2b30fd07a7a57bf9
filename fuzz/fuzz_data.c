/* Fuzz target: the same bytes as a darknet .data file, then as a list file (image list, labels, names). */
#include "data_file.h"
#include "targets.h"

static void run(const char *path, const uint8_t *data, size_t size)
{
    (void)data, (void)size;
    abc_strs lines = abc_read_lines(path, "list");
    for (int i = 0; i < lines.n; ++i) abc_fuzz_require(lines.v[i][0] != 0, "an empty line in a list");
    abc_strs_free(&lines);
    abc_data_cfg d = abc_data_cfg_read(path);
    abc_fuzz_require(d.classes >= 1 && d.top >= 1 && d.top <= d.classes && d.backup, ".data without classes");
    abc_data_cfg_free(&d);
}

const abc_fuzz_target abc_fuzz_data = {"data", ".data files and lists", NULL, run};
