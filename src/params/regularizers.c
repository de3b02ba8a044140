/* Weight regularizers L1, L2, L1L2: names and configs <-> C objects, and
 * the penalty. */
#include <math.h>
#include <string.h>

#include "params/params.h"
#include "params/util.h"

typedef enum reg_kind { R_L1, R_L2, R_L1L2 } reg_kind;
static const char *const reg_names[] = {"L1", "L2", "L1L2"};

/* tf.keras keeps the factors as float32 numpy scalars. */
struct ck_regularizer {
    reg_kind kind;
    float l1, l2;
};

static const struct {
    const char *name;
    reg_kind kind;
    double l1, l2; /* defaults */
} reg_ids[] = {
    {"L1", R_L1, 0.01, 0}, {"l1", R_L1, 0.01, 0},
    {"L2", R_L2, 0, 0.01}, {"l2", R_L2, 0, 0.01},
    {"L1L2", R_L1L2, 0, 0}, {"l1_l2", R_L1L2, 0.01, 0.01},
    /* Keras 1 */
    {"WeightRegularizer", R_L1L2, 0, 0}, {"ActivityRegularizer", R_L1L2, 0, 0},
};

static ck_status check_penalty(const char *cls, const char *key, double v)
{
    if (!isfinite(v)) {
        char b[32];
        return ck_error(CK_VALUE_ERROR, "%s: Value %s for '%s' is not a valid regularization "
                        "penalty number, a positive/negative infinity or NaN is not a proper "
                        "value", cls, ck_float_repr(v, b, sizeof b), key);
    }
    return CK_OK;
}

/* Reads a factor: absent keeps the default; null gives `if_null` (L1 and L2
 * turn None into 0.01, L1L2 into 0, so l1_l2(None, None) is zero). */
static ck_status read_factor(const json_t *cfg, const char *cls, const char *key,
                             double if_null, double *v)
{
    const json_t *j = cfg ? json_object_get(cfg, key) : NULL;
    if (!j) return CK_OK;
    if (json_is_null(j)) {
        *v = if_null;
        return CK_OK;
    }
    if (!json_is_number(j))
        return ck_error(CK_VALUE_ERROR, "%s: Value %s for '%s' is not a valid regularization "
                        "penalty number, expected an int or float value", cls,
                        ck_params_describe(j), key);
    *v = json_number_value(j);
    return check_penalty(cls, key, *v);
}

static ck_status make(ck_regularizer **out, reg_kind kind, double l1, double l2)
{
    ck_regularizer *r = ck_malloc(sizeof *r);
    if (!r) return ck_oom("a regularizer");
    r->kind = kind;
    r->l1 = kind == R_L2 ? 0.0f : (float)l1;
    r->l2 = kind == R_L1 ? 0.0f : (float)l2;
    *out = r;
    return CK_OK;
}

ck_status ck_regularizer_from_json(const json_t *j, ck_regularizer **out)
{
    if (!j || json_is_null(j)) {
        *out = NULL;
        return CK_OK;
    }
    const char *name;
    const json_t *cfg;
    CK_TRY(ck_params_unwrap(j, "regularizer", &name, &cfg));
    size_t i = 0, n = sizeof reg_ids / sizeof reg_ids[0];
    while (i < n && strcmp(name, reg_ids[i].name) != 0) i++;
    if (i == n)
        return ck_error(CK_VALUE_ERROR, "Unknown regularizer: '%s'. Please ensure you are using "
                        "a `keras.utils.custom_object_scope` and that this object is included "
                        "in the scope.", name);
    reg_kind kind = reg_ids[i].kind;
    const char *cls = reg_names[kind];
    double l1 = reg_ids[i].l1, l2 = reg_ids[i].l2;
    static const char *const k_l1[] = {"l1", "l", NULL};
    static const char *const k_l2[] = {"l2", "l", NULL};
    static const char *const k_l1l2[] = {"l1", "l2", NULL};
    static const char *const k1_ignored[] = {"name", NULL};
    const char *const *keys = kind == R_L1 ? k_l1 : kind == R_L2 ? k_l2 : k_l1l2;
    CK_TRY(ck_params_check_keys(cfg, cls, keys, cfg == j ? k1_ignored : NULL));
    if (kind == R_L1) {
        CK_TRY(read_factor(cfg, cls, "l1", 0.01, &l1));
        CK_TRY(read_factor(cfg, cls, "l", 0.01, &l1)); /* the legacy kwarg wins, as in TF2.x */
    } else if (kind == R_L2) {
        CK_TRY(read_factor(cfg, cls, "l2", 0.01, &l2));
        CK_TRY(read_factor(cfg, cls, "l", 0.01, &l2));
    } else {
        CK_TRY(read_factor(cfg, cls, "l1", 0.0, &l1));
        CK_TRY(read_factor(cfg, cls, "l2", 0.0, &l2));
    }
    return make(out, kind, l1, l2);
}

ck_status ck_regularizer_new(ck_regularizer **out, const char *identifier_or_json)
{
    CK_NEED(out);
    CK_NEED(identifier_or_json);
    if (!identifier_or_json) return ck_error(CK_VALUE_ERROR, "regularizer identifier is NULL");
    const char *s = identifier_or_json;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    json_t *j;
    if (*s == '{' || *s == '"') {
        CK_TRY(ck_params_parse(identifier_or_json, "regularizer", &j));
        if (json_is_null(j)) {
            json_decref(j);
            return ck_error(CK_VALUE_ERROR, "Could not interpret regularizer identifier: None");
        }
    } else {
        j = json_string_nocheck(identifier_or_json); /* fails only when out of memory */
        if (!j) return ck_oom("a regularizer name");
    }
    ck_regularizer *r = NULL;
    ck_status st = ck_regularizer_from_json(j, &r);
    json_decref(j);
    if (st == CK_OK) *out = r;
    return st;
}

ck_status ck_regularizer_new_factors(ck_regularizer **out, const char *class_name, double l1,
                                     double l2)
{
    CK_NEED(out);
    CK_NEED(class_name);
    int k = -1;
    for (int i = 0; i < 3; i++)
        if (class_name && strcmp(class_name, reg_names[i]) == 0) k = i;
    if (k < 0)
        return ck_error(CK_VALUE_ERROR, "Unknown regularizer: '%s' (expected L1, L2 or L1L2)",
                        class_name ? class_name : "None");
    CK_TRY(check_penalty(reg_names[k], "l1", l1));
    CK_TRY(check_penalty(reg_names[k], "l2", l2));
    if ((k == R_L1 && l2 != 0) || (k == R_L2 && l1 != 0))
        return ck_error(CK_VALUE_ERROR, "%s has no '%s' factor", reg_names[k],
                        k == R_L1 ? "l2" : "l1");
    return make(out, (reg_kind)k, l1, l2);
}

ck_status ck_regularizer_copy(ck_regularizer **out, const ck_regularizer *r)
{
    CK_NEED(out);
    CK_NEED(r);
    return make(out, r->kind, r->l1, r->l2);
}

void ck_regularizer_free(ck_regularizer *r) { ck_free(r); }

const char *ck_regularizer_class_name(const ck_regularizer *r) {
    CK_NEED_OR(r, NULL);
    return reg_names[r->kind];
}
double ck_regularizer_l1(const ck_regularizer *r) {
    CK_NEED_OR(r, NAN);
    return r->l1;
}
double ck_regularizer_l2(const ck_regularizer *r) {
    CK_NEED_OR(r, NAN);
    return r->l2;
}

json_t *ck_regularizer_to_json(const ck_regularizer *r)
{
    if (!r) return json_null();
    json_t *c = json_object();
    int bad = 0;
    if (r->kind != R_L2) bad |= ck_params_set(c, "l1", json_real((double)r->l1));
    if (r->kind != R_L1) bad |= ck_params_set(c, "l2", json_real((double)r->l2));
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return ck_params_wrap(reg_names[r->kind], c);
}

char *ck_regularizer_config(const ck_regularizer *r)
{
    CK_NEED_OR(r, NULL);
    json_t *j = ck_regularizer_to_json(r);
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    return s;
}

ck_status ck_regularizer_loss(const ck_regularizer *r, const ck_tensor *x, double *loss)
{
    CK_NEED(r);
    CK_NEED(x);
    CK_NEED(loss);
    if (x->size > 0 && !x->data)
        return ck_error(CK_VALUE_ERROR, "%s regularizer: the tensor has no data (symbolic?)",
                        reg_names[r->kind]);
    double s1 = 0, s2 = 0;
    int64_t n = x->size;
    if (x->dtype == CK_FLOAT32) {
        const float *p = x->data;
        for (int64_t i = 0; i < n; i++) {
            s1 += fabs((double)p[i]);
            s2 += (double)p[i] * p[i];
        }
    } else if (x->dtype == CK_FLOAT64) {
        const double *p = x->data;
        for (int64_t i = 0; i < n; i++) {
            s1 += fabs(p[i]);
            s2 += p[i] * p[i];
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            double v = ck_tensor_get(x, i);
            s1 += fabs(v);
            s2 += v * v;
        }
    }
    double l = 0;
    if (r->l1 != 0) l += (double)r->l1 * s1;
    if (r->l2 != 0) l += (double)r->l2 * s2;
    *loss = l;
    return CK_OK;
}

ck_status ck_regularizer_add_grad(const ck_regularizer *r, const ck_tensor *x, double scale, ck_tensor *g)
{
    /* d/dx (l1 |x| + l2 x^2) = l1 sign(x) + 2 l2 x, with TF's sign(0) = 0. */
    if (!ck_dtype_is_floating(x->dtype) || g->dtype != x->dtype || g->size != x->size)
        return ck_error(CK_VALUE_ERROR, "%s regularizer: gradient and value tensors do not match",
                        reg_names[r->kind]);
    double a = (double)r->l1 * scale, b = 2.0 * (double)r->l2 * scale;
    int64_t n = x->size;
    if (x->dtype == CK_FLOAT32) {
        const float *p = x->data;
        float *d = g->data;
        for (int64_t i = 0; i < n; i++) d[i] += (float)(a * ((p[i] > 0) - (p[i] < 0)) + b * p[i]);
    } else {
        const double *p = x->data;
        double *d = g->data;
        for (int64_t i = 0; i < n; i++) d[i] += a * ((p[i] > 0) - (p[i] < 0)) + b * p[i];
    }
    return CK_OK;
}
