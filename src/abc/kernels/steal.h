/* Work split into contiguous ranges of units, one range per pool thread: a
 * thread takes units from the front of its own range, so the same thread
 * handles the same units (the same output lines, still in its cache) in
 * every run, and once its range is empty it steals units from the back of
 * another range (a late or descheduled thread does not hold the others up).
 * Each unit is handed out exactly once. */
#ifndef ABC_STEAL_H
#define ABC_STEAL_H

#include <stddef.h>
#include <stdint.h>

/* Words of a set of `parts` ranges (each on its own cache line). */
#define ABC_STEAL_WORDS(parts) ((size_t)(parts) * 8)

/* Splits units [0, n) into `parts` near-equal ranges (abc_split_range);
 * r holds ABC_STEAL_WORDS(parts) words, 64-byte aligned. */
void abc_steal_init(uint64_t *r, int parts, int n);

/* The range, of `parts`, that unit u starts in. */
int abc_steal_owner(int parts, int n, int u);

/* The next unit for thread `self`: the front of its own range (self taken
 * modulo parts), else the back of the fullest other range. Returns 0 when
 * every range is empty. */
int abc_steal_next(uint64_t *r, int parts, int self, int *unit);

#endif
