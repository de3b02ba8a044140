/* One ConvLSTM step through the N-d convolution engine (conv_nd.c), and
 * the geometry of its two convolutions.  Per batch row:
 *   z = conv(x_t, kernel) + conv(h_prev, recurrent_kernel), then + bias;
 * with dropout masks (training) each gate reads its own masked copy of
 * x_t / h_prev, which is one grouped convolution (4 groups) over the four
 * copies stacked along the channels: the (k..., in, 4F) kernel is already
 * laid out as a 4-group kernel, gate k's columns reading group k.  The
 * gate arithmetic then runs elementwise (see conv_lstm_geom). */
#include <string.h>

#include "layers/conv_lstm.h"
#include "layers/conv_utils.h"

void ck_conv_lstm_geometry(const conv_lstm_layer *c, const ck_shape *in, conv_lstm_geom *g)
{
    memset(g, 0, sizeof *g);
    const int cf = c->channels_first, sp0 = cf ? 3 : 2;
    const int64_t F = c->filters;
    ck_convnd_geom x = {.channels_first = cf, .batch = 1, .groups = 1, .es = ck_dtype_size(c->base.dtype)};
    x.c = in->dims[cf ? 2 : c->nd + 2];
    x.f = 4 * F;
    for (int i = 0; i < 3; i++) {
        x.in[i] = i < c->nd ? in->dims[sp0 + i] : 1;
        x.k[i] = c->ksize[i], x.s[i] = c->strides[i], x.d[i] = c->dilation[i];
        x.out[i] = ck_conv_output_length(x.in[i], x.k[i], c->same, x.s[i], x.d[i]);
        x.pad[i] = ck_conv_pad_before(x.in[i], x.out[i], x.k[i], c->same, x.s[i], x.d[i]);
    }
    /* tf.keras' recurrent convolution: stride 1, "same", no dilation. */
    ck_convnd_geom h = x;
    h.c = F;
    for (int i = 0; i < 3; i++) {
        h.in[i] = x.out[i];
        h.s[i] = h.d[i] = 1;
        h.pad[i] = ck_conv_pad_before(h.in[i], h.in[i], h.k[i], 1, 1, 1);
    }
    g->x = x, g->h = h;
    g->xd = x, g->hd = h;
    g->xd.c *= 4, g->hd.c *= 4;
    g->xd.groups = g->hd.groups = 4;
    g->batch = in->dims[0];
    g->T = in->dims[1];
    g->x_elems = ck_convnd_in_plane(&x) * x.c;
    const int64_t P = ck_convnd_out_plane(&x);
    g->per_b = P * F;
    g->S = g->batch * g->per_b;
    g->rows = cf ? g->batch : g->batch * P;
    g->cols = cf ? F * P : F;
    g->seg = cf ? x.out[c->nd - 1] : F;
    if (g->seg < 1) g->seg = 1;
    g->stack_elems = 4 * (g->x_elems > g->per_b ? g->x_elems : g->per_b);
    const ck_convnd_geom *all[4] = {&g->x, &g->h, &g->xd, &g->hd};
    for (int i = 0; i < 4; i++) {
        int64_t e = ck_convnd_cols_elems(all[i]);
        if (e > g->cols_elems) g->cols_elems = e;
    }
}

int64_t ck_conv_lstm_work_elems(const conv_lstm_geom *g) { return g->stack_elems + g->cols_elems; }

void ck_conv_lstm_stack(ck_dtype dt, int channels_first, int64_t plane, int64_t ch, const void *src,
                        const void *mask, void *stack)
{
    const int64_t n = plane * ch;
    CK_RNN_TYPED(dt, {
        const real *s = src, *m = mask;
        real *d = stack;
        if (channels_first) /* group k is the contiguous block k */
            for (int64_t k = 0; k < 4; k++)
                for (int64_t i = 0; i < n; i++) d[k * n + i] = s[i] * m[k * n + i];
        else /* per position: the 4 groups' channels one after the other */
            for (int64_t p = 0; p < plane; p++)
                for (int64_t k = 0; k < 4; k++)
                    for (int64_t j = 0; j < ch; j++)
                        d[(p * 4 + k) * ch + j] = s[p * ch + j] * m[k * n + p * ch + j];
    });
}

void ck_conv_lstm_unstack(ck_dtype dt, int channels_first, int64_t plane, int64_t ch, const void *dstack,
                          const void *mask, void *dsrc)
{
    const int64_t n = plane * ch;
    CK_RNN_TYPED(dt, {
        const real *s = dstack, *m = mask;
        real *d = dsrc;
        for (int64_t k = 0; k < 4; k++)
            for (int64_t p = 0; p < plane; p++)
                for (int64_t j = 0; j < ch; j++) {
                    int64_t i = p * ch + j; /* channels_first: i walks (ch, plane) the same way */
                    int64_t si = channels_first ? k * n + i : (p * 4 + k) * ch + j;
                    d[i] += s[si] * m[k * n + i];
                }
    });
}

void ck_conv_lstm_gate_copy(ck_dtype dt, int64_t rows, int64_t C, void *block, int k, void *contig, int back)
{
    const size_t es = ck_dtype_size(dt), run = (size_t)C * es;
    for (int64_t r = 0; r < rows; r++) {
        char *g = (char *)block + (size_t)(r * 4 * C + k * C) * es, *o = (char *)contig + (size_t)r * run;
        if (back) memcpy(g, o, run);
        else memcpy(o, g, run);
    }
}

/* zb = conv(src) + beta * zb for one batch row, through the stacked
 * geometry when there is a mask. */
static void conv_row(ck_dtype dt, const ck_convnd_geom *plain, const ck_convnd_geom *stacked, const char *src,
                     const char *mask, const void *kern, char *zb, double beta, char *stack, char *cols)
{
    if (!mask) {
        ck_convnd_forward(plain, dt, src, kern, zb, beta, cols);
        return;
    }
    ck_conv_lstm_stack(dt, plain->channels_first, ck_convnd_in_plane(plain), plain->c, src, mask, stack);
    ck_convnd_forward(stacked, dt, stack, kern, zb, beta, cols);
}

ck_status ck_conv_lstm_step(const conv_lstm_layer *c, const conv_lstm_geom *g, const void *x, int64_t x_stride,
                            const void *xmask, const void *hmask, const void *h_prev, const void *c_prev, void *z,
                            void *gates, void *cs, void *actc, void *h, void *work)
{
    const ck_dtype dt = c->base.dtype;
    const size_t es = ck_dtype_size(dt);
    const int64_t rows = g->rows, C = g->cols, per_b = g->per_b, xe = g->x_elems;
    char *stack = work, *cols = stack + (size_t)g->stack_elems * es;
    for (int64_t b = 0; b < g->batch; b++) {
        char *zb = (char *)z + (size_t)(b * per_b * 4) * es;
        conv_row(dt, &g->x, &g->xd, (const char *)x + (size_t)(b * x_stride) * es,
                 xmask ? (const char *)xmask + (size_t)(b * 4 * xe) * es : NULL, c->kernel->value->data, zb, 0.0,
                 stack, cols);
        conv_row(dt, &g->h, &g->hd, (const char *)h_prev + (size_t)(b * per_b) * es,
                 hmask ? (const char *)hmask + (size_t)(b * 4 * per_b) * es : NULL, c->recurrent_kernel->value->data,
                 zb, 1.0, stack, cols);
    }
    if (c->bias)
        ck_convnd_bias_add(dt, c->channels_first, g->batch, ck_convnd_out_plane(&g->x), 4 * c->filters,
                           c->bias->value->data, z);
    /* Gate c's activation runs on a contiguous copy (actc is free until c
     * is known), the recurrent activation on every gate's blocks of C at
     * once: strided calls would cost one call per row. */
    if (gates != z) memcpy(gates, z, (size_t)(4 * g->S) * es);
    ck_conv_lstm_gate_copy(dt, rows, C, gates, 2, actc, 0);
    const int64_t nseg = rows * C / g->seg, seg = g->seg;
    CK_TRY(ck_rnn_activate(c->activation, dt, actc, nseg, seg, seg));
    CK_TRY(ck_rnn_activate(c->recurrent_activation, dt, gates, 4 * nseg, seg, seg));
    ck_conv_lstm_gate_copy(dt, rows, C, gates, 2, actc, 1);
    CK_RNN_TYPED(dt, {
        const real *gg = gates, *cp = c_prev;
        real *cc = cs, *ac = actc;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t u = 0; u < C; u++) {
                const real *gr = gg + r * 4 * C;
                cc[r * C + u] = gr[C + u] * cp[r * C + u] + gr[u] * gr[2 * C + u];
                ac[r * C + u] = cc[r * C + u];
            }
    });
    CK_TRY(ck_rnn_activate(c->activation, dt, actc, nseg, seg, seg));
    CK_RNN_TYPED(dt, {
        const real *gg = gates, *ac = actc;
        real *hh = h;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t u = 0; u < C; u++) hh[r * C + u] = gg[r * 4 * C + 3 * C + u] * ac[r * C + u];
    });
    return CK_OK;
}
