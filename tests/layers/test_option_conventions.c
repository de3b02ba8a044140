/* The option conventions of ckeras.h, layer by layer: a zero struct is every
 * Keras default, a boolean written true / false does what its name says,
 * and every value Keras allows (0 included) can be given through
 * ck_opt_int / ck_opt_double.  Each case checks the built layer and the
 * config tf.keras would write for the same keyword arguments. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* The "config" object of a layer's get_config (json_decref the result's
 * root through *root). */
static json_t *config_of(const ck_layer *l, json_t **root)
{
    char *text = ck_test_config_of(l);
    json_error_t err;
    *root = json_loads(text, 0, &err);
    ck_free(text);
    cr_assert(*root, "bad config JSON: %s", err.text);
    json_t *c = json_object_get(*root, "config");
    cr_assert(json_is_object(c));
    return c;
}

static void expect_bool(const json_t *c, const char *key, int want)
{
    const json_t *v = json_object_get(c, key);
    cr_expect(json_is_boolean(v) && json_is_true(v) == (want != 0), "\"%s\" should be %s", key,
              want ? "true" : "false");
}

static void expect_number(const json_t *c, const char *key, double want)
{
    const json_t *v = json_object_get(c, key);
    cr_expect(json_is_number(v) && json_number_value(v) == want, "\"%s\" should be %g, got %g", key, want,
              json_is_number(v) ? json_number_value(v) : -999.0);
}

Test(option_conventions, dense_no_bias_frozen)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 4, .no_bias = true, .frozen = true}), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3)), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_layer_trainable(l), 0);
    cr_expect_eq(ck_layer_weight_count(l), 1, "no bias weight");
    cr_expect_eq(ck_layer_trainable_weight_count(l), 0);
    cr_expect_eq(ck_layer_non_trainable_weight_count(l), 1);
    json_t *root, *c = config_of(l, &root);
    expect_bool(c, "use_bias", 0);
    expect_bool(c, "trainable", 0);
    json_decref(root);
    ck_layer_free(l);

    /* false is the default: trainable, with a bias */
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 4, .no_bias = false, .frozen = false}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3)), CK_OK);
    cr_expect_eq(ck_layer_trainable(l), 1);
    cr_expect_eq(ck_layer_trainable_weight_count(l), 2);
    c = config_of(l, &root);
    expect_bool(c, "use_bias", 1);
    expect_bool(c, "trainable", 1);
    json_decref(root);
    ck_layer_free(l);
}

Test(option_conventions, conv2d_no_bias)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {3}, .no_bias = true}), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 5, 5, 1)), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_layer_weight_count(l), 1);
    json_t *root, *c = config_of(l, &root);
    expect_bool(c, "use_bias", 0);
    expect_bool(c, "trainable", 1);
    json_decref(root);
    ck_layer_free(l);
}

Test(option_conventions, batch_normalization_zero_epsilon_momentum)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_batch_normalization(&l, &(ck_batch_normalization_opts){.epsilon = ck_double(0)}), CK_OK, "%s",
                 ck_last_error());
    json_t *root, *c = config_of(l, &root);
    expect_number(c, "epsilon", 0.0);
    expect_number(c, "momentum", 0.99);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_batch_normalization(&l, &(ck_batch_normalization_opts){.momentum = ck_double(0)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "momentum", 0.0);
    expect_number(c, "epsilon", 0.001);
    json_decref(root);
    ck_layer_free(l);

    /* epsilon 0 really normalises with 0: (x - 0) / sqrt(1 + 0) = x */
    cr_assert_eq(ck_batch_normalization(&l, &(ck_batch_normalization_opts){.epsilon = ck_double(0)}), CK_OK);
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 2}, (float[]){0.5f, -3.0f}), *y = ck_test_call1(l, x);
    cr_expect_eq(((float *)y->data)[0], 0.5f);
    cr_expect_eq(((float *)y->data)[1], -3.0f);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_layer_free(l);
}

Test(option_conventions, batch_normalization_no_center_no_scale)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_batch_normalization(&l, &(ck_batch_normalization_opts){.no_center = true, .no_scale = true}),
                 CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3)), CK_OK);
    cr_expect_eq(ck_layer_weight_count(l), 2, "only moving_mean and moving_variance");
    json_t *root, *c = config_of(l, &root);
    expect_bool(c, "center", 0);
    expect_bool(c, "scale", 0);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_batch_normalization(&l, NULL), CK_OK);
    c = config_of(l, &root);
    expect_bool(c, "center", 1);
    expect_bool(c, "scale", 1);
    expect_number(c, "epsilon", 0.001);
    json_decref(root);
    ck_layer_free(l);
}

Test(option_conventions, zero_values_that_are_not_defaults)
{
    ck_layer *l = NULL;
    json_t *root, *c;

    cr_assert_eq(ck_dropout(&l, &(ck_dropout_opts){.rate = 0.5, .seed = ck_int(0)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "seed", 0);
    json_decref(root);
    ck_layer_free(l);
    cr_assert_eq(ck_dropout(&l, &(ck_dropout_opts){.rate = 0.5}), CK_OK);
    c = config_of(l, &root);
    cr_expect(json_is_null(json_object_get(c, "seed")));
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_concatenate(&l, &(ck_concatenate_opts){.axis = ck_int(0)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "axis", 0);
    json_decref(root);
    ck_layer_free(l);
    cr_assert_eq(ck_concatenate(&l, NULL), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "axis", -1);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_thresholded_relu(&l, &(ck_thresholded_relu_opts){.theta = ck_double(0)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "theta", 0.0);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_leaky_relu(&l, &(ck_leaky_relu_opts){.alpha = ck_double(0)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "alpha", 0.0);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_elu_layer(&l, &(ck_elu_layer_opts){.alpha = ck_double(0.5)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "alpha", 0.5);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_relu_layer(&l, &(ck_relu_layer_opts){.max_value = ck_double(0)}), CK_OK);
    c = config_of(l, &root);
    expect_number(c, "max_value", 0.0);
    json_decref(root);
    ck_layer_free(l);
    cr_assert_eq(ck_relu_layer(&l, NULL), CK_OK);
    c = config_of(l, &root);
    cr_expect(json_is_null(json_object_get(c, "max_value")));
    json_decref(root);
    ck_layer_free(l);
}

Test(option_conventions, plain_booleans)
{
    ck_layer *l = NULL;
    json_t *root, *c;

    cr_assert_eq(ck_embedding(&l, &(ck_embedding_opts){.input_dim = 5, .output_dim = 2, .mask_zero = true}), CK_OK);
    c = config_of(l, &root);
    expect_bool(c, "mask_zero", 1);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = ck_axes_pair(1, 1), .normalize = true}), CK_OK);
    c = config_of(l, &root);
    expect_bool(c, "normalize", 1);
    const json_t *axes = json_object_get(c, "axes");
    cr_expect(json_is_array(axes) && json_array_size(axes) == 2 && json_integer_value(json_array_get(axes, 1)) == 1);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = ck_axes_one(-1)}), CK_OK);
    c = config_of(l, &root);
    expect_bool(c, "normalize", 0);
    expect_number(c, "axes", -1);
    json_decref(root);
    ck_layer_free(l);

    cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.axis_none = true, .invert = true}), CK_OK);
    c = config_of(l, &root);
    expect_bool(c, "invert", 1);
    const json_t *axis = json_object_get(c, "axis"); /* Keras keeps axis=None as the empty tuple */
    cr_expect(json_is_array(axis) && json_array_size(axis) == 0);
    json_decref(root);
    ck_layer_free(l);
}

Test(option_conventions, add_weight_non_trainable)
{
    ck_layer *l = NULL;
    ck_weight *w = NULL, *v = NULL;
    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = ck_axes_one(1)}), CK_OK);
    cr_assert_eq(ck_layer_add_weight(l, &(ck_weight_opts){.name = "w", .non_trainable = true}, &w), CK_OK);
    cr_assert_eq(ck_layer_add_weight(l, &(ck_weight_opts){.name = "v"}, &v), CK_OK);
    cr_expect_eq(ck_weight_trainable(w), 0);
    cr_expect_eq(ck_weight_trainable(v), 1);
    cr_expect_eq(ck_layer_trainable_weight_count(l), 1);
    cr_expect_eq(ck_layer_non_trainable_weight_count(l), 1);
    ck_layer_free(l);
}

Test(option_conventions, activation_opts)
{
    ck_activation *a = NULL;
    ck_activation_opts got;
    cr_assert_eq(ck_activation_new(&a, "relu", &(ck_activation_opts){.max_value = ck_double(0)}), CK_OK);
    ck_activation_get_opts(a, &got);
    cr_expect(got.max_value.set && got.max_value.value == 0);
    cr_expect(!got.alpha.set);
    ck_activation_free(a);
    cr_assert_eq(ck_activation_new(&a, "gelu", &(ck_activation_opts){.approximate = true}), CK_OK);
    ck_activation_get_opts(a, &got);
    cr_expect(got.approximate);
    ck_activation_free(a);
    cr_assert_eq(ck_activation_new(&a, "leaky_relu", NULL), CK_OK);
    ck_activation_get_opts(a, &got);
    cr_expect(got.alpha.set && got.alpha.value == 0.2);
    ck_activation_free(a);
}

/* Arrays of tensors a function only reads are `ck_tensor *const *`: a
 * plain `ck_tensor *in[]` passes without a cast (this file is built with
 * -Werror, so a warning here fails the build). */
Test(option_conventions, tensor_arrays_pass_without_casts)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 1, .no_bias = true, .kernel_initializer = "ones"}), CK_OK);
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 2}, (float[]){1, 2});
    ck_tensor *in[] = {x};
    ck_tensor *out = NULL;
    cr_assert_eq(ck_layer_call(l, 1, in, &out), CK_OK, "%s", ck_last_error());
    cr_expect_eq(((float *)out->data)[0], 3.0f);
    ck_tensor *k = ck_test_f32(2, (int64_t[]){2, 1}, (float[]){2, 2});
    ck_tensor *ws[] = {k};
    cr_assert_eq(ck_layer_set_weights(l, 1, ws), CK_OK, "%s", ck_last_error());
    ck_tensor *outs[] = {out};
    cr_assert_eq(ck_layer_call_into(l, 1, in, outs), CK_OK, "%s", ck_last_error());
    cr_expect_eq(((float *)out->data)[0], 6.0f);
    ck_tensor_free(k);
    ck_tensor_free(out);
    ck_tensor_free(x);
    ck_layer_free(l);
}
