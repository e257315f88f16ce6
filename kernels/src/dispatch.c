/* CPU feature detection, ISA dispatch and the public entry points.
 *
 * The ISA is chosen once, when the library is loaded (first call), from CPUID
 * and XGETBV (the OS must save the wide registers).  bnn_set_isa() lets tests
 * and the BNNBENCH_ISA variable force any path the CPU supports. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#if defined(BNN_HAVE_X86)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static uint32_t detect_features(void) {
    uint32_t eax, ebx, ecx, edx, features = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if ((ecx >> 23) & 1) features |= BNN_CPU_POPCNT;
    if (!osxsave || !avx) return features;
    const uint64_t xcr0 = read_xcr0();
    const int os_ymm = (xcr0 & 0x6) == 0x6;        /* XMM and YMM state */
    const int os_zmm = (xcr0 & 0xe6) == 0xe6;      /* plus opmask and ZMM state */
    if (__get_cpuid_max(0, NULL) < 7) return features;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    if (os_ymm && ((ebx >> 5) & 1)) features |= BNN_CPU_AVX2;
    if (os_zmm) {
        if ((ebx >> 16) & 1) features |= BNN_CPU_AVX512F;
        if ((ebx >> 17) & 1) features |= BNN_CPU_AVX512DQ;
        if ((ebx >> 30) & 1) features |= BNN_CPU_AVX512BW;
        if ((ebx >> 31) & 1) features |= BNN_CPU_AVX512VL;
        if ((ecx >> 14) & 1) features |= BNN_CPU_AVX512VPOPCNTDQ;
    }
    return features;
}
#elif defined(BNN_HAVE_NEON)
static uint32_t detect_features(void) { return BNN_CPU_NEON; } /* Advanced SIMD is mandatory on AArch64 */
#else
static uint32_t detect_features(void) { return 0; }
#endif

#define BNN_AVX512_NEEDS (BNN_CPU_AVX512F | BNN_CPU_AVX512VL | BNN_CPU_AVX512DQ | BNN_CPU_AVX512BW | \
                          BNN_CPU_AVX512VPOPCNTDQ | BNN_CPU_AVX2 | BNN_CPU_POPCNT)
#define BNN_AVX2_NEEDS (BNN_CPU_AVX2 | BNN_CPU_POPCNT)

typedef struct bnn_isa_entry {
    const char *name;
    bnn_pack_fn pack;
    bnn_conv_row_fn conv_row; /* NULL: the scalar reference, which has no row kernel */
    bnn_roofline_fn roofline;
    uint64_t roofline_bits;
    bnn_noise_fns noise;
} bnn_isa_entry;

#define BNN_NOISE_FNS(suffix) \
    { bnn_normal_block__##suffix, bnn_logistic_block__##suffix, bnn_noisy_score_block__##suffix, \
      bnn_sampled_sign_block__##suffix }

static const bnn_isa_entry isa_table[4] = {
    [BNN_ISA_SCALAR] = {"scalar", bnn_pack_f32__scalar, NULL, bnn_roofline__scalar, BNN_ROOFLINE_BITS_SCALAR,
                         BNN_NOISE_FNS(scalar)},
#if defined(BNN_HAVE_X86)
    [BNN_ISA_AVX2] = {"avx2", bnn_pack_f32__avx2, bnn_bconv2d_row_4x8__avx2, bnn_roofline__avx2,
                      BNN_ROOFLINE_BITS_AVX2, BNN_NOISE_FNS(avx2)},
    [BNN_ISA_AVX512] = {"avx512", bnn_pack_f32__avx512, bnn_bconv2d_row_3x64__avx512vpopcnt,
                        bnn_roofline__avx512vpopcnt, BNN_ROOFLINE_BITS_AVX512, BNN_NOISE_FNS(avx512)},
#else
    [BNN_ISA_AVX2] = {"avx2", NULL, NULL, NULL, 0, {NULL, NULL, NULL, NULL}},
    [BNN_ISA_AVX512] = {"avx512", NULL, NULL, NULL, 0, {NULL, NULL, NULL, NULL}},
#endif
#if defined(BNN_HAVE_NEON)
    /* the portable noise blocks: compiled for AArch64, the compiler vectorizes them with NEON */
    [BNN_ISA_NEON] = {"neon", bnn_pack_f32__neon, bnn_bconv2d_row_4x8__neon, bnn_roofline__neon,
                      BNN_ROOFLINE_BITS_NEON, BNN_NOISE_FNS(scalar)},
#else
    [BNN_ISA_NEON] = {"neon", NULL, NULL, NULL, 0, {NULL, NULL, NULL, NULL}},
#endif
};

static int current_isa = -1;

uint32_t bnn_cpu_features(void) {
    static int detected = 0;
    static uint32_t features = 0;
    if (!detected) {
        features = detect_features();
        detected = 1;
    }
    return features;
}

int bnn_isa_available(int isa) {
    if (isa < 0 || isa > BNN_ISA_NEON || isa_table[isa].pack == NULL) return 0;
    const uint32_t f = bnn_cpu_features();
    switch (isa) {
    case BNN_ISA_AVX2: return (f & BNN_AVX2_NEEDS) == BNN_AVX2_NEEDS;
    case BNN_ISA_AVX512: return (f & BNN_AVX512_NEEDS) == BNN_AVX512_NEEDS;
    case BNN_ISA_NEON: return (f & BNN_CPU_NEON) != 0;
    default: return 1;
    }
}

int bnn_best_isa(void) {
    if (bnn_isa_available(BNN_ISA_AVX512)) return BNN_ISA_AVX512;
    if (bnn_isa_available(BNN_ISA_AVX2)) return BNN_ISA_AVX2;
    if (bnn_isa_available(BNN_ISA_NEON)) return BNN_ISA_NEON;
    return BNN_ISA_SCALAR;
}

int bnn_set_isa(int isa) {
    if (!bnn_isa_available(isa)) return BNN_EUNSUPPORTED;
    current_isa = isa;
    return BNN_OK;
}

int bnn_get_isa(void) {
    if (current_isa < 0) current_isa = bnn_best_isa();
    return current_isa;
}

const char *bnn_isa_name(int isa) {
    if (isa < 0 || isa > BNN_ISA_NEON) return "unknown";
    return isa_table[isa].name;
}

const char *bnn_compiler_version(void) {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown C compiler";
#endif
}

#ifndef BNN_BUILD_FLAGS
#define BNN_BUILD_FLAGS "unrecorded"
#endif
const char *bnn_build_flags(void) { return BNN_BUILD_FLAGS; }

int bnn_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int bnn_max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const bnn_noise_fns *bnn_current_noise(void) { return &isa_table[bnn_get_isa()].noise; }

int bnn_clamp_threads(int threads) {
    if (threads < 1) return 1;
#ifdef _OPENMP
    return threads;
#else
    return 1;
#endif
}

/* ---- pack ---- */

int bnn_pack_rows(const float *x, size_t rows, size_t channels, uint64_t *out) {
    return isa_table[bnn_get_isa()].pack(x, rows, channels, out);
}

int bnn_pack_f32(const float *x, size_t rows, size_t channels, uint64_t *out, int threads) {
    if (!x || !out || channels == 0) return BNN_EINVAL;
    threads = bnn_clamp_threads(threads);
    if (threads == 1 || rows < 2) return bnn_pack_rows(x, rows, channels, out);
    /* one contiguous block of rows per thread */
    const size_t words = (channels + 63) / 64, block = (rows + (size_t)threads - 1) / (size_t)threads;
    int nan_found = 0;
    BNN_PARALLEL_FOR
    for (int t = 0; t < threads; t++) {
        const size_t first = (size_t)t * block;
        if (first >= rows) continue;
        const size_t count = rows - first < block ? rows - first : block;
        if (bnn_pack_rows(x + first * channels, count, channels, out + first * words) == BNN_ENAN) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            nan_found = 1;
        }
    }
    return nan_found ? BNN_ENAN : BNN_OK;
}

/* ---- weights ---- */

size_t bnn_panel_words(int32_t out_channels, int32_t taps, int32_t channels) {
    if (out_channels <= 0 || taps <= 0 || channels <= 0) return 0;
    return (size_t)bnn_groups(out_channels) * BNN_GROUP * (size_t)taps * (size_t)bnn_words(channels);
}

int bnn_prepare_weights(const uint64_t *raw, int32_t out_channels, int32_t taps, int32_t channels, uint64_t *panel,
                        int32_t *tap_plus_one) {
    if (!raw || !panel || !tap_plus_one || out_channels <= 0 || taps <= 0 || channels <= 0) return BNN_EINVAL;
    const int32_t words = bnn_words(channels);
    memset(panel, 0, bnn_panel_words(out_channels, taps, channels) * sizeof(uint64_t));
    for (int32_t o = 0; o < out_channels; o++) {
        const int32_t g = o / BNN_GROUP, nv = bnn_group_vectors(out_channels, g);
        const int32_t v = (o % BNN_GROUP) / BNN_LANES, lane = o % BNN_LANES;
        uint64_t *group = panel + (size_t)g * BNN_GROUP * (size_t)taps * (size_t)words;
        for (int32_t t = 0; t < taps; t++) {
            const uint64_t *src = raw + ((size_t)o * taps + t) * words;
            int32_t mismatches = 0;
            for (int32_t c = 0; c < words; c++) {
                group[(((size_t)t * words + c) * nv + v) * BNN_LANES + lane] = src[c];
                mismatches += bnn_popcount64(src[c]);
            }
            tap_plus_one[(size_t)t * out_channels + o] = channels - 2 * mismatches;
        }
    }
    return BNN_OK;
}

/* ---- convolution ---- */

static int valid_shape(const bnn_conv_shape *s) {
    if (s->batch <= 0 || s->in_h <= 0 || s->in_w <= 0 || s->channels <= 0 || s->out_channels <= 0) return 0;
    if (s->kernel_h <= 0 || s->kernel_w <= 0 || s->stride_h <= 0 || s->stride_w <= 0) return 0;
    if (s->pad_top < 0 || s->pad_left < 0 || s->out_h <= 0 || s->out_w <= 0) return 0;
    /* every output must see at least one real input row/column */
    if (s->pad_top >= s->kernel_h || s->pad_left >= s->kernel_w) return 0;
    if ((int64_t)(s->out_h - 1) * s->stride_h - s->pad_top >= s->in_h) return 0;
    if ((int64_t)(s->out_w - 1) * s->stride_w - s->pad_left >= s->in_w) return 0;
    /* keep every index and the dot product itself inside int32 */
    if ((int64_t)s->channels * s->kernel_h * s->kernel_w > INT32_MAX / 2) return 0;
    if ((int64_t)s->batch * s->out_h * s->out_w * s->out_channels > INT32_MAX) return 0;
    if ((int64_t)s->batch * s->in_h * s->in_w * bnn_words(s->channels) > INT32_MAX) return 0;
    return 1;
}

static int valid_output(const bnn_output *out) {
    if (!out || !out->data) return 0;
    switch (out->kind) {
    case BNN_OUTPUT_INT32: return 1;
    case BNN_OUTPUT_FLOAT32: return out->scale && out->bias;
    case BNN_OUTPUT_PACKED: return out->threshold && out->negative;
    default: return 0;
    }
}

/* Copy the input into a buffer framed with +1 (all-zero) words, so that the
 * row kernels never test bounds.  Returns NULL on allocation failure. */
static uint64_t *pad_input(const bnn_conv_shape *s, const uint64_t *x, int32_t words, int32_t hp, int32_t wp) {
    const size_t image = (size_t)hp * wp * words;
    uint64_t *buf = calloc((size_t)s->batch * image, sizeof(uint64_t));
    if (!buf) return NULL;
    const int32_t cols = s->in_w < wp - s->pad_left ? s->in_w : wp - s->pad_left;
    for (int32_t n = 0; n < s->batch; n++) {
        for (int32_t iy = 0; iy < s->in_h; iy++) {
            const int32_t py = iy + s->pad_top;
            if (py >= hp) break;
            memcpy(buf + n * image + ((size_t)py * wp + s->pad_left) * words,
                   x + (((size_t)n * s->in_h + iy) * s->in_w) * words, (size_t)cols * words * sizeof(uint64_t));
        }
    }
    return buf;
}

int bnn_bconv2d(const bnn_conv_shape *s, const uint64_t *x, const bnn_weights *w, const bnn_output *out,
                int threads) {
    if (!s || !x || !w || !w->raw || !valid_shape(s) || !valid_output(out)) return BNN_EINVAL;
    if (w->out_channels != s->out_channels || w->channels != s->channels || w->taps != s->kernel_h * s->kernel_w)
        return BNN_EINVAL;
    threads = bnn_clamp_threads(threads);
    const bnn_isa_entry *isa = &isa_table[bnn_get_isa()];
    if (isa->conv_row == NULL) return bnn_bconv2d__scalar(s, x, w->raw, out, threads);
    if (!w->panel || !w->tap_plus_one) return BNN_EINVAL;

    const int32_t words = bnn_words(s->channels);
    const int32_t hp = (s->out_h - 1) * s->stride_h + s->kernel_h; /* rows the kernel reads */
    const int32_t wp = (s->out_w - 1) * s->stride_w + s->kernel_w;
    const int needs_copy = s->pad_top > 0 || s->pad_left > 0 || hp > s->in_h || wp > s->in_w;
    uint64_t *padded = NULL;
    if (needs_copy && !(padded = pad_input(s, x, words, hp, wp))) return BNN_ENOMEM;

    bnn_conv_ctx ctx;
    ctx.shape = s;
    ctx.x = padded ? padded : x;
    ctx.row_stride = (ptrdiff_t)(padded ? wp : s->in_w) * words;
    ctx.image_stride = ctx.row_stride * (padded ? hp : s->in_h);
    ctx.words = words;
    ctx.taps = s->kernel_h * s->kernel_w;
    ctx.k_total = s->channels * ctx.taps;
    ctx.zero_pad_fix = !s->pad_one && needs_copy;
    ctx.panel = w->panel;
    ctx.tap_plus_one = w->tap_plus_one;
    ctx.out = out;

    const int32_t groups = bnn_groups(s->out_channels);
    const int32_t items = s->batch * s->out_h * groups;
    const bnn_conv_row_fn row = isa->conv_row;
    BNN_PARALLEL_FOR
    for (int32_t i = 0; i < items; i++) {
        const int32_t g = i % groups, r = i / groups;
        row(&ctx, r / s->out_h, r % s->out_h, g);
    }
    free(padded);
    return BNN_OK;
}

/* ---- max-pool ---- */

int bnn_bmaxpool2d(const uint64_t *x, int32_t batch, int32_t in_h, int32_t in_w, int32_t words, int32_t kernel_h,
                   int32_t kernel_w, int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                   int32_t out_h, int32_t out_w, uint64_t *out, int threads) {
    if (!x || !out || batch <= 0 || in_h <= 0 || in_w <= 0 || words <= 0 || kernel_h <= 0 || kernel_w <= 0 ||
        stride_h <= 0 || stride_w <= 0 || pad_top < 0 || pad_left < 0 || pad_top >= kernel_h ||
        pad_left >= kernel_w || out_h <= 0 || out_w <= 0 ||
        (int64_t)(out_h - 1) * stride_h - pad_top >= in_h || (int64_t)(out_w - 1) * stride_w - pad_left >= in_w)
        return BNN_EINVAL;
    threads = bnn_clamp_threads(threads);
    const int32_t rows = batch * out_h;
    BNN_PARALLEL_FOR
    for (int32_t r = 0; r < rows; r++) {
        const int32_t n = r / out_h, oy = r % out_h;
        for (int32_t ox = 0; ox < out_w; ox++) {
            uint64_t *dst = out + (((size_t)n * out_h + oy) * out_w + ox) * words;
            for (int32_t c = 0; c < words; c++) dst[c] = ~(uint64_t)0;
            for (int32_t ky = 0; ky < kernel_h; ky++) {
                const int32_t iy = oy * stride_h - pad_top + ky;
                if (iy < 0 || iy >= in_h) continue;
                for (int32_t kx = 0; kx < kernel_w; kx++) {
                    const int32_t ix = ox * stride_w - pad_left + kx;
                    if (ix < 0 || ix >= in_w) continue;
                    const uint64_t *src = x + (((size_t)n * in_h + iy) * in_w + ix) * words;
                    for (int32_t c = 0; c < words; c++) dst[c] &= src[c];
                }
            }
        }
    }
    return BNN_OK;
}

/* ---- roofline ---- */

uint64_t bnn_roofline_bits(int isa) { return bnn_isa_available(isa) ? isa_table[isa].roofline_bits : 0; }

uint64_t bnn_roofline_run(int isa, uint64_t iterations) {
    return bnn_isa_available(isa) ? isa_table[isa].roofline(iterations) : 0;
}
