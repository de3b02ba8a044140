/* keras.layers.ActivityRegularization (tf.keras 2.15): the identity whose
 * activity regularizer is L1L2(l1, l2), as Keras builds it.  The base
 * records the loss of each call (l1 * sum|y| + l2 * sum y^2, divided by
 * the batch size) and ck_layer_backward adds its gradient to dout, so the
 * class itself only copies. */
#include <stdio.h>

#include "layers/layer_args.h"
#include "layers/normattn_classes.h"

static const char *const CLS = "ActivityRegularization";

typedef struct ar_layer {
    ck_layer base;
    double l1, l2;
} ar_layer;

static ck_status ar_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

static ck_status ar_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)layer, (void)n;
    ck_arg_copy_data(in[0], outs[0]);
    return CK_OK;
}

static ck_status ar_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                             const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    (void)layer, (void)ctx, (void)n, (void)in, (void)out, (void)saved;
    if (din && din[0]) ck_arg_copy_data(dout, din[0]);
    return CK_OK;
}

static ck_status ar_get_config(const ck_layer *layer, json_t *c)
{
    const ar_layer *l = (const ar_layer *)layer;
    ck_status st = ck_json_set(c, "l1", json_real(l->l1));
    if (st == CK_OK) st = ck_json_set(c, "l2", json_real(l->l2));
    return st;
}

/* Gives the layer its L1L2 activity regularizer. */
static ck_status finish(ck_layer *layer, double l1, double l2)
{
    ar_layer *l = (ar_layer *)layer;
    json_t *j = json_pack("{s:s, s:{s:f, s:f}}", "class_name", "L1L2", "config", "l1", l1, "l2", l2);
    if (!j) return ck_oom("ActivityRegularization's regularizer");
    ck_regularizer *reg = NULL;
    ck_status st = ck_regularizer_from_json(j, &reg);
    json_decref(j);
    CK_TRY(st);
    ck_regularizer_free(layer->activity_regularizer);
    layer->activity_regularizer = reg;
    l->l1 = l1, l->l2 = l2;
    return CK_OK;
}

static ck_status check(double l1, double l2)
{
    if (!(l1 >= 0) || !(l2 >= 0))
        return ck_error(CK_VALUE_ERROR, "ActivityRegularization: l1 and l2 must be non-negative, got %g and %g", l1,
                        l2);
    return CK_OK;
}

ck_status ck_activity_regularization(ck_layer **out, const ck_activity_regularization_opts *o)
{
    CK_NEED(out);
    static const ck_activity_regularization_opts defaults;
    if (!o) o = &defaults;
    if (o->activity_regularizer)
        return ck_error(CK_TYPE_ERROR, "ActivityRegularization: its activity regularizer is L1L2(l1, l2); "
                        "activity_regularizer cannot be given");
    CK_TRY(check(o->l1, o->l2));
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(&ck_activity_regularization_class, o, &layer));
    ck_status st = finish(layer, o->l1, o->l2);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

static ck_status ar_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"l1", "l2", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "ActivityRegularization config must be a JSON object");
    double l1 = 0, l2 = 0;
    CK_TRY(ck_arg_number(json_object_get(c, "l1"), CLS, "l1", &l1, NULL));
    CK_TRY(ck_arg_number(json_object_get(c, "l2"), CLS, "l2", &l2, NULL));
    CK_TRY(check(l1, l2));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(&ck_activity_regularization_class, c, keys, &layer));
    ck_status st = finish(layer, l1, l2);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_activity_regularization_class = {
    .class_name = "ActivityRegularization",
    .size = sizeof(ar_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = ar_output_shape,
    .call = ar_call,
    .get_config = ar_get_config,
    .from_config = ar_from_config,
    .backward = ar_backward,
};
