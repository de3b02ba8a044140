/* Unwrapping Keras object wrappers and reading config values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "params/util.h"

const char *ck_params_describe(const json_t *j)
{
    static _Thread_local char buf[128];
    if (!j) return "None";
    size_t n = json_dumpb(j, buf, sizeof buf - 1, JSON_COMPACT | JSON_ENCODE_ANY);
    if (n == 0) return "<unprintable>";
    if (n > sizeof buf - 1) {
        memcpy(buf + sizeof buf - 5, "...", 4);
        return buf;
    }
    buf[n] = '\0';
    return buf;
}

ck_status ck_params_unwrap(const json_t *j, const char *what,
                           const char **name, const json_t **config)
{
    if (json_is_string(j)) {
        *name = json_string_value(j);
        *config = NULL;
        return CK_OK;
    }
    if (json_is_object(j)) {
        const json_t *cls = json_object_get(j, "class_name");
        if (json_is_string(cls)) {
            const json_t *cfg = json_object_get(j, "config");
            *name = json_string_value(cls);
            *config = json_is_null(cfg) ? NULL : cfg;
            return CK_OK;
        }
        const json_t *k1 = json_object_get(j, "name");
        if (!cls && json_is_string(k1)) {
            *name = json_string_value(k1);
            *config = j;
            return CK_OK;
        }
    }
    return ck_error(CK_VALUE_ERROR, "Could not interpret %s identifier: %s",
                    what, ck_params_describe(j));
}

ck_status ck_params_parse(const char *text, const char *what, json_t **out)
{
    char label[64];
    snprintf(label, sizeof label, "malformed %s config JSON", what);
    return ck_json_parse(text, strlen(text), label, out);
}

static int in_list(const char *key, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(key, *list) == 0) return 1;
    return 0;
}

ck_status ck_params_check_keys(const json_t *config, const char *cls,
                               const char *const *allowed,
                               const char *const *ignored)
{
    if (!config) return CK_OK;
    if (!json_is_object(config))
        return ck_error(CK_TYPE_ERROR, "%s config must be a dict, got %s", cls,
                        ck_params_describe(config));
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)config, key, value) {
        (void)value;
        if (!in_list(key, allowed) && !in_list(key, ignored))
            return ck_error(CK_TYPE_ERROR,
                            "%s.__init__() got an unexpected keyword argument '%s'", cls,
                            key);
    }
    return CK_OK;
}

ck_status ck_params_number(const json_t *config, const char *cls,
                           const char *key, int null_ok, double *v,
                           int *is_int)
{
    const json_t *j = config ? json_object_get(config, key) : NULL;
    if (!j || (null_ok && json_is_null(j))) return CK_OK;
    if (json_is_integer(j)) {
        *v = (double)json_integer_value(j);
        if (is_int) *is_int = 1;
        return CK_OK;
    }
    if (json_is_real(j)) {
        *v = json_real_value(j);
        if (is_int) *is_int = 0;
        return CK_OK;
    }
    if (json_is_boolean(j)) {
        *v = json_is_true(j) ? 1.0 : 0.0;
        if (is_int) *is_int = 1;
        return CK_OK;
    }
    return ck_error(CK_VALUE_ERROR, "%s: '%s' must be a number, got %s", cls, key,
                    ck_params_describe(j));
}

json_t *ck_params_num_json(double v, int is_int)
{
    if (is_int && isfinite(v) && v == floor(v) && fabs(v) < 9.2e18)
        return json_integer((json_int_t)v);
    return json_real(v);
}

int ck_params_set(json_t *obj, const char *key, json_t *value)
{
    if (!obj || !value) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}

json_t *ck_params_wrap(const char *cls, json_t *config)
{
    json_t *w = json_object();
    if (!w || !config || ck_params_set(w, "class_name", json_string(cls)) != 0) {
        json_decref(w);
        json_decref(config);
        return NULL;
    }
    if (ck_params_set(w, "config", config) != 0) {
        json_decref(w);
        return NULL;
    }
    return w;
}
