#include "mmed_kernels.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

static inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 shuf = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, shuf);
    shuf = _mm_movehl_ps(shuf, sums);
    return _mm_cvtss_f32(_mm_add_ss(sums, shuf));
}

void mmed_quantize_q8(const float *x, int n, int8_t *q, float *scales, float *sums) {
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(xb[j]); if (a > amax) amax = a; }
        float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int v = (int)roundf(xb[j] * id);
            q[b * 32 + j] = (int8_t)v;
            sum += v;
        }
        scales[b] = d;
        sums[b] = d * (float)sum;
    }
}

// Σ over 32 bytes of unsigned a × signed b, as 8 int32 lanes → float.
static inline __m256 dot_u8_s8(__m256i a, __m256i b) {
    __m256i pairs = _mm256_maddubs_epi16(a, b);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

static float dot_q8_0(const uint8_t *w, const int8_t *q, const float *scales, int blocks) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + b * 34;
        uint16_t dh; memcpy(&dh, blk, 2);
        __m256i wq = _mm256_loadu_si256((const __m256i *)(blk + 2));
        __m256i xq = _mm256_loadu_si256((const __m256i *)(q + b * 32));
        // signed × signed through maddubs: |w| × (x with w's sign).
        __m256 p = dot_u8_s8(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float(dh) * scales[b]), p, acc);
    }
    return hsum256(acc);
}

static inline __m256i unpack_nibbles(const uint8_t *p) {
    __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    __m128i lo = _mm_and_si128(bytes, _mm_set1_epi8(15));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), _mm_set1_epi8(15));
    return _mm256_set_m128i(hi, lo);  // weights 0..15 from low nibbles, 16..31 from high nibbles
}

static float dot_q4_0(const uint8_t *w, const int8_t *q, const float *scales, const float *sums, int blocks) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + b * 18;
        uint16_t dh; memcpy(&dh, blk, 2);
        float d = half_to_float(dh);
        __m256i nib = unpack_nibbles(blk + 2);
        __m256i xq = _mm256_loadu_si256((const __m256i *)(q + b * 32));
        __m256 p = dot_u8_s8(nib, xq);  // Σ n·x; the −8 comes back through the sums
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * scales[b]), p, acc);
        offset += -8.0f * d * sums[b];
    }
    return hsum256(acc) + offset;
}

static float dot_q4_1(const uint8_t *w, const int8_t *q, const float *scales, const float *sums, int blocks) {
    __m256 acc = _mm256_setzero_ps();
    float offset = 0;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *blk = w + b * 20;
        uint16_t dh, mh; memcpy(&dh, blk, 2); memcpy(&mh, blk + 2, 2);
        __m256i nib = unpack_nibbles(blk + 4);
        __m256i xq = _mm256_loadu_si256((const __m256i *)(q + b * 32));
        __m256 p = dot_u8_s8(nib, xq);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(half_to_float(dh) * scales[b]), p, acc);
        offset += half_to_float(mh) * sums[b];
    }
    return hsum256(acc) + offset;
}

static float dot_f32(const float *w, const float *x, int n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    float total = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) total += w[i] * x[i];
    return total;
}

static inline __m256 load_bf16(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

static inline __m256 load_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }

static inline float bf16_to_float(uint16_t h) { uint32_t bits = (uint32_t)h << 16; float f; memcpy(&f, &bits, 4); return f; }

// A row of 16-bit floats (BF16 or F16, by `bf16`) · x: four accumulators of 8 lanes; the branch is on a constant
// where it is forced inline, so each type gets its own loop (without the attribute the branch stays in the loop:
// 15% slower decoding of a BF16 model).
static inline __attribute__((always_inline)) float dot_half(const uint16_t *w, const float *x, int n, int bf16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(bf16 ? load_bf16(w + i) : load_f16(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(bf16 ? load_bf16(w + i + 8) : load_f16(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(bf16 ? load_bf16(w + i + 16) : load_f16(w + i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(bf16 ? load_bf16(w + i + 24) : load_f16(w + i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    float total = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) total += (bf16 ? bf16_to_float(w[i]) : half_to_float(w[i])) * x[i];
    return total;
}

void mmed_matvec(int type, const void *w, size_t row_bytes, int columns, int row_begin, int row_end,
                 const float *x, const int8_t *q, const float *scales, const float *sums, float *y) {
    const uint8_t *base = (const uint8_t *)w;
    int blocks = columns / 32;
    for (int r = row_begin; r < row_end; r++) {
        const uint8_t *row = base + (size_t)r * row_bytes;
        switch (type) {
        case MMED_F32: y[r] = dot_f32((const float *)row, x, columns); break;
        case MMED_BF16: y[r] = dot_half((const uint16_t *)row, x, columns, 1); break;
        case MMED_F16: y[r] = dot_half((const uint16_t *)row, x, columns, 0); break;
        case MMED_Q8_0: y[r] = dot_q8_0(row, q, scales, blocks); break;
        case MMED_Q4_0: y[r] = dot_q4_0(row, q, scales, sums, blocks); break;
        case MMED_Q4_1: y[r] = dot_q4_1(row, q, scales, sums, blocks); break;
        }
    }
}
