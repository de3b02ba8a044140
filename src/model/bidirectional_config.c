/* Making a Bidirectional (bidirectional.h): from the C options or
 * tf.keras' config, the backward layer as tf.keras derives it (or the one
 * given), Keras' checks of the pair, and the config written back. */
#include <string.h>

#include "layers/rnn_common.h"
#include "model/bidirectional.h"
#include "model/tf2_dtypes.h"

const char *const ck_bidi_merge_names[4] = {"concat", "sum", "mul", "ave"};

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
        if (strcmp(s, ck_bidi_merge_names[i]) == 0) {
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

ck_status ck_bidi_from_config(const json_t *c, ck_layer **out)
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

ck_status ck_bidi_get_config(const ck_layer *layer, json_t *j)
{
    const bidi_layer *b = (const bidi_layer *)layer;
    ck_status st = ck_json_set(j, "layer", ck_tf2_dtypes_copy(b->layer_config));
    if (st == CK_OK)
        st = ck_json_set(j, "merge_mode",
                         b->mode == MERGE_NONE ? json_null() : json_string(ck_bidi_merge_names[b->mode]));
    if (st == CK_OK && b->backward_config) st = ck_json_set(j, "backward_layer", ck_tf2_dtypes_copy(b->backward_config));
    return st;
}
