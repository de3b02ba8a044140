/* model.to_json() / model_from_json(): the tf.keras 2.x wrapper with
 * keras_version and backend; reads also Keras 1/2, Keras 3 and TF.js
 * model.json topologies. */
#include <string.h>

#include "core/json.h"
#include "core/limits.h"
#include "model/model.h"
#include "model/model_limits.h"
#include "params/dialect.h"

/* The keras_version ckeras writes: the tf.keras release whose formats it
 * reproduces. */
#define CK_WRITES_KERAS_VERSION "2.15.0"

ck_status ck_model_wrapper_json(const ck_model *m, int with_versions, json_t **out)
{
    json_t *config = NULL, *w = json_object();
    if (!w) return ck_oom("a model config");
    ck_status st = ck_model_config_json(m, &config);
    if (st == CK_OK) st = ck_json_set(w, "class_name", json_string(ck_model_class_name(m)));
    if (st == CK_OK) {
        st = ck_json_set(w, "config", config);
        config = NULL;
    }
    if (st == CK_OK && with_versions) st = ck_json_set(w, "keras_version", json_string(CK_WRITES_KERAS_VERSION));
    if (st == CK_OK && with_versions) st = ck_json_set(w, "backend", json_string("tensorflow"));
    json_decref(config);
    if (st != CK_OK) {
        json_decref(w);
        return st;
    }
    *out = w;
    return CK_OK;
}

ck_status ck_model_to_json(const ck_model *m, char **out)
{
    CK_NEED(m);
    CK_NEED(out);
    json_t *w = NULL;
    unsigned long before = ck_alloc_failures();
    CK_TRY(ck_alloc_verdict(before, ck_model_wrapper_json(m, 1, &w), "model JSON"));
    char *text = ck_json_dumps_python(w);
    json_decref(w);
    /* jansson may have dropped a key after a failed allocation */
    if (!text || ck_alloc_failures() != before) {
        ck_free(text);
        return ck_oom("model JSON");
    }
    *out = text;
    return CK_OK;
}

ck_status ck_model_from_json_value(const json_t *root, ck_model **out)
{
    CK_TRY(ck_config_check_limits(root, "model config"));
    const json_t *w = root;
    /* TF.js model.json: {"modelTopology": {...}, "weightsManifest": ...};
     * older TF.js nests the topology under "model_config". */
    if (json_is_object(json_object_get(w, "modelTopology"))) w = json_object_get(w, "modelTopology");
    if (json_is_object(json_object_get(w, "model_config"))) w = json_object_get(w, "model_config");
    const char *cls = json_string_value(json_object_get(w, "class_name"));
    if (!cls) return ck_error(CK_FORMAT_ERROR, "model JSON has no \"class_name\"");
    ck_layer *layer = NULL;
    /* tf.keras' to_json() names its keras_version (Keras 3's does not;
     * ck_layer_from_json looks for its marks) */
    const char *version = json_string_value(json_object_get(w, "keras_version"));
    const int from_version = ck_dialect_current() == CK_DIALECT_UNKNOWN && version;
    ck_dialect outer = from_version ? ck_dialect_begin(ck_dialect_of_version(version)) : CK_DIALECT_UNKNOWN;
    ck_status st = ck_layer_from_json(w, &layer);
    if (from_version) ck_dialect_end(outer);
    CK_TRY(st);
    ck_model *m = ck_layer_as_model(layer);
    if (!m) {
        ck_layer_free(layer);
        return ck_error(CK_FORMAT_ERROR, "model JSON describes a %s layer, not a model (Functional, Model or "
                        "Sequential)", cls);
    }
    *out = m;
    return CK_OK;
}

ck_status ck_model_from_json(const char *json, ck_model **out)
{
    CK_NEED(json);
    CK_NEED(out);
    json_error_t err;
    if (!json || !out) return ck_error(CK_VALUE_ERROR, "ck_model_from_json: NULL argument");
    CK_TRY(ck_config_check_size(strlen(json), "model JSON"));
    unsigned long before = ck_alloc_failures();
    json_t *root = json_loads(json, JSON_ALLOW_NUL, &err);
    /* a failed allocation reads as a syntax error, or a truncated string */
    if (ck_alloc_failures() != before) {
        json_decref(root);
        return ck_oom("model JSON");
    }
    if (!root) return ck_error(CK_FORMAT_ERROR, "model JSON is not valid JSON: %s (line %d, column %d)", err.text,
                               err.line, err.column);
    ck_model *m = NULL;
    int scope = ck_load_scope_begin(); /* CK_LIMIT_WEIGHT_BYTES */
    ck_status st = ck_alloc_verdict(before, ck_model_from_json_value(root, &m), "model JSON");
    ck_load_scope_end(scope);
    json_decref(root);
    if (st != CK_OK) {
        if (m) ck_model_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}
