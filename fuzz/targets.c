/* The table of fuzz targets: a new reader to fuzz is one row here and one file. */
#include <string.h>

#include "targets.h"

extern const abc_fuzz_target abc_fuzz_cfg, abc_fuzz_weights, abc_fuzz_packfile, abc_fuzz_data, abc_fuzz_labels,
    abc_fuzz_image;

static const abc_fuzz_target *const table[] = {&abc_fuzz_cfg,  &abc_fuzz_weights, &abc_fuzz_packfile,
                                               &abc_fuzz_data, &abc_fuzz_labels,  &abc_fuzz_image};

int abc_fuzz_count(void) { return (int)(sizeof table / sizeof table[0]); }

const abc_fuzz_target *abc_fuzz_at(int i) { return i >= 0 && i < abc_fuzz_count() ? table[i] : NULL; }

const abc_fuzz_target *abc_fuzz_find(const char *name)
{
    for (int i = 0; i < abc_fuzz_count(); ++i)
        if (!strcmp(table[i]->name, name)) return table[i];
    return NULL;
}
