/* keras.layers.BatchNormalization at inference, computed as
 * tf.nn.batch_normalization does: inv = rsqrt(var + eps) * gamma,
 * y = x * inv + (beta - mean * inv), in the layer dtype.  The per-position
 * coefficients are recomputed on each call (set_weights may have changed
 * the weights) into the call's scratch, planned with the predict buffers,
 * so a planned call allocates nothing and writes nothing in the layer.
 * Training mode and the backward pass are in batch_normalization_train.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/batch_normalization.h"


typedef struct bn_args {
    int naxes, axis_is_list, axes[CK_MAX_RANK];
    double momentum, epsilon;
    int momentum_is_int, epsilon_is_int;
    int fused;
    ck_affine_params affine;
    ck_initializer *mean_init, *var_init;
} bn_args;

static void args_free(bn_args *a)
{
    ck_affine_free(&a->affine);
    ck_initializer_free(a->mean_init);
    ck_initializer_free(a->var_init);
}

static void bn_destroy(ck_layer *layer)
{
    ck_bn_layer *b = (ck_bn_layer *)layer;
    ck_affine_free(&b->affine);
    ck_initializer_free(b->mean_init);
    ck_initializer_free(b->var_init);
    ck_free(b->inv); /* offset lives in the same block */
}

static void axes_fmt(const int *axes, int n, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < n && k < len; i++) k += (size_t)snprintf(buf + k, len - k, "%s%d", i ? ", " : "", axes[i]);
    if (k < len) snprintf(buf + k, len - k, n == 1 ? ",)" : ")");
}

/* tf_utils.validate_axis: negatives wrapped, range and duplicates checked. */
static ck_status validate_axis(const ck_bn_layer *b, const ck_shape *s, int out[CK_MAX_RANK])
{
    char buf[96], sh[128];
    if (s->rank == 0)
        return ck_error(CK_VALUE_ERROR, "Input has undefined rank. Received: input_shape=%s (layer \"%s\")",
                        ck_shape_fmt(sh, sizeof sh, s), b->base.name);
    for (int i = 0; i < b->naxes; i++) out[i] = b->axes[i] < 0 ? b->axes[i] + s->rank : b->axes[i];
    for (int i = 0; i < b->naxes; i++)
        if (out[i] < 0 || out[i] >= s->rank) {
            axes_fmt(out, b->naxes, buf, sizeof buf);
            return ck_error(CK_VALUE_ERROR, "Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank "
                            "(with inputs.rank=%d). Received: axis=%s (layer \"%s\")", s->rank, buf, b->base.name);
        }
    for (int i = 0; i < b->naxes; i++)
        for (int j = 0; j < i; j++)
            if (out[i] == out[j]) {
                axes_fmt(out, b->naxes, buf, sizeof buf);
                return ck_error(CK_VALUE_ERROR, "Duplicate axis: %s (layer \"%s\")", buf, b->base.name);
            }
    return CK_OK;
}

static int in_axes(const int *axes, int n, int d)
{
    for (int i = 0; i < n; i++)
        if (axes[i] == d) return 1;
    return 0;
}

static ck_status bn_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_bn_layer *b = (ck_bn_layer *)layer;
    const ck_shape *s = &shapes[0];
    char buf[96], sh[128];
    int axes[CK_MAX_RANK];
    (void)n;
    CK_TRY(validate_axis(b, s, axes));
    if (b->fused == 1) {
        if (s->rank != 4 && s->rank != 5)
            return ck_error(CK_VALUE_ERROR, "Batch normalization layers with `fused=True` only support 4D or 5D input "
                            "tensors. Received tensor with shape: %s", ck_shape_fmt(sh, sizeof sh, s));
        if (s->rank == 4 && !(b->naxes == 1 && (axes[0] == 1 || axes[0] == 3))) {
            axes_fmt(axes, b->naxes, buf, sizeof buf);
            return ck_error(CK_VALUE_ERROR, "Unsupported axis. The use of `fused=True` is only possible with `axis=1` "
                            "or `axis=3` for 4D input tensors. Received: axis=%s", buf);
        }
    }
    for (int i = 0; i < b->naxes; i++)
        if (s->dims[axes[i]] < 0) {
            axes_fmt(axes, b->naxes, buf, sizeof buf);
            return ck_error(CK_VALUE_ERROR, "Input has undefined `axis` dimension. Received input with shape %s and "
                            "axis=%s (layer \"%s\")", ck_shape_fmt(sh, sizeof sh, s), buf, layer->name);
        }
    /* One axis: (C,).  Several: the input rank with 1 off the axes. */
    ck_shape pshape = {0, {0}};
    if (b->naxes == 1) {
        pshape = (ck_shape){1, {s->dims[axes[0]]}};
    } else {
        pshape.rank = s->rank;
        for (int d = 0; d < s->rank; d++) pshape.dims[d] = in_axes(axes, b->naxes, d) ? s->dims[d] : 1;
    }
    int64_t count = 1;
    CK_TRY(ck_shape_count(layer->dtype, pshape.rank, pshape.dims, &count));
    /* The training path's coefficients, laid out as a call's scratch. */
    size_t half = ((size_t)(count ? count : 1) * ck_dtype_size(layer->dtype) + 63) / 64 * 64;
    void *inv = ck_malloc(2 * half), *offset = inv ? (char *)inv + half : NULL;
    ck_status st = inv ? CK_OK : ck_oom("BatchNormalization coefficients");
    ck_weight *g = NULL, *be = NULL, *mm = NULL, *mv = NULL;
    if (st == CK_OK) st = ck_affine_add_weights(layer, &b->affine, &pshape, &g, &be);
    if (st == CK_OK)
        st = ck_layer_add_weight_with(layer, "moving_mean", &pshape, layer->dtype, b->mean_init, NULL, NULL,
                                      false, &mm);
    if (st == CK_OK)
        st = ck_layer_add_weight_with(layer, "moving_variance", &pshape, layer->dtype, b->var_init, NULL, NULL,
                                      false, &mv);
    if (st != CK_OK) {
        ck_free(inv);
        return st; /* the base drops the weights added so far */
    }
    /* Everything checked: record what the calls need. */
    b->gamma = g, b->beta = be, b->moving_mean = mm, b->moving_variance = mv;
    b->inv = inv, b->offset = offset;
    b->n_params = count;
    b->rank = s->rank;
    int64_t stride = 1;
    for (int d = s->rank - 1; d >= 0; d--) {
        int on = in_axes(axes, b->naxes, d);
        b->pstride[d] = on ? stride : 0;
        b->axis_dims[d] = on ? s->dims[d] : -1;
        if (on) stride *= s->dims[d];
    }
    /* tf.keras keeps the validated list (get_config then shows it). */
    memcpy(b->axes, axes, sizeof axes);
    b->axis_is_list = 1;
    layer->spec = (ck_input_spec){.ndim = s->rank};
    return CK_OK;
}

static ck_status bn_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    char sh[128];
    (void)n;
    if (layer->built) {
        if (in[0].rank != b->rank)
            return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected ndim=%d, "
                            "found ndim=%d. Full shape received: %s", layer->name, b->rank, in[0].rank,
                            ck_shape_fmt(sh, sizeof sh, &in[0]));
        for (int d = 0; d < b->rank; d++)
            if (b->axis_dims[d] >= 0 && in[0].dims[d] >= 0 && in[0].dims[d] != b->axis_dims[d])
                return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected axis "
                                "%d of input shape to have value %lld, but received input with shape %s", layer->name,
                                d, (long long)b->axis_dims[d], ck_shape_fmt(sh, sizeof sh, &in[0]));
    }
    *out = in[0];
    return CK_OK;
}

#define BN_COEFFS(T, SQRT)                                                                \
    do {                                                                                  \
        T *inv = inv_buf, *off = off_buf;                                                 \
        const T *mean = b->moving_mean->value->data, *var = b->moving_variance->value->data; \
        const T *gamma = b->gamma ? b->gamma->value->data : NULL;                         \
        const T *beta = b->beta ? b->beta->value->data : NULL;                            \
        T eps = (T)b->epsilon;                                                            \
        for (int64_t k = 0; k < b->n_params; k++) {                                       \
            T v = (T)1 / SQRT(var[k] + eps);                                              \
            if (gamma) v *= gamma[k];                                                     \
            inv[k] = v;                                                                   \
            off[k] = beta ? beta[k] - mean[k] * v : -mean[k] * v;                         \
        }                                                                                 \
    } while (0)

#define BN_APPLY(T)                                                                       \
    do {                                                                                  \
        const T *xs = x->data, *inv = inv_buf, *off = off_buf;                            \
        T *ys = out->data;                                                                \
        if (single) {                                                                     \
            int64_t i = 0;                                                                \
            for (int64_t o = 0; o < outer; o++)                                           \
                for (int64_t c = 0; c < chans; c++)                                       \
                    for (int64_t k = 0; k < inner; k++, i++) ys[i] = xs[i] * inv[c] + off[c]; \
        } else {                                                                          \
            int64_t idx[CK_MAX_RANK] = {0}, p = 0;                                        \
            for (int64_t i = 0; i < x->size; i++) {                                       \
                ys[i] = xs[i] * inv[p] + off[p];                                          \
                for (int d = x->rank - 1; d >= 0; d--) {                                  \
                    idx[d]++;                                                             \
                    p += b->pstride[d];                                                   \
                    if (idx[d] < x->shape[d]) break;                                      \
                    p -= b->pstride[d] * x->shape[d];                                     \
                    idx[d] = 0;                                                           \
                }                                                                         \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* The coefficients: n_params values each, in the scratch (they change with
 * the weights, and the layer itself stays read-only while predicting). */
static size_t bn_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    (void)n, (void)in, (void)out;
    return 2 * (((size_t)b->n_params * ck_dtype_size(layer->dtype) + 63) / 64 * 64);
}

static ck_status bn_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs,
                                 void *scratch)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    void *inv_buf = scratch;
    void *off_buf = (char *)scratch + bn_scratch_bytes(layer, n, NULL, NULL) / 2;
    if (x->dtype != layer->dtype)
        return ck_error(CK_TYPE_ERROR, "BatchNormalization layer \"%s\" needs floating inputs, got %s", layer->name,
                        ck_dtype_name(x->dtype));
    /* One normalised axis: outer x channels x inner blocks, no odometer. */
    int single = b->naxes == 1;
    int64_t outer = 1, chans = 1, inner = 1;
    if (single) {
        int axis = 0;
        for (int d = 0; d < x->rank; d++)
            if (b->axis_dims[d] >= 0) axis = d;
        for (int d = 0; d < axis; d++) outer *= x->shape[d];
        chans = x->shape[axis];
        for (int d = axis + 1; d < x->rank; d++) inner *= x->shape[d];
    }
    if (layer->dtype == CK_FLOAT32) {
        BN_COEFFS(float, sqrtf);
        BN_APPLY(float);
    } else {
        BN_COEFFS(double, sqrt);
        BN_APPLY(double);
    }
    return CK_OK;
}

/* ---- what a fused plan needs (model/fuse.c folds a BatchNormalization
 *      that normalises only the last axis into the Dense before it) ---- */

int ck_bn_last_axis_only(const ck_layer *layer, int rank)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    if (layer->cls != &ck_batch_normalization_class || !layer->built || b->naxes != 1 || b->rank != rank) return 0;
    if (layer->dtype != CK_FLOAT32 && layer->dtype != CK_FLOAT64) return 0;
    return b->axis_dims[rank - 1] >= 0 && b->n_params == b->axis_dims[rank - 1];
}

/* The same coefficients a call computes (the same code), so that folding
 * them changes no rounding. */
void ck_bn_coefficients(const ck_layer *layer, void *inv_buf, void *off_buf)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    if (layer->dtype == CK_FLOAT32) BN_COEFFS(float, sqrtf);
    else BN_COEFFS(double, sqrt);
}

static ck_status bn_get_config(const ck_layer *layer, json_t *c)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    ck_status st = ck_json_set(c, "axis", ck_arg_axes_json(b->axes, b->naxes, b->axis_is_list));
    if (st == CK_OK) st = ck_json_set(c, "momentum", ck_arg_num_json(b->momentum, b->momentum_is_int));
    if (st == CK_OK) st = ck_json_set(c, "epsilon", ck_arg_num_json(b->epsilon, b->epsilon_is_int));
    if (st == CK_OK) st = ck_affine_config_head(&b->affine, c);
    if (st == CK_OK) st = ck_json_set(c, "moving_mean_initializer", ck_initializer_to_json(b->mean_init));
    if (st == CK_OK) st = ck_json_set(c, "moving_variance_initializer", ck_initializer_to_json(b->var_init));
    if (st == CK_OK) st = ck_affine_config_tail(&b->affine, c);
    return st;
}

/* Checks of BatchNormalizationBase.__init__, then defaults; hands the
 * arguments over to the layer. */
static ck_status bn_finish(ck_layer *layer, bn_args *a)
{
    ck_bn_layer *b = (ck_bn_layer *)layer;
    char buf[96];
    if (a->fused == 1) {
        /* _raise_if_fused_cannot_be_used */
        if (a->naxes > 1 || !in_axes((int[]){-4, -3, -1, 1, 3, 4}, 6, a->axes[0])) {
            axes_fmt(a->axes, a->naxes, buf, sizeof buf);
            return ck_error(CK_VALUE_ERROR, "Passing `fused=True` is only supported when axis is 1 or 3 for input "
                            "rank = 4 or 1 or 4 for input rank = 5. Got axis %s", buf);
        }
        if (layer->dtype != CK_FLOAT32)
            return ck_error(CK_VALUE_ERROR, "Passing `fused=True` is only supported when the compute dtype is "
                            "float16, bfloat16, or float32. Got dtype: %s", ck_dtype_name(layer->dtype));
    }
    ck_affine_params affine;
    CK_TRY(ck_affine_finish(&affine, &a->affine));
    b->affine = affine; /* before the next failure point: freed with the layer */
    if (!a->mean_init) CK_TRY(ck_initializer_new(&a->mean_init, "zeros"));
    if (!a->var_init) CK_TRY(ck_initializer_new(&a->var_init, "ones"));
    b->naxes = a->naxes;
    b->axis_is_list = a->axis_is_list;
    memcpy(b->axes, a->axes, sizeof b->axes);
    b->momentum = a->momentum;
    b->epsilon = a->epsilon;
    b->momentum_is_int = a->momentum_is_int;
    b->epsilon_is_int = a->epsilon_is_int;
    b->fused = a->fused;
    b->mean_init = a->mean_init, b->var_init = a->var_init;
    memset(a, 0, sizeof *a);
    return CK_OK;
}

ck_status ck_batch_normalization(ck_layer **out, const ck_batch_normalization_opts *o)
{
    CK_NEED(out);
    static const ck_batch_normalization_opts defaults;
    if (!o) o = &defaults;
    if (o->naxes < 0 || o->naxes > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "BatchNormalization: naxes must be 0 to %d, got %d", CK_MAX_RANK, o->naxes);
    bn_args a = {.naxes = o->naxes ? o->naxes : 1, .axis_is_list = o->naxes > 1, .axes = {-1},
                 .momentum = o->momentum.set ? o->momentum.value : 0.99,
                 .epsilon = o->epsilon.set ? o->epsilon.value : 1e-3,
                 .fused = -1};
    if (o->naxes) memcpy(a.axes, o->axes, sizeof a.axes);
    ck_status st = ck_affine_from_opts(&a.affine, o->no_center, o->no_scale, &CK_AFFINE_NAMES_OF(o));
    if (st == CK_OK && o->moving_mean_initializer) st = ck_initializer_new(&a.mean_init, o->moving_mean_initializer);
    if (st == CK_OK && o->moving_variance_initializer)
        st = ck_initializer_new(&a.var_init, o->moving_variance_initializer);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = CK_ARG_CREATE(&ck_batch_normalization_class, o, &layer);
    if (st == CK_OK) st = bn_finish(layer, &a);
    args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

/* Keys whose only supported value is "off": renorm, virtual batches,
 * an adjustment function and Keras 1's non-default modes. */
static ck_status check_unsupported(const json_t *c)
{
    static const char *const cls = "BatchNormalization";
    int renorm = 0;
    CK_TRY(ck_arg_bool(json_object_get(c, "renorm"), cls, "renorm", &renorm));
    if (renorm)
        return ck_error(CK_NOT_IMPLEMENTED, "BatchNormalization with renorm=True (batch renormalization) is not "
                        "supported");
    const json_t *vbs = json_object_get(c, "virtual_batch_size"), *adj = json_object_get(c, "adjustment");
    if (vbs && !json_is_null(vbs))
        return ck_error(CK_NOT_IMPLEMENTED, "BatchNormalization with virtual_batch_size (ghost batch normalization) "
                        "is not supported");
    if (adj && !json_is_null(adj))
        return ck_error(CK_NOT_IMPLEMENTED, "BatchNormalization with an adjustment function is not supported");
    int64_t mode = 0;
    CK_TRY(ck_arg_int(json_object_get(c, "mode"), cls, "mode", &mode, NULL));
    if (mode != 0)
        return ck_error(CK_NOT_IMPLEMENTED, "Keras 1 BatchNormalization mode=%lld (only mode 0, feature-wise with "
                        "moving statistics, is supported)", (long long)mode);
    return CK_OK;
}

static ck_status bn_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {
        "axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
        "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
        "beta_constraint", "gamma_constraint",
        /* tf.keras extras */
        "renorm", "renorm_clipping", "renorm_momentum", "fused", "virtual_batch_size", "adjustment", "synchronized",
        "input_dtype",
        /* Keras 1 */
        "mode", "beta_init", "gamma_init", NULL};
    static const char *const cls = "BatchNormalization";
    CK_TRY(check_unsupported(c));
    bn_args a = {.naxes = 1, .axes = {-1}, .momentum = 0.99, .epsilon = 1e-3, .affine = CK_AFFINE_DEFAULTS, .fused = -1};
    CK_TRY(ck_arg_axes(json_object_get(c, "axis"), cls, "axis", a.axes, &a.naxes, &a.axis_is_list));
    if (a.naxes == 0)
        return ck_error(CK_VALUE_ERROR, "BatchNormalization config: `axis` must name at least one axis");
    CK_TRY(ck_arg_number(json_object_get(c, "momentum"), cls, "momentum", &a.momentum, &a.momentum_is_int));
    CK_TRY(ck_arg_number(json_object_get(c, "epsilon"), cls, "epsilon", &a.epsilon, &a.epsilon_is_int));
    const json_t *jf = json_object_get(c, "fused");
    if (jf && !json_is_null(jf)) {
        int f = 0;
        CK_TRY(ck_arg_bool(jf, cls, "fused", &f));
        a.fused = f;
    }
    int sync = 0;
    CK_TRY(ck_arg_bool(json_object_get(c, "synchronized"), cls, "synchronized", &sync));
    if (sync && a.fused == 1)
        return ck_error(CK_VALUE_ERROR, "`fused=True` is not supported when `synchronized=True`.");
    /* Keras 1 named the initializers beta_init / gamma_init. */
    ck_status st = ck_affine_from_config(&a.affine, c, cls, 1);
    if (st == CK_OK) st = ck_initializer_from_json(json_object_get(c, "moving_mean_initializer"), &a.mean_init);
    if (st == CK_OK) st = ck_initializer_from_json(json_object_get(c, "moving_variance_initializer"), &a.var_init);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_batch_normalization_class, c, keys, &layer);
    if (st == CK_OK) st = bn_finish(layer, &a);
    args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_batch_normalization_class = {
    .class_name = "BatchNormalization",
    .size = sizeof(ck_bn_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .build = bn_build,
    .compute_output_shape = bn_output_shape,
    .call = ck_layer_call_own_scratch,
    .call_scratch_bytes = bn_scratch_bytes,
    .call_scratch = bn_call_scratch,
    .get_config = bn_get_config,
    .from_config = bn_from_config,
    .destroy = bn_destroy,
    .saved_bytes = ck_bn_saved_bytes,
    .train_call = ck_bn_train_call,
    .backward = ck_bn_backward,
};
