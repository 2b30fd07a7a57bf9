#include "steal.h"

#include "pool.h"

/* A range is one word: front in the low 32 bits, end in the high 32. */
static inline uint64_t pack(uint32_t lo, uint32_t hi) { return (uint64_t)hi << 32 | lo; }

void abc_steal_init(uint64_t *r, int parts, int n)
{
    for (int p = 0; p < parts; ++p) {
        int lo, hi;
        abc_split_range(n, parts, p, &lo, &hi);
        __atomic_store_n(&r[(size_t)p * 8], pack((uint32_t)lo, (uint32_t)hi), __ATOMIC_RELAXED);
    }
}

int abc_steal_owner(int parts, int n, int u)
{
    for (int p = 0; p < parts; ++p) {
        int lo, hi;
        abc_split_range(n, parts, p, &lo, &hi);
        if (u < hi) return p;
    }
    return parts - 1;
}

/* Takes one unit from range w, from the front or the back; 0 if it is empty. */
static int take(uint64_t *w, int front, int *unit)
{
    uint64_t v = __atomic_load_n(w, __ATOMIC_RELAXED);
    for (;;) {
        uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
        if (lo >= hi) return 0;
        uint64_t nv = front ? pack(lo + 1, hi) : pack(lo, hi - 1);
        if (__atomic_compare_exchange_n(w, &v, nv, 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            *unit = (int)(front ? lo : hi - 1);
            return 1;
        }
    }
}

int abc_steal_next(uint64_t *r, int parts, int self, int *unit)
{
    self %= parts;
    if (take(&r[(size_t)self * 8], 1, unit)) return 1;
    for (;;) {
        int best = -1;
        uint32_t most = 0;
        for (int p = 0; p < parts; ++p) {
            uint64_t v = __atomic_load_n(&r[(size_t)p * 8], __ATOMIC_RELAXED);
            uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
            if (hi > lo && hi - lo > most) {
                most = hi - lo;
                best = p;
            }
        }
        if (best < 0) return 0;
        if (take(&r[(size_t)best * 8], 0, unit)) return 1;
    }
}
