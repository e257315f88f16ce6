/* Public entry points of the counter-based noise (see noise.h): whole
 * tensors split into contiguous blocks across threads, each block filled by
 * the current ISA's noise functions.  Since value i depends only on (seed, i),
 * the split changes nothing in the result. */
#include <stdlib.h>
#include "noise.h"

void bnn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    bnn_philox4x32_10_inline(c, key[0], key[1]);
    for (int j = 0; j < 4; j++) out[j] = c[j];
}

/* Fill out[0..count) with values first.. of `seed` by `block`, threads splitting the range. */
static int fill(bnn_noise_block_fn block, float *out, uint64_t first, size_t count, uint64_t seed, int threads) {
    if (!out || count > UINT64_MAX - first) return BNN_EINVAL;
    threads = bnn_clamp_threads(threads);
    if (count < (size_t)threads * 4096u) threads = 1; /* not worth a parallel region */
    const size_t share = (count + (size_t)threads - 1) / (size_t)threads;
    BNN_PARALLEL_FOR
    for (int t = 0; t < threads; t++) {
        const size_t start = (size_t)t * share;
        if (start < count) block(out + start, first + start, count - start < share ? count - start : share, seed);
    }
    return BNN_OK;
}

int bnn_normal_f32(float *out, uint64_t first, size_t count, uint64_t seed, int threads) {
    return fill(bnn_current_noise()->normal, out, first, count, seed, threads);
}

int bnn_logistic_f32(float *out, uint64_t first, size_t count, uint64_t seed, int threads) {
    return fill(bnn_current_noise()->logistic, out, first, count, seed, threads);
}

int bnn_sampled_sign_f32(const float *mean, const float *var, size_t count, float temperature, uint64_t seed,
                         float *sign, float *d_mean, float *d_var, int threads) {
    if (!mean || !var || !sign || !d_mean || !d_var || !(temperature > 0.0f))
        return BNN_EINVAL;
    threads = bnn_clamp_threads(threads);
    if (count < (size_t)threads * 4096u) threads = 1;
    const bnn_sampled_sign_block_fn block = bnn_current_noise()->sampled_sign;
    const size_t share = (count + (size_t)threads - 1) / (size_t)threads;
    BNN_PARALLEL_FOR
    for (int t = 0; t < threads; t++) {
        const size_t start = (size_t)t * share;
        if (start < count) {
            const size_t n = count - start < share ? count - start : share;
            block(mean + start, var + start, sign + start, d_mean + start, d_var + start, start, n, seed,
                  temperature);
        }
    }
    return BNN_OK;
}

/* Values per chunk of planes scored at once (64 KiB of floats, within L2). */
#define BNN_SCORE_CHUNK 16384u

/* The index of the winner between the current best (value *best, index
 * where) and candidate (v, at): strictly larger or NaN wins, so among equal
 * values the first scanned stays (torch's max_pool2d rule).  Selected with
 * masks, not branches: with random noise a branch would be mispredicted half
 * the time. */
static inline int64_t take_larger(float *best, int64_t where, float v, int64_t at) {
    const int32_t take = (v > *best) | (v != v);
    const uint64_t mask = 0u - (uint64_t)take;
    *best = bnn_select(take, v, *best);
    return (int64_t)(((uint64_t)at & mask) | ((uint64_t)where & ~mask));
}

/* indices[oy][ox] = position in the plane of the largest score in window
 * (oy, ox) of one scored plane, windows scanned row by row.  Indices are
 * size_t so that the loops vectorize even under -fwrapv (Python's CFLAGS),
 * which forbids assuming a signed index does not wrap. */
static void argmax_plane(const float *score, size_t width, size_t kernel, size_t out_h, size_t out_w,
                         int64_t *indices) {
    for (size_t oy = 0; oy < out_h; oy++) {
        int64_t *where = indices + oy * out_w;
        const size_t row0 = oy * kernel * width;
        if (kernel == 2) { /* PBNet's pooling: the four taps written out */
            const float *top = score + row0, *bottom = top + width;
            for (size_t ox = 0; ox < out_w; ox++) {
                const int64_t at = (int64_t)(row0 + 2 * ox);
                float best = top[2 * ox];
                int64_t index = take_larger(&best, at, top[2 * ox + 1], at + 1);
                index = take_larger(&best, index, bottom[2 * ox], at + (int64_t)width);
                where[ox] = take_larger(&best, index, bottom[2 * ox + 1], at + (int64_t)width + 1);
            }
            continue;
        }
        for (size_t ox = 0; ox < out_w; ox++) {
            const size_t at = row0 + ox * kernel;
            float best = score[at];
            int64_t index = (int64_t)at;
            for (size_t ky = 0; ky < kernel; ky++)
                for (size_t kx = ky == 0 ? 1 : 0; kx < kernel; kx++)
                    index = take_larger(&best, index, score[at + ky * width + kx], (int64_t)(at + ky * width + kx));
            where[ox] = index;
        }
    }
}

int bnn_noisy_maxpool2d_argmax(const float *mean, const float *var, size_t planes, int32_t height, int32_t width,
                               int32_t kernel, uint64_t seed, int64_t *indices, int threads) {
    if (!mean || !var || !indices || planes == 0 || kernel <= 0 || height < kernel || width < kernel)
        return BNN_EINVAL;
    const size_t plane = (size_t)height * (size_t)width;
    if (planes > SIZE_MAX / sizeof(float) / plane) return BNN_EINVAL;
    const int32_t out_h = height / kernel, out_w = width / kernel;
    const size_t chunk_planes = plane >= BNN_SCORE_CHUNK ? 1 : BNN_SCORE_CHUNK / plane;
    threads = bnn_clamp_threads(threads);
    if ((size_t)threads > planes) threads = (int)planes;
    const size_t per_thread = chunk_planes * plane;
    float *scratch = malloc((size_t)threads * per_thread * sizeof(float));
    if (!scratch) return BNN_ENOMEM;
    const bnn_score_block_fn noisy_score = bnn_current_noise()->noisy_score;
    const size_t share = (planes + (size_t)threads - 1) / (size_t)threads;
    BNN_PARALLEL_FOR
    for (int t = 0; t < threads; t++) {
        float *score = scratch + (size_t)t * per_thread;
        const size_t end = (size_t)(t + 1) * share < planes ? (size_t)(t + 1) * share : planes;
        for (size_t p = (size_t)t * share; p < end; p += chunk_planes) {
            const size_t count = end - p < chunk_planes ? end - p : chunk_planes, at = p * plane;
            noisy_score(mean + at, var + at, score, at, count * plane, seed);
            for (size_t j = 0; j < count; j++)
                argmax_plane(score + j * plane, (size_t)width, (size_t)kernel, (size_t)out_h, (size_t)out_w,
                             indices + (p + j) * (size_t)out_h * (size_t)out_w);
        }
    }
    free(scratch);
    return BNN_OK;
}
