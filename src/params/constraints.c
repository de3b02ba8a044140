/* Weight constraints: names and configs <-> C objects, applied in place. */
#include <math.h>
#include <string.h>

#include "params/groups.h"
#include "params/params.h"
#include "params/util.h"

typedef enum con_kind { C_MAX_NORM, C_NON_NEG, C_UNIT_NORM, C_MIN_MAX_NORM, C_RADIAL } con_kind;
static const char *const con_names[] = {"MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm",
                                        "RadialConstraint"};
static const struct {
    const char *name;
    con_kind kind;
} con_aliases[] = {
    {"max_norm", C_MAX_NORM}, {"maxnorm", C_MAX_NORM}, {"non_neg", C_NON_NEG},
    {"nonneg", C_NON_NEG}, {"unit_norm", C_UNIT_NORM}, {"unitnorm", C_UNIT_NORM},
    {"min_max_norm", C_MIN_MAX_NORM}, {"radial_constraint", C_RADIAL},
};

static const double EPSILON = 1e-7; /* backend.epsilon() */

struct ck_constraint {
    con_kind kind;
    double min_value, max_value, rate;
    int min_int, max_int, rate_int; /* came as JSON integers (for get_config) */
    int naxes;
    int axes[CK_MAX_RANK];
    int axis_is_list;
};

static int lookup(const char *name, con_kind *kind)
{
    for (int k = 0; k < 5; k++)
        if (strcmp(name, con_names[k]) == 0) {
            *kind = (con_kind)k;
            return 1;
        }
    for (size_t i = 0; i < sizeof con_aliases / sizeof con_aliases[0]; i++)
        if (strcmp(name, con_aliases[i].name) == 0) {
            *kind = con_aliases[i].kind;
            return 1;
        }
    return 0;
}

static ck_status read_axis(const json_t *cfg, const char *cls, struct ck_constraint *c)
{
    const json_t *v = cfg ? json_object_get(cfg, "axis") : NULL;
    if (!v) return CK_OK;
    if (json_is_integer(v)) {
        c->axes[0] = (int)json_integer_value(v);
        c->naxes = 1;
        c->axis_is_list = 0;
        return CK_OK;
    }
    if (json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= CK_MAX_RANK) {
        size_t i;
        for (i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_integer(e)) break;
            c->axes[i] = (int)json_integer_value(e);
        }
        if (i == json_array_size(v)) {
            c->naxes = (int)i;
            c->axis_is_list = 1;
            return CK_OK;
        }
    }
    return ck_error(CK_VALUE_ERROR, "%s: 'axis' must be an int or a list of 1 to %d ints, got %s",
                    cls, CK_MAX_RANK, ck_params_describe(v));
}

ck_status ck_constraint_from_json(const json_t *j, ck_constraint **out)
{
    if (!j || json_is_null(j)) {
        *out = NULL;
        return CK_OK;
    }
    const char *name;
    const json_t *cfg;
    CK_TRY(ck_params_unwrap(j, "constraint", &name, &cfg));
    con_kind kind;
    if (!lookup(name, &kind))
        return ck_error(CK_VALUE_ERROR, "Unknown constraint: '%s'. Please ensure you are using "
                        "a `keras.utils.custom_object_scope` and that this object is included "
                        "in the scope.", name);
    const char *cls = con_names[kind];
    struct ck_constraint c = {0};
    c.kind = kind;
    c.naxes = 1;
    static const char *const k_max[] = {"max_value", "axis", "m", NULL};
    static const char *const k_unit[] = {"axis", NULL};
    static const char *const k_minmax[] = {"min_value", "max_value", "rate", "axis", "low",
                                           "high", NULL};
    static const char *const k_none[] = {NULL};
    static const char *const k1_ignored[] = {"name", NULL};
    const char *const *keys = kind == C_MAX_NORM       ? k_max
                              : kind == C_UNIT_NORM    ? k_unit
                              : kind == C_MIN_MAX_NORM ? k_minmax
                                                       : k_none;
    CK_TRY(ck_params_check_keys(cfg, cls, keys, cfg == j ? k1_ignored : NULL));
    if (kind == C_MAX_NORM) {
        c.max_value = 2;
        c.max_int = 1;
        CK_TRY(ck_params_number(cfg, cls, "m", 0, &c.max_value, &c.max_int)); /* Keras 1 */
        CK_TRY(ck_params_number(cfg, cls, "max_value", 0, &c.max_value, &c.max_int));
    } else if (kind == C_MIN_MAX_NORM) {
        c.min_value = 0.0;
        c.max_value = 1.0;
        c.rate = 1.0;
        CK_TRY(ck_params_number(cfg, cls, "low", 0, &c.min_value, &c.min_int)); /* Keras 1 */
        CK_TRY(ck_params_number(cfg, cls, "high", 0, &c.max_value, &c.max_int));
        CK_TRY(ck_params_number(cfg, cls, "min_value", 0, &c.min_value, &c.min_int));
        CK_TRY(ck_params_number(cfg, cls, "max_value", 0, &c.max_value, &c.max_int));
        CK_TRY(ck_params_number(cfg, cls, "rate", 0, &c.rate, &c.rate_int));
    }
    if (kind == C_MAX_NORM || kind == C_UNIT_NORM || kind == C_MIN_MAX_NORM)
        CK_TRY(read_axis(cfg, cls, &c));
    ck_constraint *p = ck_malloc(sizeof *p);
    if (!p) return ck_oom("a constraint");
    *p = c;
    *out = p;
    return CK_OK;
}

ck_status ck_constraint_new(ck_constraint **out, const char *identifier_or_json)
{
    CK_NEED(out);
    CK_NEED(identifier_or_json);
    if (!identifier_or_json) return ck_error(CK_VALUE_ERROR, "constraint identifier is NULL");
    const char *s = identifier_or_json;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    json_t *j;
    if (*s == '{' || *s == '"') {
        CK_TRY(ck_params_parse(identifier_or_json, "constraint", &j));
        if (json_is_null(j)) {
            json_decref(j);
            return ck_error(CK_VALUE_ERROR, "Could not interpret constraint identifier: None");
        }
    } else {
        j = json_string_nocheck(identifier_or_json); /* fails only when out of memory */
        if (!j) return ck_oom("a constraint name");
    }
    ck_constraint *c = NULL;
    ck_status st = ck_constraint_from_json(j, &c);
    json_decref(j);
    if (st == CK_OK) *out = c;
    return st;
}

ck_status ck_constraint_copy(ck_constraint **out, const ck_constraint *c)
{
    CK_NEED(out);
    CK_NEED(c);
    ck_constraint *p = ck_malloc(sizeof *p);
    if (!p) return ck_oom("a constraint");
    *p = *c;
    *out = p;
    return CK_OK;
}

void ck_constraint_free(ck_constraint *c) { ck_free(c); }

const char *ck_constraint_class_name(const ck_constraint *c) {
    CK_NEED_OR(c, NULL);
    return con_names[c->kind];
}

json_t *ck_constraint_to_json(const ck_constraint *c)
{
    if (!c) return json_null();
    json_t *cfg = json_object();
    int bad = 0;
    if (c->kind == C_MIN_MAX_NORM)
        bad |= ck_params_set(cfg, "min_value", ck_params_num_json(c->min_value, c->min_int));
    if (c->kind == C_MAX_NORM || c->kind == C_MIN_MAX_NORM)
        bad |= ck_params_set(cfg, "max_value", ck_params_num_json(c->max_value, c->max_int));
    if (c->kind == C_MIN_MAX_NORM)
        bad |= ck_params_set(cfg, "rate", ck_params_num_json(c->rate, c->rate_int));
    if (c->kind == C_MAX_NORM || c->kind == C_UNIT_NORM || c->kind == C_MIN_MAX_NORM) {
        json_t *ax;
        if (c->axis_is_list) {
            ax = json_array();
            for (int i = 0; ax && i < c->naxes; i++)
                if (json_array_append_new(ax, json_integer(c->axes[i])) != 0) {
                    json_decref(ax);
                    ax = NULL;
                }
        } else {
            ax = json_integer(c->axes[0]);
        }
        bad |= ck_params_set(cfg, "axis", ax);
    }
    if (bad) {
        json_decref(cfg);
        return NULL;
    }
    return ck_params_wrap(con_names[c->kind], cfg);
}

char *ck_constraint_config(const ck_constraint *c)
{
    CK_NEED_OR(c, NULL);
    json_t *j = ck_constraint_to_json(c);
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    return s;
}

/* ---- Applying ----------------------------------------------------------- */

static inline double getf(const ck_tensor *w, int64_t i)
{
    return w->dtype == CK_FLOAT32 ? (double)((const float *)w->data)[i]
                                  : ((const double *)w->data)[i];
}

static inline void setf(ck_tensor *w, int64_t i, double v)
{
    if (w->dtype == CK_FLOAT32) ((float *)w->data)[i] = (float)v;
    else ((double *)w->data)[i] = v;
}

static double clip(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

static ck_status apply_norm(const ck_constraint *c, ck_tensor *w)
{
    ck_groups g;
    CK_TRY(ck_groups_init(&g, w->rank, w->shape, c->axes, c->naxes, con_names[c->kind]));
    for (int64_t k = 0; k < g.ngroups; k++) {
        int64_t base = ck_groups_base(&g, k);
        double ss = 0;
        for (int64_t j = 0; j < g.gsize; j++) {
            double v = getf(w, base + ck_groups_at(&g, j));
            ss += v * v;
        }
        double n = sqrt(ss), desired;
        if (c->kind == C_MAX_NORM) desired = clip(n, 0, c->max_value);
        else if (c->kind == C_UNIT_NORM) desired = 1.0;
        else desired = c->rate * clip(n, c->min_value, c->max_value) + (1 - c->rate) * n;
        double f = desired / (EPSILON + n);
        for (int64_t j = 0; j < g.gsize; j++) {
            int64_t o = base + ck_groups_at(&g, j);
            setf(w, o, getf(w, o) * f);
        }
    }
    return CK_OK;
}

/* tf.keras' RadialConstraint, slice by slice: a centre (1x1 for an odd
 * size, 2x2 for an even one) taken from kernel[s-1][s-1] with s = size/2,
 * and ring L around it filled with the diagonal value kernel[d][d], d =
 * s+L (even) or s+L-1 (odd).  Odd sizes thus take their centre from the
 * top-left of the middle, exactly as tf.keras does. */
static ck_status apply_radial(ck_tensor *w)
{
    char sb[96];
    if (w->rank != 4)
        return ck_error(CK_VALUE_ERROR, "The weight tensor must have rank 4. Received weight "
                        "tensor with shape: %s", ck_shape_str(sb, sizeof sb, w->rank, w->shape));
    int64_t h = w->shape[0], wd = w->shape[1], slices = w->shape[2] * w->shape[3];
    if (h != wd || h < 2)
        return ck_error(CK_VALUE_ERROR, "RadialConstraint needs a square kernel of size >= 2, got "
                        "shape %s", ck_shape_str(sb, sizeof sb, w->rank, w->shape));
    if (slices == 0) return CK_OK;
    double *diag = ck_malloc((size_t)h * sizeof(double));
    if (!diag) return ck_oom("the RadialConstraint scratch");
    int64_t s = h / 2, odd = h % 2;
    for (int64_t sl = 0; sl < slices; sl++) {
        for (int64_t i = 0; i < h; i++) diag[i] = getf(w, (i * h + i) * slices + sl);
        for (int64_t r = 0; r < h; r++)
            for (int64_t col = 0; col < h; col++) {
                int64_t dr, dc;
                if (odd) {
                    dr = r > s ? r - s : s - r;
                    dc = col > s ? col - s : s - col;
                } else {
                    dr = r >= s ? r - s : s - 1 - r;
                    dc = col >= s ? col - s : s - 1 - col;
                }
                int64_t level = dr > dc ? dr : dc;
                int64_t d = level == 0 ? s - 1 : (odd ? s + level - 1 : s + level);
                setf(w, (r * h + col) * slices + sl, diag[d]);
            }
    }
    ck_free(diag);
    return CK_OK;
}

ck_status ck_constraint_apply(const ck_constraint *c, ck_tensor *w)
{
    CK_NEED(c);
    CK_NEED(w);
    const char *cls = con_names[c->kind];
    if (w->size > 0 && !w->data)
        return ck_error(CK_VALUE_ERROR, "%s: the tensor has no data (symbolic?)", cls);
    if (c->kind == C_NON_NEG) {
        for (int64_t i = 0; i < w->size; i++) switch (w->dtype) {
            case CK_FLOAT32: {
                float *p = (float *)w->data + i;
                *p = *p >= 0 ? *p : 0.0f * *p; /* w * (w >= 0): -0.0 as in TF */
                break;
            }
            case CK_FLOAT64: {
                double *p = (double *)w->data + i;
                *p = *p >= 0 ? *p : 0.0 * *p;
                break;
            }
            case CK_INT32: if (((int32_t *)w->data)[i] < 0) ((int32_t *)w->data)[i] = 0; break;
            case CK_INT64: if (((int64_t *)w->data)[i] < 0) ((int64_t *)w->data)[i] = 0; break;
            }
        return CK_OK;
    }
    if (!ck_dtype_is_floating(w->dtype))
        return ck_error(CK_TYPE_ERROR, "%s needs a float32 or float64 weight, got %s", cls,
                        ck_dtype_name(w->dtype));
    if (c->kind == C_RADIAL) return apply_radial(w);
    return apply_norm(c, w);
}
