/* Helpers every part of the project uses: fatal errors and warnings on one
 * line, checked allocation, a monotonic clock. */
#ifndef ABC_UTIL_H
#define ABC_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Print "darknet: error: <message>" on one line and exit with status 1. */
void abc_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void abc_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Set while stderr holds a partial line (a layer summary); errors then begin a new line. */
void abc_stderr_midline(int on);
/* For functions that report errors to their caller: the message into err (errn bytes; err may be NULL);
 * returns -1. */
int abc_err(char *err, size_t errn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* For the fuzz harnesses, which run many inputs in one process: with a handler set, abc_die runs the cleanups
 * pushed so far (newest first), then calls the handler with the message (it must not return: it longjmps)
 * instead of exit(1).
 * A reader pushes a cleanup for what it holds (an open file, a half-built structure) while it may die, and
 * pops it (arg: the same pointer) when it lets go; without a handler the cleanups are never run. */
typedef void (*abc_cleanup_fn)(void *arg);
void abc_cleanup_push(abc_cleanup_fn fn, void *arg);
void abc_cleanup_pop(void *arg);
void abc_cleanup_fclose(void *fp); /* a FILE * */
void abc_die_set_handler(void (*handler)(const char *message));

void *abc_xcalloc(size_t n, size_t size);
void *abc_xmalloc(size_t size);
char *abc_xstrdup(const char *s);

/* Seconds on a monotonic clock. */
double abc_now(void);

#endif
