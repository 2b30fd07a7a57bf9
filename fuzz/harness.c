/* Runs a fuzz target on one input held in a memory file, and turns its abc_die into a return (the cleanups
 * the readers pushed free what they held: util.h). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "abc/base/util.h"
#include "targets.h"

static jmp_buf back;
static char last_error[1024];
static int input_fd = -1;
static char input_path[64];

static FILE *report; /* stderr, kept from before libFuzzer's -close_fd_mask closes it */

void abc_fuzz_keep_stderr(void)
{
    int fd = dup(2);
    report = fd < 0 ? NULL : fdopen(fd, "w");
}

static void fail(const char *fmt, const char *a, const char *b)
{
    FILE *out = report ? report : stderr;
    fputs("fuzz: ", out);
    fprintf(out, fmt, a, b);
    fputc('\n', out);
    fflush(out);
    abort();
}

static const char *no_error_in;

void abc_fuzz_no_error_from_here(const char *what) { no_error_in = what; }

static void on_die(const char *msg)
{
    if (no_error_in) fail("an error where none may be (%s): %s", no_error_in, msg);
    snprintf(last_error, sizeof last_error, "%s", msg);
    longjmp(back, 1);
}

void abc_fuzz_require(int ok, const char *what)
{
    if (!ok) fail("a reader accepted what it should refuse: %s%s", what, "");
}

static const char *input_file(const uint8_t *data, size_t size)
{
    if (input_fd < 0) {
        input_fd = memfd_create("abc-fuzz-input", 0);
        if (input_fd < 0) {
            perror("fuzz: memfd_create");
            abort();
        }
        snprintf(input_path, sizeof input_path, "/proc/self/fd/%d", input_fd);
    }
    if (ftruncate(input_fd, 0) || (size && pwrite(input_fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz: writing the input file");
        abort();
    }
    return input_path;
}

/* One line, naming the input (or saying that memory ran out: a failed allocation has no file to name). */
static void check_message(const abc_fuzz_target *t)
{
    int names_file = strstr(last_error, input_path) != NULL || !strncmp(last_error, "out of memory", 13);
    if (!strchr(last_error, '\n') && names_file) return;
    fail("target %s: an error message that is not one line naming the input file: '%s'", t->name, last_error);
}

int abc_fuzz_one(const abc_fuzz_target *t, const uint8_t *data, size_t size)
{
    static const abc_fuzz_target *inited[16];
    int k = 0;
    while (k < 16 && inited[k] && inited[k] != t) ++k;
    if (k < 16 && !inited[k]) {
        if (t->init) t->init();
        inited[k] = t;
    }
    const char *path = input_file(data, size);
    no_error_in = NULL;
    abc_die_set_handler(on_die);
    if (setjmp(back)) {
        abc_die_set_handler(NULL);
        check_message(t);
        return 1;
    }
    t->run(path, data, size);
    abc_die_set_handler(NULL);
    return 0;
}
