/* The layout the code promises (docs/design.md): each file includes only
 * its own level or the levels below it,
 *   front end (src/, bench/, data/, weights-tools/) -> backend (src/abc/) ->
 *   layers (src/abc/layers/) -> quant -> float -> kernels -> base,
 * and a layer family's files include no other family's. Read from the
 * sources themselves, so a new file that breaks the order fails here. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

enum { FRONT = 6, BACKEND = 5, LAYERS = 4, QUANT = 3, FLOAT = 2, KERNELS = 1, BASE = 0 };

/* Level of a path relative to the repository root, and in *family the layer family folder ("" if none). */
static int level_of(const char *path, char *family, size_t n)
{
    family[0] = 0;
    static const struct {
        const char *dir;
        int level;
    } dirs[] = {{"src/abc/base/", BASE},     {"src/abc/kernels/", KERNELS}, {"src/abc/float/", FLOAT},
                {"src/abc/quant/", QUANT},   {"src/abc/layers/", LAYERS}};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; ++i)
        if (!strncmp(path, dirs[i].dir, strlen(dirs[i].dir))) {
            if (dirs[i].level == LAYERS) {
                const char *f = path + strlen(dirs[i].dir), *slash = strchr(f, '/');
                if (slash) snprintf(family, n, "%.*s", (int)(slash - f), f);
            }
            return dirs[i].level;
        }
    return !strncmp(path, "src/abc/", 8) ? BACKEND : FRONT;
}

static const char *const level_names[] = {"base", "kernels", "float", "quant", "layers", "backend", "front end"};

static char **files;
static int nfiles, capfiles;

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    size_t n = strlen(path);
    if (type == FTW_F && n > 2 && (!strcmp(path + n - 2, ".c") || !strcmp(path + n - 2, ".h"))) {
        if (nfiles == capfiles) files = realloc(files, (size_t)(capfiles = capfiles * 2 + 64) * sizeof *files);
        files[nfiles++] = strdup(path + 3); /* without "../" */
    }
    return 0;
}

static int exists(const char *p) { return access(p, R_OK) == 0; }

START_TEST(includes_go_down_the_levels_only)
{
    nfiles = 0;
    const char *roots[] = {"../src", "../bench", "../data", "../weights-tools"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; ++i)
        ck_assert_msg(nftw(roots[i], collect, 16, FTW_PHYS) == 0, "cannot read %s", roots[i]);
    ck_assert_msg(nfiles > 100, "only %d source files found", nfiles);
    int checked = 0;
    char bad[8192] = "";
    for (int i = 0; i < nfiles; ++i) {
        char rel[1100], family[64];
        snprintf(rel, sizeof rel, "../%s", files[i]);
        FILE *fp = fopen(rel, "r");
        ck_assert_msg(fp != NULL, "cannot open %s", rel);
        int level = level_of(files[i], family, sizeof family);
        char line[1024];
        while (fgets(line, sizeof line, fp)) {
            char inc[512];
            if (sscanf(line, " # include \"%511[^\"]\"", inc) != 1) continue;
            /* as the compiler searches: the file's folder, then -I. -Isrc -Isrc/abc */
            int dirlen = (int)(strrchr(files[i], '/') - files[i]);
            char cand[4][1200];
            snprintf(cand[0], sizeof cand[0], "%.*s/%s", dirlen < 600 ? dirlen : 600, files[i], inc);
            snprintf(cand[1], sizeof cand[1], "%s", inc);
            snprintf(cand[2], sizeof cand[2], "src/%s", inc);
            snprintf(cand[3], sizeof cand[3], "src/abc/%s", inc);
            const char *target = NULL;
            for (int c = 0; c < 4 && !target; ++c) {
                char p[1300];
                snprintf(p, sizeof p, "../%.1200s", cand[c]);
                if (exists(p)) target = cand[c];
            }
            if (!target) continue; /* a system or library header (darknet.h) */
            char tfamily[64];
            int tlevel = level_of(target, tfamily, sizeof tfamily);
            ++checked;
            const char *why = tlevel > level ? "a level above"
                              : tlevel == LAYERS && level == LAYERS && tfamily[0] && strcmp(tfamily, family)
                                  ? "another layer family"
                                  : NULL;
            if (why && strlen(bad) < sizeof bad - 600)
                snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %.300s (%s) includes %.300s (%s): %s", files[i],
                         level_names[level], target, level_names[tlevel], why);
        }
        fclose(fp);
    }
    for (int i = 0; i < nfiles; ++i) free(files[i]);
    ck_assert_msg(checked > 300, "only %d project includes found", checked);
    ck_assert_msg(!bad[0], "includes against the layout:%s", bad);
}
END_TEST

static Suite *suite_layout(void)
{
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("includes");
    tcase_add_test(tc, includes_go_down_the_levels_only);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_layout)
