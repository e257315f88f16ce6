/* Sign packing with AVX2: compare 8 floats with zero, vmovmskps gives 8 bits. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,popcnt"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,popcnt")
#endif
#include <immintrin.h>
#include "internal.h"

int bnn_pack_f32__avx2(const float *x, size_t rows, size_t channels, uint64_t *out) {
    const size_t words = (channels + 63) / 64, full = channels / 8;
    const __m256 zero = _mm256_setzero_ps();
    int unordered = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * channels;
        uint64_t *dst = out + r * words;
        for (size_t w = 0; w < words; w++) dst[w] = 0;
        for (size_t q = 0; q < full; q++) {
            const __m256 v = _mm256_loadu_ps(src + q * 8);
            const uint64_t bits = (uint64_t)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_LT_OQ));
            unordered |= _mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
            dst[q / 8] |= bits << ((q % 8) * 8);
        }
        for (size_t c = full * 8; c < channels; c++) {
            unordered |= src[c] != src[c];
            dst[c / 64] |= (uint64_t)(src[c] < 0.0f) << (c % 64);
        }
    }
    return unordered ? BNN_ENAN : BNN_OK;
}
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
