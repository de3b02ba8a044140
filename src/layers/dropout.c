/* keras.layers.Dropout: the identity at inference (there is no training
 * mode in ckeras); rate, noise_shape and seed are kept for get_config. */
#include "layers/dropout.h"

ck_status ck_dropout_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    (void)layer, (void)n;
    *out = in[0];
    return CK_OK;
}

ck_status ck_dropout_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    (void)layer, (void)n;
    ck_arg_copy_data(in[0], outs[0]);
    return CK_OK;
}

static ck_status check_rate(const char *cls, double rate)
{
    /* Dropout.__init__: "isinstance(rate, (int, float)) and not 0 <= rate <= 1". */
    if (!(rate >= 0 && rate <= 1)) {
        char buf[32];
        return ck_error(CK_VALUE_ERROR, "Invalid value %s received for `rate`, expected a value between 0 and 1. "
                        "(%s)", ck_float_repr(rate, buf, sizeof buf), cls);
    }
    return CK_OK;
}

static void fill(ck_layer *layer, double rate, int rate_is_int, const ck_shape *noise, int has_noise, int has_seed,
                 int64_t seed)
{
    ck_dropout_layer *d = (ck_dropout_layer *)layer;
    d->rate = rate;
    d->rate_is_int = rate_is_int;
    d->has_noise_shape = has_noise;
    if (has_noise) d->noise_shape = *noise;
    d->has_seed = has_seed;
    d->seed = seed;
}

ck_status ck_dropout_new(const ck_layer_class *cls, const ck_dropout_opts *o, int check, ck_layer **out)
{
    if (!o) return ck_error(CK_VALUE_ERROR, "%s: options are required (rate)", cls->class_name);
    if (check) CK_TRY(check_rate(cls->class_name, o->rate));
    if (o->noise_shape.rank < 0 || o->noise_shape.rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "%s: noise_shape rank %d is out of range", cls->class_name,
                        o->noise_shape.rank);
    for (int i = 0; i < o->noise_shape.rank; i++)
        if (o->noise_shape.dims[i] < -1)
            return ck_error(CK_VALUE_ERROR, "%s: noise_shape dims must be >= 0 or -1 (None)", cls->class_name);
    ck_layer *layer = NULL;
    CK_TRY(CK_ARG_CREATE(cls, o, &layer));
    fill(layer, o->rate, 0, &o->noise_shape, o->noise_shape.rank > 0, o->has_seed != 0, o->seed);
    *out = layer;
    return CK_OK;
}

ck_status ck_dropout_from_config_as(const ck_layer_class *cls, const json_t *c, int check, ck_layer **out)
{
    static const char *const keys[] = {"rate", "noise_shape", "seed", "p", "input_dtype", NULL};
    const char *name = cls->class_name;
    const json_t *jr = ck_arg_get2(c, "rate", "p");
    if (!jr || json_is_null(jr))
        return ck_error(CK_TYPE_ERROR, "%s config: the required argument `rate` is missing", name);
    double rate = 0;
    int is_int = 0, has_noise = 0, has_seed = 0;
    int64_t seed = 0;
    ck_shape noise = {0, {0}};
    CK_TRY(ck_arg_number(jr, name, "rate", &rate, &is_int));
    if (check) CK_TRY(check_rate(name, rate));
    CK_TRY(ck_arg_shape(json_object_get(c, "noise_shape"), name, "noise_shape", &noise, &has_noise));
    CK_TRY(ck_arg_int(json_object_get(c, "seed"), name, "seed", &seed, &has_seed));
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    fill(layer, rate, is_int, &noise, has_noise, has_seed, seed);
    *out = layer;
    return CK_OK;
}

static ck_status dropout_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dropout_layer *d = (const ck_dropout_layer *)layer;
    ck_status st = ck_json_set(c, "rate", ck_arg_num_json(d->rate, d->rate_is_int));
    if (st == CK_OK)
        st = ck_json_set(c, "noise_shape", d->has_noise_shape ? ck_arg_dims_json(&d->noise_shape) : json_null());
    if (st == CK_OK) st = ck_json_set(c, "seed", d->has_seed ? json_integer(d->seed) : json_null());
    return st;
}

ck_status ck_dropout(ck_layer **out, const ck_dropout_opts *o)
{
    return ck_dropout_new(&ck_dropout_class, o, 1, out);
}

static ck_status dropout_from_config(const json_t *c, ck_layer **out)
{
    return ck_dropout_from_config_as(&ck_dropout_class, c, 1, out);
}

const ck_layer_class ck_dropout_class = {
    .class_name = "Dropout",
    .size = sizeof(ck_dropout_layer),
    .arity = CK_ONE_INPUT,
    .supports_masking = 1,
    .compute_output_shape = ck_dropout_output_shape,
    .call = ck_dropout_call,
    .get_config = dropout_get_config,
    .from_config = dropout_from_config,
};
