/* Fuzz target: a cfg through the project's parser, network built (within a small memory budget, so that an
 * accepted cfg is cheap to build and an estimate that falls short shows as an allocation past the fuzzer's
 * limit); an accepted network's weights are then written and must read back. */
#include <stdio.h>
#include <unistd.h>

#include "abc/mem_estimate.h"
#include "abc/netio.h"
#include "targets.h"

static char weights[64];

static void init(void)
{
    abc_memory_budget_cap(4e6);
    snprintf(weights, sizeof weights, "%s/abc-fuzz-%d.weights", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm",
             (int)getpid());
}

static void run(const char *path, const uint8_t *data, size_t size)
{
    (void)data, (void)size;
    network *net = abc_parse_network(path);
    abc_fuzz_require(net->n > 0 && net->outputs > 0, "a network without outputs");
    abc_fuzz_no_error_from_here("writing and reading back an accepted network's weights");
    abc_save_weights(net, weights, net->n);
    abc_load_weights(net, weights, 0, net->n);
    unlink(weights);
    abc_free_network(net);
}

const abc_fuzz_target abc_fuzz_cfg = {"cfg", "cfg files (parser, checks, layer construction, weights round trip)", init,
                                      run};
