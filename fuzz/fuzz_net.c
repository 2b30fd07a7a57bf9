#include "fuzz_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "abc/netio.h"

/* %s: the binary sections and their keys, or plain convolutions for the float twin */
static const char cfg_text[] =
    "[net]\nbatch=1\nwidth=8\nheight=8\nchannels=3\n"
    "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
    "[%s]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n%s"
    "[%s]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n%s"
    "[maxpool]\nsize=2\nstride=2\n"
    "[batchnorm]\n"
    "[convolutional]\nfilters=4\nsize=1\nstride=1\npad=0\nactivation=linear\n"
    "[connected]\noutput=5\nactivation=linear\n"
    "[softmax]\n";

static network *make(int binary)
{
    char path[] = "/tmp/abc-fuzz-net-XXXXXX";
    int fd = mkstemp(path);
    FILE *fp = fd < 0 ? NULL : fdopen(fd, "w");
    if (!fp || fprintf(fp, cfg_text, binary ? "abc_convolutional" : "convolutional",
                       binary ? "weight_bases=3\nactivation_bases=3\n" : "",
                       binary ? "hada_convolutional" : "convolutional",
                       binary ? "weight_segment=4\nactivation_segment=2\n" : "") < 0 ||
        fclose(fp)) {
        perror("fuzz: writing the network's cfg");
        abort();
    }
    network *net = abc_parse_network(path);
    unlink(path);
    return net;
}

network *abc_fuzz_net(void)
{
    static network *net;
    if (!net) net = make(1);
    return net;
}

network *abc_fuzz_net_float_twin(void) { return make(0); }
