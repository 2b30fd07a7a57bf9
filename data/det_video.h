/* The test video of the detection set: one scene (det_scene.h) whose items
 * move, enter and leave the frame and pass over each other, encoded with
 * Debian's ffmpeg (a process fed raw frames on a pipe), with its ground
 * truth as one JSON line per frame. */
#ifndef ABC_DET_VIDEO_H
#define ABC_DET_VIDEO_H

#include <stdint.h>

#include "det_scene.h"

typedef struct {
    int w, h;      /* frame size */
    int frames;
    int fps;
    uint64_t seed;
} abc_video_opts;

/* Renders the video into video_path (H.264 in MP4) and its truth into truth_path: per frame
 * {"frame": i, "time": s, "boxes": [{"class_id", "name", "x0", "y0", "x1", "y1"}, ...]} with the visible part of
 * each item that shows at least a third of its box (pixels). Both written through temporary files. Dies with one
 * line on any error (ffmpeg missing or failing included). */
void abc_video_render(const abc_scene_pool *pool, const char *const *names, const abc_video_opts *o,
                      const char *video_path, const char *truth_path);

#endif
