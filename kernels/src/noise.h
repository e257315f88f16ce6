/* Counter-based random noise for PBNet training: elementwise inline
 * functions every ISA file compiles under its own target flags.
 *
 * Value i of a stream with seed s is a pure function of (s, i): it is made
 * from word i mod 4 (logistic) or words 0-1 / 2-3 (normal) of Philox4x32-10
 * (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2,
 * 3", SC 2011) of the counter (lo32(c), hi32(c), 0, 0), c = i / 4, under the
 * key (lo32(s), hi32(s)).  So results do not depend on the thread count,
 * on how a tensor is split into blocks, or on the ISA path: the code below
 * uses only correctly rounded IEEE operations (+ - * / sqrt), exact
 * conversions and bit casts, in a fixed order, built with -ffp-contract=off,
 * so vector and scalar builds round identically.
 *
 * Standard normal: Box-Muller (Box & Muller 1958): words 0-1 of a counter give
 * u1 = (k1 + 1) 2^-24 in (0, 1] and u2 = k2 2^-24 in [0, 1) from their top 24
 * bits, and values 4c, 4c + 1 are sqrt(-2 ln u1) times cos and sin of 2 pi u2
 * (two independent normals); words 2-3 give values 4c + 2, 4c + 3 alike.  The
 * largest |n| is sqrt(48 ln 2) = 5.77 (P(|N| > 5.77) = 8e-9 for a true
 * normal).  Logistic: L = ln u - ln(1 - u) with u = (2k + 1) 2^-24, k the top
 * 23 bits of a word, so u and 1 - u are both exact and the distribution is
 * exactly symmetric; |L| <= ln(2^24 - 1) = 16.6.
 *
 * ln, exp, sin and cos are polynomial approximations on reduced ranges,
 * branch-free so that compilers vectorize them: the single-precision Cephes
 * ones (Moshier, "Methods and Programs for Mathematical Functions", 1989:
 * logf, expf, sinf, cosf), within about one unit in the last place on the
 * ranges used here (tested against libm).  The PBNet-S activation below adds
 * an erfc form for the normal CDF.
 *
 * Values are made a tile of BNN_NOISE_TILE counters at a time: the Philox
 * words of a tile (per ISA: intrinsics on x86, portable C elsewhere), then
 * the floating-point transforms, which compilers vectorize. */
#ifndef BNN_NOISE_H
#define BNN_NOISE_H
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"

#define BNN_PHILOX_M0 0xD2511F53u
#define BNN_PHILOX_M1 0xCD9E8D57u
#define BNN_PHILOX_W0 0x9E3779B9u
#define BNN_PHILOX_W1 0xBB67AE85u

/* One Philox4x32 round on counter c under key (k0, k1). */
BNN_INLINE void bnn_philox_round(uint32_t c[4], uint32_t k0, uint32_t k1) {
    const uint64_t p0 = (uint64_t)BNN_PHILOX_M0 * c[0];
    const uint64_t p1 = (uint64_t)BNN_PHILOX_M1 * c[2];
    const uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    const uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c[0] = hi1 ^ c[1] ^ k0;
    c[1] = lo1;
    c[2] = hi0 ^ c[3] ^ k1;
    c[3] = lo0;
}

/* Philox4x32-10 of counter c (four words, in place) under key (k0, k1): ten
 * rounds, the key bumped by the Weyl constants between rounds.  Written out
 * rather than looped so that every compiler sees straight-line code to
 * vectorize across counters. */
BNN_INLINE void bnn_philox4x32_10_inline(uint32_t c[4], uint32_t k0, uint32_t k1) {
#define BNN_PHILOX_ROUND(r) bnn_philox_round(c, k0 + (r) * BNN_PHILOX_W0, k1 + (r) * BNN_PHILOX_W1)
    BNN_PHILOX_ROUND(0u); BNN_PHILOX_ROUND(1u); BNN_PHILOX_ROUND(2u); BNN_PHILOX_ROUND(3u); BNN_PHILOX_ROUND(4u);
    BNN_PHILOX_ROUND(5u); BNN_PHILOX_ROUND(6u); BNN_PHILOX_ROUND(7u); BNN_PHILOX_ROUND(8u); BNN_PHILOX_ROUND(9u);
#undef BNN_PHILOX_ROUND
}

static inline float bnn_bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint32_t bnn_float_to_bits(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* a where take_a is 1, b where it is 0: a bit blend rather than a ternary,
 * which compilers do not if-convert (so do not vectorize) for floats. */
static inline float bnn_select(int32_t take_a, float a, float b) {
    const uint32_t mask = 0u - (uint32_t)take_a;
    return bnn_bits_to_float((bnn_float_to_bits(a) & mask) | (bnn_float_to_bits(b) & ~mask));
}

/* Natural logarithm of a positive normal float x: x = m 2^e with m in
 * [sqrt(1/2), sqrt(2)), ln x = e ln 2 + ln(1 + f), f = m - 1, ln 2 split in
 * two parts so that e ln 2 adds no rounding error (Cephes logf). */
BNN_INLINE float bnn_log_positive(float x) {
    const uint32_t bits = bnn_float_to_bits(x);
    int32_t e = (int32_t)(bits >> 23) - 126; /* x = m 2^e, m in [0.5, 1) */
    const float m = bnn_bits_to_float((bits & 0x007FFFFFu) | 0x3F000000u);
    const int32_t below = m < 0.707106781186547524f; /* then use 2m in [1, sqrt 2) and e - 1 */
    e -= below;
    const float f = m * (float)(1 + below) - 1.0f;
    const float z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    const float fe = (float)e;
    y = y + -2.12194440e-4f * fe;
    y = y - 0.5f * z;
    return (f + y) + 0.693359375f * fe;
}

/* e^x for x in [-87.3, 0], x clamped to that range first (a NaN becomes
 * -87.3, so the float-to-int conversion below is always defined): x = n ln 2
 * + r with n the nearest integer to x / ln 2 and |r| <= ln 2 / 2 (ln 2 in two
 * parts, so r is exact), e^r by the Cephes expf polynomial, 2^n put in the
 * exponent bits (n >= -126: a normal float). */
BNN_INLINE float bnn_exp(float x) {
    x = bnn_select(x > -87.3f, x, -87.3f);
    x = bnn_select(x < 0.0f, x, 0.0f);
    const int32_t n = (int32_t)(x * 1.44269504088896341f - 0.5f); /* truncation toward 0: the nearest integer */
    const float fn = (float)n;
    const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
    const float z = r * r;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * z + r + 1.0f;
    return y * bnn_bits_to_float((uint32_t)(n + 127) << 23);
}

/* cos(2 pi t) and sin(2 pi t) for t in [0, 1) a multiple of 2^-24: t = r +
 * q/4 with q the nearest quarter, so r in [-1/8, 1/8] is exact, and the
 * results are +-cos or +-sin of x = 2 pi r in [-pi/4, pi/4] (Cephes sinf/cosf
 * polynomials).  Signs and the swap are bit operations, free of branches. */
BNN_INLINE void bnn_sincos_2pi(float t, float *sine, float *cosine) {
    const int32_t q = (int32_t)(4.0f * t + 0.5f);
    const float x = (t - 0.25f * (float)q) * 6.28318530717958648f;
    const float z = x * x;
    const float c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
                    0.5f * z + 1.0f;
    const float s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * x + x;
    /* cos(x + q pi/2) = cos x, -sin x, -cos x, sin x; sin(x + q pi/2) = sin x, cos x, -sin x, -cos x */
    const uint32_t odd = 0u - (uint32_t)(q & 1);
    const uint32_t cb = bnn_float_to_bits(c), sb = bnn_float_to_bits(s);
    const uint32_t cos_sign = (uint32_t)((q + 1) & 2) << 30, sin_sign = (uint32_t)(q & 2) << 30;
    *cosine = bnn_bits_to_float(((sb & odd) | (cb & ~odd)) ^ cos_sign);
    *sine = bnn_bits_to_float(((cb & odd) | (sb & ~odd)) ^ sin_sign);
}

/* Counters per tile: values of 4 * BNN_NOISE_TILE consecutive indices. */
#define BNN_NOISE_TILE 64

/* Philox words of counters c0 .. c0 + BNN_NOISE_TILE - 1 under seed: w[m][j] is word m of counter c0 + j. */
typedef void (*bnn_philox_tile_fn)(uint64_t c0, uint64_t seed, uint32_t w[4][BNN_NOISE_TILE]);

/* The portable tile: one counter after another. */
BNN_INLINE void bnn_philox_tile_portable(uint64_t c0, uint64_t seed, uint32_t w[4][BNN_NOISE_TILE]) {
    for (int j = 0; j < BNN_NOISE_TILE; j++) {
        const uint64_t counter = c0 + (uint64_t)j;
        uint32_t c[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0u, 0u};
        bnn_philox4x32_10_inline(c, (uint32_t)seed, (uint32_t)(seed >> 32));
        for (int m = 0; m < 4; m++) w[m][j] = c[m];
    }
}

/* Counter words c0 + j split into their low and high halves (the tile's starting counter words). */
BNN_INLINE void bnn_counter_words(uint64_t c0, uint32_t lo[BNN_NOISE_TILE], uint32_t hi[BNN_NOISE_TILE]) {
    for (int j = 0; j < BNN_NOISE_TILE; j++) {
        const uint64_t counter = c0 + (uint64_t)j;
        lo[j] = (uint32_t)counter;
        hi[j] = (uint32_t)(counter >> 32);
    }
}

#define BNN_UNIT_24 5.9604644775390625e-8f /* 2^-24 */

/* The 4 * BNN_NOISE_TILE standard normals of a tile's words, in value order. */
BNN_INLINE void bnn_normal_tile(const uint32_t w[4][BNN_NOISE_TILE], float out[4 * BNN_NOISE_TILE]) {
    float n[4][BNN_NOISE_TILE];
    for (int pair = 0; pair < 2; pair++) {
        const uint32_t *first = w[2 * pair], *second = w[2 * pair + 1];
        float *cos_out = n[2 * pair], *sin_out = n[2 * pair + 1];
        for (int j = 0; j < BNN_NOISE_TILE; j++) {
            const float u1 = (float)(int32_t)((first[j] >> 8) + 1u) * BNN_UNIT_24; /* (0, 1] */
            const float u2 = (float)(int32_t)(second[j] >> 8) * BNN_UNIT_24;       /* [0, 1) */
            const float radius = sqrtf(-2.0f * bnn_log_positive(u1)); /* ln u1 <= 0: tested for every u1 */
            float s, c;
            bnn_sincos_2pi(u2, &s, &c);
            cos_out[j] = radius * c;
            sin_out[j] = radius * s;
        }
    }
    for (int j = 0; j < BNN_NOISE_TILE; j++)
        for (int m = 0; m < 4; m++) out[4 * j + m] = n[m][j];
}

/* The 4 * BNN_NOISE_TILE standard logistic values of a tile's words, in value order. */
BNN_INLINE void bnn_logistic_tile(const uint32_t w[4][BNN_NOISE_TILE], float out[4 * BNN_NOISE_TILE]) {
    float l[4][BNN_NOISE_TILE];
    for (int m = 0; m < 4; m++) {
        for (int j = 0; j < BNN_NOISE_TILE; j++) {
            const float u = (float)(int32_t)(((w[m][j] >> 9) << 1) | 1u) * BNN_UNIT_24; /* odd multiple of 2^-24 */
            l[m][j] = bnn_log_positive(u) - bnn_log_positive(1.0f - u);
        }
    }
    for (int j = 0; j < BNN_NOISE_TILE; j++)
        for (int m = 0; m < 4; m++) out[4 * j + m] = l[m][j];
}

/* A PBNet-S sampled binary activation and its Binary-Concrete gradient
 * (bnnbench.nn.pbnet._SampledSign): q = Phi(z), z = mean / sqrt(var + 1e-8)
 * clamped to +-8; noisy = logit q + L (L standard logistic); sign = +1 where
 * noisy >= 0, else -1 (a Bernoulli(q) draw); with s = sigmoid(noisy / tau),
 * dz = (2 / tau) s (1 - s) phi(z) / (Phi(z) Phi(-z)) (0 where z was clamped),
 * d_mean = dz / sigma, d_var = -d_mean z / (2 sigma^2).
 *
 * Phi comes from erfc(a), a = |z| / sqrt 2, in the form of Numerical Recipes'
 * erfcc (Press et al., "Numerical Recipes in C", 2nd ed., section 6.2):
 * erfc(a) = t exp(-a^2 + c(t)), t = 1 / (1 + a / 2), c a degree-9 polynomial,
 * relative error below 1.2e-7 for every a >= 0.  Working with ln erfc(a)
 * keeps both tails accurate, and phi(z) / erfc(a) = 1 / (sqrt(2 pi) t e^c)
 * needs no exp(-a^2) at all.  s (1 - s) = e / (1 + e)^2 with e = exp(-|noisy|
 * / tau), at least e^-87.3 (bnn_exp), where the gradient is 0 to float
 * precision.  A NaN input gives sign -1 and zero derivatives, as in torch. */
BNN_INLINE void bnn_sampled_sign_at(float mean, float var, float logistic, float temperature, float *sign,
                                    float *d_mean, float *d_var) {
    const float inv_sigma = 1.0f / sqrtf(var + 1e-8f);
    const float z = mean * inv_sigma;
    const float clamped = bnn_select(z < -8.0f, -8.0f, bnn_select(z > 8.0f, 8.0f, z));
    const int32_t negative = clamped < 0.0f;
    const float a = bnn_select(negative, -clamped, clamped) * 0.707106781186547524f;
    const float t = 1.0f / (1.0f + 0.5f * a);
    float c = 0.17087277f;
    c = c * t - 0.82215223f;
    c = c * t + 1.48851587f;
    c = c * t - 1.13520398f;
    c = c * t + 0.27886807f;
    c = c * t - 0.18628806f;
    c = c * t + 0.09678418f;
    c = c * t + 0.37409196f;
    c = c * t + 1.00002368f;
    c = c * t - 1.26551223f;
    const float log_tail = bnn_log_positive(t) - a * a + c; /* ln erfc(a) = ln 2 Phi(-|z|) */
    const float tail = bnn_exp(log_tail);                  /* 2 Phi(-|z|), in (0, 1] */
    const float logit_abs = bnn_log_positive(2.0f - tail) - log_tail; /* logit Phi(|z|) >= 0 */
    const float noisy = bnn_select(negative, -logit_abs, logit_abs) + logistic;
    *sign = bnn_select(noisy >= 0.0f, 1.0f, -1.0f);
    const float w = noisy / temperature;
    const float e = bnn_exp(bnn_select(w < 0.0f, w, -w)); /* exp(-|w|) */
    const float slope = e / ((1.0f + e) * (1.0f + e));
    /* phi(z) / (Phi(z) Phi(-z)) = 4 phi(z) / (erfc(a) (2 - erfc(a))) */
    const float ratio = 4.0f / (2.50662827463100050f * t * bnn_exp(c) * (2.0f - tail));
    const float dz = bnn_select(clamped == z, (2.0f / temperature) * slope * ratio, 0.0f);
    *d_mean = dz * inv_sigma;
    *d_var = *d_mean * z * inv_sigma * -0.5f;
}

/* Visit the values first .. first + count - 1 tile by tile: TILE(w, values)
 * fills `values` (4 * BNN_NOISE_TILE floats) from the words, then the body
 * (the remaining arguments) runs with values[skip + j] being value first +
 * done + j, for j < take. */
#define BNN_FOR_NOISE_TILES(philox_tile, TILE, ...)                                            \
    do {                                                                                        \
        uint32_t words_[4][BNN_NOISE_TILE];                                                     \
        float values[4 * BNN_NOISE_TILE];                                                       \
        size_t done = 0;                                                                        \
        while (done < count) {                                                                  \
            const uint64_t index_ = first + done, c0_ = index_ / 4u;                            \
            const size_t skip = (size_t)(index_ - 4u * c0_);                                    \
            const size_t room_ = 4u * BNN_NOISE_TILE - skip;                                    \
            const size_t take = count - done < room_ ? count - done : room_;                    \
            philox_tile(c0_, seed, words_);                                                     \
            TILE(words_, values);                                                               \
            __VA_ARGS__;                                                                        \
            done += take;                                                                       \
        }                                                                                       \
    } while (0)

/* The per-ISA block functions (see bnn_noise_fns in internal.h), given the ISA's Philox tile. */
#define BNN_DEFINE_NOISE_BLOCKS(suffix, philox_tile)                                                          \
    void bnn_normal_block__##suffix(float *out, uint64_t first, size_t count, uint64_t seed) {               \
        BNN_FOR_NOISE_TILES(philox_tile, bnn_normal_tile,                                                     \
                            memcpy(out + done, values + skip, take * sizeof(float)));                        \
    }                                                                                                         \
    void bnn_logistic_block__##suffix(float *out, uint64_t first, size_t count, uint64_t seed) {             \
        BNN_FOR_NOISE_TILES(philox_tile, bnn_logistic_tile,                                                   \
                            memcpy(out + done, values + skip, take * sizeof(float)));                        \
    }                                                                                                         \
    void bnn_noisy_score_block__##suffix(const float *mean, const float *var, float *out, uint64_t first,     \
                                         size_t count, uint64_t seed) {                                      \
        BNN_FOR_NOISE_TILES(philox_tile, bnn_normal_tile, {                                                   \
            const float *m_ = mean + done, *v_ = var + done, *n_ = values + skip;                             \
            float *o_ = out + done;                                                                           \
            for (size_t j = 0; j < take; j++) o_[j] = m_[j] + sqrtf(v_[j]) * n_[j];                           \
        });                                                                                                   \
    }                                                                                                         \
    void bnn_sampled_sign_block__##suffix(const float *restrict mean, const float *restrict var,              \
                                          float *restrict sign, float *restrict d_mean,                      \
                                          float *restrict d_var, uint64_t first, size_t count, uint64_t seed, \
                                          float temperature) {                                               \
        BNN_FOR_NOISE_TILES(philox_tile, bnn_logistic_tile, {                                                 \
            const float *l_ = values + skip;                                                                  \
            for (size_t j = 0; j < take; j++)                                                                 \
                bnn_sampled_sign_at(mean[done + j], var[done + j], l_[j], temperature, sign + done + j,       \
                                    d_mean + done + j, d_var + done + j);                                     \
        });                                                                                                   \
    }

#endif
