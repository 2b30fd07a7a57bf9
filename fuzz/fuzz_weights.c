/* Fuzz target: a weights file (old and new headers, float and binary layers, a float model's weights as the
 * binary layers' shadow weights, a packed file by its magic) and a checkpoint's training-state trailer, read
 * into a fixed network. */
#include "abc/train_state.h"
#include "abc/netio.h"
#include "fuzz_net.h"
#include "targets.h"

static void init(void) { abc_fuzz_net(); }

static void run(const char *path, const uint8_t *data, size_t size)
{
    (void)data, (void)size;
    network *net = abc_fuzz_net();
    abc_load_weights(net, path, 0, net->n);
    abc_resume_info r;
    abc_train_state_read(path, net, &r);
}

const abc_fuzz_target abc_fuzz_weights = {"weights", "darknet .weights files and checkpoint trailers", init, run};
