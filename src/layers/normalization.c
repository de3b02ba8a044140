/* keras.layers.Normalization (TF2.6+ / Keras 3 form) at inference:
 * (x - mean) / max(sqrt(variance), epsilon), or the inverse.  mean and
 * variance are either given in the config (constants) or the adaptable
 * weights mean / variance / count.  The per-position mean and denominator
 * are kept in buffers made at build and refreshed on each call.  Its
 * weights are not trainable, so backward gives the input's gradient only:
 * dy / den (dy * den inverted), den saved by the training call. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer_args.h"

/* tf.keras backend.epsilon(). */
#define CK_BACKEND_EPSILON 1e-7

typedef struct ck_norm_layer {
    ck_layer base;
    int naxes;                      /* 0: axis=None, i.e. () */
    int axes[CK_MAX_RANK];
    int invert;
    json_t *mean_json, *var_json;   /* as given (get_config writes them back), or NULL */
    double *mean_vals, *var_vals;   /* flattened given values */
    int64_t n_vals;
    /* after build */
    ck_weight *mean_w, *var_w, *count_w;
    int rank;
    int64_t keep_dims[CK_MAX_RANK]; /* -1 off the kept axes */
    int64_t pstride[CK_MAX_RANK];
    int64_t n_params;
    void *mean_buf, *den_buf;       /* n_params values each, layer dtype */
} ck_norm_layer;

typedef struct norm_args {
    int naxes, axes[CK_MAX_RANK], invert;
    json_t *mean_json, *var_json;
    double *mean_vals, *var_vals;
    int64_t n_vals;
} norm_args;

static void args_free(norm_args *a)
{
    json_decref(a->mean_json);
    json_decref(a->var_json);
    ck_free(a->mean_vals);
    ck_free(a->var_vals);
}

static void norm_destroy(ck_layer *layer)
{
    ck_norm_layer *m = (ck_norm_layer *)layer;
    json_decref(m->mean_json);
    json_decref(m->var_json);
    ck_free(m->mean_vals);
    ck_free(m->var_vals);
    ck_free(m->mean_buf);
    ck_free(m->den_buf);
}

static void axes_fmt(const ck_norm_layer *m, char *buf, size_t n)
{
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < m->naxes && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%d", i ? ", " : "", m->axes[i]);
    if (k < n) snprintf(buf + k, n - k, m->naxes == 1 ? ",)" : ")");
}

static ck_status norm_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_norm_layer *m = (ck_norm_layer *)layer;
    const ck_shape *s = &shapes[0];
    char ax[96], sh[128];
    (void)n;
    int ndim = s->rank, keep[CK_MAX_RANK] = {0};
    for (int i = 0; i < m->naxes; i++) {
        int a = m->axes[i];
        if (a < -ndim || a >= ndim) {
            axes_fmt(m, ax, sizeof ax);
            return ck_error(CK_VALUE_ERROR, "All `axis` values must be in the range [-ndim, ndim). Found ndim: `%d`, "
                            "axis: %s (layer \"%s\")", ndim, ax, layer->name);
        }
        int d = a < 0 ? a + ndim : a;
        if (keep[d]) {
            axes_fmt(m, ax, sizeof ax);
            return ck_error(CK_VALUE_ERROR, "Normalization layer \"%s\": axis %s names dim %d twice", layer->name, ax, d);
        }
        keep[d] = 1;
    }
    ck_shape mv = {0, {0}};
    for (int d = 0; d < ndim; d++) {
        if (!keep[d]) continue;
        if (s->dims[d] < 0) {
            axes_fmt(m, ax, sizeof ax);
            return ck_error(CK_VALUE_ERROR, "All `axis` values to be kept must have known shape. Got axis: %s, input "
                            "shape: %s, with unknown axis at index: %d", ax, ck_arg_list_fmt(sh, sizeof sh, s->dims, ndim),
                            d);
        }
        mv.dims[mv.rank++] = s->dims[d];
    }
    int64_t count = 1;
    CK_TRY(ck_shape_count(layer->dtype, mv.rank, mv.dims, &count));
    if (m->mean_vals && m->n_vals != 1 && m->n_vals != count)
        return ck_error(CK_VALUE_ERROR, "Normalization layer \"%s\": the given mean and variance have %lld values, "
                        "which cannot be broadcast to the kept shape %s", layer->name, (long long)m->n_vals,
                        ck_shape_fmt(sh, sizeof sh, &mv));
    size_t bytes = (size_t)(count ? count : 1) * ck_dtype_size(layer->dtype);
    void *mean_buf = ck_malloc(bytes), *den_buf = ck_malloc(bytes);
    ck_status st = (mean_buf && den_buf) ? CK_OK : ck_oom("Normalization coefficients");
    ck_weight *wm = NULL, *wv = NULL, *wc = NULL;
    if (st == CK_OK && !m->mean_vals) {
        ck_initializer *zeros = NULL, *ones = NULL;
        st = ck_initializer_new(&zeros, "zeros");
        if (st == CK_OK) st = ck_initializer_new(&ones, "ones");
        if (st == CK_OK) st = ck_layer_add_weight_with(layer, "mean", &mv, layer->dtype, zeros, NULL, NULL, false, &wm);
        if (st == CK_OK)
            st = ck_layer_add_weight_with(layer, "variance", &mv, layer->dtype, ones, NULL, NULL, false, &wv);
        ck_shape scalar = {0, {0}};
        if (st == CK_OK) st = ck_layer_add_weight_with(layer, "count", &scalar, CK_INT64, zeros, NULL, NULL, false, &wc);
        ck_initializer_free(zeros);
        ck_initializer_free(ones);
    }
    if (st != CK_OK) {
        ck_free(mean_buf);
        ck_free(den_buf);
        return st;
    }
    m->mean_w = wm, m->var_w = wv, m->count_w = wc;
    m->mean_buf = mean_buf, m->den_buf = den_buf;
    m->n_params = count;
    m->rank = ndim;
    int64_t stride = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        m->pstride[d] = keep[d] ? stride : 0;
        m->keep_dims[d] = keep[d] ? s->dims[d] : -1;
        if (keep[d]) stride *= s->dims[d];
    }
    return CK_OK;
}

static ck_status norm_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_norm_layer *m = (const ck_norm_layer *)layer;
    char sh[128];
    (void)n;
    if (layer->built) {
        int ok = in[0].rank == m->rank;
        for (int d = 0; ok && d < m->rank; d++)
            ok = m->keep_dims[d] < 0 || in[0].dims[d] < 0 || in[0].dims[d] == m->keep_dims[d];
        if (!ok)
            return ck_error(CK_VALUE_ERROR, "Normalization layer \"%s\" was built for %d-D inputs with the kept dims "
                            "of its mean and variance; got an input of shape %s", layer->name, m->rank,
                            ck_shape_fmt(sh, sizeof sh, &in[0]));
    }
    *out = in[0];
    return CK_OK;
}

#define NORM_COEFFS(T, SQRT)                                                                  \
    do {                                                                                      \
        T *mb = mean_buf, *db = den_buf;                                                      \
        for (int64_t k = 0; k < m->n_params; k++) {                                           \
            T mean, var;                                                                      \
            if (m->mean_w) {                                                                  \
                mean = ((const T *)m->mean_w->value->data)[k];                                \
                var = ((const T *)m->var_w->value->data)[k];                                  \
            } else {                                                                          \
                mean = (T)m->mean_vals[m->n_vals == 1 ? 0 : k];                               \
                var = (T)m->var_vals[m->n_vals == 1 ? 0 : k];                                 \
            }                                                                                 \
            T sd = SQRT(var), eps = (T)CK_BACKEND_EPSILON;                                    \
            mb[k] = mean;                                                                     \
            db[k] = sd > eps ? sd : eps; /* tf.maximum: NaN propagates */                     \
            if (sd != sd) db[k] = sd;                                                         \
        }                                                                                     \
    } while (0)

#define NORM_APPLY(T)                                                                         \
    do {                                                                                      \
        const T *xs = x->data, *mb = mean_buf, *db = den_buf;                                 \
        T *ys = out->data;                                                                    \
        int64_t idx[CK_MAX_RANK] = {0}, p = 0;                                                \
        for (int64_t i = 0; i < x->size; i++) {                                               \
            ys[i] = m->invert ? mb[p] + xs[i] * db[p] : (xs[i] - mb[p]) / db[p];              \
            for (int d = x->rank - 1; d >= 0; d--) {                                          \
                idx[d]++;                                                                     \
                p += m->pstride[d];                                                           \
                if (idx[d] < x->shape[d]) break;                                              \
                p -= m->pstride[d] * x->shape[d];                                             \
                idx[d] = 0;                                                                   \
            }                                                                                 \
        }                                                                                     \
    } while (0)

/* Computes into the given coefficient buffers (n_params values each). */
static ck_status norm_compute(const ck_norm_layer *m, const ck_tensor *x, ck_tensor *out, void *mean_buf,
                              void *den_buf)
{
    const ck_layer *layer = &m->base;
    if (layer->dtype == CK_FLOAT32) {
        NORM_COEFFS(float, sqrtf);
        NORM_APPLY(float);
    } else {
        NORM_COEFFS(double, sqrt);
        NORM_APPLY(double);
    }
    return CK_OK;
}

static size_t norm_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_norm_layer *m = (const ck_norm_layer *)layer;
    (void)n, (void)in, (void)out;
    return 2 * (((size_t)m->n_params * ck_dtype_size(layer->dtype) + 63) / 64 * 64);
}

/* Inference: the coefficients go to the call's scratch, so that the layer
 * stays read-only while several predictors run it. */
static ck_status norm_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                                   void *scratch)
{
    size_t half = norm_scratch_bytes(layer, n, NULL, NULL) / 2;
    return norm_compute((const ck_norm_layer *)layer, in[0], outs[0], scratch, (char *)scratch + half);
}

/* ---- training: saved = the denominators of the call (n_params values) ---- */

static size_t norm_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_norm_layer *m = (const ck_norm_layer *)layer;
    (void)n, (void)out;
    size_t count = 1;
    for (int i = 0; i < m->naxes; i++) {
        int d = m->axes[i] < 0 ? m->axes[i] + in[0].rank : m->axes[i];
        if (d >= 0 && d < in[0].rank && in[0].dims[d] > 0) count *= (size_t)in[0].dims[d];
    }
    return count * ck_dtype_size(layer->dtype);
}

static ck_status norm_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 ck_tensor *const *outs, void *saved)
{
    const ck_norm_layer *m = (const ck_norm_layer *)layer;
    (void)ctx;
    (void)n;
    CK_TRY(norm_compute(m, in[0], outs[0], m->mean_buf, m->den_buf));
    memcpy(saved, m->den_buf, (size_t)m->n_params * ck_dtype_size(layer->dtype));
    return CK_OK;
}

#define NORM_BACKWARD(T)                                                                      \
    do {                                                                                      \
        const T *dys = dout->data, *db = saved;                                               \
        T *dxs = dx->data;                                                                    \
        int64_t idx[CK_MAX_RANK] = {0}, p = 0;                                                \
        for (int64_t i = 0; i < dx->size; i++) {                                              \
            dxs[i] = m->invert ? dys[i] * db[p] : dys[i] / db[p];                             \
            for (int d = dx->rank - 1; d >= 0; d--) {                                         \
                idx[d]++;                                                                     \
                p += m->pstride[d];                                                           \
                if (idx[d] < dx->shape[d]) break;                                             \
                p -= m->pstride[d] * dx->shape[d];                                            \
                idx[d] = 0;                                                                   \
            }                                                                                 \
        }                                                                                     \
    } while (0)

static ck_status norm_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_norm_layer *m = (const ck_norm_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n, (void)in, (void)out;
    if (!dx) return CK_OK;
    if (dx->dtype == CK_FLOAT32) NORM_BACKWARD(float);
    else NORM_BACKWARD(double);
    return CK_OK;
}

static ck_status norm_get_config(const ck_layer *layer, json_t *c)
{
    const ck_norm_layer *m = (const ck_norm_layer *)layer;
    /* Keras keeps axis as a tuple: a list in JSON, [] for None. */
    ck_status st = ck_json_set(c, "axis", ck_arg_axes_json(m->axes, m->naxes, 1));
    if (st == CK_OK) st = ck_json_set(c, "invert", json_boolean(m->invert));
    if (st == CK_OK) st = ck_json_set(c, "mean", m->mean_json ? json_deep_copy(m->mean_json) : json_null());
    if (st == CK_OK) st = ck_json_set(c, "variance", m->var_json ? json_deep_copy(m->var_json) : json_null());
    return st;
}

static void norm_finish(ck_layer *layer, norm_args *a)
{
    ck_norm_layer *m = (ck_norm_layer *)layer;
    m->naxes = a->naxes;
    memcpy(m->axes, a->axes, sizeof m->axes);
    m->invert = a->invert;
    m->mean_json = a->mean_json, m->var_json = a->var_json;
    m->mean_vals = a->mean_vals, m->var_vals = a->var_vals;
    m->n_vals = a->n_vals;
    memset(a, 0, sizeof *a);
}

static ck_status both_or_neither(int has_mean, int has_var)
{
    if (has_mean != has_var)
        return ck_error(CK_VALUE_ERROR, "When setting values directly, both `mean` and `variance` must be set. Got "
                        "mean: %s and variance: %s", has_mean ? "<values>" : "None", has_var ? "<values>" : "None");
    return CK_OK;
}

/* The given values as a JSON number (one value) or list. */
static json_t *values_json(const double *v, int64_t n)
{
    if (n == 1) return json_real(v[0]);
    json_t *a = json_array();
    for (int64_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_real(v[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static double *copy_values(const double *v, int64_t n)
{
    double *c = ck_malloc((size_t)n * sizeof *c);
    if (c) memcpy(c, v, (size_t)n * sizeof *c);
    return c;
}

ck_status ck_normalization(ck_layer **out, const ck_normalization_opts *o)
{
    CK_NEED(out);
    static const ck_normalization_opts defaults;
    if (!o) o = &defaults;
    if (o->naxes < 0 || o->naxes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Normalization: naxes must be 0 to %d, got %d", CK_MAX_RANK, o->naxes);
    CK_TRY(both_or_neither(o->mean != NULL, o->variance != NULL));
    if (o->mean && o->n_values < 1)
        return ck_error(CK_VALUE_ERROR, "Normalization: n_values must be >= 1 when mean and variance are given");
    norm_args a = {.naxes = o->axis_none ? 0 : (o->naxes ? o->naxes : 1), .axes = {-1}, .invert = o->invert != 0};
    if (!o->axis_none && o->naxes) memcpy(a.axes, o->axes, sizeof a.axes);
    ck_status st = CK_OK;
    if (o->mean) {
        a.n_vals = o->n_values;
        a.mean_vals = copy_values(o->mean, o->n_values);
        a.var_vals = copy_values(o->variance, o->n_values);
        a.mean_json = values_json(o->mean, o->n_values);
        a.var_json = values_json(o->variance, o->n_values);
        if (!a.mean_vals || !a.var_vals || !a.mean_json || !a.var_json) st = ck_oom("Normalization mean / variance");
    }
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_normalization_class, o, &layer);
    if (st == CK_OK) norm_finish(layer, &a);
    args_free(&a);
    if (st != CK_OK) return st;
    *out = layer;
    return CK_OK;
}

/* Counts and collects the numbers of a number or nested list. */
static ck_status flatten_values(const json_t *v, const char *key, double *dst, int64_t *n, int depth)
{
    if (json_is_number(v)) {
        if (dst) dst[*n] = json_number_value(v);
        (*n)++;
        return CK_OK;
    }
    if (!json_is_array(v) || depth > CK_MAX_RANK)
        return ck_error(CK_TYPE_ERROR, "Normalization config: `%s` must be a number or a (nested) list of numbers",
                        key);
    for (size_t i = 0; i < json_array_size(v); i++) CK_TRY(flatten_values(json_array_get(v, i), key, dst, n, depth + 1));
    return CK_OK;
}

static ck_status read_values(const json_t *v, const char *key, json_t **js, double **vals, int64_t *n)
{
    int64_t count = 0;
    CK_TRY(flatten_values(v, key, NULL, &count, 0));
    if (count < 1) return ck_error(CK_VALUE_ERROR, "Normalization config: `%s` is an empty list", key);
    *vals = ck_malloc((size_t)count * sizeof **vals);
    *js = json_deep_copy(v);
    if (!*vals || !*js) return ck_oom("Normalization mean / variance");
    *n = 0;
    return flatten_values(v, key, *vals, n, 0);
}

static ck_status norm_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"axis", "mean", "variance", "invert", "input_dtype", NULL};
    norm_args a = {.naxes = 1, .axes = {-1}};
    const json_t *ja = json_object_get(c, "axis");
    if (ja && json_is_null(ja)) {
        a.naxes = 0;
    } else {
        int is_list = 0;
        CK_TRY(ck_arg_axes(ja, "Normalization", "axis", a.axes, &a.naxes, &is_list));
    }
    CK_TRY(ck_arg_bool(json_object_get(c, "invert"), "Normalization", "invert", &a.invert));
    const json_t *jm = json_object_get(c, "mean"), *jv = json_object_get(c, "variance");
    int has_m = jm && !json_is_null(jm), has_v = jv && !json_is_null(jv);
    CK_TRY(both_or_neither(has_m, has_v));
    ck_status st = CK_OK;
    if (has_m) {
        int64_t nm = 0, nv = 0;
        st = read_values(jm, "mean", &a.mean_json, &a.mean_vals, &nm);
        if (st == CK_OK) st = read_values(jv, "variance", &a.var_json, &a.var_vals, &nv);
        if (st == CK_OK && nm != nv) {
            /* Broadcast one scalar against the other's list. */
            int64_t big = nm > nv ? nm : nv;
            if (nm != 1 && nv != 1) {
                st = ck_error(CK_VALUE_ERROR, "Normalization config: mean has %lld values and variance %lld",
                              (long long)nm, (long long)nv);
            } else {
                double **small = nm == 1 ? &a.mean_vals : &a.var_vals;
                double *wide = ck_malloc((size_t)big * sizeof *wide);
                if (!wide) {
                    st = ck_oom("Normalization mean / variance");
                } else {
                    for (int64_t i = 0; i < big; i++) wide[i] = (*small)[0];
                    ck_free(*small);
                    *small = wide;
                }
            }
            nm = big;
        }
        a.n_vals = nm;
    }
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_normalization_class, c, keys, &layer);
    if (st == CK_OK) norm_finish(layer, &a);
    args_free(&a);
    if (st != CK_OK) return st;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_normalization_class = {
    .class_name = "Normalization",
    .size = sizeof(ck_norm_layer),
    .arity = CK_ONE_INPUT,
    .cast_all_inputs = 1,
    .build = norm_build,
    .compute_output_shape = norm_output_shape,
    .call = ck_layer_call_own_scratch,
    .call_scratch_bytes = norm_scratch_bytes,
    .call_scratch = norm_call_scratch,
    .get_config = norm_get_config,
    .from_config = norm_from_config,
    .destroy = norm_destroy,
    .saved_bytes = norm_saved_bytes,
    .train_call = norm_train_call,
    .backward = norm_backward,
};
