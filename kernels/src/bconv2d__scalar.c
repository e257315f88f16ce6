/* Portable reference binary convolution (the oracle), from the definition:
 * out[n,oy,ox,o] = sum over taps and channels of x * w in {-1,+1}, where a
 * tap outside the input reads +1 (pad_one) or 0.  Works on the raw weight
 * layout [O][kh][kw][words]; no panel, no padded copy. */
#include "internal.h"

static int32_t dot_at(const bnn_conv_shape *s, const uint64_t *x, const uint64_t *w, int32_t n, int32_t oy,
                      int32_t ox, int32_t o) {
    const int32_t words = bnn_words(s->channels);
    int32_t dot = 0;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            const int32_t iy = oy * s->stride_h - s->pad_top + ky;
            const int32_t ix = ox * s->stride_w - s->pad_left + kx;
            const uint64_t *wt = w + (((size_t)o * s->kernel_h + ky) * s->kernel_w + kx) * words;
            const int inside = iy >= 0 && iy < s->in_h && ix >= 0 && ix < s->in_w;
            if (!inside && !s->pad_one) continue; /* zero padding contributes nothing */
            int32_t mismatches = 0;
            for (int32_t c = 0; c < words; c++) {
                /* padded +1 input: every bit 0, so x ^ w = w */
                uint64_t xv = inside ? x[(((size_t)n * s->in_h + iy) * s->in_w + ix) * words + c] : 0;
                mismatches += bnn_popcount64(xv ^ wt[c]);
            }
            dot += s->channels - 2 * mismatches;
        }
    }
    return dot;
}

int bnn_bconv2d__scalar(const bnn_conv_shape *s, const uint64_t *x, const uint64_t *w, const bnn_output *out,
                        int threads) {
    const int32_t rows = s->batch * s->out_h;
    BNN_PARALLEL_FOR
    for (int32_t r = 0; r < rows; r++) {
        const int32_t n = r / s->out_h, oy = r % s->out_h;
        int32_t dot[BNN_GROUP];
        for (int32_t ox = 0; ox < s->out_w; ox++) {
            const size_t pixel = ((size_t)n * s->out_h + oy) * s->out_w + ox;
            for (int32_t o0 = 0; o0 < s->out_channels; o0 += BNN_GROUP) {
                int32_t count = s->out_channels - o0 < BNN_GROUP ? s->out_channels - o0 : BNN_GROUP;
                for (int32_t j = 0; j < count; j++) dot[j] = dot_at(s, x, w, n, oy, ox, o0 + j);
                bnn_emit_pixel(out, s->out_channels, pixel, o0, count, dot);
            }
        }
    }
    return BNN_OK;
}
