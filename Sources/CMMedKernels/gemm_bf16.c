// BF16 × BF16 products for prompts with AVX-512 BF16 (vdpbf16ps: 32 multiply-adds per instruction, twice F32 FMA),
// compiled for that target per function and used only where the CPU has it (`mmed_has_avx512_bf16`).
#include "mmed_kernels.h"
#include <immintrin.h>
#include <string.h>

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

int mmed_has_avx512_bf16(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

// Round to nearest even, as ggml's GGML_FP32_TO_BF16 (NaN kept quiet).
static inline uint16_t bf16_round(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

BF16_TARGET void mmed_round_to_bf16(const float *x, uint16_t *y, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
        _mm512_storeu_si512((void *)(y + i), (__m512i)v);
    }
    for (; i < n; i++) y[i] = bf16_round(x[i]);
}

// The 16 lanes summed as GCC's _mm512_reduce_add_ps does (llamafile's tinyBLAS hsum): halves of 8, of 4, then
// (0 + 2) + (1 + 3).
BF16_TARGET static inline float reduce16(__m512 v) {
    __m256 t3 = _mm256_add_ps(_mm512_extractf32x8_ps(v, 1), _mm512_castps512_ps256(v));
    __m128 t6 = _mm_add_ps(_mm256_extractf128_ps(t3, 1), _mm256_castps256_ps128(t3));
    __m128 t8 = _mm_add_ps(t6, _mm_shuffle_ps(t6, t6, _MM_SHUFFLE(1, 0, 3, 2)));
    return _mm_cvtss_f32(t8) + _mm_cvtss_f32(_mm_shuffle_ps(t8, t8, 1));
}

// A tile of RM tokens × RN weight rows: one 16-lane accumulator per output, K in steps of 32 (tinyBLAS's order).
#define TILE(RM, RN)                                                                                              \
    BF16_TARGET static void tile_##RM##x##RN(const uint16_t *x, long ldx, const uint8_t *w, size_t w_row_bytes,  \
                                             int k, float *c, long ldc) {                                        \
        __m512 acc[RM][RN];                                                                                       \
        for (int i = 0; i < RM; i++)                                                                              \
            for (int j = 0; j < RN; j++) acc[i][j] = _mm512_setzero_ps();                                         \
        for (int l = 0; l < k; l += 32) {                                                                         \
            __m512bh b[RN];                                                                                       \
            for (int j = 0; j < RN; j++) b[j] = (__m512bh)_mm512_loadu_si512((const void *)(w + j * w_row_bytes + 2 * (size_t)l)); \
            for (int i = 0; i < RM; i++) {                                                                        \
                __m512bh a = (__m512bh)_mm512_loadu_si512((const void *)(x + i * ldx + l));                     \
                for (int j = 0; j < RN; j++) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], b[j], a);                    \
            }                                                                                                     \
        }                                                                                                         \
        for (int i = 0; i < RM; i++)                                                                              \
            for (int j = 0; j < RN; j++) c[i * ldc + j] = reduce16(acc[i][j]);                                    \
    }

TILE(4, 6)
TILE(1, 6)
TILE(4, 1)
TILE(1, 1)

BF16_TARGET void mmed_gemm_bf16(const uint16_t *x, long m, long ldx, const void *w, size_t w_row_bytes, int k,
                                int row_begin, int row_end, float *c, long ldc) {
    const uint8_t *weights = (const uint8_t *)w;
    // Blocks of 48 weight rows (192 KB at k = 2048: they stay in L2 while every token passes over them).
    for (int block = row_begin; block < row_end; block += 48) {
        int block_end = block + 48 < row_end ? block + 48 : row_end;
        long t = 0;
        for (; t + 4 <= m; t += 4) {
            int r = block;
            for (; r + 6 <= block_end; r += 6)
                tile_4x6(x + t * ldx, ldx, weights + (size_t)r * w_row_bytes, w_row_bytes, k, c + t * ldc + r, ldc);
            for (; r < block_end; r++)
                tile_4x1(x + t * ldx, ldx, weights + (size_t)r * w_row_bytes, w_row_bytes, k, c + t * ldc + r, ldc);
        }
        for (; t < m; t++) {
            int r = block;
            for (; r + 6 <= block_end; r += 6)
                tile_1x6(x + t * ldx, ldx, weights + (size_t)r * w_row_bytes, w_row_bytes, k, c + t * ldc + r, ldc);
            for (; r < block_end; r++)
                tile_1x1(x + t * ldx, ldx, weights + (size_t)r * w_row_bytes, w_row_bytes, k, c + t * ldc + r, ldc);
        }
    }
}

// ggml_vec_dot_bf16 on AVX-512 BF16, for each token t < m and weight row in [row_begin, row_end): two accumulators
// over steps of 64, each reduced and added in double, the rest (k mod 64) multiplied in float and added in double.
BF16_TARGET void mmed_dot_bf16_rows(const uint16_t *x, long m, long ldx, const void *w, size_t w_row_bytes, int k,
                                    int row_begin, int row_end, float *c, long ldc) {
    const uint8_t *weights = (const uint8_t *)w;
    for (long t = 0; t < m; t++) {
        const uint16_t *xt = x + t * ldx;
        for (int r = row_begin; r < row_end; r++) {
            const uint16_t *row = (const uint16_t *)(weights + (size_t)r * w_row_bytes);
            __m512 c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps();
            int i = 0;
            for (; i + 64 <= k; i += 64) {
                c1 = _mm512_dpbf16_ps(c1, (__m512bh)_mm512_loadu_si512((const void *)(row + i)), (__m512bh)_mm512_loadu_si512((const void *)(xt + i)));
                c2 = _mm512_dpbf16_ps(c2, (__m512bh)_mm512_loadu_si512((const void *)(row + i + 32)), (__m512bh)_mm512_loadu_si512((const void *)(xt + i + 32)));
            }
            double sum = 0;
            sum += (double)reduce16(c1);
            sum += (double)reduce16(c2);
            for (; i < k; i++) {
                uint32_t a = (uint32_t)row[i] << 16, b = (uint32_t)xt[i] << 16;
                float fa, fb;
                memcpy(&fa, &a, 4); memcpy(&fb, &b, 4);
                sum += (double)(fa * fb);
            }
            c[t * ldc + r] = (float)sum;
        }
    }
}
