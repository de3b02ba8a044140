/* The elementwise part of one float32 LSTM or GRU step in a single pass
 * (ops.h, ck_lstm_cell_f32, ck_gru_cell_f32): adding the step's projected
 * inputs to the recurrent product, the gate activations, the new carry and
 * the new state.
 *
 * Why a kernel of its own: with the generic activations (double libm calls
 * on one gate block at a time, five passes a step) the elementwise work
 * cost more than the recurrent product at small batches.  Here sigmoid and
 * tanh are float polynomials on whole vectors (Cephes' expf and tanhf
 * schemes, a few ulp: well inside the 1e-5 Keras goldens), written with the
 * compilers' vector extensions once and compiled for AVX-512, AVX2 and the
 * baseline.  The polynomials' multiply-adds are fused on AVX2 and AVX-512
 * (half the latency of the Horner chains: a float32 LSTM(128) step 4%
 * faster), separate on the baseline, so the baseline may differ by an ulp;
 * the gates' own arithmetic (c = f c' + i g, GRU's x + r m) stays unfused,
 * as TensorFlow's.  Within a variant the tail goes through a padded
 * vector, so the result does not depend on where a unit falls in its row. */
#include <stdint.h>
#include <string.h>

#include "ops/ops.h"

#define LOG2E 1.44269504088896341f
#define EXP_C1 0.693359375f /* ln 2 = C1 + C2, C1 exact in a few bits */
#define EXP_C2 (-2.12194440e-4f)
#define ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: adding it rounds to an integer */

/* One set of vector functions and the row loop for vectors of W floats;
 * ATTR enables the instruction set. */
#define DEFINE_LSTM_CELL(SUF, W, ATTR, FMA)                                                                  \
    typedef float vf_##SUF __attribute__((vector_size(4 * (W))));                                         \
    typedef int32_t vi_##SUF __attribute__((vector_size(4 * (W))));                                       \
    typedef uint32_t vu_##SUF __attribute__((vector_size(4 * (W))));                                      \
                                                                                                           \
    ATTR static inline vf_##SUF sel_##SUF(vi_##SUF m, vf_##SUF a, vf_##SUF b)                             \
    {                                                                                                      \
        return (vf_##SUF)((m & (vi_##SUF)a) | (~m & (vi_##SUF)b));                                         \
    }                                                                                                      \
                                                                                                           \
    /* exp(x) for x in [-87, 88] (clamped; NaN stays NaN). */                                             \
    ATTR static inline vf_##SUF exp_##SUF(vf_##SUF x)                                                     \
    {                                                                                                      \
        const vf_##SUF hi = (vf_##SUF){0} + 88.0f, lo = (vf_##SUF){0} - 87.0f;                            \
        x = sel_##SUF(x > hi, hi, x);                                                                      \
        x = sel_##SUF(x < lo, lo, x);                                                                      \
        const vf_##SUF z0 = {0};                                                                           \
        vf_##SUF n = FMA(x, z0 + LOG2E, z0 + ROUND_MAGIC) - ROUND_MAGIC;                                   \
        vf_##SUF r = FMA(n, z0 - EXP_C1, x);                                                               \
        r = FMA(n, z0 - EXP_C2, r);                                                                        \
        vf_##SUF p = FMA(r, z0 + 1.9875691500e-4f, z0 + 1.3981999507e-3f);                                 \
        p = FMA(p, r, z0 + 8.3334519073e-3f);                                                              \
        p = FMA(p, r, z0 + 4.1665795894e-2f);                                                              \
        p = FMA(p, r, z0 + 1.6666665459e-1f);                                                              \
        p = FMA(p, r, z0 + 5.0000001201e-1f);                                                              \
        p = FMA(p, r * r, r) + 1.0f;                                                                       \
        /* 2^n from its exponent bits (unsigned: a NaN's lanes may not shift as signed) */                 \
        vu_##SUF e = (vu_##SUF)(__builtin_convertvector(n, vi_##SUF) + 127) << 23;                        \
        return p * (vf_##SUF)e;                                                                            \
    }                                                                                                      \
                                                                                                           \
    ATTR static inline vf_##SUF sigmoid_##SUF(vf_##SUF x, int hard)                                        \
    {                                                                                                      \
        if (hard) { /* Keras 2: clip(0.2 x + 0.5, 0, 1) */                                                 \
            vf_##SUF y = x * 0.2f + 0.5f, zero = {0}, one = zero + 1.0f;                                   \
            y = sel_##SUF(y < zero, zero, y);                                                              \
            return sel_##SUF(y > one, one, y);                                                             \
        }                                                                                                  \
        return 1.0f / (1.0f + exp_##SUF(-x));                                                              \
    }                                                                                                      \
                                                                                                           \
    /* tanh: an odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) above. */                             \
    ATTR static inline vf_##SUF tanh_##SUF(vf_##SUF x)                                                    \
    {                                                                                                      \
        const vi_##SUF sign = (vi_##SUF)x & INT32_MIN;                                                   \
        vf_##SUF a = (vf_##SUF)((vi_##SUF)x & 0x7fffffff);                                                 \
        vf_##SUF big = 1.0f - 2.0f / (exp_##SUF(a + a) + 1.0f);                                            \
        const vf_##SUF z0 = {0};                                                                           \
        vf_##SUF z = a * a;                                                                                \
        vf_##SUF p = FMA(z, z0 - 5.70498872745e-3f, z0 + 2.06390887954e-2f);                               \
        p = FMA(p, z, z0 - 5.37397155531e-2f);                                                             \
        p = FMA(p, z, z0 + 1.33314422036e-1f);                                                             \
        p = FMA(p, z, z0 - 3.33332819422e-1f);                                                             \
        vf_##SUF small = FMA(p * z, a, a);                                                                 \
        vf_##SUF t = sel_##SUF(a < 0.625f, small, big);                                                    \
        return (vf_##SUF)((vi_##SUF)t | sign);                                                             \
    }                                                                                                      \
                                                                                                           \
    /* Units u .. u+n-1 (n <= W) of row b. */                                                                                          \
    ATTR static inline void units_##SUF(const ck_lstm_cell_args *s, int64_t b, int64_t u, int64_t n)      \
    {                                                                                                      \
        const int64_t U = s->units, G = 4 * U;                                                             \
        float *z = s->z + b * G + u, *g = s->gates + b * G + u;                                            \
        const float *x = (s->xp_rows ? s->xp_rows[b] : s->xp + b * s->ldx) + u;                                                           \
        vf_##SUF zz[4], gg[4], cp, c, ac;                                                                  \
        memset(zz, 0, sizeof zz);                                                                          \
        cp = zz[0];                                                                                        \
        for (int k = 0; k < 4; k++) {                                                                      \
            vf_##SUF xv = {0};                                                                             \
            memcpy(&zz[k], z + k * U, (size_t)n * 4);                                                      \
            memcpy(&xv, x + k * U, (size_t)n * 4);                                                         \
            zz[k] += xv;                                                                                   \
            if (s->keep) memcpy(z + k * U, &zz[k], (size_t)n * 4);                                         \
        }                                                                                                  \
        gg[0] = sigmoid_##SUF(zz[0], s->hard_sigmoid);                                                     \
        gg[1] = sigmoid_##SUF(zz[1], s->hard_sigmoid);                                                     \
        gg[2] = tanh_##SUF(zz[2]);                                                                         \
        gg[3] = sigmoid_##SUF(zz[3], s->hard_sigmoid);                                                     \
        for (int k = 0; s->keep && k < 4; k++) memcpy(g + k * U, &gg[k], (size_t)n * 4);                   \
        memcpy(&cp, s->c_prev + b * U + u, (size_t)n * 4);                                                 \
        c = gg[1] * cp + gg[0] * gg[2];                                                                    \
        ac = tanh_##SUF(c);                                                                                \
        vf_##SUF h = gg[3] * ac;                                                                           \
        memcpy(s->c + b * U + u, &c, (size_t)n * 4);                                                       \
        if (s->keep) memcpy(s->actc + b * U + u, &ac, (size_t)n * 4);                                      \
        memcpy(s->h + b * U + u, &h, (size_t)n * 4);                                                       \
    }                                                                                                      \
                                                                                                           \
    /* GRU (reset_after) units u .. u+n-1 (n <= W) of row b. */                                         \
    ATTR static inline void gru_units_##SUF(const ck_gru_cell_args *s, int64_t b, int64_t u, int64_t n)   \
    {                                                                                                      \
        const int64_t U = s->units, G = 3 * U;                                                             \
        float *m = s->m + b * G + u, *pre = s->pre + b * G + u, *post = s->post + b * G + u;              \
        const float *x = (s->xp_rows ? s->xp_rows[b] : s->xp + b * s->ldx) + u;                                                           \
        vf_##SUF mm[3], xv[3], p[3], q[3], hp = {0};                                                       \
        for (int k = 0; k < 3; k++) {                                                                      \
            vf_##SUF rb = {0};                                                                             \
            mm[k] = rb, xv[k] = rb;                                                                        \
            memcpy(&mm[k], m + k * U, (size_t)n * 4);                                                      \
            memcpy(&xv[k], x + k * U, (size_t)n * 4);                                                      \
            if (s->rbias) {                                                                                \
                memcpy(&rb, s->rbias + k * U + u, (size_t)n * 4);                                          \
                mm[k] += rb;                                                                               \
                if (s->keep) memcpy(m + k * U, &mm[k], (size_t)n * 4);                                     \
            }                                                                                              \
        }                                                                                                  \
        p[0] = xv[0] + mm[0];                                                                              \
        p[1] = xv[1] + mm[1];                                                                              \
        q[0] = sigmoid_##SUF(p[0], s->hard_sigmoid);                                                       \
        q[1] = sigmoid_##SUF(p[1], s->hard_sigmoid);                                                       \
        p[2] = xv[2] + q[1] * mm[2];                                                                       \
        q[2] = tanh_##SUF(p[2]);                                                                           \
        for (int k = 0; s->keep && k < 3; k++) {                                                           \
            memcpy(pre + k * U, &p[k], (size_t)n * 4);                                                     \
            memcpy(post + k * U, &q[k], (size_t)n * 4);                                                    \
        }                                                                                                  \
        memcpy(&hp, s->h_prev + b * U + u, (size_t)n * 4);                                                 \
        vf_##SUF h = q[0] * hp + (1.0f - q[0]) * q[2];                                                     \
        memcpy(s->h + b * U + u, &h, (size_t)n * 4);                                                       \
    }                                                                                                      \
                                                                                                           \
    ATTR static void gru_cell_##SUF(const ck_gru_cell_args *s)                                            \
    {                                                                                                      \
        for (int64_t b = 0; b < s->batch; b++) {                                                           \
            int64_t u = 0;                                                                                 \
            for (; u + (W) <= s->units; u += (W)) gru_units_##SUF(s, b, u, (W));                           \
            if (u < s->units) gru_units_##SUF(s, b, u, s->units - u);                                      \
        }                                                                                                  \
    }                                                                                                      \
                                                                                                           \
    ATTR static void cell_##SUF(const ck_lstm_cell_args *s)                                               \
    {                                                                                                      \
        for (int64_t b = 0; b < s->batch; b++) {                                                           \
            int64_t u = 0;                                                                                 \
            for (; u + (W) <= s->units; u += (W)) units_##SUF(s, b, u, (W));                               \
            if (u < s->units) units_##SUF(s, b, u, s->units - u);                                          \
        }                                                                                                  \
    }

/* a * b + c: one rounding where the CPU has fused multiply-adds (the
 * polynomials' Horner steps at half the latency), two on the baseline */
#define MUL_ADD(a, b, c) ((a) * (b) + (c))
DEFINE_LSTM_CELL(base, 4, , MUL_ADD)

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define FMA256(a, b, c) ((vf_avx2)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define FMA512(a, b, c) ((vf_avx512)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
DEFINE_LSTM_CELL(avx2, 8, __attribute__((target("avx2,fma"))), FMA256)
DEFINE_LSTM_CELL(avx512, 16, __attribute__((target("avx512f"))), FMA512)
#endif

void ck_lstm_cell_f32(const ck_lstm_cell_args *s)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (ck_cpu_has_avx512()) return cell_avx512(s);
    if (ck_cpu_has_avx2_fma()) return cell_avx2(s);
#endif
    cell_base(s);
}

void ck_gru_cell_f32(const ck_gru_cell_args *s)
{
#if defined(__GNUC__) && defined(__x86_64__)
    if (ck_cpu_has_avx512()) return gru_cell_avx512(s);
    if (ck_cpu_has_avx2_fma()) return gru_cell_avx2(s);
#endif
    gru_cell_base(s);
}
