/* Register-only xor + popcount + add loop, AVX-512 VPOPCNTDQ: eight
 * independent chains of vpxorq / vpopcntq / vpaddq on zmm registers, the
 * ceiling the convolution kernel is measured against. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vpopcntdq"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512vpopcntdq")
#endif
#include <immintrin.h>
#include "internal.h"

uint64_t bnn_roofline__avx512vpopcnt(uint64_t iterations) {
    __m512i x[8], acc[8];
    const __m512i w = _mm512_set_epi64(0x9e3779b97f4a7c15LL, 0x3c6ef372fe94f82aLL, 0x1f83d9abfb41bd6bLL,
                                       0x5be0cd19137e2179LL, 0x6a09e667f3bcc908LL, 0x510e527fade682d1LL,
                                       0x243f6a8885a308d3LL, 0x13198a2e03707344LL);
    for (int i = 0; i < 8; i++) {
        x[i] = _mm512_set1_epi64(0x0123456789abcdefLL * (i + 1));
        acc[i] = _mm512_setzero_si512();
    }
    for (uint64_t it = 0; it < iterations; it++) {
        for (int i = 0; i < 8; i++) {
            x[i] = _mm512_xor_si512(x[i], w);
            /* keep the chain opaque so the compiler cannot fold the period-2 xor */
            __asm__ volatile("" : "+v"(x[i]));
            acc[i] = _mm512_add_epi64(acc[i], _mm512_popcnt_epi64(x[i]));
        }
    }
    __m512i total = acc[0];
    for (int i = 1; i < 8; i++) total = _mm512_add_epi64(total, acc[i]);
    return (uint64_t)_mm512_reduce_add_epi64(total);
}
#endif
