/* Keras 3 operation layers (tools/gen_k3_ops_goldens.py, tests/data/k3_ops):
 * a functional model of keras.ops calls saved by Keras 3.15 (classes Add,
 * NotEqual, Reshape, Mean, Where, Cast, ... of keras.src.ops.*) loads as
 * TFOpLambda layers and predicts every output within 1e-5 of Keras 3;
 * saved by ckeras (tf.keras 2.x dialect) and loaded back, it predicts the
 * same; an operation class ckeras does not run is an error naming it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name)
{
    char rel[160];
    snprintf(rel, sizeof rel, "k3_ops/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void expect_keras3_values(ck_model *m)
{
    ck_tensor *x[2] = {fixture("x0"), fixture("x1")}, *y[32] = {NULL};
    int n_out = ck_model_output_count(m);
    cr_assert_eq(n_out, 30);
    cr_assert_eq(ck_model_predict(m, 2, x, y, 0), CK_OK, "%s", ck_last_error());
    for (int k = 0; k < n_out; k++) {
        char f[16];
        snprintf(f, sizeof f, "y%d", k);
        ck_tensor *w = fixture(f);
        ck_test_expect_close_rel(y[k], w, 1e-5, f);
        ck_tensor_free(w);
        ck_tensor_free(y[k]);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
}

Test(k3_ops, keras3_operations_predict_and_round_trip)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("k3_ops/ops.keras"), &m), CK_OK, "%s", ck_last_error());
    expect_keras3_values(m);
    char path[512];
    snprintf(path, sizeof path, "%s", ck_test_tmp("k3_ops.h5"));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    expect_keras3_values(m);
    ck_model_free(m);
}

Test(k3_ops, unknown_operation_is_named)
{
    static const char *cfg =
        "{\"class_name\": \"Functional\", \"config\": {\"name\": \"m\", \"layers\": ["
        "{\"module\": \"keras.layers\", \"class_name\": \"InputLayer\", \"name\": \"x\", \"config\": "
        "{\"batch_shape\": [null, 3], \"dtype\": \"float32\", \"name\": \"x\"}, \"inbound_nodes\": []},"
        "{\"module\": \"keras.src.ops.numpy\", \"class_name\": \"Arctanh\", \"name\": \"arctanh\", \"config\": "
        "{\"name\": \"arctanh\"}, \"inbound_nodes\": [{\"args\": [{\"class_name\": \"__keras_tensor__\", "
        "\"config\": {\"shape\": [null, 3], \"dtype\": \"float32\", \"keras_history\": [\"x\", 0, 0]}}], "
        "\"kwargs\": {}}]}], \"input_layers\": [[\"x\", 0, 0]], \"output_layers\": [[\"arctanh\", 0, 0]]}}";
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(cfg, &m), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "Arctanh") != NULL, "%s", ck_last_error());
}

/* Masking into an LSTM: Keras 3 writes the mask as the operations
 * any(not_equal(x, 0.0), axis=-1) and passes it as the LSTM's `mask`
 * argument, which is the mask ckeras propagates from Masking. */
Test(k3_ops, masking_mask_argument)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("k3_ops/masking_lstm.keras"), &m), CK_OK, "%s", ck_last_error());
    ck_tensor *x = fixture("mx"), *y = NULL, *want = fixture("my");
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 0), CK_OK, "%s", ck_last_error());
    ck_test_expect_close_rel(y, want, 1e-5, "masking_lstm");
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(want);
    ck_model_free(m);
}
