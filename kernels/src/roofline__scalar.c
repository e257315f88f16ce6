/* Register-only xor + popcount + add loop with the portable popcount: the
 * throughput ceiling of the scalar reference path. */
#include "internal.h"

uint64_t bnn_roofline__scalar(uint64_t iterations) {
    uint64_t x0 = 0x0123456789abcdefULL, x1 = 0xfedcba9876543210ULL, x2 = 0x0f0f0f0f33333333ULL,
             x3 = 0x5555aaaa5555aaaaULL;
    const uint64_t w0 = 0x9e3779b97f4a7c15ULL, w1 = 0xbf58476d1ce4e5b9ULL, w2 = 0x94d049bb133111ebULL,
                   w3 = 0x2545f4914f6cdd1dULL;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (uint64_t i = 0; i < iterations; i++) {
        x0 ^= w0; x1 ^= w1; x2 ^= w2; x3 ^= w3;
        a0 += (uint64_t)bnn_popcount64(x0);
        a1 += (uint64_t)bnn_popcount64(x1);
        a2 += (uint64_t)bnn_popcount64(x2);
        a3 += (uint64_t)bnn_popcount64(x3);
    }
    return a0 + a1 + a2 + a3;
}
