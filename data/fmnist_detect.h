/* The detection data set made from Debian's Fashion-MNIST (no detection set
 * exists in Debian and nothing may be downloaded): canvases of 1-8 items
 * (det_scene.h) with darknet label files, train canvases drawn from
 * Fashion-MNIST's training images and valid canvases from its test images. */
#ifndef ABC_FMNIST_DETECT_H
#define ABC_FMNIST_DETECT_H

#include <stdint.h>

#define ABC_DETECT_DIR "data/fmnist-detect"
#define ABC_DETECT_DATA "cfg/fmnist-detect.data"
#define ABC_DETECT_VIDEO "data/fmnist-detect-video/video.mp4"
#define ABC_DETECT_VIDEO_TRUTH "data/fmnist-detect-video/truth.jsonl"

typedef struct {
    int train, valid; /* canvases */
    int size;         /* canvas side, pixels */
    uint64_t seed;
    int video_frames; /* the test video: frames (0: none), at 30 fps */
    int video_size;   /* its side, pixels */
} abc_detect_opts;

abc_detect_opts abc_detect_default_opts(void);

/* Builds the set into out (all or nothing; the same request twice leaves it
 * alone): out/train/NNNNNN.png and .txt (darknet labels: class cx cy w h,
 * relative), out/valid/..., out/train.list and valid.list (absolute paths),
 * out/fmnist-detect.names, out/fmnist-detect.data; and ABC_DETECT_DATA
 * (paths relative to the repository root) when out is ABC_DETECT_DIR. Then
 * the test video (items of the test images moving across one scene) and its
 * truth into <out>-video/video.mp4 and truth.jsonl, all or nothing as well.
 * Dies with one line on any error. */
void abc_fmnist_detect_prepare(const char *out, const abc_detect_opts *o);

/* 1 if ABC_DETECT_DATA and a complete set in ABC_DETECT_DIR exist. */
int abc_fmnist_detect_ready(void);

#endif
