/* Tests of the counter-based noise kernels (kernels/src/noise.h): Philox
 * against Random123's published known answers, the polynomial ln / exp /
 * sincos against libm over their whole input sets, the sampled activation
 * against a double-precision evaluation, and every ISA path bit for bit
 * against the portable one (random offsets, lengths, shapes and thread
 * counts).  The distributions themselves are tested from Python
 * (tests/test_pbnet_kernels.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "noise.h"

int test_noise(void);

static int failures = 0;
static uint64_t state = 0x2545f4914f6cdd1dULL;

static uint64_t next_random(void) { /* xorshift64* */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dULL;
}

static size_t pick(size_t lo, size_t hi) { return lo + (size_t)(next_random() % (uint64_t)(hi - lo + 1)); }

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fprintf(stderr, "\n");                                           \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static const int isas[] = {BNN_ISA_AVX2, BNN_ISA_AVX512, BNN_ISA_NEON};

static void test_philox_known_answers(void) {
    /* Random123 kat_vectors: counter, key, expected output. */
    static const uint32_t cases[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
         0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
         0x5001e420, 0x24126ea1},
    };
    for (int c = 0; c < 3; c++) {
        uint32_t out[4];
        bnn_philox4x32_10(cases[c], cases[c] + 4, out);
        CHECK(memcmp(out, cases[c] + 6, sizeof out) == 0, "Philox4x32-10 known answer %d", c);
    }
}

/* Every input the generators can produce: u = k 2^-24 for k = 1 .. 2^24. */
static void test_elementary_functions(void) {
    double worst_log = 0.0, worst_trig = 0.0;
    int positive_log = 0;
    for (uint32_t k = 1; k <= (1u << 24); k++) {
        const float u = (float)k * BNN_UNIT_24;
        const float approx = bnn_log_positive(u);
        if (approx > 0.0f) positive_log++;
        const double exact = log((double)u);
        if (k < (1u << 24)) {
            const double rel = fabs((double)approx - exact) / fabs(exact);
            if (rel > worst_log) worst_log = rel;
        } else {
            CHECK(approx == 0.0f, "ln 1 = %g", (double)approx);
        }
        if (k % 3 == 0) { /* sincos takes u in [0, 1): a third of the grid is plenty */
            float s, c;
            bnn_sincos_2pi(u == 1.0f ? 0.0f : u, &s, &c);
            const double angle = 6.283185307179586 * (u == 1.0f ? 0.0 : (double)u);
            const double err = fmax(fabs((double)s - sin(angle)), fabs((double)c - cos(angle)));
            if (err > worst_trig) worst_trig = err;
        }
    }
    int inexact = 0; /* logistic: u = (2k + 1) 2^-24 and 1 - u are both exact, so L(1 - u) = -L(u) */
    for (uint32_t k = 0; k < (1u << 23); k++) {
        const float u = (float)(2u * k + 1u) * BNN_UNIT_24;
        if (1.0f - u != (float)(2u * ((1u << 23) - 1u - k) + 1u) * BNN_UNIT_24) inexact++;
    }
    CHECK(inexact == 0, "1 - u is inexact for %d logistic inputs", inexact);
    CHECK(positive_log == 0, "ln u > 0 for %d values u <= 1 (Box-Muller would take the root of a negative)",
          positive_log);
    CHECK(worst_log < 2e-7, "ln: worst relative error %g", worst_log);
    CHECK(worst_trig < 2e-7, "sincos(2 pi t): worst absolute error %g", worst_trig);

    double worst_exp = 0.0;
    for (int i = 0; i <= 873000; i++) {
        const float x = -(float)i * 1e-4f;
        const double rel = fabs((double)bnn_exp(x) - exp((double)x)) / exp((double)x);
        if (rel > worst_exp) worst_exp = rel;
    }
    CHECK(worst_exp < 2e-7, "exp: worst relative error %g", worst_exp);
    CHECK(bnn_exp(1.0f) == 1.0f && bnn_exp(-200.0f) == bnn_exp(-87.3f) && bnn_exp(NAN) == bnn_exp(-87.3f),
          "exp must clamp its argument to [-87.3, 0]");
}

/* The sampled activation against a double evaluation of the same formulas. */
static void test_sampled_sign_math(void) {
    double worst_grad = 0.0;
    int sign_mismatch = 0;
    for (int i = -1000; i <= 1000; i++) {
        const float mean = (float)i * 0.0095f, var = 0.5f, logistic = (float)((i * 7919) % 2001) * 0.01f - 10.0f;
        for (int t = 0; t < 3; t++) {
            const float tau = (float[]){0.5f, 1.0f, 2.0f}[t];
            float sign, d_mean, d_var;
            bnn_sampled_sign_at(mean, var, logistic, tau, &sign, &d_mean, &d_var);
            const double sigma = sqrt((double)var + 1e-8), z = (double)mean / sigma;
            const double upper = 0.5 * erfc(-z / sqrt(2.0)), lower = 0.5 * erfc(z / sqrt(2.0));
            const double noisy = log(upper / lower) + (double)logistic;
            if (fabs(noisy) > 1e-4 && sign != (noisy >= 0 ? 1.0f : -1.0f)) sign_mismatch++;
            const double s = 1.0 / (1.0 + exp(-noisy / tau));
            const double density = exp(-0.5 * z * z) / sqrt(2.0 * 3.141592653589793);
            const double dz = fabs(z) > 8.0 ? 0.0 : 2.0 / tau * s * (1.0 - s) * density / (upper * lower);
            const double want_mean = dz / sigma, want_var = -dz * z / (2.0 * sigma * sigma);
            const double scale = fabs(want_mean) + 1e-6;
            const double err = fmax(fabs(d_mean - want_mean), fabs(d_var - want_var)) / scale;
            if (err > worst_grad) worst_grad = err;
        }
    }
    CHECK(sign_mismatch == 0, "sampled sign: %d draws disagree with the double evaluation", sign_mismatch);
    CHECK(worst_grad < 1e-4, "sampled sign: worst relative gradient error %g", worst_grad);
    float sign, d_mean, d_var;
    bnn_sampled_sign_at(9.0f, 1.0f, -16.0f, 1.0f, &sign, &d_mean, &d_var);
    CHECK(sign == 1.0f && d_mean == 0.0f && d_var == 0.0f, "z = 9 must draw +1 with no gradient");
    bnn_sampled_sign_at(-80.0f, 1.0f, 16.0f, 0.5f, &sign, &d_mean, &d_var);
    CHECK(sign == -1.0f && d_mean == 0.0f && d_var == 0.0f, "z = -80 must draw -1 with no gradient");
}

static float *random_floats(size_t n, float lo, float hi) {
    float *x = malloc((n ? n : 1) * sizeof(float));
    if (!x) abort();
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)(next_random() >> 40) * 5.9604644775390625e-8f;
    return x;
}

/* Each ISA path and thread count against the portable path, bit for bit. */
static void test_paths_agree(void) {
    for (int trial = 0; trial < 30; trial++) {
        const size_t count = trial < 4 ? (size_t[]){1, 3, 255, 257}[trial] : pick(1, 20000);
        const uint64_t first = trial % 2 ? pick(0, 1000) : (uint64_t)0xFFFFFFFFull - 5; /* counter carries */
        const uint64_t seed = next_random();
        float *mean = random_floats(count, -3.0f, 3.0f), *var = random_floats(count, 0.0f, 2.0f);
        float *want[5], *got[5];
        for (int k = 0; k < 5; k++) {
            want[k] = malloc(count * sizeof(float));
            got[k] = malloc(count * sizeof(float));
            if (!want[k] || !got[k]) abort();
        }
        bnn_set_isa(BNN_ISA_SCALAR);
        CHECK(bnn_normal_f32(want[0], first, count, seed, 1) == BNN_OK, "normal");
        CHECK(bnn_logistic_f32(want[1], first, count, seed, 1) == BNN_OK, "logistic");
        CHECK(bnn_sampled_sign_f32(mean, var, count, 0.7f, seed, want[2], want[3], want[4], 1) == BNN_OK, "sign");
        if (count > 3) { /* an offset request is the same stream */
            CHECK(bnn_normal_f32(got[0], first + 3, count - 3, seed, 1) == BNN_OK, "normal");
            CHECK(memcmp(got[0], want[0] + 3, (count - 3) * sizeof(float)) == 0, "normal stream offset by 3");
        }
        for (size_t i = 0; i < sizeof isas / sizeof isas[0] + 1; i++) {
            const int isa = i == 0 ? BNN_ISA_SCALAR : isas[i - 1];
            if (bnn_set_isa(isa) != BNN_OK) continue;
            const int threads = (int)pick(1, 3);
            CHECK(bnn_normal_f32(got[0], first, count, seed, threads) == BNN_OK, "normal");
            CHECK(bnn_logistic_f32(got[1], first, count, seed, threads) == BNN_OK, "logistic");
            CHECK(bnn_sampled_sign_f32(mean, var, count, 0.7f, seed, got[2], got[3], got[4], threads) == BNN_OK,
                  "sign");
            for (int k = 0; k < 5; k++)
                CHECK(memcmp(got[k], want[k], count * sizeof(float)) == 0,
                      "%s, %d threads: output %d of %zu values from %llu differs", bnn_isa_name(isa), threads, k,
                      count, (unsigned long long)first);
        }
        for (int k = 0; k < 5; k++) {
            free(want[k]);
            free(got[k]);
        }
        free(mean);
        free(var);
    }
}

/* Stochastic max pooling against a direct evaluation from bnn_normal_f32. */
static void test_noisy_maxpool(void) {
    for (int trial = 0; trial < 40; trial++) {
        const size_t planes = pick(1, 70);
        const int32_t kernel = (int32_t)pick(1, 3);
        const int32_t height = (int32_t)pick((size_t)kernel, 30), width = (int32_t)pick((size_t)kernel, 30);
        const int32_t out_h = height / kernel, out_w = width / kernel;
        const size_t n = planes * (size_t)height * (size_t)width, outs = planes * (size_t)out_h * (size_t)out_w;
        const uint64_t seed = next_random();
        float *mean = random_floats(n, -1.0f, 1.0f), *var = random_floats(n, 0.0f, 1.0f);
        float *noise = malloc(n * sizeof(float));
        int64_t *want = malloc(outs * sizeof(int64_t)), *got = malloc(outs * sizeof(int64_t));
        if (!noise || !want || !got) abort();
        if (trial % 4 == 0) mean[pick(0, n - 1)] = NAN;
        if (trial % 5 == 0) var[pick(0, n - 1)] = 0.0f;
        bnn_set_isa(BNN_ISA_SCALAR);
        CHECK(bnn_normal_f32(noise, 0, n, seed, 1) == BNN_OK, "normal");
        for (size_t p = 0; p < planes; p++)
            for (int32_t oy = 0; oy < out_h; oy++)
                for (int32_t ox = 0; ox < out_w; ox++) {
                    float best = 0.0f;
                    int64_t where = -1;
                    for (int32_t ky = 0; ky < kernel; ky++)
                        for (int32_t kx = 0; kx < kernel; kx++) {
                            const int64_t at = (int64_t)(oy * kernel + ky) * width + ox * kernel + kx;
                            const size_t i = p * (size_t)height * (size_t)width + (size_t)at;
                            const float s = mean[i] + sqrtf(var[i]) * noise[i];
                            if (where < 0 || s > best || s != s) {
                                best = s;
                                where = at;
                            }
                        }
                    want[(p * (size_t)out_h + (size_t)oy) * (size_t)out_w + (size_t)ox] = where;
                }
        for (size_t i = 0; i < sizeof isas / sizeof isas[0] + 1; i++) {
            const int isa = i == 0 ? BNN_ISA_SCALAR : isas[i - 1];
            if (bnn_set_isa(isa) != BNN_OK) continue;
            const int threads = (int)pick(1, 3);
            memset(got, 0xFF, outs * sizeof(int64_t));
            CHECK(bnn_noisy_maxpool2d_argmax(mean, var, planes, height, width, kernel, seed, got, threads) == BNN_OK,
                  "maxpool");
            CHECK(memcmp(got, want, outs * sizeof(int64_t)) == 0, "%s, %d threads: %zu planes %dx%d kernel %d differ",
                  bnn_isa_name(isa), threads, planes, height, width, kernel);
        }
        free(mean);
        free(var);
        free(noise);
        free(want);
        free(got);
    }
}

static void test_noise_rejects_bad_arguments(void) {
    float x[16] = {0}, y[16] = {0}, z[16];
    int64_t idx[16];
    CHECK(bnn_normal_f32(NULL, 0, 4, 1, 1) == BNN_EINVAL, "null output accepted");
    CHECK(bnn_normal_f32(x, UINT64_MAX - 2, 4, 1, 1) == BNN_EINVAL, "stream past 2^64 accepted");
    CHECK(bnn_sampled_sign_f32(x, y, 4, 0.0f, 1, z, z, z, 1) == BNN_EINVAL, "temperature 0 accepted");
    CHECK(bnn_sampled_sign_f32(x, y, 4, NAN, 1, z, z, z, 1) == BNN_EINVAL, "NaN temperature accepted");
    CHECK(bnn_noisy_maxpool2d_argmax(x, y, 1, 4, 4, 0, 1, idx, 1) == BNN_EINVAL, "kernel 0 accepted");
    CHECK(bnn_noisy_maxpool2d_argmax(x, y, 1, 4, 4, 5, 1, idx, 1) == BNN_EINVAL, "kernel > plane accepted");
    CHECK(bnn_noisy_maxpool2d_argmax(x, NULL, 1, 4, 4, 2, 1, idx, 1) == BNN_EINVAL, "null var accepted");
}

int test_noise(void) {
    test_philox_known_answers();
    test_elementary_functions();
    test_sampled_sign_math();
    test_paths_agree();
    test_noisy_maxpool();
    test_noise_rejects_bad_arguments();
    bnn_set_isa(bnn_best_isa());
    return failures;
}
