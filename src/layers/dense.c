/* keras.layers.Dense: outputs = activation(inputs . kernel + bias), the
 * last axis contracted.  Forward pass: one matrix product (GEMV-like for a
 * single row) through the ops floor's kernel choice, then bias and
 * activation in place: no allocation beyond the output. */
#include <string.h>

#include "layers/layer.h"
#include "ops/ops.h"

typedef struct ck_dense_layer {
    ck_layer base;
    int64_t units;
    int use_bias;
    ck_activation *activation;
    ck_initializer *kernel_initializer, *bias_initializer;
    ck_regularizer *kernel_regularizer, *bias_regularizer;
    ck_constraint *kernel_constraint, *bias_constraint;
    ck_weight *kernel, *bias;
} ck_dense_layer;

static void dense_destroy(ck_layer *layer)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    ck_activation_free(d->activation);
    ck_initializer_free(d->kernel_initializer);
    ck_initializer_free(d->bias_initializer);
    ck_regularizer_free(d->kernel_regularizer);
    ck_regularizer_free(d->bias_regularizer);
    ck_constraint_free(d->kernel_constraint);
    ck_constraint_free(d->bias_constraint);
}

static ck_status dense_build(ck_layer *layer, int n, const ck_shape *shapes)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    char buf[128];
    (void)n;
    const ck_shape *s = &shapes[0];
    int64_t last = s->rank > 0 ? s->dims[s->rank - 1] : -1;
    if (last < 0)
        return ck_error(CK_VALUE_ERROR, "The last dimension of the inputs to a Dense layer should be defined. "
                        "Found None. Full input shape received: %s (layer \"%s\")",
                        ck_shape_fmt(buf, sizeof buf, s), layer->name);
    ck_shape kshape = {2, {last, d->units}}, bshape = {1, {d->units}};
    CK_TRY(ck_layer_add_weight_with(layer, "kernel", &kshape, layer->dtype, d->kernel_initializer,
                                    d->kernel_regularizer, d->kernel_constraint, CK_TRUE, &d->kernel));
    if (d->use_bias)
        CK_TRY(ck_layer_add_weight_with(layer, "bias", &bshape, layer->dtype, d->bias_initializer,
                                        d->bias_regularizer, d->bias_constraint, CK_TRUE, &d->bias));
    layer->spec = (ck_input_spec){.min_ndim = 2, .has_last_dim = 1, .last_dim = last};
    return CK_OK;
}

static ck_status dense_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    char buf[128];
    (void)n;
    if (in[0].rank < 2)
        return ck_error(CK_VALUE_ERROR, "Shape %s must have rank at least 2 (layer \"%s\")",
                        ck_shape_fmt(buf, sizeof buf, &in[0]), layer->name);
    if (in[0].dims[in[0].rank - 1] < 0)
        return ck_error(CK_VALUE_ERROR, "The last dimension of the input shape of a Dense layer should be "
                        "defined. Found None. Received: input_shape=%s", ck_shape_fmt(buf, sizeof buf, &in[0]));
    *out = in[0];
    out->dims[out->rank - 1] = d->units;
    return CK_OK;
}

static ck_status dense_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    (void)n;
    int64_t k = x->shape[x->rank - 1], units = d->units;
    int64_t rows = units > 0 ? out->size / units : 0;
    if (out->size == 0) return CK_OK;
    /* One product for all leading positions (the last axis is contracted),
     * then the bias added in place and the activation applied in place. */
    const void *kern = d->kernel->value->data;
    if (out->dtype == CK_FLOAT32) {
        float *o = out->data;
        ck_matmul_f32(rows, units, k, x->data, kern, o);
        if (d->bias) {
            const float *b = d->bias->value->data;
            for (int64_t r = 0; r < rows; r++, o += units)
                for (int64_t u = 0; u < units; u++) o[u] += b[u];
        }
    } else {
        double *o = out->data;
        ck_matmul_f64(rows, units, k, x->data, kern, o);
        if (d->bias) {
            const double *b = d->bias->value->data;
            for (int64_t r = 0; r < rows; r++, o += units)
                for (int64_t u = 0; u < units; u++) o[u] += b[u];
        }
    }
    if (strcmp(ck_activation_name(d->activation), "linear") == 0) return CK_OK;
    return ck_activation_apply_rows(d->activation, out->dtype, out->data, rows, units);
}

static ck_status dense_get_config(const ck_layer *layer, json_t *c)
{
    const ck_dense_layer *d = (const ck_dense_layer *)layer;
    ck_status st = ck_json_set(c, "units", json_integer(d->units));
    if (st == CK_OK) st = ck_json_set(c, "activation", ck_activation_to_json(d->activation));
    if (st == CK_OK) st = ck_json_set(c, "use_bias", json_boolean(d->use_bias));
    if (st == CK_OK) st = ck_json_set(c, "kernel_initializer", ck_initializer_to_json(d->kernel_initializer));
    if (st == CK_OK) st = ck_json_set(c, "bias_initializer", ck_initializer_to_json(d->bias_initializer));
    if (st == CK_OK) st = ck_json_set(c, "kernel_regularizer", ck_regularizer_to_json(d->kernel_regularizer));
    if (st == CK_OK) st = ck_json_set(c, "bias_regularizer", ck_regularizer_to_json(d->bias_regularizer));
    if (st == CK_OK)
        st = ck_json_set(c, "activity_regularizer", ck_regularizer_to_json(layer->activity_regularizer));
    if (st == CK_OK) st = ck_json_set(c, "kernel_constraint", ck_constraint_to_json(d->kernel_constraint));
    if (st == CK_OK) st = ck_json_set(c, "bias_constraint", ck_constraint_to_json(d->bias_constraint));
    return st;
}

/* The parsed arguments of a Dense, from C options or from a config. */
typedef struct dense_args {
    int64_t units;
    int use_bias;
    ck_activation *activation;
    ck_initializer *kernel_initializer, *bias_initializer;
    ck_regularizer *kernel_regularizer, *bias_regularizer;
    ck_constraint *kernel_constraint, *bias_constraint;
} dense_args;

static void dense_args_free(dense_args *a)
{
    ck_activation_free(a->activation);
    ck_initializer_free(a->kernel_initializer);
    ck_initializer_free(a->bias_initializer);
    ck_regularizer_free(a->kernel_regularizer);
    ck_regularizer_free(a->bias_regularizer);
    ck_constraint_free(a->kernel_constraint);
    ck_constraint_free(a->bias_constraint);
}

/* Defaults for what was not given; then hands everything to the layer. */
static ck_status dense_finish(ck_layer *layer, dense_args *a)
{
    ck_dense_layer *d = (ck_dense_layer *)layer;
    ck_status st = CK_OK;
    if (!a->activation) st = ck_activation_new(&a->activation, "linear", NULL);
    if (st == CK_OK && !a->kernel_initializer) st = ck_initializer_new(&a->kernel_initializer, "glorot_uniform");
    if (st == CK_OK && !a->bias_initializer) st = ck_initializer_new(&a->bias_initializer, "zeros");
    if (st != CK_OK) return st;
    d->units = a->units;
    d->use_bias = a->use_bias;
    d->activation = a->activation;
    d->kernel_initializer = a->kernel_initializer;
    d->bias_initializer = a->bias_initializer;
    d->kernel_regularizer = a->kernel_regularizer;
    d->bias_regularizer = a->bias_regularizer;
    d->kernel_constraint = a->kernel_constraint;
    d->bias_constraint = a->bias_constraint;
    memset(a, 0, sizeof *a);
    layer->spec = (ck_input_spec){.min_ndim = 2};
    return CK_OK;
}

ck_status ck_dense(ck_layer **out, const ck_dense_opts *o)
{
    if (!o) return ck_error(CK_VALUE_ERROR, "Dense: options are required (units)");
    if (o->units <= 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for `units`, expected a positive integer. "
                        "Received: units=%lld", (long long)o->units);
    if (o->use_bias != 0 && o->use_bias != CK_TRUE && o->use_bias != CK_FALSE)
        return ck_error(CK_TYPE_ERROR, "Dense: use_bias must be CK_TRUE or CK_FALSE, got %d", o->use_bias);
    dense_args a = {.units = o->units, .use_bias = o->use_bias != CK_FALSE};
    ck_status st = CK_OK;
    if (o->activation) st = ck_activation_new(&a.activation, o->activation, NULL);
    if (st == CK_OK && o->kernel_initializer) st = ck_initializer_new(&a.kernel_initializer, o->kernel_initializer);
    if (st == CK_OK && o->bias_initializer) st = ck_initializer_new(&a.bias_initializer, o->bias_initializer);
    if (st == CK_OK && o->kernel_regularizer) st = ck_regularizer_new(&a.kernel_regularizer, o->kernel_regularizer);
    if (st == CK_OK && o->bias_regularizer) st = ck_regularizer_new(&a.bias_regularizer, o->bias_regularizer);
    if (st == CK_OK && o->kernel_constraint) st = ck_constraint_new(&a.kernel_constraint, o->kernel_constraint);
    if (st == CK_OK && o->bias_constraint) st = ck_constraint_new(&a.bias_constraint, o->bias_constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK)
        st = ck_layer_create(&ck_dense_class, o->name, o->trainable, o->dtype, &o->input_shape, o->batch_size,
                             o->activity_regularizer, &layer);
    if (st == CK_OK) st = dense_finish(layer, &a);
    dense_args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

/* The value of the first key present (Keras 2 name, then Keras 1 alias). */
static const json_t *get2(const json_t *c, const char *k2, const char *k1)
{
    const json_t *v = json_object_get(c, k2);
    return v ? v : json_object_get(c, k1);
}

static ck_status dense_from_config(const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {
        "units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
        "bias_regularizer", "kernel_constraint", "bias_constraint",
        /* Keras 1 */
        "output_dim", "init", "bias", "W_regularizer", "b_regularizer", "W_constraint", "b_constraint",
        /* Keras 3 */
        "lora_rank", "lora_alpha", "quantization_config", NULL};
    const json_t *units = get2(c, "units", "output_dim");
    if (!json_is_integer(units) || json_integer_value(units) < 0)
        return ck_error(CK_VALUE_ERROR, "Received an invalid value for `units`, expected a positive integer "
                        "(Dense config)");
    const json_t *lora = json_object_get(c, "lora_rank");
    if (lora && !json_is_null(lora))
        return ck_error(CK_NOT_IMPLEMENTED, "Dense with LoRA (lora_rank) is not supported");
    const json_t *quant = json_object_get(c, "quantization_config");
    if (quant && !json_is_null(quant))
        return ck_error(CK_NOT_IMPLEMENTED, "quantized Dense (quantization_config) is not supported");
    const json_t *bias = get2(c, "use_bias", "bias");
    if (bias && !json_is_boolean(bias)) return ck_error(CK_TYPE_ERROR, "Dense config: use_bias must be a boolean");

    dense_args a = {.units = json_integer_value(units), .use_bias = !bias || json_is_true(bias)};
    ck_status st = CK_OK;
    const json_t *act = json_object_get(c, "activation");
    if (act) st = ck_activation_from_json(act, &a.activation);
    if (st == CK_OK) st = ck_initializer_from_json(get2(c, "kernel_initializer", "init"), &a.kernel_initializer);
    if (st == CK_OK) st = ck_initializer_from_json(json_object_get(c, "bias_initializer"), &a.bias_initializer);
    if (st == CK_OK)
        st = ck_regularizer_from_json(get2(c, "kernel_regularizer", "W_regularizer"), &a.kernel_regularizer);
    if (st == CK_OK) st = ck_regularizer_from_json(get2(c, "bias_regularizer", "b_regularizer"), &a.bias_regularizer);
    if (st == CK_OK) st = ck_constraint_from_json(get2(c, "kernel_constraint", "W_constraint"), &a.kernel_constraint);
    if (st == CK_OK) st = ck_constraint_from_json(get2(c, "bias_constraint", "b_constraint"), &a.bias_constraint);
    ck_layer *layer = NULL;
    if (st == CK_OK) st = ck_layer_create_from_config(&ck_dense_class, c, keys, &layer);
    if (st == CK_OK) st = dense_finish(layer, &a);
    dense_args_free(&a);
    if (st != CK_OK) {
        ck_layer_free(layer);
        return st;
    }
    *out = layer;
    return CK_OK;
}

const ck_layer_class ck_dense_class = {
    .class_name = "Dense",
    .size = sizeof(ck_dense_layer),
    .arity = CK_ONE_INPUT,
    .cast_all_inputs = 1,
    .supports_masking = 1,
    .build = dense_build,
    .call = dense_call,
    .compute_output_shape = dense_output_shape,
    .get_config = dense_get_config,
    .from_config = dense_from_config,
    .destroy = dense_destroy,
};
