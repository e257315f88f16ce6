/* Binary convolution row kernel, AVX2.
 *
 * Same lane layout as the AVX-512 kernel (lanes are output channels, the
 * input word is broadcast).  AVX2 has no vector popcount, so each byte is
 * counted with the nibble lookup (two vpshufb into a 16-entry table, Mula's
 * method); byte counts accumulate for up to 31 words (31 * 8 < 256) before
 * vpsadbw widens them into 64-bit lanes.  A tile is 4 output pixels x 8
 * output channels (two ymm per pixel). */
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,popcnt"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx2,popcnt")
#endif
#include <immintrin.h>
#include "internal.h"

#ifndef TILE_PIXELS
#define TILE_PIXELS 4
#endif
#define FLUSH_WORDS 31 /* byte counters hold at most 31 words of 8 bits each */

BNN_INLINE __m256i popcount_bytes(__m256i v, __m256i table, __m256i low4) {
    const __m256i lo = _mm256_and_si256(v, low4);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
    return _mm256_add_epi8(_mm256_shuffle_epi8(table, lo), _mm256_shuffle_epi8(table, hi));
}

/* Dot products of MR pixels with the 8 channels of vector v of the group. */
BNN_INLINE void tile(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t nv, int32_t v,
                     const int MR, int32_t (*dot)[BNN_GROUP]) {
    const bnn_conv_shape *s = ctx->shape;
    const ptrdiff_t pix_step = bnn_pixel_step(ctx);
    const int32_t words = ctx->words;
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3,
                                           1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256i bytes[TILE_PIXELS][2], wide[TILE_PIXELS][2];
    for (int m = 0; m < MR; m++)
        for (int h = 0; h < 2; h++) bytes[m][h] = wide[m][h] = _mm256_setzero_si256();
    int pending = 0;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            const uint64_t *xt = x + ky * ctx->row_stride + (ptrdiff_t)kx * words;
            const uint64_t *wt = wg + ((size_t)(ky * s->kernel_w + kx) * words * nv + v) * BNN_LANES;
            for (int32_t c = 0; c < words; c++) {
                const uint64_t *wv = wt + (size_t)c * nv * BNN_LANES;
                const __m256i w0 = _mm256_loadu_si256((const __m256i *)wv);
                const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wv + 4));
                for (int m = 0; m < MR; m++) {
                    const __m256i b = _mm256_set1_epi64x((long long)xt[m * pix_step + c]);
                    bytes[m][0] = _mm256_add_epi8(bytes[m][0], popcount_bytes(_mm256_xor_si256(b, w0), table, low4));
                    bytes[m][1] = _mm256_add_epi8(bytes[m][1], popcount_bytes(_mm256_xor_si256(b, w1), table, low4));
                }
                if (++pending == FLUSH_WORDS) {
                    for (int m = 0; m < MR; m++)
                        for (int h = 0; h < 2; h++) {
                            wide[m][h] = _mm256_add_epi64(wide[m][h], _mm256_sad_epu8(bytes[m][h], _mm256_setzero_si256()));
                            bytes[m][h] = _mm256_setzero_si256();
                        }
                    pending = 0;
                }
            }
        }
    }
    for (int m = 0; m < MR; m++) {
        int64_t counts[BNN_LANES];
        for (int h = 0; h < 2; h++) {
            wide[m][h] = _mm256_add_epi64(wide[m][h], _mm256_sad_epu8(bytes[m][h], _mm256_setzero_si256()));
            _mm256_storeu_si256((__m256i *)(counts + 4 * h), wide[m][h]);
        }
        for (int l = 0; l < BNN_LANES; l++) dot[m][v * BNN_LANES + l] = ctx->k_total - 2 * (int32_t)counts[l];
    }
}

BNN_INLINE void pixels(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t nv, const int MR,
                       int32_t n, int32_t oy, int32_t ox, int32_t g) {
    int32_t dot[TILE_PIXELS][BNN_GROUP];
    for (int32_t v = 0; v < nv; v++) tile(ctx, x, wg, nv, v, MR, dot);
    for (int m = 0; m < MR; m++) bnn_finish_pixel(ctx, n, oy, ox + m, g, dot[m]);
}

static void pixels_wide(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t nv, int32_t n,
                        int32_t oy, int32_t ox, int32_t g) {
    pixels(ctx, x, wg, nv, TILE_PIXELS, n, oy, ox, g);
}

static void pixels_one(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t nv, int32_t n,
                       int32_t oy, int32_t ox, int32_t g) {
    pixels(ctx, x, wg, nv, 1, n, oy, ox, g);
}

void bnn_bconv2d_row_4x8__avx2(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g) {
    const bnn_conv_shape *s = ctx->shape;
    const int32_t nv = bnn_group_vectors(s->out_channels, g);
    const uint64_t *wg = bnn_panel_group(ctx, g);
    const uint64_t *xrow = bnn_row_input(ctx, n, oy);
    const ptrdiff_t pix_step = bnn_pixel_step(ctx);
    int32_t ox = 0;
    for (; ox + TILE_PIXELS <= s->out_w; ox += TILE_PIXELS) pixels_wide(ctx, xrow + ox * pix_step, wg, nv, n, oy, ox, g);
    for (; ox < s->out_w; ox++) pixels_one(ctx, xrow + ox * pix_step, wg, nv, n, oy, ox, g);
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
#endif
