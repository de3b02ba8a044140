/* Keras 1 / 2.0's legacy `Merge` layer, as found in old config files
 * (e.g. {"mode": "concat", "concat_axis": -1, "mode_type": "raw", ...}).
 * It is read into the equivalent modern layer: concat -> Concatenate,
 * sum -> Add, mul -> Multiply, ave -> Average, max -> Maximum, dot -> Dot;
 * that layer's get_config then writes the modern class.  "cos" and
 * Python-function modes give CK_NOT_IMPLEMENTED. */
#include <string.h>

#include "layers/layer_args.h"

static ck_status not_built(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)n, (void)in, (void)out;
    return ck_error(CK_RUNTIME_ERROR, "layer \"%s\": the legacy Merge class only reads configs", layer->name);
}

static ck_status legacy_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"name", "trainable", "mode", "concat_axis", "dot_axes", "mode_type",
                                       "output_shape", "output_shape_type", "output_mask", "output_mask_type",
                                       "arguments", "node_indices", "tensor_indices", "dtype", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "Merge config must be a JSON object");
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)c, key, value) {
        int known = 0;
        for (int i = 0; keys[i] && !known; i++) known = strcmp(keys[i], key) == 0;
        if (!known)
            return ck_error(CK_TYPE_ERROR, "Keyword argument not understood: '%s' (in a Merge config)", key);
    }
    const json_t *jmode = json_object_get(c, "mode");
    const char *mode = json_is_null(jmode) || !jmode ? "sum" : json_string_value(jmode);
    const char *mode_type = json_string_value(json_object_get(c, "mode_type"));
    if (!mode || (mode_type && strcmp(mode_type, "raw") != 0))
        return ck_error(CK_NOT_IMPLEMENTED, "legacy Merge with a Python function as mode is not supported");
    const json_t *oshape = json_object_get(c, "output_shape"), *omask = json_object_get(c, "output_mask");
    if ((oshape && !json_is_null(oshape)) || (omask && !json_is_null(omask)))
        return ck_error(CK_NOT_IMPLEMENTED, "legacy Merge with an output_shape or output_mask function is not "
                        "supported");

    static const struct { const char *mode; const ck_layer_class *cls; } table[] = {
        {"concat", &ck_concatenate_class}, {"sum", &ck_add_class}, {"mul", &ck_multiply_class},
        {"ave", &ck_average_class}, {"max", &ck_maximum_class}, {"dot", &ck_dot_class}};
    const ck_layer_class *target = NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(mode, table[i].mode) == 0) target = table[i].cls;
    if (!target)
        return ck_error(CK_NOT_IMPLEMENTED, "legacy Merge mode '%s' is not supported (concat, sum, mul, ave, max "
                        "and dot are)", mode);

    const char *cls = target->class_name;
    json_t *inner = json_object();
    ck_status st = inner ? CK_OK : ck_oom("a Merge config");
    const char *copy[] = {"name", "trainable", "dtype"};
    for (int i = 0; st == CK_OK && i < 3; i++) {
        json_t *v = json_object_get(c, copy[i]);
        if (v && !json_is_null(v)) st = ck_json_set(inner, copy[i], json_deep_copy(v));
    }
    if (st == CK_OK && strcmp(cls, "Concatenate") == 0) {
        json_t *ax = json_object_get(c, "concat_axis");
        st = ck_json_set(inner, "axis", ax && !json_is_null(ax) ? json_deep_copy(ax) : json_integer(-1));
    } else if (st == CK_OK && strcmp(cls, "Dot") == 0) {
        json_t *ax = json_object_get(c, "dot_axes");
        st = ck_json_set(inner, "axes", ax && !json_is_null(ax) ? json_deep_copy(ax) : json_integer(-1));
    }
    ck_layer *layer = NULL;
    if (st == CK_OK) st = target->from_config(inner, &layer);
    json_decref(inner);
    if (st != CK_OK) return st;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_merge_legacy_class = {
    .class_name = "Merge",
    .size = sizeof(ck_layer),
    .arity = CK_LIST_OF_INPUTS,
    .min_inputs = 1,
    .max_inputs = CK_MAX_LAYER_INPUTS,
    .compute_output_shape = not_built,
    .from_config = legacy_from_config,
};
