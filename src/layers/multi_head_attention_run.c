/* The arithmetic of keras.layers.MultiHeadAttention (tf.keras 2.15), for
 * the default attention axes (every axis between the batch and the
 * features, which Keras softmaxes jointly, so they are flattened here into
 * T query and S key positions):
 *   q = (query . Wq + bq) / sqrt(key_dim)      (B, T, H, K)
 *   k = key . Wk + bk,  v = value . Wv + bv    (B, S, H, K) / (B, S, H, V)
 *   P[b, h] = softmax(q[b, :, h] . k[b, :, h]^T + masked * -1e9)   (T, S)
 *   att[b, :, h] = dropout(P[b, h]) . v[b, :, h]                     (T, V)
 *   out = att . Wo + bo                         (B, T, O)
 * with the kernels (D, H, K) / (H, V, O) read as (D, H*K) / (H*V, O)
 * matrices, so every projection is one GEMM and every head two strided
 * GEMMs (no copies).  With return_attention_scores P is a second output
 * (B, H, query axes..., key axes...), whose gradient joins P's.  Training keeps q, k, v, the probabilities, the
 * dropout mask and att, plus the working space of backward. */
#include <math.h>
#include <string.h>

#include "layers/attention_math.h"
#include "layers/multi_head_attention.h"

/* ---- shapes ---------------------------------------------------------------- */

static int64_t seq_size(const ck_shape *s)
{
    int64_t n = 1;
    for (int i = 1; i < s->rank - 1; i++) n *= s->dims[i] < 0 ? 0 : s->dims[i];
    return n;
}

ck_status ck_mha_dims_of(const ck_mha_layer *l, int n, const ck_shape *in, ck_mha_dims *d)
{
    ck_mha_inputs io = {-1, -1};
    char a[128], b[128];
    CK_TRY(ck_mha_input_layout(l, n, &io));
    const ck_shape *q = &in[0], *v = &in[1], *k = io.key >= 0 ? &in[io.key] : &in[1];
    if (q->rank < 3)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": the query must have rank >= 3 (batch, "
                        "positions..., features), got shape %s", l->base.name, ck_shape_fmt(a, sizeof a, q));
    if (v->rank != q->rank || k->rank != q->rank)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": query, value and key must have one rank, "
                        "got query %s, value %s", l->base.name, ck_shape_fmt(a, sizeof a, q),
                        ck_shape_fmt(b, sizeof b, v));
    for (int i = 1; i < v->rank - 1; i++)
        if (v->dims[i] >= 0 && k->dims[i] >= 0 && v->dims[i] != k->dims[i])
            return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": key and value must have the same "
                            "positions, got key %s and value %s", l->base.name, ck_shape_fmt(a, sizeof a, k),
                            ck_shape_fmt(b, sizeof b, v));
    d->B = q->dims[0] < 0 ? 0 : q->dims[0];
    d->T = seq_size(q);
    d->S = seq_size(v);
    d->H = l->num_heads, d->K = l->key_dim, d->V = l->value_dim;
    d->Dq = q->dims[q->rank - 1], d->Dv = v->dims[v->rank - 1], d->Dk = k->dims[k->rank - 1];
    if (l->base.built && l->wq) {
        const int64_t want[3] = {l->dq, l->dv, l->dk}, got[3] = {d->Dq, d->Dv, d->Dk};
        static const char *const what[3] = {"query", "value", "key"};
        for (int i = 0; i < 3; i++)
            if (got[i] >= 0 && got[i] != want[i])
                return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\" was built for a %s of %lld "
                                "features, got %lld (query %s, value %s)", l->base.name, what[i], (long long)want[i],
                                (long long)got[i], ck_shape_fmt(a, sizeof a, q), ck_shape_fmt(b, sizeof b, v));
        d->O = l->od;
    } else {
        d->O = l->out_dim ? l->out_dim : d->Dq;
    }
    if (io.mask >= 0) {
        const ck_shape *m = &in[io.mask];
        const int qa = q->rank - 2, ka = v->rank - 2, lead = m->rank - qa - ka;
        int ok = lead == 0 || lead == 1;
        if (ok && lead == 1) ok = m->dims[0] == 1 || m->dims[0] == q->dims[0] || m->dims[0] < 0 || q->dims[0] < 0;
        for (int i = 0; ok && i < qa + ka; i++) {
            const int64_t md = m->dims[lead + i], want = i < qa ? q->dims[1 + i] : v->dims[1 + i - qa];
            ok = md == 1 || md < 0 || want < 0 || md == want;
        }
        if (!ok)
            return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": attention_mask of shape %s does not "
                            "broadcast to (batch, query positions, key positions) for query %s and value %s",
                            l->base.name, ck_shape_fmt(a, sizeof a, m), ck_shape_fmt(b, sizeof b, q),
                            ck_shape_fmt(a, sizeof a, v));
    }
    return CK_OK;
}

/* The mask's strides for a call: per batch item (0: shared), per query
 * position and per key position (0 where a dim of 1 broadcasts; several
 * attention axes broadcast only as a whole). */
static ck_status mask_of(const ck_mha_layer *l, const ck_mha_dims *d, const ck_tensor *q, const ck_tensor *m,
                         int causal, int64_t *bstride, ck_attn_mask *am)
{
    *am = (ck_attn_mask){.tensor = m, .causal = causal};
    *bstride = 0;
    if (!m) return CK_OK;
    /* dims_of checked: rank = (0 or 1 batch dim) + query axes + key axes. */
    const int qa = q->rank - 2, ka = qa, lead1 = m->rank - qa - ka;
    int64_t tm = 1, sm = 1;
    for (int i = 0; i < qa; i++) tm *= m->shape[lead1 + i];
    for (int i = 0; i < ka; i++) sm *= m->shape[lead1 + qa + i];
    if ((tm != 1 && tm != d->T) || (sm != 1 && sm != d->S))
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": the attention mask's query / key axes "
                        "must match the inputs' or all be 1", l->base.name);
    am->sstride = sm == 1 ? 0 : 1;
    am->tstride = tm == 1 ? 0 : sm;
    *bstride = lead1 == 1 && m->shape[0] != 1 ? tm * sm : 0;
    return CK_OK;
}

/* ---- buffers ------------------------------------------------------------------ */

typedef struct mha_bufs {
    void *q, *k, *v, *p, *keep, *att; /* p: every (b, h) block when training, else one */
    void *pd, *dp, *dq, *dk, *dv;     /* training: backward's working space */
} mha_bufs;

static size_t al(size_t n) { return (n + 63) / 64 * 64; }

/* Lays the buffers out from `base` (NULL: only counts); returns the bytes. */
static size_t layout(const ck_mha_dims *d, size_t es, int training, int dropout, char *base, mha_bufs *b)
{
    const int64_t HK = d->H * d->K, HV = d->H * d->V, TS = d->T * d->S;
    size_t sz[11] = {
        al((size_t)(d->B * d->T * HK) * es), al((size_t)(d->B * d->S * HK) * es), al((size_t)(d->B * d->S * HV) * es),
        al((size_t)(training ? d->B * d->H * TS : TS) * es), al((size_t)(training && dropout ? d->B * d->H * TS : 0) * es),
        al((size_t)(d->B * d->T * HV) * es),
        al((size_t)(training ? TS : 0) * es), al((size_t)(training ? TS : 0) * es),
        al((size_t)(training ? d->B * d->T * HK : 0) * es), al((size_t)(training ? d->B * d->S * HK : 0) * es),
        al((size_t)(training ? d->B * d->S * HV : 0) * es)};
    void **slot[11] = {&b->q, &b->k, &b->v, &b->p, &b->keep, &b->att, &b->pd, &b->dp, &b->dq, &b->dk, &b->dv};
    size_t at = 0;
    for (int i = 0; i < 11; i++) {
        if (base) *slot[i] = sz[i] ? base + at : NULL;
        at += sz[i];
    }
    return at;
}

static ck_status dims_of_tensors(const ck_mha_layer *l, int n, const ck_tensor *const *in, ck_mha_dims *d)
{
    ck_shape s[4];
    for (int i = 0; i < n && i < 4; i++) s[i] = ck_tensor_shape(in[i]);
    return ck_mha_dims_of(l, n, s, d);
}

static size_t bytes_for(const ck_layer *layer, int n, const ck_shape *in, int training)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    ck_mha_dims d;
    mha_bufs b;
    if (n > 4 || ck_mha_dims_of(l, n, in, &d) != CK_OK) {
        ck_clear_error(); /* the call reports it */
        return 0;
    }
    return layout(&d, ck_dtype_size(layer->dtype), training, l->dropout > 0, NULL, &b);
}

size_t ck_mha_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)out;
    return bytes_for(layer, n, in, 0);
}

size_t ck_mha_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)out;
    return bytes_for(layer, n, in, 1);
}

/* ---- forward --------------------------------------------------------------------- */

static void project(ck_dtype dt, const ck_tensor *x, int64_t rows, int64_t D, const ck_weight *w,
                    const ck_weight *bias, int64_t width, void *y)
{
    ck_attn_mm(dt, 0, 0, rows, width, D, x->data, D, w->value->data, width, 0, y, width);
    if (bias) ck_attn_add_bias(dt, y, bias->value->data, rows, width);
}

/* q, k, v, then every (b, h) block; `all_blocks` keeps each block's
 * probabilities (training), `rng` (training with dropout) drops them. */
static ck_status forward(const ck_mha_layer *l, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                         mha_bufs *b, int all_blocks, ck_rng *rng)
{
    const ck_dtype dt = l->base.dtype;
    const size_t es = ck_dtype_size(dt);
    ck_mha_dims d;
    ck_mha_inputs io = {-1, -1};
    CK_TRY(dims_of_tensors(l, n, in, &d));
    CK_TRY(ck_mha_input_layout(l, n, &io));
    const ck_tensor *query = in[0], *value = in[1], *key = io.key >= 0 ? in[io.key] : in[1];
    const ck_tensor *mask = io.mask >= 0 ? in[io.mask] : NULL;
    int64_t mb;
    ck_attn_mask am;
    CK_TRY(mask_of(l, &d, query, mask, l->causal, &mb, &am));
    const int64_t HK = d.H * d.K, HV = d.H * d.V, TS = d.T * d.S;
    ck_tensor *out = outs[0];
    if (out->size == 0) return CK_OK;
    project(dt, query, d.B * d.T, d.Dq, l->wq, l->bq, HK, b->q);
    ck_attn_scale(dt, b->q, 1.0 / sqrt((double)d.K), d.B * d.T * HK);
    project(dt, key, d.B * d.S, d.Dk, l->wk, l->bk, HK, b->k);
    project(dt, value, d.B * d.S, d.Dv, l->wv, l->bv, HV, b->v);
    char *q = b->q, *k = b->k, *v = b->v, *att = b->att;
    for (int64_t bi = 0; bi < d.B; bi++) {
        am.offset = bi * mb;
        for (int64_t h = 0; h < d.H; h++) {
            char *p = (char *)b->p + (all_blocks ? (size_t)((bi * d.H + h) * TS) * es : 0);
            const char *qb = q + (size_t)(bi * d.T * HK + h * d.K) * es;
            const char *kb = k + (size_t)(bi * d.S * HK + h * d.K) * es;
            const char *vb = v + (size_t)(bi * d.S * HV + h * d.V) * es;
            ck_attn_mm(dt, 0, 1, d.T, d.S, d.K, qb, HK, kb, HK, 0, p, d.S);
            ck_attn_softmax(dt, p, d.T, d.S, d.S, &am);
            /* return_attention_scores: the weights before dropout, as Keras. */
            if (l->return_scores)
                memcpy((char *)outs[1]->data + (size_t)((bi * d.H + h) * TS) * es, p, (size_t)TS * es);
            const void *use = p;
            if (rng) {
                char *keep = (char *)b->keep + (size_t)((bi * d.H + h) * TS) * es;
                ck_attn_dropout(dt, rng, l->dropout, p, keep, b->pd, TS);
                use = b->pd;
            }
            ck_attn_mm(dt, 0, 0, d.T, d.V, d.S, use, d.S, vb, HV, 0, att + (size_t)(bi * d.T * HV + h * d.V) * es,
                       HV);
        }
    }
    project(dt, &(ck_tensor){.dtype = dt, .data = att}, d.B * d.T, HV, l->wo, l->bo, d.O, out->data);
    return CK_OK;
}

static ck_status check_floating(const ck_mha_layer *l, const ck_tensor *const *in)
{
    for (int i = 0; i < 2; i++)
        if (in[i]->dtype != l->base.dtype)
            return ck_error(CK_TYPE_ERROR, "MultiHeadAttention layer \"%s\" needs floating query and value, got %s",
                            l->base.name, ck_dtype_name(in[i]->dtype));
    return CK_OK;
}

ck_status ck_mha_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                              void *scratch)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    ck_mha_dims d;
    mha_bufs b;
    CK_TRY(check_floating(l, in));
    CK_TRY(dims_of_tensors(l, n, in, &d));
    layout(&d, ck_dtype_size(layer->dtype), 0, 0, scratch, &b);
    return forward(l, n, in, out, &b, 0, NULL);
}

static int dropping(const ck_mha_layer *l, const ck_train_ctx *ctx)
{
    return ctx && ctx->training && l->dropout > 0;
}

ck_status ck_mha_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    ck_mha_dims d;
    mha_bufs b;
    CK_TRY(check_floating(l, in));
    CK_TRY(dims_of_tensors(l, n, in, &d));
    if (dropping(l, ctx) && l->dropout >= 1)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": dropout must be below 1 in training",
                        layer->name);
    if (dropping(l, ctx) && !ctx->rng)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": training needs a random stream",
                        layer->name);
    layout(&d, ck_dtype_size(layer->dtype), 1, l->dropout > 0, saved, &b);
    return forward(l, n, in, out, &b, 1, dropping(l, ctx) ? ctx->rng : NULL);
}

/* ---- backward ---------------------------------------------------------------------- */

static void *grad_of(const ck_weight *w) { return w && w->grad ? w->grad->data : NULL; }

/* Weight gradients of a projection y = x . W + b from dy, and dx (beta 0:
 * written, 1: added). */
static void project_back(ck_dtype dt, const ck_tensor *x, int64_t rows, int64_t D, const ck_weight *w,
                         const ck_weight *bias, int64_t width, const void *dy, ck_tensor *dx, int dx_beta)
{
    if (grad_of(w)) ck_attn_mm(dt, 1, 0, D, width, rows, x->data, D, dy, width, 1, grad_of(w), width);
    if (grad_of(bias)) ck_attn_bias_grad(dt, dy, grad_of(bias), rows, width);
    if (dx) ck_attn_mm(dt, 0, 1, rows, D, width, dy, width, w->value->data, width, dx_beta, dx->data, D);
}

ck_status ck_mha_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    const ck_dtype dt = layer->dtype;
    const size_t es = ck_dtype_size(dt);
    ck_mha_dims d;
    ck_mha_inputs io = {-1, -1};
    mha_bufs b;
    (void)out;
    CK_TRY(dims_of_tensors(l, n, in, &d));
    CK_TRY(ck_mha_input_layout(l, n, &io));
    const int drop = dropping(l, ctx);
    layout(&d, es, 1, l->dropout > 0, saved, &b);
    const int64_t HK = d.H * d.K, HV = d.H * d.V, TS = d.T * d.S;
    ck_tensor *dquery = din ? din[0] : NULL, *dvalue = din ? din[1] : NULL;
    ck_tensor *dkey = din && io.key >= 0 ? din[io.key] : NULL;
    if (din && io.mask >= 0 && din[io.mask] && ck_dtype_is_floating(din[io.mask]->dtype))
        ck_attn_zero(din[io.mask]->dtype, din[io.mask]->data, din[io.mask]->size);
    if (dout->size == 0 || d.B * d.T == 0) {
        ck_tensor *zero[3] = {dquery, dvalue, dkey};
        for (int i = 0; i < 3; i++)
            if (zero[i]) ck_attn_zero(dt, zero[i]->data, zero[i]->size);
        return CK_OK;
    }
    /* Output projection; att's space then holds d att. */
    ck_tensor att = {.dtype = dt, .data = b.att};
    project_back(dt, &att, d.B * d.T, HV, l->wo, l->bo, d.O, dout->data, NULL, 0);
    ck_attn_mm(dt, 0, 1, d.B * d.T, HV, d.O, dout->data, d.O, l->wo->value->data, d.O, 0, b.att, HV);
    char *q = b.q, *k = b.k, *v = b.v, *datt = b.att, *dq = b.dq, *dk = b.dk, *dv = b.dv;
    for (int64_t bi = 0; bi < d.B; bi++)
        for (int64_t h = 0; h < d.H; h++) {
            const size_t blk = (size_t)((bi * d.H + h) * TS) * es;
            const char *p = (char *)b.p + blk, *keep = drop ? (char *)b.keep + blk : NULL;
            const size_t qo = (size_t)(bi * d.T * HK + h * d.K) * es, ko = (size_t)(bi * d.S * HK + h * d.K) * es;
            const size_t vo = (size_t)(bi * d.S * HV + h * d.V) * es, ao = (size_t)(bi * d.T * HV + h * d.V) * es;
            const void *pd = p;
            if (keep) {
                memcpy(b.pd, p, (size_t)TS * es);
                ck_attn_mul_into(dt, b.pd, keep, TS);
                pd = b.pd;
            }
            ck_attn_mm(dt, 1, 0, d.S, d.V, d.T, pd, d.S, datt + ao, HV, 0, dv + vo, HV);
            ck_attn_mm(dt, 0, 1, d.T, d.S, d.V, datt + ao, HV, v + vo, HV, 0, b.dp, d.S);
            if (keep) ck_attn_mul_into(dt, b.dp, keep, TS);
            if (l->return_scores) ck_attn_add_into(dt, b.dp, (const char *)dout[1].data + blk, TS);
            ck_attn_softmax_backward(dt, p, b.dp, d.T, d.S, d.S);
            ck_attn_mm(dt, 0, 0, d.T, d.K, d.S, b.dp, d.S, k + ko, HK, 0, dq + qo, HK);
            ck_attn_mm(dt, 1, 0, d.S, d.K, d.T, b.dp, d.S, q + qo, HK, 0, dk + ko, HK);
        }
    ck_attn_scale(dt, dq, 1.0 / sqrt((double)d.K), d.B * d.T * HK);
    const ck_tensor *query = in[0], *value = in[1], *key = io.key >= 0 ? in[io.key] : in[1];
    project_back(dt, query, d.B * d.T, d.Dq, l->wq, l->bq, HK, dq, dquery, 0);
    project_back(dt, value, d.B * d.S, d.Dv, l->wv, l->bv, HV, dv, dvalue, 0);
    /* Without a key input the value was the key too: its gradient adds. */
    project_back(dt, key, d.B * d.S, d.Dk, l->wk, l->bk, HK, dk, io.key >= 0 ? dkey : dvalue, io.key < 0);
    return CK_OK;
}
