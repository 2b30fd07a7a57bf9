/* The network the weights and packed-file targets load into: float, ABC and HadaNet convolutions with and
 * without batch norm, [batchnorm], [connected], so that every record kind is read. */
#ifndef ABC_FUZZ_NET_H
#define ABC_FUZZ_NET_H

#include "darknet.h"

network *abc_fuzz_net(void);
/* The same topology with float convolutions: its weights file is a float model the binary net fine-tunes from. */
network *abc_fuzz_net_float_twin(void);

#endif
