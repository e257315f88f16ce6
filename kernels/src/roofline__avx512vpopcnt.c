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

/* One round of one chain: x ^= w; acc += popcount(x).  The empty asm keeps x
 * opaque so the compiler cannot fold the period-2 xor sequence. */
#define CHAIN(x, acc)                                                   \
    do {                                                                \
        x = _mm512_xor_si512(x, w);                                     \
        __asm__ volatile("" : "+v"(x));                                 \
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(x));            \
    } while (0)

uint64_t bnn_roofline__avx512vpopcnt(uint64_t iterations) {
    const __m512i w = _mm512_set_epi64(0x9e3779b97f4a7c15LL, 0x3c6ef372fe94f82aLL, 0x1f83d9abfb41bd6bLL,
                                       0x5be0cd19137e2179LL, 0x6a09e667f3bcc908LL, 0x510e527fade682d1LL,
                                       0x243f6a8885a308d3LL, 0x13198a2e03707344LL);
    __m512i x0 = _mm512_set1_epi64(0x0123456789abcdefLL), x1 = _mm512_set1_epi64(0x1123456789abcdefLL),
            x2 = _mm512_set1_epi64(0x2123456789abcdefLL), x3 = _mm512_set1_epi64(0x3123456789abcdefLL),
            x4 = _mm512_set1_epi64(0x4123456789abcdefLL), x5 = _mm512_set1_epi64(0x5123456789abcdefLL),
            x6 = _mm512_set1_epi64(0x6123456789abcdefLL), x7 = _mm512_set1_epi64(0x7123456789abcdefLL);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (uint64_t it = 0; it < iterations; it++) {
        CHAIN(x0, a0); CHAIN(x1, a1); CHAIN(x2, a2); CHAIN(x3, a3);
        CHAIN(x4, a4); CHAIN(x5, a5); CHAIN(x6, a6); CHAIN(x7, a7);
    }
    const __m512i total = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                                           _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
    return (uint64_t)_mm512_reduce_add_epi64(total);
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
