/* libdarknet draws every random number of training (initial weights, image
 * order, augmentation) from the C library's rand(). These give rand() a state
 * buffer the project owns, so that it can be seeded, saved with a checkpoint
 * and restored. Call them only while no other thread draws numbers. */
#ifndef ABC_RNG_H
#define ABC_RNG_H

#include <stdint.h>

#define ABC_RNG_STATE_BYTES 256

/* SplitMix64's step: the (x + 1)-th number of the sequence that starts at 0 (a stateless hash of x). */
uint64_t abc_mix64(uint64_t x);

void abc_rng_seed(unsigned seed);
void abc_rng_save(unsigned char out[ABC_RNG_STATE_BYTES]);
void abc_rng_restore(const unsigned char in[ABC_RNG_STATE_BYTES]);

#endif
