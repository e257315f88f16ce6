/* Counter-based noise blocks for AVX2: Philox4x32-10 on eight counters per
 * vector, the floating-point transforms auto-vectorized; same arithmetic as
 * the portable build, so the same bits (see noise.h). */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2")
#endif
#include <immintrin.h>
#include "noise.h"

/* lo/hi halves of m * x for every 32-bit lane: vpmuludq multiplies the even
 * lanes, so the odd ones are shifted down first and the halves blended back. */
static inline void mulhilo8(__m256i x, __m256i m, __m256i *lo, __m256i *hi) {
    const __m256i even = _mm256_mul_epu32(x, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

static void philox_tile(uint64_t c0, uint64_t seed, uint32_t w[4][BNN_NOISE_TILE]) {
    uint32_t lo[BNN_NOISE_TILE], hi[BNN_NOISE_TILE];
    bnn_counter_words(c0, lo, hi);
    const __m256i m0 = _mm256_set1_epi32((int)BNN_PHILOX_M0), m1 = _mm256_set1_epi32((int)BNN_PHILOX_M1);
    for (int j = 0; j < BNN_NOISE_TILE; j += 8) {
        __m256i x0 = _mm256_loadu_si256((const __m256i *)(lo + j));
        __m256i x1 = _mm256_loadu_si256((const __m256i *)(hi + j));
        __m256i x2 = _mm256_setzero_si256(), x3 = _mm256_setzero_si256();
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            __m256i lo0, hi0, lo1, hi1;
            mulhilo8(x0, m0, &lo0, &hi0);
            mulhilo8(x2, m1, &lo1, &hi1);
            x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32((int)k0));
            x1 = lo1;
            x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32((int)k1));
            x3 = lo0;
            k0 += BNN_PHILOX_W0;
            k1 += BNN_PHILOX_W1;
        }
        _mm256_storeu_si256((__m256i *)(w[0] + j), x0);
        _mm256_storeu_si256((__m256i *)(w[1] + j), x1);
        _mm256_storeu_si256((__m256i *)(w[2] + j), x2);
        _mm256_storeu_si256((__m256i *)(w[3] + j), x3);
    }
}

BNN_DEFINE_NOISE_BLOCKS(avx2, philox_tile)
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
