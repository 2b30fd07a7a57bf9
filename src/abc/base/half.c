#include "half.h"

#include <math.h>
#include <string.h>

uint16_t abc_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, mag = x & 0x7fffffff;
    if (mag > 0x7f800000) return (uint16_t)(sign | 0x7e00 | ((mag >> 13) & 0x3ff)); /* NaN stays NaN */
    if (mag >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* 65520 and above round to infinity */
    if (mag < 0x38800000) { /* below 2^-14: a float16 subnormal, m * 2^-24 */
        float a;
        memcpy(&a, &mag, 4);
        return (uint16_t)(sign | (uint32_t)rintf(a * 16777216.0f)); /* exact scaling, then ties to even */
    }
    uint32_t r = mag - 0x38000000, h = r >> 13, rest = r & 0x1fff; /* exponent rebiased from 127 to 15 */
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) ++h;
    return (uint16_t)(sign | h);
}

float abc_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    float f;
    if (e == 0) {
        f = (float)m / 16777216.0f;
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (e == 31) {
        x = sign | 0x7f800000 | (m << 13);
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    memcpy(&f, &x, 4);
    return f;
}
