/* Kernels the attention layers share (see attention_math.h). */
#include <math.h>

#include "layers/attention_math.h"
#include "ops/ops.h"

void ck_attn_mm(ck_dtype dt, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const void *a, int64_t lda,
                const void *b, int64_t ldb, int beta, void *c, int64_t ldc)
{
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        /* An empty contraction is a zero product. */
        if (!beta)
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) ck_attn_set(dt, c, i * ldc + j, 0.0);
        return;
    }
    if (dt == CK_FLOAT32)
        ck_gemm_f32(trans_a, trans_b, M, N, K, a, lda, b, ldb, beta ? 1.0f : 0.0f, c, ldc);
    else
        ck_gemm_f64(trans_a, trans_b, M, N, K, a, lda, b, ldb, beta ? 1.0 : 0.0, c, ldc);
}

int ck_attn_mask_at(const ck_tensor *m, int64_t i)
{
    switch (m->dtype) {
    case CK_FLOAT32: return ((const float *)m->data)[i] != 0;
    case CK_FLOAT64: return ((const double *)m->data)[i] != 0;
    case CK_INT32: return ((const int32_t *)m->data)[i] != 0;
    default: return ((const int64_t *)m->data)[i] != 0;
    }
}

int ck_attn_kept(const ck_attn_mask *m, int64_t t, int64_t s)
{
    if (m->causal && s > t) return 0;
    if (m->rows && !ck_attn_mask_at(m->rows, m->row_off + t)) return 0;
    for (int k = 0; k < 2; k++)
        if (m->cols[k] && !ck_attn_mask_at(m->cols[k], m->col_off + s)) return 0;
    return !m->tensor || ck_attn_mask_at(m->tensor, m->offset + t * m->tstride + s * m->sstride);
}

/* The masked value is computed in T, as Keras adds the large negative in
 * the scores' dtype; exp and the sum run in double. */
#define SOFTMAX_ROWS(T)                                                                \
    do {                                                                               \
        T *x = scores;                                                                 \
        for (int64_t t = 0; t < rows; t++) {                                           \
            T *r = x + t * ld;                                                         \
            if (masking)                                                               \
                for (int64_t s = 0; s < S; s++)                                        \
                    if (!ck_attn_kept(m, t, s)) r[s] = r[s] + (T)-1e9;              \
            T mx = r[0];                                                               \
            for (int64_t s = 1; s < S; s++) mx = r[s] > mx ? r[s] : mx;                \
            double sum = 0;                                                            \
            for (int64_t s = 0; s < S; s++) {                                          \
                double e = exp((double)(r[s] - mx));                                   \
                r[s] = (T)e;                                                           \
                sum += e;                                                              \
            }                                                                          \
            const double inv = 1.0 / sum;                                              \
            for (int64_t s = 0; s < S; s++) r[s] = (T)((double)r[s] * inv);            \
        }                                                                              \
    } while (0)

void ck_attn_softmax(ck_dtype dt, void *scores, int64_t rows, int64_t S, int64_t ld, const ck_attn_mask *m)
{
    if (S <= 0) return;
    const int masking = m && (m->causal || m->tensor || m->rows || m->cols[0] || m->cols[1]);
    if (dt == CK_FLOAT32) SOFTMAX_ROWS(float);
    else SOFTMAX_ROWS(double);
}

#define SOFTMAX_BACK(T)                                                                \
    do {                                                                               \
        const T *pp = p;                                                               \
        T *g = dp;                                                                     \
        for (int64_t t = 0; t < rows; t++) {                                           \
            const T *pr = pp + t * ld;                                                 \
            T *gr = g + t * ld;                                                        \
            double dot = 0;                                                            \
            for (int64_t s = 0; s < S; s++) dot += (double)gr[s] * (double)pr[s];      \
            for (int64_t s = 0; s < S; s++) gr[s] = (T)((double)pr[s] * ((double)gr[s] - dot)); \
        }                                                                              \
    } while (0)

void ck_attn_softmax_backward(ck_dtype dt, const void *p, void *dp, int64_t rows, int64_t S, int64_t ld)
{
    if (dt == CK_FLOAT32) SOFTMAX_BACK(float);
    else SOFTMAX_BACK(double);
}

#define DROP(T)                                                                        \
    do {                                                                               \
        const T *pp = p;                                                               \
        T *k = keep, *o = pd, scale = (T)(1.0 / (1.0 - rate));                         \
        for (int64_t i = 0; i < n; i++) {                                              \
            k[i] = ck_rng_uniform(rng) >= rate ? scale : (T)0;                         \
            o[i] = k[i] != 0 ? pp[i] * k[i] : (T)0;                                    \
        }                                                                              \
    } while (0)

void ck_attn_dropout(ck_dtype dt, ck_rng *rng, double rate, const void *p, void *keep, void *pd, int64_t n)
{
    if (dt == CK_FLOAT32) DROP(float);
    else DROP(double);
}

#define EACH(T, BODY)                                                                  \
    do {                                                                               \
        if (dt == CK_FLOAT32) {                                                        \
            typedef float T;                                                           \
            BODY;                                                                      \
        } else {                                                                       \
            typedef double T;                                                          \
            BODY;                                                                      \
        }                                                                              \
    } while (0)

void ck_attn_mul_into(ck_dtype dt, void *y, const void *x, int64_t n)
{
    EACH(T, { T *a = y; const T *b = x; for (int64_t i = 0; i < n; i++) a[i] *= b[i]; });
}

void ck_attn_add_bias(ck_dtype dt, void *y, const void *bias, int64_t n, int64_t d)
{
    EACH(T, {
        T *a = y;
        const T *b = bias;
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < d; j++) a[r * d + j] += b[j];
    });
}

void ck_attn_bias_grad(ck_dtype dt, const void *dy, void *grad, int64_t n, int64_t d)
{
    EACH(T, {
        const T *a = dy;
        T *g = grad;
        for (int64_t r = 0; r < n; r++)
            for (int64_t j = 0; j < d; j++) g[j] += a[r * d + j];
    });
}

void ck_attn_scale(ck_dtype dt, void *y, double s, int64_t n)
{
    EACH(T, { T *a = y; const T f = (T)s; for (int64_t i = 0; i < n; i++) a[i] *= f; });
}

void ck_attn_add_into(ck_dtype dt, void *y, const void *x, int64_t n)
{
    EACH(T, { T *a = y; const T *b = x; for (int64_t i = 0; i < n; i++) a[i] += b[i]; });
}

void ck_attn_zero(ck_dtype dt, void *y, int64_t n)
{
    EACH(T, { T *a = y; for (int64_t i = 0; i < n; i++) a[i] = 0; });
}
