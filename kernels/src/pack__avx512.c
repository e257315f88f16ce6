/* Sign packing with AVX-512: 16 floats compared against zero give 16 bits of
 * a mask register; four masks make one 64-bit word. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,popcnt"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2,popcnt")
#endif
#include <immintrin.h>
#include "internal.h"

int bnn_pack_f32__avx512(const float *x, size_t rows, size_t channels, uint64_t *out) {
    const size_t words = (channels + 63) / 64;
    const __m512 zero = _mm512_setzero_ps();
    __mmask16 unordered = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * channels;
        uint64_t *dst = out + r * words;
        for (size_t w = 0; w < words; w++) {
            uint64_t word = 0;
            for (size_t q = 0; q < 4; q++) {
                const size_t c = w * 64 + q * 16;
                if (c >= channels) break;
                const size_t left = channels - c;
                const __mmask16 valid = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
                const __m512 v = _mm512_maskz_loadu_ps(valid, src + c);
                word |= (uint64_t)_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ) << (q * 16);
                unordered |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            }
            dst[w] = word;
        }
    }
    return unordered ? BNN_ENAN : BNN_OK;
}
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
