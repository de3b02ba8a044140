/* keras.layers.ThresholdedReLU(theta=1.0): x if x > theta else 0 (strict),
 * theta cast to float32; computed as relu with a threshold. */
#include <math.h>

#include "layers/act_layer.h"

static ck_status make(const json_t *config, const char *const *keys, const ck_layer_opts *o, double theta,
                      ck_layer **out)
{
    char buf[32];
    if (isnan(theta))
        return ck_error(CK_VALUE_ERROR, "Theta of a Thresholded ReLU layer cannot be None, expecting a float. "
                        "Received: None");
    if (theta < 0)
        return ck_error(CK_VALUE_ERROR, "The theta value of a Thresholded ReLU layer should be >=0. Received: %s",
                        ck_float_repr(theta, buf, sizeof buf));
    double p[3] = {ck_arg_f32(theta), 0, 0};
    ck_activation *fn = NULL;
    CK_TRY(ck_activation_new(&fn, "relu", &(ck_activation_opts){.threshold = p[0]}));
    return ck_act_layer_new(&ck_thresholded_relu_class, config, keys, o, fn, p, 0, out);
}

static ck_status thresholded_relu_get_config(const ck_layer *layer, json_t *c)
{
    return ck_json_set(c, "theta", ck_act_num(((const ck_act_layer *)layer)->p[0]));
}

ck_status ck_thresholded_relu(ck_layer **out, const ck_thresholded_relu_opts *o)
{
    CK_NEED(out);
    static const ck_thresholded_relu_opts defaults;
    if (!o) o = &defaults;
    ck_layer_opts common = CK_ACT_COMMON(o);
    return make(NULL, NULL, &common, o->theta.set ? o->theta.value : 1.0, out);
}

static ck_status thresholded_relu_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"theta", "input_dtype", NULL};
    const json_t *j = json_object_get(c, "theta");
    double theta = 1.0;
    if (j && json_is_null(j)) theta = NAN;
    else CK_TRY(ck_arg_number(j, "ThresholdedReLU", "theta", &theta, NULL));
    return make(c, keys, NULL, theta, out);
}

const ck_layer_class ck_thresholded_relu_class = {
    CK_ACT_LAYER_CLASS("ThresholdedReLU"),
    .get_config = thresholded_relu_get_config,
    .from_config = thresholded_relu_from_config,
};
