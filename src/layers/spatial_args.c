/* Shared argument handling of the pooling and reshaping layers. */
#include <stdio.h>
#include <string.h>

#include "layers/conv_utils.h"
#include "layers/spatial_args.h"

char *ck_sp_tuple_fmt(char *buf, size_t n, const int64_t *v, int count)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < count && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (k < n) snprintf(buf + k, n - k, count == 1 ? ",)" : ")");
    return buf;
}

/* The check part of normalize_tuple; `given` is how the value was written
 * (an int prints as itself, a tuple as a tuple). */
static ck_status check_tuple(const int64_t *v, int n, const char *key, int allow_zero, const char *given)
{
    for (int i = 0; i < n; i++)
        if (v[i] < 0 || (!allow_zero && v[i] == 0))
            return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of %d integers. Received: %s "
                            "including {%lld} that does not satisfy the requirement `%s`.", key, n, given,
                            (long long)v[i], allow_zero ? ">= 0" : "> 0");
    return CK_OK;
}

ck_status ck_sp_tuple_json(const json_t *v, int n, const char *cls, const char *key, int allow_zero,
                           int64_t *out)
{
    int64_t t[3] = {0, 0, 0};
    char given[96];
    if (!v || json_is_null(v)) return CK_OK;
    if (json_is_array(v)) {
        if ((int)json_array_size(v) != n)
            return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of %d integers. Received a list of "
                            "%zu (%s config)", key, n, json_array_size(v), cls);
        for (int i = 0; i < n; i++) {
            const json_t *e = json_array_get(v, (size_t)i);
            if (!json_is_integer(e))
                return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of %d integers. Received a list "
                                "whose element %d is not an int (%s config)", key, n, i, cls);
            t[i] = json_integer_value(e);
        }
        ck_sp_tuple_fmt(given, sizeof given, t, n);
    } else if (json_is_integer(v)) {
        for (int i = 0; i < n; i++) t[i] = json_integer_value(v);
        snprintf(given, sizeof given, "%lld", (long long)t[0]);
    } else {
        return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of %d integers. Received a value that "
                        "is neither an int nor a list (%s config)", key, n, cls);
    }
    CK_TRY(check_tuple(t, n, key, allow_zero, given));
    memcpy(out, t, (size_t)n * sizeof *t);
    return CK_OK;
}

ck_status ck_sp_tuple_opts(const int64_t *in, int n, const int64_t *dflt, const char *cls, const char *key,
                           int allow_zero, int64_t *out)
{
    int64_t t[3];
    int zeros = 0, all_zero = 1;
    char given[96];
    (void)cls;
    for (int i = 0; i < n; i++) all_zero &= in[i] == 0;
    for (int i = 1; i < n; i++) zeros += in[i] == 0;
    if (all_zero) {
        memcpy(t, dflt, (size_t)n * sizeof *t);
    } else if (zeros == n - 1) {
        for (int i = 0; i < n; i++) t[i] = in[0]; /* {k}: Keras' int form */
    } else {
        memcpy(t, in, (size_t)n * sizeof *t);
    }
    CK_TRY(check_tuple(t, n, key, allow_zero, ck_sp_tuple_fmt(given, sizeof given, t, n)));
    memcpy(out, t, (size_t)n * sizeof *t);
    return CK_OK;
}

json_t *ck_sp_tuple_to_json(const int64_t *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static ck_status one_pair(const json_t *e, const char *key, int64_t out[2])
{
    if (json_is_integer(e)) {
        out[0] = out[1] = json_integer_value(e);
    } else if (json_is_array(e) && json_array_size(e) == 2 && json_is_integer(json_array_get(e, 0)) &&
               json_is_integer(json_array_get(e, 1))) {
        out[0] = json_integer_value(json_array_get(e, 0));
        out[1] = json_integer_value(json_array_get(e, 1));
    } else {
        return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers (one per side). "
                        "Received a value that is not", key);
    }
    return CK_OK;
}

ck_status ck_sp_pairs_json(const json_t *v, int n, const char *cls, const char *key, int64_t out[][2])
{
    int64_t p[3][2] = {{0, 0}};
    if (!v || json_is_null(v)) return CK_OK;
    if (json_is_integer(v)) {
        for (int i = 0; i < n; i++) p[i][0] = p[i][1] = json_integer_value(v);
    } else if (n == 1) {
        /* 1D: (before, after), normalize_tuple(padding, 2) */
        CK_TRY(one_pair(v, key, p[0]));
    } else if (n == 2 && json_is_array(v) && json_array_size(v) == 4) {
        /* Keras 1.2's ZeroPadding2D / Cropping2D (top, bottom, left, right) */
        for (int i = 0; i < 4; i++) {
            const json_t *e = json_array_get(v, (size_t)i);
            if (!json_is_integer(e))
                return ck_error(CK_VALUE_ERROR, "%s config: `%s` of 4 values must hold ints", cls, key);
            p[i / 2][i % 2] = json_integer_value(e);
        }
    } else if (json_is_array(v) && (int)json_array_size(v) == n) {
        for (int i = 0; i < n; i++) CK_TRY(one_pair(json_array_get(v, (size_t)i), key, p[i]));
    } else {
        /* Keras' message, with the value as Python would print the list. */
        char *text = ck_json_dumps_python(v);
        ck_status st = ck_error(CK_VALUE_ERROR, "`%s` should have %s elements. Received: %s. (%s config)", key,
                                n == 2 ? "two" : "3", text ? text : "?", cls);
        ck_free(text);
        return st;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2; j++)
            if (p[i][j] < 0)
                return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers. Received: "
                                "(%lld, %lld) including {%lld} that does not satisfy the requirement `>= 0`.", key,
                                (long long)p[i][0], (long long)p[i][1], (long long)p[i][j]);
    memcpy(out, p, (size_t)n * sizeof p[0]);
    return CK_OK;
}

json_t *ck_sp_pairs_to_json(const int64_t p[][2], int n)
{
    if (n == 1) return ck_sp_tuple_to_json(p[0], 2);
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, ck_sp_tuple_to_json(p[i], 2)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

ck_status ck_sp_data_format_json(const json_t *c, const char *cls, int *channels_first)
{
    int cf = 0;
    if (json_object_get(c, "data_format"))
        CK_TRY(ck_conv_data_format_json(json_object_get(c, "data_format"), cls, "data_format", 0, &cf));
    else
        CK_TRY(ck_conv_data_format_json(json_object_get(c, "dim_ordering"), cls, "dim_ordering", 1, &cf));
    *channels_first = cf;
    return CK_OK;
}

ck_status ck_sp_data_format(const char *s, int *channels_first)
{
    return ck_conv_parse_data_format(s, 0, channels_first);
}

json_t *ck_sp_data_format_to_json(int channels_first)
{
    return json_string(channels_first ? "channels_first" : "channels_last");
}

ck_status ck_sp_check_rank(const ck_layer *layer, const ck_shape *s, int ndim)
{
    char buf[128];
    if (s->rank != ndim)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected ndim=%d, "
                        "found ndim=%d. Full shape received: %s", layer->name, ndim, s->rank,
                        ck_shape_fmt(buf, sizeof buf, s));
    return CK_OK;
}
