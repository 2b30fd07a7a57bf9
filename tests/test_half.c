/* The software float16 conversion against the compiler's _Float16 (round to nearest even): every float16 value
 * both ways, and a sweep of float32 values with the ties, the subnormal border and the overflow border. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/half.h"
#include "test_util.h"

static uint16_t hw_to_half(float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

static int same_half(uint16_t a, uint16_t b)
{
    int nan_a = (a & 0x7c00) == 0x7c00 && (a & 0x3ff), nan_b = (b & 0x7c00) == 0x7c00 && (b & 0x3ff);
    return nan_a || nan_b ? nan_a == nan_b : a == b;
}

START_TEST(every_half_to_float_and_back)
{
    for (uint32_t u = 0; u < 65536; ++u) {
        _Float16 h;
        uint16_t v = (uint16_t)u;
        memcpy(&h, &v, 2);
        float want = (float)h, got = abc_f16_to_f32(v);
        if (isnan(want)) {
            ck_assert_msg(isnan(got), "half %04x", u);
            continue;
        }
        ck_assert_msg(memcmp(&want, &got, 4) == 0, "half %04x: %a, want %a", u, got, want);
        ck_assert_msg(abc_f32_to_f16(got) == v, "half %04x does not come back", u);
    }
}
END_TEST

START_TEST(floats_round_as_float16_casts_do)
{
    uint64_t checked = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 4093) { /* a prime stride: every exponent, varied mantissas */
        uint32_t x = (uint32_t)u;
        float f;
        memcpy(&f, &x, 4);
        ck_assert_msg(same_half(abc_f32_to_f16(f), hw_to_half(f)), "float %08x", x);
        ++checked;
    }
    /* halfway between neighbouring halves (ties), and just either side, over every half */
    for (uint32_t u = 0; u < 0x7c00; ++u) {
        float lo = abc_f16_to_f32((uint16_t)u), hi = abc_f16_to_f32((uint16_t)(u + 1));
        float mid = (float)(((double)lo + hi) / 2);
        float probes[] = {mid, nextafterf(mid, 0), nextafterf(mid, INFINITY), -mid};
        for (int k = 0; k < 4; ++k)
            ck_assert_msg(abc_f32_to_f16(probes[k]) == hw_to_half(probes[k]), "between halves %04x and %04x (%a)", u,
                          u + 1, probes[k]);
    }
    float borders[] = {65504, 65519.99f, 65520, 65536, 1e30f, 6.1035156e-05f, 6.1e-05f, 5.96e-08f, 2.98e-08f,
                       2.99e-08f, 1e-45f, 0, -0.0f};
    for (size_t k = 0; k < sizeof borders / sizeof *borders; ++k)
        ck_assert_msg(abc_f32_to_f16(borders[k]) == hw_to_half(borders[k]), "%a", borders[k]);
    ck_assert(checked > 1000000);
}
END_TEST

static Suite *suite_half(void)
{
    Suite *s = suite_create("half");
    TCase *tc = tcase_create("convert");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_half_to_float_and_back);
    tcase_add_test(tc, floats_round_as_float16_casts_do);
    suite_add_tcase(s, tc);
    return s;
}
ABC_TEST_SUITE(suite_half)
