/* Config readers and writers shared by the layer classes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_args.h"

static const char *kind_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an int";
    case JSON_REAL: return "a float";
    case JSON_TRUE:
    case JSON_FALSE: return "a bool";
    default: return "null";
    }
}

const json_t *ck_arg_get2(const json_t *c, const char *k2, const char *k1)
{
    const json_t *v = json_object_get(c, k2);
    if (!v && k1) v = json_object_get(c, k1);
    return v;
}

ck_status ck_arg_bool(const json_t *v, const char *cls, const char *key, int *out)
{
    if (!v || json_is_null(v)) return CK_OK;
    if (!json_is_boolean(v))
        return ck_error(CK_TYPE_ERROR, "%s config: `%s` must be a bool, got %s", cls, key, kind_of(v));
    *out = json_is_true(v);
    return CK_OK;
}

ck_status ck_arg_number(const json_t *v, const char *cls, const char *key, double *out, int *is_int)
{
    if (!v || json_is_null(v)) return CK_OK;
    if (!json_is_number(v))
        return ck_error(CK_TYPE_ERROR, "%s config: `%s` must be a number, got %s", cls, key, kind_of(v));
    *out = json_number_value(v);
    if (is_int) *is_int = json_is_integer(v);
    return CK_OK;
}

ck_status ck_arg_opt_number(const json_t *v, const char *cls, const char *key, double *out, int *has)
{
    *has = 0;
    if (!v || json_is_null(v)) return CK_OK;
    CK_TRY(ck_arg_number(v, cls, key, out, NULL));
    *has = 1;
    return CK_OK;
}

ck_status ck_arg_int(const json_t *v, const char *cls, const char *key, int64_t *out, int *has)
{
    if (!v || json_is_null(v)) return CK_OK;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9.0e15) {
        *out = (int64_t)json_real_value(v);
    } else {
        return ck_error(CK_TYPE_ERROR, "%s config: `%s` must be an int, got %s", cls, key, kind_of(v));
    }
    if (has) *has = 1;
    return CK_OK;
}

static ck_status one_axis(const json_t *v, const char *cls, const char *key, int *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < -CK_MAX_RANK * 4 || json_integer_value(v) > CK_MAX_RANK * 4)
        return ck_error(CK_TYPE_ERROR, "%s config: `%s` must be an int or a list of ints, got %s", cls, key,
                        json_is_integer(v) ? "an int out of range" : kind_of(v));
    *out = (int)json_integer_value(v);
    return CK_OK;
}

ck_status ck_arg_axes(const json_t *v, const char *cls, const char *key, int axes[CK_MAX_RANK], int *naxes,
                      int *is_list)
{
    if (!v || json_is_null(v)) return CK_OK;
    int tmp[CK_MAX_RANK] = {0};
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        if (n > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "%s config: `%s` lists %zu axes, more than %d", cls, key, n, CK_MAX_RANK);
        for (size_t i = 0; i < n; i++) CK_TRY(one_axis(json_array_get(v, i), cls, key, &tmp[i]));
        memcpy(axes, tmp, n * sizeof *tmp);
        *naxes = (int)n;
        *is_list = 1;
        return CK_OK;
    }
    CK_TRY(one_axis(v, cls, key, &tmp[0]));
    axes[0] = tmp[0];
    *naxes = 1;
    *is_list = 0;
    return CK_OK;
}

ck_status ck_arg_shape(const json_t *v, const char *cls, const char *key, ck_shape *out, int *has)
{
    *has = 0;
    if (!v || json_is_null(v)) return CK_OK;
    if (!json_is_array(v))
        return ck_error(CK_TYPE_ERROR, "%s config: `%s` must be a list of dims, got %s", cls, key, kind_of(v));
    size_t n = json_array_size(v);
    if (n > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "%s config: `%s` has %zu dims, more than %d", cls, key, n, CK_MAX_RANK);
    ck_shape s = {(int)n, {0}};
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(v, i);
        if (json_is_null(d)) {
            s.dims[i] = -1;
        } else if (json_is_integer(d) && json_integer_value(d) >= -1) {
            s.dims[i] = json_integer_value(d);
        } else {
            return ck_error(CK_VALUE_ERROR, "%s config: `%s` dim %zu must be a non-negative int, -1 or null", cls,
                            key, i);
        }
    }
    *out = s;
    *has = 1;
    return CK_OK;
}

json_t *ck_arg_num_json(double v, int is_int)
{
    if (is_int && v == floor(v) && fabs(v) < 9.0e15) return json_integer((json_int_t)v);
    return json_real(v);
}

json_t *ck_arg_axes_json(const int *axes, int naxes, int is_list)
{
    if (!is_list) return json_integer(axes[0]);
    json_t *a = json_array();
    for (int i = 0; a && i < naxes; i++) {
        if (json_array_append_new(a, json_integer(axes[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *ck_arg_dims_json(const ck_shape *s)
{
    return ck_shape_to_json(s);
}

void ck_arg_copy_data(const ck_tensor *in, ck_tensor *out)
{
    if (in->data != out->data && in->size > 0)
        memcpy(out->data, in->data, (size_t)in->size * ck_dtype_size(in->dtype));
}

char *ck_arg_list_fmt(char *buf, size_t n, const int64_t *dims, int rank)
{
    size_t k = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++) {
        if (dims[i] < 0) k += (size_t)snprintf(buf + k, n - k, "%sNone", i ? ", " : "");
        else k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}
