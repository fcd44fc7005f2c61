// Mat-vec kernels of the native engine in C with AVX2/FMA/F16C intrinsics: Swift's SIMD conversions between
// element types (int8 → float, half → float) are generic per-lane loops, far slower than one instruction.
#ifndef MMED_KERNELS_H
#define MMED_KERNELS_H
#include <stddef.h>
#include <stdint.h>

// Weight types, as MMedModel's TensorType.
enum { MMED_F32 = 0, MMED_F16 = 1, MMED_BF16 = 2, MMED_Q8_0 = 3, MMED_Q4_0 = 4, MMED_Q4_1 = 5 };

// x quantized per 32 values as llama.cpp's q8_1 does it: d = max|x| / 127, q = x · (127 / max|x|) rounded to nearest
// even; `sums` = d · Σq. With `half_scales`, d and the sum are rounded to F16, as ggml's q8_0/q8_1 blocks store them.
void mmed_quantize_q8(const float *x, int n, int8_t *q, float *scales, float *sums, int half_scales);

// y[r] = W[r] · x for rows [row_begin, row_end). Quantized types use the q8 activations (q, scales, sums);
// float types use x. `row_bytes` is the stride between rows.
void mmed_matvec(int type, const void *w, size_t row_bytes, int columns, int row_begin, int row_end,
                 const float *x, const int8_t *q, const float *scales, const float *sums, float *y);

// llama.cpp's CPU numerics (ggml for AVX-512, built by GCC), for MMedModel's `Numerics.llamaCpp`: each function
// rounds as the ggml code it names does, so the engine can reproduce llama.cpp's logits bit for bit.
// SwiGLU in place: gate = silu(gate) · up with ggml_v_expf (ggml_vec_swiglu_f32).
void mmed_ggml_swiglu(float *gate, const float *up, long n);
// y = exp(x − max) with ggml_v_expf; returns the sum as ggml_vec_soft_max_f32 accumulates it (16-lane chunks, double).
double mmed_ggml_softmax(float *y, const float *x, int n, float max);
// Σ x[i]·y[i·stride] of F16 values as ggml_vec_dot_f16 sums it (4 accumulators of 16 lanes): single-token attention.
float mmed_ggml_dot_f16_vec(const float *x, const float *y, long y_stride, int n);
// The same sum as llamafile's tinyBLAS accumulates it (one accumulator of 16 lanes): attention over a prompt.
float mmed_ggml_dot_f16_tiled(const float *x, const float *y, long y_stride, int n);

#endif
