/* Fashion-MNIST (Debian's dataset-fashion-mnist, gzipped IDX) converted to
 * darknet's classifier layout: train/ and test/ PNGs, lists, labels. */
#ifndef ABC_FMNIST_H
#define ABC_FMNIST_H

#define ABC_FMNIST_DIR "data/fashion-mnist"
#define ABC_FMNIST_DATA "cfg/fashion-mnist.data"
#define ABC_FMNIST_SRC "/usr/share/datasets/fashion-mnist"

/* The ten classes as darknet labels: none is part of another (darknet's
 * classifier finds a label anywhere in an image's path). */
extern const char *const abc_fmnist_names[10];

/* Converts into out_dir (atomically: temp dir, then rename). limit > 0 keeps
 * only the first limit images of each set. A complete conversion with the
 * same counts is left alone. Writes <out_dir>/fashion-mnist.data (absolute
 * paths) and, when out_dir is ABC_FMNIST_DIR, ABC_FMNIST_DATA (paths relative
 * to the repository root). Dies with one line on any error. */
void abc_fmnist_prepare(const char *out_dir, int limit);

/* 1 if ABC_FMNIST_DATA and the files it names exist. */
int abc_fmnist_ready(void);

#endif
