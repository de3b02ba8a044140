/* Shared kernel/bias arguments of Dense and Conv2D. */
#include <string.h>

#include "layers/kernel_params.h"

ck_status ck_kernel_params_from_opts(ck_kernel_params *p, const char *activation, const char *kernel_initializer,
                                     const char *bias_initializer, const char *kernel_regularizer,
                                     const char *bias_regularizer, const char *kernel_constraint,
                                     const char *bias_constraint)
{
    ck_status st = CK_OK;
    if (activation) st = ck_activation_new(&p->activation, activation, NULL);
    if (st == CK_OK && kernel_initializer) st = ck_initializer_new(&p->kernel_initializer, kernel_initializer);
    if (st == CK_OK && bias_initializer) st = ck_initializer_new(&p->bias_initializer, bias_initializer);
    if (st == CK_OK && kernel_regularizer) st = ck_regularizer_new(&p->kernel_regularizer, kernel_regularizer);
    if (st == CK_OK && bias_regularizer) st = ck_regularizer_new(&p->bias_regularizer, bias_regularizer);
    if (st == CK_OK && kernel_constraint) st = ck_constraint_new(&p->kernel_constraint, kernel_constraint);
    if (st == CK_OK && bias_constraint) st = ck_constraint_new(&p->bias_constraint, bias_constraint);
    return st;
}

/* The value of the first key present (Keras 2 name, then Keras 1 alias). */
static const json_t *get2(const json_t *c, const char *k2, const char *k1)
{
    const json_t *v = json_object_get(c, k2);
    return v ? v : json_object_get(c, k1);
}

ck_status ck_kernel_params_from_json(ck_kernel_params *p, const json_t *c)
{
    ck_status st = CK_OK;
    const json_t *act = json_object_get(c, "activation");
    if (act) st = ck_activation_from_json(act, &p->activation);
    if (st == CK_OK) st = ck_initializer_from_json(get2(c, "kernel_initializer", "init"), &p->kernel_initializer);
    if (st == CK_OK) st = ck_initializer_from_json(json_object_get(c, "bias_initializer"), &p->bias_initializer);
    if (st == CK_OK)
        st = ck_regularizer_from_json(get2(c, "kernel_regularizer", "W_regularizer"), &p->kernel_regularizer);
    if (st == CK_OK) st = ck_regularizer_from_json(get2(c, "bias_regularizer", "b_regularizer"), &p->bias_regularizer);
    if (st == CK_OK) st = ck_constraint_from_json(get2(c, "kernel_constraint", "W_constraint"), &p->kernel_constraint);
    if (st == CK_OK) st = ck_constraint_from_json(get2(c, "bias_constraint", "b_constraint"), &p->bias_constraint);
    return st;
}

ck_status ck_kernel_params_defaults(ck_kernel_params *p)
{
    ck_status st = CK_OK;
    if (!p->activation) st = ck_activation_new(&p->activation, "linear", NULL);
    if (st == CK_OK && !p->kernel_initializer) st = ck_initializer_new(&p->kernel_initializer, "glorot_uniform");
    if (st == CK_OK && !p->bias_initializer) st = ck_initializer_new(&p->bias_initializer, "zeros");
    return st;
}

ck_status ck_kernel_params_to_json(const ck_kernel_params *p, bool use_bias, const ck_regularizer *activity,
                                   json_t *c)
{
    ck_status st = ck_json_set(c, "activation", ck_activation_to_json(p->activation));
    if (st == CK_OK) st = ck_json_set(c, "use_bias", json_boolean(use_bias));
    if (st == CK_OK) st = ck_json_set(c, "kernel_initializer", ck_initializer_to_json(p->kernel_initializer));
    if (st == CK_OK) st = ck_json_set(c, "bias_initializer", ck_initializer_to_json(p->bias_initializer));
    if (st == CK_OK) st = ck_json_set(c, "kernel_regularizer", ck_regularizer_to_json(p->kernel_regularizer));
    if (st == CK_OK) st = ck_json_set(c, "bias_regularizer", ck_regularizer_to_json(p->bias_regularizer));
    if (st == CK_OK) st = ck_json_set(c, "activity_regularizer", ck_regularizer_to_json(activity));
    if (st == CK_OK) st = ck_json_set(c, "kernel_constraint", ck_constraint_to_json(p->kernel_constraint));
    if (st == CK_OK) st = ck_json_set(c, "bias_constraint", ck_constraint_to_json(p->bias_constraint));
    return st;
}

ck_status ck_kernel_params_add_weights(const ck_kernel_params *p, ck_layer *layer, const ck_shape *kernel_shape,
                                       const ck_shape *bias_shape, bool use_bias, ck_weight **kernel,
                                       ck_weight **bias)
{
    CK_TRY(ck_layer_add_weight_with(layer, "kernel", kernel_shape, layer->dtype, p->kernel_initializer,
                                    p->kernel_regularizer, p->kernel_constraint, true, kernel));
    if (use_bias)
        CK_TRY(ck_layer_add_weight_with(layer, "bias", bias_shape, layer->dtype, p->bias_initializer,
                                        p->bias_regularizer, p->bias_constraint, true, bias));
    return CK_OK;
}

ck_status ck_kernel_params_activate(const ck_kernel_params *p, ck_dtype dtype, void *data, int64_t rows,
                                    int64_t cols)
{
    if (ck_activation_is_linear(p->activation)) return CK_OK;
    return ck_activation_apply_rows(p->activation, dtype, data, rows, cols);
}

void ck_bias_relu_rows_f32(float *restrict o, const float *restrict b, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++, o += cols)
        for (int64_t u = 0; u < cols; u++) {
            const float v = o[u] + b[u];
            o[u] = v > 0 || v != v ? v : 0.0f;
        }
}

/* out[r, :] += bias, row by row (restrict: the compiler vectorises it
 * without an overlap check). */
#define ADD_BIAS_ROWS(SFX, T)                                                                     \
    static void add_bias_rows_##SFX(T *restrict o, const T *restrict b, int64_t rows, int64_t cols) \
    {                                                                                             \
        for (int64_t r = 0; r < rows; r++, o += cols)                                             \
            for (int64_t u = 0; u < cols; u++) o[u] += b[u];                                      \
    }
ADD_BIAS_ROWS(f32, float)
ADD_BIAS_ROWS(f64, double)

void ck_add_bias_rows(ck_dtype dtype, const void *bias, void *out, int64_t rows, int64_t cols)
{
    if (dtype == CK_FLOAT32) add_bias_rows_f32(out, bias, rows, cols);
    else add_bias_rows_f64(out, bias, rows, cols);
}

ck_status ck_kernel_params_bias_activate(const ck_kernel_params *p, ck_dtype dtype, const void *bias, void *out,
                                         int64_t rows, int64_t cols)
{
    if (bias && dtype == CK_FLOAT32 && ck_activation_is_plain_relu(p->activation)) {
        ck_bias_relu_rows_f32(out, bias, rows, cols);
        return CK_OK;
    }
    if (bias) ck_add_bias_rows(dtype, bias, out, rows, cols);
    return ck_kernel_params_activate(p, dtype, out, rows, cols);
}

void ck_kernel_params_free(ck_kernel_params *p)
{
    ck_activation_free(p->activation);
    ck_initializer_free(p->kernel_initializer);
    ck_initializer_free(p->bias_initializer);
    ck_regularizer_free(p->kernel_regularizer);
    ck_regularizer_free(p->bias_regularizer);
    ck_constraint_free(p->kernel_constraint);
    ck_constraint_free(p->bias_constraint);
    memset(p, 0, sizeof *p);
}
