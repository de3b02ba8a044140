/* keras.layers.Flatten: (batch, d1, ..., dk) -> (batch, d1*...*dk).  With
 * channels_first the channel axis 1 is moved last first, so that the
 * flattened order matches a channels_last model. */
#include <string.h>

#include "layers/layer_args.h"

typedef struct ck_flatten_layer {
    ck_layer base;
    int channels_first;
} ck_flatten_layer;

static ck_status flatten_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    char buf[128];
    (void)n;
    if (in[0].rank < 1)
        return ck_error(CK_VALUE_ERROR, "Input 0 of layer \"%s\" is incompatible with the layer: expected "
                        "min_ndim=1, found ndim=0. Full shape received: %s", layer->name,
                        ck_shape_fmt(buf, sizeof buf, &in[0]));
    /* tf.keras: np.prod of the non-batch dims, None if any is unknown. */
    int64_t prod = 1;
    for (int i = 1; i < in[0].rank; i++) {
        if (in[0].dims[i] < 0) {
            prod = -1;
            break;
        }
        if (ck_mul_overflow_i64(prod, in[0].dims[i], &prod))
            return ck_error(CK_VALUE_ERROR, "Flatten \"%s\": the flattened size of %s overflows", layer->name,
                            ck_shape_fmt(buf, sizeof buf, &in[0]));
    }
    *out = (ck_shape){2, {in[0].dims[0], prod}};
    return CK_OK;
}

static ck_status flatten_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_flatten_layer *f = (const ck_flatten_layer *)layer;
    const ck_tensor *x = in[0];
    (void)n;
    if (!f->channels_first || x->rank < 3) {
        ck_arg_copy_data(x, outs[0]);
        return CK_OK;
    }
    /* (B, C, P...) -> (B, P..., C): out[b][p*C + c] = in[b][c*P + p]. */
    size_t es = ck_dtype_size(x->dtype);
    int64_t batch = x->shape[0], c = x->shape[1], p = 1;
    for (int i = 2; i < x->rank; i++) p *= x->shape[i];
    const char *src = x->data;
    char *dst = outs[0]->data;
    for (int64_t b = 0; b < batch; b++) {
        const char *sb = src + (size_t)(b * c * p) * es;
        char *db = dst + (size_t)(b * c * p) * es;
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t pi = 0; pi < p; pi++)
                memcpy(db + (size_t)(pi * c + ci) * es, sb + (size_t)(ci * p + pi) * es, es);
    }
    return CK_OK;
}

/* The transpose of flatten_call: din[b][c*P + p] = dout[b][p*C + c]. */
static ck_status flatten_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_flatten_layer *f = (const ck_flatten_layer *)layer;
    const ck_tensor *x = in[0];
    (void)ctx, (void)n, (void)out, (void)saved;
    if (!din || !din[0]) return CK_OK;
    if (!f->channels_first || x->rank < 3) {
        ck_arg_copy_data(dout, din[0]);
        return CK_OK;
    }
    size_t es = ck_dtype_size(x->dtype);
    int64_t batch = x->shape[0], c = x->shape[1], p = 1;
    for (int i = 2; i < x->rank; i++) p *= x->shape[i];
    const char *src = dout->data;
    char *dst = din[0]->data;
    for (int64_t b = 0; b < batch; b++) {
        const char *sb = src + (size_t)(b * c * p) * es;
        char *db = dst + (size_t)(b * c * p) * es;
        for (int64_t ci = 0; ci < c; ci++)
            for (int64_t pi = 0; pi < p; pi++)
                memcpy(db + (size_t)(ci * p + pi) * es, sb + (size_t)(pi * c + ci) * es, es);
    }
    return CK_OK;
}

static ck_status flatten_get_config(const ck_layer *layer, json_t *c)
{
    const ck_flatten_layer *f = (const ck_flatten_layer *)layer;
    return ck_json_set(c, "data_format", json_string(f->channels_first ? "channels_first" : "channels_last"));
}

/* conv_utils.normalize_data_format: None is the default channels_last. */
static ck_status parse_data_format(const char *s, int *channels_first)
{
    if (!s || strcmp(s, "channels_last") == 0) {
        *channels_first = 0;
    } else if (strcmp(s, "channels_first") == 0) {
        *channels_first = 1;
    } else {
        return ck_error(CK_VALUE_ERROR, "The `data_format` argument must be one of \"channels_first\", "
                        "\"channels_last\". Received: %s", s);
    }
    return CK_OK;
}

ck_status ck_flatten(ck_layer **out, const ck_flatten_opts *o)
{
    CK_NEED(out);
    static const ck_flatten_opts defaults;
    if (!o) o = &defaults;
    int cf = 0;
    CK_TRY(parse_data_format(o->data_format, &cf));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_flatten_class, o, &layer));
    ((ck_flatten_layer *)layer)->channels_first = cf;
    layer->spec.min_ndim = 1;
    *out = layer;
    return CK_OK;
}

static ck_status flatten_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"data_format", "input_dtype", NULL};
    const json_t *df = json_object_get(c, "data_format");
    if (df && !json_is_null(df) && !json_is_string(df))
        return ck_error(CK_TYPE_ERROR, "Flatten config: `data_format` must be a string");
    int cf = 0;
    CK_TRY(parse_data_format(json_string_value(df), &cf));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_flatten_class, c, keys, &layer));
    ((ck_flatten_layer *)layer)->channels_first = cf;
    layer->spec.min_ndim = 1;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_flatten_class = {
    .class_name = "Flatten",
    .size = sizeof(ck_flatten_layer),
    .arity = CK_ONE_INPUT,
    .compute_output_shape = flatten_output_shape,
    .call = flatten_call,
    .backward = flatten_backward,
    .get_config = flatten_get_config,
    .from_config = flatten_from_config,
};
