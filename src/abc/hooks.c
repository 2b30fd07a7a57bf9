/* The ONLY place that replaces libdarknet functions. The executable defines
 * these names; libdarknet.so calls them through its PLT (load_network ->
 * parse_network_cfg, save_weights -> save_weights_upto, conv layers -> gemm),
 * so the library's own callers see plugin layers and the project's GEMM
 * (OpenBLAS, or the AVX-512 kernel, split across the pool; see kernels/sgemm.h).
 * This file must not be built with -fvisibility=hidden, LTO or -Bsymbolic. */
#include "hooks.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/darknet_private.h"
#include "base/util.h"
#include "float/float_fast.h"
#include "kernels/sgemm.h"
#include "netio.h"

static abc_hook_counts counts;

abc_hook_counts abc_hooks_counts(void) { return counts; }

network *parse_network_cfg(char *filename)
{
    __atomic_add_fetch(&counts.parse, 1, __ATOMIC_RELAXED);
    return abc_parse_network(filename);
}

void load_weights_upto(network *net, char *filename, int start, int cutoff)
{
    __atomic_add_fetch(&counts.load, 1, __ATOMIC_RELAXED);
    abc_load_weights(net, filename, start, cutoff);
}

void save_weights_upto(network *net, char *filename, int cutoff)
{
    __atomic_add_fetch(&counts.save, 1, __ATOMIC_RELAXED);
    abc_save_weights(net, filename, cutoff);
}

int resize_network(network *net, int w, int h)
{
    __atomic_add_fetch(&counts.resize, 1, __ATOMIC_RELAXED);
    return abc_resize_network(net, w, h);
}

/* darknet: C = ALPHA*op(A)*op(B) + BETA*C, row major, same as cblas. */
void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb,
          float BETA, float *C, int ldc)
{
    __atomic_add_fetch(&counts.gemm, 1, __ATOMIC_RELAXED);
    /* fast mode: split across the project's pool, OpenBLAS single-threaded in each part */
    if (abc_float_fast_enabled()) abc_sgemm_pool(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
    else abc_sgemm_blas(TA, TB, M, N, K, ALPHA, A, lda, B, ldb, BETA, C, ldc);
}

/* A file in memory that libdarknet can open by name. */
static int memfile(const char *name, const char *text, char *path, size_t n)
{
    int fd = memfd_create(name, 0);
    if (fd < 0) return -1;
    size_t len = strlen(text);
    if (text[0] && write(fd, text, len) != (ssize_t)len) { close(fd); return -1; }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

const char *abc_hooks_selftest(void)
{
    static char why[256];
    const char *names[] = {"parse_network_cfg", "load_weights_upto", "save_weights_upto",
                           "resize_network", "gemm"};
    void *ours[] = {(void *)parse_network_cfg, (void *)load_weights_upto,
                    (void *)save_weights_upto, (void *)resize_network, (void *)gemm};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
        if (dlsym(RTLD_DEFAULT, names[i]) != ours[i]) {
            snprintf(why, sizeof why, "hook %s is not the one the process resolves (libdarknet's own "
                     "would run)", names[i]);
            return why;
        }
    }
    char cfgpath[64], wpath[4096];
    int cfd = memfile("abc-selftest.cfg",
                      "[net]\nbatch=1\nwidth=4\nheight=4\nchannels=1\n"
                      "[convolutional]\nfilters=2\nsize=3\npad=1\nactivation=linear\n",
                      cfgpath, sizeof cfgpath);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(wpath, sizeof wpath, "%s/abc-selftest-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int wfd = mkstemp(wpath);
    if (cfd < 0 || wfd < 0) return "cannot create temporary files for the hook self-test";

    abc_hook_counts before = counts;
    int saved_err = dup(2), devnull = open("/dev/null", O_WRONLY);
    fflush(stderr);
    if (devnull >= 0) dup2(devnull, 2); /* the layer summary is noise here */
    network *net = load_network(cfgpath, NULL, 0);
    save_weights(net, wpath);
    load_weights(net, wpath);
    layer conv = net->layers[0];
    network copy = *net;
    copy.input = net->input;
    copy.train = 0;
    forward_convolutional_layer(conv, copy); /* libdarknet's own: calls gemm@plt */
    abc_free_network(net);
    fflush(stderr);
    if (saved_err >= 0) { dup2(saved_err, 2); close(saved_err); }
    if (devnull >= 0) close(devnull);
    close(cfd);
    close(wfd);
    unlink(wpath);

    if (counts.parse == before.parse) return "libdarknet's load_network did not call our parse_network_cfg";
    if (counts.save == before.save) return "libdarknet's save_weights did not call our save_weights_upto";
    if (counts.load == before.load) return "libdarknet's load_weights did not call our load_weights_upto";
    if (counts.gemm == before.gemm) return "libdarknet's convolution did not call our gemm";
    return NULL;
}

void abc_hooks_require_live(void)
{
    const char *why = abc_hooks_selftest();
    if (why)
        abc_die("the libdarknet hooks are not live: %s. ./darknet must be linked with the hooks in "
                "the executable (no -fvisibility=hidden, LTO or -Bsymbolic); rebuild with make",
                why);
}
