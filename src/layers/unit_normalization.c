/* keras.layers.UnitNormalization (tf.keras 2.15): y = x / sqrt(max(sum(x^2),
 * 1e-12)) over the `axis` dims of each group of the other dims
 * (tf.linalg.l2_normalize).  The axis becomes a list of non-negative dims
 * at build, as Keras' validate_axis makes it (get_config shows that).
 * Training keeps 1 / norm per group; backward: where the sum passed the
 * floor, dx = r * (dy - y * sum(dy * y)), else dx = r * dy (the floor is a
 * constant there), r = 1 / norm. */
#include <math.h>
#include <string.h>

#include "layers/layer_args.h"
#include "layers/normattn_classes.h"

static const char *const CLS = "UnitNormalization";

#define UN_EPSILON 1e-12

typedef struct un_layer {
    ck_layer base;
    int naxes, axis_is_list;
    int axes[CK_MAX_RANK];
} un_layer;

static ck_status validate(const un_layer *l, const ck_shape *s, int out[CK_MAX_RANK])
{
    for (int i = 0; i < l->naxes; i++) {
        out[i] = l->axes[i] < 0 ? l->axes[i] + s->rank : l->axes[i];
        if (out[i] < 0 || out[i] >= s->rank)
            return ck_error(CK_VALUE_ERROR, "Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank "
                            "(with inputs.rank=%d). Received: axis=%d (layer \"%s\")", s->rank, l->axes[i],
                            l->base.name);
        for (int j = 0; j < i; j++)
            if (out[j] == out[i]) return ck_error(CK_VALUE_ERROR, "Duplicate axis: %d (layer \"%s\")", out[i],
                                                  l->base.name);
    }
    return CK_OK;
}

static ck_status un_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    un_layer *l = (un_layer *)layer;
    int axes[CK_MAX_RANK];
    (void)n;
    CK_TRY(validate(l, &shapes[0], axes));
    memcpy(l->axes, axes, sizeof axes);
    l->axis_is_list = 1;
    return CK_OK;
}

static ck_status un_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    int axes[CK_MAX_RANK];
    (void)n;
    CK_TRY(validate((const un_layer *)layer, &in[0], axes));
    *out = in[0];
    return CK_OK;
}

/* Groups (positions off the axes) and members (on them) with strides. */
typedef struct un_view {
    int ng, na;
    int64_t gdim[CK_MAX_RANK], gstr[CK_MAX_RANK], adim[CK_MAX_RANK], astr[CK_MAX_RANK];
    int64_t groups, members;
} un_view;

static void view_of(const un_layer *l, const ck_tensor *x, un_view *v)
{
    int on[CK_MAX_RANK] = {0};
    int64_t stride = 1, str[CK_MAX_RANK];
    memset(v, 0, sizeof *v);
    for (int i = 0; i < l->naxes; i++) on[l->axes[i] < 0 ? l->axes[i] + x->rank : l->axes[i]] = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        str[d] = stride;
        stride *= x->shape[d];
    }
    v->groups = v->members = 1;
    for (int d = 0; d < x->rank; d++) {
        if (on[d]) {
            v->adim[v->na] = x->shape[d], v->astr[v->na++] = str[d];
            v->members *= x->shape[d];
        } else {
            v->gdim[v->ng] = x->shape[d], v->gstr[v->ng++] = str[d];
            v->groups *= x->shape[d];
        }
    }
}

static inline void step(int n, const int64_t *dim, const int64_t *str, int64_t *idx, int64_t *at)
{
    for (int j = n - 1; j >= 0; j--) {
        *at += str[j];
        if (++idx[j] < dim[j]) return;
        *at -= str[j] * dim[j];
        idx[j] = 0;
    }
}

#define UN_MEMBERS(v, base, ...)                                                 \
    do {                                                                          \
        int64_t midx_[CK_MAX_RANK] = {0}, at = (base);                            \
        for (int64_t k = 0; k < (v)->members; k++) {                              \
            __VA_ARGS__;                                                          \
            step((v)->na, (v)->adim, (v)->astr, midx_, &at);                      \
        }                                                                         \
    } while (0)

/* stats[g] = 1 / norm, negated where the floor applied (backward's flag). */
#define UN_KERNELS(T)                                                                              \
    static void forward_##T(const un_view *v, const T *x, T *y, double *stats)                     \
    {                                                                                              \
        int64_t gidx[CK_MAX_RANK] = {0}, base = 0;                                                 \
        for (int64_t g = 0; g < v->groups; g++) {                                                  \
            double sq = 0;                                                                         \
            UN_MEMBERS(v, base, sq += (double)x[at] * x[at]);                                      \
            const int floored = !(sq > UN_EPSILON);                                                \
            const double r = 1.0 / sqrt(floored ? UN_EPSILON : sq);                                \
            UN_MEMBERS(v, base, y[at] = (T)(x[at] * r));                                           \
            if (stats) stats[g] = floored ? -r : r;                                                \
            step(v->ng, v->gdim, v->gstr, gidx, &base);                                            \
        }                                                                                          \
    }                                                                                              \
    static void backward_##T(const un_view *v, const T *x, const T *dy, T *dx, const double *stats) \
    {                                                                                              \
        int64_t gidx[CK_MAX_RANK] = {0}, base = 0;                                                 \
        for (int64_t g = 0; g < v->groups; g++) {                                                  \
            const double r = fabs(stats[g]);                                                       \
            double s = 0;                                                                          \
            if (stats[g] > 0) UN_MEMBERS(v, base, s += (double)dy[at] * x[at] * r);                \
            UN_MEMBERS(v, base, dx[at] = (T)(r * (dy[at] - x[at] * r * s)));                       \
            step(v->ng, v->gdim, v->gstr, gidx, &base);                                            \
        }                                                                                          \
    }

UN_KERNELS(float)
UN_KERNELS(double)

static ck_status run_forward(ck_layer *layer, const ck_tensor *x, ck_tensor *y, double *stats)
{
    if (x->dtype != layer->dtype)
        return ck_error(CK_TYPE_ERROR, "UnitNormalization layer \"%s\" needs floating inputs, got %s", layer->name,
                        ck_dtype_name(x->dtype));
    un_view v;
    view_of((const un_layer *)layer, x, &v);
    if (x->size == 0) return CK_OK;
    if (x->dtype == CK_FLOAT32) forward_float(&v, x->data, y->data, stats);
    else forward_double(&v, x->data, y->data, stats);
    return CK_OK;
}

static ck_status un_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)n;
    return run_forward(layer, in[0], outs[0], NULL);
}

static size_t un_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const un_layer *l = (const un_layer *)layer;
    int on[CK_MAX_RANK] = {0};
    size_t groups = 1;
    (void)n, (void)out;
    for (int i = 0; i < l->naxes; i++) {
        int a = l->axes[i] < 0 ? l->axes[i] + in[0].rank : l->axes[i];
        if (a >= 0 && a < CK_MAX_RANK) on[a] = 1;
    }
    for (int d = 0; d < in[0].rank; d++)
        if (!on[d]) groups *= (size_t)(in[0].dims[d] > 0 ? in[0].dims[d] : 0);
    return groups * sizeof(double);
}

static ck_status un_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *outs, void *saved)
{
    (void)ctx, (void)n;
    return run_forward(layer, in[0], outs[0], saved);
}

static ck_status un_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_tensor *x = in[0];
    ck_tensor *dx = din ? din[0] : NULL;
    (void)ctx, (void)n, (void)out;
    if (!dx || x->size == 0) return CK_OK;
    un_view v;
    view_of((const un_layer *)layer, x, &v);
    if (x->dtype == CK_FLOAT32) backward_float(&v, x->data, dout->data, dx->data, saved);
    else backward_double(&v, x->data, dout->data, dx->data, saved);
    return CK_OK;
}

static ck_status un_get_config(const ck_layer *layer, json_t *c)
{
    const un_layer *l = (const un_layer *)layer;
    return ck_json_set(c, "axis", ck_arg_axes_json(l->axes, l->naxes, l->axis_is_list));
}

static void fill(ck_layer *layer, const int *axes, int naxes, int is_list)
{
    un_layer *l = (un_layer *)layer;
    l->naxes = naxes, l->axis_is_list = is_list;
    memcpy(l->axes, axes, sizeof l->axes);
}

ck_status ck_unit_normalization(ck_layer **out, const ck_unit_normalization_opts *o)
{
    CK_NEED(out);
    static const ck_unit_normalization_opts defaults;
    if (!o) o = &defaults;
    if (o->naxes < 0 || o->naxes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "UnitNormalization: naxes must be 0 to %d, got %d", CK_MAX_RANK, o->naxes);
    int axes[CK_MAX_RANK] = {-1};
    if (o->naxes) memcpy(axes, o->axes, sizeof axes);
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_unit_normalization_class, o, &layer));
    fill(layer, axes, o->naxes ? o->naxes : 1, o->naxes > 1);
    *out = layer;
    return CK_OK;
}

static ck_status un_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"axis", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "UnitNormalization config must be a JSON object");
    int axes[CK_MAX_RANK] = {-1}, naxes = 1, is_list = 0;
    const json_t *ax = json_object_get(c, "axis");
    if (ax && !json_is_null(ax) && !json_is_integer(ax) && !json_is_array(ax))
        return ck_error(CK_TYPE_ERROR, "Invalid value for `axis` argument: expected an int or a list/tuple of ints.");
    CK_TRY(ck_arg_axes(ax, CLS, "axis", axes, &naxes, &is_list));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_unit_normalization_class, c, keys, &layer));
    fill(layer, axes, naxes, is_list);
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_unit_normalization_class = {
    .class_name = "UnitNormalization",
    .size = sizeof(un_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .build = un_build,
    .compute_output_shape = un_output_shape,
    .call = un_call,
    .get_config = un_get_config,
    .from_config = un_from_config,
    .saved_bytes = un_saved_bytes,
    .train_call = un_train_call,
    .backward = un_backward,
};
