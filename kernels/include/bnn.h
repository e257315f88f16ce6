/* bnnbench binary kernels: public C API.
 *
 * Conventions (see DESIGN.md): a bit set to 1 means -1, a cleared bit means +1.
 * Tensors are NHWC with channels packed little-end first into 64-bit words;
 * unused high bits of the last word of a pixel are 0.  The dot product of two
 * packed vectors of K channels is K - 2 * popcount(a ^ b).
 *
 * Every entry point validates its arguments and returns a bnn_status; the
 * Python binding checks shapes and dtypes before calling, this is a second
 * line of defence.  This header is also the cffi cdef: keep it free of
 * preprocessor logic other than the include guard and the includes.
 */
#ifndef BNN_H
#define BNN_H
#include <stddef.h>
#include <stdint.h>

enum bnn_status {
    BNN_OK = 0,
    BNN_EINVAL = 1,      /* invalid argument (shape, null pointer, kind) */
    BNN_ENOMEM = 2,      /* scratch allocation failed */
    BNN_ENAN = 3,        /* pack: input contains NaN */
    BNN_EUNSUPPORTED = 4 /* requested ISA not available on this CPU/build */
};

enum bnn_isa {
    BNN_ISA_SCALAR = 0,
    BNN_ISA_AVX2 = 1,
    BNN_ISA_AVX512 = 2,
    BNN_ISA_NEON = 3
};

/* CPU feature bits returned by bnn_cpu_features(). */
enum bnn_cpu_feature {
    BNN_CPU_POPCNT = 1,
    BNN_CPU_AVX2 = 2,
    BNN_CPU_AVX512F = 4,
    BNN_CPU_AVX512VPOPCNTDQ = 8,
    BNN_CPU_AVX512BW = 16,
    BNN_CPU_AVX512VL = 32,
    BNN_CPU_AVX512DQ = 64,
    BNN_CPU_NEON = 128
};

enum bnn_output_kind {
    BNN_OUTPUT_INT32 = 0,   /* the +-1 dot product */
    BNN_OUTPUT_FLOAT32 = 1, /* scale[o] * dot + bias[o] (BatchNorm folded) */
    BNN_OUTPUT_PACKED = 2   /* bit o = 1 (-1) iff dot < threshold[o], or
                               dot > threshold[o] where negative[o] != 0 */
};

/* Geometry of a binary convolution.  Taps outside the input read the pad
 * value: +1 when pad_one != 0 ("same-one", free in the bit domain), 0 when
 * pad_one == 0 (a per-position correction).  out_h/out_w are given by the
 * caller; taps past the bottom/right edge count as padding too. */
typedef struct bnn_conv_shape {
    int32_t batch;
    int32_t in_h;
    int32_t in_w;
    int32_t channels;      /* true input channels (bits), words = ceil(channels / 64) */
    int32_t out_channels;
    int32_t kernel_h;
    int32_t kernel_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t out_h;
    int32_t out_w;
    int32_t pad_one;
} bnn_conv_shape;

/* Where and how results are written.  data points at int32 [N,OH,OW,O],
 * float [N,OH,OW,O] or uint64 [N,OH,OW,ceil(O/64)] according to kind. */
typedef struct bnn_output {
    int32_t kind;
    const float *scale;       /* FLOAT32: [O] */
    const float *bias;        /* FLOAT32: [O] */
    const int32_t *threshold; /* PACKED: [O] */
    const uint8_t *negative;  /* PACKED: [O], nonzero where the folded scale is negative */
    void *data;
} bnn_output;

/* Weights prepared once for the SIMD paths.  raw is [O][kh][kw][words];
 * panel interleaves 8 output channels per 64-bit lane group, 64 channels per
 * group; tap_plus_one[t][o] = channels - 2 * popcount(w[o][t]) is the
 * contribution of a +1 tap, used for the zero-padding correction. */
typedef struct bnn_weights {
    int32_t out_channels;
    int32_t taps;
    int32_t channels;
    const uint64_t *raw;
    const uint64_t *panel;
    const int32_t *tap_plus_one;
} bnn_weights;

/* ---- CPU and dispatch ---- */
uint32_t bnn_cpu_features(void);
int bnn_isa_available(int isa);      /* compiled in and supported by this CPU */
int bnn_best_isa(void);
int bnn_set_isa(int isa);            /* BNN_OK or BNN_EUNSUPPORTED */
int bnn_get_isa(void);
const char *bnn_isa_name(int isa);
const char *bnn_compiler_version(void);
const char *bnn_build_flags(void);    /* the flags the kernels were compiled with */
int bnn_openmp_enabled(void);
int bnn_max_threads(void);

/* ---- kernels ---- */
int bnn_pack_f32(const float *x, size_t rows, size_t channels, uint64_t *out, int threads);
int bnn_unpack_f32(const uint64_t *x, size_t rows, size_t channels, float *out);

size_t bnn_panel_words(int32_t out_channels, int32_t taps, int32_t channels);
int bnn_prepare_weights(const uint64_t *raw, int32_t out_channels, int32_t taps, int32_t channels,
                        uint64_t *panel, int32_t *tap_plus_one);

int bnn_bconv2d(const bnn_conv_shape *shape, const uint64_t *x, const bnn_weights *w,
                const bnn_output *out, int threads);

/* Max-pool of +-1 values on packed data: the max is -1 only where every value
 * in the window is -1, i.e. the AND of the words.  Taps outside the input are
 * skipped.  x is [N,H,W,words], out is [N,OH,OW,words]. */
int bnn_bmaxpool2d(const uint64_t *x, int32_t batch, int32_t in_h, int32_t in_w, int32_t words,
                   int32_t kernel_h, int32_t kernel_w, int32_t stride_h, int32_t stride_w,
                   int32_t pad_top, int32_t pad_left, int32_t out_h, int32_t out_w,
                   uint64_t *out, int threads);

/* Register-only xor + popcount + add loop of the given ISA, for the roofline.
 * Runs `iterations` rounds of bnn_roofline_bits(isa) bit-MACs; returns a
 * checksum so the work cannot be optimised away (0 if the ISA is unavailable). */
uint64_t bnn_roofline_run(int isa, uint64_t iterations);
uint64_t bnn_roofline_bits(int isa);

/* ---- counter-based noise (PBNet training; see kernels/src/noise.h) ----
 * Value i of the stream `seed` depends only on (seed, i): out[j] is value
 * first + j, whatever the thread count or ISA path. */

/* Philox4x32-10 of counter ctr under key (Random123's definition), for tests. */
void bnn_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
int bnn_normal_f32(float *out, uint64_t first, size_t count, uint64_t seed, int threads);
int bnn_logistic_f32(float *out, uint64_t first, size_t count, uint64_t seed, int threads);

/* Stochastic max pooling (Peters & Welling 2018): for each of `planes`
 * contiguous height x width planes of Gaussians (mean, var), the position in
 * the plane of each non-overlapping kernel x kernel window's largest sample
 * mean + sqrt(var) n, n = bnn_normal value (flat element index) of `seed`.
 * indices is [planes][height / kernel][width / kernel] (floor); a NaN sample
 * wins its window.  var must be >= 0. */
/* PBNet-S sampled binary activations (Peters & Welling 2018) with the
 * Binary-Concrete gradient at `temperature` (see kernels/src/noise.h):
 * sign[i] = +-1 drawn with P(+1) = Phi(mean / sigma) using logistic value i
 * of `seed`; d_mean[i], d_var[i] = derivatives of the relaxed sample. */
int bnn_sampled_sign_f32(const float *mean, const float *var, size_t count, float temperature, uint64_t seed,
                         float *sign, float *d_mean, float *d_var, int threads);

int bnn_noisy_maxpool2d_argmax(const float *mean, const float *var, size_t planes, int32_t height, int32_t width,
                               int32_t kernel, uint64_t seed, int64_t *indices, int threads);

/* ---- compiled programs: a whole forward pass in one call ---- */

enum bnn_op_kind {
    BNN_OP_PACK_NCHW = 0,   /* float NCHW [N,C,H,W] -> packed NHWC, bit = x < 0 (shape: in_h, in_w, channels) */
    BNN_OP_FLOAT_CONV = 1,  /* float NCHW -> float NHWC (output.kind FLOAT32: acc * scale + bias) or packed
                               (output.kind PACKED: bit = acc * scale + bias < 0); acc includes float_bias */
    BNN_OP_BCONV = 2,       /* packed NHWC -> int32 / float / packed NHWC (bnn_bconv2d) */
    BNN_OP_BMAXPOOL = 3,    /* packed -> packed; per channel AND (max) or, where or_mask has the bit, OR (min) */
    BNN_OP_FLOAT_DENSE = 4, /* float [N,K] or packed +-1 [N,words] -> float [N,O] = x . W + float_bias */
    BNN_OP_TANH = 5         /* float elementwise tanh, `elements` per image */
};

/* One step of a program.  Geometry is per image (shape.batch is set at run
 * time); op i reads op i-1's buffer (op 0 reads the program input) and writes
 * buffers[i]. */
typedef struct bnn_op {
    int32_t kind;
    bnn_conv_shape shape;
    bnn_weights weights;          /* BCONV */
    bnn_output output;            /* BCONV and FLOAT_CONV transforms; data is ignored */
    const float *float_weights;   /* FLOAT_CONV: [kh][kw][C][O rounded up to 16, zeros]; FLOAT_DENSE: [K][O] */
    const float *float_bias;      /* FLOAT_CONV / FLOAT_DENSE: [O] */
    const uint64_t *or_mask;      /* BMAXPOOL: [words] */
    int32_t packed_input;         /* FLOAT_DENSE: the input is packed +-1 values */
    int64_t elements;             /* TANH: values per image */
} bnn_op;

/* Run ops[0..n_ops) on a batch.  buffers[i] receives op i's output (sized by
 * the caller for `batch`); op_seconds, if not NULL, receives each op's time. */
int bnn_program_run(const bnn_op *ops, int32_t n_ops, const float *input, int32_t batch, void *const *buffers,
                    int threads, double *op_seconds);

#endif
