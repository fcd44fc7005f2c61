#include "mmed_kernels.h"
#include <immintrin.h>
#include <math.h>
#include <string.h>

static inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// The 8 lanes summed in ggml's order, (l0 + l4 + l2 + l6) + (l1 + l5 + l3 + l7), so sums round as llama.cpp's do.
static inline float hsum256(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

void mmed_quantize_q8(const float *x, int n, int8_t *q, float *scales, float *sums, int half_scales) {
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + b * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) { float a = fabsf(xb[j]); if (a > amax) amax = a; }
        // As ggml: x · (127 / max), rounded to nearest even.
        float d = amax / 127.0f, id = amax != 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int v = (int)nearbyintf(xb[j] * id);
            q[b * 32 + j] = (int8_t)v;
            sum += v;
        }
        if (half_scales) {
            scales[b] = _cvtsh_ss(_cvtss_sh(d, 0));
            sums[b] = _cvtsh_ss(_cvtss_sh(d * (float)sum, 0));
        } else {
            scales[b] = d;
            sums[b] = d * (float)sum;
        }
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

// ---- llama.cpp's CPU numerics (ggml built for AVX-512 by GCC), for `Numerics.llamaCpp` ----

// _mm512_reduce_add_ps as GCC's header computes it: halves of 8, of 4, then (0+2) + (1+3).
static inline float ggml_reduce16(const float *v) {
    float t3[8], t6[4];
    for (int j = 0; j < 8; j++) t3[j] = v[j + 8] + v[j];
    for (int i = 0; i < 4; i++) t6[i] = t3[i + 4] + t3[i];
    return (t6[0] + t6[2]) + (t6[1] + t6[3]);
}

// ggml_v_expf for AVX-512 (ARM's optimized-routines polynomial, scaled by scalef), one value at a time.
static inline float ggml_expf(float x) {
    const float r = 0x1.8p23f;
    float z = fmaf(x, 0x1.715476p+0f, r);
    float n = z - r;
    float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    float u = b * b;
    float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                   fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    int e = (int)n;
    if (e < -125 || e > 127) return ldexpf(j, e);  // a subnormal or infinite result: rounded as scalef rounds it
    uint32_t bits = (uint32_t)(e + 127) << 23;  // 2^e exactly: j · 2^e is then exact, as scalef's result is
    float scale;
    memcpy(&scale, &bits, 4);
    return j * scale;
}

void mmed_ggml_swiglu(float *gate, const float *up, long n) {
    for (long i = 0; i < n; i++) {
        float x = gate[i];
        gate[i] = (x / (1.0f + ggml_expf(0.0f - x))) * up[i];
    }
}

double mmed_ggml_softmax(float *y, const float *x, int n, float max) {
    double sum = 0;
    float chunk[16];
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        for (int l = 0; l < 16; l++) { chunk[l] = ggml_expf(x[i + l] - max); y[i + l] = chunk[l]; }
        sum += (double)ggml_reduce16(chunk);
    }
    // The rest of ggml's row is masked to −∞ (its length is a multiple of 256): zeros in the last chunk.
    if (i < n) {
        for (int l = 0; l < 16; l++) chunk[l] = i + l < n ? ggml_expf(x[i + l] - max) : 0.0f;
        for (int l = 0; i + l < n; l++) y[i + l] = chunk[l];
        sum += (double)ggml_reduce16(chunk);
    }
    return sum;
}

float mmed_ggml_dot_f16_vec(const float *x, const float *y, long y_stride, int n) {
    float acc[4][16] = {{0}};
    for (int i = 0; i < n; i++) {
        int a = (i / 16) % 4, l = i % 16;
        acc[a][l] = fmaf(x[i], y[(long)i * y_stride], acc[a][l]);
    }
    for (int l = 0; l < 16; l++) { acc[0][l] += acc[2][l]; acc[1][l] += acc[3][l]; }
    for (int l = 0; l < 16; l++) acc[0][l] += acc[1][l];
    return (float)(double)ggml_reduce16(acc[0]);
}

// ggml_reduce16 over 16 rows of `n` values, column by column (rows `stride` apart): out[t] = reduce16(acc[·][t]).
static void ggml_reduce16_columns(float *acc, long stride, int n, float *out) {
    for (int q = 0; q < 8; q++) for (int t = 0; t < n; t++) acc[q * stride + t] = acc[(q + 8) * stride + t] + acc[q * stride + t];
    for (int q = 0; q < 4; q++) for (int t = 0; t < n; t++) acc[q * stride + t] = acc[(q + 4) * stride + t] + acc[q * stride + t];
    for (int t = 0; t < n; t++) out[t] = (acc[t] + acc[2 * stride + t]) + (acc[stride + t] + acc[3 * stride + t]);
}

void mmed_ggml_scores_tiled(const float *kt, long ldk, const float *q, int d, int count, float scale, float *out) {
    float acc[16 * 64], sums[64];
    for (int j0 = 0; j0 < count; j0 += 64) {
        int m = count - j0 < 64 ? count - j0 : 64;
        for (int i = 0; i < 16 * 64; i++) acc[i] = 0;
        for (int c = 0; c < d; c += 16)
            for (int l = 0; l < 16; l++) {
                const float qv = q[c + l], *row = kt + (long)(c + l) * ldk + j0;
                float *a = acc + l * 64;
                for (int j = 0; j < m; j++) a[j] = fmaf(row[j], qv, a[j]);
            }
        ggml_reduce16_columns(acc, 64, m, sums);
        for (int j = 0; j < m; j++) out[j0 + j] = sums[j] * scale;
    }
}

void mmed_ggml_values_tiled(const float *w, const float *v, long ldv, int d, int count, float *acc, float *out) {
    for (long i = 0; i < 16L * d; i++) acc[i] = 0;
    for (int j = 0; j < count; j++) {
        float *a = acc + (j % 16) * (long)d;
        const float wj = w[j], *row = v + (long)j * ldv;
        for (int t = 0; t < d; t++) a[t] = fmaf(wj, row[t], a[t]);
    }
    ggml_reduce16_columns(acc, d, d, out);
}

void mmed_ggml_values_vec(const float *w, const float *v, long ldv, int d, int count, float *acc, float *out) {
    for (long i = 0; i < 64L * d; i++) acc[i] = 0;
    for (int j = 0; j < count; j++) {
        float *a = acc + (((j / 16) % 4) * 16 + j % 16) * (long)d;
        const float wj = w[j], *row = v + (long)j * ldv;
        for (int t = 0; t < d; t++) a[t] = fmaf(wj, row[t], a[t]);
    }
    float *a0 = acc, *a1 = acc + 16L * d, *a2 = acc + 32L * d, *a3 = acc + 48L * d;
    for (long i = 0; i < 16L * d; i++) { a0[i] += a2[i]; a1[i] += a3[i]; }
    for (long i = 0; i < 16L * d; i++) a0[i] += a1[i];
    ggml_reduce16_columns(a0, d, d, out);
}

void mmed_ggml_f16_rows(const float *x, long m, long ldx, const void *w, size_t w_row_bytes, int k, int row_begin,
                        int row_end, float *c, long ldc, int tiled) {
    const uint8_t *weights = (const uint8_t *)w;
    for (long t = 0; t < m; t++) {
        const float *xt = x + t * ldx;
        for (int r = row_begin; r < row_end; r++) {
            const uint16_t *row = (const uint16_t *)(weights + (size_t)r * w_row_bytes);
            if (tiled) {
                float acc[16] = {0};
                for (int l = 0; l < k; l += 16)
                    for (int q = 0; q < 16; q++) acc[q] = fmaf(half_to_float(row[l + q]), xt[l + q], acc[q]);
                c[t * ldc + r] = ggml_reduce16(acc);
            } else {
                float acc[4][16] = {{0}};
                int np = k & ~63;
                for (int i = 0; i < np; i++) acc[(i / 16) % 4][i % 16] = fmaf(half_to_float(row[i]), xt[i], acc[(i / 16) % 4][i % 16]);
                for (int l = 0; l < 16; l++) { acc[0][l] += acc[2][l]; acc[1][l] += acc[3][l]; }
                for (int l = 0; l < 16; l++) acc[0][l] += acc[1][l];
                double sum = (double)ggml_reduce16(acc[0]);
                for (int i = np; i < k; i++) sum += (double)(half_to_float(row[i]) * xt[i]);
                c[t * ldc + r] = (float)sum;
            }
        }
    }
}
