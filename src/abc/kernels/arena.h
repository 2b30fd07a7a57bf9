/* Per-thread scratch memory, grown on demand and kept for the process:
 * the pool's thread t owns row t. Layers have no user-data pointer, so the
 * fast kernels keep their buffers here instead. A row is only used inside
 * pool tasks; the float layers' backward pass also reads other threads' rows
 * (partial weight gradients) in a later pool run of the same call, so two
 * networks must not train at the same time from different threads. */
#ifndef ABC_ARENA_H
#define ABC_ARENA_H

#include <stddef.h>

enum { ABC_ARENA_SLOTS = 6 };

/* At least n floats (64-byte aligned) for pool thread `thread`, slot `slot`.
 * Contents are not kept when the buffer grows. */
float *abc_arena_floats(int thread, int slot, size_t n);

#endif
