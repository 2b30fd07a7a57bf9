/* The fuzz targets' corpora (fuzz/corpus/<target>/, seeds and what fuzzing found worth keeping) replayed: no
 * input crashes a reader, every refusal is one line naming the file, what is accepted is in range (the
 * targets' own checks abort otherwise); each target's seeds include inputs it must accept and inputs it must
 * refuse. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/targets.h"
#include "test_util.h"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *b = malloc(*n + 1);
    ck_assert(fread(b, 1, *n, fp) == *n);
    fclose(fp);
    return b;
}

START_TEST(corpus_replays_clean)
{
    const abc_fuzz_target *t = abc_fuzz_at(_i);
    char dirpath[256];
    snprintf(dirpath, sizeof dirpath, "../fuzz/corpus/%s", t->name);
    DIR *d = opendir(dirpath);
    ck_assert_msg(d != NULL, "no corpus folder %s", dirpath);
    int inputs = 0, refused = 0;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* the readers' messages; a crash still reports on fd 2 */
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dirpath, e->d_name);
        size_t n;
        unsigned char *b = slurp(path, &n);
        refused += abc_fuzz_one(t, b, n);
        ++inputs;
        free(b);
    }
    closedir(d);
    fclose(stderr);
    stderr = saved;
    printf("fuzz corpus %s: %d inputs replayed, %d refused in one line, %d accepted\n", t->name, inputs, refused,
           inputs - refused);
    ck_assert_msg(inputs >= 3, "corpus %s has %d inputs", t->name, inputs);
    ck_assert_msg(refused > 0 && refused < inputs, "corpus %s: %d of %d refused: the seeds should hold both",
                  t->name, refused, inputs);
}
END_TEST

static Suite *suite_fuzz_corpora(void)
{
    Suite *s = suite_create("fuzz_corpora");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, corpus_replays_clean, 0, abc_fuzz_count());
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_fuzz_corpora)
