/* Weight initializers: Keras names and configs <-> C objects, and filling
 * tensors with the distributions of tf.keras 2.x. */
#include <math.h>
#include <string.h>

#include "params/params.h"
#include "params/util.h"

typedef enum init_kind {
    I_ZEROS, I_ONES, I_CONSTANT, I_RANDOM_NORMAL, I_RANDOM_UNIFORM, I_TRUNCATED_NORMAL,
    I_VARIANCE_SCALING, I_GLOROT_UNIFORM, I_GLOROT_NORMAL, I_HE_UNIFORM, I_HE_NORMAL,
    I_LECUN_UNIFORM, I_LECUN_NORMAL, I_ORTHOGONAL, I_IDENTITY, I_KIND_COUNT
} init_kind;

enum { MODE_FAN_IN, MODE_FAN_OUT, MODE_FAN_AVG };
enum { DIST_TRUNCATED, DIST_UNTRUNCATED, DIST_UNIFORM };
static const char *const mode_names[] = {"fan_in", "fan_out", "fan_avg"};
static const char *const dist_names[] = {"truncated_normal", "untruncated_normal", "uniform"};

static const char *const class_names[I_KIND_COUNT] = {
    "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
    "LecunUniform", "LecunNormal", "Orthogonal", "Identity"};

/* Names accepted besides the class names. */
static const struct {
    const char *name;
    init_kind kind;
} aliases[] = {
    {"zeros", I_ZEROS}, {"zero", I_ZEROS}, {"ones", I_ONES}, {"one", I_ONES},
    {"constant", I_CONSTANT}, {"random_normal", I_RANDOM_NORMAL}, {"normal", I_RANDOM_NORMAL},
    {"random_uniform", I_RANDOM_UNIFORM}, {"uniform", I_RANDOM_UNIFORM},
    {"truncated_normal", I_TRUNCATED_NORMAL}, {"variance_scaling", I_VARIANCE_SCALING},
    {"glorot_uniform", I_GLOROT_UNIFORM}, {"glorot_normal", I_GLOROT_NORMAL},
    {"he_uniform", I_HE_UNIFORM}, {"he_normal", I_HE_NORMAL},
    {"lecun_uniform", I_LECUN_UNIFORM}, {"lecun_normal", I_LECUN_NORMAL},
    {"orthogonal", I_ORTHOGONAL}, {"OrthogonalInitializer", I_ORTHOGONAL},
    {"identity", I_IDENTITY}, {"IdentityInitializer", I_IDENTITY},
};

struct ck_initializer {
    init_kind kind;
    double p[2];      /* mean,stddev | minval,maxval | scale | gain | value */
    int p_int[2];     /* p[i] came as a JSON integer (kept for get_config) */
    int mode, dist;   /* VarianceScaling */
    int has_seed;
    int64_t seed;
    json_t *value;    /* Constant: the value as given (number or list) */
};

static int lookup(const char *name, init_kind *kind)
{
    for (int k = 0; k < I_KIND_COUNT; k++)
        if (strcmp(name, class_names[k]) == 0) {
            *kind = (init_kind)k;
            return 1;
        }
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].name) == 0) {
            *kind = aliases[i].kind;
            return 1;
        }
    return 0;
}

/* The named VarianceScaling variants as (scale, mode, distribution). */
static void variant(init_kind k, double *scale, int *mode, int *dist)
{
    *scale = (k == I_HE_UNIFORM || k == I_HE_NORMAL) ? 2.0 : 1.0;
    *mode = (k == I_GLOROT_UNIFORM || k == I_GLOROT_NORMAL) ? MODE_FAN_AVG : MODE_FAN_IN;
    *dist = (k == I_GLOROT_UNIFORM || k == I_HE_UNIFORM || k == I_LECUN_UNIFORM) ? DIST_UNIFORM
                                                                                  : DIST_TRUNCATED;
}

static void set_defaults(struct ck_initializer *in, init_kind kind)
{
    memset(in, 0, sizeof *in);
    in->kind = kind;
    switch (kind) {
    case I_RANDOM_NORMAL:
    case I_TRUNCATED_NORMAL: in->p[0] = 0.0; in->p[1] = 0.05; break;
    case I_RANDOM_UNIFORM: in->p[0] = -0.05; in->p[1] = 0.05; break;
    case I_VARIANCE_SCALING:
        in->p[0] = 1.0;
        in->mode = MODE_FAN_IN;
        in->dist = DIST_TRUNCATED;
        break;
    case I_ORTHOGONAL:
    case I_IDENTITY: in->p[0] = 1.0; break;
    case I_CONSTANT: in->p[0] = 0.0; in->p_int[0] = 1; break;
    default:
        if (kind >= I_GLOROT_UNIFORM && kind <= I_LECUN_NORMAL)
            variant(kind, &in->p[0], &in->mode, &in->dist);
    }
}

/* ---- Reading configs ---------------------------------------------------- */

static const char *const dtype_ignored[] = {"dtype", NULL};

static ck_status read_seed(const json_t *cfg, const char *cls, struct ck_initializer *in)
{
    const json_t *s = cfg ? json_object_get(cfg, "seed") : NULL;
    if (!s || json_is_null(s)) return CK_OK;
    if (!json_is_integer(s))
        return ck_error(CK_VALUE_ERROR, "%s: 'seed' must be an int or None, got %s", cls,
                        ck_params_describe(s));
    in->has_seed = 1;
    in->seed = (int64_t)json_integer_value(s);
    return CK_OK;
}

static ck_status read_choice(const json_t *cfg, const char *key, const char *const *names,
                             int n, int lower, int *out)
{
    const json_t *v = cfg ? json_object_get(cfg, key) : NULL;
    if (!v) return CK_OK;
    if (json_is_string(v)) {
        char buf[64];
        const char *s = json_string_value(v);
        size_t len = strlen(s);
        if (len < sizeof buf) {
            for (size_t i = 0; i <= len; i++)
                buf[i] = (char)(lower && s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
            if (lower && strcmp(buf, "normal") == 0) {
                *out = DIST_TRUNCATED;
                return CK_OK;
            }
            for (int i = 0; i < n; i++)
                if (strcmp(buf, names[i]) == 0) {
                    *out = i;
                    return CK_OK;
                }
        }
    }
    return ck_error(CK_VALUE_ERROR, "Invalid `%s` argument: %s", key, ck_params_describe(v));
}

/* Numbers in a (possibly nested) list, for Constant. */
static int count_numbers(const json_t *v, int64_t *n)
{
    if (json_is_number(v) || json_is_boolean(v)) {
        (*n)++;
        return 1;
    }
    if (!json_is_array(v)) return 0;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!count_numbers(json_array_get(v, i), n)) return 0;
    return 1;
}

static ck_status parse_config(struct ck_initializer *in, const char *cls, const json_t *cfg)
{
    static const char *const k_none[] = {NULL};
    static const char *const k_seed[] = {"seed", NULL};
    static const char *const k_normal[] = {"mean", "stddev", "seed", NULL};
    static const char *const k_uniform[] = {"minval", "maxval", "seed", NULL};
    static const char *const k_vs[] = {"scale", "mode", "distribution", "seed", NULL};
    static const char *const k_orth[] = {"gain", "seed", NULL};
    static const char *const k_gain[] = {"gain", NULL};
    static const char *const k_const[] = {"value", NULL};
    static const char *const k_const_ignored[] = {"dtype", "verify_shape", NULL};
    if (cfg && !json_is_object(cfg))
        return ck_error(CK_TYPE_ERROR, "%s config must be a dict, got %s", cls,
                        ck_params_describe(cfg));
    /* Keras 3.15 writes input_axes / output_axes into the fan-based
     * initializers (the axes fans are computed over); null is the usual
     * computation. */
    static const char *const fan_ignored[] = {"dtype", "input_axes", "output_axes", NULL};
    static const char *const axes[] = {"input_axes", "output_axes"};
    for (int i = 0; i < 2; i++) {
        const json_t *a = cfg ? json_object_get(cfg, axes[i]) : NULL;
        if (a && !json_is_null(a))
            return ck_error(CK_NOT_IMPLEMENTED, "%s with %s other than None is not supported", cls, axes[i]);
    }
    switch (in->kind) {
    case I_ZEROS:
    case I_ONES: return ck_params_check_keys(cfg, cls, k_none, dtype_ignored);
    case I_CONSTANT: {
        CK_TRY(ck_params_check_keys(cfg, cls, k_const, k_const_ignored));
        const json_t *v = cfg ? json_object_get(cfg, "value") : NULL;
        if (!v || json_is_null(v)) return CK_OK;
        int64_t n = 0;
        if (!count_numbers(v, &n) || n == 0)
            return ck_error(CK_VALUE_ERROR, "Constant: 'value' must be a number or a list of "
                            "numbers, got %s", ck_params_describe(v));
        if (json_is_array(v)) {
            in->value = json_deep_copy(v);
            if (!in->value) return ck_oom("a Constant initializer value");
            return CK_OK;
        }
        return ck_params_number(cfg, cls, "value", 1, &in->p[0], &in->p_int[0]);
    }
    case I_RANDOM_NORMAL:
    case I_TRUNCATED_NORMAL:
        CK_TRY(ck_params_check_keys(cfg, cls, k_normal, dtype_ignored));
        CK_TRY(ck_params_number(cfg, cls, "mean", 1, &in->p[0], &in->p_int[0]));
        CK_TRY(ck_params_number(cfg, cls, "stddev", 1, &in->p[1], &in->p_int[1]));
        return read_seed(cfg, cls, in);
    case I_RANDOM_UNIFORM:
        CK_TRY(ck_params_check_keys(cfg, cls, k_uniform, dtype_ignored));
        CK_TRY(ck_params_number(cfg, cls, "minval", 1, &in->p[0], &in->p_int[0]));
        CK_TRY(ck_params_number(cfg, cls, "maxval", 1, &in->p[1], &in->p_int[1]));
        return read_seed(cfg, cls, in);
    case I_VARIANCE_SCALING:
        CK_TRY(ck_params_check_keys(cfg, cls, k_vs, fan_ignored));
        CK_TRY(ck_params_number(cfg, cls, "scale", 1, &in->p[0], &in->p_int[0]));
        if (!(in->p[0] > 0)) {
            char b[32];
            return ck_error(CK_VALUE_ERROR, "`scale` must be positive float. Received: scale=%s",
                            ck_float_repr(in->p[0], b, sizeof b));
        }
        CK_TRY(read_choice(cfg, "mode", mode_names, 3, 0, &in->mode));
        CK_TRY(read_choice(cfg, "distribution", dist_names, 3, 1, &in->dist));
        return read_seed(cfg, cls, in);
    case I_ORTHOGONAL:
        CK_TRY(ck_params_check_keys(cfg, cls, k_orth, dtype_ignored));
        CK_TRY(ck_params_number(cfg, cls, "gain", 1, &in->p[0], &in->p_int[0]));
        return read_seed(cfg, cls, in);
    case I_IDENTITY:
        CK_TRY(ck_params_check_keys(cfg, cls, k_gain, dtype_ignored));
        return ck_params_number(cfg, cls, "gain", 1, &in->p[0], &in->p_int[0]);
    default:
        CK_TRY(ck_params_check_keys(cfg, cls, k_seed, fan_ignored));
        return read_seed(cfg, cls, in);
    }
}

static ck_status unknown(const char *name)
{
    return ck_error(CK_VALUE_ERROR, "Unknown initializer: '%s'. Please ensure you are using a "
                    "`keras.utils.custom_object_scope` and that this object is included in the "
                    "scope.", name);
}

ck_status ck_initializer_from_json(const json_t *j, ck_initializer **out)
{
    if (!j || json_is_null(j)) {
        *out = NULL;
        return CK_OK;
    }
    const char *name;
    const json_t *cfg;
    CK_TRY(ck_params_unwrap(j, "initializer", &name, &cfg));
    init_kind kind;
    if (!lookup(name, &kind)) return unknown(name);
    struct ck_initializer tmp;
    set_defaults(&tmp, kind);
    ck_status st = parse_config(&tmp, class_names[kind], cfg);
    if (st == CK_OK) {
        ck_initializer *in = ck_malloc(sizeof *in);
        if (in) {
            *in = tmp;
            *out = in;
            return CK_OK;
        }
        st = ck_oom("an initializer");
    }
    json_decref(tmp.value);
    return st;
}

static int looks_like_json(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    return *s == '{' || *s == '"';
}

ck_status ck_initializer_from_config(ck_initializer **out, const char *json_text)
{
    CK_NEED(out);
    CK_NEED(json_text);
    if (!json_text) return ck_error(CK_VALUE_ERROR, "initializer config text is NULL");
    json_t *j;
    CK_TRY(ck_params_parse(json_text, "initializer", &j));
    ck_initializer *in = NULL;
    ck_status st = json_is_null(j) ? ck_error(CK_VALUE_ERROR,
                                              "Could not interpret initializer identifier: None")
                                   : ck_initializer_from_json(j, &in);
    json_decref(j);
    if (st == CK_OK) *out = in;
    return st;
}

ck_status ck_initializer_new(ck_initializer **out, const char *identifier)
{
    CK_NEED(out);
    CK_NEED(identifier);
    if (!identifier) return ck_error(CK_VALUE_ERROR, "initializer identifier is NULL");
    if (looks_like_json(identifier)) return ck_initializer_from_config(out, identifier);
    json_t *s = json_string_nocheck(identifier); /* fails only when out of memory */
    if (!s) return ck_oom("an initializer name");
    ck_initializer *in = NULL;
    ck_status st = ck_initializer_from_json(s, &in);
    json_decref(s);
    if (st == CK_OK) *out = in;
    return st;
}

ck_status ck_initializer_copy(ck_initializer **out, const ck_initializer *init)
{
    CK_NEED(out);
    CK_NEED(init);
    ck_initializer *c = ck_malloc(sizeof *c);
    if (!c) return ck_oom("an initializer");
    *c = *init;
    if (init->value) {
        c->value = json_deep_copy(init->value);
        if (!c->value) {
            ck_free(c);
            return ck_oom("an initializer");
        }
    }
    *out = c;
    return CK_OK;
}

void ck_initializer_free(ck_initializer *init)
{
    if (!init) return;
    json_decref(init->value);
    ck_free(init);
}

const char *ck_initializer_class_name(const ck_initializer *init)
{
    CK_NEED_OR(init, NULL);
    return class_names[init->kind];
}

/* ---- get_config --------------------------------------------------------- */

json_t *ck_initializer_to_json(const ck_initializer *in)
{
    if (!in) return json_null();
    json_t *c = json_object();
    json_t *seed = in->has_seed ? json_integer((json_int_t)in->seed) : json_null();
    int bad = 0;
    switch (in->kind) {
    case I_ZEROS:
    case I_ONES: json_decref(seed); break;
    case I_CONSTANT:
        json_decref(seed);
        bad |= ck_params_set(c, "value", in->value ? json_deep_copy(in->value)
                                                   : ck_params_num_json(in->p[0], in->p_int[0]));
        break;
    case I_RANDOM_NORMAL:
    case I_TRUNCATED_NORMAL:
        bad |= ck_params_set(c, "mean", ck_params_num_json(in->p[0], in->p_int[0]));
        bad |= ck_params_set(c, "stddev", ck_params_num_json(in->p[1], in->p_int[1]));
        bad |= ck_params_set(c, "seed", seed);
        break;
    case I_RANDOM_UNIFORM:
        bad |= ck_params_set(c, "minval", ck_params_num_json(in->p[0], in->p_int[0]));
        bad |= ck_params_set(c, "maxval", ck_params_num_json(in->p[1], in->p_int[1]));
        bad |= ck_params_set(c, "seed", seed);
        break;
    case I_VARIANCE_SCALING:
        bad |= ck_params_set(c, "scale", ck_params_num_json(in->p[0], in->p_int[0]));
        bad |= ck_params_set(c, "mode", json_string(mode_names[in->mode]));
        bad |= ck_params_set(c, "distribution", json_string(dist_names[in->dist]));
        bad |= ck_params_set(c, "seed", seed);
        break;
    case I_ORTHOGONAL:
        bad |= ck_params_set(c, "gain", ck_params_num_json(in->p[0], in->p_int[0]));
        bad |= ck_params_set(c, "seed", seed);
        break;
    case I_IDENTITY:
        json_decref(seed);
        bad |= ck_params_set(c, "gain", ck_params_num_json(in->p[0], in->p_int[0]));
        break;
    default: bad |= ck_params_set(c, "seed", seed); break;
    }
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return ck_params_wrap(class_names[in->kind], c);
}

char *ck_initializer_config(const ck_initializer *init)
{
    CK_NEED_OR(init, NULL);
    json_t *j = ck_initializer_to_json(init);
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    return s;
}

/* ---- Filling ------------------------------------------------------------ */

void ck_compute_fans(int rank, const int64_t *shape, double *fan_in, double *fan_out)
{
    CK_NEED_VOID(fan_in);
    CK_NEED_VOID(fan_out);
    if (rank > 0 && !shape) {
        ck_null_arg(__func__, "shape");
        *fan_in = *fan_out = 1;
        return;
    }
    if (rank < 1) {
        *fan_in = *fan_out = 1;
    } else if (rank == 1) {
        *fan_in = *fan_out = (double)shape[0];
    } else {
        double rf = 1;
        for (int i = 0; i < rank - 2; i++) rf *= (double)shape[i];
        *fan_in = (double)shape[rank - 2] * rf;
        *fan_out = (double)shape[rank - 1] * rf;
    }
}

static inline void put(ck_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case CK_FLOAT32: ((float *)t->data)[i] = (float)v; break;
    case CK_FLOAT64: ((double *)t->data)[i] = v; break;
    case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    }
}

/* Normal with redraws beyond 2 standard deviations. */
static double truncated(ck_rng *rng)
{
    double z;
    do z = ck_rng_normal(rng);
    while (fabs(z) > 2.0);
    return z;
}

static void flatten_values(const json_t *v, ck_tensor *t, int64_t *i)
{
    if (json_is_array(v)) {
        for (size_t k = 0; k < json_array_size(v); k++) flatten_values(json_array_get(v, k), t, i);
        return;
    }
    put(t, (*i)++, json_is_integer(v) ? (double)json_integer_value(v)
                   : json_is_real(v)  ? json_real_value(v)
                                      : (json_is_true(v) ? 1.0 : 0.0));
}

/* Q of a thin Householder QR of a normal (n x m) matrix, n >= m, columns
 * flipped by sign(diag(R)), written as (rows, cols) times gain. */
static ck_status orthogonal(const ck_initializer *in, ck_rng *rng, ck_tensor *t, int64_t rows,
                            int64_t cols)
{
    int64_t n = rows > cols ? rows : cols, m = rows > cols ? cols : rows;
    double *a = ck_malloc((size_t)(n * m) * sizeof(double));      /* column-major */
    double *q = ck_malloc((size_t)(n * m) * sizeof(double));
    double *aux = ck_malloc((size_t)(2 * m) * sizeof(double));    /* rdiag, beta */
    if (!a || !q || !aux) {
        ck_free(a);
        ck_free(q);
        ck_free(aux);
        return ck_oom("the Orthogonal initializer's scratch matrix");
    }
    double *rdiag = aux, *beta = aux + m;
    /* Drawn row by row like a (n, m) row-major normal matrix. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) a[j * n + i] = ck_rng_normal(rng);
    for (int64_t k = 0; k < m; k++) {
        double *v = a + k * n;
        double norm = 0;
        for (int64_t i = k; i < n; i++) norm += v[i] * v[i];
        norm = sqrt(norm);
        if (norm == 0) {
            rdiag[k] = 0;
            beta[k] = 0;
            continue;
        }
        double alpha = v[k] >= 0 ? -norm : norm;
        v[k] -= alpha;
        double vv = 0;
        for (int64_t i = k; i < n; i++) vv += v[i] * v[i];
        rdiag[k] = alpha;
        beta[k] = 2.0 / vv;
        for (int64_t j = k + 1; j < m; j++) {
            double *c = a + j * n, s = 0;
            for (int64_t i = k; i < n; i++) s += v[i] * c[i];
            s *= beta[k];
            for (int64_t i = k; i < n; i++) c[i] -= s * v[i];
        }
    }
    /* Q = H_0 ... H_{m-1} applied to the first m columns of I. */
    memset(q, 0, (size_t)(n * m) * sizeof(double));
    for (int64_t j = 0; j < m; j++) q[j * n + j] = 1.0;
    for (int64_t k = m - 1; k >= 0; k--) {
        if (beta[k] == 0) continue;
        const double *v = a + k * n;
        for (int64_t j = k; j < m; j++) {
            double *c = q + j * n, s = 0;
            for (int64_t i = k; i < n; i++) s += v[i] * c[i];
            s *= beta[k];
            for (int64_t i = k; i < n; i++) c[i] -= s * v[i];
        }
    }
    double gain = in->p[0];
    for (int64_t j = 0; j < m; j++) {
        double sg = rdiag[j] > 0 ? gain : (rdiag[j] < 0 ? -gain : 0.0);
        for (int64_t i = 0; i < n; i++) {
            double v = q[j * n + i] * sg;
            /* rows >= cols: out[i][j] = Q[i][j]; else out = Q^T. */
            if (rows >= cols) put(t, i * cols + j, v);
            else put(t, j * cols + i, v);
        }
    }
    ck_free(a);
    ck_free(q);
    ck_free(aux);
    return CK_OK;
}

ck_status ck_initializer_fill(const ck_initializer *in, ck_tensor *t)
{
    CK_NEED(in);
    CK_NEED(t);
    const char *cls = class_names[in->kind];
    char sb[96];
    int is_float = ck_dtype_is_floating(t->dtype);
    int int_ok = in->kind == I_ZEROS || in->kind == I_ONES || in->kind == I_CONSTANT ||
                 in->kind == I_RANDOM_UNIFORM;
    if (!is_float && !(int_ok && (t->dtype == CK_INT32 || t->dtype == CK_INT64)))
        return ck_error(CK_VALUE_ERROR, "%s: Expected floating point type, got %s.", cls,
                        ck_dtype_name(t->dtype));
    if (t->size > 0 && !t->data)
        return ck_error(CK_VALUE_ERROR, "%s: the tensor has no data (symbolic?)", cls);
    int64_t n = t->size;
    ck_rng rng;
    switch (in->kind) {
    case I_ZEROS:
    case I_ONES:
        for (int64_t i = 0; i < n; i++) put(t, i, in->kind == I_ONES);
        return CK_OK;
    case I_CONSTANT:
        if (in->value) {
            int64_t count = 0, i = 0;
            count_numbers(in->value, &count);
            if (count == 1) {
                flatten_values(in->value, t, &i);
                for (i = 1; i < n; i++) put(t, i, ck_tensor_get(t, 0));
            } else if (count == n) {
                flatten_values(in->value, t, &i);
            } else {
                return ck_error(CK_VALUE_ERROR, "Constant: %lld values do not fit the shape %s "
                                "(%lld elements)", (long long)count,
                                ck_shape_str(sb, sizeof sb, t->rank, t->shape), (long long)n);
            }
            return CK_OK;
        }
        for (int64_t i = 0; i < n; i++) put(t, i, in->p[0]);
        return CK_OK;
    case I_IDENTITY:
        if (t->rank != 2)
            return ck_error(CK_VALUE_ERROR, "Identity matrix initializer can only be used for 2D "
                            "matrices. Received: shape=%s of rank %d.",
                            ck_shape_str(sb, sizeof sb, t->rank, t->shape), t->rank);
        for (int64_t i = 0; i < t->shape[0]; i++)
            for (int64_t j = 0; j < t->shape[1]; j++)
                put(t, i * t->shape[1] + j, i == j ? in->p[0] : 0.0);
        return CK_OK;
    case I_ORTHOGONAL: {
        if (t->rank < 2)
            return ck_error(CK_VALUE_ERROR, "The tensor to initialize must be at least "
                            "two-dimensional. Received: shape=%s of rank %d.",
                            ck_shape_str(sb, sizeof sb, t->rank, t->shape), t->rank);
        int64_t cols = t->shape[t->rank - 1];
        if (n == 0) return CK_OK;
        ck_rng_for_call(&rng, in->has_seed, in->seed);
        return orthogonal(in, &rng, t, n / cols, cols);
    }
    default: break;
    }

    if (in->kind == I_RANDOM_UNIFORM && !is_float) {
        double lo = trunc(in->p[0]), hi = trunc(in->p[1]);
        if (!(hi > lo))
            return ck_error(CK_VALUE_ERROR, "RandomUniform: Need minval < maxval for an integer "
                            "dtype, got minval=%g maxval=%g", lo, hi);
        ck_rng_for_call(&rng, in->has_seed, in->seed);
        double range = hi - lo;
        for (int64_t i = 0; i < n; i++) {
            double v = lo + floor(ck_rng_uniform(&rng) * range);
            put(t, i, v < hi ? v : hi - 1);
        }
        return CK_OK;
    }

    /* The random float families: mean + stddev * z or a uniform range. */
    double scale = in->p[0];
    int mode = in->mode, dist = in->dist;
    double mean = 0, stddev = 0, lo = 0, hi = 0;
    int family; /* 0 normal, 1 truncated, 2 uniform */
    switch (in->kind) {
    case I_RANDOM_NORMAL: family = 0; mean = in->p[0]; stddev = in->p[1]; break;
    case I_TRUNCATED_NORMAL: family = 1; mean = in->p[0]; stddev = in->p[1]; break;
    case I_RANDOM_UNIFORM: family = 2; lo = in->p[0]; hi = in->p[1]; break;
    default: {
        if (in->kind != I_VARIANCE_SCALING) variant(in->kind, &scale, &mode, &dist);
        double fan_in, fan_out, f;
        ck_compute_fans(t->rank, t->shape, &fan_in, &fan_out);
        f = mode == MODE_FAN_IN ? fan_in : mode == MODE_FAN_OUT ? fan_out : (fan_in + fan_out) / 2;
        double s = scale / (f > 1 ? f : 1);
        if (dist == DIST_TRUNCATED) {
            family = 1;
            stddev = sqrt(s) / 0.87962566103423978; /* std of N(0,1) cut at +-2 */
        } else if (dist == DIST_UNTRUNCATED) {
            family = 0;
            stddev = sqrt(s);
        } else {
            family = 2;
            hi = sqrt(3.0 * s);
            lo = -hi;
        }
    }
    }
    ck_rng_for_call(&rng, in->has_seed, in->seed);
    for (int64_t i = 0; i < n; i++) {
        double v = family == 0   ? mean + stddev * ck_rng_normal(&rng)
                   : family == 1 ? mean + stddev * truncated(&rng)
                                 : lo + (hi - lo) * ck_rng_uniform(&rng);
        put(t, i, v);
    }
    return CK_OK;
}
