/* Per-thread scratch memory, grown on demand and kept for the process:
 * the pool's thread t owns row t. Layers have no user-data pointer, so the
 * fast kernels keep their buffers here instead. */
#ifndef ABC_ARENA_H
#define ABC_ARENA_H

#include <stddef.h>

enum { ABC_ARENA_SLOTS = 4 };

/* At least n floats (64-byte aligned) for pool thread `thread`, slot `slot`.
 * Contents are not kept when the buffer grows. */
float *abc_arena_floats(int thread, int slot, size_t n);

#endif
