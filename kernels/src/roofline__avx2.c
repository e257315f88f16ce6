/* Register-only xor + popcount + add loop, AVX2: four chains of vpxor and a
 * nibble-lookup byte popcount, widened by vpsadbw every 31 rounds, the same
 * instruction mix as the AVX2 convolution kernel. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2")
#endif
#include <immintrin.h>
#include "internal.h"

uint64_t bnn_roofline__avx2(uint64_t iterations) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                           1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i w = _mm256_set_epi64x(0x9e3779b97f4a7c15LL, 0x3c6ef372fe94f82aLL, 0x1f83d9abfb41bd6bLL,
                                        0x5be0cd19137e2179LL);
    __m256i x[4], bytes[4], wide[4];
    for (int i = 0; i < 4; i++) {
        x[i] = _mm256_set1_epi64x(0x0123456789abcdefLL * (i + 1));
        bytes[i] = wide[i] = _mm256_setzero_si256();
    }
    uint64_t it = 0;
    while (it < iterations) {
        const uint64_t round = iterations - it < 31 ? iterations - it : 31;
        for (uint64_t r = 0; r < round; r++) {
            for (int i = 0; i < 4; i++) {
                x[i] = _mm256_xor_si256(x[i], w);
                __asm__ volatile("" : "+x"(x[i]));
                const __m256i lo = _mm256_and_si256(x[i], low4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(x[i], 4), low4);
                bytes[i] = _mm256_add_epi8(bytes[i], _mm256_add_epi8(_mm256_shuffle_epi8(table, lo),
                                                                     _mm256_shuffle_epi8(table, hi)));
            }
        }
        for (int i = 0; i < 4; i++) {
            wide[i] = _mm256_add_epi64(wide[i], _mm256_sad_epu8(bytes[i], _mm256_setzero_si256()));
            bytes[i] = _mm256_setzero_si256();
        }
        it += round;
    }
    uint64_t lanes[4], total = 0;
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_si256((__m256i *)lanes, wide[i]);
        total += lanes[0] + lanes[1] + lanes[2] + lanes[3];
    }
    return total;
}
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
