/* Binary convolution row kernel, NEON (AArch64).
 *
 * Same lane layout as the x86 kernels: a vector of 8 output channels is four
 * uint64x2 registers, the input word is broadcast.  vcntq_u8 counts bits per
 * byte; byte counts accumulate for up to 31 words before vpaddlq widens them.
 * A tile is 4 output pixels x 8 output channels. */
#include "internal.h"
#if defined(BNN_HAVE_NEON)
#include <arm_neon.h>

#define TILE_PIXELS 4
#define FLUSH_WORDS 31

static inline uint64x2_t widen(uint8x16_t bytes) { return vpaddlq_u32(vpaddlq_u16(vpaddlq_u8(bytes))); }

static inline void tile(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t nv, int32_t v,
                        const int MR, int32_t (*dot)[BNN_GROUP]) {
    const bnn_conv_shape *s = ctx->shape;
    const ptrdiff_t pix_step = bnn_pixel_step(ctx);
    const int32_t words = ctx->words;
    uint8x16_t bytes[TILE_PIXELS][4];
    uint64x2_t wide[TILE_PIXELS][4];
    for (int m = 0; m < MR; m++)
        for (int h = 0; h < 4; h++) {
            bytes[m][h] = vdupq_n_u8(0);
            wide[m][h] = vdupq_n_u64(0);
        }
    int pending = 0;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            const uint64_t *xt = x + ky * ctx->row_stride + (ptrdiff_t)kx * words;
            const uint64_t *wt = wg + ((size_t)(ky * s->kernel_w + kx) * words * nv + v) * BNN_LANES;
            for (int32_t c = 0; c < words; c++) {
                const uint64_t *wv = wt + (size_t)c * nv * BNN_LANES;
                uint64x2_t w[4];
                for (int h = 0; h < 4; h++) w[h] = vld1q_u64(wv + 2 * h);
                for (int m = 0; m < MR; m++) {
                    const uint64x2_t b = vdupq_n_u64(xt[m * pix_step + c]);
                    for (int h = 0; h < 4; h++)
                        bytes[m][h] = vaddq_u8(bytes[m][h], vcntq_u8(vreinterpretq_u8_u64(veorq_u64(b, w[h]))));
                }
                if (++pending == FLUSH_WORDS) {
                    for (int m = 0; m < MR; m++)
                        for (int h = 0; h < 4; h++) {
                            wide[m][h] = vaddq_u64(wide[m][h], widen(bytes[m][h]));
                            bytes[m][h] = vdupq_n_u8(0);
                        }
                    pending = 0;
                }
            }
        }
    }
    for (int m = 0; m < MR; m++)
        for (int h = 0; h < 4; h++) {
            const uint64x2_t total = vaddq_u64(wide[m][h], widen(bytes[m][h]));
            dot[m][v * BNN_LANES + 2 * h] = ctx->k_total - 2 * (int32_t)vgetq_lane_u64(total, 0);
            dot[m][v * BNN_LANES + 2 * h + 1] = ctx->k_total - 2 * (int32_t)vgetq_lane_u64(total, 1);
        }
}

static void pixels(const bnn_conv_ctx *ctx, const uint64_t *x, const uint64_t *wg, int32_t nv, int MR, int32_t n,
                   int32_t oy, int32_t ox, int32_t g) {
    int32_t dot[TILE_PIXELS][BNN_GROUP];
    for (int32_t v = 0; v < nv; v++) tile(ctx, x, wg, nv, v, MR, dot);
    for (int m = 0; m < MR; m++) bnn_finish_pixel(ctx, n, oy, ox + m, g, dot[m]);
}

void bnn_bconv2d_row_4x8__neon(const bnn_conv_ctx *ctx, int32_t n, int32_t oy, int32_t g) {
    const bnn_conv_shape *s = ctx->shape;
    const int32_t nv = bnn_group_vectors(s->out_channels, g);
    const uint64_t *wg = bnn_panel_group(ctx, g);
    const uint64_t *xrow = bnn_row_input(ctx, n, oy);
    const ptrdiff_t pix_step = bnn_pixel_step(ctx);
    int32_t ox = 0;
    for (; ox + TILE_PIXELS <= s->out_w; ox += TILE_PIXELS) pixels(ctx, xrow + ox * pix_step, wg, nv, TILE_PIXELS, n, oy, ox, g);
    for (; ox < s->out_w; ox++) pixels(ctx, xrow + ox * pix_step, wg, nv, 1, n, oy, ox, g);
}

/* Sign packing: compare 4 floats with zero per step, collect lane bits. */
int bnn_pack_f32__neon(const float *x, size_t rows, size_t channels, uint64_t *out) {
    const size_t words = (channels + 63) / 64, full = channels / 4;
    const uint32x4_t weights = {1u, 2u, 4u, 8u};
    uint32x4_t unordered = vdupq_n_u32(0);
    int tail_nan = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * channels;
        uint64_t *dst = out + r * words;
        for (size_t w = 0; w < words; w++) dst[w] = 0;
        for (size_t q = 0; q < full; q++) {
            const float32x4_t v = vld1q_f32(src + q * 4);
            const uint32x4_t negative = vcltq_f32(v, vdupq_n_f32(0.0f));
            unordered = vorrq_u32(unordered, vmvnq_u32(vceqq_f32(v, v)));
            const uint64_t bits = vaddvq_u32(vandq_u32(negative, weights));
            dst[q / 16] |= bits << ((q % 16) * 4);
        }
        for (size_t c = full * 4; c < channels; c++) {
            tail_nan |= src[c] != src[c];
            dst[c / 64] |= (uint64_t)(src[c] < 0.0f) << (c % 64);
        }
    }
    return vmaxvq_u32(unordered) || tail_nan ? BNN_ENAN : BNN_OK;
}

uint64_t bnn_roofline__neon(uint64_t iterations) {
    const uint64x2_t w = {0x9e3779b97f4a7c15ULL, 0x3c6ef372fe94f82aULL};
    uint64x2_t x[4], wide[4];
    uint8x16_t bytes[4];
    for (int i = 0; i < 4; i++) {
        x[i] = vdupq_n_u64(0x0123456789abcdefULL * (uint64_t)(i + 1));
        wide[i] = vdupq_n_u64(0);
        bytes[i] = vdupq_n_u8(0);
    }
    uint64_t it = 0;
    while (it < iterations) {
        const uint64_t round = iterations - it < 31 ? iterations - it : 31;
        for (uint64_t r = 0; r < round; r++)
            for (int i = 0; i < 4; i++) {
                x[i] = veorq_u64(x[i], w);
                __asm__ volatile("" : "+w"(x[i]));
                bytes[i] = vaddq_u8(bytes[i], vcntq_u8(vreinterpretq_u8_u64(x[i])));
            }
        for (int i = 0; i < 4; i++) {
            wide[i] = vaddq_u64(wide[i], widen(bytes[i]));
            bytes[i] = vdupq_n_u8(0);
        }
        it += round;
    }
    uint64_t total = 0;
    for (int i = 0; i < 4; i++) total += vgetq_lane_u64(wide[i], 0) + vgetq_lane_u64(wide[i], 1);
    return total;
}
#endif
