/* keras.layers.LeakyReLU(alpha=0.3): x if x > 0 else alpha * x, alpha cast
 * to float32.  Keras 3 names the parameter negative_slope. */
#include <math.h>

#include "layers/act_layer.h"

static ck_status make(const json_t *config, const char *const *keys, const ck_layer_opts *o, double alpha,
                      ck_layer **out)
{
    if (isnan(alpha))
        return ck_error(CK_VALUE_ERROR, "The alpha value of a Leaky ReLU layer cannot be None. Expecting a float. "
                        "Received: None");
    double p[3] = {ck_arg_f32(alpha), 0, 0};
    ck_activation *fn = NULL;
    CK_TRY(ck_activation_new(&fn, "leaky_relu", &(ck_activation_opts){.alpha = ck_double(p[0])}));
    return ck_act_layer_new(&ck_leaky_relu_class, config, keys, o, fn, p, 0, out);
}

static ck_status leaky_relu_get_config(const ck_layer *layer, json_t *c)
{
    return ck_json_set(c, "alpha", ck_act_num(((const ck_act_layer *)layer)->p[0]));
}

ck_status ck_leaky_relu(ck_layer **out, const ck_leaky_relu_opts *o)
{
    CK_NEED(out);
    static const ck_leaky_relu_opts defaults;
    if (!o) o = &defaults;
    ck_layer_opts common = CK_ACT_COMMON(o);
    return make(NULL, NULL, &common, o->alpha.set ? o->alpha.value : 0.3, out);
}

static ck_status leaky_relu_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"alpha", "negative_slope", "input_dtype", NULL};
    const json_t *j = ck_arg_get2(c, "alpha", "negative_slope");
    double alpha = 0.3;
    if (j && json_is_null(j)) alpha = NAN;
    else CK_TRY(ck_arg_number(j, "LeakyReLU", "alpha", &alpha, NULL));
    return make(c, keys, NULL, alpha, out);
}

const ck_layer_class ck_leaky_relu_class = {
    CK_ACT_LAYER_CLASS("LeakyReLU"),
    .get_config = leaky_relu_get_config,
    .from_config = leaky_relu_from_config,
};
