/* ConvLSTM training: the forward pass keeping every step's values, and
 * backpropagation through time.  Per step, from dh (the output's gradient
 * plus the next step's) and dc (the next step's):
 *   do = dh * act(c),  dc += dh * o * act'(c),
 *   di = dc * g,  dg = dc * i,  df = dc * c_prev,  dc_prev = dc * f,
 *   dz = d gates * the gate activations' derivatives,
 * then the convolutions' transposes give dx_t and dh_prev, and their
 * weight gradients are added to kernel / recurrent_kernel, dz's sums to
 * the bias.  dropout / recurrent_dropout in a training call are not done
 * yet (CK_NOT_IMPLEMENTED, named); rates of 0, or training=0 calls, are
 * exact. */
#include <string.h>

#include "layers/conv_lstm.h"

/* Blocks of S = (batch, out..., F) elements kept per step: z and the
 * gates (4 each), c, act(c), h. */
enum { REC_Z = 0, REC_GATES = 4, REC_C = 8, REC_ACTC = 9, REC_H = 10, REC_BLOCKS = 11 };
/* After the T records: a zero block (the initial states), then backward's
 * scratch: dh, dc, dh from the next step, dz (4), tmp. */
enum { TAIL_ZERO = 0, TAIL_DH = 1, TAIL_DC = 2, TAIL_DHN = 3, TAIL_DZ = 4, TAIL_TMP = 8, TAIL_BLOCKS = 9 };

size_t ck_conv_lstm_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n, (void)out;
    const conv_lstm_layer *c = (const conv_lstm_layer *)layer;
    conv_geom gx, gh;
    ck_conv_lstm_geometries(c, &in[0], &gx, &gh);
    int64_t S = ck_conv_lstm_state_elems(&gx, c->filters);
    return (size_t)((in[0].dims[1] * REC_BLOCKS + TAIL_BLOCKS) * S) * ck_dtype_size(layer->dtype);
}

static char *rec_block(void *saved, int64_t s, int blk, int64_t S, size_t es)
{
    return (char *)saved + (size_t)((s * REC_BLOCKS + blk) * S) * es;
}

static char *tail_block(void *saved, int64_t T, int blk, int64_t S, size_t es)
{
    return (char *)saved + (size_t)((T * REC_BLOCKS + blk) * S) * es;
}

ck_status ck_conv_lstm_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *out, void *saved)
{
    (void)n;
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    if (ctx && ctx->training && (c->dropout > 0 || c->recurrent_dropout > 0))
        return ck_error(CK_NOT_IMPLEMENTED, "%s \"%s\": training with dropout=%g / recurrent_dropout=%g is not "
                        "supported yet (set the rates to 0 to train)", layer->cls->class_name, layer->name,
                        c->dropout, c->recurrent_dropout);
    size_t es = ck_dtype_size(layer->dtype);
    ck_shape is = ck_tensor_shape(in[0]);
    conv_geom gx, gh;
    ck_conv_lstm_geometries(c, &is, &gx, &gh);
    int64_t S = ck_conv_lstm_state_elems(&gx, c->filters), T = is.dims[1], per_b = S / gx.batch;
    int64_t step_in = gx.in[0] * gx.in[1] * gx.in[2] * gx.cin;
    char *zero = tail_block(saved, T, TAIL_ZERO, S, es);
    memset(zero, 0, (size_t)S * es);
    for (int64_t s = 0; s < T; s++) {
        int64_t t = c->go_backwards ? T - 1 - s : s;
        const char *hp = s ? rec_block(saved, s - 1, REC_H, S, es) : zero;
        const char *cp = s ? rec_block(saved, s - 1, REC_C, S, es) : zero;
        CK_TRY(ck_conv_lstm_step(c, &gx, &gh, (const char *)in[0]->data + (size_t)(t * step_in) * es, T * step_in,
                                 hp, cp, rec_block(saved, s, REC_Z, S, es), rec_block(saved, s, REC_GATES, S, es),
                                 rec_block(saved, s, REC_C, S, es), rec_block(saved, s, REC_ACTC, S, es),
                                 rec_block(saved, s, REC_H, S, es)));
        const char *h = rec_block(saved, s, REC_H, S, es);
        if (c->return_sequences)
            for (int64_t b = 0; b < gx.batch; b++)
                memcpy((char *)out[0]->data + (size_t)((b * T + s) * per_b) * es, h + (size_t)(b * per_b) * es,
                       (size_t)per_b * es);
        else if (s == T - 1)
            memcpy(out[0]->data, h, (size_t)S * es);
    }
    return CK_OK;
}

/* The transposes of ck_conv_lstm_conv_add for one convolution: din (when
 * not NULL) += conv^T(dout, w), dw (when not NULL) += in (x) dout. */
static void conv_back(ck_dtype dt, const conv_geom *g, const void *in, const void *w, const void *dout, void *din,
                      void *dw)
{
    CK_RNN_TYPED(dt, {
        const real *x = in, *kw = w, *dy = dout;
        real *dx = din, *dk = dw;
        int64_t P = g->out[0] * g->out[1] * g->out[2], Q = g->in[0] * g->in[1] * g->in[2];
        for (int64_t b = 0; b < g->batch; b++)
            for (int64_t o0 = 0; o0 < g->out[0]; o0++)
                for (int64_t o1 = 0; o1 < g->out[1]; o1++)
                    for (int64_t o2 = 0; o2 < g->out[2]; o2++) {
                        const real *dyr = dy + ((b * P) + (o0 * g->out[1] + o1) * g->out[2] + o2) * g->cout;
                        for (int64_t a0 = 0; a0 < g->k[0]; a0++) {
                            int64_t i0 = o0 * g->stride[0] - g->pad[0] + a0 * g->dil[0];
                            if (i0 < 0 || i0 >= g->in[0]) continue;
                            for (int64_t a1 = 0; a1 < g->k[1]; a1++) {
                                int64_t i1 = o1 * g->stride[1] - g->pad[1] + a1 * g->dil[1];
                                if (i1 < 0 || i1 >= g->in[1]) continue;
                                for (int64_t a2 = 0; a2 < g->k[2]; a2++) {
                                    int64_t i2 = o2 * g->stride[2] - g->pad[2] + a2 * g->dil[2];
                                    if (i2 < 0 || i2 >= g->in[2]) continue;
                                    int64_t xi = (b * Q + (i0 * g->in[1] + i1) * g->in[2] + i2) * g->cin;
                                    int64_t wi = ((a0 * g->k[1] + a1) * g->k[2] + a2) * g->cin * g->cout;
                                    for (int64_t ci = 0; ci < g->cin; ci++) {
                                        const real *wc = kw + wi + ci * g->cout;
                                        real acc = 0;
                                        if (dx) {
                                            for (int64_t co = 0; co < g->cout; co++) acc += wc[co] * dyr[co];
                                            dx[xi + ci] += acc;
                                        }
                                        if (dk) {
                                            real v = x[xi + ci];
                                            real *dkc = dk + wi + ci * g->cout;
                                            for (int64_t co = 0; co < g->cout; co++) dkc[co] += v * dyr[co];
                                        }
                                    }
                                }
                            }
                        }
                    }
    });
}

ck_status ck_conv_lstm_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    (void)ctx, (void)n, (void)out;
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    ck_dtype dt = layer->dtype;
    size_t es = ck_dtype_size(dt);
    ck_shape is = ck_tensor_shape(in[0]);
    conv_geom gx, gh;
    ck_conv_lstm_geometries(c, &is, &gx, &gh);
    int64_t F = c->filters, S = ck_conv_lstm_state_elems(&gx, F), T = is.dims[1], per_b = S / gx.batch;
    int64_t rows = S / F, step_in = gx.in[0] * gx.in[1] * gx.in[2] * gx.cin;
    char *zero = tail_block(saved, T, TAIL_ZERO, S, es), *dh = tail_block(saved, T, TAIL_DH, S, es);
    char *dc = tail_block(saved, T, TAIL_DC, S, es), *dhn = tail_block(saved, T, TAIL_DHN, S, es);
    char *dz = tail_block(saved, T, TAIL_DZ, S, es), *tmp = tail_block(saved, T, TAIL_TMP, S, es);
    ck_tensor *dx = din ? din[0] : NULL;
    if (dx) memset(dx->data, 0, (size_t)dx->size * es);
    memset(dc, 0, (size_t)S * es);
    memset(dhn, 0, (size_t)S * es);
    void *dk = c->kernel->grad ? c->kernel->grad->data : NULL;
    void *drk = c->recurrent_kernel->grad ? c->recurrent_kernel->grad->data : NULL;
    void *db = c->bias && c->bias->grad ? c->bias->grad->data : NULL;
    conv_geom g1 = gx, h1 = gh;
    g1.batch = h1.batch = 1;
    for (int64_t s = T - 1; s >= 0; s--) {
        int64_t t = c->go_backwards ? T - 1 - s : s;
        const char *z = rec_block(saved, s, REC_Z, S, es), *gates = rec_block(saved, s, REC_GATES, S, es);
        const char *cs = rec_block(saved, s, REC_C, S, es), *actc = rec_block(saved, s, REC_ACTC, S, es);
        const char *hp = s ? rec_block(saved, s - 1, REC_H, S, es) : zero;
        const char *cp = s ? rec_block(saved, s - 1, REC_C, S, es) : zero;
        /* dh = the output's gradient at this step + the next step's. */
        memcpy(dh, dhn, (size_t)S * es);
        CK_RNN_TYPED(dt, {
            real *d = (real *)dh;
            const real *g = dout->data;
            for (int64_t b = 0; b < gx.batch; b++)
                for (int64_t k = 0; k < per_b; k++) {
                    if (c->return_sequences) d[b * per_b + k] += g[(b * T + s) * per_b + k];
                    else if (s == T - 1) d[b * per_b + k] += g[b * per_b + k];
                }
        });
        /* d o and d act(c) (into tmp), then act'(c). */
        CK_RNN_TYPED(dt, {
            const real *d = (const real *)dh, *gg = (const real *)gates, *ac = (const real *)actc;
            real *dg = (real *)dz, *tt = (real *)tmp;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t u = 0; u < F; u++) {
                    dg[r * 4 * F + 3 * F + u] = d[r * F + u] * ac[r * F + u];
                    tt[r * F + u] = d[r * F + u] * gg[r * 4 * F + 3 * F + u];
                }
        });
        CK_TRY(ck_rnn_activate_grad(c->activation, dt, cs, actc, tmp, tmp, rows, F, F));
        CK_RNN_TYPED(dt, {
            const real *gg = (const real *)gates, *tt = (const real *)tmp, *cpp = (const real *)cp;
            real *dg = (real *)dz, *dcc = (real *)dc;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t u = 0; u < F; u++) {
                    const real *gr = gg + r * 4 * F;
                    real *dr = dg + r * 4 * F;
                    real cg = dcc[r * F + u] + tt[r * F + u];
                    dr[u] = cg * gr[2 * F + u];
                    dr[F + u] = cg * cpp[r * F + u];
                    dr[2 * F + u] = cg * gr[u];
                    dcc[r * F + u] = cg * gr[F + u];
                }
        });
        /* Through the gate activations, in place. */
        for (int k = 0; k < 4; k++) {
            const ck_activation *act = k == 2 ? c->activation : c->recurrent_activation;
            size_t o = (size_t)(k * F) * es;
            CK_TRY(ck_rnn_activate_grad(act, dt, z + o, gates + o, dz + o, dz + o, rows, F, 4 * F));
        }
        if (db) ck_rnn_add_colsum(dt, dz, rows, 4 * F, db);
        memset(dhn, 0, (size_t)S * es);
        for (int64_t b = 0; b < gx.batch; b++) {
            const char *dzb = dz + (size_t)(b * per_b * 4) * es;
            size_t xo = (size_t)((b * T + t) * step_in) * es;
            conv_back(dt, &g1, (const char *)in[0]->data + xo, c->kernel->value->data, dzb,
                      dx ? (char *)dx->data + xo : NULL, dk);
            conv_back(dt, &h1, hp + (size_t)(b * per_b) * es, c->recurrent_kernel->value->data, dzb,
                      dhn + (size_t)(b * per_b) * es, drk);
        }
    }
    return CK_OK;
}
