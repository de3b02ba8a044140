/* Dense: values against real Keras (keras-js goldens, Keras' own test
 * cases), shapes, errors, config. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static ck_layer *dense(const ck_dense_opts *o)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dense(&l, o), CK_OK, "%s", ck_last_error());
    return l;
}

static void set2(ck_layer *l, ck_tensor *k, ck_tensor *b)
{
    ck_tensor *w[2] = {k, b};
    cr_assert_eq(ck_layer_set_weights(l, b ? 2 : 1, w), CK_OK, "%s", ck_last_error());
}

/* K3 dense_test correctness: kernel [[1,-2],[3,-4]], bias [5,-6], x=[[-1,2]]. */
Test(dense, keras3_correctness_cases)
{
    float kv[] = {1, -2, 3, -4}, bv[] = {5, -6}, xv[] = {-1, 2};
    ck_tensor *k = ck_test_f32(2, (int64_t[]){2, 2}, kv), *b = ck_test_f32(1, (int64_t[]){2}, bv);
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 2}, xv);
    struct { const char *act; bool no_bias; float e0, e1; } cases[] = {
        {"relu", false, 10, 0}, {NULL, true, 5, -6}, {"relu", true, 5, 0}, {"linear", false, 10, -12}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_layer *l = dense(&(ck_dense_opts){.units = 2, .activation = cases[i].act, .no_bias = cases[i].no_bias});
        cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 2)), CK_OK);
        set2(l, k, cases[i].no_bias ? NULL : b);
        ck_tensor *y = ck_test_call1(l, x);
        cr_expect_float_eq(((float *)y->data)[0], cases[i].e0, 1e-6, "case %zu", i);
        cr_expect_float_eq(((float *)y->data)[1], cases[i].e1, 1e-6, "case %zu", i);
        ck_tensor_free(y);
        ck_layer_free(l);
    }
    ck_tensor_free(k); ck_tensor_free(b); ck_tensor_free(x);
}

/* keras-js Dense.json: outputs of real Keras 2.1 (MIT, copied with provenance). */
Test(dense, kerasjs_goldens)
{
    json_t *root = ck_test_load_json(ck_test_data("kerasjs-goldens/Dense.json"));
    const char *acts[] = {"linear", "sigmoid", "softplus", "linear", "sigmoid", "softplus"};
    for (int c = 0; c < 6; c++) {
        char key[32];
        snprintf(key, sizeof key, "core.Dense.%d", c);
        json_t *cs = json_object_get(root, key);
        json_t *ws = json_object_get(cs, "weights");
        int use_bias = json_array_size(ws) == 2;
        ck_layer *l = dense(&(ck_dense_opts){.units = 2, .activation = acts[c], .no_bias = !use_bias});
        ck_tensor *x = ck_test_json_tensor(json_object_get(cs, "input"), 1);
        ck_tensor *expected = ck_test_json_tensor(json_object_get(cs, "expected"), 1);
        cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 6)), CK_OK);
        ck_tensor *w0 = ck_test_json_tensor(json_array_get(ws, 0), 0);
        ck_tensor *w1 = use_bias ? ck_test_json_tensor(json_array_get(ws, 1), 0) : NULL;
        set2(l, w0, w1);
        ck_tensor *y = ck_test_call1(l, x);
        cr_expect_leq(ck_test_max_abs_diff(y, expected), 1e-5, "%s", key);
        ck_tensor_free(y); ck_tensor_free(x); ck_tensor_free(expected); ck_tensor_free(w0); ck_tensor_free(w1);
        ck_layer_free(l);
    }
    json_decref(root);
}

/* Rank > 2 contracts the last axis only; checked against a naive loop. */
Test(dense, higher_rank_contracts_last_axis)
{
    int64_t xs[] = {3, 4, 5, 2};
    float xv[120];
    for (int i = 0; i < 120; i++) xv[i] = (float)((i * 7) % 11) - 5.0f;
    ck_tensor *x = ck_test_f32(4, xs, xv);
    ck_layer *l = dense(&(ck_dense_opts){.units = 3, .kernel_initializer = "ones", .bias_initializer = "ones"});
    ck_tensor *y = ck_test_call1(l, x);
    cr_assert_eq(y->rank, 4);
    cr_expect_eq(y->shape[0], 3); cr_expect_eq(y->shape[1], 4); cr_expect_eq(y->shape[2], 5); cr_expect_eq(y->shape[3], 3);
    for (int r = 0; r < 60; r++)
        for (int u = 0; u < 3; u++)
            cr_expect_float_eq(((float *)y->data)[r * 3 + u], xv[2 * r] + xv[2 * r + 1] + 1.0f, 1e-6);
    ck_shape out;
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, -1, 2), &out), CK_OK);
    cr_expect_eq(out.rank, 3); cr_expect_eq(out.dims[0], -1); cr_expect_eq(out.dims[2], 3);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

Test(dense, integer_input_is_cast_to_float32)
{
    int64_t xv[] = {1, 2, 3, 4};
    ck_tensor *x = ck_test_i64(2, (int64_t[]){2, 2}, xv);
    ck_layer *l = dense(&(ck_dense_opts){.units = 5, .kernel_initializer = "ones"});
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(y->dtype, CK_FLOAT32);
    cr_expect_float_eq(((float *)y->data)[5], 7.0f, 1e-6);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

Test(dense, float64_layer)
{
    double xv[] = {0.1, 0.2, 0.3};
    ck_tensor *x = ck_test_f64(2, (int64_t[]){1, 3}, xv);
    ck_layer *l = dense(&(ck_dense_opts){.units = 1, .dtype = CK_FLOAT64, .kernel_initializer = "ones"});
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(y->dtype, CK_FLOAT64);
    cr_expect_eq(ck_weight_value(ck_layer_weight(l, 0))->dtype, CK_FLOAT64);
    cr_expect(fabs(((double *)y->data)[0] - 0.6) < 1e-15);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

Test(dense, input_spec_errors)
{
    ck_layer *l = dense(&(ck_dense_opts){.units = 3, .name = "dense"});
    float v[6] = {0};
    ck_tensor *x1 = ck_test_f32(1, (int64_t[]){3}, v), *x2 = ck_test_f32(2, (int64_t[]){2, 3}, v);
    ck_tensor *x3 = ck_test_f32(2, (int64_t[]){3, 2}, v), *out = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x1}, &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Input 0 of layer \"dense\" is incompatible with the layer: expected min_ndim=2, found ndim=1") != NULL,
              "%s", ck_last_error());
    cr_expect(!ck_layer_built(l), "a failed call does not build");
    ck_tensor *y = ck_test_call1(l, x2);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x3}, &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected axis -1 of input shape to have value 3") != NULL, "%s", ck_last_error());
    cr_expect_null(out);
    ck_tensor_free(y); ck_tensor_free(x1); ck_tensor_free(x2); ck_tensor_free(x3); ck_layer_free(l);
}

Test(dense, unknown_last_dim_and_bad_options)
{
    ck_layer *l = dense(&(ck_dense_opts){.units = 3});
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, -1)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "should be defined. Found None") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_weight_count(l), 0, "nothing left behind by a failed build");
    ck_shape out;
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(4), &out), CK_VALUE_ERROR);
    ck_layer_free(l);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = -3}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "positive integer") != NULL);
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = 0}), CK_VALUE_ERROR);
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = 2, .activation = "nope"}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "nope") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = 2, .kernel_initializer = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = 2, .kernel_regularizer = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = 2, .bias_constraint = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_dense(&bad, &(ck_dense_opts){.units = 2, .dtype = CK_INT32}), CK_TYPE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
}

/* TF2.15 test_dense_regularization / K2.3: one loss per regularizer, and
 * the activity loss divided by the batch size (tf.keras 2.x). */
Test(dense, regularization_losses)
{
    ck_layer *l = dense(&(ck_dense_opts){.units = 3, .kernel_regularizer = "l1", .bias_regularizer = "l1",
                                         .activity_regularizer = "l2", .kernel_initializer = "ones",
                                         .bias_initializer = "ones"});
    float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){2, 4}, ones);
    ck_tensor *y = ck_test_call1(l, x);
    double *losses = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_losses(l, &losses, &n), CK_OK);
    cr_assert_eq(n, 3);
    /* kernel: 0.01*12 ones; bias: 0.01*3; activity: 0.01*sum(5^2 * 6)/2. */
    cr_expect_float_eq(losses[0], 0.12, 1e-6);
    cr_expect_float_eq(losses[1], 0.03, 1e-6);
    cr_expect_float_eq(losses[2], 0.01 * 150.0 / 2.0, 1e-5);
    ck_free(losses);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);

    ck_layer *l2 = dense(&(ck_dense_opts){.units = 3, .kernel_regularizer = "l1", .bias_regularizer = "l1"});
    cr_assert_eq(ck_layer_build(l2, 1, &CK_TEST_SHAPE(-1, 4)), CK_OK);
    cr_assert_eq(ck_layer_losses(l2, &losses, &n), CK_OK);
    cr_expect_eq(n, 2);
    ck_free(losses);
    ck_layer_free(l2);
}

Test(dense, constraints_apply_on_request)
{
    ck_layer *l = dense(&(ck_dense_opts){.units = 2, .kernel_constraint = "non_neg", .no_bias = true});
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 2)), CK_OK);
    float kv[] = {1, -2, -3, 4};
    ck_tensor *k = ck_test_f32(2, (int64_t[]){2, 2}, kv);
    set2(l, k, NULL);
    cr_assert_eq(ck_layer_apply_constraints(l), CK_OK);
    const float *w = ck_weight_value(ck_layer_weight(l, 0))->data;
    cr_expect_eq(w[0], 1.0f); cr_expect_eq(w[1], 0.0f); cr_expect_eq(w[2], 0.0f); cr_expect_eq(w[3], 4.0f);
    ck_tensor_free(k); ck_layer_free(l);
}

Test(dense, get_config_has_tf_keras_keys_in_order)
{
    ck_clear_session();
    ck_layer *l = dense(&(ck_dense_opts){.units = 4, .activation = "relu"});
    char *text = NULL;
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
    cr_expect_str_eq(text,
        "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"trainable\": true, \"dtype\": \"float32\", "
        "\"units\": 4, \"activation\": \"relu\", \"use_bias\": true, "
        "\"kernel_initializer\": {\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}}, "
        "\"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"kernel_regularizer\": null, "
        "\"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null}}");
    ck_layer *back = NULL;
    cr_assert_eq(ck_layer_from_config(text, &back), CK_OK, "%s", ck_last_error());
    char *again = NULL;
    cr_assert_eq(ck_layer_get_config(back, &again), CK_OK);
    cr_expect_str_eq(again, text, "round trip gives the same config");
    ck_free(text); ck_free(again); ck_layer_free(l); ck_layer_free(back);
}

Test(dense, from_config_dialects)
{
    /* Keras 1: output_dim, init, bias, W_regularizer, input_dim. */
    const char *k1 = "{\"class_name\": \"Dense\", \"config\": {\"W_constraint\": null, \"b_constraint\": null, "
                     "\"name\": \"dense_1\", \"activity_regularizer\": null, \"trainable\": true, \"init\": "
                     "\"glorot_uniform\", \"bias\": true, \"input_dim\": 4, \"b_regularizer\": null, "
                     "\"W_regularizer\": null, \"activation\": \"relu\", \"output_dim\": 3}}";
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(k1, &l), CK_OK, "%s", ck_last_error());
    char *text = NULL;
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
    cr_expect(strstr(text, "\"units\": 3") && strstr(text, "\"batch_input_shape\": [null, 4]") &&
              strstr(text, "\"activation\": \"relu\""), "%s", text);
    ck_free(text);
    ck_layer_free(l);
    /* Keras 3: DTypePolicy dict, new-form initializers, build_config. */
    const char *k3 = "{\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"config\": {\"name\": \"dense_13\", "
        "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
        "{\"name\": \"float32\"}, \"registered_name\": null}, \"units\": 30, \"activation\": \"relu\", \"use_bias\": "
        "true, \"kernel_initializer\": {\"module\": \"keras.initializers\", \"class_name\": \"GlorotUniform\", "
        "\"config\": {\"seed\": null}, \"registered_name\": null}, \"bias_initializer\": {\"module\": "
        "\"keras.initializers\", \"class_name\": \"Zeros\", \"config\": {}, \"registered_name\": null}, "
        "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": "
        "null}, \"registered_name\": null, \"build_config\": {\"input_shape\": [null, 6]}}";
    cr_assert_eq(ck_layer_from_config(k3, &l), CK_OK, "%s", ck_last_error());
    cr_expect(ck_layer_built(l));
    int64_t n = 0;
    cr_assert_eq(ck_layer_count_params(l, &n), CK_OK);
    cr_expect_eq(n, 6 * 30 + 30);
    ck_layer_free(l);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dense\", \"config\": {\"units\": 2, \"bogus\": 1}}", &l),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"MyCustomLayer\", \"config\": {}}", &l),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "MyCustomLayer") != NULL);
    cr_expect_eq(ck_layer_from_config("{not json", &l), CK_FORMAT_ERROR);
}

Test(dense, weights_order_and_names)
{
    ck_layer *l = dense(&(ck_dense_opts){.units = 16, .name = "fc"});
    int64_t n;
    cr_expect_eq(ck_layer_count_params(l, &n), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "call `count_params`") != NULL, "%s", ck_last_error());
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4)), CK_OK);
    cr_assert_eq(ck_layer_count_params(l, &n), CK_OK);
    cr_expect_eq(n, 80);
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 0)), "fc/kernel:0");
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 1)), "fc/bias:0");
    ck_layer_free(l);
}

/* Failing allocations during construction, build and call leak nothing. */
static ck_status build_and_call(void *ctx)
{
    ck_tensor **slot = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_dense(&l, &(ck_dense_opts){.units = 3, .activation = "softmax", .kernel_regularizer = "l2"});
    if (st != CK_OK) return st;
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ck_tensor *x = NULL;
    st = ck_tensor_wrap(&x, CK_FLOAT32, 2, (int64_t[]){2, 4}, v);
    if (st == CK_OK) st = ck_layer_call(l, 1, &x, slot);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

static void free_slot(void *ctx) { ck_tensor_free(*(ck_tensor **)ctx); }

Test(dense, failing_allocations)
{
    ck_tensor *out = NULL;
    ck_test_every_allocation_fails(build_and_call, free_slot, &out);
}

/* keras-cases C4 (test_passing_initial_weights_values): Dense(2,
 * use_bias=False, weights=[k]) in a model predicts inputs @ k. */
Test(dense, initial_weights_are_set_after_build)
{
    float kv[20], xv[30];
    for (int i = 0; i < 20; i++) kv[i] = (float)(i % 7) * 0.25f - 0.5f;
    for (int i = 0; i < 30; i++) xv[i] = (float)((i * 5) % 11) * 0.1f;
    ck_tensor *k = ck_test_f32(2, (int64_t[]){10, 2}, kv), *x = ck_test_f32(2, (int64_t[]){3, 10}, xv);
    ck_layer *d = dense(&(ck_dense_opts){.units = 2, .no_bias = true});
    cr_assert_eq(ck_layer_set_initial_weights(d, 1, (ck_tensor *[]){k}), CK_OK);
    ck_tensor *in = NULL, *h = NULL, *y = NULL;
    cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(10)}), CK_OK);
    cr_assert_eq(ck_layer_apply(d, 1, &in, &h), CK_OK, "%s", ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK);
    cr_assert_eq(ck_model_predict(m, 1, (ck_tensor *[]){x}, &y, 0), CK_OK);
    for (int r = 0; r < 3; r++)
        for (int u = 0; u < 2; u++) {
            double e = 0;
            for (int j = 0; j < 10; j++) e += xv[r * 10 + j] * kv[j * 2 + u];
            cr_expect_float_eq(((float *)y->data)[r * 2 + u], e, 1e-5);
        }
    cr_expect_eq(ck_test_max_abs_diff(ck_weight_value(ck_layer_weight(d, 0)), k), 0.0);
    /* Initial weights that do not fit make the build fail and leave the
     * layer unbuilt. */
    ck_layer *bad = dense(&(ck_dense_opts){.units = 3});
    cr_assert_eq(ck_layer_set_initial_weights(bad, 1, (ck_tensor *[]){k}), CK_OK);
    cr_expect_eq(ck_layer_build(bad, 1, &CK_TEST_SHAPE(-1, 10)), CK_VALUE_ERROR);
    cr_expect(!ck_layer_built(bad));
    cr_expect_eq(ck_layer_weight_count(bad), 0);
    ck_layer_free(bad);
    ck_tensor_free(k); ck_tensor_free(x); ck_tensor_free(y);
    ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(in));
    ck_model_free(m);
}

/* A row computed alone (batch 1: ck_dense_row_f32 applies the bias and a
 * relu in the product's registers) must give, bit for bit, the numbers the
 * same row gets inside a batch (product, then the bias and activation
 * passes), for widths that fill, cross and leave partial vectors and
 * panels, K cut into slices (> 256), NaN and negative inputs, in the
 * layer's call and in a model's predict plan. */
Test(dense, a_row_alone_equals_its_row_in_a_batch)
{
    static const int64_t shapes[][2] = {{64, 64}, {37, 300}, {200, 40}, {130, 513}, {16, 5}, {2, 1}, {129, 17}};
    static const char *acts[] = {"relu", "linear", "tanh"};
    enum { R = 5 };
    unsigned seed = 7;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t a = 0; a < 3; a++)
            for (int nb = 0; nb < 2; nb++) {
                const int64_t units = shapes[s][0], k = shapes[s][1];
                ck_layer *d = dense(&(ck_dense_opts){.units = units, .activation = acts[a], .no_bias = nb});
                cr_assert_eq(ck_layer_build(d, 1, &CK_TEST_SHAPE(-1, k)), CK_OK, "%s", ck_last_error());
                for (int w = 0; w < ck_layer_weight_count(d); w++) {
                    ck_tensor *v = ck_weight_value(ck_layer_weight(d, w));
                    for (int64_t i = 0; i < v->size; i++) {
                        seed = seed * 1103515245u + 12345u;
                        ((float *)v->data)[i] = (float)((seed >> 9) % 2001) / 1000.0f - 1.0f;
                    }
                }
                ck_tensor *x = NULL, *all = NULL, *one = NULL, *xr = NULL;
                cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, (int64_t[]){R, k}), CK_OK);
                cr_assert_eq(ck_tensor_new(&xr, CK_FLOAT32, 2, (int64_t[]){1, k}), CK_OK);
                for (int64_t i = 0; i < x->size; i++) {
                    seed = seed * 1103515245u + 12345u;
                    ((float *)x->data)[i] = (float)((seed >> 9) % 2001) / 1000.0f - 1.0f;
                }
                ((float *)x->data)[R * k - 1] = NAN; /* the last row: all NaN */
                cr_assert_eq(ck_layer_call(d, 1, &x, &all), CK_OK, "%s", ck_last_error());
                for (int r = 0; r < R; r++) {
                    memcpy(xr->data, (float *)x->data + r * k, (size_t)k * sizeof(float));
                    cr_assert_eq(ck_layer_call(d, 1, &xr, &one), CK_OK, "%s", ck_last_error());
                    cr_expect(memcmp(one->data, (float *)all->data + r * units, (size_t)units * sizeof(float)) == 0,
                              "Dense(%lld, %s%s) on %lld inputs: row %d alone differs", (long long)units, acts[a],
                              nb ? ", no bias" : "", (long long)k, r);
                    ck_tensor_free(one);
                    one = NULL;
                }
                /* the same through a model's fused plan */
                ck_tensor *in = NULL, *h = NULL, *y = NULL;
                cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(k)}), CK_OK);
                cr_assert_eq(ck_layer_apply(d, 1, &in, &h), CK_OK, "%s", ck_last_error());
                ck_model *m = NULL;
                cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK, "%s", ck_last_error());
                memcpy(xr->data, x->data, (size_t)k * sizeof(float));
                cr_assert_eq(ck_model_predict(m, 1, &xr, &y, 0), CK_OK, "%s", ck_last_error());
                cr_expect(memcmp(y->data, all->data, (size_t)units * sizeof(float)) == 0,
                          "Dense(%lld, %s) on %lld inputs: predict of one row differs", (long long)units, acts[a],
                          (long long)k);
                ck_tensor_free(y);
                ck_model_free(m);
                ck_layer_free(ck_tensor_layer(in));
                ck_tensor_free(x);
                ck_tensor_free(xr);
                ck_tensor_free(all);
                ck_layer_free(d);
            }
}
