/* Activation functions: Keras names <-> C objects, and their arithmetic. */
#include <math.h>
#include <string.h>

#include "params/activation_impl.h"
#include "params/dialect.h"
#include "params/groups.h"
#include "params/params.h"
#include "params/util.h"
#include "ops/thread_pool.h"

/* Every accepted name and the name it serialises as. */
static const struct {
    const char *name;
    act_kind kind;
    const char *canonical;
} act_names[] = {
    {"linear", A_LINEAR, "linear"},
    {"relu", A_RELU, "relu"},
    {"elu", A_ELU, "elu"},
    {"selu", A_SELU, "selu"},
    {"softplus", A_SOFTPLUS, "softplus"},
    {"softsign", A_SOFTSIGN, "softsign"},
    {"sigmoid", A_SIGMOID, "sigmoid"},
    {"hard_sigmoid", A_HARD_SIGMOID, "hard_sigmoid"},
    {"exponential", A_EXPONENTIAL, "exponential"},
    {"tanh", A_TANH, "tanh"},
    {"softmax", A_SOFTMAX, "softmax"},
    {"softmax_v2", A_SOFTMAX, "softmax"},
    {"swish", A_SWISH, "swish"},
    {"silu", A_SILU, "silu"},
    {"gelu", A_GELU, "gelu"},
    {"relu6", A_RELU6, "relu6"},
    {"leaky_relu", A_LEAKY_RELU, "leaky_relu"},
    {"mish", A_MISH, "mish"},
    {"log_softmax", A_LOG_SOFTMAX, "log_softmax"},
    {"hard_silu", A_HARD_SILU, "hard_silu"},
    {"hard_swish", A_HARD_SILU, "hard_silu"},
    {"hard_tanh", A_HARD_TANH, "hard_tanh"},
    {"log_sigmoid", A_LOG_SIGMOID, "log_sigmoid"},
    {"celu", A_CELU, "celu"},
};


static const double SELU_ALPHA = CK_SELU_ALPHA;
static const double SELU_SCALE = CK_SELU_SCALE;

static int lookup(const char *name, act_kind *kind, const char **canonical)
{
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (strcmp(name, act_names[i].name) == 0) {
            *kind = act_names[i].kind;
            *canonical = act_names[i].canonical;
            return 1;
        }
    return 0;
}

static ck_status unknown(const char *name)
{
    return ck_error(CK_VALUE_ERROR, "Unknown activation function: '%s'. Please ensure you "
                    "are using a `keras.utils.custom_object_scope` and that this object is "
                    "included in the scope.", name);
}

/* Fills `a` (not yet allocated) from name and opts, validating both;
 * `keras3`: the name as Keras 3 means it. */
static ck_status build_in(struct ck_activation *a, const char *name, const ck_activation_opts *opts, int keras3)
{
    static const ck_activation_opts zero;
    if (!opts) opts = &zero;
    if (!name || !*name) name = "linear";
    act_kind kind;
    const char *canonical;
    if (!lookup(name, &kind, &canonical)) return unknown(name);
    memset(a, 0, sizeof *a);
    if (kind == A_HARD_SIGMOID && keras3) kind = A_HARD_SIGMOID_K3;
    a->kind = kind;
    a->name = canonical;
    switch (kind) {
    case A_RELU:
        if (opts->alpha.set) a->alpha = opts->alpha.value;
        a->has_max_value = opts->max_value.set && !isnan(opts->max_value.value);
        if (a->has_max_value) a->max_value = opts->max_value.value;
        a->threshold = opts->threshold;
        if (!isfinite(a->alpha) || !isfinite(a->threshold))
            return ck_error(CK_VALUE_ERROR, "relu: alpha and threshold must be finite, got %g and %g",
                            a->alpha, a->threshold);
        break;
    case A_ELU:
    case A_CELU:
        a->alpha = opts->alpha.set ? opts->alpha.value : 1.0;
        if (kind == A_CELU && a->alpha == 0)
            return ck_error(CK_VALUE_ERROR, "celu: alpha must not be 0");
        break;
    case A_LEAKY_RELU: a->alpha = opts->alpha.set ? opts->alpha.value : 0.2; break;
    case A_SOFTMAX:
    case A_LOG_SOFTMAX:
        if (opts->naxes < 0 || opts->naxes > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "%s: naxes must be 0 to %d, got %d", canonical,
                            CK_MAX_RANK, opts->naxes);
        a->naxes = opts->naxes ? opts->naxes : 1;
        a->axes[0] = -1;
        for (int i = 0; i < opts->naxes; i++) a->axes[i] = opts->axes[i];
        break;
    case A_GELU: a->approximate = opts->approximate; break;
    default: break;
    }
    return CK_OK;
}

/* The C API and the advanced-activation layers use the tf.keras names. */
static ck_status build(struct ck_activation *a, const char *name, const ck_activation_opts *opts)
{
    return build_in(a, name, opts, 0);
}

ck_status ck_activation_new(ck_activation **out, const char *name,
                            const ck_activation_opts *opts)
{
    CK_NEED(out);
    struct ck_activation tmp;
    CK_TRY(build(&tmp, name, opts));
    ck_activation *a = ck_malloc(sizeof *a);
    if (!a) return ck_oom("an activation");
    *a = tmp;
    *out = a;
    return CK_OK;
}

ck_status ck_activation_copy(ck_activation **out, const ck_activation *a)
{
    CK_NEED(out);
    CK_NEED(a);
    ck_activation *c = ck_malloc(sizeof *c);
    if (!c) return ck_oom("an activation");
    *c = *a;
    *out = c;
    return CK_OK;
}

void ck_activation_free(ck_activation *a) { ck_free(a); }

const char *ck_activation_name(const ck_activation *a) {
    CK_NEED_OR(a, NULL);
    return a->name;
}

void ck_activation_get_opts(const ck_activation *a, ck_activation_opts *opts)
{
    CK_NEED_VOID(a);
    CK_NEED_VOID(opts);
    memset(opts, 0, sizeof *opts);
    opts->alpha.set = a->kind == A_RELU ? a->alpha != 0
                      : (a->kind == A_ELU || a->kind == A_CELU || a->kind == A_LEAKY_RELU);
    opts->alpha.value = a->alpha;
    opts->max_value.set = a->has_max_value;
    opts->max_value.value = a->has_max_value ? a->max_value : 0;
    opts->threshold = a->threshold;
    if (a->kind == A_SOFTMAX || a->kind == A_LOG_SOFTMAX) {
        opts->naxes = a->naxes;
        memcpy(opts->axes, a->axes, sizeof opts->axes);
    }
    opts->approximate = a->approximate;
}

/* ---- JSON --------------------------------------------------------------- */

static const char *const layer_ignored[] = {"name", "trainable", "dtype", "batch_input_shape",
                                            "batch_shape", "input_shape", NULL};

/* Reads an int or a list of ints into axes. */
static ck_status read_axes(const json_t *v, const char *cls, int *axes, int *naxes)
{
    if (json_is_integer(v)) {
        axes[0] = (int)json_integer_value(v);
        *naxes = 1;
        return CK_OK;
    }
    if (json_is_array(v) && json_array_size(v) >= 1 && json_array_size(v) <= CK_MAX_RANK) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_integer(e)) goto bad;
            axes[i] = (int)json_integer_value(e);
        }
        *naxes = (int)json_array_size(v);
        return CK_OK;
    }
bad:
    return ck_error(CK_VALUE_ERROR, "%s: 'axis' must be an int or a list of ints, got %s", cls,
                    ck_params_describe(v));
}

/* An advanced activation layer given where an activation is expected. */
static ck_status from_layer_dict(const char *cls, const json_t *cfg, struct ck_activation *a)
{
    ck_activation_opts o = {0};
    const char *name;
    if (strcmp(cls, "ReLU") == 0) {
        static const char *const keys[] = {"max_value", "negative_slope", "threshold", NULL};
        CK_TRY(ck_params_check_keys(cfg, cls, keys, layer_ignored));
        o.alpha = ck_double(0);
        CK_TRY(ck_params_number(cfg, cls, "negative_slope", 1, &o.alpha.value, NULL));
        o.max_value = ck_double(NAN);
        CK_TRY(ck_params_number(cfg, cls, "max_value", 1, &o.max_value.value, NULL));
        o.max_value.set = !isnan(o.max_value.value);
        CK_TRY(ck_params_number(cfg, cls, "threshold", 1, &o.threshold, NULL));
        name = "relu";
    } else if (strcmp(cls, "LeakyReLU") == 0) {
        static const char *const keys[] = {"alpha", "negative_slope", NULL};
        CK_TRY(ck_params_check_keys(cfg, cls, keys, layer_ignored));
        o.alpha = ck_double(0.3);
        CK_TRY(ck_params_number(cfg, cls, "alpha", 1, &o.alpha.value, NULL));
        CK_TRY(ck_params_number(cfg, cls, "negative_slope", 1, &o.alpha.value, NULL));
        name = "leaky_relu";
    } else if (strcmp(cls, "ELU") == 0) {
        static const char *const keys[] = {"alpha", NULL};
        CK_TRY(ck_params_check_keys(cfg, cls, keys, layer_ignored));
        o.alpha = ck_double(1.0);
        CK_TRY(ck_params_number(cfg, cls, "alpha", 1, &o.alpha.value, NULL));
        name = "elu";
    } else if (strcmp(cls, "ThresholdedReLU") == 0) {
        static const char *const keys[] = {"theta", NULL};
        CK_TRY(ck_params_check_keys(cfg, cls, keys, layer_ignored));
        o.threshold = 1.0;
        CK_TRY(ck_params_number(cfg, cls, "theta", 1, &o.threshold, NULL));
        name = "relu";
    } else if (strcmp(cls, "Softmax") == 0) {
        static const char *const keys[] = {"axis", NULL};
        CK_TRY(ck_params_check_keys(cfg, cls, keys, layer_ignored));
        const json_t *ax = cfg ? json_object_get(cfg, "axis") : NULL;
        if (ax && !json_is_null(ax)) CK_TRY(read_axes(ax, cls, o.axes, &o.naxes));
        name = "softmax";
    } else {
        return unknown(cls);
    }
    CK_TRY(build(a, name, &o));
    /* A static name: cls belongs to the caller's JSON. */
    a->layer_class = strcmp(name, "relu") == 0         ? "ReLU"
                     : strcmp(name, "leaky_relu") == 0 ? "LeakyReLU"
                     : strcmp(name, "elu") == 0        ? "ELU"
                                                       : "Softmax";
    return CK_OK;
}

ck_status ck_activation_from_json(const json_t *j, ck_activation **out)
{
    struct ck_activation tmp;
    if (!j || json_is_null(j)) {
        CK_TRY(build(&tmp, "linear", NULL));
    } else {
        const char *name;
        const json_t *cfg;
        CK_TRY(ck_params_unwrap(j, "activation function", &name, &cfg));
        act_kind kind;
        const char *canonical;
        /* a name from a Keras 3 config means what Keras 3 means by it */
        const int keras3 = ck_dialect_current() == CK_DIALECT_KERAS3;
        if (json_is_string(j)) {
            CK_TRY(build_in(&tmp, name, NULL, keras3));
        } else if (strcmp(name, "function") == 0 && json_is_string(cfg)) {
            /* Keras 3 writes plain functions as {"class_name": "function",
             * "config": "relu", ...}: only Keras 3 does. */
            CK_TRY(build_in(&tmp, json_string_value(cfg), NULL, 1));
        } else if (lookup(name, &kind, &canonical)) {
            CK_TRY(build_in(&tmp, name, NULL, keras3));
        } else {
            CK_TRY(from_layer_dict(name, cfg, &tmp));
        }
    }
    ck_activation *a = ck_malloc(sizeof *a);
    if (!a) return ck_oom("an activation");
    *a = tmp;
    *out = a;
    return CK_OK;
}

static json_t *axes_json(const ck_activation *a)
{
    if (a->naxes == 1) return json_integer(a->axes[0]);
    json_t *l = json_array();
    for (int i = 0; l && i < a->naxes; i++)
        if (json_array_append_new(l, json_integer(a->axes[i])) != 0) {
            json_decref(l);
            return NULL;
        }
    return l;
}

json_t *ck_activation_to_json(const ck_activation *a)
{
    if (!a) return json_string("linear");
    /* ckeras writes tf.keras 2.x configs, where "hard_sigmoid" is the other
     * function: Keras 3's goes out in Keras 3's function form, which
     * ckeras and Keras 3 read as it, and tf.keras refuses ("Unknown
     * activation function") rather than silently computing another one. */
    if (a->kind == A_HARD_SIGMOID_K3)
        return json_pack("{s:s, s:s, s:s, s:s}", "module", "keras.activations", "class_name", "function", "config",
                         "hard_sigmoid", "registered_name", "function");
    const char *cls = a->layer_class;
    /* Parameters a plain function string cannot carry go out as the
     * equivalent advanced activation layer. */
    if (!cls) {
        if (a->kind == A_RELU && (a->alpha != 0 || a->has_max_value || a->threshold != 0))
            cls = "ReLU";
        else if (a->kind == A_ELU && a->alpha != 1.0) cls = "ELU";
        else if (a->kind == A_LEAKY_RELU && a->alpha != 0.2) cls = "LeakyReLU";
        else if (a->kind == A_SOFTMAX && !(a->naxes == 1 && a->axes[0] == -1)) cls = "Softmax";
    }
    if (!cls) return json_string(a->name);
    json_t *cfg = json_object();
    int bad = 0;
    if (strcmp(cls, "ReLU") == 0) {
        bad |= ck_params_set(cfg, "max_value",
                             a->has_max_value ? json_real(a->max_value) : json_null());
        bad |= ck_params_set(cfg, "negative_slope", json_real(a->alpha));
        bad |= ck_params_set(cfg, "threshold", json_real(a->threshold));
    } else if (strcmp(cls, "Softmax") == 0) {
        bad |= ck_params_set(cfg, "axis", axes_json(a));
    } else {
        bad |= ck_params_set(cfg, "alpha", json_real(a->alpha));
    }
    if (bad) {
        json_decref(cfg);
        return NULL;
    }
    return ck_params_wrap(cls, cfg);
}

/* ---- Arithmetic --------------------------------------------------------- */

static inline double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static inline double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static inline double clip(double x, double lo, double hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* max(x, 0) that keeps NaN, as TensorFlow's relu does (fmax and "x > 0 ?"
 * would turn NaN into 0 and hide NaN weights, which tf.keras shows). */
static inline double relu0(double x) { return x > 0 || isnan(x) ? x : 0.0; }

/* Keras' relu(x, alpha, max_value, threshold), step by step; NaN stays NaN
 * through every branch as in TensorFlow (x * cast(x > threshold) is NaN). */
static inline double relu_full(const ck_activation *a, double x)
{
    if (a->alpha != 0 && !a->has_max_value && a->threshold == 0) return x > 0 ? x : a->alpha * x;
    double neg = 0;
    if (a->alpha != 0) neg = a->threshold != 0 ? relu0(a->threshold - x) : relu0(-x);
    int clip_max = a->has_max_value;
    if (a->threshold != 0) {
        x = x > a->threshold || isnan(x) ? x : 0.0;
    } else if (a->has_max_value && a->max_value == 6) {
        x = clip(x, 0, 6);
        clip_max = 0;
    } else {
        x = relu0(x);
    }
    if (clip_max) x = clip(x, 0, a->max_value);
    if (a->alpha != 0) x -= a->alpha * neg;
    return x;
}

#define GELU_C 0.7978845608028654 /* sqrt(2/pi) */

#define EW_LOOP(T, EXPR)                                                     \
    for (int64_t i = 0; i < n; i++) {                                        \
        double x = (double)src[i];                                           \
        dst[i] = (T)(EXPR);                                                  \
    }

#define EW_BODY(T)                                                           \
    switch (a->kind) {                                                       \
    case A_LINEAR: EW_LOOP(T, x); break;                                     \
    case A_RELU:                                                             \
        if (a->alpha == 0 && !a->has_max_value && a->threshold == 0)         \
            EW_LOOP(T, relu0(x))                                             \
        else EW_LOOP(T, relu_full(a, x))                                     \
        break;                                                               \
    case A_ELU: EW_LOOP(T, x > 0 ? x : a->alpha * expm1(x)); break;          \
    case A_SELU:                                                             \
        EW_LOOP(T, SELU_SCALE * (x > 0 ? x : SELU_ALPHA * expm1(x))); break; \
    case A_SOFTPLUS: EW_LOOP(T, softplus(x)); break;                         \
    case A_SOFTSIGN: EW_LOOP(T, x / (fabs(x) + 1.0)); break;                 \
    case A_SIGMOID: EW_LOOP(T, sigmoid(x)); break;                           \
    case A_HARD_SIGMOID: EW_LOOP(T, clip(0.2 * x + 0.5, 0, 1)); break;       \
    case A_HARD_SIGMOID_K3: EW_LOOP(T, clip(x + 3.0, 0, 6) / 6.0); break;    \
    case A_EXPONENTIAL: EW_LOOP(T, exp(x)); break;                           \
    case A_TANH: EW_LOOP(T, tanh(x)); break;                                 \
    case A_SWISH:                                                            \
    case A_SILU: EW_LOOP(T, x * sigmoid(x)); break;                          \
    case A_GELU:                                                             \
        if (a->approximate)                                                  \
            EW_LOOP(T, 0.5 * x * (1.0 + tanh(GELU_C * (x + 0.044715 * x * x * x)))) \
        else EW_LOOP(T, 0.5 * x * (1.0 + erf(x * 0.70710678118654752440)))                \
        break;                                                               \
    case A_RELU6: EW_LOOP(T, clip(x, 0, 6)); break;                          \
    case A_LEAKY_RELU: EW_LOOP(T, x > 0 ? x : a->alpha * x); break;          \
    case A_MISH: EW_LOOP(T, x * tanh(softplus(x))); break;                   \
    case A_HARD_SILU: EW_LOOP(T, x * clip(x + 3.0, 0, 6) / 6.0); break;      \
    case A_HARD_TANH: EW_LOOP(T, clip(x, -1, 1)); break;                     \
    case A_LOG_SIGMOID: EW_LOOP(T, -softplus(-x)); break;                    \
    case A_CELU:                                                             \
        EW_LOOP(T, x > 0 ? x : a->alpha * expm1(x / a->alpha)); break;       \
    case A_SOFTMAX:                                                          \
    case A_LOG_SOFTMAX: break;                                               \
    }

static void ew_f32(const ck_activation *a, const float *src, float *dst, int64_t n)
{
    if (a->kind == A_RELU && a->alpha == 0 && !a->has_max_value && a->threshold == 0) {
        /* relu0 in float: the same values (float -> double -> float is
         * exact), in a loop the compiler vectorises */
        for (int64_t i = 0; i < n; i++) {
            const float v = src[i];
            dst[i] = v > 0 || v != v ? v : 0.0f;
        }
        return;
    }
    EW_BODY(float)
}

static void ew_f64(const ck_activation *a, const double *src, double *dst, int64_t n)
{
    EW_BODY(double)
}

/* Max-shifted softmax / log_softmax per group.  Element o of src is read
 * before dst[o] is written and never after, so src may equal dst.  softmax
 * stores exp(x - max) and rescales it (one exp per element); log_softmax
 * writes x - max - log(sum). */
#define SOFTMAX_BODY(T)                                                      \
    for (int64_t k = 0; k < g->ngroups; k++) {                               \
        int64_t base = ck_groups_base(g, k);                                 \
        double mx = -INFINITY, sum = 0;                                      \
        for (int64_t j = 0; j < g->gsize; j++) {                             \
            double v = (double)src[base + ck_groups_at(g, j)];               \
            if (v > mx) mx = v;                                              \
        }                                                                    \
        if (isinf(mx)) mx = 0; /* all -inf, or +inf present: as unshifted */ \
        if (log_) {                                                          \
            for (int64_t j = 0; j < g->gsize; j++)                           \
                sum += exp((double)src[base + ck_groups_at(g, j)] - mx);     \
            double lse = log(sum);                                           \
            for (int64_t j = 0; j < g->gsize; j++) {                         \
                int64_t o = base + ck_groups_at(g, j);                       \
                dst[o] = (T)((double)src[o] - mx - lse);                     \
            }                                                                \
        } else {                                                             \
            for (int64_t j = 0; j < g->gsize; j++) {                         \
                int64_t o = base + ck_groups_at(g, j);                       \
                double e = exp((double)src[o] - mx);                         \
                sum += e;                                                    \
                dst[o] = (T)e;                                               \
            }                                                                \
            double inv = 1.0 / sum;                                          \
            for (int64_t j = 0; j < g->gsize; j++) {                         \
                int64_t o = base + ck_groups_at(g, j);                       \
                dst[o] = (T)((double)dst[o] * inv);                          \
            }                                                                \
        }                                                                    \
    }

static void softmax_f32(const ck_groups *g, int log_, const float *src, float *dst)
{
    SOFTMAX_BODY(float)
}

static void softmax_f64(const ck_groups *g, int log_, const double *src, double *dst)
{
    SOFTMAX_BODY(double)
}

/* Elementwise passes over large tensors go to ckeras' thread pool (each
 * element is independent, so the result does not depend on the split).
 * The work is counted in floating-point operations per element: the
 * piecewise-linear activations cost about one and are limited by memory,
 * the others call exp/tanh/erf (some tens). */
#define EW_GRAIN 4096

typedef struct ew_job {
    const ck_activation *a;
    ck_dtype dtype;
    const void *src;
    void *dst;
} ew_job;

static double ew_cost(act_kind k)
{
    switch (k) {
    case A_LINEAR: case A_RELU: case A_HARD_SIGMOID: case A_HARD_SIGMOID_K3: case A_RELU6: case A_LEAKY_RELU:
    case A_HARD_SILU: case A_HARD_TANH: return 1;
    default: return 20;
    }
}

static void ew_part(void *arg, int64_t b, int64_t e)
{
    const ew_job *j = arg;
    if (j->dtype == CK_FLOAT32) ew_f32(j->a, (const float *)j->src + b, (float *)j->dst + b, e - b);
    else ew_f64(j->a, (const double *)j->src + b, (double *)j->dst + b, e - b);
}

static ck_status apply_view(const ck_activation *a, ck_dtype dtype, int rank,
                            const int64_t *shape, int64_t n, const void *src, void *dst)
{
    if (a->kind == A_SOFTMAX || a->kind == A_LOG_SOFTMAX) {
        if (a->kind == A_SOFTMAX && rank <= 1) {
            char buf[64];
            return ck_error(CK_VALUE_ERROR, "Cannot apply softmax to a tensor that is 1D. "
                            "Received input shape: %s", ck_shape_str(buf, sizeof buf, rank, shape));
        }
        ck_groups g;
        CK_TRY(ck_groups_init(&g, rank, shape, a->axes, a->naxes, a->name));
        int log_ = a->kind == A_LOG_SOFTMAX;
        if (dtype == CK_FLOAT32) softmax_f32(&g, log_, src, dst);
        else softmax_f64(&g, log_, src, dst);
        return CK_OK;
    }
    ew_job job = {a, dtype, src, dst};
    ck_pool_for(n, EW_GRAIN, (double)n * ew_cost(a->kind), ew_part, &job);
    return CK_OK;
}

static ck_status check_float(const ck_activation *a, ck_dtype dtype)
{
    if (dtype != CK_FLOAT32 && dtype != CK_FLOAT64)
        return ck_error(CK_TYPE_ERROR, "activation '%s' needs a float32 or float64 tensor, got %s",
                        a->name, ck_dtype_name(dtype));
    return CK_OK;
}

ck_status ck_activation_apply(const ck_activation *a, const ck_tensor *x, ck_tensor *out)
{
    CK_NEED(a);
    CK_NEED(x);
    CK_NEED(out);
    CK_TRY(check_float(a, x->dtype));
    int same = out->dtype == x->dtype && out->rank == x->rank;
    for (int i = 0; same && i < x->rank; i++) same = out->shape[i] == x->shape[i];
    if (!same) {
        char b1[96], b2[96];
        return ck_error(CK_VALUE_ERROR, "activation '%s': output tensor %s %s does not match "
                        "the input %s %s", a->name, ck_dtype_name(out->dtype),
                        ck_shape_str(b1, sizeof b1, out->rank, out->shape),
                        ck_dtype_name(x->dtype), ck_shape_str(b2, sizeof b2, x->rank, x->shape));
    }
    if (x->size > 0 && (!x->data || !out->data))
        return ck_error(CK_VALUE_ERROR, "activation '%s': the tensor has no data (symbolic?)",
                        a->name);
    return apply_view(a, x->dtype, x->rank, x->shape, x->size, x->data, out->data);
}

ck_status ck_activation_apply_rows(const ck_activation *a, ck_dtype dtype, void *data,
                                   int64_t rows, int64_t cols)
{
    CK_NEED(a);
    if (rows > 0 && cols > 0) CK_NEED(data);
    CK_TRY(check_float(a, dtype));
    int64_t shape[2] = {rows, cols}, n;
    CK_TRY(ck_shape_count(dtype, 2, shape, &n));
    if (n > 0 && !data)
        return ck_error(CK_VALUE_ERROR, "activation '%s': data is NULL", a->name);
    return apply_view(a, dtype, 2, shape, n, data, data);
}
