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

/* ---- float convolution on the image (first layer), zero padding ----
 * The image is copied once into a zero-framed buffer, so the inner loops have
 * no bounds tests; a tile is 4 output pixels x 16 output channels with fixed
 * trip counts, which the compiler keeps in vector registers.  Weights are
 * [kh][kw][C][O] padded with zeros to a multiple of 16 output channels. */

#define FC_PIXELS 4
#define FC_LANES 16

typedef struct float_conv_geometry {
    const bnn_conv_shape *s;
    int32_t hp, wp;   /* padded image size; wp also covers the last tile's unused pixels */
    int32_t o_pad;    /* output channels rounded up to FC_LANES */
    int32_t taps;     /* kernel_h * kernel_w * channels, in the weights' order */
    const ptrdiff_t *offsets; /* offsets[t]: where tap t of pixel (0, 0) reads the padded image */
} float_conv_geometry;

/* 16 floats as one GNU C vector: one zmm in the AVX-512 clone, two ymm in the
 * AVX2 one, four xmm in the baseline; the kernels already require GCC or clang. */
typedef float lanes16 __attribute__((vector_size(FC_LANES * sizeof(float))));

/* acc[p] = sum over taps of image[tap offset + p * stride] * w[tap][o0 .. o0+16), p < FC_PIXELS. */
BNN_INLINE void float_conv_tile(const float_conv_geometry *g, const float *origin, const float *w, int32_t o0,
                                lanes16 acc[FC_PIXELS]) {
    const ptrdiff_t step = g->s->stride_w;
    lanes16 acc0 = {0}, acc1 = {0}, acc2 = {0}, acc3 = {0}; /* FC_PIXELS named registers */
    for (int32_t t = 0; t < g->taps; t++) {
        lanes16 weights;
        memcpy(&weights, w + (size_t)t * g->o_pad + o0, sizeof weights);
        const float *x = origin + g->offsets[t];
        acc0 += x[0] * weights;
        acc1 += x[step] * weights;
        acc2 += x[2 * step] * weights;
        acc3 += x[3 * step] * weights;
    }
    acc[0] = acc0;
    acc[1] = acc1;
    acc[2] = acc2;
    acc[3] = acc3;
}

/* One output row of float results, [out_w][out_channels]: every tile of
 * FC_PIXELS pixels x 16 channels, y = scale * (acc + conv_bias) + shift.
 * scale, conv_bias and shift are padded to o_pad by the caller. */
BNN_FLOAT_CLONES
static void float_conv_row(const float_conv_geometry *g, const float *image, const float *w, const float *scale,
                           const float *conv_bias, const float *shift, int32_t oy, float *row) {
    const bnn_conv_shape *s = g->s;
    for (int32_t ox = 0; ox < s->out_w; ox += FC_PIXELS) {
        const int32_t pixels = s->out_w - ox < FC_PIXELS ? s->out_w - ox : FC_PIXELS;
        const float *origin = image + (size_t)oy * s->stride_h * g->wp + (size_t)ox * s->stride_w;
        for (int32_t o0 = 0; o0 < s->out_channels; o0 += FC_LANES) {
            lanes16 acc[FC_PIXELS], a, b, c;
            float_conv_tile(g, origin, w, o0, acc);
            memcpy(&a, scale + o0, sizeof a);
            memcpy(&b, conv_bias + o0, sizeof b);
            memcpy(&c, shift + o0, sizeof c);
            const int32_t count = s->out_channels - o0 < FC_LANES ? s->out_channels - o0 : FC_LANES;
            for (int32_t p = 0; p < pixels; p++) {
                const lanes16 y = a * (acc[p] + b) + c;
                float *dst = row + (size_t)(ox + p) * s->out_channels + o0;
                if (count == FC_LANES) {
                    memcpy(dst, &y, sizeof y); /* one vector store */
                } else {
                    for (int32_t j = 0; j < count; j++) dst[j] = y[j];
                }
            }
        }
    }
}

/* A copy of v[0..count) padded with zeros to `padded` entries. */
static float *padded_copy(const float *v, int32_t count, int32_t padded) {
    float *copy = calloc((size_t)padded, sizeof(float));
    if (copy) memcpy(copy, v, (size_t)count * sizeof(float));
    return copy;
}

static int float_conv(const bnn_op *op, const bnn_conv_shape *s, const float *x, void *out, int threads) {
    const bnn_output *t = &op->output;
    if (t->kind != BNN_OUTPUT_FLOAT32 && t->kind != BNN_OUTPUT_PACKED) return BNN_EINVAL;
    if (!t->scale || !t->bias || !op->float_weights || !op->float_bias) return BNN_EINVAL;
    const int32_t tiles_w = (s->out_w + FC_PIXELS - 1) / FC_PIXELS * FC_PIXELS;
    float_conv_geometry g = {s, (s->out_h - 1) * s->stride_h + s->kernel_h, (tiles_w - 1) * s->stride_w + s->kernel_w,
                             (s->out_channels + FC_LANES - 1) / FC_LANES * FC_LANES, s->kernel_h * s->kernel_w * s->channels,
                             NULL};
    const size_t plane = (size_t)g.hp * g.wp, image_size = (size_t)s->channels * plane;
    float *padded = calloc((size_t)s->batch * image_size, sizeof(float));
    ptrdiff_t *offsets = malloc((size_t)g.taps * sizeof(ptrdiff_t));
    float *scale = padded_copy(t->scale, s->out_channels, g.o_pad);
    float *conv_bias = padded_copy(op->float_bias, s->out_channels, g.o_pad);
    float *shift = padded_copy(t->bias, s->out_channels, g.o_pad);
    int status = BNN_OK;
    if (!padded || !offsets || !scale || !conv_bias || !shift) {
        status = BNN_ENOMEM;
        goto done;
    }
    for (int32_t ky = 0; ky < s->kernel_h; ky++)
        for (int32_t kx = 0; kx < s->kernel_w; kx++)
            for (int32_t c = 0; c < s->channels; c++)
                offsets[(ky * s->kernel_w + kx) * s->channels + c] = (ptrdiff_t)c * (ptrdiff_t)plane + ky * g.wp + kx;
    g.offsets = offsets;
    for (int32_t n = 0; n < s->batch; n++)
        for (int32_t c = 0; c < s->channels; c++)
            for (int32_t iy = 0; iy < s->in_h && iy + s->pad_top < g.hp; iy++) {
                const int32_t cols = s->in_w < g.wp - s->pad_left ? s->in_w : g.wp - s->pad_left;
                memcpy(padded + n * image_size + c * plane + (size_t)(iy + s->pad_top) * g.wp + s->pad_left,
                       x + (((size_t)n * s->channels + c) * s->in_h + iy) * s->in_w, (size_t)cols * sizeof(float));
            }
    const int32_t rows = s->batch * s->out_h, out_words = bnn_words(s->out_channels);
    const int packed = t->kind == BNN_OUTPUT_PACKED;
    int failure = BNN_OK; /* BNN_ENOMEM or BNN_ENAN from any row */
    BNN_PARALLEL_FOR
    for (int32_t r = 0; r < rows; r++) {
        const int32_t n = r / s->out_h, oy = r % s->out_h;
        const size_t row_values = (size_t)s->out_w * s->out_channels;
        /* packed output: the row goes through a float scratch row and the ISA's sign packer */
        float *row = packed ? malloc(row_values * sizeof(float)) : (float *)out + (size_t)r * row_values;
        int row_status = row ? BNN_OK : BNN_ENOMEM;
        if (row) {
            float_conv_row(&g, padded + n * image_size, op->float_weights, scale, conv_bias, shift, oy, row);
            if (packed) {
                row_status = bnn_pack_rows(row, (size_t)s->out_w, (size_t)s->out_channels,
                                           (uint64_t *)out + (size_t)r * s->out_w * out_words);
                free(row);
            }
        }
        if (row_status != BNN_OK) {
#ifdef _OPENMP
#pragma omp atomic write
#endif
            failure = row_status;
        }
    }
    status = failure;
done:
    free(padded);
    free(offsets);
    free(scale);
    free(conv_bias);
    free(shift);
    return status;
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
