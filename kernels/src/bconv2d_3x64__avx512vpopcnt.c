/* Binary convolution row kernel, AVX-512 with VPOPCNTDQ.
 *
 * Lanes are output channels: each zmm holds one 64-bit weight word of 8
 * output channels; the matching input word is broadcast, so one
 * vpxorq + vpopcntq + vpaddq does 8 x 64 binary MACs with no horizontal
 * reduction.  A tile is 3 output pixels x up to 64 output channels (24 zmm
 * accumulators; 3 measured faster than 2 or 4 pixels on Zen 4), which also
 * makes one packed output word per pixel. */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx512vpopcntdq,avx2,popcnt"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512vl,avx512dq,avx512bw,avx512vpopcntdq,avx2,popcnt")
#endif
#include <immintrin.h>
#include "internal.h"

#ifndef TILE_PIXELS /* overridable (2..4) to re-measure the choice */
#define TILE_PIXELS 3
#endif

/* Write the accumulated mismatch counts of MR pixels through the output
 * transform.  Vectors are the outer loop so each channel vector's scale, bias
 * or threshold is loaded once per tile, not once per pixel. */
BNN_INLINE void emit_tile(const bnn_conv_ctx *ctx, __m512i acc[][BNN_GROUP / BNN_LANES], const int MR, const int NV,
                          int32_t oy, int32_t ox, size_t pixel, int32_t g) {
    const bnn_conv_shape *s = ctx->shape;
    const bnn_output *out = ctx->out;
    const int32_t o0 = g * BNN_GROUP;
    const int32_t count = s->out_channels - o0 < BNN_GROUP ? s->out_channels - o0 : BNN_GROUP;
    int32_t corr[TILE_PIXELS][BNN_GROUP];
    int border[TILE_PIXELS];
    for (int m = 0; m < MR; m++) {
        border[m] = ctx->zero_pad_fix && (bnn_row_on_border(s, oy) || bnn_col_on_border(s, ox + m));
        if (border[m]) bnn_border_correction(ctx, oy, ox + m, o0, count, corr[m]);
    }
    const __m512i k_total = _mm512_set1_epi64(ctx->k_total);
    const size_t base = pixel * (size_t)s->out_channels + (size_t)o0;
    uint64_t word[TILE_PIXELS] = {0};
    for (int v = 0; v < NV; v++) {
        const int32_t left = count - v * BNN_LANES;
        const __mmask8 lanes = left >= BNN_LANES ? (__mmask8)0xFF : (__mmask8)((1u << left) - 1u);
        const int32_t o = o0 + v * BNN_LANES;
        __m256i dot[TILE_PIXELS];
        for (int m = 0; m < MR; m++) {
            dot[m] = _mm512_cvtepi64_epi32(_mm512_sub_epi64(k_total, _mm512_slli_epi64(acc[m][v], 1)));
            if (border[m]) dot[m] = _mm256_sub_epi32(dot[m], _mm256_maskz_loadu_epi32(lanes, corr[m] + v * BNN_LANES));
        }
        switch (out->kind) {
        case BNN_OUTPUT_INT32:
            for (int m = 0; m < MR; m++)
                _mm256_mask_storeu_epi32((int32_t *)out->data + base + (size_t)m * s->out_channels + v * BNN_LANES,
                                         lanes, dot[m]);
            break;
        case BNN_OUTPUT_FLOAT32: {
            const __m256 scale = _mm256_maskz_loadu_ps(lanes, out->scale + o);
            const __m256 bias = _mm256_maskz_loadu_ps(lanes, out->bias + o);
            for (int m = 0; m < MR; m++) {
                const __m256 y = _mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(dot[m])), bias);
                _mm256_mask_storeu_ps((float *)out->data + base + (size_t)m * s->out_channels + v * BNN_LANES,
                                      lanes, y);
            }
            break;
        }
        default: {
            const __m256i thr = _mm256_maskz_loadu_epi32(lanes, out->threshold + o);
            const __m128i neg_bytes = _mm_maskz_loadu_epi8((__mmask16)lanes, out->negative + o);
            const __mmask8 neg = (__mmask8)_mm_test_epi8_mask(neg_bytes, neg_bytes);
            for (int m = 0; m < MR; m++) {
                const __mmask8 below = _mm256_cmplt_epi32_mask(dot[m], thr);
                const __mmask8 above = _mm256_cmpgt_epi32_mask(dot[m], thr);
                const __mmask8 bits = (__mmask8)(((below & ~neg) | (above & neg)) & lanes);
                word[m] |= (uint64_t)bits << (v * BNN_LANES);
            }
            break;
        }
        }
    }
    if (out->kind == BNN_OUTPUT_PACKED)
        for (int m = 0; m < MR; m++)
            ((uint64_t *)out->data)[(pixel + (size_t)m) * (size_t)bnn_words(s->out_channels) + (size_t)g] = word[m];
}

/* MR pixels x NV vectors: accumulate popcount(x ^ w) over every tap and word, then emit. */
BNN_INLINE void tile(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, const int MR, const int NV,
                     int32_t n, int32_t oy, int32_t ox, int32_t g) {
    const bnn_conv_shape *s = ctx->shape;
    const ptrdiff_t pix_step = bnn_pixel_step(ctx);
    const int32_t words = ctx->words;
    __m512i acc[TILE_PIXELS][BNN_GROUP / BNN_LANES];
    for (int m = 0; m < MR; m++)
        for (int v = 0; v < NV; v++) acc[m][v] = _mm512_setzero_si512();
    /* Within one kernel row the kw taps of a pixel are kw * words contiguous
     * words, in the input and in the panel alike: one flat loop covers them. */
    const int32_t row_words = s->kernel_w * words;
    const uint64_t *wp = wg;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        const uint64_t *xr = x + ky * ctx->row_stride;
        for (int32_t j = 0; j < row_words; j++, wp += NV * BNN_LANES) {
            __m512i w[BNN_GROUP / BNN_LANES];
            for (int v = 0; v < NV; v++) w[v] = _mm512_loadu_si512((const void *)(wp + v * BNN_LANES));
            for (int m = 0; m < MR; m++) {
                const __m512i b = _mm512_set1_epi64((long long)xr[m * pix_step + j]);
                for (int v = 0; v < NV; v++)
                    acc[m][v] = _mm512_add_epi64(acc[m][v], _mm512_popcnt_epi64(_mm512_xor_si512(b, w[v])));
            }
        }
    }
    const size_t pixel = ((size_t)n * s->out_h + oy) * s->out_w + ox;
    emit_tile(ctx, acc, MR, NV, oy, ox, pixel, g);
}

typedef void (*tile_fn)(const bnn_conv_ctx *, const uint64_t *, const uint64_t *, int32_t, int32_t, int32_t,
                        int32_t);

#define DEFINE_TILE(MR, NV)                                                                                    \
    static void tile_##MR##x##NV(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t n,  \
                                 int32_t oy, int32_t ox, int32_t g) {                                         \
        tile(ctx, x, wg, MR, NV, n, oy, ox, g);                                                               \
    }
#define DEFINE_TILES(MR)                                                                                       \
    DEFINE_TILE(MR, 1) DEFINE_TILE(MR, 2) DEFINE_TILE(MR, 3) DEFINE_TILE(MR, 4) DEFINE_TILE(MR, 5)             \
    DEFINE_TILE(MR, 6) DEFINE_TILE(MR, 7) DEFINE_TILE(MR, 8)
#define TILE_ROW(MR) {tile_##MR##x1, tile_##MR##x2, tile_##MR##x3, tile_##MR##x4, tile_##MR##x5, tile_##MR##x6, tile_##MR##x7, tile_##MR##x8}
DEFINE_TILES(1)
DEFINE_TILES(2)
#if TILE_PIXELS >= 3
DEFINE_TILES(3)
#endif
#if TILE_PIXELS >= 4
DEFINE_TILES(4)
#endif

/* tiles[p - 1][nv - 1]: p pixels (1..TILE_PIXELS) x nv vectors of 8 channels. */
static const tile_fn tiles[TILE_PIXELS][8] = {
    TILE_ROW(1), TILE_ROW(2),
#if TILE_PIXELS >= 3
    TILE_ROW(3),
#endif
#if TILE_PIXELS >= 4
    TILE_ROW(4),
#endif
};

void bnn_bconv2d_row_3x64__avx512vpopcnt(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g) {
    const bnn_conv_shape *s = ctx->shape;
    const int32_t nv = bnn_group_vectors(s->out_channels, g);
    const uint64_t *wg = bnn_panel_group(ctx, g);
    const uint64_t *xrow = bnn_row_input(ctx, n, oy);
    const ptrdiff_t pix_step = bnn_pixel_step(ctx);
    int32_t ox = 0;
    for (; ox + TILE_PIXELS <= s->out_w; ox += TILE_PIXELS)
        tiles[TILE_PIXELS - 1][nv - 1](ctx, xrow + ox * pix_step, wg, n, oy, ox, g);
    if (ox < s->out_w) tiles[s->out_w - ox - 1][nv - 1](ctx, xrow + ox * pix_step, wg, n, oy, ox, g);
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
