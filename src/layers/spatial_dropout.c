/* keras.layers.SpatialDropout1D / 2D / 3D (tf.keras 2.15): Dropout whose
 * mask has one value per (sample, channel), shared by every step / pixel /
 * voxel: noise shape (B, 1, C), (B, 1, 1, C), (B, 1, 1, 1, C) for
 * channels_last, (B, C, 1[, 1[, 1]]) for channels_first.  Kept channels are
 * scaled by 1 / (1 - rate).  The identity at inference.  The mask layout and
 * the draws reuse Dropout's helper (dropout.h): the mask is drawn in its
 * row-major order from the trainer's stream and kept for backward.
 * tf.keras 2.x does not write data_format in 2D / 3D configs (Keras 3
 * does); it is read when present. */
#include <string.h>

#include "layers/dropout.h"
#include "layers/normattn_classes.h"

typedef struct sd_layer {
    ck_dropout_layer d;  /* rate, seed (noise_shape stays None) */
    int channels_first;
} sd_layer;

static int rank_of(const ck_layer_class *cls)
{
    return cls == &ck_spatial_dropout1d_class ? 3 : cls == &ck_spatial_dropout2d_class ? 4 : 5;
}

/* A Dropout view of the layer with this call's noise shape. */
static void noise_view(const sd_layer *l, const ck_tensor *x, ck_dropout_layer *v)
{
    *v = l->d;
    v->has_noise_shape = 1;
    v->noise_shape.rank = x->rank;
    for (int i = 0; i < x->rank; i++) v->noise_shape.dims[i] = 1;
    v->noise_shape.dims[0] = x->shape[0];
    const int c = l->channels_first ? 1 : x->rank - 1;
    v->noise_shape.dims[c] = x->shape[c];
}

static size_t sd_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const sd_layer *l = (const sd_layer *)layer;
    (void)n, (void)out;
    if (in[0].rank < 2) return 0;
    const int c = l->channels_first ? 1 : in[0].rank - 1;
    const int64_t b = in[0].dims[0] > 0 ? in[0].dims[0] : 0, ch = in[0].dims[c] > 0 ? in[0].dims[c] : 0;
    return (size_t)(b * ch) * ck_dtype_size(layer->dtype);
}

static int active(const sd_layer *l, const ck_train_ctx *ctx) { return ctx && ctx->training && l->d.rate != 0; }

#define SD_FORWARD(T)                                                                            \
    do {                                                                                         \
        T *m = saved, scale = (T)(1.0 / (1.0 - l->d.rate));                                      \
        for (int64_t j = 0; j < count; j++) m[j] = ck_rng_uniform(ctx->rng) >= l->d.rate ? scale : (T)0; \
        const T *xs = x->data;                                                                   \
        T *ys = out->data;                                                                       \
        CK_DROPOUT_EACH(x, nstride, same, ys[i] = m[p] != 0 ? xs[i] * m[p] : (T)0);              \
    } while (0)

static ck_status sd_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                               ck_tensor *const *outs, void *saved)
{
    const sd_layer *l = (const sd_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    if (!active(l, ctx)) return ck_dropout_call(layer, n, in, outs);
    if (x->dtype != layer->dtype)
        return ck_error(CK_TYPE_ERROR, "%s layer \"%s\" needs floating inputs in training, got %s",
                        layer->cls->class_name, layer->name, ck_dtype_name(x->dtype));
    if (l->d.rate >= 1 || !ctx->rng)
        return ck_error(CK_VALUE_ERROR, "%s layer \"%s\": training needs a rate below 1 and a random stream",
                        layer->cls->class_name, layer->name);
    ck_dropout_layer v;
    noise_view(l, x, &v);
    int64_t count, nstride[CK_MAX_RANK];
    int same;
    CK_TRY(ck_dropout_mask_layout(&v, x, &count, nstride, &same));
    if (x->dtype == CK_FLOAT32) SD_FORWARD(float);
    else SD_FORWARD(double);
    return CK_OK;
}

#define SD_BACKWARD(T)                                                                           \
    do {                                                                                         \
        const T *m = saved, *dys = dout->data;                                                   \
        T *dxs = dx->data;                                                                       \
        CK_DROPOUT_EACH(dx, nstride, same, dxs[i] = m[p] != 0 ? dys[i] * m[p] : (T)0);           \
    } while (0)

static ck_status sd_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const sd_layer *l = (const sd_layer *)layer;
    ck_tensor *dx = din ? din[0] : NULL;
    (void)n, (void)in, (void)out;
    if (!dx) return CK_OK;
    if (!active(l, ctx)) {
        ck_arg_copy_data(dout, dx);
        return CK_OK;
    }
    ck_dropout_layer v;
    noise_view(l, dx, &v);
    int64_t count, nstride[CK_MAX_RANK];
    int same;
    CK_TRY(ck_dropout_mask_layout(&v, dx, &count, nstride, &same));
    if (dx->dtype == CK_FLOAT32) SD_BACKWARD(float);
    else SD_BACKWARD(double);
    return CK_OK;
}

/* tf.keras writes Dropout's keys (noise_shape always None). */
static ck_status sd_get_config(const ck_layer *layer, json_t *c)
{
    const sd_layer *l = (const sd_layer *)layer;
    ck_status st = ck_json_set(c, "rate", ck_arg_num_json(l->d.rate, l->d.rate_is_int));
    if (st == CK_OK) st = ck_json_set(c, "noise_shape", json_null());
    if (st == CK_OK) st = ck_json_set(c, "seed", l->d.has_seed ? json_integer(l->d.seed) : json_null());
    return st;
}

static ck_status parse_format(const char *f, int *channels_first)
{
    if (!f || !strcmp(f, "channels_last")) *channels_first = 0;
    else if (!strcmp(f, "channels_first")) *channels_first = 1;
    else
        return ck_error(CK_VALUE_ERROR, "`data_format` must be \"channels_last\" or \"channels_first\". Received: "
                        "data_format=%s.", f);
    return CK_OK;
}

static ck_status finish(ck_layer *layer, int channels_first)
{
    sd_layer *l = (sd_layer *)layer;
    l->channels_first = channels_first;
    l->d.has_noise_shape = 0;
    layer->spec = (ck_input_spec){.ndim = rank_of(layer->cls)};
    return CK_OK;
}

static ck_status sd_new(const ck_layer_class *cls, const ck_spatial_dropout_opts *o, ck_layer **out)
{
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (rate)", cls->class_name);
    int cf = 0;
    if (cls == &ck_spatial_dropout1d_class && o->data_format)
        return ck_error(CK_TYPE_ERROR, "SpatialDropout1D takes no data_format");
    CK_TRY(parse_format(o->data_format, &cf));
    ck_dropout_opts d = {.rate = o->rate, .seed = o->seed, .name = o->name, .frozen = o->frozen, .dtype = o->dtype,
                         .input_shape = o->input_shape, .batch_size = o->batch_size,
                         .activity_regularizer = o->activity_regularizer};
    ck_layer *layer = NULL;
    CK_TRY(ck_dropout_new(cls, &d, 1, &layer));
    finish(layer, cf);
    *out = layer;
    return CK_OK;
}

ck_status ck_spatial_dropout1d(ck_layer **out, const ck_spatial_dropout_opts *o)
{
    CK_NEED(out);
    return sd_new(&ck_spatial_dropout1d_class, o, out);
}

ck_status ck_spatial_dropout2d(ck_layer **out, const ck_spatial_dropout_opts *o)
{
    CK_NEED(out);
    return sd_new(&ck_spatial_dropout2d_class, o, out);
}

ck_status ck_spatial_dropout3d(ck_layer **out, const ck_spatial_dropout_opts *o)
{
    CK_NEED(out);
    return sd_new(&ck_spatial_dropout3d_class, o, out);
}

/* Dropout's keys plus data_format (2D / 3D; Keras 3 writes it). */
static ck_status sd_from_config_as(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", cls->class_name);
    int cf = 0;
    const json_t *f = json_object_get(c, "data_format");
    if (f && !json_is_null(f)) {
        if (cls == &ck_spatial_dropout1d_class || !json_is_string(f))
            return ck_error(CK_TYPE_ERROR, "%s config: bad data_format", cls->class_name);
        CK_TRY(parse_format(json_string_value(f), &cf));
    }
    /* Dropout's reader knows no data_format: hand it a copy without. */
    json_t *copy = json_copy((json_t *)c);
    if (!copy) return ck_oom("a SpatialDropout config");
    json_object_del(copy, "data_format");
    ck_layer *layer = NULL;
    ck_status st = ck_dropout_from_config_as(cls, copy, 1, &layer);
    json_decref(copy);
    CK_TRY(st);
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    if (d->has_noise_shape) {
        ck_layer_free(layer);
        return ck_error(CK_NOT_IMPLEMENTED, "%s config: a noise_shape is not used by spatial dropout",
                        cls->class_name);
    }
    finish(layer, cf);
    *out = layer;
    return CK_OK;
}

static ck_status sd1_from_config(const json_t *c, ck_layer **out)
{
    return sd_from_config_as(&ck_spatial_dropout1d_class, c, out);
}
static ck_status sd2_from_config(const json_t *c, ck_layer **out)
{
    return sd_from_config_as(&ck_spatial_dropout2d_class, c, out);
}
static ck_status sd3_from_config(const json_t *c, ck_layer **out)
{
    return sd_from_config_as(&ck_spatial_dropout3d_class, c, out);
}

#define SPATIAL_DROPOUT_CLASS(NAME, FROM_CONFIG)                                                            \
    {                                                                                                       \
        .class_name = NAME, .size = sizeof(sd_layer), .arity = CK_ONE_INPUT, .supports_masking = 1,         \
        .compute_output_shape = ck_dropout_output_shape, .call = ck_dropout_call, .get_config = sd_get_config, \
        .from_config = FROM_CONFIG, .saved_bytes = sd_saved_bytes, .train_call = sd_train_call,             \
        .backward = sd_backward,                                                                            \
    }

const ck_layer_class ck_spatial_dropout1d_class = SPATIAL_DROPOUT_CLASS("SpatialDropout1D", sd1_from_config);
const ck_layer_class ck_spatial_dropout2d_class = SPATIAL_DROPOUT_CLASS("SpatialDropout2D", sd2_from_config);
const ck_layer_class ck_spatial_dropout3d_class = SPATIAL_DROPOUT_CLASS("SpatialDropout3D", sd3_from_config);
