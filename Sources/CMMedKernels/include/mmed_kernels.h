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

// BF16 products for prompts (gemm_bf16.c; AVX-512 BF16 only: check `mmed_has_avx512_bf16` first).
int mmed_has_avx512_bf16(void);
// y = x rounded to BF16 (nearest even).
void mmed_round_to_bf16(const float *x, uint16_t *y, long n);
// c[t, r] = Σ_l x[t, l] · w[r, l] for tokens t < m and weight rows [row_begin, row_end); x and w in BF16, k a multiple of
// 32; each output sums 16 lanes over steps of 32 as llamafile's tinyBLAS does.
void mmed_gemm_bf16(const uint16_t *x, long m, long ldx, const void *w, size_t w_row_bytes, int k,
                    int row_begin, int row_end, float *c, long ldc);
// The same products summed as ggml_vec_dot_bf16 does (llama.cpp's path for one token, or k not a multiple of 32).
void mmed_dot_bf16_rows(const uint16_t *x, long m, long ldx, const void *w, size_t w_row_bytes, int k,
                        int row_begin, int row_end, float *c, long ldc);

// llama.cpp's CPU numerics (ggml for AVX-512, built by GCC), for MMedModel's `Numerics.llamaCpp`: each function
// rounds as the ggml code it names does, so the engine can reproduce llama.cpp's logits bit for bit.
// SwiGLU in place: gate = silu(gate) · up with ggml_v_expf (ggml_vec_swiglu_f32).
void mmed_ggml_swiglu(float *gate, const float *up, long n);
// y = exp(x − max) with ggml_v_expf; returns the sum as ggml_vec_soft_max_f32 accumulates it (16-lane chunks, double).
double mmed_ggml_softmax(float *y, const float *x, int n, float max);
// Σ x[i]·y[i·stride] of F16 values as ggml_vec_dot_f16 sums it (4 accumulators of 16 lanes; values past n are the
// zeros of ggml's padded rows): a single token's attention scores.
float mmed_ggml_dot_f16_vec(const float *x, const float *y, long y_stride, int n);
// Attention scores of one query over a prompt as llamafile's tinyBLAS sums them (one 16-lane accumulator, steps of
// 16 dimensions): out[j] = scale · Σ_i kt[i·ldk + j]·q[i] for keys j < count, the keys transposed; d a multiple of 16.
void mmed_ggml_scores_tiled(const float *kt, long ldk, const float *q, int d, int count, float scale, float *out);
// out[t] = Σ_j w[j]·v[j·ldv + t] for t < d, j < count, summed as tinyBLAS (`_tiled`, acc: 16·d floats) or
// ggml_vec_dot_f16 (`_vec`, acc: 64·d floats) would.
void mmed_ggml_values_tiled(const float *w, const float *v, long ldv, int d, int count, float *acc, float *out);
// c[t, r] = W[r] · x[t] for F16 weights and x already rounded to F16 values, summed as llamafile's tinyBLAS
// (`tiled`: 16 lanes over steps of 16) or ggml_vec_dot_f16 (4 × 16 lanes over steps of 64, the rest in double).
void mmed_ggml_f16_rows(const float *x, long m, long ldx, const void *w, size_t w_row_bytes, int k, int row_begin,
                        int row_end, float *c, long ldc, int tiled);
void mmed_ggml_values_vec(const float *w, const float *v, long ldv, int d, int count, float *acc, float *out);

#endif
