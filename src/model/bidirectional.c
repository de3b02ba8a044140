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
#include "model/wrapper_util.h"
#include "model/tf2_dtypes.h"

/* Most outputs of one inner layer call (its output, then its states). */
#define BIDI_MAX_INNER 16

enum merge_mode { MERGE_CONCAT, MERGE_SUM, MERGE_MUL, MERGE_AVE, MERGE_NONE };
static const char *const merge_names[] = {"concat", "sum", "mul", "ave"};

typedef struct bidi_layer {
    ck_layer base;
    ck_layer *fwd, *bwd;
    enum merge_mode mode;
    int return_sequences, time_major;
    json_t *layer_config;    /* the wrapped layer's {"class_name", "config"} */
    json_t *backward_config; /* a given backward_layer's, else NULL */
} bidi_layer;

/* A boolean key of a layer's config (absent: false). */
static int config_flag(const json_t *wrapper, const char *key)
{
    return json_is_true(json_object_get(json_object_get(wrapper, "config"), key));
}

static ck_status parse_mode(const json_t *v, enum merge_mode *out)
{
    if (!v || json_is_null(v)) {
        *out = v ? MERGE_NONE : MERGE_CONCAT;
        return CK_OK;
    }
    const char *s = json_string_value(v);
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, merge_names[i]) == 0) {
            *out = (enum merge_mode)i;
            return CK_OK;
        }
    if (s && strcmp(s, "none") == 0) {
        *out = MERGE_NONE;
        return CK_OK;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    ck_status st = ck_error(CK_VALUE_ERROR, "Invalid merge mode. Received: %s. Merge mode should be one of {\"sum\", "
                            "\"mul\", \"ave\", \"concat\", None}", text ? text : "?");
    free(text);
    return st;
}

/* Keras' _verify_layer_config. */
static ck_status verify(const json_t *f, const json_t *b)
{
    int fg = config_flag(f, "go_backwards"), bg = config_flag(b, "go_backwards");
    if (fg == bg)
        return ck_error(CK_VALUE_ERROR, "Forward layer and backward layer should have different `go_backwards` "
                        "value.forward_layer.go_backwards = %s,backward_layer.go_backwards = %s",
                        fg ? "True" : "False", bg ? "True" : "False");
    static const char *const common[] = {"stateful", "return_sequences", "return_state"};
    for (int i = 0; i < 3; i++) {
        int fv = config_flag(f, common[i]), bv = config_flag(b, common[i]);
        if (fv != bv)
            return ck_error(CK_VALUE_ERROR, "Forward layer and backward layer are expected to have the same value "
                            "for attribute \"%s\", got \"%s\" for forward layer and \"%s\" for backward layer",
                            common[i], fv ? "True" : "False", bv ? "True" : "False");
    }
    return CK_OK;
}

/* Fills a created Bidirectional from the wrapped layer's config `tmpl` and
 * an optional backward layer (a reference is taken); frees `layer` on
 * error. */
static ck_status finish(ck_layer *layer, const json_t *tmpl, ck_layer *backward, enum merge_mode mode,
                        ck_layer **out)
{
    bidi_layer *b = (bidi_layer *)layer;
    json_t *flipped = NULL, *fcfg = NULL, *bcfg = NULL;
    ck_status st = CK_OK;
    b->mode = mode;
    if (st == CK_OK) {
        b->layer_config = json_deep_copy(tmpl);
        if (!b->layer_config) st = ck_oom("a Bidirectional config");
    }
    /* tf.keras forces zero_output_for_mask = return_sequences on both
     * inner layers: masked steps of the sequences are zeros. */
    int seq = config_flag(tmpl, "return_sequences");
    json_t *fwd_tmpl = json_deep_copy(tmpl);
    if (st == CK_OK && !fwd_tmpl) st = ck_oom("a Bidirectional config");
    if (st == CK_OK) st = ck_wrap_set_zero_output_for_mask(fwd_tmpl, seq);
    if (st == CK_OK) st = ck_layer_from_json(fwd_tmpl, &b->fwd);
    json_decref(fwd_tmpl);
    if (st == CK_OK && backward) {
        ck_layer_retain(backward);
        b->bwd = backward;
        st = ck_layer_config_json(backward, &b->backward_config);
        if (backward->cls->call_masked == ck_rnn_call_masked)
            ((ck_rnn_layer *)backward)->a.zero_output_for_mask = seq;
    } else if (st == CK_OK) {
        flipped = json_deep_copy(tmpl);
        json_t *c = flipped ? json_object_get(flipped, "config") : NULL;
        if (!c) st = flipped ? ck_error(CK_VALUE_ERROR, "Bidirectional: the wrapped layer has no config")
                             : ck_oom("a Bidirectional config");
        else if (json_object_set_new(c, "go_backwards", json_boolean(!config_flag(tmpl, "go_backwards"))) != 0)
            st = ck_oom("a Bidirectional config");
        if (st == CK_OK) st = ck_wrap_set_zero_output_for_mask(flipped, seq);
        if (st == CK_OK) st = ck_layer_from_json(flipped, &b->bwd);
    }
    if (st == CK_OK) st = ck_wrap_prefix_name(b->fwd, "forward_");
    if (st == CK_OK) st = ck_wrap_prefix_name(b->bwd, "backward_");
    if (st == CK_OK) st = ck_layer_config_json(b->fwd, &fcfg);
    if (st == CK_OK) st = ck_layer_config_json(b->bwd, &bcfg);
    if (st == CK_OK) st = verify(fcfg, bcfg);
    if (st == CK_OK && (b->fwd->dtype != layer->dtype || b->bwd->dtype != layer->dtype))
        st = ck_error(CK_NOT_IMPLEMENTED, "Bidirectional \"%s\" computes in %s but its layers in %s and %s",
                      layer->name, ck_dtype_name(layer->dtype), ck_dtype_name(b->fwd->dtype),
                      ck_dtype_name(b->bwd->dtype));
    if (st == CK_OK && (ck_layer_outputs_of(b->fwd) > BIDI_MAX_INNER || ck_layer_outputs_of(b->bwd) > BIDI_MAX_INNER))
        st = ck_error(CK_NOT_IMPLEMENTED, "Bidirectional \"%s\": the wrapped layers return more than %d tensors",
                      layer->name, BIDI_MAX_INNER);
    if (st == CK_OK) {
        b->return_sequences = config_flag(fcfg, "return_sequences");
        b->time_major = config_flag(fcfg, "time_major");
        if (!json_object_get(json_object_get(fcfg, "config"), "go_backwards"))
            st = ck_error(CK_VALUE_ERROR, "Bidirectional \"%s\": the wrapped layer (%s) is not a recurrent layer",
                          layer->name, b->fwd->cls->class_name);
    }
    json_decref(flipped);
    json_decref(fcfg);
    json_decref(bcfg);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    layer->spec = (ck_input_spec){.ndim = 3};
    *out = layer;
    return CK_OK;
}


ck_status ck_bidirectional(ck_layer **out, ck_layer *layer, const ck_bidirectional_opts *opts)
{
    CK_NEED(out);
    CK_NEED(layer);
    static const ck_bidirectional_opts none = {0};
    const ck_bidirectional_opts *o = opts ? opts : &none;
    enum merge_mode mode = MERGE_CONCAT;
    if (o->merge_mode) {
        json_t *m = json_string(o->merge_mode);
        if (!m) return ck_oom("a merge mode");
        ck_status st = parse_mode(m, &mode);
        json_decref(m);
        CK_TRY(st);
    }
    json_t *tmpl = NULL;
    CK_TRY(ck_layer_config_json(layer, &tmpl));
    ck_layer *made = NULL;
    ck_status st = CK_ARG_CREATE(&ck_bidirectional_class, o, &made);
    if (st == CK_OK) st = finish(made, tmpl, o->backward_layer, mode, out);
    json_decref(tmpl);
    return st;
}

static ck_status bidi_from_config(const json_t *c, ck_layer **out)
{
    static const char *const known[] = {"layer", "merge_mode", "backward_layer", "num_constants", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "Bidirectional config must be a JSON object");
    const json_t *nc = json_object_get(c, "num_constants");
    if (nc && !json_is_null(nc) && !(json_is_integer(nc) && json_integer_value(nc) == 0))
        return ck_error(CK_NOT_IMPLEMENTED, "Bidirectional with constants (num_constants) is not supported");
    const json_t *tmpl = json_object_get(c, "layer");
    if (!json_is_object(tmpl))
        return ck_error(CK_VALUE_ERROR, "Bidirectional config: `layer` must be a layer config");
    enum merge_mode mode;
    CK_TRY(parse_mode(json_object_get(c, "merge_mode"), &mode));
    ck_layer *backward = NULL, *layer = NULL;
    const json_t *bc = json_object_get(c, "backward_layer");
    if (bc && !json_is_null(bc)) CK_TRY(ck_wrap_inner_from_config("Bidirectional", c, "backward_layer", &backward));
    ck_status st = ck_layer_create_from_config(&ck_bidirectional_class, c, known, &layer);
    if (st == CK_OK) st = finish(layer, tmpl, backward, mode, out);
    if (backward) ck_layer_free(backward); /* finish took its own reference */
    return st;
}

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
                            "backward output %s differ", layer->name, merge_names[b->mode],
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

static ck_status bidi_get_config(const ck_layer *layer, json_t *j)
{
    const bidi_layer *b = (const bidi_layer *)layer;
    ck_status st = ck_json_set(j, "layer", ck_tf2_dtypes_copy(b->layer_config));
    if (st == CK_OK) st = ck_json_set(j, "merge_mode", b->mode == MERGE_NONE ? json_null() : json_string(merge_names[b->mode]));
    if (st == CK_OK && b->backward_config) st = ck_json_set(j, "backward_layer", ck_tf2_dtypes_copy(b->backward_config));
    return st;
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

/* ---- merging ------------------------------------------------------------------- */

/* The shape of the two halves and how their rows pair: output row r takes
 * forward row r and backward row rev(r) (the backward sequence is in
 * reverse time order). */
typedef struct pairing {
    int64_t rows, a0, a1, u1, u2;
    int reverse, time_axis;
} pairing;

static pairing pairing_of(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2)
{
    pairing p = {.u1 = y1->shape[y1->rank - 1], .u2 = y2->shape[y2->rank - 1], .reverse = b->return_sequences,
                 .time_axis = b->time_major ? 0 : 1};
    p.a0 = y1->shape[0];
    p.a1 = y1->rank == 3 ? y1->shape[1] : 1;
    p.rows = p.a0 * p.a1;
    return p;
}

static int64_t rev_row(const pairing *p, int64_t r)
{
    if (!p->reverse) return r;
    int64_t i0 = r / p->a1, i1 = r % p->a1;
    return p->time_axis == 1 ? i0 * p->a1 + (p->a1 - 1 - i1) : (p->a0 - 1 - i0) * p->a1 + i1;
}

/* out[0] = the merge of y1 and y2 (merge_mode None: out[0] = y1 and out[1]
 * = y2 with its rows in time order). */
static void merge(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2, ck_tensor *const *out)
{
    pairing p = pairing_of(b, y1, y2);
    CK_RNN_TYPED(out[0]->dtype, {
        const real *f = y1->data, *g = y2->data;
        real *o = out[0]->data;
        for (int64_t r = 0; r < p.rows; r++) {
            const real *fr = f + r * p.u1, *gr = g + rev_row(&p, r) * p.u2;
            if (b->mode == MERGE_NONE) {
                memcpy(o + r * p.u1, fr, (size_t)p.u1 * sizeof(real));
                memcpy((real *)out[1]->data + r * p.u2, gr, (size_t)p.u2 * sizeof(real));
                continue;
            }
            if (b->mode == MERGE_CONCAT) {
                real *orow = o + r * (p.u1 + p.u2);
                memcpy(orow, fr, (size_t)p.u1 * sizeof(real));
                memcpy(orow + p.u1, gr, (size_t)p.u2 * sizeof(real));
                continue;
            }
            real *orow = o + r * p.u1;
            for (int64_t u = 0; u < p.u1; u++)
                orow[u] = b->mode == MERGE_SUM ? fr[u] + gr[u]
                          : b->mode == MERGE_MUL ? fr[u] * gr[u]
                                                 : (fr[u] + gr[u]) / 2;
        }
    });
}

/* d y1 and d y2 (the backward rows in their own order) from the merged
 * outputs' gradients dout[0] (and dout[1] with merge_mode None). */
static void merge_grad(const bidi_layer *b, const ck_tensor *y1, const ck_tensor *y2, const ck_tensor *dout,
                       ck_tensor *d1, ck_tensor *d2)
{
    pairing p = pairing_of(b, y1, y2);
    CK_RNN_TYPED(dout[0].dtype, {
        const real *f = y1->data, *g = y2->data, *d = dout[0].data;
        real *df = d1->data, *dg = d2->data;
        for (int64_t r = 0; r < p.rows; r++) {
            int64_t q = rev_row(&p, r);
            real *dfr = df + r * p.u1, *dgr = dg + q * p.u2;
            if (b->mode == MERGE_NONE) {
                memcpy(dfr, d + r * p.u1, (size_t)p.u1 * sizeof(real));
                memcpy(dgr, (const real *)dout[1].data + r * p.u2, (size_t)p.u2 * sizeof(real));
                continue;
            }
            if (b->mode == MERGE_CONCAT) {
                const real *drow = d + r * (p.u1 + p.u2);
                memcpy(dfr, drow, (size_t)p.u1 * sizeof(real));
                memcpy(dgr, drow + p.u1, (size_t)p.u2 * sizeof(real));
                continue;
            }
            const real *drow = d + r * p.u1, *fr = f + r * p.u1, *gr = g + q * p.u2;
            for (int64_t u = 0; u < p.u1; u++) {
                if (b->mode == MERGE_SUM) dfr[u] = dgr[u] = drow[u];
                else if (b->mode == MERGE_AVE) dfr[u] = dgr[u] = drow[u] / 2;
                else dfr[u] = drow[u] * gr[u], dgr[u] = drow[u] * fr[u];
            }
        }
    });
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
                            ck_tensor *const *out, void *scratch)
{
    if (mask && inner->cls->call_masked) return ck_layer_call_planned_masked(inner, n, in, mask, out, scratch);
    return ck_layer_call_planned(inner, n, in, out, scratch);
}

static ck_status bidi_call_masked(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *mask,
                                  ck_tensor *const *out, void *scratch)
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
    CK_TRY(inner_call(b->fwd, sp.nf, sp.f, mask, o.f, inner));
    CK_TRY(inner_call(b->bwd, sp.nb, sp.r, mask, o.r, inner));
    merge(b, &y1, &y2, out);
    return CK_OK;
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
    merge(b, &v.y1, &v.y2, out);
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
    merge_grad(b, &v.y1, &v.y2, dout, &v.d1, &v.d2);
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
    .get_config = bidi_get_config,
    .from_config = bidi_from_config,
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
