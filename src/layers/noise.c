/* keras.layers.GaussianNoise and GaussianDropout (tf.keras 2.15): the
 * identity at inference; in training GaussianNoise adds N(0, stddev) draws
 * and GaussianDropout (for 0 < rate < 1) multiplies by N(1, sqrt(rate /
 * (1 - rate))) draws.  The draws come from the trainer's random stream
 * (ck_train_ctx.rng), so TF's values cannot match; the `seed` argument is
 * kept for get_config.  GaussianNoise keeps nothing for backward (dx = dy);
 * GaussianDropout keeps its multipliers (dx = dy * noise). */
#include <math.h>

#include "layers/layer_args.h"
#include "layers/normattn_classes.h"

typedef struct noise_layer {
    ck_layer base;
    double amount; /* stddev (GaussianNoise) or rate (GaussianDropout) */
    int amount_is_int;
    int has_seed;
    int64_t seed;
} noise_layer;

static int is_dropout(const ck_layer *layer) { return layer->cls == &ck_gaussian_dropout_class; }

/* 1 when a training call changes the values. */
static int active(const ck_layer *layer, const ck_train_ctx *ctx)
{
    const noise_layer *l = (const noise_layer *)layer;
    if (!ctx || !ctx->training) return 0;
    return is_dropout(layer) ? l->amount > 0 && l->amount < 1 : 1;
}

static ck_status noise_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

static ck_status noise_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)layer, (void)n;
    ck_arg_copy_data(in[0], outs[0]);
    return CK_OK;
}

static size_t noise_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    (void)n, (void)out;
    if (!is_dropout(layer)) return 0;
    size_t count = 1;
    for (int i = 0; i < in[0].rank; i++) count *= (size_t)(in[0].dims[i] > 0 ? in[0].dims[i] : 0);
    return count * ck_dtype_size(layer->dtype);
}

#define NOISE_FORWARD(T)                                                                \
    do {                                                                                \
        const T *xs = x->data;                                                          \
        T *ys = out->data, *m = saved;                                                  \
        for (int64_t i = 0; i < x->size; i++) {                                         \
            const double z = ck_rng_normal(ctx->rng);                                   \
            if (dropout) {                                                              \
                m[i] = (T)(1.0 + sd * z);                                               \
                ys[i] = xs[i] * m[i];                                                   \
            } else {                                                                    \
                ys[i] = xs[i] + (T)(sd * z);                                            \
            }                                                                           \
        }                                                                               \
    } while (0)

static ck_status noise_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *outs, void *saved)
{
    const noise_layer *l = (const noise_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    if (!active(layer, ctx)) return noise_call(layer, n, in, outs);
    if (x->dtype != layer->dtype)
        return ck_error(CK_TYPE_ERROR, "%s layer \"%s\" needs floating inputs in training, got %s",
                        layer->cls->class_name, layer->name, ck_dtype_name(x->dtype));
    if (!ctx->rng)
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": training needs a random stream", layer->cls->class_name,
                        layer->name);
    const int dropout = is_dropout(layer);
    const double sd = dropout ? sqrt(l->amount / (1.0 - l->amount)) : l->amount;
    if (x->dtype == CK_FLOAT32) NOISE_FORWARD(float);
    else NOISE_FORWARD(double);
    return CK_OK;
}

static ck_status noise_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_tensor *dx = din ? din[0] : NULL;
    (void)n, (void)in, (void)out;
    if (!dx) return CK_OK;
    ck_arg_copy_data(dout, dx);
    if (!active(layer, ctx) || !is_dropout(layer)) return CK_OK;
    if (dx->dtype == CK_FLOAT32) {
        float *g = dx->data;
        const float *m = saved;
        for (int64_t i = 0; i < dx->size; i++) g[i] *= m[i];
    } else {
        double *g = dx->data;
        const double *m = saved;
        for (int64_t i = 0; i < dx->size; i++) g[i] *= m[i];
    }
    return CK_OK;
}

static ck_status noise_get_config(const ck_layer *layer, json_t *c)
{
    const noise_layer *l = (const noise_layer *)layer;
    ck_status st = ck_json_set(c, is_dropout(layer) ? "rate" : "stddev", ck_arg_num_json(l->amount, l->amount_is_int));
    if (st == CK_OK) st = ck_json_set(c, "seed", l->has_seed ? json_integer(l->seed) : json_null());
    return st;
}

static ck_status check_amount(const ck_layer_class *cls, double v)
{
    if (cls == &ck_gaussian_dropout_class ? !(v >= 0 && v <= 1) : !(v >= 0))
        return ck_error(CK_VALUE_ERROR, "%s: %s must be %s, got %g", cls->class_name,
                        cls == &ck_gaussian_dropout_class ? "rate" : "stddev",
                        cls == &ck_gaussian_dropout_class ? "in [0, 1]" : "non-negative", v);
    return CK_OK;
}

static void fill(ck_layer *layer, double amount, int is_int, int has_seed, int64_t seed)
{
    noise_layer *l = (noise_layer *)layer;
    l->amount = amount, l->amount_is_int = is_int, l->has_seed = has_seed, l->seed = seed;
}

ck_status ck_gaussian_noise(ck_layer **out, const ck_gaussian_noise_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "GaussianNoise: options are required (stddev)");
    CK_TRY(check_amount(&ck_gaussian_noise_class, o->stddev));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_gaussian_noise_class, o, &layer));
    fill(layer, o->stddev, 0, o->seed.set, o->seed.value);
    *out = layer;
    return CK_OK;
}

ck_status ck_gaussian_dropout(ck_layer **out, const ck_gaussian_dropout_opts *o)
{
    CK_NEED(out);
    if (!o) return ck_error(CK_VALUE_ERROR, "GaussianDropout: options are required (rate)");
    CK_TRY(check_amount(&ck_gaussian_dropout_class, o->rate));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_gaussian_dropout_class, o, &layer));
    fill(layer, o->rate, 0, o->seed.set, o->seed.value);
    *out = layer;
    return CK_OK;
}

/* Keras 1 called them sigma (GaussianNoise) and p (GaussianDropout). */
static ck_status noise_from_config_as(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const noise_keys[] = {"stddev", "sigma", "seed", NULL};
    static const char *const drop_keys[] = {"rate", "p", "seed", NULL};
    const int dropout = cls == &ck_gaussian_dropout_class;
    const char *key = dropout ? "rate" : "stddev";
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", cls->class_name);
    const json_t *v = ck_arg_get2(c, key, dropout ? "p" : "sigma");
    if (!v || json_is_null(v))
        return ck_error(CK_TYPE_ERROR, "%s config: the required argument `%s` is missing", cls->class_name, key);
    double amount = 0;
    int is_int = 0, has_seed = 0;
    int64_t seed = 0;
    CK_TRY(ck_arg_number(v, cls->class_name, key, &amount, &is_int));
    CK_TRY(check_amount(cls, amount));
    CK_TRY(ck_arg_int(json_object_get(c, "seed"), cls->class_name, "seed", &seed, &has_seed));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, dropout ? drop_keys : noise_keys, &layer));
    fill(layer, amount, is_int, has_seed, seed);
    *out = layer;
    return CK_OK;
}

static ck_status gaussian_noise_from_config(const json_t *c, ck_layer **out)
{
    return noise_from_config_as(&ck_gaussian_noise_class, c, out);
}

static ck_status gaussian_dropout_from_config(const json_t *c, ck_layer **out)
{
    return noise_from_config_as(&ck_gaussian_dropout_class, c, out);
}

#define NOISE_CLASS(NAME, FROM_CONFIG)                                                                      \
    {                                                                                                       \
        .class_name = NAME, .size = sizeof(noise_layer), .arity = CK_ONE_INPUT, .supports_masking = 1,      \
        .compute_output_shape = noise_output_shape, .call = noise_call, .get_config = noise_get_config,     \
        .from_config = FROM_CONFIG, .saved_bytes = noise_saved_bytes, .train_call = noise_train_call,       \
        .backward = noise_backward,                                                                         \
    }

const ck_layer_class ck_gaussian_noise_class = NOISE_CLASS("GaussianNoise", gaussian_noise_from_config);
const ck_layer_class ck_gaussian_dropout_class = NOISE_CLASS("GaussianDropout", gaussian_dropout_from_config);
