/* The direct integer convolutions' output stage in registers (iconv.h): after sum * k, bias or batch norm,
 * (y - mean) * kbn + bias, then linear / relu / leaky: the float operations of kernels/bn.c and act.c's rows,
 * in their order, so that the stores equal the separate pass bit for bit. */
#ifndef ABC_ICONV_STAGE_H
#define ABC_ICONV_STAGE_H

#include <immintrin.h>

#include "iconv.h"

static inline __attribute__((target("avx512f"))) __m512 abc_iconv_stage(int stage, int bn, __m512 y, __m512 mean,
                                                                         __m512 kbn, __m512 bias)
{
    if (stage == ABC_ICONV_STAGE_NONE) return y;
    y = bn ? _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(y, mean), kbn), bias) : _mm512_add_ps(y, bias);
    __mmask16 pos = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ);
    if (stage == ABC_ICONV_STAGE_RELU) return _mm512_maskz_mov_ps(pos, y);
    if (stage == ABC_ICONV_STAGE_LEAKY) return _mm512_mask_mov_ps(_mm512_mul_ps(_mm512_set1_ps(0.1f), y), pos, y);
    return y;
}

#endif
