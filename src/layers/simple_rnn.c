/* keras.layers.SimpleRNN: h = activation(x . kernel + h_prev .
 * recurrent_kernel + bias), one step of the shared recurrent driver
 * (rnn_common.c).  A step keeps its pre-activation for backward. */
#include <string.h>

#include "layers/rnn_common.h"

/* record: z (batch, units), the pre-activation. */
static ck_status simple_forward(const ck_rnn_layer *r, const ck_rnn_fwd *s)
{
    int64_t B = s->batch, U = s->units;
    ck_rnn_gemm(s->dt, 0, 0, B, U, U, s->h_in, U, r->recurrent_kernel->value->data, U, 0.0, s->rec, U);
    CK_RNN_TYPED(s->dt, {
        real *z = s->rec, *h = s->h;
        const real *xp = s->xp;
        for (int64_t b = 0; b < B; b++)
            for (int64_t u = 0; u < U; u++) {
                z[b * U + u] += xp[b * s->ldx + u];
                h[b * U + u] = z[b * U + u];
            }
    });
    return ck_rnn_activate(r->a.activation, s->dt, s->h, B, U, U);
}

static ck_status simple_backward(const ck_rnn_layer *r, const ck_rnn_bwd *s)
{
    int64_t B = s->batch, U = s->units;
    const void *rk = r->recurrent_kernel->value->data;
    ck_tensor *rg = r->recurrent_kernel->grad;
    CK_TRY(ck_rnn_activate_grad(r->a.activation, s->dt, s->rec, s->h, s->dh, s->dx, B, U, U));
    if (rg) ck_rnn_gemm(s->dt, 1, 0, U, U, B, s->h_in, U, s->dx, U, 1.0, rg->data, U);
    ck_rnn_gemm(s->dt, 0, 1, B, U, U, s->dx, U, rk, U, 0.0, s->dh_in, U);
    memset(s->dh_prev, 0, (size_t)(B * U) * ck_dtype_size(s->dt));
    return CK_OK;
}

static const ck_rnn_cell simple_cell = {
    .cell_name = "simple_rnn_cell",
    .gates = 1,
    .record = 1,
    .forward = simple_forward,
    .backward = simple_backward,
};

ck_status ck_simple_rnn(ck_layer **out, const ck_rnn_opts *opts)
{
    CK_NEED(out);
    return ck_rnn_new(&ck_simple_rnn_class, &simple_cell, opts, out);
}

static ck_status simple_from_config(const json_t *config, ck_layer **out)
{
    return ck_rnn_from_config(&ck_simple_rnn_class, &simple_cell, config, out);
}

const ck_layer_class ck_simple_rnn_class = CK_RNN_CLASS("SimpleRNN", simple_from_config);
