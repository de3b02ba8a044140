/* Internal API of params/: the jansson side of activations, initializers,
 * regularizers and constraints, used by the layers' get_config/from_config
 * and by io/.  The public side is in include/ckeras.h (PARAMS section). */
#ifndef CK_PARAMS_H
#define CK_PARAMS_H

#include <jansson.h>

#include "ckeras.h"

/* ---- Reading: every from_json accepts
 *   - a JSON string id ("relu", "glorot_uniform", "l2", "max_norm", ...),
 *   - the legacy wrapper {"class_name": ..., "config": {...}},
 *   - the new form {"module": ..., "class_name": ..., "config": ...,
 *     "registered_name": ...} (TF2.13+, Keras 3; "shared_object_id" ignored),
 *   - Keras 1 / 2.2 names and configs.
 * The JSON value is only read (borrowed).  *out is untouched on error. */

/* null or "" gives linear.  Also accepted: {"class_name": "function",
 * "config": "relu"} (Keras 3's serialised functions) and the advanced
 * activation layers as dicts: ReLU (max_value, negative_slope, threshold),
 * LeakyReLU (alpha / negative_slope, default 0.3), ELU (alpha), Softmax
 * (axis), which become the equivalent parametrised activation. */
ck_status ck_activation_from_json(const json_t *j, ck_activation **out);

/* The tf.keras string ("linear" for none, "softmax" for softmax_v2, ...).
 * An activation read from an advanced-activation dict serialises back as
 * that dict in the legacy form.  New reference; NULL on OOM. */
json_t *ck_activation_to_json(const ck_activation *a);

/* null gives *out = NULL and CK_OK (Keras' initializers.get(None) is None;
 * the caller picks the default, e.g. glorot_uniform for floats). */
ck_status ck_initializer_from_json(const json_t *j, ck_initializer **out);
/* Legacy form {"class_name": "GlorotUniform", "config": {"seed": null}};
 * NULL init gives json_null().  New reference; NULL on OOM. */
json_t *ck_initializer_to_json(const ck_initializer *init);

/* null gives *out = NULL and CK_OK. */
ck_status ck_regularizer_from_json(const json_t *j, ck_regularizer **out);
/* NULL r gives json_null(). */
json_t *ck_regularizer_to_json(const ck_regularizer *r);

/* ---- Activation derivatives (training; activations_grad.c) ---- */

/* 1 for linear (the derivative is the identity: nothing to compute). */
int ck_activation_is_linear(const ck_activation *a);

/* 1 for relu without alpha, max_value or threshold (the derivative is
 * y > 0: callers may fuse it into their own loops, see ck_relu_grad_f32). */
int ck_activation_is_plain_relu(const ck_activation *a);

/* The gate activations the fused recurrent cells compute themselves:
 * 1 sigmoid, 2 tf.keras' hard_sigmoid (0.2 x + 0.5, clipped), 0 anything
 * else (Keras 3's hard_sigmoid among them). */
int ck_activation_fused_gate_kind(const ck_activation *a);

/* dz = dy * relu'(z) from y = relu(z), as ck_activation_grad_rows gives it
 * for a plain relu (dz may alias y or dy). */
void ck_relu_grad_f32(int64_t n, const float *y, const float *dy, float *dz);
void ck_relu_grad_f64(int64_t n, const double *y, const double *dy, double *dz);

/* The same on (rows, cols) values, also adding each column's dz into
 * bg[col] row after row (a bias gradient, in the order a separate pass
 * over dz adds them): one pass instead of two.  dz may not alias bg. */
void ck_relu_grad_bias_f32(int64_t rows, int64_t cols, const float *y, const float *dy, float *dz, float *bg);

/* 1 when the derivative needs the activation's input z; 0 when its output
 * y is enough (relu and its variants, sigmoid, tanh, softmax, elu, ...). */
int ck_activation_grad_needs_input(const ck_activation *a);

/* dz = dy * f'(z) for a row-major (rows, cols) block of float32 / float64
 * values laid out as ck_activation_apply_rows sees them (softmax and
 * log_softmax along the configured axes of that 2-D view).  z may be NULL
 * when ck_activation_grad_needs_input is 0; y is f(z); dz may be dy (in
 * place).  At kinks the derivative is TensorFlow's (relu'(0) = 0, ...).
 * Allocates nothing. */
ck_status ck_activation_grad_rows(const ck_activation *a, ck_dtype dtype, const void *z, const void *y,
                                  const void *dy, void *dz, int64_t rows, int64_t cols);

/* Same for tensors of any rank (the Activation layer), axes as
 * ck_activation_apply; z may be NULL as above. */
ck_status ck_activation_grad(const ck_activation *a, const ck_tensor *z, const ck_tensor *y, const ck_tensor *dy,
                             ck_tensor *dz);

/* Training: g += scale * d(penalty)/dx (l1 sign(x) + 2 l2 x) for a floating
 * x and g of one dtype and size.  Allocates nothing. */
ck_status ck_regularizer_add_grad(const ck_regularizer *r, const ck_tensor *x, double scale, ck_tensor *g);

/* null gives *out = NULL and CK_OK. */
ck_status ck_constraint_from_json(const json_t *j, ck_constraint **out);
/* NULL c gives json_null(). */
json_t *ck_constraint_to_json(const ck_constraint *c);

/* ---- JSON text the way Python's json.dumps writes it: ", " / ": "
 * separators, floats in Python's shortest repr (0.05, 1e-07, 2.0, NaN,
 * Infinity), non-ASCII escaped as \uXXXX, keys in insertion order.
 * Returns a ck_malloc'ed string (ck_free it) or NULL on OOM. */
char *ck_json_dumps_python(const json_t *j);

/* Python's repr of a double into buf (>= 32 bytes): "0.05", "1e-07",
 * "2.0", "nan", "inf", "-inf".  Returns buf. */
char *ck_float_repr(double v, char *buf, size_t n);

/* ---- Random numbers (random.c): xoshiro256** seeded through splitmix64. */
typedef struct ck_rng {
    uint64_t s[4];
} ck_rng;

void ck_rng_seed(ck_rng *rng, uint64_t seed);
uint64_t ck_rng_next(ck_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double ck_rng_uniform(ck_rng *rng);
/* Standard normal (Marsaglia polar method; the spare value is discarded so
 * that the state alone determines the stream). */
double ck_rng_normal(ck_rng *rng);
/* A generator for one initializer call: seeded from `seed` when has_seed,
 * else split off the global generator (which advances). */
void ck_rng_for_call(ck_rng *rng, int has_seed, int64_t seed);

#endif
