/* IEEE float16 in software (round to nearest even, as a _Float16 cast), so that packed files with float16
 * records are written and read by every compiler's build (clang 14 has no _Float16 on x86). */
#ifndef ABC_HALF_H
#define ABC_HALF_H

#include <stdint.h>

uint16_t abc_f32_to_f16(float f);
float abc_f16_to_f32(uint16_t h);

#endif
