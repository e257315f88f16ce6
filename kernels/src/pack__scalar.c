/* Portable reference: sign packing, unpacking, and the binary convolution
 * written straight from the +-1 definition.  This file is the oracle every
 * optimised kernel is tested against; keep it obvious rather than fast. */
#include "internal.h"

/* Bit c of the packed row is 1 (meaning -1) iff x[c] < 0.  -0.0 packs as +1,
 * matching sign(0) = +1; NaN is rejected. */
int bnn_pack_f32__scalar(const float *x, size_t rows, size_t channels, uint64_t *out) {
    const size_t words = (channels + 63) / 64;
    int status = BNN_OK;
    for (size_t r = 0; r < rows; r++) {
        const float *src = x + r * channels;
        uint64_t *dst = out + r * words;
        for (size_t w = 0; w < words; w++) dst[w] = 0;
        for (size_t c = 0; c < channels; c++) {
            if (src[c] != src[c]) status = BNN_ENAN;
            dst[c / 64] |= (uint64_t)(src[c] < 0.0f) << (c % 64);
        }
    }
    return status;
}

int bnn_unpack_f32(const uint64_t *x, size_t rows, size_t channels, float *out) {
    if (!x || !out || channels == 0) return BNN_EINVAL;
    const size_t words = (channels + 63) / 64;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < channels; c++)
            out[r * channels + c] = ((x[r * words + c / 64] >> (c % 64)) & 1u) ? -1.0f : 1.0f;
    return BNN_OK;
}
