/* keras.layers.LayerNormalization: each sample is normalised over the
 * `axis` dims, y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with
 * the mean and the biased variance of tf.nn.moments (the variance as the
 * mean of squared differences from the mean, as BatchNormalization's
 * non-fused path).  tf.keras 2.15 takes FusedBatchNormV3 instead when the
 * axes are the trailing ones, epsilon >= 1.001e-5 and the dtype float32;
 * it computes the same two moments, so one formula serves both.  The
 * moments are accumulated in double whatever the dtype, so float32 results
 * are within rounding of TF's and float64 ones exact to double precision.
 *
 * gamma and beta have the shape of the axis dims in `axis` order; tf.keras
 * reshapes them to the broadcast shape (axis dims in increasing order)
 * without transposing, so their flat element k goes with position k of the
 * axis dims taken in increasing order, as here.
 *
 * Training saves each group's mean and 1 / sqrt(var + eps) (two doubles
 * per normalised group); backward is the usual
 * dx = inv * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/affine_params.h"

typedef struct ln_layer {
    ck_layer base;
    int naxes, axis_is_list;
    int axes[CK_MAX_RANK]; /* as given; after build non-negative (Keras' list) */
    double epsilon;
    int epsilon_is_int;
    ck_affine_params affine; /* center / scale, gamma / beta */
    /* after build */
    int rank;
    int64_t axis_dims[CK_MAX_RANK]; /* -1 off the axes */
    ck_weight *gamma, *beta;
} ln_layer;

static const char *const CLS = "LayerNormalization";

static void ln_destroy(ck_layer *layer)
{
    ln_layer *l = (ln_layer *)layer;
    ck_affine_free(&l->affine);
}

static void axes_fmt(const int *axes, int n, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < n && k < len; i++) k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? ", " : "", axes[i]);
    if (k < len) snprintf(buf + k, len - k, n == 1 ? ",)" : ")");
}

/* tf_utils.validate_axis. */
static ck_status validate_axis(const ln_layer *l, const ck_shape *s, int out[CK_MAX_RANK])
{
    char buf[96], sh[128];
    if (s->rank == 0)
        return ck_error(CK_VALUE_ERROR, "Input has undefined rank. Received: input_shape=%s (layer \"%s\")",
                        ck_shape_fmt(sh, sizeof sh, s), l->base.name);
    for (int i = 0; i < l->naxes; i++) out[i] = l->axes[i] < 0 ? l->axes[i] + s->rank : l->axes[i];
    for (int i = 0; i < l->naxes; i++)
        if (out[i] < 0 || out[i] >= s->rank) {
            axes_fmt(out, l->naxes, buf, sizeof buf);
            return ck_error(CK_VALUE_ERROR, "Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank "
                            "(with inputs.rank=%d). Received: axis=%s", s->rank, buf);
        }
    for (int i = 0; i < l->naxes; i++)
        for (int j = 0; j < i; j++)
            if (out[i] == out[j]) {
                axes_fmt(out, l->naxes, buf, sizeof buf);
                return ck_error(CK_VALUE_ERROR, "Duplicate axis: %s", buf);
            }
    return CK_OK;
}

static ck_status ln_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ln_layer *l = (ln_layer *)layer;
    const ck_shape *s = &shapes[0];
    char sh[128];
    int axes[CK_MAX_RANK];
    (void)n;
    CK_TRY(validate_axis(l, s, axes));
    ck_shape pshape = {l->naxes, {0}};
    for (int i = 0; i < l->naxes; i++) {
        if (s->dims[axes[i]] < 0)
            return ck_error(CK_VALUE_ERROR, "LayerNormalization \"%s\": the normalised axis %d of input shape %s must "
                            "be known", layer->name, axes[i], ck_shape_fmt(sh, sizeof sh, s));
        pshape.dims[i] = s->dims[axes[i]];
    }
    ck_weight *g = NULL, *b = NULL;
    CK_TRY(ck_affine_add_weights(layer, &l->affine, &pshape, &g, &b)); /* the base drops the weights added so far */
    l->gamma = g, l->beta = b;
    l->rank = s->rank;
    for (int d = 0; d < s->rank; d++) l->axis_dims[d] = -1;
    for (int i = 0; i < l->naxes; i++) l->axis_dims[axes[i]] = s->dims[axes[i]];
    memcpy(l->axes, axes, sizeof axes);
    l->axis_is_list = 1;
    return CK_OK;
}

static ck_status ln_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ln_layer *l = (const ln_layer *)layer;
    char sh[128];
    (void)n;
    if (layer->built) {
        if (in[0].rank != l->rank)
            return ck_error(CK_VALUE_ERROR, "LayerNormalization \"%s\" was built for rank %d, got input shape %s",
                            layer->name, l->rank, ck_shape_fmt(sh, sizeof sh, &in[0]));
        for (int d = 0; d < l->rank; d++)
            if (l->axis_dims[d] >= 0 && in[0].dims[d] >= 0 && in[0].dims[d] != l->axis_dims[d])
                return ck_error(CK_VALUE_ERROR, "LayerNormalization \"%s\": axis %d of input shape %s must be %lld "
                                "(the shape of gamma and beta)", layer->name, d, ck_shape_fmt(sh, sizeof sh, &in[0]),
                                (long long)l->axis_dims[d]);
    }
    *out = in[0];
    return CK_OK;
}

/* Groups (the positions off the axes) and members (on them) of an input,
 * with their element strides; members run in increasing dim order. */
typedef struct ln_view {
    int ng, na;
    int64_t gdim[CK_MAX_RANK], gstr[CK_MAX_RANK], adim[CK_MAX_RANK], astr[CK_MAX_RANK];
    int64_t groups, members;
} ln_view;

static void view_of(const int64_t *axis_dims, const ck_tensor *x, ln_view *v)
{
    int64_t stride = 1, str[CK_MAX_RANK];
    memset(v, 0, sizeof *v);
    for (int d = x->rank - 1; d >= 0; d--) {
        str[d] = stride;
        stride *= x->shape[d];
    }
    v->groups = v->members = 1;
    for (int d = 0; d < x->rank; d++) {
        if (axis_dims[d] >= 0) {
            v->adim[v->na] = x->shape[d], v->astr[v->na++] = str[d];
            v->members *= x->shape[d];
        } else {
            v->gdim[v->ng] = x->shape[d], v->gstr[v->ng++] = str[d];
            v->groups *= x->shape[d];
        }
    }
}

/* Odometer step over n dims: advances the index and the element offset. */
static inline void step(int n, const int64_t *dim, const int64_t *str, int64_t *idx, int64_t *at)
{
    for (int j = n - 1; j >= 0; j--) {
        *at += str[j];
        if (++idx[j] < dim[j]) return;
        *at -= str[j] * dim[j];
        idx[j] = 0;
    }
}

/* Runs the body for member k of the group starting at `base`, `at` its offset. */
#define FOR_MEMBERS(v, base, ...)                                                                      \
    do {                                                                                                \
        int64_t midx_[CK_MAX_RANK] = {0}, at = (base);                                                  \
        for (int64_t k = 0; k < (v)->members; k++) {                                                    \
            __VA_ARGS__;                                                                                \
            step((v)->na, (v)->adim, (v)->astr, midx_, &at);                                            \
        }                                                                                               \
    } while (0)

#define LN_FORWARD(T)                                                                                   \
    static void forward_##T(const ln_layer *l, const ln_view *v, const T *x, T *y, double *stats)       \
    {                                                                                                   \
        const T *gamma = l->gamma ? l->gamma->value->data : NULL;                                       \
        const T *beta = l->beta ? l->beta->value->data : NULL;                                          \
        int64_t gidx[CK_MAX_RANK] = {0}, base = 0;                                                      \
        const double n = (double)v->members;                                                            \
        for (int64_t g = 0; g < v->groups; g++) {                                                       \
            double sum = 0, sq = 0;                                                                     \
            FOR_MEMBERS(v, base, sum += x[at]);                                                         \
            const double mean = sum / n;                                                                \
            FOR_MEMBERS(v, base, sq += (x[at] - mean) * (x[at] - mean));                                \
            const double inv = 1.0 / sqrt(sq / n + l->epsilon);                                         \
            FOR_MEMBERS(v, base, {                                                                      \
                double r = (x[at] - mean) * inv;                                                        \
                if (gamma) r *= gamma[k];                                                               \
                if (beta) r += beta[k];                                                                 \
                y[at] = (T)r;                                                                           \
            });                                                                                         \
            if (stats) stats[2 * g] = mean, stats[2 * g + 1] = inv;                                     \
            step(v->ng, v->gdim, v->gstr, gidx, &base);                                                 \
        }                                                                                               \
    }                                                                                                   \
    static void backward_##T(const ln_layer *l, const ln_view *v, const T *x, const T *dy, T *dx,       \
                             const double *stats)                                                       \
    {                                                                                                   \
        const T *gamma = l->gamma ? l->gamma->value->data : NULL;                                       \
        T *dgamma = l->gamma && l->gamma->grad ? l->gamma->grad->data : NULL;                           \
        T *dbeta = l->beta && l->beta->grad ? l->beta->grad->data : NULL;                               \
        int64_t gidx[CK_MAX_RANK] = {0}, base = 0;                                                      \
        const double n = (double)v->members;                                                            \
        for (int64_t g = 0; g < v->groups; g++) {                                                       \
            const double mean = stats[2 * g], inv = stats[2 * g + 1];                                   \
            double s1 = 0, s2 = 0;                                                                      \
            FOR_MEMBERS(v, base, {                                                                      \
                const double xh = (x[at] - mean) * inv, d = dy[at] * (gamma ? (double)gamma[k] : 1.0);  \
                s1 += d;                                                                                \
                s2 += d * xh;                                                                           \
                if (dgamma) dgamma[k] += (T)(dy[at] * xh);                                              \
                if (dbeta) dbeta[k] += dy[at];                                                          \
            });                                                                                         \
            if (dx)                                                                                     \
                FOR_MEMBERS(v, base, {                                                                  \
                    const double xh = (x[at] - mean) * inv, d = dy[at] * (gamma ? (double)gamma[k] : 1.0); \
                    dx[at] = (T)(inv * (d - s1 / n - xh * s2 / n));                                     \
                });                                                                                     \
            step(v->ng, v->gdim, v->gstr, gidx, &base);                                                 \
        }                                                                                               \
    }

LN_FORWARD(float)
LN_FORWARD(double)

static ck_status check_dtype(const ck_layer *layer, const ck_tensor *x)
{
    if (x->dtype != layer->dtype)
        return ck_error(CK_TYPE_ERROR, "LayerNormalization layer \"%s\" needs floating inputs, got %s", layer->name,
                        ck_dtype_name(x->dtype));
    return CK_OK;
}

static ck_status run_forward(ck_layer *layer, const ck_tensor *x, ck_tensor *y, double *stats)
{
    const ln_layer *l = (const ln_layer *)layer;
    CK_TRY(check_dtype(layer, x));
    ln_view v;
    view_of(l->axis_dims, x, &v);
    if (x->size == 0) return CK_OK;
    if (x->dtype == CK_FLOAT32) forward_float(l, &v, x->data, y->data, stats);
    else forward_double(l, &v, x->data, y->data, stats);
    return CK_OK;
}

static ck_status ln_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)n;
    return run_forward(layer, in[0], outs[0], NULL);
}

static size_t ln_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ln_layer *l = (const ln_layer *)layer;
    size_t groups = 1;
    (void)n, (void)out;
    for (int d = 0; d < in[0].rank; d++)
        if (d >= l->rank || l->axis_dims[d] < 0) groups *= (size_t)(in[0].dims[d] > 0 ? in[0].dims[d] : 0);
    return 2 * groups * sizeof(double);
}

static ck_status ln_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *outs, void *saved)
{
    (void)ctx, (void)n;
    return run_forward(layer, in[0], outs[0], saved);
}

static ck_status ln_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ln_layer *l = (const ln_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n, (void)out;
    CK_TRY(check_dtype(layer, x));
    ln_view v;
    view_of(l->axis_dims, x, &v);
    if (x->size == 0) return CK_OK;
    if (x->dtype == CK_FLOAT32) backward_float(l, &v, x->data, dout->data, dx ? dx->data : NULL, saved);
    else backward_double(l, &v, x->data, dout->data, dx ? dx->data : NULL, saved);
    return CK_OK;
}

static ck_status ln_get_config(const ck_layer *layer, json_t *c)
{
    const ln_layer *l = (const ln_layer *)layer;
    ck_status st = ck_json_set(c, "axis", ck_arg_axes_json(l->axes, l->naxes, l->axis_is_list));
    if (st == CK_OK) st = ck_json_set(c, "epsilon", ck_arg_num_json(l->epsilon, l->epsilon_is_int));
    if (st == CK_OK) st = ck_affine_config_head(&l->affine, c);
    if (st == CK_OK) st = ck_affine_config_tail(&l->affine, c);
    return st;
}

/* Hands the parsed arguments (all owned by `a`) to the layer. */
static ck_status ln_finish(ck_layer *layer, ln_layer *a)
{
    ln_layer *l = (ln_layer *)layer;
    CK_TRY(ck_affine_finish(&l->affine, &a->affine));
    l->naxes = a->naxes, l->axis_is_list = a->axis_is_list;
    memcpy(l->axes, a->axes, sizeof l->axes);
    l->epsilon = a->epsilon, l->epsilon_is_int = a->epsilon_is_int;
    layer->spec = (ck_input_spec){0};
    return CK_OK;
}

ck_status ck_layer_normalization(ck_layer **out, const ck_layer_normalization_opts *o)
{
    CK_NEED(out);
    static const ck_layer_normalization_opts defaults;
    if (!o) o = &defaults;
    if (o->naxes < 0 || o->naxes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "LayerNormalization: naxes must be 0 to %d, got %d", CK_MAX_RANK, o->naxes);
    ln_layer a = {.naxes = o->naxes ? o->naxes : 1, .axis_is_list = o->naxes > 1, .axes = {-1},
                  .epsilon = o->epsilon.set ? o->epsilon.value : 1e-3};
    if (o->naxes) memcpy(a.axes, o->axes, sizeof a.axes);
    ck_status st = ck_affine_from_opts(&a.affine, o->no_center, o->no_scale, &CK_AFFINE_NAMES_OF(o));
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_layer_normalization_class, o, &layer);
    if (st == CK_OK) st = ln_finish(layer, &a);
    ln_destroy(&a.base);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

/* tf.keras 2.x keys; Keras 3 adds rms_scaling (only False is supported). */
static ck_status ln_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"axis", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
                                       "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint",
                                       "rms_scaling", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "LayerNormalization config must be a JSON object");
    ln_layer a = {.naxes = 1, .axes = {-1}, .epsilon = 1e-3, .affine = CK_AFFINE_DEFAULTS};
    const json_t *ax = json_object_get(c, "axis");
    if (ax && !json_is_null(ax) && !json_is_integer(ax) && !json_is_array(ax))
        return ck_error(CK_TYPE_ERROR, "Expected an int or a list/tuple of ints for the argument 'axis', but "
                        "received: %s%s%s", json_is_string(ax) ? "'" : "",
                        json_is_string(ax) ? json_string_value(ax) : "a value of another type",
                        json_is_string(ax) ? "'" : "");
    CK_TRY(ck_arg_axes(ax, CLS, "axis", a.axes, &a.naxes, &a.axis_is_list));
    if (a.naxes == 0) return ck_error(CK_VALUE_ERROR, "LayerNormalization config: `axis` must name at least one axis");
    int rms = 0;
    CK_TRY(ck_arg_bool(json_object_get(c, "rms_scaling"), CLS, "rms_scaling", &rms));
    if (rms) return ck_error(CK_NOT_IMPLEMENTED, "LayerNormalization with rms_scaling=True (Keras 3) is not supported");
    CK_TRY(ck_arg_number(json_object_get(c, "epsilon"), CLS, "epsilon", &a.epsilon, &a.epsilon_is_int));
    ck_status st = ck_affine_from_config(&a.affine, c, CLS, 0);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_layer_normalization_class, c, keys, &layer);
    if (st == CK_OK) st = ln_finish(layer, &a);
    ln_destroy(&a.base);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_layer_normalization_class = {
    .class_name = "LayerNormalization",
    .size = sizeof(ln_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .build = ln_build,
    .compute_output_shape = ln_output_shape,
    .call = ln_call,
    .get_config = ln_get_config,
    .from_config = ln_from_config,
    .destroy = ln_destroy,
    .saved_bytes = ln_saved_bytes,
    .train_call = ln_train_call,
    .backward = ln_backward,
};
