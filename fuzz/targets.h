/* Fuzz targets: the project's readers of what users give it (cfgs, weights, packed files, .data files and
 * lists, labels, images), each run on one input. Built twice: with libFuzzer (fuzz_main.c, `make fuzz`) and
 * into the test suite, which replays the corpora in fuzz/corpus/<target>/ (tests/test_fuzz_corpora.c). */
#ifndef ABC_FUZZ_TARGETS_H
#define ABC_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name; /* also its corpus folder: fuzz/corpus/<name> */
    const char *what;
    void (*init)(void); /* once, before the first input (may be NULL) */
    /* One input: its bytes, also readable as the file path. May die (abc_die): abc_fuzz_one returns. */
    void (*run)(const char *path, const uint8_t *data, size_t size);
} abc_fuzz_target;

const abc_fuzz_target *abc_fuzz_find(const char *name);
int abc_fuzz_count(void);
const abc_fuzz_target *abc_fuzz_at(int i);

/* Runs t on one input; returns 1 if the target died with an error message (0 if it took the input). Aborts
 * (a crash, for the fuzzer) on an error message that is not one line naming the input's file, and on a
 * target's own check failing (abc_fuzz_require). */
int abc_fuzz_one(const abc_fuzz_target *t, const uint8_t *data, size_t size);
/* Keeps a copy of stderr for the harness's reports (libFuzzer may close stderr after initialising). */
void abc_fuzz_keep_stderr(void);
/* A target's check of what a reader accepted: aborts with the message unless ok. */
void abc_fuzz_require(int ok, const char *what);
/* From here to the end of this input, an error is a bug (e.g. reading back what the project just wrote):
 * abc_fuzz_one aborts on it, naming what. */
void abc_fuzz_no_error_from_here(const char *what);

#endif
