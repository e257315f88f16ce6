/* Counter-based noise blocks for AVX-512: Philox4x32-10 on sixteen counters per
 * vector, the floating-point transforms auto-vectorized; same arithmetic as
 * the portable build, so the same bits (see noise.h). */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx2")
#endif
#include <immintrin.h>
#include "noise.h"

/* lo/hi halves of m * x for every 32-bit lane: vpmuludq multiplies the even
 * lanes, so the odd ones are shifted down first and the halves blended back. */
static inline void mulhilo16(__m512i x, __m512i m, __m512i *lo, __m512i *hi) {
    const __m512i even = _mm512_mul_epu32(x, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

static void philox_tile(uint64_t c0, uint64_t seed, uint32_t w[4][BNN_NOISE_TILE]) {
    uint32_t lo[BNN_NOISE_TILE], hi[BNN_NOISE_TILE];
    bnn_counter_words(c0, lo, hi);
    const __m512i m0 = _mm512_set1_epi32((int)BNN_PHILOX_M0), m1 = _mm512_set1_epi32((int)BNN_PHILOX_M1);
    for (int j = 0; j < BNN_NOISE_TILE; j += 16) {
        __m512i x0 = _mm512_loadu_si512(lo + j);
        __m512i x1 = _mm512_loadu_si512(hi + j);
        __m512i x2 = _mm512_setzero_si512(), x3 = _mm512_setzero_si512();
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int round = 0; round < 10; round++) {
            __m512i lo0, hi0, lo1, hi1;
            mulhilo16(x0, m0, &lo0, &hi0);
            mulhilo16(x2, m1, &lo1, &hi1);
            x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32((int)k0));
            x1 = lo1;
            x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32((int)k1));
            x3 = lo0;
            k0 += BNN_PHILOX_W0;
            k1 += BNN_PHILOX_W1;
        }
        _mm512_storeu_si512(w[0] + j, x0);
        _mm512_storeu_si512(w[1] + j, x1);
        _mm512_storeu_si512(w[2] + j, x2);
        _mm512_storeu_si512(w[3] + j, x3);
    }
}

BNN_DEFINE_NOISE_BLOCKS(avx512, philox_tile)
#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
