/* keras InputLayer and Input(): the entry points of a functional graph.
 * The layer has one node whose input and output are its own symbolic
 * tensor; called on a concrete tensor it is the identity. */
#include <string.h>

#include "layers/layer.h"

typedef struct ck_input_layer {
    ck_layer base;
    int sparse, ragged;
    /* A config's narrow dtype held in a wider one ("bool", "uint8", ...),
     * written back as it was so that tf.keras gets its own input ("" for
     * none): an attention layer's mask argument must be bool there. */
    char file_dtype[16];
} ck_input_layer;

static ck_status input_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

static ck_status input_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out)
{
    (void)layer, (void)n;
    memcpy(out[0]->data, in[0]->data, (size_t)in[0]->size * ck_dtype_size(in[0]->dtype));
    return CK_OK;
}

/* The identity; an input of another dtype than the layer's gets the
 * gradient converted to it. */
static ck_status input_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    (void)layer, (void)ctx, (void)n, (void)in, (void)out, (void)saved;
    if (!din || !din[0]) return CK_OK;
    ck_tensor *d = din[0];
    if (d->dtype == dout->dtype) {
        memcpy(d->data, dout->data, (size_t)dout->size * ck_dtype_size(dout->dtype));
    } else if (d->dtype == CK_FLOAT32 || d->dtype == CK_FLOAT64) {
        for (int64_t i = 0; i < d->size; i++) {
            double v = ck_tensor_get(dout, i);
            if (d->dtype == CK_FLOAT32) ((float *)d->data)[i] = (float)v;
            else ((double *)d->data)[i] = v;
        }
    }
    return CK_OK;
}

static ck_dtype input_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    (void)n, (void)in;
    return layer->dtype;
}

static ck_status input_get_config(const ck_layer *layer, json_t *c)
{
    /* tf.keras 2.x order: batch_input_shape, dtype, sparse, ragged, name;
     * the base wrote name/trainable/dtype first, so rebuild in order. */
    const ck_input_layer *il = (const ck_input_layer *)layer;
    json_object_clear(c);
    ck_status st = ck_json_set(c, "batch_input_shape", ck_shape_to_json(&layer->batch_input_shape));
    const char *dtype = il->file_dtype[0] ? il->file_dtype : ck_dtype_name(layer->dtype);
    if (st == CK_OK) st = ck_json_set(c, "dtype", json_string(dtype));
    if (st == CK_OK) st = ck_json_set(c, "sparse", json_boolean(il->sparse));
    if (st == CK_OK) st = ck_json_set(c, "ragged", json_boolean(il->ragged));
    if (st == CK_OK) st = ck_json_set(c, "name", json_string(layer->name));
    return st;
}

static ck_status make_input_layer(const char *name, const ck_shape *batch_shape, ck_dtype dtype, int sparse,
                                  int ragged, ck_layer **out)
{
    char buf[64];
    if (ck_dtype_size(dtype) == 0) return ck_error(CK_TYPE_ERROR, "Input: invalid dtype %d", (int)dtype);
    if (batch_shape->rank < 1 || batch_shape->rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Input: the batch shape must have rank 1 to %d, got %d", CK_MAX_RANK,
                        batch_shape->rank);
    if (sparse || ragged)
        return ck_error(CK_NOT_IMPLEMENTED, "Input: sparse and ragged inputs are not supported");
    if (!name || !*name) {
        /* tf.keras: "input_" + get_uid("input"), one-based. */
        long uid = ck_name_uid("input");
        if (uid == 0) return ck_last_status();
        snprintf(buf, sizeof buf, "input_%ld", uid);
        name = buf;
    }
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create(&ck_input_layer_class, name, true, CK_FLOAT32, NULL, 0, NULL, &layer));
    layer->dtype = dtype; /* inputs may be integer (indices for Embedding) */
    layer->has_batch_input_shape = 1;
    layer->batch_input_shape = *batch_shape;
    layer->built = 1;
    ck_tensor *t = NULL;
    ck_status st = ck_symbolic_new(&t, dtype, batch_shape, layer, 0, 0);
    if (st == CK_OK) st = ck_layer_add_node(layer, 1, &t, 1, &t, 1, NULL);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

ck_status ck_input(ck_tensor **out, const ck_input_opts *o)
{
    CK_NEED(out);
    static const ck_input_opts defaults;
    if (!o) o = &defaults;
    if (o->shape.rank < 0 || o->shape.rank + 1 > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "Input: shape of rank %d; at most %d dims besides the batch", o->shape.rank,
                        CK_MAX_RANK - 1);
    ck_shape bs = {o->shape.rank + 1, {0}};
    bs.dims[0] = o->batch_size > 0 ? o->batch_size : -1;
    for (int i = 0; i < o->shape.rank; i++) {
        if (o->shape.dims[i] < -1) return ck_error(CK_VALUE_ERROR, "Input: negative dim in shape");
        bs.dims[i + 1] = o->shape.dims[i];
    }
    ck_layer *layer = NULL;
    CK_TRY(make_input_layer(o->name, &bs, o->dtype ? o->dtype : CK_FLOAT32, 0, 0, &layer));
    *out = layer->inbound[0]->outputs[0];
    return CK_OK;
}

ck_layer *ck_tensor_layer(const ck_tensor *t)
{
    CK_NEED_OR(t, NULL);
    const ck_keras_history *h = ck_tensor_history(t);
    return h ? h->layer : NULL;
}

static ck_status input_from_config(const json_t *c, ck_layer **out)
{
    static const char *const allowed[] = {"batch_input_shape", "batch_shape", "dtype", "input_dtype", "sparse",
                                          "ragged", "name", "optional", "input_tensor", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)c, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if (!ok) return ck_error(CK_TYPE_ERROR, "InputLayer: unrecognized keyword argument '%s'", key);
    }
    const json_t *bs = json_object_get(c, "batch_input_shape");
    if (!bs || json_is_null(bs)) bs = json_object_get(c, "batch_shape");
    if (!bs) return ck_error(CK_VALUE_ERROR, "InputLayer config needs batch_input_shape (or batch_shape)");
    ck_shape shape;
    CK_TRY(ck_json_to_shape(bs, "InputLayer batch_input_shape", &shape));
    const json_t *jd = json_object_get(c, "dtype");
    if (!jd || json_is_null(jd)) jd = json_object_get(c, "input_dtype"); /* Keras 1 */
    ck_dtype dtype = CK_FLOAT32;
    if (json_is_string(jd)) {
        const char *dn = json_string_value(jd);
        /* Narrow integer and bool inputs hold indices: widen to int32/int64. */
        if (!strcmp(dn, "int8") || !strcmp(dn, "int16") || !strcmp(dn, "uint8") || !strcmp(dn, "uint16") ||
            !strcmp(dn, "bool"))
            dtype = CK_INT32;
        else if (!strcmp(dn, "uint32"))
            dtype = CK_INT64;
        else if (!strcmp(dn, "float16") || !strcmp(dn, "bfloat16"))
            dtype = CK_FLOAT32;
        else
            CK_TRY(ck_dtype_from_name(dn, &dtype));
    } else if (json_is_object(jd)) {
        CK_TRY(ck_dtype_from_name(json_string_value(json_object_get(json_object_get(jd, "config"), "name")), &dtype));
    }
    CK_TRY(make_input_layer(json_string_value(json_object_get(c, "name")), &shape, dtype,
                            json_is_true(json_object_get(c, "sparse")), json_is_true(json_object_get(c, "ragged")),
                            out));
    const char *dn = json_string_value(jd);
    ck_dtype same;
    if (dn && !ck_dtype_is_floating(dtype) && ck_dtype_from_name(dn, &same) != CK_OK) {
        ck_clear_error();
        snprintf(((ck_input_layer *)*out)->file_dtype, sizeof ((ck_input_layer *)*out)->file_dtype, "%s", dn);
    }
    return CK_OK;
}

const ck_layer_class ck_input_layer_class = {
    .class_name = "InputLayer",
    .size = sizeof(ck_input_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .call = input_call,
    .backward = input_backward,
    .compute_output_shape = input_output_shape,
    .output_dtype = input_dtype,
    .get_config = input_get_config,
    .from_config = input_from_config,
};
