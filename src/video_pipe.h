/* Video in and out through ffmpeg processes on pipes: ffprobe reads a video's size, rate and length, an ffmpeg
 * decodes it into raw RGB frames on our stdin side, another encodes raw RGB frames from us into a file.
 *
 * Processes rather than libavformat / libavcodec: the same Debian package (ffmpeg) reads every container and
 * codec it knows and v4l2 devices with no code of ours per format; a corrupt stream is ffmpeg's problem in its
 * own address space (its messages are collected and reported, it cannot crash us); decoding and encoding run on
 * their own cores beside the network. The price, one copy of each frame through a pipe (0.5 MB at 416x416), is
 * far below a forward pass. */
#ifndef ABC_VIDEO_PIPE_H
#define ABC_VIDEO_PIPE_H

#include <stdio.h>
#include <sys/types.h>

typedef struct {
    int w, h;
    char rate[32]; /* the frame rate as ffmpeg writes it, "30/1", "30000/1001" */
    double fps;    /* the same as a number (0 when the stream does not say) */
    long frames;   /* frames in the stream, or -1 when unknown (a camera, a stream without a count) */
} abc_video_info;

/* A running ffmpeg with one end of a pipe. */
typedef struct {
    FILE *fp;
    pid_t pid;
    char log[64]; /* a temporary file with ffmpeg's messages */
} abc_video_pipe;

/* What ffprobe says about the first video stream of path (a file, or /dev/videoN). 0, or -1 with one line in err
 * (no such file, not a video, no ffprobe). */
int abc_video_probe(const char *path, abc_video_info *info, char *err, size_t errn);

/* Starts decoding path into frames of info->w x info->h x 3 bytes (RGB, rows packed), one per frame of the
 * stream (no frame dropped or repeated). 0 or -1 (err). */
int abc_video_decode_open(abc_video_pipe *p, const char *path, const abc_video_info *info, char *err, size_t errn);

/* The next frame into rgb (w * h * 3 bytes): 1, or 0 at the end of the stream (or a short last frame). */
int abc_video_read(abc_video_pipe *p, unsigned char *rgb, size_t bytes);

/* The output container of path by its extension: "mp4", "mov", "matroska", "avi", or NULL (not supported). */
const char *abc_video_format_of(const char *path);

/* Starts encoding raw RGB frames of w x h at rate into path (written as is: give it a temporary name), in
 * container format (abc_video_format_of): H.264 (libx264, crf quality, odd sizes padded to even) except in AVI
 * (MPEG-4 part 2). 0 or -1 (err). */
int abc_video_encode_open(abc_video_pipe *p, const char *path, const char *format, int w, int h, const char *rate,
                          int crf, char *err, size_t errn);

/* Writes one frame; 0, or -1 when ffmpeg is gone. */
int abc_video_write(abc_video_pipe *p, const unsigned char *rgb, size_t bytes);

/* Closes the pipe and waits for ffmpeg. Returns 0 when it exited cleanly and said nothing, else -1. *messages
 * (may be NULL) gets how many lines ffmpeg printed (decode errors of a corrupt stream, say), first (may be NULL,
 * firstn bytes) the first of them. */
int abc_video_close(abc_video_pipe *p, int *messages, char *first, size_t firstn);

/* Stops ffmpeg without waiting for the rest of the stream (a decoder we no longer read), then as close. */
void abc_video_kill(abc_video_pipe *p);

#endif
