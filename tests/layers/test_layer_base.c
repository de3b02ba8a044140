/* The Layer contract: names, weights, trainable lists, set_weights checks,
 * losses, masks (keras-cases.md D). */
#include <criterion/criterion.h>
#include <string.h>

#include "ckeras.h"
#include "layers/layer.h"
#include "support/support.h"

Test(layer_base, snake_case_matches_tf_keras)
{
    const char *cases[][2] = {{"Dense", "dense"}, {"Dot", "dot"}, {"Conv2D", "conv2d"},
                              {"BatchNormalization", "batch_normalization"}, {"LSTM", "lstm"}, {"ReLU", "re_lu"},
                              {"PReLU", "p_re_lu"}, {"GlobalAveragePooling2D", "global_average_pooling2d"},
                              {"Conv2DTranspose", "conv2d_transpose"}, {"UpSampling2D", "up_sampling2d"},
                              {"MyDense2Layer", "my_dense2_layer"}, {"_Private", "private__private"}};
    char buf[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_snake_case(cases[i][0], buf, sizeof buf);
        cr_expect_str_eq(buf, cases[i][1], "%s", cases[i][0]);
    }
}

Test(layer_base, automatic_names_count_per_prefix_from_zero)
{
    ck_clear_session();
    ck_layer *a, *b, *c, *d, *e;
    cr_assert_eq(ck_dense(&a, &(ck_dense_opts){.units = 1}), CK_OK);
    cr_assert_eq(ck_dense(&b, &(ck_dense_opts){.units = 1, .name = "dense_1"}), CK_OK);
    cr_assert_eq(ck_dense(&c, &(ck_dense_opts){.units = 1}), CK_OK);
    cr_assert_eq(ck_dot(&d, &(ck_dot_opts){.axes = ck_axes_one(1)}), CK_OK);
    cr_expect_str_eq(ck_layer_name(a), "dense");
    cr_expect_str_eq(ck_layer_name(b), "dense_1");
    cr_expect_str_eq(ck_layer_name(c), "dense_1", "user names do not advance the counter (tf.keras)");
    cr_expect_str_eq(ck_layer_name(d), "dot");
    ck_clear_session();
    cr_assert_eq(ck_dense(&e, &(ck_dense_opts){.units = 1}), CK_OK);
    cr_expect_str_eq(ck_layer_name(e), "dense");
    ck_layer_free(a); ck_layer_free(b); ck_layer_free(c); ck_layer_free(d); ck_layer_free(e);
}

Test(layer_base, set_weights_checks_count_then_shapes_and_changes_nothing)
{
    ck_layer *l;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 2, .bias_initializer = "ones"}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 10)), CK_OK);
    float kv[20], bv[2] = {7, 8};
    for (int i = 0; i < 20; i++) kv[i] = (float)i;
    ck_tensor *k = ck_test_f32(2, (int64_t[]){10, 2}, kv), *kt = ck_test_f32(2, (int64_t[]){2, 10}, kv);
    ck_tensor *b = ck_test_f32(1, (int64_t[]){2}, bv);
    cr_expect_eq(ck_layer_set_weights(l, 3, (ck_tensor *[]){k, b, b}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "but the layer was expecting 2 weights") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_set_weights(l, 2, (ck_tensor *[]){b, kt}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "not compatible with provided weight shape") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_set_weights(l, 2, (ck_tensor *[]){k, kt}), CK_VALUE_ERROR);
    cr_expect_eq(((float *)ck_weight_value(ck_layer_weight(l, 1))->data)[0], 1.0f, "bias untouched");
    cr_assert_eq(ck_layer_set_weights(l, 2, (ck_tensor *[]){k, b}), CK_OK);
    ck_tensor **got;
    int n;
    cr_assert_eq(ck_layer_get_weights(l, &got, &n), CK_OK);
    cr_assert_eq(n, 2);
    cr_expect_eq(ck_test_max_abs_diff(got[0], k), 0.0);
    cr_expect_eq(ck_test_max_abs_diff(got[1], b), 0.0);
    /* set_weights(get_weights()) works. */
    cr_expect_eq(ck_layer_set_weights(l, n, got), CK_OK);
    ck_tensors_free(got, n);
    ck_tensor_free(k); ck_tensor_free(kt); ck_tensor_free(b); ck_layer_free(l);
}

Test(layer_base, trainable_lists_follow_the_layer_flag)
{
    ck_layer *l;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 1}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 2)), CK_OK);
    ck_weight *extra;
    cr_assert_eq(ck_layer_add_weight(l, &(ck_weight_opts){.name = "moving", .shape = CK_TEST_SHAPE(3),
                                                           .non_trainable = true, .initializer = "ones"}, &extra), CK_OK);
    cr_expect_str_eq(ck_weight_name(extra), "dense/moving:0");
    cr_expect_eq(ck_layer_trainable_weight_count(l), 2);
    cr_expect_eq(ck_layer_non_trainable_weight_count(l), 1);
    cr_expect_eq(ck_layer_non_trainable_weight(l, 0), extra);
    ck_layer_set_trainable(l, 0);
    cr_expect_eq(ck_layer_trainable_weight_count(l), 0);
    cr_expect_eq(ck_layer_non_trainable_weight_count(l), 3);
    cr_expect_eq(ck_layer_non_trainable_weight(l, 0), ck_layer_weight(l, 0));
    cr_expect_eq(ck_layer_non_trainable_weight(l, 2), extra);
    ck_layer_set_trainable(l, 1);
    cr_expect_eq(ck_layer_trainable_weight_count(l), 2);
    cr_expect_eq(ck_layer_weight(l, 2), extra, "weights = trainable + non-trainable");
    ck_layer_free(l);
}

/* keras-cases D7: add_weight defaults and a regularizer gives one loss. */
Test(layer_base, default_add_weight)
{
    ck_layer *l;
    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = ck_axes_one(1)}), CK_OK);
    ck_weight *w0, *w1, *w2;
    cr_assert_eq(ck_layer_add_weight(l, NULL, &w0), CK_OK);
    cr_expect_eq(ck_weight_value(w0)->rank, 0);
    cr_expect_eq(ck_weight_value(w0)->dtype, CK_FLOAT32);
    cr_assert_eq(ck_layer_add_weight(l, &(ck_weight_opts){.shape = CK_TEST_SHAPE(3, 4)}, &w1), CK_OK);
    cr_expect_eq(ck_weight_value(w1)->shape[1], 4);
    double *losses;
    int n;
    cr_assert_eq(ck_layer_losses(l, &losses, &n), CK_OK);
    cr_expect_eq(n, 0);
    cr_assert_eq(ck_layer_add_weight(l, &(ck_weight_opts){.shape = CK_TEST_SHAPE(3, 4), .regularizer = "l2"}, &w2), CK_OK);
    cr_assert_eq(ck_layer_losses(l, &losses, &n), CK_OK);
    cr_expect_eq(n, 1);
    ck_free(losses);
    cr_expect_eq(ck_layer_add_weight(l, &(ck_weight_opts){.shape = CK_TEST_SHAPE(-2)}, NULL), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_weight_count(l), 3);
    ck_layer_free(l);
}

static ck_status five(const ck_layer *layer, void *user, double *out)
{
    (void)layer;
    *out = 5.0 * *(double *)user;
    return CK_OK;
}

Test(layer_base, add_loss_constant_and_callable)
{
    ck_layer *l;
    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = ck_axes_one(1)}), CK_OK);
    double factor = 2.0;
    cr_assert_eq(ck_layer_add_loss(l, NULL, NULL, 0.5), CK_OK);
    cr_assert_eq(ck_layer_add_loss(l, five, &factor, 0), CK_OK);
    factor = 3.0; /* evaluated when read */
    double *losses;
    int n;
    cr_assert_eq(ck_layer_losses(l, &losses, &n), CK_OK);
    cr_assert_eq(n, 2);
    cr_expect_float_eq(losses[0], 0.5, 1e-12);
    cr_expect_float_eq(losses[1], 15.0, 1e-12);
    ck_free(losses);
    ck_layer_free(l);
}

Test(layer_base, dense_passes_masks_through)
{
    ck_layer *l;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 2}), CK_OK);
    float v[6] = {0};
    ck_tensor *x = ck_test_f32(3, (int64_t[]){1, 3, 2}, v), *out = NULL, *mask = NULL, *m = NULL;
    int32_t mv[3] = {1, 1, 0};
    cr_assert_eq(ck_tensor_from_data(&m, CK_INT32, 2, (int64_t[]){1, 3}, mv), CK_OK);
    cr_assert_eq(ck_layer_call_masked(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){m}, &out, &mask), CK_OK);
    cr_assert_not_null(mask);
    cr_expect_eq(((int32_t *)mask->data)[2], 0);
    cr_expect_eq(((int32_t *)mask->data)[0], 1);
    ck_tensor_free(mask); ck_tensor_free(out); ck_tensor_free(m); ck_tensor_free(x); ck_layer_free(l);
}

Test(layer_base, call_into_checks_the_output)
{
    ck_layer *l;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 2, .kernel_initializer = "ones"}), CK_OK);
    float v[3] = {1, 2, 3};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 3}, v), *good = NULL, *bad = NULL;
    cr_assert_eq(ck_tensor_new(&good, CK_FLOAT32, 2, (int64_t[]){1, 2}), CK_OK);
    cr_assert_eq(ck_tensor_new(&bad, CK_FLOAT32, 2, (int64_t[]){1, 3}), CK_OK);
    cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){bad}), CK_VALUE_ERROR);
    cr_assert_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){good}), CK_OK);
    cr_expect_float_eq(((float *)good->data)[1], 6.0f, 1e-6);
    ck_tensor_free(x); ck_tensor_free(good); ck_tensor_free(bad); ck_layer_free(l);
}

/* A successful ck_layer_call_into lets the next call of the same dtypes
 * and shapes skip the checks: every call that differs must still get them. */
Test(layer_base, call_into_checks_every_call_unlike_the_last)
{
    ck_layer *l;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 2, .kernel_initializer = "ones"}), CK_OK);
    float v[6] = {1, 2, 3, 4, 5, 6};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 3}, v), *x2 = ck_test_f32(2, (int64_t[]){2, 3}, v);
    ck_tensor *x4 = ck_test_f32(2, (int64_t[]){1, 4}, v), *x3d = ck_test_f32(3, (int64_t[]){1, 1, 3}, v);
    ck_tensor *xd = NULL, *good = NULL, *wide = NULL, *dbl = NULL, *two = NULL, *empty = NULL;
    cr_assert_eq(ck_tensor_cast(&xd, x, CK_FLOAT64), CK_OK);
    cr_assert_eq(ck_tensor_new(&good, CK_FLOAT32, 2, (int64_t[]){1, 2}), CK_OK);
    cr_assert_eq(ck_tensor_new(&wide, CK_FLOAT32, 2, (int64_t[]){1, 3}), CK_OK);
    cr_assert_eq(ck_tensor_new(&dbl, CK_FLOAT64, 2, (int64_t[]){1, 2}), CK_OK);
    cr_assert_eq(ck_tensor_new(&two, CK_FLOAT32, 2, (int64_t[]){2, 2}), CK_OK);
    cr_assert_eq(ck_tensor_new(&empty, CK_FLOAT32, 2, (int64_t[]){1, 2}), CK_OK);
    void *keep = empty->data;
    for (int round = 0; round < 2; round++) { /* the second round follows calls that passed */
        cr_assert_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){good}), CK_OK);
        cr_expect_float_eq(((float *)good->data)[1], 6.0f, 1e-6);
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){wide}), CK_VALUE_ERROR);
        cr_expect(strstr(ck_last_error(), "output tensor 0 is float32 (1, 3), expected float32 (1, 2)"), "%s",
                  ck_last_error());
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){dbl}), CK_VALUE_ERROR);
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x4}, (ck_tensor *[]){good}), CK_VALUE_ERROR);
        cr_expect(strstr(ck_last_error(), "expected axis -1 of input shape to have value 3"), "%s", ck_last_error());
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x3d}, (ck_tensor *[]){good}), CK_VALUE_ERROR);
        cr_expect_eq(ck_layer_call_into(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){good}), CK_VALUE_ERROR);
        empty->data = NULL;
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){empty}), CK_VALUE_ERROR);
        empty->data = keep;
        void *xdata = x->data;
        x->data = NULL;
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){good}), CK_VALUE_ERROR);
        x->data = xdata;
        /* a float64 input is cast; a batch of 2 is checked and computed */
        memset(good->data, 0, 2 * sizeof(float));
        cr_assert_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){xd}, (ck_tensor *[]){good}), CK_OK);
        cr_expect_float_eq(((float *)good->data)[0], 6.0f, 1e-6);
        cr_assert_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x2}, (ck_tensor *[]){two}), CK_OK);
        cr_expect_float_eq(((float *)two->data)[3], 15.0f, 1e-6);
        cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x2}, (ck_tensor *[]){good}), CK_VALUE_ERROR);
    }
    ck_tensor_free(x); ck_tensor_free(x2); ck_tensor_free(x4); ck_tensor_free(x3d); ck_tensor_free(xd);
    ck_tensor_free(good); ck_tensor_free(wide); ck_tensor_free(dbl); ck_tensor_free(two); ck_tensor_free(empty);
    ck_layer_free(l);
}

/* A custom layer's output shape comes from user code that may read changing
 * state: each call is checked against what it says now. */
static ck_status units_from_user(const ck_custom_ctx *ctx, int n, const ck_shape *in, ck_shape *out)
{
    (void)n;
    *out = in[0];
    out->dims[out->rank - 1] = *(const int *)ctx->user;
    return CK_OK;
}

static ck_status copy_first(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)ctx, (void)n;
    for (int64_t i = 0; i < out->size; i++) ((float *)out->data)[i] = ((const float *)in[0]->data)[0];
    return CK_OK;
}

Test(layer_base, call_into_asks_a_custom_layer_for_its_shape_each_call)
{
    static int units = 2;
    units = 2;
    ck_custom_registry_reset();
    cr_assert_eq(ck_register_layer_class(&(ck_custom_layer_class){
                     .version = CK_CUSTOM_LAYER_VERSION, .class_name = "UserUnits", .user = &units,
                     .compute_output_shape = units_from_user, .call = copy_first}),
                 CK_OK);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"UserUnits\", \"config\": {}}", &l), CK_OK);
    float v[3] = {7, 8, 9};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 3}, v), *out = NULL;
    cr_assert_eq(ck_tensor_new(&out, CK_FLOAT32, 2, (int64_t[]){1, 2}), CK_OK);
    cr_assert_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){out}), CK_OK);
    cr_expect_float_eq(((float *)out->data)[1], 7.0f, 0);
    units = 5;
    cr_expect_eq(ck_layer_call_into(l, 1, (ck_tensor *[]){x}, (ck_tensor *[]){out}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected float32 (1, 5)"), "%s", ck_last_error());
    ck_tensor_free(x); ck_tensor_free(out); ck_layer_free(l);
    ck_custom_registry_reset();
}
