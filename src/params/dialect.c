/* The Keras dialect of the config being read (see dialect.h). */
#include <string.h>

#include "params/dialect.h"

static _Thread_local ck_dialect current = CK_DIALECT_UNKNOWN;

ck_dialect ck_dialect_current(void) { return current; }

ck_dialect ck_dialect_begin(ck_dialect d)
{
    ck_dialect previous = current;
    current = d;
    return previous;
}

void ck_dialect_end(ck_dialect previous) { current = previous; }

ck_dialect ck_dialect_of_version(const char *v)
{
    if (!v || !*v) return CK_DIALECT_UNKNOWN;
    return v[0] == '3' && v[1] == '.' ? CK_DIALECT_KERAS3 : CK_DIALECT_KERAS2;
}

/* Keras 3's dtype policies ({"class_name": "DTypePolicy", ...});
 * tf.keras' mixed precision policy is "Policy". */
static int k3_dtype(const json_t *config)
{
    const char *cls = json_string_value(json_object_get(json_object_get(config, "dtype"), "class_name"));
    return cls && strstr(cls, "DTypePolicy") != NULL;
}

static int k3_module(const json_t *wrapper)
{
    const char *m = json_string_value(json_object_get(wrapper, "module"));
    return m && (strcmp(m, "keras") == 0 || strncmp(m, "keras.src.models.", 17) == 0);
}

ck_dialect ck_dialect_detect(const json_t *wrapper)
{
    const json_t *config = json_object_get(wrapper, "config");
    if (k3_module(wrapper) || k3_dtype(config)) return CK_DIALECT_KERAS3;
    const json_t *layers = json_object_get(config, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *l = json_array_get(layers, i);
        if (k3_dtype(json_object_get(l, "config"))) return CK_DIALECT_KERAS3;
        if (json_is_object(json_array_get(json_object_get(l, "inbound_nodes"), 0))) return CK_DIALECT_KERAS3;
    }
    return CK_DIALECT_UNKNOWN;
}
