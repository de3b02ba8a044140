/* keras.layers.ELU(alpha=1.0): x if x > 0 else alpha * (exp(x) - 1), alpha
 * cast to float32. */
#include <math.h>

#include "layers/act_layer.h"

static ck_status make(const json_t *config, const char *const *keys, const ck_layer_opts *o, double alpha,
                      ck_layer **out)
{
    if (isnan(alpha))
        return ck_error(CK_VALUE_ERROR, "Alpha of an ELU layer cannot be None, expecting a float. Received: None");
    double p[3] = {ck_arg_f32(alpha), 0, 0};
    ck_activation *fn = NULL;
    CK_TRY(ck_activation_new(&fn, "elu", &(ck_activation_opts){.alpha = ck_double(p[0])}));
    return ck_act_layer_new(&ck_elu_class, config, keys, o, fn, p, 0, out);
}

static ck_status elu_get_config(const ck_layer *layer, json_t *c)
{
    return ck_json_set(c, "alpha", ck_act_num(((const ck_act_layer *)layer)->p[0]));
}

ck_status ck_elu_layer(ck_layer **out, const ck_elu_layer_opts *o)
{
    CK_NEED(out);
    static const ck_elu_layer_opts defaults;
    if (!o) o = &defaults;
    ck_layer_opts common = CK_ACT_COMMON(o);
    return make(NULL, NULL, &common, o->alpha.set ? o->alpha.value : 1.0, out);
}

static ck_status elu_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"alpha", "input_dtype", NULL};
    const json_t *j = json_object_get(c, "alpha");
    double alpha = 1.0;
    if (j && json_is_null(j)) alpha = NAN;
    else CK_TRY(ck_arg_number(j, "ELU", "alpha", &alpha, NULL));
    return make(c, keys, NULL, alpha, out);
}

const ck_layer_class ck_elu_class = {
    CK_ACT_LAYER_CLASS("ELU"),
    .get_config = elu_get_config,
    .from_config = elu_from_config,
};
