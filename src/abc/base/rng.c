#include "rng.h"

#include <stdlib.h>
#include <string.h>

/* glibc's random() keeps its position in its state array's first word only when setstate() switches away from
 * it, so a spare array is switched to before the saved bytes are put back. */
static char state[ABC_RNG_STATE_BYTES] __attribute__((aligned(8)));
static char spare[ABC_RNG_STATE_BYTES] __attribute__((aligned(8)));
static int ready;

static void own(unsigned seed)
{
    initstate(1, spare, sizeof spare);
    initstate(seed, state, sizeof state);
    ready = 1;
}

void abc_rng_seed(unsigned seed) { own(seed); }

uint64_t abc_mix64(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void abc_rng_save(unsigned char out[ABC_RNG_STATE_BYTES])
{
    if (!ready) own(1);
    setstate(state); /* writes the position into state */
    memcpy(out, state, sizeof state);
}

void abc_rng_restore(const unsigned char in[ABC_RNG_STATE_BYTES])
{
    if (!ready) own(1);
    setstate(spare);
    memcpy(state, in, sizeof state);
    setstate(state);
}
