/* Counter-based noise blocks, portable build: the reference every other
 * path must match bit for bit (the compiler may vectorize the floating-point
 * transforms for the baseline ISA, which changes no result: see noise.h). */
#include "noise.h"

static void philox_tile(uint64_t c0, uint64_t seed, uint32_t w[4][BNN_NOISE_TILE]) {
    bnn_philox_tile_portable(c0, seed, w);
}

BNN_DEFINE_NOISE_BLOCKS(scalar, philox_tile)
