/* keras.layers.ReLU(max_value, negative_slope, threshold): backend.relu
 * with the parameters cast to float32 (tf.keras' cast_to_floatx). */
#include <math.h>

#include "layers/act_layer.h"

/* ReLU.__init__'s checks; a missing value (NaN here) counts as None. */
static ck_status check(int has_max, double max_value, double slope, double threshold)
{
    char buf[32];
    if (has_max && max_value < 0)
        return ck_error(CK_VALUE_ERROR, "max_value of a ReLU layer cannot be a negative value. Received: %s",
                        ck_float_repr(max_value, buf, sizeof buf));
    if (isnan(slope) || slope < 0)
        return ck_error(CK_VALUE_ERROR, "negative_slope of a ReLU layer cannot be a negative value. Received: %s",
                        isnan(slope) ? "None" : ck_float_repr(slope, buf, sizeof buf));
    if (isnan(threshold) || threshold < 0)
        return ck_error(CK_VALUE_ERROR, "threshold of a ReLU layer cannot be a negative value. Received: %s",
                        isnan(threshold) ? "None" : ck_float_repr(threshold, buf, sizeof buf));
    return CK_OK;
}

static ck_status make(const ck_layer_class *cls, const json_t *config, const char *const *keys,
                      const ck_layer_opts *o, int has_max, double max_value, double slope, double threshold,
                      ck_layer **out)
{
    CK_TRY(check(has_max, max_value, slope, threshold));
    double p[3] = {has_max ? ck_arg_f32(max_value) : 0, ck_arg_f32(slope), ck_arg_f32(threshold)};
    ck_activation_opts ao = {.alpha = ck_double(p[1]), .max_value = {has_max != 0, p[0]}, .threshold = p[2]};
    ck_activation *fn = NULL;
    CK_TRY(ck_activation_new(&fn, "relu", &ao));
    return ck_act_layer_new(cls, config, keys, o, fn, p, has_max, out);
}

static ck_status relu_get_config(const ck_layer *layer, json_t *c)
{
    const ck_act_layer *a = (const ck_act_layer *)layer;
    ck_status st = ck_json_set(c, "max_value", a->has_max_value ? ck_act_num(a->p[0]) : json_null());
    if (st == CK_OK) st = ck_json_set(c, "negative_slope", ck_act_num(a->p[1]));
    if (st == CK_OK) st = ck_json_set(c, "threshold", ck_act_num(a->p[2]));
    return st;
}

ck_status ck_relu_layer(ck_layer **out, const ck_relu_layer_opts *o)
{
    CK_NEED(out);
    static const ck_relu_layer_opts defaults;
    if (!o) o = &defaults;
    ck_layer_opts common = CK_ACT_COMMON(o);
    return make(&ck_relu_class, NULL, NULL, &common, o->max_value.set, o->max_value.value, o->negative_slope,
                o->threshold, out);
}

/* A number that Keras requires (None is an error): NaN marks null. */
static ck_status required(const json_t *c, const char *key, double *v)
{
    const json_t *j = json_object_get(c, key);
    if (j && json_is_null(j)) {
        *v = NAN;
        return CK_OK;
    }
    return ck_arg_number(j, "ReLU", key, v, NULL);
}

static ck_status relu_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"max_value", "negative_slope", "threshold", "input_dtype", NULL};
    double max_value = 0, slope = 0, threshold = 0;
    int has_max = 0;
    CK_TRY(ck_arg_opt_number(json_object_get(c, "max_value"), "ReLU", "max_value", &max_value, &has_max));
    CK_TRY(required(c, "negative_slope", &slope));
    CK_TRY(required(c, "threshold", &threshold));
    return make(&ck_relu_class, c, keys, NULL, has_max, max_value, slope, threshold, out);
}

const ck_layer_class ck_relu_class = {
    CK_ACT_LAYER_CLASS("ReLU"),
    .get_config = relu_get_config,
    .from_config = relu_from_config,
};
