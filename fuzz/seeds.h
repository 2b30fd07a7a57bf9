#ifndef ABC_FUZZ_SEEDS_H
#define ABC_FUZZ_SEEDS_H
/* The weights and packfile targets' seed files, written into the two folders. */
void abc_fuzz_write_seeds(const char *weights_dir, const char *packfile_dir);
#endif
