/* C-level kernel test driver: every ISA path this CPU supports against the
 * portable scalar reference, on random shapes including awkward ones
 * (channels not a multiple of 64, odd sizes, stride 2, both paddings).
 * Built and run under AddressSanitizer and UndefinedBehaviorSanitizer by
 * .ci/run; needs no Python.  Exit status 0 means every comparison matched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bnn.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_random(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static int32_t pick(int32_t lo, int32_t hi) { return lo + (int32_t)(next_random() % (uint64_t)(hi - lo + 1)); }

static float random_float(void) { return (float)((int64_t)(next_random() % 2001) - 1000) / 250.0f; }

static int failures = 0;

#define CHECK(cond, ...)                                                                                       \
    do {                                                                                                        \
        if (!(cond)) {                                                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                               \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fprintf(stderr, "\n");                                                                             \
            failures++;                                                                                         \
        }                                                                                                       \
    } while (0)

/* Random packed tensor of rows x channels with zero padding bits. */
static uint64_t *random_packed(size_t rows, int32_t channels) {
    const int32_t words = (channels + 63) / 64;
    float *values = malloc(rows * (size_t)channels * sizeof(float));
    uint64_t *packed = malloc(rows * (size_t)words * sizeof(uint64_t));
    if (!values || !packed) abort();
    for (size_t i = 0; i < rows * (size_t)channels; i++) values[i] = random_float();
    if (bnn_set_isa(BNN_ISA_SCALAR) != BNN_OK || bnn_pack_f32(values, rows, (size_t)channels, packed, 1) != BNN_OK)
        abort();
    free(values);
    return packed;
}

static const int isas[] = {BNN_ISA_SCALAR, BNN_ISA_AVX2, BNN_ISA_AVX512, BNN_ISA_NEON};

static void test_pack(void) {
    for (int trial = 0; trial < 40; trial++) {
        const size_t rows = (size_t)pick(1, 9);
        const int32_t channels = trial < 8 ? (int32_t[]){1, 3, 63, 64, 65, 127, 128, 130}[trial] : pick(1, 300);
        const int32_t words = (channels + 63) / 64;
        float *x = malloc(rows * (size_t)channels * sizeof(float));
        uint64_t *expected = malloc(rows * (size_t)words * sizeof(uint64_t));
        uint64_t *got = malloc(rows * (size_t)words * sizeof(uint64_t));
        if (!x || !expected || !got) abort();
        for (size_t i = 0; i < rows * (size_t)channels; i++) x[i] = random_float();
        x[0] = -0.0f;
        bnn_set_isa(BNN_ISA_SCALAR);
        CHECK(bnn_pack_f32(x, rows, (size_t)channels, expected, 1) == BNN_OK, "scalar pack failed");
        CHECK((expected[0] & 1u) == 0, "-0.0 must pack as +1");
        for (size_t k = 1; k < sizeof isas / sizeof isas[0]; k++) {
            if (bnn_set_isa(isas[k]) != BNN_OK) continue;
            for (int threads = 1; threads <= 2; threads++) {
                memset(got, 0xAB, rows * (size_t)words * sizeof(uint64_t));
                CHECK(bnn_pack_f32(x, rows, (size_t)channels, got, threads) == BNN_OK, "pack failed");
                CHECK(memcmp(got, expected, rows * (size_t)words * sizeof(uint64_t)) == 0,
                      "pack %s: rows %zu channels %d differ", bnn_isa_name(isas[k]), rows, channels);
            }
            const float saved = x[rows * (size_t)channels - 1];
            x[rows * (size_t)channels - 1] = NAN;
            CHECK(bnn_pack_f32(x, rows, (size_t)channels, got, 1) == BNN_ENAN, "pack %s missed a NaN",
                  bnn_isa_name(isas[k]));
            x[rows * (size_t)channels - 1] = saved;
        }
        free(x);
        free(expected);
        free(got);
    }
}

static size_t output_bytes(int kind, size_t pixels, int32_t out_channels) {
    if (kind == BNN_OUTPUT_PACKED) return pixels * (size_t)((out_channels + 63) / 64) * sizeof(uint64_t);
    return pixels * (size_t)out_channels * 4;
}

static void test_conv_case(const bnn_conv_shape *s) {
    const int32_t words = (s->channels + 63) / 64, taps = s->kernel_h * s->kernel_w;
    const size_t in_pixels = (size_t)s->batch * s->in_h * s->in_w;
    const size_t out_pixels = (size_t)s->batch * s->out_h * s->out_w;
    uint64_t *x = random_packed(in_pixels, s->channels);
    uint64_t *raw = random_packed((size_t)s->out_channels * taps, s->channels);
    uint64_t *panel = malloc(bnn_panel_words(s->out_channels, taps, s->channels) * sizeof(uint64_t));
    int32_t *tap_plus_one = malloc((size_t)taps * s->out_channels * sizeof(int32_t));
    float *scale = malloc((size_t)s->out_channels * sizeof(float)), *bias = malloc((size_t)s->out_channels * sizeof(float));
    int32_t *threshold = malloc((size_t)s->out_channels * sizeof(int32_t));
    uint8_t *negative = malloc((size_t)s->out_channels);
    if (!panel || !tap_plus_one || !scale || !bias || !threshold || !negative) abort();
    CHECK(bnn_prepare_weights(raw, s->out_channels, taps, s->channels, panel, tap_plus_one) == BNN_OK, "prepare");
    const int32_t k = s->channels * taps;
    for (int32_t o = 0; o < s->out_channels; o++) {
        scale[o] = random_float();
        bias[o] = random_float() * 10.0f;
        threshold[o] = pick(-k, k);
        negative[o] = (uint8_t)(next_random() & 1);
    }
    const bnn_weights w = {s->out_channels, taps, s->channels, raw, panel, tap_plus_one};
    (void)words;
    for (int kind = BNN_OUTPUT_INT32; kind <= BNN_OUTPUT_PACKED; kind++) {
        const size_t bytes = output_bytes(kind, out_pixels, s->out_channels);
        void *expected = malloc(bytes), *got = malloc(bytes);
        if (!expected || !got) abort();
        bnn_output out = {kind, scale, bias, threshold, negative, expected};
        bnn_set_isa(BNN_ISA_SCALAR);
        CHECK(bnn_bconv2d(s, x, &w, &out, 1) == BNN_OK, "scalar bconv2d failed");
        for (size_t i = 1; i < sizeof isas / sizeof isas[0]; i++) {
            if (bnn_set_isa(isas[i]) != BNN_OK) continue;
            for (int threads = 1; threads <= 2; threads++) {
                memset(got, 0xCD, bytes);
                out.data = got;
                CHECK(bnn_bconv2d(s, x, &w, &out, threads) == BNN_OK, "bconv2d failed");
                CHECK(memcmp(got, expected, bytes) == 0,
                      "bconv2d %s kind %d threads %d: N%d %dx%dx%d -> %d, k %dx%d s%d pad %d,%d out %dx%d pad_one %d",
                      bnn_isa_name(isas[i]), kind, threads, s->batch, s->in_h, s->in_w, s->channels,
                      s->out_channels, s->kernel_h, s->kernel_w, s->stride_h, s->pad_top, s->pad_left, s->out_h,
                      s->out_w, s->pad_one);
            }
        }
        free(expected);
        free(got);
    }
    free(x);
    free(raw);
    free(panel);
    free(tap_plus_one);
    free(scale);
    free(bias);
    free(threshold);
    free(negative);
}

static void test_conv(void) {
    static const int32_t channel_choices[] = {1, 3, 63, 64, 65, 127, 128, 130, 200};
    static const int32_t out_choices[] = {1, 7, 8, 9, 63, 64, 65, 130};
    for (int trial = 0; trial < 120; trial++) {
        bnn_conv_shape s;
        s.batch = pick(1, 2);
        s.channels = channel_choices[pick(0, 8)];
        s.out_channels = out_choices[pick(0, 7)];
        s.kernel_h = (int32_t[]){1, 3, 5, 2}[pick(0, 3)];
        s.kernel_w = trial % 5 == 0 ? pick(1, 4) : s.kernel_h;
        s.stride_h = pick(1, 2);
        s.stride_w = trial % 7 == 0 ? pick(1, 3) : s.stride_h;
        s.in_h = pick(1, 9);
        s.in_w = pick(1, 9);
        s.pad_top = pick(0, s.kernel_h - 1);
        s.pad_left = pick(0, s.kernel_w - 1);
        /* output sizes from a random bottom/right padding in [0, kernel-1] */
        const int32_t bottom = pick(0, s.kernel_h - 1), right = pick(0, s.kernel_w - 1);
        if (s.in_h + s.pad_top + bottom < s.kernel_h || s.in_w + s.pad_left + right < s.kernel_w) continue;
        s.out_h = (s.in_h + s.pad_top + bottom - s.kernel_h) / s.stride_h + 1;
        s.out_w = (s.in_w + s.pad_left + right - s.kernel_w) / s.stride_w + 1;
        if ((s.out_h - 1) * s.stride_h - s.pad_top >= s.in_h || (s.out_w - 1) * s.stride_w - s.pad_left >= s.in_w)
            continue;
        s.pad_one = (int32_t)(next_random() & 1);
        test_conv_case(&s);
    }
    /* one layer of daBNN's set at full size */
    bnn_conv_shape big = {1, 14, 14, 256, 256, 3, 3, 1, 1, 1, 1, 14, 14, 0};
    test_conv_case(&big);
}

static void test_rejects_bad_arguments(void) {
    bnn_conv_shape s = {1, 4, 4, 64, 8, 3, 3, 1, 1, 1, 1, 4, 4, 1};
    uint64_t x[16] = {0}, raw[72] = {0}, panel[576] = {0};
    int32_t tpo[72] = {0}, result[128];
    const bnn_weights w = {8, 9, 64, raw, panel, tpo};
    bnn_output out = {BNN_OUTPUT_INT32, NULL, NULL, NULL, NULL, result};
    CHECK(bnn_bconv2d(&s, x, &w, &out, 1) == BNN_OK, "valid call rejected");
    s.pad_top = 3;
    CHECK(bnn_bconv2d(&s, x, &w, &out, 1) == BNN_EINVAL, "padding >= kernel accepted");
    s.pad_top = 1;
    s.out_h = 9;
    CHECK(bnn_bconv2d(&s, x, &w, &out, 1) == BNN_EINVAL, "output past the input accepted");
    s.out_h = 4;
    out.kind = BNN_OUTPUT_FLOAT32;
    CHECK(bnn_bconv2d(&s, x, &w, &out, 1) == BNN_EINVAL, "float output without scale accepted");
    out.kind = 7;
    CHECK(bnn_bconv2d(&s, x, &w, &out, 1) == BNN_EINVAL, "unknown output kind accepted");
    CHECK(bnn_set_isa(99) == BNN_EUNSUPPORTED, "unknown ISA accepted");
    CHECK(bnn_pack_f32(NULL, 1, 1, x, 1) == BNN_EINVAL, "null pack input accepted");
}

int test_noise(void); /* test_noise.c */

static void test_roofline(void) {
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (!bnn_isa_available(isas[i])) continue;
        CHECK(bnn_roofline_bits(isas[i]) > 0, "roofline bits of %s", bnn_isa_name(isas[i]));
        CHECK(bnn_roofline_run(isas[i], 100) > 0, "roofline of %s", bnn_isa_name(isas[i]));
    }
}

int main(void) {
    printf("CPU features 0x%x; paths:", (unsigned)bnn_cpu_features());
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
        if (bnn_isa_available(isas[i])) printf(" %s", bnn_isa_name(isas[i]));
    printf("\n");
    test_pack();
    test_conv();
    test_rejects_bad_arguments();
    test_roofline();
    failures += test_noise();
    if (failures) {
        fprintf(stderr, "%d kernel comparisons failed\n", failures);
        return 1;
    }
    printf("all kernel comparisons matched the scalar reference\n");
    return 0;
}
