/* Layers checked against the golden cases of the tools/gen_*_goldens.py
 * fixtures: a layer made from tf.keras' config with tf.keras' weights,
 * its outputs and weight names, and one training step's gradients
 * against TF's GradientTape.  A case is a JSON object with at least
 * "name" and "x" ({"shape", "data"}) and the keys each function names.
 * Criterion asserts on every failure. */
#ifndef CK_TEST_GOLDEN_LAYER_H
#define CK_TEST_GOLDEN_LAYER_H

#include <jansson.h>

#include "ckeras.h"

/* The most weights a golden layer may have (a Bidirectional of two LSTMs
 * with biases has 6; stacked cells more). */
#define CK_TEST_MAX_WEIGHTS 16

/* ck_layer_from_config of a {"class_name", "config"} object; failures
 * print the config. */
ck_layer *ck_test_layer_from_json(const json_t *config);

/* Sets `weights` (a list of {"shape", "data"} tensors, in Keras' weight
 * order) on the built layer `l`, in `dt`. */
void ck_test_set_golden_weights(ck_layer *l, const json_t *weights, ck_dtype dt);

/* The layer of tf.keras' config {"class_name", "config"} with every
 * "dtype" key of the tree set to `dt`, built on `shape`, with `weights`
 * as ck_test_set_golden_weights sets them.  The caller frees it. */
ck_layer *ck_test_golden_layer(const json_t *config, const json_t *weights, ck_dtype dt, const ck_shape *shape);

/* Expects the weights of `l` to be named `names` (a list of strings),
 * the count included; failures name `name`. */
void ck_test_expect_weight_names(const char *name, const ck_layer *l, const json_t *names);

/* Makes the layer of golden case `c` in `dt`, built on `x`, with the
 * case's weights (each test knows where its fixture keeps the config). */
typedef ck_layer *ck_test_case_layer_fn(const json_t *c, ck_dtype dt, const ck_tensor *x);

/* The ck_test_case_layer_fn of cases that keep tf.keras' config under
 * "layer" and its weights under "weights". */
ck_layer *ck_test_case_layer(const json_t *c, ck_dtype dt, const ck_tensor *x);

/* What a test checks of one case: `l` is the case's layer, built on `x`
 * (its "x"); ctx is the caller's. */
typedef void ck_test_case_check_fn(const char *name, const json_t *c, ck_layer *l, ck_tensor *x, void *ctx);

/* Calls check for every case of `cases` with its "x" in `dt` and make's
 * layer on it, both freed after. */
void ck_test_for_each_case(const json_t *cases, ck_dtype dt, ck_test_case_layer_fn *make, ck_test_case_check_fn *check,
                           void *ctx);

/* For every case of `cases` ({"name", "x", "weight_names", "f32": {"y"},
 * "f64": {"y"}}), in float32 then float64, after ck_clear_session (the
 * names tf.keras gave): the one output of make's layer on x within
 * f32_tol (float32) or 1e-12 (float64) of tf.keras', and the weight
 * names. */
void ck_test_expect_outputs_like_tf(const json_t *cases, ck_test_case_layer_fn *make, double f32_tol);

/* One float64 training step of the one-output layer `l` on x (random
 * stream seeded 7, loss sum(y * dy)) against GradientTape's `f64`
 * ({"y", "dx", "dweights"}): y within y_tol, d loss / d x and each
 * trainable weight's gradient within grad_tol; failures name `name`. */
void ck_test_expect_step_like_tf(const char *name, ck_layer *l, const ck_tensor *x, const ck_tensor *dy,
                                 const json_t *f64, double y_tol, double grad_tol);

/* ck_test_expect_step_like_tf for every case of `cases` (float64 "x",
 * "dy" and "f64"). */
void ck_test_expect_gradients_like_tf(const json_t *cases, ck_test_case_layer_fn *make, double y_tol,
                                      double grad_tol);

/* One float64 training step of a layer with several outputs on x (random
 * stream seeded 3, loss sum_k sum(y_k * dy_k) with `dys` the list of
 * golden dy_k, as many as the layer's outputs) against GradientTape's
 * `f64` ({"y": [...], "dx", "dweights"}): every output within 1e-12,
 * d loss / d x and each trainable weight's gradient within grad_tol. */
void ck_test_expect_multi_step_like_tf(const char *name, ck_layer *l, const ck_tensor *x, const json_t *dys,
                                       const json_t *f64, double grad_tol);

/* Central differences (ck_test_gradcheck, training mode, tol 1e-6) of
 * every case's float64 layer on its x; each case must compare something.
 * Returns the number of values compared over all cases. */
long ck_test_gradcheck_cases(const json_t *cases, ck_test_case_layer_fn *make);

/* `l`, made by a C constructor with the options of case `c`, built on the
 * case's float32 x with its weights: the output within `tol` of tf.keras'
 * "f32" "y", and tf.keras' weight names. */
void ck_test_expect_constructed_like_tf(const json_t *c, ck_layer *l, double tol);

#endif
