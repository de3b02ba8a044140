/* keras.layers.LSTM: one step of the shared recurrent driver
 * (rnn_common.c).  Gates in tf.keras' column order i, f, c, o:
 *   z = x . kernel + h_prev . recurrent_kernel + bias,
 *   i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o),
 *   c = f * c_prev + i * g,  h = o * act(c).
 * Implementations 1 and 2 of Keras differ only in how they group these
 * products; one grouping serves both. */
#include <string.h>

#include "layers/rnn_common.h"
#include "ops/ops.h"

/* record: the pre-activations z (batch, 4u), the gates i f g o (batch,
 * 4u) and act(c) (batch, u). */
enum { REC_Z = 0, REC_GATES = 4, REC_ACTC = 8, REC_BLOCKS = 9 };
/* backward scratch: the gates' gradients (batch, 4u), one (batch, u). */
enum { WORK_DGATES = 0, WORK_TMP = 4, WORK_BLOCKS = 5 };

/* The gate activations on the four column blocks of a (batch, 4u) block. */
static ck_status activate_gates(const ck_rnn_layer *r, ck_dtype dt, void *g, int64_t B, int64_t U)
{
    size_t es = ck_dtype_size(dt);
    for (int k = 0; k < 4; k++) {
        const ck_activation *act = k == 2 ? r->a.activation : r->a.recurrent_activation;
        CK_TRY(ck_rnn_activate(act, dt, (char *)g + (size_t)(k * U) * es, B, U, 4 * U));
    }
    return CK_OK;
}

/* The fused cell on rows [r0, r1) of a step, run by the product on the
 * thread that computed those rows (each row's arithmetic is its own). */
static void lstm_cell_rows(void *arg, int64_t r0, int64_t r1)
{
    const ck_lstm_cell_args *a = arg;
    const int64_t U = a->units, G = 4 * U;
    ck_lstm_cell_args s = *a;
    s.batch = r1 - r0;
    s.z += r0 * G, s.gates += r0 * G, s.c += r0 * U, s.actc += r0 * U, s.h += r0 * U;
    s.c_prev += r0 * U;
    if (s.xp_rows) s.xp_rows += r0;
    else s.xp += r0 * a->ldx;
    ck_lstm_cell_f32(&s);
}

static ck_status lstm_forward(const ck_rnn_layer *r, const ck_rnn_fwd *s)
{
    int64_t B = s->batch, U = s->units, G = 4 * U;
    size_t es = ck_dtype_size(s->dt), blk = (size_t)(B * U) * es;
    char *z = s->rec, *gates = z + REC_GATES * blk, *actc = z + REC_ACTC * blk;
    if (ck_rnn_fused_gates(r, s->dt)) {
        /* h_in, the kernel and z are contiguous: the inference products'
         * kernel choice (ours for the few rows of a step, where CBLAS'
         * fixed costs dominate); then one pass over each band of rows'
         * units, on the thread that made them */
        ck_lstm_cell_args cell = {.batch = B, .units = U, .ldx = s->ldx,
                                  .hard_sigmoid = ck_rnn_fused_gates(r, s->dt) == 2, .keep = s->training,
                                  .z = (float *)z, .gates = (float *)gates, .c = s->c, .actc = (float *)actc,
                                  .h = s->h, .xp = s->xp, .c_prev = s->c_prev,
                                  .xp_rows = (const float *const *)s->xp_rows};
        ck_matmul_f32_then(B, G, U, s->h_in, r->recurrent_kernel->value->data, (float *)z, lstm_cell_rows, &cell);
        return CK_OK;
    }
    ck_rnn_gemm(s->dt, 0, 0, B, G, U, s->h_in, U, r->recurrent_kernel->value->data, G, 0.0, z, G);
    CK_RNN_TYPED(s->dt, {
        real *zz = (real *)z, *gg = (real *)gates;
        const real *xp = s->xp;
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < G; j++) gg[b * G + j] = zz[b * G + j] += xp[b * s->ldx + j];
    });
    CK_TRY(activate_gates(r, s->dt, gates, B, U));
    CK_RNN_TYPED(s->dt, {
        const real *gg = (const real *)gates, *cp = s->c_prev;
        real *c = s->c, *ac = (real *)actc;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) {
                const real *row = gg + b * G;
                c[b * U + u] = row[U + u] * cp[b * U + u] + row[u] * row[2 * U + u];
                ac[b * U + u] = c[b * U + u];
            }
    });
    CK_TRY(ck_rnn_activate(r->a.activation, s->dt, actc, B, U, U));
    CK_RNN_TYPED(s->dt, {
        const real *gg = (const real *)gates, *ac = (const real *)actc;
        real *h = s->h;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) h[b * U + u] = gg[b * G + 3 * U + u] * ac[b * U + u];
    });
    return CK_OK;
}

static ck_status lstm_backward(const ck_rnn_layer *r, const ck_rnn_bwd *s)
{
    int64_t B = s->batch, U = s->units, G = 4 * U;
    size_t es = ck_dtype_size(s->dt), blk = (size_t)(B * U) * es;
    const char *z = s->rec, *gates = z + REC_GATES * blk, *actc = z + REC_ACTC * blk;
    char *dg = (char *)s->work + WORK_DGATES * blk, *tmp = (char *)s->work + WORK_TMP * blk;
    /* d o = dh * act(c); d act(c) = dh * o. */
    CK_RNN_TYPED(s->dt, {
        const real *dh = s->dh, *gg = (const real *)gates, *ac = (const real *)actc;
        real *d = (real *)dg, *t = (real *)tmp;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) {
                d[b * G + 3 * U + u] = dh[b * U + u] * ac[b * U + u];
                t[b * U + u] = dh[b * U + u] * gg[b * G + 3 * U + u];
            }
    });
    CK_TRY(ck_rnn_activate_grad(r->a.activation, s->dt, s->c, actc, tmp, tmp, B, U, U));
    /* dc = dc_next + act'(c) d act(c); then i, g, f and c_prev. */
    CK_RNN_TYPED(s->dt, {
        const real *gg = (const real *)gates, *t = (const real *)tmp, *cp = s->c_prev;
        real *d = (real *)dg, *dc = s->dc;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) {
                const real *row = gg + b * G;
                real *drow = d + b * G;
                real c_grad = dc[b * U + u] + t[b * U + u];
                drow[u] = c_grad * row[2 * U + u];
                drow[U + u] = c_grad * cp[b * U + u];
                drow[2 * U + u] = c_grad * row[u];
                dc[b * U + u] = c_grad * row[U + u];
            }
    });
    for (int k = 0; k < 4; k++) {
        const ck_activation *act = k == 2 ? r->a.activation : r->a.recurrent_activation;
        size_t o = (size_t)(k * U) * es;
        CK_TRY(ck_rnn_activate_grad(act, s->dt, z + o, gates + o, dg + o, (char *)s->dx + o, B, U, G));
    }
    const void *rk = r->recurrent_kernel->value->data;
    ck_tensor *rg = r->recurrent_kernel->grad;
    if (rg) ck_rnn_gemm(s->dt, 1, 0, U, G, B, s->h_in, U, s->dx, G, 1.0, rg->data, G);
    ck_rnn_gemm(s->dt, 0, 1, B, U, G, s->dx, G, rk, G, 0.0, s->dh_in, U);
    memset(s->dh_prev, 0, blk);
    return CK_OK;
}

static int lstm_takes_xp_rows(const ck_rnn_layer *r, ck_dtype dt) { return ck_rnn_fused_gates(r, dt) != 0; }

static const ck_rnn_cell lstm_cell = {
    .cell_name = "lstm_cell",
    .gates = 4,
    .has_carry = 1,
    .has_recurrent_activation = 1,
    .has_implementation = 1,
    .has_unit_forget_bias = 1,
    .record = REC_BLOCKS,
    .work = WORK_BLOCKS,
    .forward = lstm_forward,
    .takes_xp_rows = lstm_takes_xp_rows,
    .backward = lstm_backward,
};

ck_status ck_lstm(ck_layer **out, const ck_rnn_opts *opts)
{
    CK_NEED(out);
    return ck_rnn_new(&ck_lstm_class, &lstm_cell, opts, out);
}

static ck_status lstm_from_config(const json_t *config, ck_layer **out)
{
    return ck_rnn_from_config(&ck_lstm_class, &lstm_cell, config, out);
}

const ck_layer_class ck_lstm_class = CK_RNN_CLASS("LSTM", lstm_from_config);
