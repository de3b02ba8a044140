/* Weight initializers: Keras names and configs <-> C objects (filling
 * tensors is in initializer_fill.c). */
#include <math.h>
#include <string.h>

#include "params/initializer_impl.h"
#include "params/util.h"

static const char *const mode_names[] = {"fan_in", "fan_out", "fan_avg"};
static const char *const dist_names[] = {"truncated_normal", "untruncated_normal", "uniform"};

const char *const ck_init_class_names[I_KIND_COUNT] = {
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

static int lookup(const char *name, init_kind *kind)
{
    for (int k = 0; k < I_KIND_COUNT; k++)
        if (strcmp(name, ck_init_class_names[k]) == 0) {
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
            ck_init_variant(kind, &in->p[0], &in->mode, &in->dist);
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

/* input_axes / output_axes (Keras 3.15+): null or a list of axis ints. */
static ck_status read_fan_axes(const json_t *cfg, const char *cls, struct ck_initializer *in)
{
    static const char *const keys[2] = {"input_axes", "output_axes"};
    for (int k = 0; k < 2; k++) {
        const json_t *v = cfg ? json_object_get(cfg, keys[k]) : NULL;
        if (!v || json_is_null(v)) continue;
        size_t n = json_array_size(v);
        if (!json_is_array(v) || n == 0 || n > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "%s: '%s' must be None or a list of at most %d axes, got %s", cls,
                            keys[k], CK_MAX_RANK, ck_params_describe(v));
        for (size_t i = 0; i < n; i++) {
            const json_t *a = json_array_get(v, i);
            if (!json_is_integer(a) || json_integer_value(a) < -CK_MAX_RANK || json_integer_value(a) >= CK_MAX_RANK)
                return ck_error(CK_VALUE_ERROR, "%s: '%s' must hold axis integers, got %s", cls, keys[k],
                                ck_params_describe(v));
            in->axes[k][i] = (int)json_integer_value(a);
        }
        in->n_axes[k] = (int)n;
    }
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
int ck_init_count_numbers(const json_t *v, int64_t *n)
{
    if (json_is_number(v) || json_is_boolean(v)) {
        (*n)++;
        return 1;
    }
    if (!json_is_array(v)) return 0;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!ck_init_count_numbers(json_array_get(v, i), n)) return 0;
    return 1;
}

static ck_status parse_config(struct ck_initializer *in, const char *cls, const json_t *cfg)
{
    static const char *const k_none[] = {NULL};
    static const char *const k_seed[] = {"seed", NULL};
    static const char *const k_normal[] = {"mean", "stddev", "seed", NULL};
    static const char *const k_uniform[] = {"minval", "maxval", "seed", NULL};
    static const char *const k_vs[] = {"scale", "mode", "distribution", "seed", "input_axes", "output_axes", NULL};
    static const char *const k_vs_variant[] = {"seed", "input_axes", "output_axes", NULL};
    static const char *const k_orth[] = {"gain", "seed", NULL};
    static const char *const k_gain[] = {"gain", NULL};
    static const char *const k_const[] = {"value", NULL};
    static const char *const k_const_ignored[] = {"dtype", "verify_shape", NULL};
    if (cfg && !json_is_object(cfg))
        return ck_error(CK_TYPE_ERROR, "%s config must be a dict, got %s", cls,
                        ck_params_describe(cfg));
    switch (in->kind) {
    case I_ZEROS:
    case I_ONES: return ck_params_check_keys(cfg, cls, k_none, dtype_ignored);
    case I_CONSTANT: {
        CK_TRY(ck_params_check_keys(cfg, cls, k_const, k_const_ignored));
        const json_t *v = cfg ? json_object_get(cfg, "value") : NULL;
        if (!v || json_is_null(v)) return CK_OK;
        int64_t n = 0;
        if (!ck_init_count_numbers(v, &n) || n == 0)
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
        CK_TRY(ck_params_check_keys(cfg, cls, k_vs, dtype_ignored));
        CK_TRY(ck_params_number(cfg, cls, "scale", 1, &in->p[0], &in->p_int[0]));
        if (!(in->p[0] > 0)) {
            char b[32];
            return ck_error(CK_VALUE_ERROR, "`scale` must be positive float. Received: scale=%s",
                            ck_float_repr(in->p[0], b, sizeof b));
        }
        CK_TRY(read_choice(cfg, "mode", mode_names, 3, 0, &in->mode));
        CK_TRY(read_choice(cfg, "distribution", dist_names, 3, 1, &in->dist));
        CK_TRY(read_fan_axes(cfg, cls, in));
        return read_seed(cfg, cls, in);
    case I_ORTHOGONAL:
        CK_TRY(ck_params_check_keys(cfg, cls, k_orth, dtype_ignored));
        CK_TRY(ck_params_number(cfg, cls, "gain", 1, &in->p[0], &in->p_int[0]));
        return read_seed(cfg, cls, in);
    case I_IDENTITY:
        CK_TRY(ck_params_check_keys(cfg, cls, k_gain, dtype_ignored));
        return ck_params_number(cfg, cls, "gain", 1, &in->p[0], &in->p_int[0]);
    default:
        if (in->kind >= I_GLOROT_UNIFORM && in->kind <= I_LECUN_NORMAL) {
            CK_TRY(ck_params_check_keys(cfg, cls, k_vs_variant, dtype_ignored));
            CK_TRY(read_fan_axes(cfg, cls, in));
            return read_seed(cfg, cls, in);
        }
        CK_TRY(ck_params_check_keys(cfg, cls, k_seed, dtype_ignored));
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
    ck_status st = parse_config(&tmp, ck_init_class_names[kind], cfg);
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
    return ck_init_class_names[init->kind];
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
    static const char *const axes_keys[2] = {"input_axes", "output_axes"};
    for (int k = 0; k < 2; k++) {
        if (!in->n_axes[k]) continue;
        json_t *list = json_array();
        for (int i = 0; list && i < in->n_axes[k]; i++)
            bad |= json_array_append_new(list, json_integer(in->axes[k][i])) != 0;
        bad |= ck_params_set(c, axes_keys[k], list);
    }
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return ck_params_wrap(ck_init_class_names[in->kind], c);
}

char *ck_initializer_config(const ck_initializer *init)
{
    CK_NEED_OR(init, NULL);
    json_t *j = ck_initializer_to_json(init);
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    return s;
}
