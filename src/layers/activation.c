/* keras.layers.Activation: applies an activation function (params/). */
#include <string.h>

#include "layers/layer_args.h"

typedef struct ck_act_fn_layer {
    ck_layer base;
    ck_activation *activation;
} ck_act_fn_layer;

static void activation_destroy(ck_layer *layer)
{
    ck_activation_free(((ck_act_fn_layer *)layer)->activation);
}

static ck_status activation_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

static ck_status activation_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_act_fn_layer *a = (const ck_act_fn_layer *)layer;
    (void)n;
    /* linear is the identity on any dtype (integers are not autocast). */
    if (strcmp(ck_activation_name(a->activation), "linear") == 0) {
        ck_arg_copy_data(in[0], outs[0]);
        return CK_OK;
    }
    if (!ck_dtype_is_floating(in[0]->dtype))
        return ck_error(CK_TYPE_ERROR, "Activation layer \"%s\": '%s' needs a floating input, got %s", layer->name,
                        ck_activation_name(a->activation), ck_dtype_name(in[0]->dtype));
    return ck_activation_apply(a->activation, in[0], outs[0]);
}

/* Activation keeps nothing: f'(x) comes from the input and output the
 * trainer keeps (linear, the identity on any dtype, copies dout). */
static ck_status activation_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                     const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_act_fn_layer *a = (const ck_act_fn_layer *)layer;
    (void)ctx, (void)n, (void)saved;
    if (!din || !din[0]) return CK_OK;
    if (ck_activation_is_linear(a->activation)) {
        ck_arg_copy_data(dout, din[0]);
        return CK_OK;
    }
    return ck_activation_grad(a->activation, in[0], out, dout, din[0]);
}

static ck_status activation_get_config(const ck_layer *layer, json_t *c)
{
    return ck_json_set(c, "activation", ck_activation_to_json(((const ck_act_fn_layer *)layer)->activation));
}

ck_status ck_activation_layer(ck_layer **out, const ck_activation_layer_opts *o)
{
    CK_NEED(out);
    static const ck_activation_layer_opts defaults;
    if (!o) o = &defaults;
    ck_activation *act = NULL;
    CK_TRY(ck_activation_new(&act, o->activation, NULL));
    ck_layer *layer = NULL;
    ck_status st = CK_ARG_CREATE(&ck_activation_layer_class, o, &layer);
    if (st != CK_OK) {
        ck_activation_free(act);
        return st;
    }
    ((ck_act_fn_layer *)layer)->activation = act;
    *out = layer;
    return CK_OK;
}

static ck_status activation_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"activation", "input_dtype", NULL};
    ck_activation *act = NULL;
    CK_TRY(ck_activation_from_json(json_object_get(c, "activation"), &act));
    ck_layer *layer = NULL;
    ck_status st = ck_layer_create_from_config(&ck_activation_layer_class, c, keys, &layer);
    if (st != CK_OK) {
        ck_activation_free(act);
        return st;
    }
    ((ck_act_fn_layer *)layer)->activation = act;
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_activation_layer_class = {
    .class_name = "Activation",
    .size = sizeof(ck_act_fn_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = activation_output_shape,
    .call = activation_call,
    .get_config = activation_get_config,
    .from_config = activation_from_config,
    .destroy = activation_destroy,
    .backward = activation_backward,
};
