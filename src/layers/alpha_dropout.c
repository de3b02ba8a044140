/* keras.layers.AlphaDropout: the identity at inference.  tf.keras 2.x
 * writes only rate and seed in its config (noise_shape is read too). */
#include "layers/dropout.h"

static ck_status alpha_dropout_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    ck_status st = ck_json_set(c, "rate", ck_arg_num_json(d->rate, d->rate_is_int));
    if (st == CK_OK) st = ck_json_set(c, "seed", d->has_seed ? json_integer(d->seed) : json_null());
    return st;
}

ck_status ck_alpha_dropout(ck_layer **out, const ck_dropout_opts *o)
{
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
};
