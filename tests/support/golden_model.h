/* Models checked against tf.keras' files and golden values: configs
 * loaded, files predicting as tf.keras predicted, ckeras' own saves
 * loading again, a planned predict allocating nothing, the allocation
 * sweep of loading and writing a config, and weights after training.
 * Criterion asserts on every failure. */
#ifndef CK_TEST_GOLDEN_MODEL_H
#define CK_TEST_GOLDEN_MODEL_H

#include <jansson.h>

#include "ckeras.h"

/* The model of a JSON model config (ck_model_from_json); failures name
 * `name`.  The caller frees it. */
ck_model *ck_test_model_from_json(const json_t *config, const char *name);

/* The model file `path` loaded predicts x (one input, one output) within
 * 1e-5 (max abs) of `want`. */
void ck_test_expect_file_predicts(const char *path, const ck_tensor *x, const ck_tensor *want);

/* Loads the model file `path` and saves it as the scratch file
 * `tmp_name` (ck_test_tmp); returns that path, valid as ck_test_tmp's. */
const char *ck_test_saved_again(const char *path, const char *tmp_name);

/* One ck_model_predict_into of the planned model `m` with every
 * allocation failing: it must succeed and allocate nothing (failures name
 * `what`).  y holds the outputs of an earlier predict. */
void ck_test_expect_predict_allocates_nothing(const char *what, ck_model *m, int n, ck_tensor *const *x,
                                              ck_tensor **y, int batch_size);

/* The model file tests/data/`file` has as many outputs as the golden
 * list `ys` (at most 8); predicting the float32 inputs x gives each within
 * 1e-5 (ck_test_expect_close), and the planned predict_into then
 * allocates nothing. */
void ck_test_expect_model_file_like_tf(const char *file, int n, ck_tensor *const *x, const json_t *ys);

/* The config ckeras writes for `m` (ck_model_to_json), parsed (json_decref
 * it); that text must load again into a model writing the same text.
 * `text` (optional) receives the text, ck_free it.  Failures name `name`. */
json_t *ck_test_model_config_round_trip(const char *name, ck_model *m, char **text);

/* The TFOpLambda / SlicingOpLambda entries of the model config `got` are
 * tf.keras' (`want`): same layer count, and for each of those layers the
 * class, the inbound nodes, and the config keys `keys` (n_keys of them;
 * the whole config when n_keys is 0).  Failures name `name`. */
void ck_test_expect_same_op_layers(const char *name, const json_t *got, const json_t *want, int n_keys,
                                   const char *const *keys);

/* For each golden case of `cases` named in `names` (n of them):
 * ck_model_from_json of its "config" then ck_model_to_json, with each
 * allocation failing in turn (ck_test_every_allocation_fails), fails
 * cleanly every time, at more than `at_least` failure points. */
void ck_test_expect_config_allocation_sweeps(const json_t *cases, int n, const char *const *names, long at_least);

/* One epoch of SGD (learning rate 0.05, mse, batch_size, no shuffling) of
 * the model file tests/data/`file` on x -> t, as tf.keras' fixture
 * trained it: the weights after it are the golden list `want_weights`
 * (ck_test_expect_golden_weights, 1e-5).  Returns the history (free it). */
ck_history *ck_test_fit_one_epoch_like_tf(const char *file, int n_x, ck_tensor **x, int n_t, ck_tensor **t,
                                          int batch_size, const json_t *want_weights);

/* The model file tests/data/`file` predicts x (n inputs, n_out outputs),
 * then, planned, its predict_into allocates nothing; the first output is
 * within 1e-5 (ck_test_expect_close) of `want`. */
void ck_test_expect_steady_predict(const char *file, int n, ck_tensor *const *x, int n_out, const ck_tensor *want,
                                   int batch_size);

/* The weights of `l` (ck_layer_get_weights) are the golden list `want`,
 * the count included, each within tol * (1 + |want|); failures name
 * `name`. */
void ck_test_expect_golden_weights(const char *name, ck_layer *l, const json_t *want, double tol);

#endif
