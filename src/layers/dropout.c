/* keras.layers.Dropout: the identity at inference; in training (tf.nn.dropout
 * as tf.keras 2.x calls it) each mask element is kept when a uniform draw is
 * >= rate, and kept values are scaled by 1 / (1 - rate).  The mask (0 or the
 * scale, one value per noise element) stays in `saved` for backward.  The
 * draws come from the trainer's stream, so TF's exact values cannot match;
 * the `seed` argument is kept only for get_config. */
#include "layers/dropout.h"

ck_status ck_dropout_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

ck_status ck_dropout_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)layer, (void)n;
    ck_arg_copy_data(in[0], outs[0]);
    return CK_OK;
}

ck_status ck_dropout_noise_shape(const ck_dropout_layer *d, const ck_shape *in, ck_shape *noise)
{
    char a[128], b[128];
    if (!d->has_noise_shape) {
        *noise = *in;
        return CK_OK;
    }
    ck_shape ns = d->noise_shape;
    /* Dropout._get_noise_shape counts noise_shape's entries from the first
     * dim; a mask of another rank would broadcast from the last one, which
     * TF only accepts by accident of equal dims: ask for the input's rank. */
    int ok = ns.rank == in->rank;
    for (int i = 0; ok && i < ns.rank; i++) {
        if (ns.dims[i] < 0) ns.dims[i] = in->dims[i];
        ok = ns.dims[i] == 1 || ns.dims[i] == in->dims[i];
    }
    if (!ok)
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": noise_shape %s does not broadcast to the input shape %s "
                        "(it needs the input's rank, each dim 1, None or the input's)",
                        d->base.cls->class_name, d->base.name, ck_shape_fmt(a, sizeof a, &d->noise_shape),
                        ck_shape_fmt(b, sizeof b, in));
    *noise = ns;
    return CK_OK;
}

size_t ck_dropout_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    ck_shape noise;
    (void)n, (void)out;
    /* A bad noise_shape saves nothing; the training call then reports it. */
    if (ck_dropout_noise_shape((const ck_dropout_layer *)layer, &in[0], &noise) != CK_OK) return 0;
    size_t count = 1;
    for (int i = 0; i < noise.rank; i++) count *= (size_t)(noise.dims[i] > 0 ? noise.dims[i] : 0);
    return count * ck_dtype_size(layer->dtype);
}

ck_status ck_dropout_mask_layout(const ck_dropout_layer *d, const ck_tensor *x, int64_t *count,
                                 int64_t nstride[CK_MAX_RANK], int *same)
{
    ck_shape xs = ck_tensor_shape(x), noise;
    CK_TRY(ck_dropout_noise_shape(d, &xs, &noise));
    int64_t stride = 1;
    for (int i = x->rank - 1; i >= 0; i--) {
        nstride[i] = noise.dims[i] == 1 ? 0 : stride;
        stride *= noise.dims[i];
    }
    *count = stride;
    *same = stride == x->size;
    return CK_OK;
}

/* y = where(keep, x * scale, 0) with the mask m = keep ? scale : 0 drawn
 * first, in the mask's row-major order: a dropped value is 0 even where x
 * is inf or NaN, as with TF's where. */
#define DROPOUT_FORWARD(T)                                                           \
    do {                                                                             \
        T *m = saved, scale = (T)(1.0 / (1.0 - d->rate));                            \
        for (int64_t j = 0; j < count; j++) m[j] = ck_rng_uniform(ctx->rng) >= d->rate ? scale : (T)0; \
        const T *xs = x->data;                                                       \
        T *ys = out->data;                                                           \
        CK_DROPOUT_EACH(x, nstride, same, ys[i] = m[p] != 0 ? xs[i] * m[p] : (T)0);  \
    } while (0)

/* 1 when the call drops (tf.keras returns the inputs for rate 0, or at
 * inference). */
static int dropout_active(const ck_dropout_layer *d, const ck_train_ctx *ctx)
{
    return ctx && ctx->training && d->rate != 0;
}

static ck_status dropout_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                    ck_tensor *const *outs, void *saved)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    char buf[32];
    (void)n;
    if (!dropout_active(d, ctx)) return ck_dropout_call(layer, n, in, outs);
    if (!ck_dtype_is_floating(x->dtype))
        return ck_error(CK_VALUE_ERROR, "Dropout layer \"%s\": `x.dtype` must be a floating point tensor as `x` will "
                        "be scaled. Received: x_dtype=%s", layer->name, ck_dtype_name(x->dtype));
    if (d->rate >= 1)
        return ck_error(CK_VALUE_ERROR, "`rate` must be a scalar tensor or a float in the range [0, 1). Received: "
                        "rate=%s (Dropout layer \"%s\" in training)", ck_float_repr(d->rate, buf, sizeof buf),
                        layer->name);
    if (!ctx->rng) return ck_error(CK_VALUE_ERROR, "Dropout layer \"%s\": training needs a random stream", layer->name);
    int64_t count, nstride[CK_MAX_RANK];
    int same;
    CK_TRY(ck_dropout_mask_layout(d, x, &count, nstride, &same));
    if (x->dtype == CK_FLOAT32) DROPOUT_FORWARD(float);
    else DROPOUT_FORWARD(double);
    return CK_OK;
}

/* dx = dy * m, the mask broadcast as in the forward pass. */
#define DROPOUT_BACKWARD(T)                                                          \
    do {                                                                             \
        const T *m = saved, *dys = dout->data;                                       \
        T *dxs = dx->data;                                                           \
        CK_DROPOUT_EACH(dx, nstride, same, dxs[i] = m[p] != 0 ? dys[i] * m[p] : (T)0); \
    } while (0)

static ck_status dropout_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)n, (void)in, (void)out; /* dx has the input's shape */
    if (!dx) return CK_OK;
    if (!dropout_active(d, ctx)) {
        ck_arg_copy_data(dout, dx);
        return CK_OK;
    }
    int64_t count, nstride[CK_MAX_RANK];
    int same;
    CK_TRY(ck_dropout_mask_layout(d, dx, &count, nstride, &same));
    if (dx->dtype == CK_FLOAT32) DROPOUT_BACKWARD(float);
    else DROPOUT_BACKWARD(double);
    return CK_OK;
}

static ck_status check_rate(const char *cls, double rate)
{
    /* Dropout.__init__: "isinstance(rate, (int, float)) and not 0 <= rate <= 1". */
    if (!(rate >= 0 && rate <= 1)) {
        char buf[32];
        return ck_error(CK_VALUE_ERROR, "Invalid value %s received for `rate`, expected a value between 0 and 1. "
                        "(%s)", ck_float_repr(rate, buf, sizeof buf), cls);
    }
    return CK_OK;
}

static void fill(ck_layer *layer, double rate, int rate_is_int, const ck_shape *noise, int has_noise, int has_seed,
                 int64_t seed)
{
    ck_dropout_layer *d = (ck_dropout_layer *)layer;
    d->rate = rate;
    d->rate_is_int = rate_is_int;
    d->has_noise_shape = has_noise;
    if (has_noise) d->noise_shape = *noise;
    d->has_seed = has_seed;
    d->seed = seed;
}

ck_status ck_dropout_new(const ck_layer_class *cls, const ck_dropout_opts *o, int check, ck_layer **out)
{
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (rate)", cls->class_name);
    if (check) CK_TRY(check_rate(cls->class_name, o->rate));
    if (o->noise_shape.rank < 0 || o->noise_shape.rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "%s: noise_shape rank %d is out of range", cls->class_name,
                        o->noise_shape.rank);
    for (int i = 0; i < o->noise_shape.rank; i++)
        if (o->noise_shape.dims[i] < -1)
            return ck_error(CK_VALUE_ERROR, "%s: noise_shape dims must be >= 0 or -1 (None)", cls->class_name);
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    fill(layer, o->rate, 0, &o->noise_shape, o->noise_shape.rank > 0, o->seed.set, o->seed.value);
    *out = layer;
    return CK_OK;
}

ck_status ck_dropout_from_config_as(const ck_layer_class *cls, const json_t *c, int check, ck_layer **out)
{
    static const char *const keys[] = {"rate", "noise_shape", "seed", "p", "input_dtype", NULL};
    const char *name = cls->class_name;
    const json_t *jr = ck_arg_get2(c, "rate", "p");
    if (!jr || json_is_null(jr))
        return ck_error(CK_TYPE_ERROR, "%s config: the required argument `rate` is missing", name);
    double rate = 0;
    int is_int = 0, has_noise = 0, has_seed = 0;
    int64_t seed = 0;
    ck_shape noise = {0, {0}};
    CK_TRY(ck_arg_number(jr, name, "rate", &rate, &is_int));
    if (check) CK_TRY(check_rate(name, rate));
    CK_TRY(ck_arg_shape(json_object_get(c, "noise_shape"), name, "noise_shape", &noise, &has_noise));
    CK_TRY(ck_arg_int(json_object_get(c, "seed"), name, "seed", &seed, &has_seed));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    fill(layer, rate, is_int, &noise, has_noise, has_seed, seed);
    *out = layer;
    return CK_OK;
}

static ck_status dropout_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    ck_status st = ck_json_set(c, "rate", ck_arg_num_json(d->rate, d->rate_is_int));
    if (st == CK_OK)
        st = ck_json_set(c, "noise_shape", d->has_noise_shape ? ck_arg_dims_json(&d->noise_shape) : json_null());
    if (st == CK_OK) st = ck_json_set(c, "seed", d->has_seed ? json_integer(d->seed) : json_null());
    return st;
}

ck_status ck_dropout(ck_layer **out, const ck_dropout_opts *o)
{
    CK_NEED(out);
    return ck_dropout_new(&ck_dropout_class, o, 1, out);
}

static ck_status dropout_from_config(const json_t *c, ck_layer **out)
{
    return ck_dropout_from_config_as(&ck_dropout_class, c, 1, out);
}

const ck_layer_class ck_dropout_class = {
    .class_name = "Dropout",
    .size = sizeof(ck_dropout_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = ck_dropout_output_shape,
    .call = ck_dropout_call,
    .get_config = dropout_get_config,
    .from_config = dropout_from_config,
    .saved_bytes = ck_dropout_saved_bytes,
    .train_call = dropout_train_call,
    .backward = dropout_backward,
};
