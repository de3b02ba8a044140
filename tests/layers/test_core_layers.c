/* Flatten, Reshape, Dropout, AlphaDropout, Activation, Embedding: values
 * against numpy goldens (tools/gen_layer_goldens.py) and real Keras
 * outputs, shapes, masks, configs of the real files' dialects, errors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* from_config(text) -> get_config gives `want` (or text itself when NULL),
 * and that text survives one more round trip. */
static void expect_close(const ck_tensor *got, const ck_tensor *want, double tol, const char *what)
{
    cr_assert_eq(got->rank, want->rank, "%s: rank %d vs %d", what, got->rank, want->rank);
    double d = ck_test_max_abs_diff(got, want);
    cr_expect_leq(d, tol, "%s: max abs diff %g", what, d);
}

/* ---- Flatten ---------------------------------------------------------------- */

Test(flatten, values_channels_last_and_first)
{
    ck_tensor *x = ck_test_npy("flatten_x");
    const char *fmts[] = {NULL, "channels_first"}, *goldens[] = {"flatten_last_out", "flatten_first_out"};
    for (int i = 0; i < 2; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_flatten(&l, &(ck_flatten_opts){.data_format = fmts[i]}), CK_OK);
        ck_tensor *y = ck_test_call1(l, x), *want = ck_test_npy(goldens[i]);
        cr_expect_eq(y->shape[1], 12);
        expect_close(y, want, 0, goldens[i]);
        ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    }
    ck_tensor_free(x);
}

Test(flatten, shapes_and_dtypes)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_flatten(&l, NULL), CK_OK);
    ck_shape out;
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 3, 4), &out), CK_OK);
    cr_expect(out.rank == 2 && out.dims[0] == -1 && out.dims[1] == 12);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(5, -1, 4), &out), CK_OK);
    cr_expect(out.rank == 2 && out.dims[0] == 5 && out.dims[1] == -1);
    /* (batch,) gives (batch, 1), as the tf.keras docstring says. */
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(7), &out), CK_OK);
    cr_expect(out.rank == 2 && out.dims[0] == 7 && out.dims[1] == 1);
    /* Integers are not autocast: an int64 input stays int64. */
    ck_tensor *t = ck_test_i64(3, (int64_t[]){2, 2, 2}, (int64_t[]){1, 2, 3, 4, 5, 6, 7, 8});
    ck_tensor *y = ck_test_call1(l, t);
    cr_expect_eq(y->dtype, CK_INT64);
    cr_expect_eq(((int64_t *)y->data)[7], 8);
    ck_tensor_free(y);
    /* Rank 0 fails the min_ndim=1 input spec. */
    ck_tensor *s = NULL;
    cr_assert_eq(ck_tensor_new(&s, CK_FLOAT32, 0, NULL), CK_OK);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){s}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "min_ndim=1") != NULL, "%s", ck_last_error());
    /* Flatten does not support masking (tf.keras: TypeError from compute_mask). */
    ck_tensor *m = NULL;
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 2, (int64_t[]){2, 2}), CK_OK);
    cr_expect_eq(ck_layer_compute_mask(l, 1, (ck_tensor *[]){t}, (ck_tensor *[]){m}, &y), CK_TYPE_ERROR);
    ck_tensor_free(m); ck_tensor_free(s); ck_tensor_free(t); ck_layer_free(l);
    cr_expect_eq(ck_flatten(&l, &(ck_flatten_opts){.data_format = "channels_middle"}), CK_VALUE_ERROR);
}

Test(flatten, configs_of_real_files)
{
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_flatten(&l, NULL), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", \"trainable\": true, "
                           "\"dtype\": \"float32\", \"data_format\": \"channels_last\"}}");
    ck_free(text);
    ck_layer_free(l);
    /* dl4j-legacy-formats/flatten_3d.hdf5 (tf.keras 2.x) */
    ck_test_round_trip("{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"data_format\": \"channels_last\"}}", NULL);
    /* Keras 2.0 (keras2_mnist_cnn_no_bias_tf_config.json): no dtype, no data_format. */
    ck_test_round_trip("{\"class_name\": \"Flatten\", \"config\": {\"trainable\": true, \"name\": \"flatten_1\"}}",
               "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten_1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"data_format\": \"channels_last\"}}");
    /* Keras 3 (recsys-dot-keras3): DTypePolicy dict. */
    ck_test_round_trip("{\"class_name\": \"Flatten\", \"config\": {\"name\": \"Flatten_Movies\", \"trainable\": true, "
               "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": "
               "\"float32\"}, \"registered_name\": null}, \"data_format\": \"channels_last\"}}",
               "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"Flatten_Movies\", \"trainable\": true, "
               "\"dtype\": \"float32\", \"data_format\": \"channels_last\"}}");
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Flatten\", \"config\": {\"bogus\": 1}}", &l), CK_TYPE_ERROR);
    cr_expect(strstr(ck_last_error(), "bogus") != NULL);
}

/* ---- Reshape ---------------------------------------------------------------- */

Test(reshape, values_and_inferred_dim)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_reshape(&l, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(3, -1)}), CK_OK);
    ck_tensor *x = ck_test_npy("reshape_x"), *y = ck_test_call1(l, x), *want = ck_test_npy("reshape_out");
    cr_expect(y->rank == 3 && y->shape[1] == 3 && y->shape[2] == 4);
    expect_close(y, want, 0, "reshape");
    ck_shape out;
    /* An unknown input dim leaves the -1 unknown (None). */
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, -1), &out), CK_OK);
    cr_expect(out.rank == 3 && out.dims[0] == -1 && out.dims[1] == 3 && out.dims[2] == -1);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 2, 6), &out), CK_OK);
    cr_expect(out.rank == 3 && out.dims[2] == 4);
    ck_tensor_free(x); ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
}

Test(reshape, errors)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_reshape(&l, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(4, 2)}), CK_OK);
    float v[6] = {0};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 6}, v), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "total size of new array must be unchanged, input_shape = [6], "
                                      "output_shape = [4, 2]") != NULL, "%s", ck_last_error());
    cr_expect_null(y);
    ck_layer_free(l);
    cr_assert_eq(ck_reshape(&l, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(4, -1)}), CK_OK);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x}, &y), CK_VALUE_ERROR);
    ck_layer_free(l);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_reshape(&bad, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(-1, -1)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "at most one unknown dimension") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_reshape(&bad, NULL), CK_VALUE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
    ck_tensor_free(x);
}

Test(reshape, config_round_trip)
{
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_reshape(&l, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(3, -1), .input_shape =
                                                       CK_TEST_SHAPE(12)}), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Reshape\", \"config\": {\"name\": \"reshape\", \"trainable\": true, "
                           "\"dtype\": \"float32\", \"batch_input_shape\": [null, 12], \"target_shape\": [3, -1]}}");
    ck_test_round_trip(text, NULL);
    ck_free(text);
    ck_layer_free(l);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Reshape\", \"config\": {\"target_shape\": \"x\"}}", &l),
                 CK_TYPE_ERROR);
}

/* ---- Dropout / AlphaDropout ------------------------------------------------------ */

Test(dropout, identity_at_inference_and_masks)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dropout(&l, &(ck_dropout_opts){.rate = 0.5}), CK_OK);
    ck_tensor *x = ck_test_npy("merge_a"), *y = ck_test_call1(l, x);
    expect_close(y, x, 0, "dropout");
    ck_tensor *m = NULL, *om = NULL;
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 2, (int64_t[]){2, 3}), CK_OK);
    ((int32_t *)m->data)[4] = 1;
    cr_assert_eq(ck_layer_compute_mask(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){m}, &om), CK_OK);
    cr_assert_not_null(om);
    cr_expect_eq(((int32_t *)om->data)[4], 1);
    ck_tensor_free(om); ck_tensor_free(m); ck_tensor_free(y); ck_layer_free(l);
    cr_assert_eq(ck_alpha_dropout(&l, &(ck_dropout_opts){.rate = 0.3}), CK_OK);
    y = ck_test_call1(l, x);
    expect_close(y, x, 0, "alpha dropout");
    ck_tensor_free(y); ck_layer_free(l); ck_tensor_free(x);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_dropout(&bad, &(ck_dropout_opts){.rate = 1.5}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Invalid value 1.5 received for `rate`") != NULL, "%s", ck_last_error());
    cr_expect_eq(bad, (ck_layer *)0x1);
}

Test(dropout, configs_of_real_files)
{
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_dropout(&l, &(ck_dropout_opts){.rate = 0.2}), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout\", \"trainable\": true, "
                           "\"dtype\": \"float32\", \"rate\": 0.2, \"noise_shape\": null, \"seed\": null}}");
    ck_free(text);
    ck_layer_free(l);
    /* dl4j-tfkeras-dense/mlp_116.h5 (tf.keras 2.x) */
    ck_test_round_trip("{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout_116\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"rate\": 0.2, \"noise_shape\": null, \"seed\": null}}", NULL);
    /* hls4ml (keys sorted), then Keras 1 "p" (config_keras1_mlp_fapi_config.json). */
    const char *want = "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout_1\", \"trainable\": true, "
                       "\"dtype\": \"float32\", \"rate\": 0.1, \"noise_shape\": null, \"seed\": null}}";
    ck_test_round_trip("{\"class_name\": \"Dropout\", \"config\": {\"dtype\": \"float32\", \"name\": \"dropout_1\", "
               "\"noise_shape\": null, \"rate\": 0.1, \"seed\": null, \"trainable\": true}}", want);
    ck_test_round_trip("{\"class_name\": \"Dropout\", \"config\": {\"p\": 0.1, \"trainable\": true, \"name\": \"dropout_1\"}}",
               want);
    ck_test_round_trip("{\"class_name\": \"Dropout\", \"config\": {\"name\": \"d\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"rate\": 0, \"noise_shape\": [null, 1, 4], \"seed\": 7}}", NULL);
    /* dl4j-tfkeras-dense/misc_3.h5: an AlphaDropout written with rate only. */
    ck_test_round_trip("{\"class_name\": \"AlphaDropout\", \"config\": {\"name\": \"alpha_dropout\", \"trainable\": true, "
               "\"dtype\": \"float32\", \"rate\": 0.5}}",
               "{\"class_name\": \"AlphaDropout\", \"config\": {\"name\": \"alpha_dropout\", \"trainable\": true, "
               "\"dtype\": \"float32\", \"rate\": 0.5, \"seed\": null}}");
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dropout\", \"config\": {\"rate\": 2.0}}", &l), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dropout\", \"config\": {\"name\": \"d\"}}", &l), CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dropout\", \"config\": {\"rate\": 0.1, \"q\": 1}}", &l),
                 CK_TYPE_ERROR);
}

/* ---- Activation ---------------------------------------------------------------- */

/* keras-js Activation.json: Dense(2) then Activation(act), real Keras 2.1. */
Test(activation_layer, kerasjs_goldens)
{
    json_t *root = ck_test_load_json(ck_test_data("kerasjs-goldens/Activation.json"));
    const char *acts[] = {"softmax", "elu", "selu", "softplus", "softsign", "relu", "tanh", "sigmoid", "hard_sigmoid",
                          "linear"};
    for (int c = 0; c < 10; c++) {
        char key[32];
        snprintf(key, sizeof key, "core.Activation.%d", c);
        json_t *cs = json_object_get(root, key), *ws = json_object_get(cs, "weights");
        ck_tensor *x = ck_test_json_tensor(json_object_get(cs, "input"), 1);
        ck_tensor *k = ck_test_json_tensor(json_array_get(ws, 0), 0), *b = ck_test_json_tensor(json_array_get(ws, 1), 0);
        ck_layer *d = NULL, *a = NULL;
        cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 2}), CK_OK);
        cr_assert_eq(ck_layer_build(d, 1, &CK_TEST_SHAPE(-1, 6)), CK_OK);
        cr_assert_eq(ck_layer_set_weights(d, 2, (ck_tensor *[]){k, b}), CK_OK);
        cr_assert_eq(ck_activation_layer(&a, &(ck_activation_layer_opts){.activation = acts[c]}), CK_OK);
        ck_tensor *h = ck_test_call1(d, x), *y = ck_test_call1(a, h);
        ck_tensor *want = ck_test_json_tensor(json_object_get(cs, "expected"), 1);
        expect_close(y, want, 5e-6, key);
        ck_tensor_free(h); ck_tensor_free(y); ck_tensor_free(want); ck_tensor_free(x);
        ck_tensor_free(k); ck_tensor_free(b); ck_layer_free(d); ck_layer_free(a);
    }
    json_decref(root);
}

/* dl4j simple_sparse_xent_mlp_keras_2: Activation('softmax') of real Keras 2.3.1. */
Test(activation_layer, real_keras_softmax)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_1\", "
                                      "\"trainable\": true, \"dtype\": \"float32\", \"activation\": \"softmax\"}}", &l),
                 CK_OK);
    ck_tensor *x = ck_test_npy("keras_simple_sparse_xent_mlp_keras_2_in"), *y = ck_test_call1(l, x);
    ck_tensor *want = ck_test_npy("keras_simple_sparse_xent_mlp_keras_2_out");
    expect_close(y, want, 1e-6, "softmax");
    ck_tensor_free(x); ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
}

Test(activation_layer, configs_dtypes_and_errors)
{
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_activation_layer(&l, &(ck_activation_layer_opts){.activation = "tanh"}), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation\", \"trainable\": "
                           "true, \"dtype\": \"float32\", \"activation\": \"tanh\"}}");
    ck_free(text);
    /* tanh of an integer tensor is refused; linear passes integers through. */
    ck_tensor *t = ck_test_i64(2, (int64_t[]){1, 2}, (int64_t[]){3, -4}), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){t}, &y), CK_TYPE_ERROR);
    ck_layer_free(l);
    cr_assert_eq(ck_activation_layer(&l, NULL), CK_OK);
    y = ck_test_call1(l, t);
    cr_expect(y->dtype == CK_INT64 && ((int64_t *)y->data)[1] == -4);
    ck_tensor_free(y); ck_tensor_free(t); ck_layer_free(l);
    /* Keras 1 / 2.0 configs (mlp_fapi_config.json). */
    ck_test_round_trip("{\"class_name\": \"Activation\", \"config\": {\"activation\": \"relu\", \"trainable\": true, "
               "\"name\": \"activation_1\"}}",
               "{\"class_name\": \"Activation\", \"config\": {\"name\": \"activation_1\", \"trainable\": true, "
               "\"dtype\": \"float32\", \"activation\": \"relu\"}}");
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_activation_layer(&bad, &(ck_activation_layer_opts){.activation = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
}

/* ---- Embedding ----------------------------------------------------------------- */

static ck_layer *embedding_with_table(const ck_embedding_opts *o)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_embedding(&l, o), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, -1)), CK_OK);
    ck_tensor *table = ck_test_npy("embedding_table");
    cr_assert_eq(ck_layer_set_weights(l, 1, (ck_tensor *[]){table}), CK_OK, "%s", ck_last_error());
    ck_tensor_free(table);
    return l;
}

Test(embedding, lookup_of_int_and_float_indices)
{
    ck_layer *l = embedding_with_table(&(ck_embedding_opts){.input_dim = 10, .output_dim = 4});
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 0)), "embedding/embeddings:0");
    ck_tensor *idx = ck_test_npy("embedding_idx"), *y = ck_test_call1(l, idx), *want = ck_test_npy("embedding_out");
    cr_expect_eq(y->dtype, CK_FLOAT32);
    cr_expect(y->rank == 3 && y->shape[2] == 4);
    expect_close(y, want, 0, "int indices");
    ck_tensor_free(y); ck_tensor_free(want);
    ck_tensor *fidx = ck_test_npy("embedding_fidx");
    y = ck_test_call1(l, fidx);
    want = ck_test_npy("embedding_fout");
    expect_close(y, want, 0, "float indices truncated");
    /* int64 indices work too. */
    ck_tensor *i64 = NULL;
    cr_assert_eq(ck_tensor_cast(&i64, idx, CK_INT64), CK_OK);
    ck_tensor *y2 = ck_test_call1(l, i64), *want2 = ck_test_npy("embedding_out");
    expect_close(y2, want2, 0, "int64 indices");
    ck_tensor_free(y); ck_tensor_free(want); ck_tensor_free(y2); ck_tensor_free(want2);
    ck_tensor_free(i64); ck_tensor_free(fidx); ck_tensor_free(idx); ck_layer_free(l);
}

Test(embedding, out_of_range_indices)
{
    ck_layer *l = embedding_with_table(&(ck_embedding_opts){.input_dim = 10, .output_dim = 4});
    int64_t bad[] = {1, 2, 3, 4, 5, 12};
    ck_tensor *x = ck_test_i64(2, (int64_t[]){2, 3}, bad), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "indices[1,2] = 12 is not in [0, 10)") != NULL, "%s", ck_last_error());
    cr_expect_null(y);
    ((int64_t *)x->data)[5] = 0;
    ((int64_t *)x->data)[0] = -1;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "indices[0,0] = -1") != NULL, "%s", ck_last_error());
    ck_tensor_free(x);
    float nanv[] = {0.0f / 0.0f};
    x = ck_test_f32(2, (int64_t[]){1, 1}, nanv);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x}, &y), CK_VALUE_ERROR);
    ck_tensor_free(x); ck_layer_free(l);
}

Test(embedding, mask_zero_and_shapes)
{
    ck_layer *l = embedding_with_table(&(ck_embedding_opts){.input_dim = 10, .output_dim = 4, .mask_zero = true,
                                                            .input_length = 3});
    ck_tensor *x = ck_test_i64(2, (int64_t[]){2, 3}, (int64_t[]){0, 4, 0, 9, 9, 1}), *y = NULL, *m = NULL;
    cr_assert_eq(ck_layer_call_masked(l, 1, (ck_tensor *[]){x}, NULL, &y, &m), CK_OK, "%s", ck_last_error());
    cr_assert_not_null(m);
    cr_expect(m->dtype == CK_INT32 && m->rank == 2 && m->shape[1] == 3);
    int32_t want[] = {0, 1, 0, 1, 1, 1};
    for (int i = 0; i < 6; i++) cr_expect_eq(((int32_t *)m->data)[i], want[i], "mask %d", i);
    ck_tensor_free(y); ck_tensor_free(m);
    ck_shape out;
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, -1), &out), CK_OK);
    cr_expect(out.rank == 3 && out.dims[1] == 3 && out.dims[2] == 4);
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 5), &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "\"input_length\" is 3, but received input has shape (None, 5)") != NULL, "%s",
              ck_last_error());
    ck_tensor_free(x); ck_layer_free(l);
    /* Without input_length any rank works; without mask_zero no mask. */
    l = embedding_with_table(&(ck_embedding_opts){.input_dim = 10, .output_dim = 4, .dtype = CK_FLOAT64});
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(2, 3, 5), &out), CK_OK);
    cr_expect(out.rank == 4 && out.dims[3] == 4);
    x = ck_test_i64(1, (int64_t[]){2}, (int64_t[]){3, 3});
    cr_assert_eq(ck_layer_call_masked(l, 1, (ck_tensor *[]){x}, NULL, &y, &m), CK_OK);
    cr_expect_null(m);
    cr_expect_eq(y->dtype, CK_FLOAT64);
    ck_tensor_free(y); ck_tensor_free(x); ck_layer_free(l);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_embedding(&bad, &(ck_embedding_opts){.input_dim = 0, .output_dim = 3}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Both `input_dim` and `output_dim` should be positive") != NULL);
    cr_expect_eq(bad, (ck_layer *)0x1);
}

Test(embedding, configs_of_real_files)
{
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_embedding(&l, &(ck_embedding_opts){.input_dim = 10, .output_dim = 8}), CK_OK);
    char *text = ck_test_config_of(l);
    const char *tf2 = "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"embedding\", \"trainable\": true, "
                      "\"dtype\": \"float32\", \"batch_input_shape\": [null, null], \"input_dim\": 10, \"output_dim\": 8, "
                      "\"embeddings_initializer\": {\"class_name\": \"RandomUniform\", \"config\": {\"minval\": -0.05, "
                      "\"maxval\": 0.05, \"seed\": null}}, \"embeddings_regularizer\": null, \"activity_regularizer\": "
                      "null, \"embeddings_constraint\": null, \"mask_zero\": false, \"input_length\": null}}";
    cr_expect_str_eq(text, tf2);
    ck_free(text);
    ck_layer_free(l);
    ck_test_round_trip(tf2, NULL);
    /* dl4j-tfkeras-dense/misc_0.h5: TF 2.x order and "dtype" inside the initializer config. */
    ck_test_round_trip("{\"class_name\": \"Embedding\", \"config\": {\"name\": \"embedding\", \"trainable\": true, "
               "\"batch_input_shape\": [null, null], \"dtype\": \"float32\", \"input_dim\": 10, \"output_dim\": 8, "
               "\"embeddings_initializer\": {\"class_name\": \"RandomUniform\", \"config\": {\"minval\": -0.05, "
               "\"maxval\": 0.05, \"seed\": null, \"dtype\": \"float32\"}}, \"embeddings_regularizer\": null, "
               "\"activity_regularizer\": null, \"embeddings_constraint\": null, \"mask_zero\": false, "
               "\"input_length\": null}}", tf2);
    /* recsys-dot-keras3: Keras 3, no batch shape and no input_length; the
     * vocabulary size must not be taken for an input shape. */
    const char *k3 = "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"Embedded_Users\", \"trainable\": true, "
                     "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": "
                     "\"float32\"}, \"registered_name\": null}, \"input_dim\": 672, \"output_dim\": 5, "
                     "\"embeddings_initializer\": {\"module\": \"keras.initializers\", \"class_name\": "
                     "\"RandomUniform\", \"config\": {\"seed\": null, \"minval\": -0.05, \"maxval\": 0.05}, "
                     "\"registered_name\": null}, \"embeddings_regularizer\": null, \"activity_regularizer\": null, "
                     "\"embeddings_constraint\": null, \"mask_zero\": false}}";
    cr_assert_eq(ck_layer_from_config(k3, &l), CK_OK, "%s", ck_last_error());
    text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"batch_input_shape\": [null, null], \"input_dim\": 672, \"output_dim\": 5") != NULL, "%s",
              text);
    ck_free(text);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 1)), CK_OK);
    int64_t n = 0;
    cr_assert_eq(ck_layer_count_params(l, &n), CK_OK);
    cr_expect_eq(n, 672 * 5);
    ck_layer_free(l);
    /* Keras 1: init, W_regularizer, input_length, dropout, input_dtype. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Embedding\", \"config\": {\"input_dtype\": \"int32\", "
                                      "\"name\": \"e\", \"trainable\": true, \"input_dim\": 20, \"output_dim\": 3, "
                                      "\"init\": \"uniform\", \"input_length\": 4, \"mask_zero\": true, "
                                      "\"W_regularizer\": null, \"activity_regularizer\": null, \"W_constraint\": null, "
                                      "\"dropout\": 0.0, \"batch_input_shape\": [null, 4]}}", &l), CK_OK,
                 "%s", ck_last_error());
    text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"mask_zero\": true, \"input_length\": 4") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Embedding\", \"config\": {\"output_dim\": 3}}", &l),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Embedding\", \"config\": {\"input_dim\": 3, \"output_dim\": "
                                      "3, \"sparse\": true}}", &l), CK_NOT_IMPLEMENTED);
}

/* Failing allocations while creating, building and calling an Embedding
 * with a mask leak nothing. */
static ck_status embedding_run(void *ctx)
{
    ck_tensor **slots = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_embedding(&l, &(ck_embedding_opts){.input_dim = 5, .output_dim = 3, .mask_zero = true,
                                                         .embeddings_regularizer = "l2"});
    if (st != CK_OK) return st;
    int64_t v[4] = {0, 1, 2, 4};
    ck_tensor *x = NULL;
    st = ck_tensor_wrap(&x, CK_INT64, 2, (int64_t[]){2, 2}, v);
    if (st == CK_OK) st = ck_layer_call_masked(l, 1, &x, NULL, &slots[0], &slots[1]);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

static void free_slots(void *ctx)
{
    ck_tensor **slots = ctx;
    ck_tensor_free(slots[0]);
    ck_tensor_free(slots[1]);
}

Test(embedding, failing_allocations)
{
    ck_tensor *slots[2] = {NULL, NULL};
    ck_test_every_allocation_fails(embedding_run, free_slots, slots);
}

/* float64 indices reach Embedding unchanged: 16777217 (2^24 + 1) is not a
 * float32, so a float32 detour would look up row 16777216. */
Test(embedding, float64_indices_are_not_rounded_through_float32)
{
    ck_layer *e = NULL;
    cr_assert_eq(ck_embedding(&e, &(ck_embedding_opts){.input_dim = 16777218, .output_dim = 1,
                                                         .embeddings_initializer = "zeros"}), CK_OK, "%s",
                 ck_last_error());
    double idx[1] = {16777217.0};
    ck_tensor *x = ck_test_f64(2, (int64_t[]){1, 1}, idx);
    cr_assert_eq(ck_layer_build(e, 1, &CK_TEST_SHAPE(-1, 1)), CK_OK, "%s", ck_last_error());
    float *table = ck_weight_value(ck_layer_weight(e, 0))->data;
    table[16777217] = 7.0f;
    ck_tensor *y = ck_test_call1(e, x);
    cr_expect_eq(((float *)y->data)[0], 7.0f);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(e);
}
