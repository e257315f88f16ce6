/* Internal declarations shared by the dispatch layer and the per-ISA kernels. */
#ifndef BNN_INTERNAL_H
#define BNN_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "bnn.h"

#define BNN_WORD_BITS 64
#define BNN_LANES 8          /* output channels per panel vector (one zmm of u64) */
#define BNN_GROUP 64         /* output channels per panel group (one packed output word) */

#if defined(__GNUC__) || defined(__clang__)
#define BNN_INLINE static inline __attribute__((always_inline))
#define BNN_NOINLINE __attribute__((noinline))
#else
#define BNN_INLINE static inline
#define BNN_NOINLINE
#endif

/* Portable popcount: the compiler builtin where there is one (it falls back
 * to a library routine when the target has no popcount instruction). */
static inline int bnn_popcount64(uint64_t v) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_popcountll(v);
#else
    v = v - ((v >> 1) & 0x5555555555555555ULL);
    v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
    v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((v * 0x0101010101010101ULL) >> 56);
#endif
}

static inline int32_t bnn_words(int32_t channels) { return (channels + BNN_WORD_BITS - 1) / BNN_WORD_BITS; }
static inline int32_t bnn_groups(int32_t out_channels) { return (out_channels + BNN_GROUP - 1) / BNN_GROUP; }

/* Number of 8-channel vectors in output-channel group g. */
static inline int32_t bnn_group_vectors(int32_t out_channels, int32_t g) {
    int32_t rest = out_channels - g * BNN_GROUP;
    if (rest > BNN_GROUP) rest = BNN_GROUP;
    return (rest + BNN_LANES - 1) / BNN_LANES;
}

/* What the SIMD row kernels need to compute output row (n, oy) of one group. */
typedef struct bnn_conv_ctx {
    const bnn_conv_shape *shape;
    const uint64_t *x;         /* input origin, already padded: tap (ky,kx) of pixel (oy,ox) is at
                                  row oy*stride_h+ky, column ox*stride_w+kx */
    ptrdiff_t image_stride;    /* words per image of x */
    ptrdiff_t row_stride;      /* words per row of x */
    int32_t words;             /* words per pixel */
    int32_t taps;              /* kernel_h * kernel_w */
    int32_t k_total;           /* channels * taps: a padded tap reads +1 */
    int32_t zero_pad_fix;      /* nonzero: subtract the +1 contribution of out-of-input taps */
    const uint64_t *panel;
    const int32_t *tap_plus_one;
    const bnn_output *out;
} bnn_conv_ctx;

/* Offset of group g in the panel: every group is laid out as [taps][words][nv][8]. */
static inline const uint64_t *bnn_panel_group(const bnn_conv_ctx *ctx, int32_t g) {
    return ctx->panel + (size_t)g * (size_t)ctx->taps * (size_t)ctx->words * BNN_GROUP;
}

/* Where tap (0, 0) of output pixel (n, oy, 0) reads the input, and the step between output pixels. */
static inline const uint64_t *bnn_row_input(const bnn_conv_ctx *ctx, int32_t n, int32_t oy) {
    return ctx->x + n * ctx->image_stride + (ptrdiff_t)oy * ctx->shape->stride_h * ctx->row_stride;
}
static inline ptrdiff_t bnn_pixel_step(const bnn_conv_ctx *ctx) {
    return (ptrdiff_t)ctx->shape->stride_w * ctx->words;
}

/* Whether output row oy / column ox has any tap outside the input. */
static inline int bnn_row_on_border(const bnn_conv_shape *s, int32_t oy) {
    int32_t iy = oy * s->stride_h - s->pad_top;
    return iy < 0 || iy + s->kernel_h > s->in_h;
}
static inline int bnn_col_on_border(const bnn_conv_shape *s, int32_t ox) {
    int32_t ix = ox * s->stride_w - s->pad_left;
    return ix < 0 || ix + s->kernel_w > s->in_w;
}

/* corr[j] = sum over taps of (oy, ox) outside the input of tap_plus_one[t][o0 + j]
 * for j < count (entries up to BNN_GROUP are zeroed): what the padded (+1)
 * taps added, to be subtracted for zero padding. */
static inline void bnn_border_correction(const bnn_conv_ctx *ctx, int32_t oy, int32_t ox, int32_t o0,
                                         int32_t count, int32_t corr[BNN_GROUP]) {
    const bnn_conv_shape *s = ctx->shape;
    for (int32_t j = 0; j < BNN_GROUP; j++) corr[j] = 0; /* fixed size: vector stores, not rep stos */
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        int32_t iy = oy * s->stride_h - s->pad_top + ky;
        int row_out = iy < 0 || iy >= s->in_h;
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            int32_t ix = ox * s->stride_w - s->pad_left + kx;
            if (!row_out && ix >= 0 && ix < s->in_w) continue;
            const int32_t *tpo = ctx->tap_plus_one + (size_t)(ky * s->kernel_w + kx) * s->out_channels + o0;
            for (int32_t j = 0; j < count; j++) corr[j] += tpo[j];
        }
    }
}

/* Write the dot products dot[0..count) of channels o0.. of one output pixel
 * (pixel = flat index n*OH*OW + oy*OW + ox) through the output transform.
 * Plain C: every ISA file compiles it under its own target flags. */
static inline void bnn_emit_pixel(const bnn_output *out, int32_t out_channels, size_t pixel, int32_t o0,
                                  int32_t count, const int32_t *dot) {
    size_t base = pixel * (size_t)out_channels + (size_t)o0;
    switch (out->kind) {
    case BNN_OUTPUT_INT32: {
        int32_t *dst = (int32_t *)out->data + base;
        for (int32_t j = 0; j < count; j++) dst[j] = dot[j];
        break;
    }
    case BNN_OUTPUT_FLOAT32: {
        float *dst = (float *)out->data + base;
        const float *scale = out->scale + o0, *bias = out->bias + o0;
        for (int32_t j = 0; j < count; j++) dst[j] = scale[j] * (float)dot[j] + bias[j];
        break;
    }
    default: { /* BNN_OUTPUT_PACKED: o0 is a multiple of 64 and count <= 64 */
        const int32_t *thr = out->threshold + o0;
        const uint8_t *neg = out->negative + o0;
        uint64_t word = 0;
        for (int32_t j = 0; j < count; j++) {
            int bit = neg[j] ? dot[j] > thr[j] : dot[j] < thr[j];
            word |= (uint64_t)bit << j;
        }
        uint64_t *dst = (uint64_t *)out->data + pixel * (size_t)bnn_words(out_channels) + (size_t)(o0 / 64);
        *dst = word;
        break;
    }
    }
}

/* Finish one pixel of group g from its dot products (before the zero-padding
 * correction): subtract what out-of-input taps added, then emit. */
static inline void bnn_finish_pixel(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t ox, int32_t g,
                                    int32_t *dot) {
    const bnn_conv_shape *s = ctx->shape;
    const int32_t o0 = g * BNN_GROUP;
    const int32_t count = s->out_channels - o0 < BNN_GROUP ? s->out_channels - o0 : BNN_GROUP;
    if (ctx->zero_pad_fix && (bnn_row_on_border(s, oy) || bnn_col_on_border(s, ox))) {
        int32_t corr[BNN_GROUP];
        bnn_border_correction(ctx, oy, ox, o0, count, corr);
        for (int32_t j = 0; j < count; j++) dot[j] -= corr[j];
    }
    const size_t pixel = ((size_t)n * s->out_h + oy) * s->out_w + ox;
    bnn_emit_pixel(ctx->out, s->out_channels, pixel, o0, count, dot);
}

/* The current ISA's serial sign packer (for callers already inside a parallel loop). */
int bnn_pack_rows(const float *x, size_t rows, size_t channels, uint64_t *out);

/* ---- per-ISA kernels ---- */
/* Sign packing of `rows` rows, serial (bnn_pack_f32 splits rows across threads). */
typedef int (*bnn_pack_fn)(const float *x, size_t rows, size_t channels, uint64_t *out);
typedef void (*bnn_conv_row_fn)(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g);
typedef uint64_t (*bnn_roofline_fn)(uint64_t iterations);

int bnn_pack_f32__scalar(const float *x, size_t rows, size_t channels, uint64_t *out);
int bnn_bconv2d__scalar(const bnn_conv_shape *s, const uint64_t *x, const uint64_t *w, const bnn_output *out,
                        int threads);
uint64_t bnn_roofline__scalar(uint64_t iterations);
#define BNN_ROOFLINE_BITS_SCALAR (4 * 64)

/* Counter-based noise blocks (noise.h): value first + j of stream seed into
 * out[j]; the score block writes mean[j] + sqrt(var[j]) * normal; the
 * sampled-sign block writes PBNet-S activations and their gradients. */
typedef void (*bnn_noise_block_fn)(float *out, uint64_t first, size_t count, uint64_t seed);
typedef void (*bnn_score_block_fn)(const float *mean, const float *var, float *out, uint64_t first, size_t count,
                                   uint64_t seed);
typedef void (*bnn_sampled_sign_block_fn)(const float *mean, const float *var, float *sign, float *d_mean,
                                          float *d_var, uint64_t first, size_t count, uint64_t seed,
                                          float temperature);
typedef struct bnn_noise_fns {
    bnn_noise_block_fn normal;
    bnn_noise_block_fn logistic;
    bnn_score_block_fn noisy_score;
    bnn_sampled_sign_block_fn sampled_sign;
} bnn_noise_fns;
/* Threads actually used for a request of `threads` (1 without OpenMP). */
int bnn_clamp_threads(int threads);
/* The current ISA's noise blocks (dispatch.c). */
const bnn_noise_fns *bnn_current_noise(void);

#define BNN_DECLARE_NOISE_BLOCKS(suffix)                                                                 \
    void bnn_normal_block__##suffix(float *out, uint64_t first, size_t count, uint64_t seed);            \
    void bnn_logistic_block__##suffix(float *out, uint64_t first, size_t count, uint64_t seed);          \
    void bnn_noisy_score_block__##suffix(const float *mean, const float *var, float *out, uint64_t first, \
                                         size_t count, uint64_t seed);                                   \
    void bnn_sampled_sign_block__##suffix(const float *mean, const float *var, float *sign, float *d_mean, \
                                          float *d_var, uint64_t first, size_t count, uint64_t seed,      \
                                          float temperature);
BNN_DECLARE_NOISE_BLOCKS(scalar)

#if defined(__x86_64__) || defined(__i386__)
#define BNN_HAVE_X86 1
int bnn_pack_f32__avx2(const float *x, size_t rows, size_t channels, uint64_t *out);
void bnn_bconv2d_row_4x8__avx2(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g);
uint64_t bnn_roofline__avx2(uint64_t iterations);
#define BNN_ROOFLINE_BITS_AVX2 (4 * 256)
int bnn_pack_f32__avx512(const float *x, size_t rows, size_t channels, uint64_t *out);
void bnn_bconv2d_row_3x64__avx512vpopcnt(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g);
uint64_t bnn_roofline__avx512vpopcnt(uint64_t iterations);
#define BNN_ROOFLINE_BITS_AVX512 (8 * 512)
BNN_DECLARE_NOISE_BLOCKS(avx2)
BNN_DECLARE_NOISE_BLOCKS(avx512)
#endif

#if defined(__aarch64__)
#define BNN_HAVE_NEON 1
int bnn_pack_f32__neon(const float *x, size_t rows, size_t channels, uint64_t *out);
void bnn_bconv2d_row_4x8__neon(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g);
uint64_t bnn_roofline__neon(uint64_t iterations);
#define BNN_ROOFLINE_BITS_NEON (4 * 128)
#endif

/* OpenMP loop over independent work items, split statically across the
 * local variable `threads` (an int in scope); one thread opens no region. */
#ifdef _OPENMP
#include <omp.h>
#define BNN_PARALLEL_FOR _Pragma("omp parallel for num_threads(threads) schedule(static) if(threads > 1)")
#else
#define BNN_PARALLEL_FOR
#endif

#endif
