/* What the attention layers (Attention, AdditiveAttention,
 * MultiHeadAttention) share: matrix products in either float dtype, the
 * masked softmax of score rows and its backward, and the training dropout
 * of the attention weights.  Internal.
 *
 * Masks follow Keras: a masked score gets a large negative number added
 * in the compute dtype (-1e9; tf.keras' Softmax adds (1 - mask) * -1e9,
 * the dense attention layers subtract 1e9 * (1 - mask)), so a row whose
 * every entry is masked becomes uniform in float32 and keeps its relative
 * scores in float64, exactly as in Keras. */
#ifndef CK_ATTENTION_MATH_H
#define CK_ATTENTION_MATH_H

#include "layers/layer.h"

/* base + off bytes, where a buffer of size zero (an empty query, key or
 * value sequence) is NULL: NULL + 0 is undefined in C. */
static inline char *ck_attn_at(const void *base, size_t off)
{
    return base ? (char *)base + off : NULL;
}

/* C(M,N) = beta * C + op(A) op(B) in `dt` (float32 or float64), row-major
 * with leading dimensions (ck_gemm_f32 / _f64). */
void ck_attn_mm(ck_dtype dt, int trans_a, int trans_b, int64_t M, int64_t N, int64_t K, const void *a, int64_t lda,
                const void *b, int64_t ldb, int beta, void *c, int64_t ldc);

/* Which scores of a (T, S) block are kept.  `tensor` (may be NULL: none)
 * is read as m[offset + t * tstride + s * sstride] != 0 (strides 0 where
 * the mask broadcasts); `causal` keeps s <= t only.  Both may apply. */
typedef struct ck_attn_mask {
    const ck_tensor *tensor;   /* any dtype; NULL: none */
    int64_t offset, tstride, sstride;
    int causal;
    /* Per-position masks (Keras masks of the query and of the value /
     * key; any dtype; NULL: none): score (t, s) is kept only where
     * rows[row_off + t] and each cols[k][col_off + s] are nonzero. */
    const ck_tensor *rows, *cols[2];
    int64_t row_off, col_off;
} ck_attn_mask;

/* 1 when element i of a mask tensor (any dtype) is nonzero. */
int ck_attn_mask_at(const ck_tensor *m, int64_t i);

/* 1 when score (t, s) is kept (every mask given agrees). */
int ck_attn_kept(const ck_attn_mask *m, int64_t t, int64_t s);

/* In place over the `rows` rows t of a (rows, S) block with leading dimension ld:
 * p = softmax(scores + masked * -1e9) along each row. */
void ck_attn_softmax(ck_dtype dt, void *scores, int64_t rows, int64_t S, int64_t ld, const ck_attn_mask *m);

/* d scores = p * (dp - sum_s(dp * p)) over rows, written into dp (same
 * layout as the softmax's). */
void ck_attn_softmax_backward(ck_dtype dt, const void *p, void *dp, int64_t rows, int64_t S, int64_t ld);

/* Training dropout of the attention weights (tf.nn.dropout): keep[i] =
 * 1 / (1 - rate) when a uniform draw is >= rate, else 0, for n entries;
 * pd = p * keep.  `keep` and `pd` are n values of dt. */
void ck_attn_dropout(ck_dtype dt, ck_rng *rng, double rate, const void *p, void *keep, void *pd, int64_t n);

/* y[i] *= x[i] for n values of dt (the dropout mask applied to gradients). */
void ck_attn_mul_into(ck_dtype dt, void *y, const void *x, int64_t n);

/* rows (n, d) of dt: y[r, :] += bias[:] */
void ck_attn_add_bias(ck_dtype dt, void *y, const void *bias, int64_t n, int64_t d);
/* grad[:] += sum over rows of dy (n, d) */
void ck_attn_bias_grad(ck_dtype dt, const void *dy, void *grad, int64_t n, int64_t d);
/* y[i] *= s for n values. */
void ck_attn_scale(ck_dtype dt, void *y, double s, int64_t n);
/* y[i] += x[i] for n values. */
void ck_attn_add_into(ck_dtype dt, void *y, const void *x, int64_t n);
/* Zeros n values of dt (gradients of mask inputs). */
void ck_attn_zero(ck_dtype dt, void *y, int64_t n);

/* Element i of a float buffer of dtype dt (for readable loops). */
static inline double ck_attn_get(ck_dtype dt, const void *p, int64_t i)
{
    return dt == CK_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void ck_attn_set(ck_dtype dt, void *p, int64_t i, double v)
{
    if (dt == CK_FLOAT32) ((float *)p)[i] = (float)v;
    else ((double *)p)[i] = v;
}

#endif
