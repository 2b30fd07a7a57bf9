#include "video_pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abc/base/util.h"


/* A temporary file for a child's messages (p->log); its descriptor, or -1. */
static int open_log(abc_video_pipe *p)
{
    const char *dir = getenv("TMPDIR");
    snprintf(p->log, sizeof p->log, "%s/abc-ffmpeg-XXXXXX", dir && *dir && strlen(dir) < 40 ? dir : "/tmp");
    return mkstemp(p->log);
}

/* Runs argv with its stdin or stdout (to_child: stdin) on a pipe whose other end becomes p->fp, stderr to the
 * log. */
static int spawn(abc_video_pipe *p, char *const argv[], int to_child, char *err, size_t errn)
{
    memset(p, 0, sizeof *p);
    int fds[2], log = open_log(p);
    if (log < 0) return abc_err(err, errn, "cannot create a temporary file for %s's messages: %s", argv[0], strerror(errno));
    if (pipe(fds)) {
        close(log);
        unlink(p->log);
        return abc_err(err, errn, "cannot create a pipe for %s: %s", argv[0], strerror(errno));
    }
    fflush(NULL);
    p->pid = fork();
    if (p->pid < 0) {
        close(log), close(fds[0]), close(fds[1]);
        unlink(p->log);
        return abc_err(err, errn, "cannot start %s: %s", argv[0], strerror(errno));
    }
    if (p->pid == 0) {
        dup2(to_child ? fds[0] : fds[1], to_child ? 0 : 1);
        dup2(log, 2);
        close(fds[0]), close(fds[1]), close(log);
        if (!to_child) {
            int null = open("/dev/null", O_RDONLY);
            if (null >= 0) dup2(null, 0);
        }
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s (install it: make deps)\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(log);
    close(to_child ? fds[0] : fds[1]);
    int mine = to_child ? fds[1] : fds[0];
    fcntl(mine, F_SETFD, FD_CLOEXEC); /* the next child must not hold our end open */
    p->fp = fdopen(mine, to_child ? "wb" : "rb");
    if (!p->fp) {
        close(mine);
        abc_video_kill(p);
        return abc_err(err, errn, "cannot open the pipe to %s", argv[0]);
    }
    return 0;
}

/* The log's lines: how many, and the first. */
static int read_log(const char *path, char *first, size_t firstn)
{
    if (first && firstn) first[0] = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) return 0;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, fp)) {
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (!len) continue;
        if (!n && first && firstn) snprintf(first, firstn, "%s", line);
        ++n;
    }
    fclose(fp);
    return n;
}

int abc_video_close(abc_video_pipe *p, int *messages, char *first, size_t firstn)
{
    if (!p->pid) return -1;
    int bad = p->fp ? fclose(p->fp) != 0 : 0, st = 0;
    p->fp = NULL;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR) {}
    p->pid = 0;
    int n = read_log(p->log, first, firstn);
    unlink(p->log);
    if (messages) *messages = n;
    return bad || n || !WIFEXITED(st) || WEXITSTATUS(st) ? -1 : 0;
}

void abc_video_kill(abc_video_pipe *p)
{
    if (p->pid > 0) kill(p->pid, SIGTERM);
    abc_video_close(p, NULL, NULL, 0);
}

/* "30000/1001" -> 29.97; 0 for "0/0" or garbage. */
static double parse_rate(const char *s)
{
    char *end;
    double num = strtod(s, &end), den = 1;
    if (end == s) return 0;
    if (*end == '/') den = strtod(end + 1, NULL);
    return num > 0 && den > 0 ? num / den : 0;
}

static int is_device(const char *path) { return !strncmp(path, "/dev/video", 10); }

int abc_video_probe(const char *path, abc_video_info *info, char *err, size_t errn)
{
    memset(info, 0, sizeof *info);
    if (!is_device(path) && access(path, R_OK)) return abc_err(err, errn, "cannot open video '%s': %s", path, strerror(errno));
    char *argv[16];
    int n = 0;
    argv[n++] = "ffprobe", argv[n++] = "-v", argv[n++] = "error", argv[n++] = "-select_streams", argv[n++] = "v:0";
    argv[n++] = "-show_entries", argv[n++] = "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames:format=duration";
    argv[n++] = "-of", argv[n++] = "default=noprint_wrappers=1";
    if (is_device(path)) argv[n++] = "-f", argv[n++] = "v4l2";
    argv[n++] = (char *)path;
    argv[n] = NULL;
    abc_video_pipe p;
    if (spawn(&p, argv, 0, err, errn)) return -1;
    char line[256], avg[32] = "", real[32] = "";
    double duration = 0;
    info->frames = -1;
    while (fgets(line, sizeof line, p.fp)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq++ = 0;
        if (!strcmp(line, "width")) info->w = atoi(eq);
        else if (!strcmp(line, "height")) info->h = atoi(eq);
        else if (!strcmp(line, "avg_frame_rate")) snprintf(avg, sizeof avg, "%s", eq);
        else if (!strcmp(line, "r_frame_rate")) snprintf(real, sizeof real, "%s", eq);
        else if (!strcmp(line, "nb_frames") && atol(eq) > 0) info->frames = atol(eq);
        else if (!strcmp(line, "duration")) duration = strtod(eq, NULL);
    }
    char first[300];
    int messages = 0, st = abc_video_close(&p, &messages, first, sizeof first);
    if (info->w <= 0 || info->h <= 0)
        return abc_err(err, errn, "'%s' is not a video ffmpeg can read%s%s", path, messages ? ": " : "",
                    messages ? first : (st ? " (ffprobe failed)" : " (no video stream)"));
    if (info->w > 16384 || info->h > 16384) return abc_err(err, errn, "video '%s': %dx%d is too large", path, info->w, info->h);
    const char *rate = parse_rate(avg) > 0 ? avg : parse_rate(real) > 0 ? real : "25/1";
    snprintf(info->rate, sizeof info->rate, "%s", rate);
    info->fps = parse_rate(rate);
    if (info->frames < 0 && duration > 0 && !is_device(path)) info->frames = (long)(duration * info->fps + 0.5);
    return 0;
}

int abc_video_decode_open(abc_video_pipe *p, const char *path, const abc_video_info *info, char *err, size_t errn)
{
    char size[32];
    snprintf(size, sizeof size, "%dx%d", info->w, info->h);
    char *argv[24];
    int n = 0;
    argv[n++] = "ffmpeg", argv[n++] = "-loglevel", argv[n++] = "error", argv[n++] = "-nostdin";
    if (is_device(path)) argv[n++] = "-f", argv[n++] = "v4l2";
    argv[n++] = "-i", argv[n++] = (char *)path, argv[n++] = "-map", argv[n++] = "0:v:0";
    argv[n++] = "-fps_mode", argv[n++] = "passthrough", argv[n++] = "-s", argv[n++] = size;
    argv[n++] = "-f", argv[n++] = "rawvideo", argv[n++] = "-pix_fmt", argv[n++] = "rgb24", argv[n++] = "pipe:1";
    argv[n] = NULL;
    return spawn(p, argv, 0, err, errn);
}

int abc_video_read(abc_video_pipe *p, unsigned char *rgb, size_t bytes)
{
    return fread(rgb, 1, bytes, p->fp) == bytes;
}

const char *abc_video_format_of(const char *path)
{
    static const char *const table[][2] = {{".mp4", "mp4"}, {".m4v", "mp4"}, {".mov", "mov"},
                                           {".mkv", "matroska"}, {".avi", "avi"}};
    size_t len = strlen(path);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; ++i) {
        size_t e = strlen(table[i][0]);
        if (len > e && !strcasecmp(path + len - e, table[i][0])) return table[i][1];
    }
    return NULL;
}

int abc_video_encode_open(abc_video_pipe *p, const char *path, const char *format, int w, int h, const char *rate,
                          int crf, char *err, size_t errn)
{
    char size[32], q[16];
    snprintf(size, sizeof size, "%dx%d", w, h);
    snprintf(q, sizeof q, "%d", crf);
    int avi = !strcmp(format, "avi");
    char *argv[40];
    int n = 0;
    argv[n++] = "ffmpeg", argv[n++] = "-loglevel", argv[n++] = "error", argv[n++] = "-nostdin", argv[n++] = "-y";
    argv[n++] = "-f", argv[n++] = "rawvideo", argv[n++] = "-pix_fmt", argv[n++] = "rgb24", argv[n++] = "-s";
    argv[n++] = size, argv[n++] = "-r", argv[n++] = (char *)rate, argv[n++] = "-i", argv[n++] = "pipe:0";
    argv[n++] = "-vf", argv[n++] = "pad=ceil(iw/2)*2:ceil(ih/2)*2"; /* 4:2:0 needs even sides */
    if (avi) argv[n++] = "-c:v", argv[n++] = "mpeg4", argv[n++] = "-q:v", argv[n++] = "3";
    else argv[n++] = "-c:v", argv[n++] = "libx264", argv[n++] = "-preset", argv[n++] = "ultrafast", argv[n++] = "-crf", argv[n++] = q;
    argv[n++] = "-pix_fmt", argv[n++] = "yuv420p", argv[n++] = "-f", argv[n++] = (char *)format;
    argv[n++] = (char *)path;
    argv[n] = NULL;
    return spawn(p, argv, 1, err, errn);
}

int abc_video_write(abc_video_pipe *p, const unsigned char *rgb, size_t bytes)
{
    return fwrite(rgb, 1, bytes, p->fp) == bytes ? 0 : -1;
}
