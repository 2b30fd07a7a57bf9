/* Packed deployment files (`weights pack`): the model as inference computes
 * with it. Binary layers hold their packed bits, scales and batch norm
 * (their registry rows' pack / unpack), float layers their darknet record
 * as float32 or float16. Layout (all little-endian, docs/design.md):
 *   header, 48 bytes: magic "ABCWPACK", u32 format version (1), u32 layers,
 *     u64 shape hash of the network (abc_network_shape_hash), u64 seen,
 *     u64 payload bytes, u64 FNV-1a 64 checksum of the payload;
 *   payload: per layer, u32 encoding (0 none, 1 float32 record, 2 float16
 *     record, 3 the plugin row's packed record), u32 layer type, u64 bytes,
 *     then the bytes.
 * abc_load_weights reads such a file in place of a .weights one (every
 * command that loads weights takes it); training from it is refused. */
#ifndef ABC_PACKFILE_H
#define ABC_PACKFILE_H

#include <stdint.h>

#include "darknet.h"

#define ABC_PACK_MAGIC "ABCWPACK"

/* 1 if the file starts with the packed magic (0 if not, or unreadable). */
int abc_packfile_is(const char *filename);
/* Writes net (weights loaded) to filename atomically; half: float layers as float16 where every value fits.
 * Returns the file's size; dies with one line on failure. */
long long abc_packfile_save(network *net, const char *filename, int half);
/* Reads a packed file into net (made from the cfg it was packed from); dies with one line naming the file and
 * what is wrong (another cfg, truncated, corrupt) before changing any layer. */
void abc_packfile_load(network *net, const char *filename);
/* A hash of what the weights' shapes depend on, layer by layer (type, filters, channels, size, stride, pad,
 * groups, batch norm, activation, the record sizes), not the input size or the training keys. */
uint64_t abc_network_shape_hash(const network *net);
/* Sets the payload length and checksum in the header of a packed file held in memory (n bytes) to match its
 * payload (the fuzz harness: mutated files that get past the checksum); nothing if n < the header. */
void abc_packfile_seal(unsigned char *file, size_t n);

#endif
