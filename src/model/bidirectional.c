/* keras.layers.Bidirectional: a recurrent layer run forwards and a copy of
 * it (go_backwards flipped, or a given backward_layer) run backwards over
 * the same inputs; with return_sequences the backward outputs are put back
 * in time order, then the two are merged (concat, sum, mul, ave).
 * The two inner layers are sublayers: their weights are this layer's,
 * forward first, named "<name>/forward_<inner>/<cell>/kernel:0" as
 * tf.keras writes them.  As in tf.keras 2.15, merge_mode None returns the
 * two outputs (the backward one in time order) instead of one, and with
 * return_state the outputs are followed by the forward layer's states
 * then the backward layer's (LSTM: h, c each).  Initial states (Keras'
 * initial_state) are inputs after the sequence: the first half starts
 * the forward layer, the second half the backward one, as tf.keras
 * splits them. */
#include <string.h>

#include "layers/rnn_common.h"
#include "model/bidirectional.h"

/* ---- outputs: [merged] or [forward, backward], then the states ------------ */

static int merged_count(const bidi_layer *b) { return b->mode == MERGE_NONE ? 2 : 1; }

/* Index of the first forward state among the outputs; the backward
 * layer's states follow the forward layer's. */
static int first_state(const bidi_layer *b) { return merged_count(b); }
static int first_bwd_state(const bidi_layer *b) { return merged_count(b) + ck_layer_outputs_of(b->fwd) - 1; }

static int bidi_output_count(const ck_layer *layer)
{
    const bidi_layer *b = (const bidi_layer *)layer;
    return merged_count(b) + ck_layer_outputs_of(b->fwd) - 1 + ck_layer_outputs_of(b->bwd) - 1;
}

/* ---- initial states: inputs 1.. split in two halves ---------------------------- */

/* The inputs of the two inner calls: the sequence, then each layer's half
 * of the initial states. */
typedef struct split_inputs {
    int nf, nb;
    const ck_tensor *f[BIDI_MAX_INNER], *r[BIDI_MAX_INNER];
} split_inputs;

typedef struct split_shapes {
    int nf, nb;
    ck_shape f[BIDI_MAX_INNER], r[BIDI_MAX_INNER];
} split_shapes;

/* Most inputs of one call: the sequence and both layers' states. */
#define BIDI_MAX_INPUTS (1 + 2 * (BIDI_MAX_INNER - 1))

static split_inputs split_of(int n, const ck_tensor *const *in)
{
    split_inputs s = {.nf = 1 + (n - 1) / 2, .nb = 1 + (n - 1) / 2};
    s.f[0] = s.r[0] = in[0];
    for (int k = 1; k < s.nf; k++) s.f[k] = in[k], s.r[k] = in[s.nf - 1 + k];
    return s;
}

static split_shapes split_shapes_of(int n, const ck_shape *in)
{
    split_shapes s = {.nf = 1 + (n - 1) / 2, .nb = 1 + (n - 1) / 2};
    s.f[0] = s.r[0] = in[0];
    for (int k = 1; k < s.nf; k++) s.f[k] = in[k], s.r[k] = in[s.nf - 1 + k];
    return s;
}

/* tf.keras' checks of the states given: an even count, for wrapped
 * layers that take states. */
static ck_status check_states(const bidi_layer *b, int n)
{
    if (n == 1) return CK_OK;
    if (n > BIDI_MAX_INPUTS)
        return ck_error(CK_NOT_IMPLEMENTED, "Bidirectional \"%s\": %d initial states; ckeras takes at most %d",
                        b->base.name, n - 1, BIDI_MAX_INPUTS - 1);
    if ((n - 1) % 2)
        return ck_error(CK_VALUE_ERROR, "When passing `initial_state` to a Bidirectional RNN, the state should be a "
                        "list containing the states of the underlying RNNs. Received: %d state tensor(s) (layer "
                        "\"%s\")", n - 1, b->base.name);
    if (b->fwd->cls->arity == CK_ONE_INPUT || b->bwd->cls->arity == CK_ONE_INPUT)
        return ck_error(CK_NOT_IMPLEMENTED, "Bidirectional \"%s\": initial states for a wrapped %s are not "
                        "supported", b->base.name, b->fwd->cls->class_name);
    return CK_OK;
}

/* ---- shapes, weights ----------------------------------------------------------- */

static ck_status bidi_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const bidi_layer *b = (const bidi_layer *)layer;
    ck_shape fs[BIDI_MAX_INNER], rs[BIDI_MAX_INNER];
    char b1[128], b2[128];
    CK_TRY(check_states(b, n));
    split_shapes sp = split_shapes_of(n, in);
    CK_TRY(ck_layer_output_shapes_of(b->fwd, sp.nf, sp.f, fs));
    CK_TRY(ck_layer_output_shapes_of(b->bwd, sp.nb, sp.r, rs));
    int nf = ck_layer_outputs_of(b->fwd), nb = ck_layer_outputs_of(b->bwd);
    for (int k = 1; k < nf; k++) out[first_state(b) + k - 1] = fs[k];
    for (int k = 1; k < nb; k++) out[first_bwd_state(b) + k - 1] = rs[k];
    const ck_shape f = fs[0], r = rs[0];
    out[0] = f;
    if (b->mode == MERGE_NONE) {
        out[1] = r;
        return CK_OK;
    }
    int last = f.rank - 1;
    if (b->mode == MERGE_CONCAT) {
        out->dims[last] = f.dims[last] < 0 || r.dims[last] < 0 ? -1 : f.dims[last] + r.dims[last];
        return CK_OK;
    }
    for (int i = 0; i < f.rank; i++)
        if (f.dims[i] >= 0 && r.dims[i] >= 0 && f.dims[i] != r.dims[i])
            return ck_error(CK_VALUE_ERROR, "Bidirectional \"%s\" (merge_mode=%s): the forward output %s and the "
                            "backward output %s differ", layer->name, ck_bidi_merge_names[b->mode],
                            ck_shape_fmt(b1, sizeof b1, &f), ck_shape_fmt(b2, sizeof b2, &r));
    return CK_OK;
}

static ck_status bidi_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    bidi_layer *b = (bidi_layer *)layer;
    CK_TRY(check_states(b, n));
    split_shapes sp = split_shapes_of(n, shapes);
    CK_TRY(ck_layer_build(b->fwd, sp.nf, sp.f));
    CK_TRY(ck_layer_build(b->bwd, sp.nb, sp.r));
    CK_TRY(ck_wrap_rename_weights(b->fwd, layer->name, 0));
    CK_TRY(ck_wrap_rename_weights(b->bwd, layer->name, 0));
    ck_shape ignored[2 * BIDI_MAX_INNER];
    return bidi_output_shape(layer, n, shapes, ignored);
}

static int bidi_sublayer_count(const ck_layer *layer) { (void)layer; return 2; }

static ck_layer *bidi_sublayer(const ck_layer *layer, int i)
{
    const bidi_layer *b = (const bidi_layer *)layer;
    return i == 0 ? b->fwd : b->bwd;
}

static void bidi_destroy(ck_layer *layer)
{
    bidi_layer *b = (bidi_layer *)layer;
    if (b->fwd) ck_layer_free(b->fwd);
    if (b->bwd) ck_layer_free(b->bwd);
    json_decref(b->layer_config);
    json_decref(b->backward_config);
}

static ck_status bidi_compute_mask(const ck_layer *layer, int n, const ck_tensor *const *in,
                                   const ck_tensor *const *masks, ck_tensor **out)
{
    (void)n, (void)in;
    *out = NULL;
    if (!masks || !masks[0] || !((const bidi_layer *)layer)->return_sequences) return CK_OK;
    return ck_tensor_copy(out, masks[0]);
}

/* Bidirectional.compute_mask: with return_sequences the output (both
 * outputs with merge_mode None) carries the input's mask; states never
 * do. */
static int bidi_mask_rule(const ck_layer *layer)
{
    return ((const bidi_layer *)layer)->return_sequences ? CK_MASK_PASS : CK_MASK_NONE;
}

static int bidi_passed_mask_outputs(const ck_layer *layer)
{
    return ((const bidi_layer *)layer)->mode == MERGE_NONE ? 2 : 1;
}

static int bidi_archive_var(const ck_layer *layer, int i, char *group, size_t n)
{
    const bidi_layer *b = (const bidi_layer *)layer;
    int nf = ck_layer_weight_count(b->fwd);
    if (i < nf) return ck_wrap_archive_var(b->fwd, i, "forward_layer", group, n);
    return ck_wrap_archive_var(b->bwd, i - nf, "backward_layer", group, n);
}

/* The output lists of the two inner calls: their first outputs are the
 * views y1 / y2 (merged afterwards), their states are written straight
 * into this layer's state outputs. */
typedef struct inner_outs {
    ck_tensor *f[BIDI_MAX_INNER], *r[BIDI_MAX_INNER];
} inner_outs;

static inner_outs inner_outs_of(const bidi_layer *b, ck_tensor *y1, ck_tensor *y2, ck_tensor *const *out)
{
    inner_outs o;
    int nf = ck_layer_outputs_of(b->fwd), nb = ck_layer_outputs_of(b->bwd);
    o.f[0] = y1, o.r[0] = y2;
    for (int k = 1; k < nf; k++) o.f[k] = out[first_state(b) + k - 1];
    for (int k = 1; k < nb; k++) o.r[k] = out[first_bwd_state(b) + k - 1];
    return o;
}

/* ---- inference ------------------------------------------------------------------ */

/* The blocks of a call: the two inner first outputs, then the inner
 * layers' own scratch (one at a time, so one region). */
typedef struct bidi_blocks {
    ck_shape s1[BIDI_MAX_INNER], s2[BIDI_MAX_INNER];
    size_t b1, b2, inner, total;
} bidi_blocks;

static ck_status blocks_of(const bidi_layer *b, int n, const ck_shape *in, bidi_blocks *k)
{
    split_shapes sp = split_shapes_of(n, in);
    CK_TRY(ck_layer_output_shapes_of(b->fwd, sp.nf, sp.f, k->s1));
    CK_TRY(ck_layer_output_shapes_of(b->bwd, sp.nb, sp.r, k->s2));
    k->b1 = ck_wrap_block_bytes(b->base.dtype, &k->s1[0]);
    k->b2 = ck_wrap_block_bytes(b->base.dtype, &k->s2[0]);
    size_t i1 = ck_layer_call_scratch_bytes(b->fwd, sp.nf, sp.f, k->s1);
    size_t i2 = ck_layer_call_scratch_bytes(b->bwd, sp.nb, sp.r, k->s2);
    k->inner = i1 > i2 ? i1 : i2;
    k->total = 0;
    ck_wrap_add_bytes(&k->total, k->b1);
    ck_wrap_add_bytes(&k->total, k->b2);
    ck_wrap_add_bytes(&k->total, k->inner);
    return CK_OK;
}

static size_t bidi_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    bidi_blocks k;
    (void)out;
    if (blocks_of((const bidi_layer *)layer, n, in, &k) != CK_OK) return SIZE_MAX;
    return k.total;
}

/* An inner layer's planned call, with the mask when it reads one (the
 * recurrent layers skip masked steps, go_backwards included). */
static ck_status inner_call(ck_layer *inner, int n, const ck_tensor *const *in, const ck_tensor *mask,
                            ck_tensor *const *out, void *scratch, struct ck_rnn_input_cache *cache)
{
    if (cache) return ck_rnn_call_cached(inner, n, in, mask, out, scratch, cache);
    if (mask && inner->cls->call_masked) return ck_layer_call_planned_masked(inner, n, in, mask, out, scratch);
    return ck_layer_call_planned(inner, n, in, out, scratch);
}

ck_status ck_bidi_call_cached(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                              ck_tensor *const *out, void *scratch, struct ck_rnn_input_cache *const *caches)
{
    bidi_layer *b = (bidi_layer *)layer;
    ck_shape s[BIDI_MAX_INPUTS];
    bidi_blocks k;
    for (int i = 0; i < n; i++) s[i] = ck_tensor_shape(in[i]);
    CK_TRY(blocks_of(b, n, s, &k));
    char *p = scratch;
    ck_tensor y1 = ck_wrap_view(layer->dtype, &k.s1[0], p), y2 = ck_wrap_view(layer->dtype, &k.s2[0], p + k.b1);
    void *inner = k.inner ? p + k.b1 + k.b2 : NULL;
    inner_outs o = inner_outs_of(b, &y1, &y2, out);
    split_inputs sp = split_of(n, in);
    CK_TRY(inner_call(b->fwd, sp.nf, sp.f, mask, o.f, inner, caches ? caches[0] : NULL));
    CK_TRY(inner_call(b->bwd, sp.nb, sp.r, mask, o.r, inner, caches ? caches[1] : NULL));
    ck_bidi_merge(b, &y1, &y2, out);
    return CK_OK;
}

static ck_status bidi_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                                  ck_tensor *const *out, void *scratch)
{
    return ck_bidi_call_cached(layer, n, in, mask, out, scratch, NULL);
}

static ck_status bidi_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                                   void *scratch)
{
    return bidi_call_masked(layer, n, in, NULL, out, scratch);
}

/* ---- training ---------------------------------------------------------------------
 * saved: y1, y2, the two inner saved blocks, then d y1, d y2 and the
 * backward layer's input gradient (added into din). */
typedef struct bidi_saved {
    bidi_blocks k;
    size_t sf, sb, dx, total;
} bidi_saved;

static ck_status saved_of(const bidi_layer *b, int n, const ck_shape *in, bidi_saved *s)
{
    CK_TRY(blocks_of(b, n, in, &s->k));
    split_shapes sp = split_shapes_of(n, in);
    s->sf = ck_layer_saved_bytes(b->fwd, sp.nf, sp.f, s->k.s1);
    s->sb = ck_layer_saved_bytes(b->bwd, sp.nb, sp.r, s->k.s2);
    if (s->sf == SIZE_MAX || s->sb == SIZE_MAX) return ck_last_status();
    s->dx = ck_wrap_block_bytes(b->base.dtype, in);
    s->total = 0;
    size_t parts[] = {s->k.b1, s->k.b2, s->sf, s->sb, s->k.b1, s->k.b2, s->dx};
    for (int i = 0; i < 7; i++) ck_wrap_add_bytes(&s->total, parts[i]);
    if (s->total == SIZE_MAX)
        return ck_error(CK_VALUE_ERROR, "Bidirectional \"%s\": cannot plan the training buffers", b->base.name);
    return CK_OK;
}

static size_t bidi_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    bidi_saved s;
    (void)out;
    if (saved_of((const bidi_layer *)layer, n, in, &s) != CK_OK) return SIZE_MAX;
    return s.total;
}

typedef struct bidi_views {
    ck_tensor y1, y2, d1, d2, dx;
    char *sf, *sb;
} bidi_views;

static ck_status views_of(const bidi_layer *b, int n, const ck_tensor *const *x, void *saved, bidi_views *v)
{
    ck_shape in[BIDI_MAX_INPUTS];
    for (int i = 0; i < n; i++) in[i] = ck_tensor_shape(x[i]);
    bidi_saved s;
    CK_TRY(saved_of(b, n, in, &s));
    ck_dtype dt = b->base.dtype;
    char *p = saved;
    v->y1 = ck_wrap_view(dt, &s.k.s1[0], p), p += s.k.b1;
    v->y2 = ck_wrap_view(dt, &s.k.s2[0], p), p += s.k.b2;
    v->sf = p, p += s.sf;
    v->sb = p, p += s.sb;
    v->d1 = ck_wrap_view(dt, &s.k.s1[0], p), p += s.k.b1;
    v->d2 = ck_wrap_view(dt, &s.k.s2[0], p), p += s.k.b2;
    v->dx = ck_wrap_view(dt, &in[0], p);
    return CK_OK;
}

static ck_status bidi_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 ck_tensor *const *out, void *saved)
{
    bidi_layer *b = (bidi_layer *)layer;
    bidi_views v;
    CK_TRY(views_of(b, n, in, saved, &v));
    inner_outs o = inner_outs_of(b, &v.y1, &v.y2, out);
    split_inputs sp = split_of(n, in);
    CK_TRY(ck_layer_train_call(b->fwd, ctx, sp.nf, sp.f, o.f, v.sf));
    CK_TRY(ck_layer_train_call(b->bwd, ctx, sp.nb, sp.r, o.r, v.sb));
    ck_bidi_merge(b, &v.y1, &v.y2, out);
    return CK_OK;
}

/* One inner layer's backward: its outputs and their gradients are its
 * first output (y, dy: views of `saved`) then its states (this layer's
 * outputs from index `state0`, and their gradients).  Its inputs are the
 * sequence and its `n - 1` initial states, whose gradients go to
 * dstates (NULL: not wanted). */
static ck_status inner_backward(ck_layer *inner, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                ck_tensor *y, ck_tensor *dy, const ck_tensor *out, const ck_tensor *dout, int state0,
                                void *saved, ck_tensor *dx, ck_tensor *const *dstates)
{
    ck_tensor outs[BIDI_MAX_INNER], douts[BIDI_MAX_INNER];
    int count = ck_layer_outputs_of(inner);
    outs[0] = *y, douts[0] = *dy;
    for (int k = 1; k < count; k++) outs[k] = out[state0 + k - 1], douts[k] = dout[state0 + k - 1];
    ck_tensor *dins[BIDI_MAX_INNER] = {dx};
    for (int k = 1; k < n; k++) dins[k] = dstates ? dstates[k - 1] : NULL;
    return ck_layer_backward(inner, ctx, n, in, outs, douts, saved, dins);
}

static ck_status bidi_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    bidi_layer *b = (bidi_layer *)layer;
    bidi_views v;
    CK_TRY(views_of(b, n, in, saved, &v));
    ck_bidi_merge_grad(b, &v.y1, &v.y2, dout, &v.d1, &v.d2);
    ck_tensor *dx = din ? din[0] : NULL;
    split_inputs sp = split_of(n, in);
    ck_tensor *const *dstates = din ? din + 1 : NULL; /* the forward half, then the backward one */
    CK_TRY(inner_backward(b->fwd, ctx, sp.nf, sp.f, &v.y1, &v.d1, out, dout, first_state(b), v.sf, dx, dstates));
    CK_TRY(inner_backward(b->bwd, ctx, sp.nb, sp.r, &v.y2, &v.d2, out, dout, first_bwd_state(b), v.sb,
                          dx ? &v.dx : NULL, dstates ? dstates + sp.nf - 1 : NULL));
    if (dx)
        CK_RNN_TYPED(dx->dtype, {
            real *g = dx->data;
            const real *h = v.dx.data;
            for (int64_t i = 0; i < dx->size; i++) g[i] += h[i];
        });
    return CK_OK;
}

const ck_layer_class ck_bidirectional_class = {
    .class_name = "Bidirectional",
    .size = sizeof(bidi_layer),
    .arity = CK_LIST_OF_INPUTS, /* the sequence, then the initial states */
    .min_inputs = 1,
    .max_inputs = BIDI_MAX_INPUTS,
    .spec_first_input_only = 1,
    .kwarg_inputs = ck_rnn_kwarg_inputs,
    .cast_all_inputs = 1,
    .supports_masking = 1,
    .build = bidi_build,
    .call = ck_layer_call_own_scratch,
    .compute_output_shape = bidi_output_shape,
    .compute_mask = bidi_compute_mask,
    .get_config = ck_bidi_get_config,
    .from_config = ck_bidi_from_config,
    .sublayer_count = bidi_sublayer_count,
    .sublayer = bidi_sublayer,
    .destroy = bidi_destroy,
    .saved_bytes = bidi_saved_bytes,
    .train_call = bidi_train_call,
    .backward = bidi_backward,
    .output_count = bidi_output_count,
    .call_scratch_bytes = bidi_scratch_bytes,
    .call_scratch = bidi_call_scratch,
    .archive_var = bidi_archive_var,
    .mask_rule = bidi_mask_rule,
    .passed_mask_outputs = bidi_passed_mask_outputs,
    .call_masked = bidi_call_masked,
};
