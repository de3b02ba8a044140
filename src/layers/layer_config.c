/* get_config / from_config of the base layer, the class registry, and the
 * JSON helpers that layer files share. */
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"

/* Every class ckeras implements; io/ and model/ reach layers only through
 * this table. */
/* ---- JSON helpers -------------------------------------------------------- */

ck_status ck_json_set(json_t *obj, const char *key, json_t *value)
{
    if (!value || json_object_set_new(obj, key, value) != 0) return ck_oom("a config entry");
    return CK_OK;
}

ck_status ck_json_to_shape(const json_t *j, const char *what, ck_shape *out)
{
    if (!json_is_array(j))
        return ck_error(CK_VALUE_ERROR, "%s must be a list of dims, got a JSON %s", what,
                        json_is_object(j) ? "object" : json_is_string(j) ? "string" : "scalar");
    size_t n = json_array_size(j);
    if (n > CK_MAX_RANK) return ck_error(CK_VALUE_ERROR, "%s has rank %zu, more than %d", what, n, CK_MAX_RANK);
    ck_shape s = {(int)n, {0}};
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(j, i);
        if (json_is_null(d)) s.dims[i] = -1;
        else if (json_is_integer(d) && json_integer_value(d) >= 0) s.dims[i] = json_integer_value(d);
        else return ck_error(CK_VALUE_ERROR, "%s: dim %zu is not a non-negative int or null", what, i);
    }
    *out = s;
    return CK_OK;
}

json_t *ck_shape_to_json(const ck_shape *s)
{
    json_t *a = json_array();
    for (int i = 0; a && i < s->rank; i++) {
        json_t *d = s->dims[i] < 0 ? json_null() : json_integer(s->dims[i]);
        if (json_array_append_new(a, d) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* ---- get_config ------------------------------------------------------------ */

ck_status ck_layer_get_config(const ck_layer *layer, char **out)
{
    CK_NEED(layer);
    CK_NEED(out);
    json_t *wrapper = NULL;
    CK_TRY(ck_layer_config_json(layer, &wrapper));
    char *text = ck_json_dumps_python(wrapper);
    json_decref(wrapper);
    if (!text) return ck_oom("config text");
    *out = text;
    return CK_OK;
}

ck_status ck_layer_config_json(const ck_layer *layer, json_t **out)
{
    json_t *wrapper = json_object(), *config = json_object();
    ck_status st = (wrapper && config) ? CK_OK : ck_oom("a config");
    /* tf.keras 2.11+ key order: name, trainable, dtype, batch_input_shape. */
    if (st == CK_OK) st = ck_json_set(config, "name", json_string(layer->name));
    if (st == CK_OK) st = ck_json_set(config, "trainable", json_boolean(layer->trainable));
    if (st == CK_OK) st = ck_json_set(config, "dtype", json_string(ck_dtype_name(layer->dtype)));
    if (st == CK_OK && layer->has_batch_input_shape)
        st = ck_json_set(config, "batch_input_shape", ck_shape_to_json(&layer->batch_input_shape));
    if (st == CK_OK && layer->cls->get_config) st = layer->cls->get_config(layer, config);
    if (st == CK_OK) st = ck_json_set(wrapper, "class_name", json_string(layer->cls->class_name));
    if (st == CK_OK) {
        st = ck_json_set(wrapper, "config", config);
        config = NULL; /* stolen, even on failure */
    }
    json_decref(config);
    if (st != CK_OK) {
        json_decref(wrapper);
        return st;
    }
    *out = wrapper;
    return CK_OK;
}

/* ---- from_config ------------------------------------------------------------ */

static ck_status parse_dtype(const json_t *j, ck_dtype *out)
{
    const char *name = NULL;
    if (json_is_null(j)) {
        *out = CK_FLOAT32;
        return CK_OK;
    }
    if (json_is_string(j)) {
        name = json_string_value(j);
    } else if (json_is_object(j)) {
        /* Keras 3.4+ DTypePolicy dict: {"class_name": "DTypePolicy",
         * "config": {"name": "float32"}}. */
        const json_t *cfg = json_object_get(j, "config");
        name = json_string_value(json_object_get(cfg, "name"));
    }
    if (!name) return ck_error(CK_VALUE_ERROR, "config: dtype must be a string or a DTypePolicy");
    if (strcmp(name, "mixed_float16") == 0 || strcmp(name, "mixed_bfloat16") == 0 ||
        strcmp(name, "float16") == 0 || strcmp(name, "bfloat16") == 0)
        return ck_error(CK_NOT_IMPLEMENTED, "dtype policy '%s' is not supported: ckeras computes in "
                        "float32 or float64", name);
    return ck_dtype_from_name(name, out);
}

static int in_list(const char *key, const char *const *list)
{
    for (int i = 0; list && list[i]; i++)
        if (strcmp(list[i], key) == 0) return 1;
    return 0;
}

ck_status ck_layer_create_from_config(const ck_layer_class *cls, const json_t *config,
                                      const char *const *known, ck_layer **out)
{
    static const char *const base_keys[] = {"name", "trainable", "dtype", "batch_input_shape",
                                            "batch_shape", "input_dim", "input_shape", "batch_size",
                                            "activity_regularizer", "input_dtype", NULL};
    if (!json_is_object(config))
        return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", cls->class_name);
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)config, key, value) {
        if (!in_list(key, base_keys) && !in_list(key, known))
            return ck_error(CK_TYPE_ERROR, "Keyword argument not understood: '%s' (in a %s config)",
                            key, cls->class_name);
    }
    const json_t *jname = json_object_get(config, "name");
    if (jname && !json_is_string(jname) && !json_is_null(jname))
        return ck_error(CK_TYPE_ERROR, "Expected `name` argument to be a string, but got a non-string");
    const json_t *jtrain = json_object_get(config, "trainable");
    if (jtrain && !json_is_boolean(jtrain))
        return ck_error(CK_TYPE_ERROR, "Expected `trainable` argument to be a boolean");
    ck_dtype dtype = CK_FLOAT32;
    if (json_object_get(config, "dtype")) CK_TRY(parse_dtype(json_object_get(config, "dtype"), &dtype));

    ck_shape input_shape = {0, {0}};
    int64_t batch_size = 0;
    const json_t *bis = json_object_get(config, "batch_input_shape");
    if (!bis || json_is_null(bis)) bis = json_object_get(config, "batch_shape");
    const json_t *ishape = json_object_get(config, "input_shape");
    const json_t *idim = json_object_get(config, "input_dim");
    if (bis && !json_is_null(bis)) {
        ck_shape full;
        CK_TRY(ck_json_to_shape(bis, "batch_input_shape", &full));
        if (full.rank < 1) return ck_error(CK_VALUE_ERROR, "batch_input_shape must have a batch dim");
        batch_size = full.dims[0] > 0 ? full.dims[0] : 0;
        input_shape.rank = full.rank - 1;
        for (int i = 1; i < full.rank; i++) input_shape.dims[i - 1] = full.dims[i];
    } else if (ishape && !json_is_null(ishape)) {
        CK_TRY(ck_json_to_shape(ishape, "input_shape", &input_shape));
    } else if (idim && !json_is_null(idim)) {
        if (!json_is_integer(idim) || json_integer_value(idim) < 0)
            return ck_error(CK_VALUE_ERROR, "input_dim must be a non-negative int");
        input_shape.rank = 1;
        input_shape.dims[0] = json_integer_value(idim);
    }
    const json_t *bsz = json_object_get(config, "batch_size");
    if (json_is_integer(bsz)) batch_size = json_integer_value(bsz);

    char *act_reg = NULL;
    const json_t *jreg = json_object_get(config, "activity_regularizer");
    if (jreg && !json_is_null(jreg)) {
        act_reg = json_dumps(jreg, JSON_ENCODE_ANY);
        if (!act_reg) return ck_oom("activity_regularizer");
    }
    ck_status st = ck_layer_create(cls, json_string_value(jname),
                                   !json_is_false(jtrain), dtype,
                                   &input_shape, batch_size, act_reg, out);
    ck_free(act_reg); /* jansson allocates through ckeras' allocator */
    return st;
}
