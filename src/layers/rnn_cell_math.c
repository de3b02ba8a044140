/* The arithmetic the recurrent cells share (rnn_common.h): matrix
 * products in the layer dtype, activations and their gradients over
 * strided gate blocks, the fused-gate test and bias column sums. */
#include <string.h>

#include "layers/rnn_common.h"
#include "ops/ops.h"

/* ---- helpers for the cells -------------------------------------------------- */

void ck_rnn_gemm(ck_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, double beta, void *c, int64_t ldc)
{
    if (m == 0 || n == 0) return;
    if (dt == CK_FLOAT32) ck_gemm_f32(trans_a, trans_b, m, n, k, a, lda, b, ldb, (float)beta, c, ldc);
    else ck_gemm_f64(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

ck_status ck_rnn_activate(const ck_activation *act, ck_dtype dt, void *data, int64_t rows, int64_t cols,
                          int64_t stride)
{
    if (ck_activation_is_linear(act) || rows == 0 || cols == 0) return CK_OK;
    if (stride == cols) return ck_activation_apply_rows(act, dt, data, rows, cols);
    size_t es = ck_dtype_size(dt);
    for (int64_t i = 0; i < rows; i++)
        CK_TRY(ck_activation_apply_rows(act, dt, (char *)data + (size_t)(i * stride) * es, 1, cols));
    return CK_OK;
}

ck_status ck_rnn_activate_grad(const ck_activation *act, ck_dtype dt, const void *z, const void *y,
                               const void *dy, void *dz, int64_t rows, int64_t cols, int64_t stride)
{
    size_t es = ck_dtype_size(dt);
    if (ck_activation_is_linear(act)) {
        if (dz != dy)
            for (int64_t i = 0; i < rows; i++)
                memcpy((char *)dz + (size_t)(i * stride) * es, (const char *)dy + (size_t)(i * stride) * es,
                       (size_t)cols * es);
        return CK_OK;
    }
    if (stride == cols) return ck_activation_grad_rows(act, dt, z, y, dy, dz, rows, cols);
    for (int64_t i = 0; i < rows; i++) {
        size_t o = (size_t)(i * stride) * es;
        CK_TRY(ck_activation_grad_rows(act, dt, (const char *)z + o, (const char *)y + o, (const char *)dy + o,
                                       (char *)dz + o, 1, cols));
    }
    return CK_OK;
}

int ck_rnn_fused_gates(const ck_rnn_layer *r, ck_dtype dt)
{
    if (dt != CK_FLOAT32 || !r->a.recurrent_activation || !r->a.activation) return 0;
    if (strcmp(ck_activation_name(r->a.activation), "tanh") != 0) return 0;
    /* by kind, not name: Keras 3's "hard_sigmoid" is another function */
    return ck_activation_fused_gate_kind(r->a.recurrent_activation);
}

void ck_rnn_add_colsum(ck_dtype dt, const void *block, int64_t rows, int64_t cols, void *g)
{
    CK_RNN_TYPED(dt, {
        const real *p = block;
        real *o = g;
        for (int64_t i = 0; i < rows; i++, p += cols)
            for (int64_t j = 0; j < cols; j++) o[j] += p[j];
    });
}
