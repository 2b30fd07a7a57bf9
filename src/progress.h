/* Long commands: progress and a clean stop. */
#ifndef ABC_PROGRESS_H
#define ABC_PROGRESS_H

#include <signal.h>
#include <stddef.h>

/* A long command's clean stop: while caught, SIGINT and SIGTERM only set a
 * flag, which the command reads at its next safe point (after an iteration,
 * after a chunk of images) to finish its work there and exit 128 + signal. */
typedef struct {
    struct sigaction old_int, old_term;
} abc_stop_guard;
void abc_stop_catch(abc_stop_guard *g);
void abc_stop_release(const abc_stop_guard *g);
/* The signal caught since abc_stop_catch (SIGINT or SIGTERM), or 0. */
int abc_stop_signal(void);
/* "SIGINT" or "SIGTERM". */
const char *abc_stop_name(int sig);

/* "1h02m", "5m01s", "42s" ("?" if unknown). */
void abc_fmt_eta(char *buf, size_t n, double seconds);

#endif
