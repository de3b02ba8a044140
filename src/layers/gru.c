/* keras.layers.GRU: one step of the shared recurrent driver
 * (rnn_common.c).  Gates in tf.keras' column order z, r, h; x = x . kernel
 * + input bias (XP, from the driver):
 *   reset_after (tf.keras 2.x default; bias (2, 3u), row 1 recurrent):
 *     m = h_prev . recurrent_kernel + bias[1],
 *     z = ra(x_z + m_z), r = ra(x_r + m_r), hh = act(x_h + r * m_h);
 *   reset_after=False (Keras 1 and 2.x before tf.keras; bias (3u,)):
 *     m = h_prev . recurrent_kernel[:, :2u], z and r as above,
 *     hh = act(x_h + (r * h_prev) . recurrent_kernel[:, 2u:]);
 *   then h = z * h_prev + (1 - z) * hh. */
#include <string.h>

#include "layers/rnn_common.h"
#include "ops/ops.h"

/* record: m (batch, 3u) (for reset_after=False its last block holds
 * r * h_prev instead), the pre-activations (batch, 3u) and the gates z, r,
 * hh (batch, 3u). */
enum { REC_M = 0, REC_PRE = 3, REC_POST = 6, REC_BLOCKS = 9 };
/* backward scratch: the gates' gradients (batch, 3u), the gradient of m
 * (batch, 3u). */
enum { WORK_DPOST = 0, WORK_DM = 3, WORK_BLOCKS = 6 };

/* The fused cell on rows [r0, r1) of a step, run by the product on the
 * thread that computed those rows (each row's arithmetic is its own). */
static void gru_cell_rows(void *arg, int64_t r0, int64_t r1)
{
    const ck_gru_cell_args *a = arg;
    const int64_t U = a->units, G = 3 * U;
    ck_gru_cell_args s = *a;
    s.batch = r1 - r0;
    s.m += r0 * G, s.pre += r0 * G, s.post += r0 * G, s.h += r0 * U;
    s.h_prev += r0 * U;
    if (s.xp_rows) s.xp_rows += r0;
    else s.xp += r0 * a->ldx;
    ck_gru_cell_f32(&s);
}

static ck_status gru_forward(const ck_rnn_layer *r, const ck_rnn_fwd *s)
{
    int64_t B = s->batch, U = s->units, G = 3 * U;
    size_t es = ck_dtype_size(s->dt), blk = (size_t)(B * U) * es, ub = (size_t)U * es;
    char *m = s->rec, *pre = m + REC_PRE * blk, *post = m + REC_POST * blk;
    const char *rk = r->recurrent_kernel->value->data;
    int after = r->a.reset_after;
    const int fused = after ? ck_rnn_fused_gates(r, s->dt) : 0;
    if (fused) {
        /* the usual gates: one product (contiguous operands: the
         * inference products' kernel choice), then one fused pass over
         * each band of rows, on the thread that made them */
        ck_gru_cell_args cell = {.batch = B, .units = U, .ldx = s->ldx, .hard_sigmoid = fused == 2,
                                 .keep = s->training, .m = (float *)m, .pre = (float *)pre, .post = (float *)post,
                                 .h = s->h, .xp = s->xp,
                                 .rbias = r->bias ? (const float *)r->bias->value->data + G : NULL,
                                 .h_prev = s->h_prev, .xp_rows = (const float *const *)s->xp_rows};
        ck_matmul_f32_then(B, G, U, s->h_in, (const float *)rk, (float *)m, gru_cell_rows, &cell);
        return CK_OK;
    }
    ck_rnn_gemm(s->dt, 0, 0, B, after ? G : 2 * U, U, s->h_in, U, rk, G, 0.0, m, G);
    CK_RNN_TYPED(s->dt, {
        real *mm = (real *)m, *p = (real *)pre;
        const real *xp = s->xp, *rb = after && r->bias ? (const real *)r->bias->value->data + G : NULL;
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < 2 * U; j++) {
                if (rb) mm[b * G + j] += rb[j];
                p[b * G + j] = xp[b * s->ldx + j] + mm[b * G + j];
            }
        if (rb)
            for (int64_t b = 0; b < B; b++)
                for (int64_t j = 2 * U; j < G; j++) mm[b * G + j] += rb[j];
    });
    memcpy(post, pre, 3 * blk); /* z and r (hh's columns are written below) */
    CK_TRY(ck_rnn_activate(r->a.recurrent_activation, s->dt, post, B, U, G));
    CK_TRY(ck_rnn_activate(r->a.recurrent_activation, s->dt, post + ub, B, U, G));
    CK_RNN_TYPED(s->dt, {
        real *mm = (real *)m, *p = (real *)pre;
        const real *xp = s->xp, *gr = (const real *)post + U, *hin = s->h_in;
        if (after) {
            for (int64_t b = 0; b < B; b++)
                for (int64_t u = 0; u < U; u++)
                    p[b * G + 2 * U + u] = xp[b * s->ldx + 2 * U + u] + gr[b * G + u] * mm[b * G + 2 * U + u];
        } else {
            /* q = r * h_in, kept in m's last block for backward. */
            for (int64_t b = 0; b < B; b++)
                for (int64_t u = 0; u < U; u++) mm[b * G + 2 * U + u] = gr[b * G + u] * hin[b * U + u];
        }
    });
    if (!after) {
        ck_rnn_gemm(s->dt, 0, 0, B, U, U, m + 2 * ub, G, rk + 2 * ub, G, 0.0, pre + 2 * ub, G);
        CK_RNN_TYPED(s->dt, {
            real *p = (real *)pre;
            const real *xp = s->xp;
            for (int64_t b = 0; b < B; b++)
                for (int64_t u = 0; u < U; u++) p[b * G + 2 * U + u] += xp[b * s->ldx + 2 * U + u];
        });
    }
    CK_RNN_TYPED(s->dt, {
        const real *p = (const real *)pre;
        real *q = (real *)post;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) q[b * G + 2 * U + u] = p[b * G + 2 * U + u];
    });
    CK_TRY(ck_rnn_activate(r->a.activation, s->dt, post + 2 * ub, B, U, G));
    CK_RNN_TYPED(s->dt, {
        const real *q = (const real *)post, *hp = s->h_prev;
        real *h = s->h;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) {
                real z = q[b * G + u];
                h[b * U + u] = z * hp[b * U + u] + (1 - z) * q[b * G + 2 * U + u];
            }
    });
    return CK_OK;
}

static ck_status gru_backward(const ck_rnn_layer *r, const ck_rnn_bwd *s)
{
    int64_t B = s->batch, U = s->units, G = 3 * U;
    size_t es = ck_dtype_size(s->dt), blk = (size_t)(B * U) * es, ub = (size_t)U * es;
    const char *m = s->rec, *pre = m + REC_PRE * blk, *post = m + REC_POST * blk;
    const char *rk = r->recurrent_kernel->value->data;
    char *dpost = (char *)s->work + WORK_DPOST * blk, *dm = (char *)s->work + WORK_DM * blk, *dx = s->dx;
    ck_tensor *rg = r->recurrent_kernel->grad;
    int after = r->a.reset_after;
    /* h = z h_prev + (1 - z) hh: d z, d hh and the direct d h_prev. */
    CK_RNN_TYPED(s->dt, {
        const real *q = (const real *)post, *hp = s->h_prev, *dh = s->dh;
        real *d = (real *)dpost, *dhp = s->dh_prev;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) {
                real z = q[b * G + u], g = dh[b * U + u];
                d[b * G + u] = g * (hp[b * U + u] - q[b * G + 2 * U + u]);
                d[b * G + 2 * U + u] = g * (1 - z);
                dhp[b * U + u] = g * z;
            }
    });
    CK_TRY(ck_rnn_activate_grad(r->a.recurrent_activation, s->dt, pre, post, dpost, dx, B, U, G));
    CK_TRY(ck_rnn_activate_grad(r->a.activation, s->dt, pre + 2 * ub, post + 2 * ub, dpost + 2 * ub, dx + 2 * ub,
                                B, U, G));
    if (after) {
        /* d r = d pre_h * m_h; d m = (d pre_z, d pre_r, d pre_h * r). */
        CK_RNN_TYPED(s->dt, {
            const real *mm = (const real *)m, *q = (const real *)post, *x = (const real *)dx;
            real *d = (real *)dpost, *g = (real *)dm;
            for (int64_t b = 0; b < B; b++)
                for (int64_t u = 0; u < U; u++) {
                    d[b * G + U + u] = x[b * G + 2 * U + u] * mm[b * G + 2 * U + u];
                    g[b * G + 2 * U + u] = x[b * G + 2 * U + u] * q[b * G + U + u];
                }
        });
    } else {
        /* d q = d pre_h . rk_h^T, into dm's last block; rk_h += q^T d pre_h;
         * d r = d q * h_in. */
        ck_rnn_gemm(s->dt, 0, 1, B, U, U, dx + 2 * ub, G, rk + 2 * ub, G, 0.0, dm + 2 * ub, G);
        if (rg) ck_rnn_gemm(s->dt, 1, 0, U, U, B, m + 2 * ub, G, dx + 2 * ub, G, 1.0, (char *)rg->data + 2 * ub, G);
        CK_RNN_TYPED(s->dt, {
            const real *g = (const real *)dm, *hin = s->h_in;
            real *d = (real *)dpost;
            for (int64_t b = 0; b < B; b++)
                for (int64_t u = 0; u < U; u++) d[b * G + U + u] = g[b * G + 2 * U + u] * hin[b * U + u];
        });
    }
    CK_TRY(ck_rnn_activate_grad(r->a.recurrent_activation, s->dt, pre + ub, post + ub, dpost + ub, dx + ub, B, U,
                                G));
    /* The z and r columns of d m are those of d x. */
    CK_RNN_TYPED(s->dt, {
        const real *x = (const real *)dx;
        real *g = (real *)dm;
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < 2 * U; j++) g[b * G + j] = x[b * G + j];
    });
    if (after) {
        if (rg) ck_rnn_gemm(s->dt, 1, 0, U, G, B, s->h_in, U, dm, G, 1.0, rg->data, G);
        if (r->bias && r->bias->grad) ck_rnn_add_colsum(s->dt, dm, B, G, (char *)r->bias->grad->data + G * es);
        ck_rnn_gemm(s->dt, 0, 1, B, U, G, dm, G, rk, G, 0.0, s->dh_in, U);
        return CK_OK;
    }
    if (rg) ck_rnn_gemm(s->dt, 1, 0, U, 2 * U, B, s->h_in, U, dm, G, 1.0, rg->data, G);
    ck_rnn_gemm(s->dt, 0, 1, B, U, 2 * U, dm, G, rk, G, 0.0, s->dh_in, U);
    /* q = r * h_in also reaches h_in directly: + d q * r. */
    CK_RNN_TYPED(s->dt, {
        const real *g = (const real *)dm, *q = (const real *)post;
        real *o = s->dh_in;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) o[b * U + u] += g[b * G + 2 * U + u] * q[b * G + U + u];
    });
    return CK_OK;
}

/* The fused cell (reset_after, the usual gates) reads rows by pointer. */
static int gru_takes_xp_rows(const ck_rnn_layer *r, ck_dtype dt)
{
    return r->a.reset_after && ck_rnn_fused_gates(r, dt) != 0;
}

static const ck_rnn_cell gru_cell = {
    .cell_name = "gru_cell",
    .gates = 3,
    .has_recurrent_activation = 1,
    .has_implementation = 1,
    .has_reset_after = 1,
    .record = REC_BLOCKS,
    .work = WORK_BLOCKS,
    .forward = gru_forward,
    .takes_xp_rows = gru_takes_xp_rows,
    .backward = gru_backward,
};

ck_status ck_gru(ck_layer **out, const ck_rnn_opts *opts)
{
    CK_NEED(out);
    return ck_rnn_new(&ck_gru_class, &gru_cell, opts, out);
}

static ck_status gru_from_config(const json_t *config, ck_layer **out)
{
    return ck_rnn_from_config(&ck_gru_class, &gru_cell, config, out);
}

const ck_layer_class ck_gru_class = CK_RNN_CLASS("GRU", gru_from_config);
