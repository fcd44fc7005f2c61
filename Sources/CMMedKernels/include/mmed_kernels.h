// Mat-vec kernels of the native engine in C with AVX2/FMA/F16C intrinsics: Swift's SIMD conversions between
// element types (int8 → float, half → float) are generic per-lane loops, far slower than one instruction.
#ifndef MMED_KERNELS_H
#define MMED_KERNELS_H
#include <stddef.h>
#include <stdint.h>

// Weight types, as MMedModel's TensorType.
enum { MMED_F32 = 0, MMED_F16 = 1, MMED_BF16 = 2, MMED_Q8_0 = 3, MMED_Q4_0 = 4, MMED_Q4_1 = 5 };

// x quantized per 32 values as llama.cpp's q8_1 does it: d = max|x| / 127, q = round(x / d); `sums` = d · Σq.
void mmed_quantize_q8(const float *x, int n, int8_t *q, float *scales, float *sums);

// y[r] = W[r] · x for rows [row_begin, row_end). Quantized types use the q8 activations (q, scales, sums);
// float types use x. `row_bytes` is the stride between rows.
void mmed_matvec(int type, const void *w, size_t row_bytes, int columns, int row_begin, int row_end,
                 const float *x, const int8_t *q, const float *scales, const float *sums, float *y);

#endif
