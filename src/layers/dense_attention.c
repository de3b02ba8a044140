/* keras.layers.Attention and AdditiveAttention: options, configs, build,
 * output shape and call keyword arguments (use_causal_mask).  The
 * arithmetic is in dense_attention_run.c. */
#include <string.h>

#include "layers/attention_math.h"
#include "layers/dense_attention.h"
#include "layers/normattn_classes.h"

static ck_status da_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_da_layer *l = (ck_da_layer *)layer;
    ck_da_dims d;
    CK_TRY(ck_da_dims_of(l, n, shapes, &d));
    ck_initializer *ones = NULL, *glorot = NULL;
    ck_weight *scale = NULL, *cw = NULL;
    ck_status st = ck_initializer_new(&ones, "ones");
    if (st == CK_OK) st = ck_initializer_new(&glorot, "glorot_uniform");
    if (st == CK_OK && l->use_scale) {
        if (l->score == CK_DA_ADDITIVE) {
            if (d.Dv < 0)
                st = ck_error(CK_VALUE_ERROR, "AdditiveAttention layer \"%s\": the value's last dim must be known "
                              "to build", layer->name);
            else
                st = ck_layer_add_weight_with(layer, "scale", &(ck_shape){1, {d.Dv}}, layer->dtype, glorot, NULL,
                                              NULL, true, &scale);
        } else {
            st = ck_layer_add_weight_with(layer, "scale", &(ck_shape){0, {0}}, layer->dtype, ones, NULL, NULL, true,
                                          &scale);
        }
    }
    if (st == CK_OK && l->score == CK_DA_CONCAT)
        st = ck_layer_add_weight_with(layer, "concat_score_weight", &(ck_shape){0, {0}}, layer->dtype, ones, NULL,
                                      NULL, true, &cw);
    ck_initializer_free(ones);
    ck_initializer_free(glorot);
    if (st != CK_OK) return st; /* the base drops the weights added so far */
    l->scale = scale, l->concat_weight = cw;
    return CK_OK;
}

static int l_scores(const ck_layer *layer) { return ((const ck_da_layer *)layer)->return_scores; }

int ck_da_output_count(const ck_layer *layer) { return 1 + l_scores(layer); }

static ck_status da_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    ck_da_dims d;
    CK_TRY(ck_da_dims_of((const ck_da_layer *)layer, n, in, &d));
    const int r = in[0].rank;
    out[0] = in[0];
    out[0].dims[r - 1] = d.Dv;
    if (l_scores(layer)) {
        out[1] = in[0];
        out[1].dims[r - 1] = in[1].dims[r - 2]; /* (batch..., Tq, Tv) */
    }
    return CK_OK;
}

static ck_status da_get_config(const ck_layer *layer, json_t *c)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    ck_status st = ck_json_set(c, "dropout", ck_arg_num_json(l->dropout, l->dropout_is_int));
    if (st == CK_OK) st = ck_json_set(c, "use_scale", json_boolean(l->use_scale));
    if (st == CK_OK && l->score != CK_DA_ADDITIVE)
        st = ck_json_set(c, "score_mode", json_string(l->score == CK_DA_CONCAT ? "concat" : "dot"));
    return st;
}

static ck_status check_dropout(const char *cls, double rate)
{
    if (!(rate >= 0 && rate <= 1))
        return ck_error(CK_VALUE_ERROR, "%s: dropout must be in [0, 1], got %g", cls, rate);
    return CK_OK;
}

static ck_status parse_mode(const char *mode, ck_da_score *out)
{
    if (!mode || !strcmp(mode, "dot")) *out = CK_DA_DOT;
    else if (!strcmp(mode, "concat")) *out = CK_DA_CONCAT;
    else
        return ck_error(CK_VALUE_ERROR, "Received: score_mode=%s. Acceptable values are: [\"dot\", \"concat\"]",
                        mode);
    return CK_OK;
}

static void fill(ck_layer *layer, const ck_da_layer *a)
{
    ck_da_layer *l = (ck_da_layer *)layer;
    ck_layer keep = *layer;
    *l = *a;
    l->base = keep;
}

ck_status ck_attention(ck_layer **out, const ck_attention_opts *o)
{
    CK_NEED(out);
    static const ck_attention_opts defaults;
    if (!o) o = &defaults;
    ck_da_layer a = {.use_scale = o->use_scale, .dropout = o->dropout};
    CK_TRY(parse_mode(o->score_mode, &a.score));
    CK_TRY(check_dropout("Attention", o->dropout));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_attention_class, o, &layer));
    fill(layer, &a);
    *out = layer;
    return CK_OK;
}

ck_status ck_additive_attention(ck_layer **out, const ck_additive_attention_opts *o)
{
    CK_NEED(out);
    static const ck_additive_attention_opts defaults;
    if (!o) o = &defaults;
    ck_da_layer a = {.score = CK_DA_ADDITIVE, .use_scale = !o->no_scale, .dropout = o->dropout};
    CK_TRY(check_dropout("AdditiveAttention", o->dropout));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_additive_attention_class, o, &layer));
    fill(layer, &a);
    *out = layer;
    return CK_OK;
}

/* tf.keras 2.x keys, the deprecated `causal` (tf.keras < 2.10 configs) and
 * Keras 3's seed. */
static ck_status da_from_config_as(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"dropout", "use_scale", "score_mode", "causal", "seed", NULL};
    static const char *const add_keys[] = {"dropout", "use_scale", "causal", "seed", NULL};
    const int additive = cls == &ck_additive_attention_class;
    const char *name = cls->class_name;
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", name);
    ck_da_layer a = {.score = additive ? CK_DA_ADDITIVE : CK_DA_DOT, .use_scale = additive};
    CK_TRY(ck_arg_number(json_object_get(c, "dropout"), name, "dropout", &a.dropout, &a.dropout_is_int));
    CK_TRY(check_dropout(name, a.dropout));
    CK_TRY(ck_arg_bool(json_object_get(c, "use_scale"), name, "use_scale", &a.use_scale));
    CK_TRY(ck_arg_bool(json_object_get(c, "causal"), name, "causal", &a.config_causal));
    CK_TRY(ck_arg_int(json_object_get(c, "seed"), name, "seed", &a.seed, &a.has_seed));
    if (!additive) {
        const json_t *m = json_object_get(c, "score_mode");
        if (m && !json_is_null(m) && !json_is_string(m))
            return ck_error(CK_TYPE_ERROR, "Attention config: score_mode must be a string");
        CK_TRY(parse_mode(json_string_value(m), &a.score));
    }
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, additive ? add_keys : keys, &layer));
    fill(layer, &a);
    *out = layer;
    return CK_OK;
}

static ck_status attention_from_config(const json_t *c, ck_layer **out)
{
    return da_from_config_as(&ck_attention_class, c, out);
}

static ck_status additive_from_config(const json_t *c, ck_layer **out)
{
    return da_from_config_as(&ck_additive_attention_class, c, out);
}

/* The call's keyword arguments: use_causal_mask, return_attention_scores
 * and `mask` ([query_mask, value_mask(, key_mask)], entries null or a
 * tensor the loader appends as an input). */
static ck_status da_node_kwargs(ck_layer *layer, const json_t *kwargs)
{
    ck_da_layer *l = (ck_da_layer *)layer;
    int causal = 0, scores = 0, given[3] = {0, 0, 0};
    const char *name = layer->cls->class_name;
    if (!json_is_object(kwargs)) return CK_OK;
    CK_TRY(ck_arg_bool(json_object_get(kwargs, "use_causal_mask"), name, "use_causal_mask", &causal));
    CK_TRY(ck_arg_bool(json_object_get(kwargs, "return_attention_scores"), name, "return_attention_scores",
                       &scores));
    const json_t *mask = json_object_get(kwargs, "mask");
    const int mask_arg = mask && !json_is_null(mask);
    if (mask_arg && (!json_is_array(mask) || json_array_size(mask) < 2 || json_array_size(mask) > 3))
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": mask must be a list of length 2, namely [query_mask, "
                        "value_mask]", name, layer->name);
    for (size_t i = 0; mask_arg && i < json_array_size(mask); i++) given[i] = !json_is_null(json_array_get(mask, i));
    l->causal = causal;
    l->return_scores = scores;
    l->mask_arg = mask_arg;
    memcpy(l->mask_given, given, sizeof given);
    return CK_OK;
}

/* The output mask is the query mask: the Keras mask of the query passes
 * through, or, with the `mask` argument, its query entry is copied (none
 * when that entry is null), as tf.keras' compute_mask. */
static int da_mask_rule(const ck_layer *layer)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    if (!l->mask_arg) return CK_MASK_PASS;
    return l->mask_given[0] ? CK_MASK_MAKE : CK_MASK_NONE;
}

static ck_shape da_made_mask_shape(const ck_layer *layer, const ck_shape *in0)
{
    (void)layer;
    ck_shape s = *in0;
    s.rank = in0->rank > 0 ? in0->rank - 1 : 0;
    return s;
}

static ck_status da_make_mask(const ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *mask)
{
    ck_da_inputs io;
    CK_TRY(ck_da_input_layout((const ck_da_layer *)layer, n, &io));
    int32_t *m = mask->data;
    for (int64_t i = 0; i < mask->size; i++) m[i] = io.qm >= 0 && i < in[io.qm]->size ? ck_attn_mask_at(in[io.qm], i) : 1;
    return CK_OK;
}

/* A node made from C: its call arguments as tf.keras writes them (the
 * inputs list positional, the options by keyword). */
static ck_status da_record_call(const ck_layer *layer, ck_node *node)
{
    const ck_da_layer *l = (const ck_da_layer *)layer;
    if (!l->causal && !l->return_scores) return CK_OK;
    json_t *extra = json_object();
    ck_status st = extra ? CK_OK : ck_oom("a node's kwargs");
    if (st == CK_OK && l->causal) st = ck_json_set(extra, "use_causal_mask", json_true());
    if (st == CK_OK && l->return_scores) st = ck_json_set(extra, "return_attention_scores", json_true());
    if (st == CK_OK) st = ck_node_record_kwarg_inputs(node, node->n_inputs, NULL, extra);
    json_decref(extra);
    return st;
}

static const char *const da_kwarg_inputs[] = {"mask", NULL};

#define DENSE_ATTENTION_CLASS(NAME, FROM_CONFIG)                                                                   \
    {                                                                                                              \
        .class_name = NAME, .size = sizeof(ck_da_layer), .arity = CK_LIST_OF_INPUTS, .min_inputs = 2,              \
        .max_inputs = 6, .supports_masking = 1, .build = da_build, .compute_output_shape = da_output_shape,        \
        .call = ck_layer_call_own_scratch, .get_config = da_get_config, .from_config = FROM_CONFIG,                \
        .saved_bytes = ck_da_saved_bytes, .train_call = ck_da_train_call, .backward = ck_da_backward,              \
        .call_scratch_bytes = ck_da_call_scratch_bytes, .call_scratch = ck_da_call_scratch,                        \
        .node_kwargs = da_node_kwargs, .output_count = ck_da_output_count, .kwarg_inputs = da_kwarg_inputs,        \
        .call_masks = ck_da_call_masks, .mask_rule = da_mask_rule, .made_mask_shape = da_made_mask_shape,          \
        .make_mask = da_make_mask, .record_call = da_record_call,                                                  \
    }

const ck_layer_class ck_attention_class = DENSE_ATTENTION_CLASS("Attention", attention_from_config);
const ck_layer_class ck_additive_attention_class = DENSE_ATTENTION_CLASS("AdditiveAttention", additive_from_config);
