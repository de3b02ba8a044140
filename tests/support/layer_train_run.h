/* One training step of a layer for tests: forward in training mode, then
 * backward, with fresh zeroed gradient accumulators (not part of the
 * library). */
#ifndef CK_TEST_LAYER_TRAIN_RUN_H
#define CK_TEST_LAYER_TRAIN_RUN_H

#include "layers/layer.h"

typedef struct ck_test_step {
    ck_tensor *y;                         /* the output */
    ck_tensor *dx;                        /* d f / d input, f = sum(y * dy) */
    ck_tensor *grads[8];                  /* d f / d trainable weight i */
    int n_grads;
} ck_test_step;

/* Runs ck_layer_train_call (training flag, a random stream seeded with
 * `seed`) and ck_layer_backward with dout = dy on a one-input layer
 * (Criterion assertions on failure).  The layer is built on x if needed.
 * Free the results with ck_test_step_free. */
void ck_test_train_step(ck_layer *layer, const ck_tensor *x, const ck_tensor *dy, int training, uint64_t seed,
                        ck_test_step *out);
void ck_test_step_free(ck_test_step *s);

/* Dropout only in training: `with` (dropout rates) and `without` (the same
 * layer without them), their weights drawn from seed 5 at the first call,
 * give one output on x; a training=0 step of `with` gives it too, a
 * training step (seed 3, dout = dy) differs from it by more than 1e-3. */
void ck_test_expect_dropout_only_in_training(ck_layer *with, ck_layer *without, ck_tensor *x, const ck_tensor *dy);

/* Asserts that got and want have one shape and are within
 * tol * max(1, |want|) elementwise (Criterion, naming `what`). */
void ck_test_expect_close_rel(const ck_tensor *got, const ck_tensor *want, double tol, const char *what);

/* A new float64 / float32 tensor of uniform values in [lo, hi) from a
 * fixed seed. */
ck_tensor *ck_test_uniform(ck_dtype dtype, int rank, const int64_t *shape, double lo, double hi, uint64_t seed);

#endif
