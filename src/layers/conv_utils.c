/* tf.keras conv_utils for the 2D convolution and pooling layers. */
#include <ctype.h>
#include <string.h>

#include "layers/conv_utils.h"

/* Python's a // b for b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t ck_conv_output_length(int64_t in, int64_t k, int same, int64_t stride, int64_t dilation)
{
    if (in < 0) return -1;
    int64_t k_eff = k + (k - 1) * (dilation - 1);
    int64_t len = same ? in : in - k_eff + 1;
    return floor_div(len + stride - 1, stride);
}

int64_t ck_conv_pad_before(int64_t in, int64_t out, int64_t k, int same, int64_t stride, int64_t dilation)
{
    if (!same || out <= 0) return 0;
    int64_t k_eff = (k - 1) * dilation + 1;
    int64_t total = (out - 1) * stride + k_eff - in;
    return total > 0 ? total / 2 : 0;
}

/* Lower-cased copy of s into buf (truncated to n - 1 chars). */
static const char *lower(const char *s, char *buf, size_t n)
{
    size_t i = 0;
    for (; s[i] && i + 1 < n; i++) buf[i] = (char)tolower((unsigned char)s[i]);
    buf[i] = '\0';
    return buf;
}

ck_status ck_conv_parse_padding(const char *s, const char *cls, int *same)
{
    char buf[64];
    if (!s) {
        *same = 0;
        return CK_OK;
    }
    const char *p = strlen(s) < sizeof buf ? lower(s, buf, sizeof buf) : "";
    if (strcmp(p, "valid") == 0) {
        *same = 0;
    } else if (strcmp(p, "same") == 0) {
        *same = 1;
    } else if (strcmp(p, "causal") == 0) {
        return ck_error(CK_VALUE_ERROR, "Causal padding is only supported for `Conv1D`and `SeparableConv1D`. "
                        "(%s received padding=\"%s\")", cls, s);
    } else if (strcmp(p, "full") == 0) {
        return ck_error(CK_NOT_IMPLEMENTED, "%s: Keras 1's border_mode \"full\" (Theano only) is not supported; "
                        "\"valid\" and \"same\" are", cls);
    } else {
        return ck_error(CK_VALUE_ERROR, "The `padding` argument must be a list/tuple or one of \"valid\", \"same\" "
                        "(or \"causal\", only for `Conv1D). Received: %s (%s)", s, cls);
    }
    return CK_OK;
}

ck_status ck_conv_parse_data_format(const char *s, int keras1, int *channels_first)
{
    char buf[64];
    if (!s) {
        *channels_first = 0;
        return CK_OK;
    }
    const char *p = strlen(s) < sizeof buf ? lower(s, buf, sizeof buf) : "";
    if (strcmp(p, "channels_last") == 0 || (keras1 && (strcmp(s, "tf") == 0 || strcmp(s, "default") == 0))) {
        *channels_first = 0;
    } else if (strcmp(p, "channels_first") == 0 || (keras1 && strcmp(s, "th") == 0)) {
        *channels_first = 1;
    } else if (keras1) {
        return ck_error(CK_VALUE_ERROR, "`dim_ordering` must be \"tf\" or \"th\" (Keras 1). Received: %s", s);
    } else {
        return ck_error(CK_VALUE_ERROR, "The `data_format` argument must be one of \"channels_first\", "
                        "\"channels_last\". Received: %s", s);
    }
    return CK_OK;
}

ck_status ck_conv_padding_json(const json_t *v, const char *cls, const char *key, int *same)
{
    if (!v || json_is_null(v)) return CK_OK;
    if (!json_is_string(v))
        return ck_error(CK_NOT_IMPLEMENTED, "%s config: `%s` must be \"valid\" or \"same\"; explicit padding "
                        "lists are not supported", cls, key);
    return ck_conv_parse_padding(json_string_value(v), cls, same);
}

ck_status ck_conv_data_format_json(const json_t *v, const char *cls, const char *key, int keras1,
                                   int *channels_first)
{
    if (!v || json_is_null(v)) return CK_OK;
    if (!json_is_string(v)) return ck_error(CK_TYPE_ERROR, "%s config: `%s` must be a string", cls, key);
    return ck_conv_parse_data_format(json_string_value(v), keras1, channels_first);
}

static ck_status check_pair(const int64_t v[2], const char *cls, const char *key, int allow_zero)
{
    for (int i = 0; i < 2; i++)
        if (v[i] < 0 || (!allow_zero && v[i] == 0))
            return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers. Received: (%lld, "
                            "%lld) including {%lld} that does not satisfy the requirement `%s`. (%s)", key,
                            (long long)v[0], (long long)v[1], (long long)v[i], allow_zero ? ">= 0" : "> 0", cls);
    return CK_OK;
}

ck_status ck_conv_pair_json(const json_t *v, const char *cls, const char *key, int allow_zero, int64_t out[2])
{
    if (!v || json_is_null(v)) return CK_OK;
    int64_t pair[2] = {0, 0};
    if (json_is_array(v)) {
        if (json_array_size(v) != 2)
            return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers. Received a list of "
                            "%zu (%s config)", key, json_array_size(v), cls);
        for (int i = 0; i < 2; i++) {
            const json_t *e = json_array_get(v, (size_t)i);
            if (!e || json_is_null(e) || ck_arg_int(e, cls, key, &pair[i], NULL) != CK_OK)
                return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers. Received a list "
                                "whose element %d is not an int (%s config)", key, i, cls);
        }
    } else {
        if (ck_arg_int(v, cls, key, &pair[0], NULL) != CK_OK)
            return ck_error(CK_VALUE_ERROR, "The `%s` argument must be a tuple of 2 integers. Received a value "
                            "that is neither an int nor a list (%s config)", key, cls);
        pair[1] = pair[0];
    }
    CK_TRY(check_pair(pair, cls, key, allow_zero));
    out[0] = pair[0];
    out[1] = pair[1];
    return CK_OK;
}

ck_status ck_conv_pair_opts(const int64_t in[2], const int64_t dflt[2], const char *cls, const char *key,
                            int allow_zero, int64_t out[2])
{
    int64_t pair[2];
    if (in[0] == 0 && in[1] == 0) {
        pair[0] = dflt[0];
        pair[1] = dflt[1];
    } else {
        pair[0] = in[0];
        pair[1] = in[1] == 0 ? in[0] : in[1];
    }
    CK_TRY(check_pair(pair, cls, key, allow_zero));
    out[0] = pair[0];
    out[1] = pair[1];
    return CK_OK;
}

json_t *ck_conv_pair_to_json(const int64_t v[2])
{
    json_t *a = json_array();
    if (!a) return NULL;
    if (json_array_append_new(a, json_integer(v[0])) != 0 || json_array_append_new(a, json_integer(v[1])) != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}
