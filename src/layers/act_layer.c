/* The shared part of the parametrised activation layers. */
#include "layers/act_layer.h"

ck_status ck_act_layer_new(const ck_layer_class *cls, const json_t *config, const char *const *keys,
                           const ck_layer_opts *o, ck_activation *fn, const double p[3], int has_max_value,
                           ck_layer **out)
{
    ck_layer *layer = NULL;
    ck_status st = config ? ck_layer_create_from_config(cls, config, keys, &layer) : CK_ARG_CREATE(cls, o, &layer);
    if (st != CK_OK) {
        ck_activation_free(fn);
        return st;
    }
    ck_act_layer *a = (ck_act_layer *)layer;
    a->fn = fn;
    for (int i = 0; i < 3; i++) a->p[i] = p[i];
    a->has_max_value = has_max_value;
    *out = layer;
    return CK_OK;
}

ck_status ck_act_layer_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

ck_status ck_act_layer_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    const ck_act_layer *a = (const ck_act_layer *)layer;
    (void)n;
    if (!ck_dtype_is_floating(in[0]->dtype))
        return ck_error(CK_TYPE_ERROR, "%s layer \"%s\" needs a floating input, got %s", layer->cls->class_name,
                        layer->name, ck_dtype_name(in[0]->dtype));
    return ck_activation_apply(a->fn, in[0], outs[0]);
}

ck_status ck_act_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    (void)ctx, (void)n, (void)saved;
    if (!din || !din[0]) return CK_OK;
    return ck_activation_grad(((const ck_act_layer *)layer)->fn, in[0], out, dout, din[0]);
}

void ck_act_layer_destroy(ck_layer *layer)
{
    ck_activation_free(((ck_act_layer *)layer)->fn);
}
