/* Keras 3 dtype policies (and initializer options) in nested configs,
 * written as tf.keras 2.x writes them (see tf2_dtypes.h). */
#include <string.h>

#include "model/tf2_dtypes.h"

/* The policy's name ("float32"), or NULL when `j` is not a policy. */
static const char *policy_name(const json_t *j)
{
    const char *cls = json_string_value(json_object_get(j, "class_name"));
    if (!cls || !strstr(cls, "DTypePolicy")) return NULL;
    return json_string_value(json_object_get(json_object_get(j, "config"), "name"));
}

static int rewrite(json_t *j)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (!rewrite(json_array_get(j, i))) return 0;
        return 1;
    }
    if (!json_is_object(j)) return 1;
    /* Keras 3.15's variance-scaling initializers (GlorotUniform, ...) add
     * input_axes / output_axes, which tf.keras 2.x's do not take; null is
     * their default (fan in / out from the kernel's shape, as tf.keras). */
    json_t *ic = json_is_string(json_object_get(j, "class_name")) ? json_object_get(j, "config") : NULL;
    static const char *const k3_only[] = {"input_axes", "output_axes"};
    for (int i = 0; i < 2 && json_is_object(ic); i++)
        if (json_is_null(json_object_get(ic, k3_only[i]))) json_object_del(ic, k3_only[i]);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v) {
        const char *name = strcmp(key, "dtype") == 0 ? policy_name(v) : NULL;
        if (name) {
            if (json_object_set_new(j, key, json_string(name))) return 0;
        } else if (!rewrite(v)) {
            return 0;
        }
    }
    return 1;
}

json_t *ck_tf2_dtypes_copy(const json_t *config)
{
    json_t *copy = json_deep_copy(config);
    if (copy && !rewrite(copy)) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}
