/* Compiled programs: run a whole network's forward pass in one call.
 *
 * bnnbench.engine compiles a torch model into a list of ops; this file runs
 * them back to back on a batch, so Python is entered once per batch, not once
 * per layer.  Binary ops call the dispatched kernels; the few float ops a
 * binary network keeps (first layer on the image, last classifier layer) are
 * plain C, compiled for several ISAs by GCC's target_clones and vectorised
 * across output channels.  -ffp-contract=off keeps every clone's arithmetic
 * identical (multiply then add, in the same order). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "internal.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define BNN_FLOAT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BNN_FLOAT_CLONES
#endif

#define CHANNEL_CHUNK 64 /* output channels accumulated at once by the float ops */

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* ---- sign packing of an NCHW float tensor into packed NHWC ---- */

static int pack_nchw(const bnn_conv_shape *s, const float *x, uint64_t *out, int threads) {
    const int32_t words = bnn_words(s->channels);
    const size_t plane = (size_t)s->in_h * s->in_w;
    const int32_t rows = s->batch * s->in_h;
    int nan_found = 0;
    BNN_PARALLEL_FOR
    for (int32_t r = 0; r < rows; r++) {
        const int32_t n = r / s->in_h, y = r % s->in_h;
        for (int32_t xcol = 0; xcol < s->in_w; xcol++) {
            uint64_t *dst = out + (((size_t)n * s->in_h + y) * s->in_w + xcol) * words;
            const float *src = x + (size_t)n * s->channels * plane + (size_t)y * s->in_w + xcol;
            for (int32_t w = 0; w < words; w++) dst[w] = 0;
            for (int32_t c = 0; c < s->channels; c++) {
                const float v = src[(size_t)c * plane];
                if (v != v) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
                    nan_found = 1;
                }
                dst[c / 64] |= (uint64_t)(v < 0.0f) << (c % 64);
            }
        }
    }
    return nan_found ? BNN_ENAN : BNN_OK;
}

/* ---- float convolution on the image (first layer), zero padding ---- */

BNN_FLOAT_CLONES
static void float_conv_pixel(const bnn_conv_shape *s, const float *image, const float *w, int32_t oy, int32_t ox,
                             int32_t o0, int32_t count, float *acc) {
    const size_t plane = (size_t)s->in_h * s->in_w;
    for (int32_t j = 0; j < count; j++) acc[j] = 0.0f;
    for (int32_t ky = 0; ky < s->kernel_h; ky++) {
        const int32_t iy = oy * s->stride_h - s->pad_top + ky;
        if (iy < 0 || iy >= s->in_h) continue;
        for (int32_t kx = 0; kx < s->kernel_w; kx++) {
            const int32_t ix = ox * s->stride_w - s->pad_left + kx;
            if (ix < 0 || ix >= s->in_w) continue;
            for (int32_t c = 0; c < s->channels; c++) {
                const float v = image[(size_t)c * plane + (size_t)iy * s->in_w + ix];
                const float *wt = w + (((size_t)ky * s->kernel_w + kx) * s->channels + c) * s->out_channels + o0;
                for (int32_t j = 0; j < count; j++) acc[j] += v * wt[j];
            }
        }
    }
}

static int float_conv(const bnn_op *op, const bnn_conv_shape *s, const float *x, void *out, int threads) {
    const bnn_output *t = &op->output;
    if (t->kind != BNN_OUTPUT_FLOAT32 && t->kind != BNN_OUTPUT_PACKED) return BNN_EINVAL;
    if (!t->scale || !t->bias || !op->float_weights || !op->float_bias) return BNN_EINVAL;
    const int32_t rows = s->batch * s->out_h, out_words = bnn_words(s->out_channels);
    BNN_PARALLEL_FOR
    for (int32_t r = 0; r < rows; r++) {
        const int32_t n = r / s->out_h, oy = r % s->out_h;
        const float *image = x + (size_t)n * s->channels * s->in_h * s->in_w;
        float acc[CHANNEL_CHUNK];
        for (int32_t ox = 0; ox < s->out_w; ox++) {
            const size_t pixel = ((size_t)n * s->out_h + oy) * s->out_w + ox;
            for (int32_t o0 = 0; o0 < s->out_channels; o0 += CHANNEL_CHUNK) {
                const int32_t count = s->out_channels - o0 < CHANNEL_CHUNK ? s->out_channels - o0 : CHANNEL_CHUNK;
                float_conv_pixel(s, image, op->float_weights, oy, ox, o0, count, acc);
                if (t->kind == BNN_OUTPUT_FLOAT32) {
                    float *dst = (float *)out + pixel * s->out_channels + o0;
                    for (int32_t j = 0; j < count; j++)
                        dst[j] = t->scale[o0 + j] * (acc[j] + op->float_bias[o0 + j]) + t->bias[o0 + j];
                } else {
                    uint64_t word = 0;
                    for (int32_t j = 0; j < count; j++) {
                        const float y = t->scale[o0 + j] * (acc[j] + op->float_bias[o0 + j]) + t->bias[o0 + j];
                        word |= (uint64_t)(y < 0.0f) << j;
                    }
                    ((uint64_t *)out)[pixel * out_words + o0 / 64] = word;
                }
            }
        }
    }
    return BNN_OK;
}

/* ---- float dense layer (classifier), float or packed +-1 input ---- */

BNN_FLOAT_CLONES
static void float_dense_row(const bnn_op *op, const float *xf, const uint64_t *xp, float *dst) {
    const int32_t k = op->shape.channels, o_count = op->shape.out_channels;
    for (int32_t o0 = 0; o0 < o_count; o0 += CHANNEL_CHUNK) {
        const int32_t count = o_count - o0 < CHANNEL_CHUNK ? o_count - o0 : CHANNEL_CHUNK;
        float acc[CHANNEL_CHUNK];
        for (int32_t j = 0; j < count; j++) acc[j] = 0.0f;
        for (int32_t i = 0; i < k; i++) {
            const float v = xp ? (((xp[i / 64] >> (i % 64)) & 1u) ? -1.0f : 1.0f) : xf[i];
            const float *wt = op->float_weights + (size_t)i * o_count + o0;
            for (int32_t j = 0; j < count; j++) acc[j] += v * wt[j];
        }
        for (int32_t j = 0; j < count; j++) dst[o0 + j] = acc[j] + op->float_bias[o0 + j];
    }
}

static int float_dense(const bnn_op *op, int32_t batch, const void *x, float *out, int threads) {
    if (!op->float_weights || !op->float_bias || op->shape.channels <= 0 || op->shape.out_channels <= 0)
        return BNN_EINVAL;
    const int32_t k = op->shape.channels, words = bnn_words(k);
    BNN_PARALLEL_FOR
    for (int32_t n = 0; n < batch; n++) {
        const float *xf = op->packed_input ? NULL : (const float *)x + (size_t)n * k;
        const uint64_t *xp = op->packed_input ? (const uint64_t *)x + (size_t)n * words : NULL;
        float_dense_row(op, xf, xp, out + (size_t)n * op->shape.out_channels);
    }
    return BNN_OK;
}

/* ---- binary max-pool with per-channel min (OR) where BatchNorm's scale is negative ---- */

static int bmaxpool(const bnn_op *op, const bnn_conv_shape *s, const uint64_t *x, uint64_t *out, int threads) {
    const int32_t words = bnn_words(s->channels);
    int status = bnn_bmaxpool2d(x, s->batch, s->in_h, s->in_w, words, s->kernel_h, s->kernel_w, s->stride_h,
                                s->stride_w, s->pad_top, s->pad_left, s->out_h, s->out_w, out, threads);
    if (status != BNN_OK || !op->or_mask) return status;
    /* Channels pooled by OR: redo them as 1 - AND of complements, i.e. OR of the bits. */
    const int32_t rows = s->batch * s->out_h;
    BNN_PARALLEL_FOR
    for (int32_t r = 0; r < rows; r++) {
        const int32_t n = r / s->out_h, oy = r % s->out_h;
        for (int32_t ox = 0; ox < s->out_w; ox++) {
            uint64_t *dst = out + (((size_t)n * s->out_h + oy) * s->out_w + ox) * words;
            for (int32_t c = 0; c < words; c++) {
                if (!op->or_mask[c]) continue;
                uint64_t any = 0;
                for (int32_t ky = 0; ky < s->kernel_h; ky++) {
                    const int32_t iy = oy * s->stride_h - s->pad_top + ky;
                    if (iy < 0 || iy >= s->in_h) continue;
                    for (int32_t kx = 0; kx < s->kernel_w; kx++) {
                        const int32_t ix = ox * s->stride_w - s->pad_left + kx;
                        if (ix < 0 || ix >= s->in_w) continue;
                        any |= x[(((size_t)n * s->in_h + iy) * s->in_w + ix) * words + c];
                    }
                }
                dst[c] = (dst[c] & ~op->or_mask[c]) | (any & op->or_mask[c]);
            }
        }
    }
    return BNN_OK;
}

static void tanh_inplace(float *x, size_t count) {
    for (size_t i = 0; i < count; i++) x[i] = tanhf(x[i]);
}

int bnn_program_run(const bnn_op *ops, int32_t n_ops, const float *input, int32_t batch, void *const *buffers,
                    int threads, double *op_seconds) {
    if (!ops || n_ops <= 0 || !input || batch <= 0 || !buffers) return BNN_EINVAL;
    if (threads < 1) threads = 1;
    const void *in = input;
    for (int32_t i = 0; i < n_ops; i++) {
        const bnn_op *op = &ops[i];
        void *out = buffers[i];
        if (!out) return BNN_EINVAL;
        bnn_conv_shape s = op->shape;
        s.batch = batch;
        const double started = op_seconds ? now_seconds() : 0.0;
        int status;
        switch (op->kind) {
        case BNN_OP_PACK_NCHW: status = pack_nchw(&s, (const float *)in, (uint64_t *)out, threads); break;
        case BNN_OP_FLOAT_CONV: status = float_conv(op, &s, (const float *)in, out, threads); break;
        case BNN_OP_BCONV: {
            bnn_output transform = op->output;
            transform.data = out;
            status = bnn_bconv2d(&s, (const uint64_t *)in, &op->weights, &transform, threads);
            break;
        }
        case BNN_OP_BMAXPOOL: status = bmaxpool(op, &s, (const uint64_t *)in, (uint64_t *)out, threads); break;
        case BNN_OP_FLOAT_DENSE: status = float_dense(op, batch, in, (float *)out, threads); break;
        case BNN_OP_TANH:
            if (op->elements <= 0) return BNN_EINVAL;
            if (out != in) memcpy(out, in, (size_t)batch * (size_t)op->elements * sizeof(float));
            tanh_inplace((float *)out, (size_t)batch * (size_t)op->elements);
            status = BNN_OK;
            break;
        default: status = BNN_EINVAL;
        }
        if (status != BNN_OK) return status;
        if (op_seconds) op_seconds[i] = now_seconds() - started;
        in = out;
    }
    return BNN_OK;
}
