/* keras.layers.AlphaDropout: the identity at inference.  In training, for
 * 0 < rate < 1 (any other rate is the identity in tf.keras 2.x too), a
 * mask element is kept when a uniform draw is >= rate, dropped values become
 * SELU's negative saturation alpha_p = -alpha * scale, and an affine map
 * a * x + b restores zero mean and unit variance:
 *     a = ((1 - rate) * (1 + rate * alpha_p^2))^-0.5,  b = -a * alpha_p * rate.
 * The 0/1 mask stays in `saved` for backward (dx = dy * a * keep).  tf.keras
 * 2.x writes only rate and seed in its config (noise_shape is read too). */
#include <math.h>

#include "layers/dropout.h"

/* SELU's constants, as tf.keras' AlphaDropout spells them. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

static int alpha_active(const ck_dropout_layer *d, const ck_train_ctx *ctx)
{
    return ctx && ctx->training && d->rate > 0 && d->rate < 1;
}

/* a and b in double, as Python computes them before TF casts them. */
static void affine(double rate, double *ap, double *a, double *b)
{
    *ap = -SELU_ALPHA * SELU_SCALE;
    *a = 1.0 / sqrt((1 - rate) * (1 + rate * *ap * *ap));
    *b = -*a * *ap * rate;
}

/* x' = x * k + alpha_p * (1 - k), y = a * x' + b, in the layer dtype and
 * TF's order of operations. */
#define ALPHA_FORWARD(T)                                                                 \
    do {                                                                                 \
        T *k = saved, tap = (T)ap, ta = (T)a, tb = (T)b;                                 \
        for (int64_t j = 0; j < count; j++) k[j] = ck_rng_uniform(ctx->rng) >= d->rate ? (T)1 : (T)0; \
        const T *xs = x->data;                                                           \
        T *ys = out->data;                                                               \
        CK_DROPOUT_EACH(x, nstride, same, ys[i] = ta * (xs[i] * k[p] + tap * ((T)1 - k[p])) + tb); \
    } while (0)

static ck_status alpha_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *outs, void *saved)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    if (!alpha_active(d, ctx)) return ck_dropout_call(layer, n, in, outs);
    if (!ck_dtype_is_floating(x->dtype))
        return ck_error(CK_TYPE_ERROR, "AlphaDropout layer \"%s\" needs floating inputs in training, got %s",
                        layer->name, ck_dtype_name(x->dtype));
    if (!ctx->rng)
        return ck_error(CK_VALUE_ERROR, "AlphaDropout layer \"%s\": training needs a random stream", layer->name);
    int64_t count, nstride[CK_MAX_RANK];
    int same;
    CK_TRY(ck_dropout_mask_layout(d, x, &count, nstride, &same));
    double ap, a, b;
    affine(d->rate, &ap, &a, &b);
    if (x->dtype == CK_FLOAT32) ALPHA_FORWARD(float);
    else ALPHA_FORWARD(double);
    return CK_OK;
}

#define ALPHA_BACKWARD(T)                                                                \
    do {                                                                                 \
        const T *k = saved, *dys = dout->data, ta = (T)a;                                \
        T *dxs = dx->data;                                                               \
        CK_DROPOUT_EACH(dx, nstride, same, dxs[i] = dys[i] * ta * k[p]);                 \
    } while (0)

static ck_status alpha_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)n, (void)in, (void)out; /* dx has the input's shape */
    if (!dx) return CK_OK;
    if (!alpha_active(d, ctx)) {
        ck_arg_copy_data(dout, dx);
        return CK_OK;
    }
    int64_t count, nstride[CK_MAX_RANK];
    int same;
    CK_TRY(ck_dropout_mask_layout(d, dx, &count, nstride, &same));
    double ap, a, b;
    affine(d->rate, &ap, &a, &b);
    (void)b;
    if (dx->dtype == CK_FLOAT32) ALPHA_BACKWARD(float);
    else ALPHA_BACKWARD(double);
    return CK_OK;
}

static ck_status alpha_dropout_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    ck_status st = ck_json_set(c, "rate", ck_arg_num_json(d->rate, d->rate_is_int));
    if (st == CK_OK) st = ck_json_set(c, "seed", d->has_seed ? json_integer(d->seed) : json_null());
    return st;
}

ck_status ck_alpha_dropout(ck_layer **out, const ck_dropout_opts *o)
{
    CK_NEED(out);
    /* AlphaDropout does not check the rate (any rate outside (0, 1) simply
     * disables the noise in training). */
    return ck_dropout_new(&ck_alpha_dropout_class, o, 0, out);
}

static ck_status alpha_dropout_from_config(const json_t *c, ck_layer **out)
{
    return ck_dropout_from_config_as(&ck_alpha_dropout_class, c, 0, out);
}

const ck_layer_class ck_alpha_dropout_class = {
    .class_name = "AlphaDropout",
    .size = sizeof(ck_dropout_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = ck_dropout_output_shape,
    .call = ck_dropout_call,
    .get_config = alpha_dropout_get_config,
    .from_config = alpha_dropout_from_config,
    .saved_bytes = ck_dropout_saved_bytes,
    .train_call = alpha_train_call,
    .backward = alpha_backward,
};
