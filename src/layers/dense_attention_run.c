/* The arithmetic of Attention and AdditiveAttention (tf.keras 2.15), per
 * batch item, query q (Tq, D), value v (Tv, Dv), key k (Tv, D) (the value
 * when not given):
 *   dot       s = q . k^T             (times `scale` with use_scale)
 *   concat    s_ij = c * sum_d tanh(a * (q_id + k_jd))   (a = scale or 1)
 *   additive  s_ij = sum_d w_d * tanh(q_id + k_jd)        (w = scale or 1)
 *   P = softmax(s - 1e9 * causal-masked),  out = dropout(P) . v  (and
 *   dropout(P) itself as a second output with return_attention_scores).
 * Training keeps P, the dropout mask and (dot) the unscaled products, plus
 * two (Tq, Tv) blocks of backward working space; the tanh terms are
 * recomputed by backward rather than kept (D times the scores' size). */
#include <math.h>
#include <string.h>

#include "layers/attention_math.h"
#include "layers/dense_attention.h"

ck_status ck_da_input_layout(const ck_da_layer *l, int n, ck_da_inputs *io)
{
    const int extra = l->mask_arg ? l->mask_given[0] + l->mask_given[1] + l->mask_given[2] : 0;
    io->n_pos = n - extra, io->extra = extra;
    io->qm = l->mask_arg && l->mask_given[0] ? io->n_pos : -1;
    io->vm = l->mask_arg && l->mask_given[1] ? io->n_pos + l->mask_given[0] : -1;
    if (io->n_pos < 2 || io->n_pos > 3)
        return ck_error(CK_VALUE_ERROR, "%s layer accepts inputs list of length 2 or 3, namely [query, value] or "
                        "[query, value, key]. Received length: %d.", l->base.cls->class_name, io->n_pos);
    return CK_OK;
}

/* An explicit mask must hold one value per (batch item, step). */
static ck_status check_mask(const ck_da_layer *l, const ck_shape *m, const ck_shape *x, const char *what)
{
    char a[128], b[128];
    int ok = m->rank == x->rank - 1;
    for (int i = 0; ok && i < m->rank; i++) ok = m->dims[i] < 0 || x->dims[i] < 0 || m->dims[i] == x->dims[i];
    if (!ok)
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": the %s mask must have the shape (batch..., steps) of its "
                        "input %s, got %s", l->base.cls->class_name, l->base.name, what, ck_shape_fmt(a, sizeof a, x),
                        ck_shape_fmt(b, sizeof b, m));
    return CK_OK;
}

ck_status ck_da_dims_of(const ck_da_layer *l, int n, const ck_shape *in, ck_da_dims *d)
{
    char a[128], b[128];
    ck_da_inputs io;
    CK_TRY(ck_da_input_layout(l, n, &io));
    const ck_shape *q = &in[0], *v = &in[1], *k = io.n_pos > 2 ? &in[2] : &in[1];
    const char *cls = l->base.cls->class_name;
    if (io.qm >= 0) CK_TRY(check_mask(l, &in[io.qm], q, "query"));
    if (io.vm >= 0) CK_TRY(check_mask(l, &in[io.vm], v, "value"));
    /* Rank 2 is one (steps, features) matrix, as tf.matmul reads it: the
     * batch rows attend to each other (real tf.keras 2.x files do this). */
    if (q->rank < 2 || v->rank != q->rank || k->rank != q->rank)
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": query, value and key must have one rank >= 2 (batch..., "
                        "steps, features), got query %s and value %s", cls, l->base.name,
                        ck_shape_fmt(a, sizeof a, q), ck_shape_fmt(b, sizeof b, v));
    const int r = q->rank;
    int ok = 1;
    for (int i = 0; i < r - 2; i++) {
        const int64_t x = q->dims[i], y = v->dims[i], z = k->dims[i];
        ok = ok && (x < 0 || y < 0 || x == y) && (x < 0 || z < 0 || x == z);
    }
    ok = ok && (v->dims[r - 2] < 0 || k->dims[r - 2] < 0 || v->dims[r - 2] == k->dims[r - 2]);
    ok = ok && (q->dims[r - 1] < 0 || k->dims[r - 1] < 0 || q->dims[r - 1] == k->dims[r - 1]);
    if (l->score == CK_DA_ADDITIVE && l->use_scale)
        ok = ok && (q->dims[r - 1] < 0 || v->dims[r - 1] < 0 || q->dims[r - 1] == v->dims[r - 1]);
    if (!ok)
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": incompatible inputs query %s and value %s (key: %s): "
                        "query, value and key need the same batch dims, key and value the same steps, query and key "
                        "the same features%s", cls, l->base.name, ck_shape_fmt(a, sizeof a, q),
                        ck_shape_fmt(b, sizeof b, v), io.n_pos > 2 ? "given" : "the value",
                        l->score == CK_DA_ADDITIVE && l->use_scale ? " (and the value too, with use_scale)" : "");
    d->B = 1;
    for (int i = 0; i < r - 2; i++) d->B *= q->dims[i] < 0 ? 0 : q->dims[i];
    d->Tq = q->dims[r - 2], d->Tv = v->dims[r - 2], d->D = q->dims[r - 1], d->Dv = v->dims[r - 1];
    return CK_OK;
}

/* ---- buffers ------------------------------------------------------------------ */

typedef struct da_bufs {
    void *p, *keep, *raw, *pd, *dp; /* p: every batch item when training, else one */
    double *gsum;                   /* training: the scale's gradient sums */
} da_bufs;

static size_t al(size_t n) { return (n + 63) / 64 * 64; }

static size_t layout(const ck_da_layer *l, const ck_da_dims *d, size_t es, int training, char *base, da_bufs *b)
{
    /* Unknown dims (a plan asks with concrete shapes) count as empty. */
    const int64_t tq = d->Tq > 0 ? d->Tq : 0, tv = d->Tv > 0 ? d->Tv : 0, B = d->B > 0 ? d->B : 0;
    const size_t blk = (size_t)(tq * tv) * es, all = (size_t)B * blk;
    size_t sz[6] = {al(training ? all : blk), al(training && l->dropout > 0 ? all : 0),
                    al(training && l->score == CK_DA_DOT && l->use_scale ? all : 0), al(training ? blk : 0),
                    al(training ? blk : 0), al(training ? (size_t)(d->D > 0 ? d->D : 1) * sizeof(double) : 0)};
    void **slot[6] = {&b->p, &b->keep, &b->raw, &b->pd, &b->dp, (void **)&b->gsum};
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        if (base) *slot[i] = sz[i] ? base + at : NULL;
        at += sz[i];
    }
    return at;
}

static ck_status dims_of_tensors(const ck_da_layer *l, int n, const ck_tensor *const *in, ck_da_dims *d)
{
    ck_shape s[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < n && i < CK_MAX_LAYER_INPUTS; i++) s[i] = ck_tensor_shape(in[i]);
    return ck_da_dims_of(l, n, s, d);
}

static size_t bytes_for(const ck_layer *layer, int n, const ck_shape *in, int training)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    ck_da_dims d;
    da_bufs b;
    if (ck_da_dims_of(l, n, in, &d) != CK_OK) {
        ck_clear_error(); /* the call reports it */
        return 0;
    }
    return layout(l, &d, ck_dtype_size(layer->dtype), training, NULL, &b);
}

size_t ck_da_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)out;
    return bytes_for(layer, n, in, 0);
}

size_t ck_da_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)out;
    return bytes_for(layer, n, in, 1);
}

/* ---- forward --------------------------------------------------------------------- */

static double weight_at(const ck_weight *w, int64_t i) { return ck_attn_get(w->value->dtype, w->value->data, i); }

/* The scores of batch item `bi` into s (Tq, Tv); `raw` (may be NULL)
 * receives the unscaled dot products. */
static void scores(const ck_da_layer *l, const ck_da_dims *d, const void *q, const void *k, void *s, void *raw)
{
    const ck_dtype dt = l->base.dtype;
    if (l->score == CK_DA_DOT) {
        ck_attn_mm(dt, 0, 1, d->Tq, d->Tv, d->D, q, d->D, k, d->D, 0, s, d->Tv);
        if (l->scale) {
            if (raw) memcpy(raw, s, (size_t)(d->Tq * d->Tv) * ck_dtype_size(dt));
            ck_attn_scale(dt, s, weight_at(l->scale, 0), d->Tq * d->Tv);
        }
        return;
    }
    const double a = l->score == CK_DA_CONCAT && l->scale ? weight_at(l->scale, 0) : 1.0;
    const double c = l->score == CK_DA_CONCAT ? weight_at(l->concat_weight, 0) : 1.0;
    for (int64_t i = 0; i < d->Tq; i++)
        for (int64_t j = 0; j < d->Tv; j++) {
            double sum = 0;
            for (int64_t e = 0; e < d->D; e++) {
                const double x = ck_attn_get(dt, q, i * d->D + e) + ck_attn_get(dt, k, j * d->D + e);
                if (l->score == CK_DA_CONCAT) sum += tanh(a * x);
                else sum += (l->scale ? weight_at(l->scale, e) : 1.0) * tanh(x);
            }
            ck_attn_set(dt, s, i * d->Tv + j, c * sum);
        }
}

/* The query and value masks of a call: the `mask` argument's when it was
 * given, else the Keras masks of the inputs (`masks`, may be NULL). */
static void masks_of(const ck_da_layer *l, const ck_da_inputs *io, const ck_tensor *const *in,
                     const ck_tensor *const *masks, const ck_tensor **qm, const ck_tensor **vm)
{
    if (l->mask_arg) {
        *qm = io->qm >= 0 ? in[io->qm] : NULL;
        *vm = io->vm >= 0 ? in[io->vm] : NULL;
    } else {
        *qm = masks ? masks[0] : NULL;
        *vm = masks ? masks[1] : NULL;
    }
}

/* Zeros the rows t of a (Tq, width) block whose query mask is 0. */
static void zero_masked_rows(ck_dtype dt, const ck_tensor *qm, int64_t off, void *x, int64_t Tq, int64_t width)
{
    for (int64_t t = 0; qm && t < Tq; t++)
        if (!ck_attn_mask_at(qm, off + t))
            for (int64_t j = 0; j < width; j++) ck_attn_set(dt, x, t * width + j, 0.0);
}

static ck_status forward(const ck_da_layer *l, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                         ck_tensor *const *out, da_bufs *b, int all, ck_rng *rng)
{
    const ck_dtype dt = l->base.dtype;
    const size_t es = ck_dtype_size(dt);
    ck_da_dims d;
    ck_da_inputs io;
    const ck_tensor *qm, *vm;
    CK_TRY(dims_of_tensors(l, n, in, &d));
    CK_TRY(ck_da_input_layout(l, n, &io));
    masks_of(l, &io, in, masks, &qm, &vm);
    if ((qm && qm->size != d.B * d.Tq) || (vm && vm->size != d.B * d.Tv))
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": the query mask needs %lld values and the value mask "
                        "%lld (one per batch item and step), got %lld and %lld", l->base.cls->class_name,
                        l->base.name, (long long)(d.B * d.Tq), (long long)(d.B * d.Tv),
                        (long long)(qm ? qm->size : d.B * d.Tq), (long long)(vm ? vm->size : d.B * d.Tv));
    const char *q = in[0]->data, *v = in[1]->data, *k = in[io.n_pos > 2 ? 2 : 1]->data;
    ck_attn_mask am = {.causal = l->causal || l->config_causal, .cols = {vm}};
    const size_t blk = (size_t)(d.Tq * d.Tv) * es;
    for (int64_t bi = 0; bi < d.B; bi++) {
        char *p = ck_attn_at(b->p, all ? bi * blk : 0);
        scores(l, &d, ck_attn_at(q, (size_t)(bi * d.Tq * d.D) * es), ck_attn_at(k, (size_t)(bi * d.Tv * d.D) * es), p,
               ck_attn_at(b->raw, bi * blk));
        am.col_off = bi * d.Tv;
        ck_attn_softmax(dt, p, d.Tq, d.Tv, d.Tv, &am);
        const void *use = p;
        if (rng) {
            ck_attn_dropout(dt, rng, l->dropout, p, ck_attn_at(b->keep, bi * blk), b->pd, d.Tq * d.Tv);
            use = b->pd;
        }
        /* return_attention_scores: the weights as applied (after dropout). */
        if (l->return_scores && blk > 0) memcpy((char *)out[1]->data + bi * blk, use, blk);
        char *y = ck_attn_at(out[0]->data, (size_t)(bi * d.Tq * d.Dv) * es);
        ck_attn_mm(dt, 0, 0, d.Tq, d.Dv, d.Tv, use, d.Tv, ck_attn_at(v, (size_t)(bi * d.Tv * d.Dv) * es), d.Dv, 0, y, d.Dv);
        /* Keras multiplies the result by the query mask (not the scores). */
        zero_masked_rows(dt, qm, bi * d.Tq, y, d.Tq, d.Dv);
    }
    return CK_OK;
}

ck_status ck_da_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                             void *scratch)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    ck_da_dims d;
    da_bufs b;
    CK_TRY(dims_of_tensors(l, n, in, &d));
    layout(l, &d, ck_dtype_size(layer->dtype), 0, scratch, &b);
    return forward(l, n, in, NULL, out, &b, 0, NULL);
}

ck_status ck_da_call_masks(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                           ck_tensor *const *out, void *scratch)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    ck_da_dims d;
    da_bufs b;
    CK_TRY(dims_of_tensors(l, n, in, &d));
    layout(l, &d, ck_dtype_size(layer->dtype), 0, scratch, &b);
    return forward(l, n, in, masks, out, &b, 0, NULL);
}

static int dropping(const ck_da_layer *l, const ck_train_ctx *ctx) { return ctx && ctx->training && l->dropout > 0; }

ck_status ck_da_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                           ck_tensor *const *out, void *saved)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    ck_da_dims d;
    da_bufs b;
    CK_TRY(dims_of_tensors(l, n, in, &d));
    if (dropping(l, ctx) && (l->dropout >= 1 || !ctx->rng))
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": training with dropout needs a rate below 1 and a random "
                        "stream", layer->cls->class_name, layer->name);
    layout(l, &d, ck_dtype_size(layer->dtype), 1, saved, &b);
    return forward(l, n, in, ctx ? ctx->masks : NULL, out, &b, 1, dropping(l, ctx) ? ctx->rng : NULL);
}

/* ---- backward ---------------------------------------------------------------------- */

/* The input gradients of the scores of one batch item from ds (Tq, Tv):
 * dq, dk (may be NULL) are added to; the weight gradients accumulate in
 * g_scale / g_concat (doubles; g_scale has D entries for additive). */
static void scores_back(const ck_da_layer *l, const ck_da_dims *d, const void *q, const void *k, const void *ds,
                        const void *raw, void *dq, void *dk, double *g_scale, double *g_concat)
{
    const ck_dtype dt = l->base.dtype;
    if (l->score == CK_DA_DOT) {
        const double sc = l->scale ? weight_at(l->scale, 0) : 1.0;
        if (l->scale)
            for (int64_t i = 0; i < d->Tq * d->Tv; i++) g_scale[0] += ck_attn_get(dt, ds, i) * ck_attn_get(dt, raw, i);
        /* dq += sc * ds . k, dk += sc * ds^T . q (ds is not read again). */
        if (sc != 1.0) ck_attn_scale(dt, (void *)ds, sc, d->Tq * d->Tv);
        if (dq) ck_attn_mm(dt, 0, 0, d->Tq, d->D, d->Tv, ds, d->Tv, k, d->D, 1, dq, d->D);
        if (dk) ck_attn_mm(dt, 1, 0, d->Tv, d->D, d->Tq, ds, d->Tv, q, d->D, 1, dk, d->D);
        return;
    }
    const int concat = l->score == CK_DA_CONCAT;
    const double a = concat && l->scale ? weight_at(l->scale, 0) : 1.0;
    const double c = concat ? weight_at(l->concat_weight, 0) : 1.0;
    for (int64_t i = 0; i < d->Tq; i++)
        for (int64_t j = 0; j < d->Tv; j++) {
            const double g = ck_attn_get(dt, ds, i * d->Tv + j);
            double usum = 0, asum = 0;
            for (int64_t e = 0; e < d->D; e++) {
                const double x = ck_attn_get(dt, q, i * d->D + e) + ck_attn_get(dt, k, j * d->D + e);
                double u, dx;
                if (concat) {
                    u = tanh(a * x);
                    usum += u;
                    asum += (1 - u * u) * x;
                    dx = g * c * a * (1 - u * u);
                } else {
                    const double w = l->scale ? weight_at(l->scale, e) : 1.0;
                    u = tanh(x);
                    if (l->scale) g_scale[e] += g * u;
                    dx = g * w * (1 - u * u);
                }
                if (dq) ck_attn_set(dt, dq, i * d->D + e, ck_attn_get(dt, dq, i * d->D + e) + dx);
                if (dk) ck_attn_set(dt, dk, j * d->D + e, ck_attn_get(dt, dk, j * d->D + e) + dx);
            }
            if (concat) {
                g_concat[0] += g * usum;
                if (l->scale) g_scale[0] += g * c * asum;
            }
        }
}

ck_status ck_da_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                         const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    const ck_dtype dt = layer->dtype;
    const size_t es = ck_dtype_size(dt);
    ck_da_dims d;
    da_bufs b;
    (void)out;
    ck_da_inputs io;
    const ck_tensor *qm, *vm;
    CK_TRY(dims_of_tensors(l, n, in, &d));
    CK_TRY(ck_da_input_layout(l, n, &io));
    masks_of(l, &io, in, ctx ? ctx->masks : NULL, &qm, &vm);
    layout(l, &d, es, 1, saved, &b);
    const int drop = dropping(l, ctx);
    ck_tensor *dq = din ? din[0] : NULL, *dv = din ? din[1] : NULL, *dk = din && io.n_pos > 2 ? din[2] : NULL;
    if (io.n_pos <= 2) dk = dv; /* the value was the key too */
    /* Masks get no gradient. */
    for (int i = io.n_pos; din && i < n; i++)
        if (din[i] && ck_dtype_is_floating(din[i]->dtype)) ck_attn_zero(din[i]->dtype, din[i]->data, din[i]->size);
    double *g_scale = b.gsum, g_concat = 0;
    const int64_t nscale = l->scale ? l->scale->value->size : 0;
    for (int64_t e = 0; e < nscale; e++) g_scale[e] = 0;
    if (dq) ck_attn_zero(dt, dq->data, dq->size);
    if (dk && dk != dv) ck_attn_zero(dt, dk->data, dk->size);
    const char *q = in[0]->data, *v = in[1]->data, *k = in[io.n_pos > 2 ? 2 : 1]->data, *dy = dout->data;
    const size_t blk = (size_t)(d.Tq * d.Tv) * es;
    for (int64_t bi = 0; bi < d.B; bi++) {
        const char *p = ck_attn_at(b.p, bi * blk), *keep = drop ? ck_attn_at(b.keep, bi * blk) : NULL;
        const size_t qo = (size_t)(bi * d.Tq * d.D) * es, ko = (size_t)(bi * d.Tv * d.D) * es;
        const size_t vo = (size_t)(bi * d.Tv * d.Dv) * es, yo = (size_t)(bi * d.Tq * d.Dv) * es;
        const void *pd = p;
        if (keep || qm) {
            if (blk > 0) memcpy(b.pd, p, blk);
            if (keep) ck_attn_mul_into(dt, b.pd, keep, d.Tq * d.Tv);
            /* The query mask zeroed those output rows: no gradient from them. */
            zero_masked_rows(dt, qm, bi * d.Tq, b.pd, d.Tq, d.Tv);
            pd = b.pd;
        }
        /* dv first (written), then dk may add into the same rows. */
        if (dv) ck_attn_mm(dt, 1, 0, d.Tv, d.Dv, d.Tq, pd, d.Tv, ck_attn_at(dy, yo), d.Dv, 0, ck_attn_at(dv->data, vo), d.Dv);
        ck_attn_mm(dt, 0, 1, d.Tq, d.Tv, d.Dv, ck_attn_at(dy, yo), d.Dv, ck_attn_at(v, vo), d.Dv, 0, b.dp, d.Tv);
        zero_masked_rows(dt, qm, bi * d.Tq, b.dp, d.Tq, d.Tv);
        /* The scores output is the same (dropped) weights: its gradient joins. */
        if (l->return_scores) ck_attn_add_into(dt, b.dp, ck_attn_at(dout[1].data, bi * blk), d.Tq * d.Tv);
        if (keep) ck_attn_mul_into(dt, b.dp, keep, d.Tq * d.Tv);
        ck_attn_softmax_backward(dt, p, b.dp, d.Tq, d.Tv, d.Tv);
        scores_back(l, &d, ck_attn_at(q, qo), ck_attn_at(k, ko), b.dp, ck_attn_at(b.raw, bi * blk),
                    dq ? ck_attn_at(dq->data, qo) : NULL, dk ? ck_attn_at(dk->data, ko) : NULL, g_scale, &g_concat);
    }
    if (l->scale && l->scale->grad)
        for (int64_t e = 0; e < nscale; e++)
            ck_attn_set(dt, l->scale->grad->data, e, ck_attn_get(dt, l->scale->grad->data, e) + g_scale[e]);
    if (l->concat_weight && l->concat_weight->grad)
        ck_attn_set(dt, l->concat_weight->grad->data, 0, ck_attn_get(dt, l->concat_weight->grad->data, 0) + g_concat);
    return CK_OK;
}
