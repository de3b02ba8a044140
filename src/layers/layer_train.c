/* Training calls of a layer: the forward pass of a training step, which
 * keeps what the backward pass needs in a caller-owned `saved` block, and
 * the backward pass itself.
 *
 * The contract (ck_layer_class.saved_bytes / train_call / backward):
 *  - the caller (a model's training plan) asks each call for saved_bytes
 *    once, when it plans, and hands the same block to train_call and then
 *    to backward, so a step allocates nothing;
 *  - backward WRITES the input gradients and ADDS the weight gradients into
 *    weight->grad, so that a layer called several times (shared layers,
 *    nested models used twice) sums its weights' gradients, while the model
 *    sums input gradients where a value fans out;
 *  - inputs are not cast here: a training plan feeds every layer its own
 *    dtype (integer inputs only go to classes that read them as they are). */
#include <stdint.h>
#include <string.h>

#include "layers/layer.h"

size_t ck_layer_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    if (!layer->cls->saved_bytes) return 0;
    size_t bytes = layer->cls->saved_bytes(layer, n, in, out);
    /* SIZE_MAX reports a failure (a nested model that could not plan). */
    return bytes > SIZE_MAX - 63 ? SIZE_MAX : (bytes + 63) / 64 * 64;
}

ck_status ck_layer_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                              ck_tensor *const *out, void *saved)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS], oshapes[CK_MAX_LAYER_OUTPUTS];
    ck_dtype dtypes[CK_MAX_LAYER_INPUTS], odtypes[CK_MAX_LAYER_OUTPUTS];
    char a[128], b[128];
    if (n < 1 || n > CK_MAX_LAYER_INPUTS || !in || !out || !out[0] || !out[0]->data)
        return ck_error(CK_VALUE_ERROR, "layer \"%s\": bad arguments to a training call", layer->name);
    for (int i = 0; i < n; i++) {
        if (!in[i] || !in[i]->data)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": training input %d has no data", layer->name, i);
        shapes[i] = ck_tensor_shape(in[i]);
        dtypes[i] = in[i]->dtype;
        /* A nested model takes its Inputs' dtypes; its layers check. */
        if (ck_dtype_is_floating(in[i]->dtype) && in[i]->dtype != layer->dtype && !layer->cls->no_autocast &&
            !layer->cls->sublayer_count)
            return ck_error(CK_TYPE_ERROR, "layer \"%s\": training input %d is %s, the layer computes in %s",
                            layer->name, i, ck_dtype_name(in[i]->dtype), ck_dtype_name(layer->dtype));
    }
    CK_TRY(ck_layer_check_inputs(layer, n, shapes));
    CK_TRY(ck_layer_build(layer, n, shapes));
    CK_TRY(ck_layer_output_shapes_of(layer, n, shapes, oshapes));
    ck_layer_output_dtypes_of(layer, n, dtypes, odtypes);
    for (int k = 0; k < ck_layer_outputs_of(layer); k++) {
        if (!out[k] || !out[k]->data)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": training output %d has no data", layer->name, k);
        ck_shape given = ck_tensor_shape(out[k]);
        int same = given.rank == oshapes[k].rank && out[k]->dtype == odtypes[k];
        for (int i = 0; same && i < given.rank; i++) same = given.dims[i] == oshapes[k].dims[i];
        if (!same)
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": output tensor %d is %s %s, expected %s %s", layer->name,
                            k, ck_dtype_name(out[k]->dtype), ck_shape_fmt(a, sizeof a, &given),
                            ck_dtype_name(odtypes[k]), ck_shape_fmt(b, sizeof b, &oshapes[k]));
    }
    if (layer->cls->train_call) CK_TRY(layer->cls->train_call(layer, ctx, n, in, out, saved));
    else CK_TRY(layer->cls->call(layer, n, in, out));
    return ck_layer_record_activity_loss(layer, out[0]);
}

ck_status ck_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            const ck_tensor *out, ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    if (!layer->cls->backward)
        return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\" (%s) cannot be trained yet: its class has no backward "
                        "pass", layer->name, layer->cls->class_name);
    if (layer->activity_regularizer && ck_dtype_is_floating(out->dtype)) {
        /* tf.keras 2.x adds activity_regularizer(output) / batch_size. */
        int64_t batch = out->rank > 0 ? out->shape[0] : 1;
        if (batch > 0) CK_TRY(ck_regularizer_add_grad(layer->activity_regularizer, out, 1.0 / (double)batch, dout));
    }
    return layer->cls->backward(layer, ctx, n, in, out, dout, saved, din);
}

int ck_layer_can_train(const ck_layer *layer)
{
    if (!layer->cls->backward) return 0;
    if (layer->cls->sublayer_count) {
        int k = layer->cls->sublayer_count(layer);
        for (int i = 0; i < k; i++)
            if (!ck_layer_can_train(layer->cls->sublayer(layer, i))) return 0;
    }
    return 1;
}
