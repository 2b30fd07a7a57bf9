#include "arena.h"

#include <stdlib.h>

#include "base/util.h"

#define ABC_ARENA_THREADS 256

static struct {
    float *p;
    size_t n;
} arena[ABC_ARENA_THREADS][ABC_ARENA_SLOTS];

float *abc_arena_floats(int thread, int slot, size_t n)
{
    if (thread < 0 || thread >= ABC_ARENA_THREADS || slot < 0 || slot >= ABC_ARENA_SLOTS)
        abc_die("scratch arena: bad thread %d / slot %d", thread, slot);
    if (n == 0) n = 1;
    if (arena[thread][slot].n < n) {
        free(arena[thread][slot].p);
        /* grow by 1/4 more than asked so that slowly growing sizes do not reallocate each time */
        size_t want = n + n / 4;
        void *p = NULL;
        if (posix_memalign(&p, 64, want * sizeof(float)) != 0) abc_die("out of memory (%zu floats)", want);
        arena[thread][slot].p = p;
        arena[thread][slot].n = want;
    }
    return arena[thread][slot].p;
}
