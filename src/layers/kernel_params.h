/* The arguments that layers with a kernel and a bias share (Dense, Conv2D):
 * the activation and the kernel/bias initializers, regularizers and
 * constraints, with their parsing, defaults and config keys (internal). */
#ifndef CK_LAYERS_KERNEL_PARAMS_H
#define CK_LAYERS_KERNEL_PARAMS_H

#include "layers/layer.h"

typedef struct ck_kernel_params {
    ck_activation *activation;
    ck_initializer *kernel_initializer, *bias_initializer;
    ck_regularizer *kernel_regularizer, *bias_regularizer;
    ck_constraint *kernel_constraint, *bias_constraint;
} ck_kernel_params;

/* From C options (each a Keras id or JSON config, NULL for the default).
 * On error the struct holds what was made so far: free it. */
ck_status ck_kernel_params_from_opts(ck_kernel_params *p, const char *activation, const char *kernel_initializer,
                                     const char *bias_initializer, const char *kernel_regularizer,
                                     const char *bias_regularizer, const char *kernel_constraint,
                                     const char *bias_constraint);

/* From a layer config, with Keras 1's aliases (init, W_regularizer,
 * b_regularizer, W_constraint, b_constraint). */
ck_status ck_kernel_params_from_json(ck_kernel_params *p, const json_t *config);

/* Fills what is unset with Keras' defaults: linear, glorot_uniform, zeros. */
ck_status ck_kernel_params_defaults(ck_kernel_params *p);

/* Adds, in tf.keras' order, "activation", "use_bias", the initializers and
 * regularizers, "activity_regularizer" and the constraints. */
ck_status ck_kernel_params_to_json(const ck_kernel_params *p, bool use_bias, const ck_regularizer *activity,
                                   json_t *config);

/* Adds the kernel (and the bias if use_bias) weights with these params. */
ck_status ck_kernel_params_add_weights(const ck_kernel_params *p, ck_layer *layer, const ck_shape *kernel_shape,
                                       const ck_shape *bias_shape, bool use_bias, ck_weight **kernel,
                                       ck_weight **bias);

/* Applies the activation in place to rows x cols values (nothing for
 * linear). */
ck_status ck_kernel_params_activate(const ck_kernel_params *p, ck_dtype dtype, void *data, int64_t rows,
                                    int64_t cols);

/* out (rows, cols) += bias (NULL: none), then the activation, in place:
 * the forward pass of Dense and Conv2D after their product.  A plain relu
 * on float32 takes one pass (ck_bias_relu_rows_f32) rather than two; the
 * numbers are the same. */
ck_status ck_kernel_params_bias_activate(const ck_kernel_params *p, ck_dtype dtype, const void *bias, void *out,
                                         int64_t rows, int64_t cols);

/* out[r, :] += bias for rows r, float32 or float64. */
void ck_add_bias_rows(ck_dtype dtype, const void *bias, void *out, int64_t rows, int64_t cols);

/* o[r, :] = relu(o[r, :] + b) for rows r: the sum rounded, then relu (NaN
 * kept), as the two passes give it. */
void ck_bias_relu_rows_f32(float *restrict o, const float *restrict b, int64_t rows, int64_t cols);

/* Frees what the struct holds and zeroes it. */
void ck_kernel_params_free(ck_kernel_params *p);

#endif
