/* keras.layers.GroupNormalization (tf.keras 2.15): the channels of `axis`
 * are split into `groups` consecutive groups; each sample's group is
 * normalised over its channels and every other non-batch position with
 * its own mean and biased variance (tf.nn.weighted_moments with unit
 * weights), then y = xhat * gamma[c] + beta[c] (gamma and beta (C,)).
 * groups -1 becomes the channel count at build (instance normalisation),
 * as Keras.  The moments accumulate in double.
 *
 * Element (b, o, c, i) of an input viewed as (batch, outer, C, inner)
 * sits at ((b * outer + o) * C + c) * inner + i.  Training keeps each
 * (sample, group)'s mean and 1 / sqrt(var + eps); backward is the layer
 * normalisation one, dx = inv * (g - mean(g) - xhat * mean(g * xhat)),
 * g = dy * gamma. */
#include <math.h>
#include <string.h>

#include "layers/affine_params.h"
#include "layers/normattn_classes.h"

static const char *const CLS = "GroupNormalization";

typedef struct gn_layer {
    ck_layer base;
    int64_t groups;
    int axis;
    double epsilon;
    int epsilon_is_int;
    ck_affine_params affine; /* center / scale, gamma / beta */
    ck_weight *gamma, *beta;
    int64_t channels; /* after build */
} gn_layer;

static void gn_destroy(ck_layer *layer)
{
    gn_layer *l = (gn_layer *)layer;
    ck_affine_free(&l->affine);
}

/* The axis as a dim index of `s` (validate_axis' message). */
static ck_status resolve_axis(const gn_layer *l, const ck_shape *s, int *axis)
{
    const int a = l->axis < 0 ? l->axis + s->rank : l->axis;
    if (a < 0 || a >= s->rank)
        return ck_error(CK_VALUE_ERROR, "Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank (with "
                        "inputs.rank=%d). Received: axis=(%d,)", s->rank, a);
    if (a == 0)
        return ck_error(CK_VALUE_ERROR, "GroupNormalization layer \"%s\": axis 0 is the batch axis and cannot hold "
                        "the channels", l->base.name);
    *axis = a;
    return CK_OK;
}

static ck_status gn_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    gn_layer *l = (gn_layer *)layer;
    const ck_shape *s = &shapes[0];
    char sh[128];
    int axis = 0;
    (void)n;
    CK_TRY(resolve_axis(l, s, &axis));
    const int64_t dim = s->dims[axis];
    if (dim < 0)
        return ck_error(CK_VALUE_ERROR, "Axis %d of input tensor should have a defined dimension but the layer "
                        "received an input with shape %s.", l->axis, ck_shape_fmt(sh, sizeof sh, s));
    const int64_t groups = l->groups == -1 ? dim : l->groups;
    if (dim < groups)
        return ck_error(CK_VALUE_ERROR, "Number of groups (%lld) cannot be more than the number of channels (%lld).",
                        (long long)groups, (long long)dim);
    if (groups <= 0 || dim % groups != 0)
        return ck_error(CK_VALUE_ERROR, "Number of groups (%lld) must be a multiple of the number of channels "
                        "(%lld).", (long long)groups, (long long)dim);
    ck_weight *g = NULL, *b = NULL;
    const ck_shape ws = {1, {dim}};
    CK_TRY(ck_affine_add_weights(layer, &l->affine, &ws, &g, &b)); /* the base drops the weights added so far */
    l->gamma = g, l->beta = b, l->groups = groups, l->channels = dim;
    layer->spec = (ck_input_spec){.ndim = s->rank};
    return CK_OK;
}

static ck_status gn_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const gn_layer *l = (const gn_layer *)layer;
    char sh[128];
    int axis = 0;
    (void)n;
    CK_TRY(resolve_axis(l, &in[0], &axis));
    if (layer->built && in[0].dims[axis] >= 0 && in[0].dims[axis] != l->channels)
        return ck_error(CK_VALUE_ERROR, "GroupNormalization layer \"%s\" was built for %lld channels on axis %d, got "
                        "input shape %s", layer->name, (long long)l->channels, l->axis,
                        ck_shape_fmt(sh, sizeof sh, &in[0]));
    *out = in[0];
    return CK_OK;
}

typedef struct gn_view {
    int64_t B, outer, C, inner, G, Cg;
} gn_view;

static void view_of(const gn_layer *l, const ck_tensor *x, gn_view *v)
{
    int axis = l->axis < 0 ? l->axis + x->rank : l->axis;
    v->B = x->shape[0], v->outer = 1, v->inner = 1, v->C = x->shape[axis];
    for (int d = 1; d < axis; d++) v->outer *= x->shape[d];
    for (int d = axis + 1; d < x->rank; d++) v->inner *= x->shape[d];
    v->G = l->groups, v->Cg = v->C / l->groups;
}

/* Runs BODY for each member of group (b, g), with `at` its element
 * offset and `c` its channel. */
#define GN_MEMBERS(v, b, g, ...)                                                          \
    for (int64_t o = 0; o < (v)->outer; o++)                                               \
        for (int64_t c = (g) * (v)->Cg; c < ((g) + 1) * (v)->Cg; c++)                      \
            for (int64_t i = 0, at = (((b) * (v)->outer + o) * (v)->C + c) * (v)->inner;   \
                 i < (v)->inner; i++, at++) {                                              \
                __VA_ARGS__;                                                               \
            }

#define GN_KERNELS(T)                                                                                  \
    static void forward_##T(const gn_layer *l, const gn_view *v, const T *x, T *y, double *stats)      \
    {                                                                                                  \
        const T *gamma = l->gamma ? l->gamma->value->data : NULL;                                      \
        const T *beta = l->beta ? l->beta->value->data : NULL;                                         \
        const double n = (double)(v->outer * v->Cg * v->inner);                                        \
        for (int64_t b = 0; b < v->B; b++)                                                             \
            for (int64_t g = 0; g < v->G; g++) {                                                       \
                double sum = 0, sq = 0;                                                                \
                GN_MEMBERS(v, b, g, sum += x[at]);                                                     \
                const double mean = sum / n;                                                           \
                GN_MEMBERS(v, b, g, sq += (x[at] - mean) * (x[at] - mean));                            \
                const double inv = 1.0 / sqrt(sq / n + l->epsilon);                                    \
                GN_MEMBERS(v, b, g, {                                                                  \
                    double r = (x[at] - mean) * inv;                                                   \
                    if (gamma) r *= gamma[c];                                                          \
                    if (beta) r += beta[c];                                                            \
                    y[at] = (T)r;                                                                      \
                });                                                                                    \
                if (stats) stats[2 * (b * v->G + g)] = mean, stats[2 * (b * v->G + g) + 1] = inv;      \
            }                                                                                          \
    }                                                                                                  \
    static void backward_##T(const gn_layer *l, const gn_view *v, const T *x, const T *dy, T *dx,      \
                             const double *stats)                                                      \
    {                                                                                                  \
        const T *gamma = l->gamma ? l->gamma->value->data : NULL;                                      \
        T *dgamma = l->gamma && l->gamma->grad ? l->gamma->grad->data : NULL;                          \
        T *dbeta = l->beta && l->beta->grad ? l->beta->grad->data : NULL;                              \
        const double n = (double)(v->outer * v->Cg * v->inner);                                        \
        for (int64_t b = 0; b < v->B; b++)                                                             \
            for (int64_t g = 0; g < v->G; g++) {                                                       \
                const double mean = stats[2 * (b * v->G + g)], inv = stats[2 * (b * v->G + g) + 1];    \
                double s1 = 0, s2 = 0;                                                                 \
                GN_MEMBERS(v, b, g, {                                                                  \
                    const double xh = (x[at] - mean) * inv, d = dy[at] * (gamma ? (double)gamma[c] : 1.0); \
                    s1 += d;                                                                           \
                    s2 += d * xh;                                                                      \
                    if (dgamma) dgamma[c] += (T)(dy[at] * xh);                                         \
                    if (dbeta) dbeta[c] += dy[at];                                                     \
                });                                                                                    \
                if (dx)                                                                                \
                    GN_MEMBERS(v, b, g, {                                                              \
                        const double xh = (x[at] - mean) * inv;                                        \
                        const double d = dy[at] * (gamma ? (double)gamma[c] : 1.0);                    \
                        dx[at] = (T)(inv * (d - s1 / n - xh * s2 / n));                                \
                    });                                                                                \
            }                                                                                          \
    }

GN_KERNELS(float)
GN_KERNELS(double)

static ck_status run_forward(ck_layer *layer, const ck_tensor *x, ck_tensor *y, double *stats)
{
    const gn_layer *l = (const gn_layer *)layer;
    if (x->dtype != layer->dtype)
        return ck_error(CK_TYPE_ERROR, "GroupNormalization layer \"%s\" needs floating inputs, got %s", layer->name,
                        ck_dtype_name(x->dtype));
    gn_view v;
    view_of(l, x, &v);
    if (x->size == 0) return CK_OK;
    if (x->dtype == CK_FLOAT32) forward_float(l, &v, x->data, y->data, stats);
    else forward_double(l, &v, x->data, y->data, stats);
    return CK_OK;
}

static ck_status gn_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)n;
    return run_forward(layer, in[0], outs[0], NULL);
}

static size_t gn_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const gn_layer *l = (const gn_layer *)layer;
    (void)n, (void)out;
    const int64_t b = in[0].rank > 0 && in[0].dims[0] > 0 ? in[0].dims[0] : 0;
    return 2 * (size_t)b * (size_t)(l->groups > 0 ? l->groups : 1) * sizeof(double);
}

static ck_status gn_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *outs, void *saved)
{
    (void)ctx, (void)n;
    return run_forward(layer, in[0], outs[0], saved);
}

static ck_status gn_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const gn_layer *l = (const gn_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n, (void)out;
    gn_view v;
    view_of(l, x, &v);
    if (x->size == 0) return CK_OK;
    if (x->dtype == CK_FLOAT32) backward_float(l, &v, x->data, dout->data, dx ? dx->data : NULL, saved);
    else backward_double(l, &v, x->data, dout->data, dx ? dx->data : NULL, saved);
    return CK_OK;
}

static ck_status gn_get_config(const ck_layer *layer, json_t *c)
{
    const gn_layer *l = (const gn_layer *)layer;
    ck_status st = ck_json_set(c, "groups", json_integer(l->groups));
    if (st == CK_OK) st = ck_json_set(c, "axis", json_integer(l->axis));
    if (st == CK_OK) st = ck_json_set(c, "epsilon", ck_arg_num_json(l->epsilon, l->epsilon_is_int));
    if (st == CK_OK) st = ck_affine_config_head(&l->affine, c);
    if (st == CK_OK) st = ck_affine_config_tail(&l->affine, c);
    return st;
}

/* Hands the parsed arguments (owned by `a`) to the layer. */
static ck_status gn_finish(ck_layer *layer, gn_layer *a)
{
    ck_affine_params affine;
    CK_TRY(ck_affine_finish(&affine, &a->affine));
    gn_layer *l = (gn_layer *)layer;
    ck_layer keep = *layer;
    *l = *a;
    l->base = keep;
    l->affine = affine;
    memset(a, 0, sizeof *a);
    return CK_OK;
}

static ck_status check_groups(int64_t groups)
{
    if (groups == 0 || groups < -1)
        return ck_error(CK_VALUE_ERROR, "GroupNormalization: groups must be positive or -1, got %lld",
                        (long long)groups);
    return CK_OK;
}

ck_status ck_group_normalization(ck_layer **out, const ck_group_normalization_opts *o)
{
    CK_NEED(out);
    static const ck_group_normalization_opts defaults;
    if (!o) o = &defaults;
    gn_layer a = {.groups = o->groups ? o->groups : 32, .axis = o->axis ? o->axis : -1,
                  .epsilon = o->epsilon.set ? o->epsilon.value : 1e-3};
    ck_status st = check_groups(a.groups);
    if (st == CK_OK) st = ck_affine_from_opts(&a.affine, o->no_center, o->no_scale, &CK_AFFINE_NAMES_OF(o));
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_group_normalization_class, o, &layer);
    if (st == CK_OK) st = gn_finish(layer, &a);
    gn_destroy(&a.base);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

static ck_status gn_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"groups", "axis", "epsilon", "center", "scale", "beta_initializer",
                                       "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                                       "beta_constraint", "gamma_constraint", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "GroupNormalization config must be a JSON object");
    gn_layer a = {.groups = 32, .axis = -1, .epsilon = 1e-3, .affine = CK_AFFINE_DEFAULTS};
    int64_t axis = -1;
    CK_TRY(ck_arg_int(json_object_get(c, "groups"), CLS, "groups", &a.groups, NULL));
    CK_TRY(check_groups(a.groups));
    CK_TRY(ck_arg_int(json_object_get(c, "axis"), CLS, "axis", &axis, NULL));
    if (axis < -CK_MAX_RANK || axis >= CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "GroupNormalization config: axis %lld is out of range", (long long)axis);
    a.axis = (int)axis;
    CK_TRY(ck_arg_number(json_object_get(c, "epsilon"), CLS, "epsilon", &a.epsilon, &a.epsilon_is_int));
    ck_status st = ck_affine_from_config(&a.affine, c, CLS, 0);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_group_normalization_class, c, keys, &layer);
    if (st == CK_OK) st = gn_finish(layer, &a);
    gn_destroy(&a.base);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_group_normalization_class = {
    .class_name = "GroupNormalization",
    .size = sizeof(gn_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .build = gn_build,
    .compute_output_shape = gn_output_shape,
    .call = gn_call,
    .get_config = gn_get_config,
    .from_config = gn_from_config,
    .destroy = gn_destroy,
    .saved_bytes = gn_saved_bytes,
    .train_call = gn_train_call,
    .backward = gn_backward,
};
