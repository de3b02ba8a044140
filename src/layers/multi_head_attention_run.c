/* The arithmetic of keras.layers.MultiHeadAttention (tf.keras 2.15).  The
 * positional axes of the inputs split into the attention axes (flattened
 * into T query and S key positions, which Keras softmaxes jointly) and the
 * others, which act as batch dims (none with the default axes):
 *   q = (query . Wq + bq) / sqrt(key_dim)      (B, P, H, K)
 *   k = key . Wk + bk,  v = value . Wv + bv    (B, Pk, H, K) / (B, Pk, H, V)
 *   per batch item, other position and head g:
 *   P[g] = softmax(q[g] . k[g]^T + masked * -1e9)   (T, S)
 *   att[g] = dropout(P[g]) . v[g]                    (T, V)
 *   out = att . Wo + bo                              (B, P, O)
 * with the kernels (D, H, K) / (H, V, O) read as (D, H*K) / (H*V, O)
 * matrices, so every projection is one GEMM and every block two strided
 * GEMMs (no copies: the attention axes are consecutive, so a block's rows
 * are evenly spaced).  The mask is the attention_mask input, the causal
 * mask and the Keras masks of query / value / key, AND-ed as tf.keras'
 * _compute_attention_mask.  With return_attention_scores P is a second
 * output (B, other axes..., H, query axes..., key axes...), whose gradient
 * joins P's.  Training keeps q, k, v, the probabilities, the dropout mask
 * and att, plus the working space of backward. */
#include <math.h>
#include <string.h>

#include "layers/attention_math.h"
#include "layers/multi_head_attention.h"

/* ---- shapes ---------------------------------------------------------------- */

static int64_t dims_product(const ck_shape *s, int from, int to)
{
    int64_t n = 1;
    for (int i = from; i < to; i++) n *= s->dims[i] < 0 ? 0 : s->dims[i];
    return n;
}

/* The attention mask's checks: (leading dims..., query attention axes...,
 * key attention axes...), the leading ones lined up with the scores'
 * (batch, other positional axes..., heads) from the left, as Keras'
 * expand_dims before the query axes; each dim 1 or the scores'. */
static ck_status check_mask(const ck_mha_layer *l, const ck_shape *q, const ck_shape *v, const ck_shape *m,
                            const ck_mha_dims *d)
{
    char a[128], b[128], c[128];
    const int npos = q->rank - 2, lead = m->rank - 2 * d->na;
    int ok = lead >= 0 && lead <= 2 + npos - d->na;
    int64_t want[CK_MAX_RANK];
    int at = 0;
    want[at++] = q->dims[0];
    for (int ax = 1; ax <= npos; ax++)
        if (ax < d->a0 || ax >= d->a0 + d->na) want[at++] = q->dims[ax];
    want[at++] = l->num_heads;
    for (int i = 0; ok && i < lead; i++) ok = m->dims[i] == 1 || m->dims[i] < 0 || want[i] < 0 || m->dims[i] == want[i];
    for (int i = 0; ok && i < 2 * d->na; i++) {
        const int64_t md = m->dims[lead + i], w = i < d->na ? q->dims[d->a0 + i] : v->dims[d->a0 + i - d->na];
        ok = md == 1 || md < 0 || w < 0 || md == w;
    }
    if (!ok)
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": attention_mask of shape %s does not "
                        "broadcast to (batch, query positions, key positions) for query %s and value %s",
                        l->base.name, ck_shape_fmt(a, sizeof a, m), ck_shape_fmt(b, sizeof b, q),
                        ck_shape_fmt(c, sizeof c, v));
    return CK_OK;
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
    CK_TRY(ck_mha_axes_of(l, q->rank, &d->a0, &d->na));
    const int last = d->a0 + d->na; /* first positional axis after the attention axes */
    for (int i = 1; i < v->rank - 1; i++) {
        if (v->dims[i] >= 0 && k->dims[i] >= 0 && v->dims[i] != k->dims[i])
            return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": key and value must have the same "
                            "positions, got key %s and value %s", l->base.name, ck_shape_fmt(a, sizeof a, k),
                            ck_shape_fmt(b, sizeof b, v));
        /* Axes outside the attention ones are batch dims of the einsums. */
        if ((i < d->a0 || i >= last) && q->dims[i] >= 0 && v->dims[i] >= 0 && q->dims[i] != v->dims[i])
            return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": query and value must agree on the "
                            "axes outside attention_axes, got query %s and value %s", l->base.name,
                            ck_shape_fmt(a, sizeof a, q), ck_shape_fmt(b, sizeof b, v));
    }
    d->B = q->dims[0] < 0 ? 0 : q->dims[0];
    d->Outer = dims_product(q, 1, d->a0);
    d->Inner = dims_product(q, last, q->rank - 1);
    d->T = dims_product(q, d->a0, last);
    d->S = dims_product(v, d->a0, last);
    d->P = d->Outer * d->T * d->Inner;
    d->Pk = d->Outer * d->S * d->Inner;
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
    if (l->causal && d->na != 1)
        return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention layer \"%s\": use_causal_mask needs a single "
                        "attention axis (query %s)", l->base.name, ck_shape_fmt(a, sizeof a, q));
    if (l->causal && d->a0 != 1 && (q->dims[1] != d->T || v->dims[1] != d->S))
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": the causal mask (1, %lld, %lld) of "
                        "query %s does not broadcast to its attention axis", l->base.name, (long long)q->dims[1],
                        (long long)v->dims[1], ck_shape_fmt(a, sizeof a, q));
    if (io.mask >= 0) CK_TRY(check_mask(l, q, v, &in[io.mask], d));
    return CK_OK;
}

/* The mask's strides inside a block: per query and per key position (0
 * where a dim of 1 broadcasts; several attention axes broadcast only as a
 * whole).  `lead` receives the mask's leading dims. */
static ck_status mask_of(const ck_mha_layer *l, const ck_mha_dims *d, const ck_tensor *m, int causal, int *lead,
                         ck_attn_mask *am)
{
    *am = (ck_attn_mask){.tensor = m, .causal = causal};
    *lead = 0;
    if (!m) return CK_OK;
    *lead = m->rank - 2 * d->na; /* dims_of checked the shape */
    int64_t tm = 1, sm = 1;
    for (int i = 0; i < d->na; i++) tm *= m->shape[*lead + i];
    for (int i = 0; i < d->na; i++) sm *= m->shape[*lead + d->na + i];
    if ((tm != 1 && tm != d->T) || (sm != 1 && sm != d->S))
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": the attention mask's query / key axes "
                        "must match the inputs' or all be 1", l->base.name);
    am->sstride = sm == 1 ? 0 : 1;
    am->tstride = tm == 1 ? 0 : sm;
    return CK_OK;
}

/* Where the mask of block (b, o, i, h) starts: its leading dims index the
 * scores' (batch, outer axes..., inner axes..., heads) from the left. */
static int64_t mask_block_offset(const ck_tensor *m, int lead, const ck_tensor *q, const ck_mha_dims *d, int64_t b,
                                 int64_t o, int64_t i, int64_t h)
{
    int64_t idx[CK_MAX_RANK + 2];
    int n = 0;
    idx[n++] = b;
    const int npos = q->rank - 2, last = d->a0 + d->na;
    /* Outer then inner multi-indices, the last axis fastest. */
    int64_t rest[2] = {o, i};
    int from[2] = {1, last}, to[2] = {d->a0, npos + 1};
    for (int part = 0; part < 2; part++) {
        int64_t r = rest[part];
        for (int ax = to[part] - 1; ax >= from[part]; ax--) {
            const int64_t size = q->shape[ax] > 0 ? q->shape[ax] : 1;
            idx[n + (ax - from[part])] = r % size;
            r /= size;
        }
        n += to[part] - from[part];
    }
    idx[n++] = h;
    int64_t off = 0, stride = 1;
    for (int j = m->rank - 1; j >= 0; j--) {
        if (j < lead && m->shape[j] != 1) off += idx[j] * stride;
        stride *= m->shape[j];
    }
    return off;
}

/* The Keras masks of query, value and key (rank-3 inputs: (batch, steps)
 * each) as row / column masks; NULL `masks`: none. */
static ck_status keras_masks(const ck_mha_layer *l, const ck_mha_dims *d, const ck_mha_inputs *io, int qrank,
                             const ck_tensor *const *masks, ck_attn_mask *am)
{
    if (!masks) return CK_OK;
    const ck_tensor *qm = masks[0], *vm = masks[1], *km = io->key >= 0 ? masks[io->key] : NULL;
    if (!qm && !vm && !km) return CK_OK;
    if (qrank != 3)
        return ck_error(CK_NOT_IMPLEMENTED, "MultiHeadAttention layer \"%s\": Keras masks on inputs of rank %d "
                        "(only rank 3: (batch, steps, features))", l->base.name, qrank);
    if ((qm && qm->size != d->B * d->T) || (vm && vm->size != d->B * d->S) || (km && km->size != d->B * d->S))
        return ck_error(CK_VALUE_ERROR, "MultiHeadAttention layer \"%s\": the Keras masks of query, value and key "
                        "must be (batch, steps) of their inputs", l->base.name);
    am->rows = qm, am->cols[0] = vm, am->cols[1] = km;
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
    const int64_t HK = d->H * d->K, HV = d->H * d->V, TS = d->T * d->S, blocks = d->B * d->Outer * d->Inner * d->H;
    const int64_t BP = d->B * d->P, BPk = d->B * d->Pk;
    size_t sz[11] = {
        al((size_t)(BP * HK) * es), al((size_t)(BPk * HK) * es), al((size_t)(BPk * HV) * es),
        al((size_t)(training ? blocks * TS : TS) * es), al((size_t)(training && dropout ? blocks * TS : 0) * es),
        al((size_t)(BP * HV) * es),
        al((size_t)(training ? TS : 0) * es), al((size_t)(training ? TS : 0) * es),
        al((size_t)(training ? BP * HK : 0) * es), al((size_t)(training ? BPk * HK : 0) * es),
        al((size_t)(training ? BPk * HV : 0) * es)};
    void **slot[11] = {&b->q, &b->k, &b->v, &b->p, &b->keep, &b->att, &b->pd, &b->dp, &b->dq, &b->dk, &b->dv};
    size_t at = 0;
    for (int i = 0; i < 11; i++) {
        if (base) *slot[i] = sz[i] ? base + at : NULL;
        at += sz[i];
    }
    return at;
}

/* One block of the attention: batch item b, other positions (o, i), head
 * h.  Offsets (in elements) of its first q / k / v / att entries and of its
 * scores, and the leading dims of its rows (evenly spaced: Inner rows
 * apart). */
typedef struct mha_block {
    int64_t index, q, k, v, att, ldk, ldv;
} mha_block;

static mha_block block_at(const ck_mha_dims *d, int64_t b, int64_t o, int64_t i, int64_t h)
{
    const int64_t HK = d->H * d->K, HV = d->H * d->V;
    const int64_t qrow = b * d->P + o * d->T * d->Inner + i, krow = b * d->Pk + o * d->S * d->Inner + i;
    return (mha_block){.index = ((b * d->Outer + o) * d->Inner + i) * d->H + h, .q = qrow * HK + h * d->K,
                       .k = krow * HK + h * d->K, .v = krow * HV + h * d->V, .att = qrow * HV + h * d->V,
                       .ldk = d->Inner * HK, .ldv = d->Inner * HV};
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

/* q, k, v, then every block; `all_blocks` keeps each block's
 * probabilities (training), `rng` (training with dropout) drops them;
 * `masks` (may be NULL) are the inputs' Keras masks. */
static ck_status forward(const ck_mha_layer *l, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                         ck_tensor *const *outs, mha_bufs *b, int all_blocks, ck_rng *rng)
{
    const ck_dtype dt = l->base.dtype;
    const size_t es = ck_dtype_size(dt);
    ck_mha_dims d;
    ck_mha_inputs io = {-1, -1};
    CK_TRY(dims_of_tensors(l, n, in, &d));
    CK_TRY(ck_mha_input_layout(l, n, &io));
    const ck_tensor *query = in[0], *value = in[1], *key = io.key >= 0 ? in[io.key] : in[1];
    const ck_tensor *mask = io.mask >= 0 ? in[io.mask] : NULL;
    int lead;
    ck_attn_mask am;
    CK_TRY(mask_of(l, &d, mask, l->causal, &lead, &am));
    CK_TRY(keras_masks(l, &d, &io, query->rank, masks, &am));
    const int64_t HK = d.H * d.K, HV = d.H * d.V, TS = d.T * d.S;
    ck_tensor *out = outs[0];
    if (out->size == 0) return CK_OK;
    project(dt, query, d.B * d.P, d.Dq, l->wq, l->bq, HK, b->q);
    ck_attn_scale(dt, b->q, 1.0 / sqrt((double)d.K), d.B * d.P * HK);
    project(dt, key, d.B * d.Pk, d.Dk, l->wk, l->bk, HK, b->k);
    project(dt, value, d.B * d.Pk, d.Dv, l->wv, l->bv, HV, b->v);
    char *q = b->q, *k = b->k, *v = b->v, *att = b->att;
    for (int64_t bi = 0; bi < d.B; bi++)
        for (int64_t o = 0; o < d.Outer; o++)
            for (int64_t i = 0; i < d.Inner; i++)
                for (int64_t h = 0; h < d.H; h++) {
                    const mha_block g = block_at(&d, bi, o, i, h);
                    if (mask) am.offset = mask_block_offset(mask, lead, query, &d, bi, o, i, h);
                    am.row_off = bi * d.T, am.col_off = bi * d.S;
                    char *p = ck_attn_at(b->p, all_blocks ? (size_t)(g.index * TS) * es : 0);
                    ck_attn_mm(dt, 0, 1, d.T, d.S, d.K, ck_attn_at(q, (size_t)g.q * es), g.ldk, ck_attn_at(k, (size_t)g.k * es),
                               g.ldk, 0, p, d.S);
                    ck_attn_softmax(dt, p, d.T, d.S, d.S, &am);
                    /* return_attention_scores: the weights before dropout, as Keras. */
                    if (l->return_scores && TS > 0)
                        memcpy((char *)outs[1]->data + (size_t)(g.index * TS) * es, p, (size_t)TS * es);
                    const void *use = p;
                    if (rng) {
                        char *keep = ck_attn_at(b->keep, (size_t)(g.index * TS) * es);
                        ck_attn_dropout(dt, rng, l->dropout, p, keep, b->pd, TS);
                        use = b->pd;
                    }
                    ck_attn_mm(dt, 0, 0, d.T, d.V, d.S, use, d.S, ck_attn_at(v, (size_t)g.v * es), g.ldv, 0,
                               ck_attn_at(att, (size_t)g.att * es), g.ldv);
                }
    project(dt, &(ck_tensor){.dtype = dt, .data = att}, d.B * d.P, HV, l->wo, l->bo, d.O, out->data);
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
    return forward(l, n, in, NULL, out, &b, 0, NULL);
}

ck_status ck_mha_call_masks(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                            ck_tensor *const *out, void *scratch)
{
    const ck_mha_layer *l = (const ck_mha_layer *)layer;
    ck_mha_dims d;
    mha_bufs b;
    CK_TRY(check_floating(l, in));
    CK_TRY(dims_of_tensors(l, n, in, &d));
    layout(&d, ck_dtype_size(layer->dtype), 0, 0, scratch, &b);
    return forward(l, n, in, masks, out, &b, 0, NULL);
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
    return forward(l, n, in, ctx ? ctx->masks : NULL, out, &b, 1, dropping(l, ctx) ? ctx->rng : NULL);
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
    if (dout->size == 0 || d.B * d.P == 0) {
        ck_tensor *zero[3] = {dquery, dvalue, dkey};
        for (int i = 0; i < 3; i++)
            if (zero[i]) ck_attn_zero(dt, zero[i]->data, zero[i]->size);
        return CK_OK;
    }
    /* Output projection; att's space then holds d att. */
    ck_tensor att = {.dtype = dt, .data = b.att};
    project_back(dt, &att, d.B * d.P, HV, l->wo, l->bo, d.O, dout->data, NULL, 0);
    ck_attn_mm(dt, 0, 1, d.B * d.P, HV, d.O, dout->data, d.O, l->wo->value->data, d.O, 0, b.att, HV);
    char *q = b.q, *k = b.k, *v = b.v, *datt = b.att, *dq = b.dq, *dk = b.dk, *dv = b.dv;
    for (int64_t bi = 0; bi < d.B; bi++)
        for (int64_t o = 0; o < d.Outer; o++)
            for (int64_t i = 0; i < d.Inner; i++)
                for (int64_t h = 0; h < d.H; h++) {
                    const mha_block g = block_at(&d, bi, o, i, h);
                    const size_t blk = (size_t)(g.index * TS) * es;
                    const char *p = ck_attn_at(b.p, blk), *keep = drop ? ck_attn_at(b.keep, blk) : NULL;
                    const size_t qo = (size_t)g.q * es, ko = (size_t)g.k * es, vo = (size_t)g.v * es;
                    const size_t ao = (size_t)g.att * es;
                    const void *pd = p;
                    if (keep && TS > 0) {
                        memcpy(b.pd, p, (size_t)TS * es);
                        ck_attn_mul_into(dt, b.pd, keep, TS);
                        pd = b.pd;
                    }
                    ck_attn_mm(dt, 1, 0, d.S, d.V, d.T, pd, d.S, ck_attn_at(datt, ao), g.ldv, 0, ck_attn_at(dv, vo), g.ldv);
                    ck_attn_mm(dt, 0, 1, d.T, d.S, d.V, ck_attn_at(datt, ao), g.ldv, ck_attn_at(v, vo), g.ldv, 0, b.dp, d.S);
                    if (keep) ck_attn_mul_into(dt, b.dp, keep, TS);
                    if (l->return_scores) ck_attn_add_into(dt, b.dp, ck_attn_at(dout[1].data, blk), TS);
                    ck_attn_softmax_backward(dt, p, b.dp, d.T, d.S, d.S);
                    ck_attn_mm(dt, 0, 0, d.T, d.K, d.S, b.dp, d.S, ck_attn_at(k, ko), g.ldk, 0, ck_attn_at(dq, qo), g.ldk);
                    ck_attn_mm(dt, 1, 0, d.S, d.K, d.T, b.dp, d.S, ck_attn_at(q, qo), g.ldk, 0, ck_attn_at(dk, ko), g.ldk);
                }
    ck_attn_scale(dt, dq, 1.0 / sqrt((double)d.K), d.B * d.P * HK);
    const ck_tensor *query = in[0], *value = in[1], *key = io.key >= 0 ? in[io.key] : in[1];
    project_back(dt, query, d.B * d.P, d.Dq, l->wq, l->bq, HK, dq, dquery, 0);
    project_back(dt, value, d.B * d.Pk, d.Dv, l->wv, l->bv, HV, dv, dvalue, 0);
    /* Without a key input the value was the key too: its gradient adds. */
    project_back(dt, key, d.B * d.Pk, d.Dk, l->wk, l->bk, HK, dk, io.key >= 0 ? dkey : dvalue, io.key < 0);
    return CK_OK;
}
