/* ConvLSTM training: the forward pass keeping every step's values, and
 * backpropagation through time.  Per step, from dh (the output's gradient
 * plus the next step's) and dc (the next step's):
 *   do = dh * act(c),  dc += dh * o * act'(c),
 *   di = dc * g,  dg = dc * i,  df = dc * c_prev,  dc_prev = dc * f,
 *   dz = d gates * the gate activations' derivatives,
 * then the convolution engine's input and kernel gradients give dx_t,
 * dh_prev and the kernels' gradients, dz's sums the bias'.
 * dropout / recurrent_dropout (training calls with a random stream):
 * Keras' DropoutRNNCellMixin masks, four per batch row (one per gate) for
 * x_t and four for h_prev, each 0 or 1 / (1 - rate) per element, drawn
 * once per call and held over every step; the gradients go back through
 * the same masks.  A stateful layer starts from its kept states, which
 * get no gradient, and keeps the last ones. */
#include <string.h>

#include "layers/conv_lstm.h"
#include "params/params.h"

/* Blocks of S (one state block's elements) kept per step: z and the
 * gates (4 each), c, act(c), h. */
enum { REC_Z = 0, REC_GATES = 4, REC_C = 8, REC_ACTC = 9, REC_H = 10, REC_BLOCKS = 11 };
/* After the T records: the initial states, then backward's scratch: dh,
 * dc, dh from the next step, dz (4), tmp. */
enum { TAIL_H0 = 0, TAIL_C0 = 1, TAIL_DH = 2, TAIL_DC = 3, TAIL_DHN = 4, TAIL_DZ = 5, TAIL_TMP = 9, TAIL_BLOCKS = 10 };

/* Where everything lives in `saved`, in elements: the records and tail
 * blocks, the masks (x: batch * 4 * x_elems, h: batch * 4 * per_b), the
 * step's work and backward's stacked gradient. */
typedef struct saved_layout {
    int64_t xmask, hmask, work, dstack, total;
} saved_layout;

static saved_layout layout_of(const conv_lstm_geom *g)
{
    saved_layout L;
    L.xmask = (g->T * REC_BLOCKS + TAIL_BLOCKS) * g->S;
    L.hmask = L.xmask + g->batch * 4 * g->x_elems;
    L.work = L.hmask + g->batch * 4 * g->per_b;
    L.dstack = L.work + ck_conv_lstm_work_elems(g);
    L.total = L.dstack + g->stack_elems;
    return L;
}

size_t ck_conv_lstm_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n, (void)out;
    conv_lstm_geom g;
    ck_conv_lstm_geometry((const conv_lstm_layer *)layer, &in[0], &g);
    return (size_t)layout_of(&g).total * ck_dtype_size(layer->dtype);
}

static char *rec_block(void *saved, int64_t s, int blk, int64_t S, size_t es)
{
    return (char *)saved + (size_t)((s * REC_BLOCKS + blk) * S) * es;
}

static char *tail_block(void *saved, int64_t T, int blk, int64_t S, size_t es)
{
    return (char *)saved + (size_t)((T * REC_BLOCKS + blk) * S) * es;
}

static int rate_active(double rate) { return rate > 0 && rate < 1; }

/* Which masks this call uses (the same answer in train_call and backward):
 * Keras applies them only when 0 < rate < 1, in training. */
static void masks_of(const conv_lstm_layer *c, const ck_train_ctx *ctx, const conv_lstm_geom *g, void *saved,
                     const char **xm, const char **hm)
{
    size_t es = ck_dtype_size(c->base.dtype);
    saved_layout L = layout_of(g);
    int drop = ctx && ctx->training && ctx->rng;
    *xm = drop && rate_active(c->dropout) ? (const char *)saved + (size_t)L.xmask * es : NULL;
    *hm = drop && rate_active(c->recurrent_dropout) ? (const char *)saved + (size_t)L.hmask * es : NULL;
}

/* 0 or 1 / (1 - rate) per element, from the training stream. */
static void draw_mask(ck_dtype dt, ck_rng *rng, double rate, void *mask, int64_t n)
{
    double keep = 1.0 / (1.0 - rate);
    CK_RNN_TYPED(dt, {
        real *m = mask;
        for (int64_t i = 0; i < n; i++) m[i] = (real)(ck_rng_uniform(rng) >= rate ? keep : 0.0);
    });
}

ck_status ck_conv_lstm_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *out, void *saved)
{
    (void)n;
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    if (ctx && ctx->mask)
        return ck_error(CK_NOT_IMPLEMENTED, "%s \"%s\": training on a masked input is not supported (masks are "
                        "applied in inference only)", layer->cls->class_name, layer->name);
    size_t es = ck_dtype_size(layer->dtype);
    ck_shape is = ck_tensor_shape(in[0]);
    conv_lstm_geom g;
    ck_conv_lstm_geometry(c, &is, &g);
    const int64_t S = g.S, T = g.T, per_b = g.per_b, xe = g.x_elems;
    saved_layout L = layout_of(&g);
    const char *xm, *hm;
    masks_of(c, ctx, &g, saved, &xm, &hm);
    if (xm) draw_mask(layer->dtype, ctx->rng, c->dropout, (void *)xm, g.batch * 4 * xe);
    if (hm) draw_mask(layer->dtype, ctx->rng, c->recurrent_dropout, (void *)hm, g.batch * 4 * per_b);
    char *h0 = tail_block(saved, T, TAIL_H0, S, es), *c0 = tail_block(saved, T, TAIL_C0, S, es);
    char *work = (char *)saved + (size_t)L.work * es;
    CK_TRY(ck_conv_lstm_load_states(c, &g, h0, c0));
    for (int64_t s = 0; s < T; s++) {
        int64_t t = c->go_backwards ? T - 1 - s : s;
        const char *hp = s ? rec_block(saved, s - 1, REC_H, S, es) : h0;
        const char *cp = s ? rec_block(saved, s - 1, REC_C, S, es) : c0;
        CK_TRY(ck_conv_lstm_step(c, &g, (const char *)in[0]->data + (size_t)(t * xe) * es, T * xe, xm, hm, hp, cp,
                                 rec_block(saved, s, REC_Z, S, es), rec_block(saved, s, REC_GATES, S, es),
                                 rec_block(saved, s, REC_C, S, es), rec_block(saved, s, REC_ACTC, S, es),
                                 rec_block(saved, s, REC_H, S, es), work));
        const char *h = rec_block(saved, s, REC_H, S, es);
        if (c->return_sequences)
            for (int64_t b = 0; b < g.batch; b++)
                memcpy((char *)out[0]->data + (size_t)((b * T + s) * per_b) * es, h + (size_t)(b * per_b) * es,
                       (size_t)per_b * es);
        else if (s == T - 1)
            memcpy(out[0]->data, h, (size_t)S * es);
    }
    const char *hl = T > 0 ? rec_block(saved, T - 1, REC_H, S, es) : h0;
    const char *cl = T > 0 ? rec_block(saved, T - 1, REC_C, S, es) : c0;
    ck_conv_lstm_put_states(c, &g, out, hl, cl);
    if (T > 0) ck_conv_lstm_keep_states(c, &g, hl, cl);
    return CK_OK;
}

/* The gradients of one convolution of one batch row, dz its output's:
 * the kernel's (dk, when not NULL) and the input's (written to din, or
 * through the masks added to din, when din is not NULL). */
static void conv_row_back(ck_dtype dt, const ck_convnd_geom *plain, const ck_convnd_geom *stacked, const char *src,
                          const char *mask, const void *kern, const char *dz, void *dk, char *din, char *stack,
                          char *dstack, char *cols)
{
    if (!mask) {
        if (dk) ck_convnd_kernel_grad(plain, dt, src, dz, dk, cols);
        if (din) ck_convnd_input_grad(plain, dt, dz, kern, din, cols);
        return;
    }
    const int cf = plain->channels_first;
    const int64_t plane = ck_convnd_in_plane(plain);
    ck_conv_lstm_stack(dt, cf, plane, plain->c, src, mask, stack);
    if (dk) ck_convnd_kernel_grad(stacked, dt, stack, dz, dk, cols);
    if (din) {
        ck_convnd_input_grad(stacked, dt, dz, kern, dstack, cols);
        memset(din, 0, (size_t)(plane * plain->c) * plain->es);
        ck_conv_lstm_unstack(dt, cf, plane, plain->c, dstack, mask, din);
    }
}

ck_status ck_conv_lstm_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    (void)n, (void)out;
    conv_lstm_layer *c = (conv_lstm_layer *)layer;
    ck_dtype dt = layer->dtype;
    size_t es = ck_dtype_size(dt);
    ck_shape is = ck_tensor_shape(in[0]);
    conv_lstm_geom g;
    ck_conv_lstm_geometry(c, &is, &g);
    const int64_t S = g.S, T = g.T, per_b = g.per_b, xe = g.x_elems, rows = g.rows, C = g.cols;
    const int64_t seg = g.seg, nseg = rows * C / seg; /* the activations' segments */
    saved_layout L = layout_of(&g);
    const char *xm, *hm;
    masks_of(c, ctx, &g, saved, &xm, &hm);
    char *h0 = tail_block(saved, T, TAIL_H0, S, es), *c0 = tail_block(saved, T, TAIL_C0, S, es);
    char *dh = tail_block(saved, T, TAIL_DH, S, es), *dc = tail_block(saved, T, TAIL_DC, S, es);
    char *dhn = tail_block(saved, T, TAIL_DHN, S, es), *dz = tail_block(saved, T, TAIL_DZ, S, es);
    char *tmp = tail_block(saved, T, TAIL_TMP, S, es);
    char *stack = (char *)saved + (size_t)L.work * es, *cols = stack + (size_t)g.stack_elems * es;
    char *dstack = (char *)saved + (size_t)L.dstack * es;
    ck_tensor *dx = din ? din[0] : NULL;
    if (dx) memset(dx->data, 0, (size_t)dx->size * es);
    /* return_state: the last states' gradients (dout[1], dout[2]) start
     * the walk back, as the next step's would. */
    if (c->return_state) {
        memcpy(dhn, dout[1].data, (size_t)S * es);
        memcpy(dc, dout[2].data, (size_t)S * es);
    } else {
        memset(dc, 0, (size_t)S * es);
        memset(dhn, 0, (size_t)S * es);
    }
    void *dk = c->kernel->grad ? c->kernel->grad->data : NULL;
    void *drk = c->recurrent_kernel->grad ? c->recurrent_kernel->grad->data : NULL;
    void *db = c->bias && c->bias->grad ? c->bias->grad->data : NULL;
    for (int64_t s = T - 1; s >= 0; s--) {
        int64_t t = c->go_backwards ? T - 1 - s : s;
        const char *z = rec_block(saved, s, REC_Z, S, es), *gates = rec_block(saved, s, REC_GATES, S, es);
        const char *cs = rec_block(saved, s, REC_C, S, es), *actc = rec_block(saved, s, REC_ACTC, S, es);
        const char *hp = s ? rec_block(saved, s - 1, REC_H, S, es) : h0;
        const char *cp = s ? rec_block(saved, s - 1, REC_C, S, es) : c0;
        /* dh = the output's gradient at this step + the next step's. */
        memcpy(dh, dhn, (size_t)S * es);
        if (c->return_sequences || s == T - 1)
            CK_RNN_TYPED(dt, {
                real *d = (real *)dh;
                const real *o = dout->data;
                for (int64_t b = 0; b < g.batch; b++)
                    for (int64_t k = 0; k < per_b; k++)
                        d[b * per_b + k] += o[(c->return_sequences ? b * T + s : b) * per_b + k];
            });
        /* d o and d act(c) (into tmp), then act'(c). */
        CK_RNN_TYPED(dt, {
            const real *d = (const real *)dh, *gg = (const real *)gates, *ac = (const real *)actc;
            real *dg = (real *)dz, *tt = (real *)tmp;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t u = 0; u < C; u++) {
                    dg[r * 4 * C + 3 * C + u] = d[r * C + u] * ac[r * C + u];
                    tt[r * C + u] = d[r * C + u] * gg[r * 4 * C + 3 * C + u];
                }
        });
        CK_TRY(ck_rnn_activate_grad(c->activation, dt, cs, actc, tmp, tmp, nseg, seg, seg));
        CK_RNN_TYPED(dt, {
            const real *gg = (const real *)gates, *tt = (const real *)tmp, *cpp = (const real *)cp;
            real *dg = (real *)dz, *dcc = (real *)dc;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t u = 0; u < C; u++) {
                    const real *gr = gg + r * 4 * C;
                    real *dr = dg + r * 4 * C;
                    real cg = dcc[r * C + u] + tt[r * C + u];
                    dr[u] = cg * gr[2 * C + u];
                    dr[C + u] = cg * cpp[r * C + u];
                    dr[2 * C + u] = cg * gr[u];
                    dcc[r * C + u] = cg * gr[C + u];
                }
        });
        /* Through the gate activations, in place: the recurrent one's
         * gradient on every gate's blocks at once, gate c's on contiguous
         * copies (dh, dhn and tmp are free here), put back after. */
        ck_conv_lstm_gate_copy(dt, rows, C, (void *)z, 2, dh, 0);
        ck_conv_lstm_gate_copy(dt, rows, C, (void *)gates, 2, dhn, 0);
        ck_conv_lstm_gate_copy(dt, rows, C, dz, 2, tmp, 0);
        CK_TRY(ck_rnn_activate_grad(c->recurrent_activation, dt, z, gates, dz, dz, 4 * nseg, seg, seg));
        CK_TRY(ck_rnn_activate_grad(c->activation, dt, dh, dhn, tmp, tmp, nseg, seg, seg));
        ck_conv_lstm_gate_copy(dt, rows, C, dz, 2, tmp, 1);
        if (db)
            ck_convnd_bias_grad(dt, c->channels_first, g.batch, ck_convnd_out_plane(&g.x), 4 * c->filters, dz, db);
        for (int64_t b = 0; b < g.batch; b++) {
            const char *dzb = dz + (size_t)(b * per_b * 4) * es;
            size_t xo = (size_t)((b * T + t) * xe) * es;
            conv_row_back(dt, &g.x, &g.xd, (const char *)in[0]->data + xo, xm ? xm + (size_t)(b * 4 * xe) * es : NULL,
                          c->kernel->value->data, dzb, dk, dx ? (char *)dx->data + xo : NULL, stack, dstack, cols);
            conv_row_back(dt, &g.h, &g.hd, hp + (size_t)(b * per_b) * es, hm ? hm + (size_t)(b * 4 * per_b) * es : NULL,
                          c->recurrent_kernel->value->data, dzb, drk, dhn + (size_t)(b * per_b) * es, stack, dstack,
                          cols);
        }
    }
    return CK_OK;
}
