/* ReLU, LeakyReLU, ELU, ThresholdedReLU and Softmax layers: real Keras
 * 2.3.1 outputs (dl4j-dense-activations-io, read through each case's own
 * config), tf.keras docstring examples, numpy goldens for Softmax over
 * several axes, configs with tf.keras' float32 parameters, errors. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* The layer configs of dl4j-dense-activations-io/<case>_config.json. */
static const struct {
    const char *file, *config;
} real_cases[] = {
    {"ELU_0", "{\"class_name\": \"ELU\", \"config\": {\"name\": \"elu_1\", \"trainable\": true, \"dtype\": "
              "\"float32\", \"alpha\": 0.699999988079071}}"},
    {"LeakyReLU_0", "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"leaky_re_lu_1\", \"trainable\": true, "
                    "\"dtype\": \"float32\", \"alpha\": 0.5}}"},
    {"ReLU_0", "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu_1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"max_value\": null, \"negative_slope\": 0.0, \"threshold\": 0.0}}"},
    {"ReLU_1", "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu_1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"max_value\": 6.0, \"negative_slope\": 0.0, \"threshold\": 0.0}}"},
    {"ReLU_2", "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu_1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"max_value\": 1.399999976158142, \"negative_slope\": 0.20000000298023224, "
               "\"threshold\": 0.20000000298023224}}"},
    {"ReLU_3", "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu_1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"max_value\": null, \"negative_slope\": 0.5, \"threshold\": 0.0}}"},
    {"Softmax_0", "{\"class_name\": \"Softmax\", \"config\": {\"name\": \"softmax_1\", \"trainable\": true, "
                  "\"dtype\": \"float32\", \"axis\": -1}}"},
    {"ThresholdReLU_0", "{\"class_name\": \"ThresholdedReLU\", \"config\": {\"name\": \"thresholded_re_lu_1\", "
                        "\"trainable\": true, \"dtype\": \"float32\", \"theta\": 0.699999988079071}}"},
};

Test(activation_layers, real_keras_outputs_and_configs)
{
    for (size_t i = 0; i < sizeof real_cases / sizeof real_cases[0]; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(real_cases[i].config, &l), CK_OK, "%s: %s", real_cases[i].file,
                     ck_last_error());
        char name[64];
        snprintf(name, sizeof name, "keras_%s_in", real_cases[i].file);
        ck_tensor *x = ck_test_npy(name);
        snprintf(name, sizeof name, "keras_%s_out", real_cases[i].file);
        ck_tensor *want = ck_test_npy(name), *y = ck_test_call1(l, x);
        double d = ck_test_max_abs_diff(y, want);
        cr_expect_leq(d, 1e-6, "%s: max abs diff %g", real_cases[i].file, d);
        ck_tensor_free(x); ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
        /* tf.keras writes these configs back unchanged. */
        ck_test_round_trip(real_cases[i].config, NULL);
    }
}

/* The examples of the tf.keras ReLU docstring. */
Test(activation_layers, relu_docstring_examples)
{
    float a[] = {-3, -1, 0, 2}, b[] = {-3, -1, 1, 2};
    struct { ck_relu_layer_opts o; const float *x; float want[4]; } cases[] = {
        {{.negative_slope = 0}, a, {0, 0, 0, 2}},
        {{.max_value = {true, 1}}, a, {0, 0, 0, 1}},
        {{.negative_slope = 1}, a, {-3, -1, 0, 2}},
        {{.threshold = 1.5}, b, {0, 0, 0, 2}}};
    for (int i = 0; i < 4; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_relu_layer(&l, &cases[i].o), CK_OK, "%s", ck_last_error());
        ck_tensor *x = ck_test_f32(1, (int64_t[]){4}, cases[i].x), *y = ck_test_call1(l, x);
        for (int k = 0; k < 4; k++) cr_expect_float_eq(((float *)y->data)[k], cases[i].want[k], 0, "case %d[%d]", i, k);
        ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
    }
}

Test(activation_layers, default_configs_have_float32_parameters)
{
    ck_clear_session();
    struct { ck_layer *l; const char *want; } cases[5];
    cr_assert_eq(ck_relu_layer(&cases[0].l, NULL), CK_OK);
    cases[0].want = "{\"class_name\": \"ReLU\", \"config\": {\"name\": \"re_lu\", \"trainable\": true, \"dtype\": "
                    "\"float32\", \"max_value\": null, \"negative_slope\": 0.0, \"threshold\": 0.0}}";
    cr_assert_eq(ck_leaky_relu(&cases[1].l, NULL), CK_OK);
    cases[1].want = "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"leaky_re_lu\", \"trainable\": true, "
                    "\"dtype\": \"float32\", \"alpha\": 0.30000001192092896}}";
    cr_assert_eq(ck_elu_layer(&cases[2].l, NULL), CK_OK);
    cases[2].want = "{\"class_name\": \"ELU\", \"config\": {\"name\": \"elu\", \"trainable\": true, \"dtype\": "
                    "\"float32\", \"alpha\": 1.0}}";
    cr_assert_eq(ck_thresholded_relu(&cases[3].l, NULL), CK_OK);
    cases[3].want = "{\"class_name\": \"ThresholdedReLU\", \"config\": {\"name\": \"thresholded_re_lu\", \"trainable\": "
                    "true, \"dtype\": \"float32\", \"theta\": 1.0}}";
    cr_assert_eq(ck_softmax_layer(&cases[4].l, NULL), CK_OK);
    cases[4].want = "{\"class_name\": \"Softmax\", \"config\": {\"name\": \"softmax\", \"trainable\": true, \"dtype\": "
                    "\"float32\", \"axis\": -1}}";
    for (int i = 0; i < 5; i++) {
        char *text = ck_test_config_of(cases[i].l);
        cr_expect_str_eq(text, cases[i].want);
        ck_test_round_trip(text, NULL);
        ck_free(text);
        ck_layer_free(cases[i].l);
    }
    ck_layer *l = NULL;
    cr_assert_eq(ck_relu_layer(&l, &(ck_relu_layer_opts){.max_value = ck_double(6), .negative_slope = 0.1}),
                 CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"max_value\": 6.0, \"negative_slope\": 0.10000000149011612, \"threshold\": 0.0}") != NULL,
              "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

Test(activation_layers, keras3_and_keras1_dialects)
{
    /* Keras 3 names LeakyReLU's slope negative_slope. */
    ck_test_round_trip("{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"l\", \"trainable\": true, \"dtype\": {"
               "\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, "
               "\"registered_name\": null}, \"negative_slope\": 0.2}}",
               "{\"class_name\": \"LeakyReLU\", \"config\": {\"name\": \"l\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"alpha\": 0.20000000298023224}}");
    /* Keras 1: no dtype. */
    ck_test_round_trip("{\"class_name\": \"ELU\", \"config\": {\"alpha\": 1.0, \"trainable\": true, \"name\": \"elu_1\"}}",
               "{\"class_name\": \"ELU\", \"config\": {\"name\": \"elu_1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"alpha\": 1.0}}");
    ck_test_round_trip("{\"class_name\": \"Softmax\", \"config\": {\"name\": \"s\", \"trainable\": true, \"dtype\": "
               "\"float64\", \"axis\": [1, 2]}}", NULL);
}

Test(activation_layers, errors)
{
    ck_layer *l = NULL, *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_relu_layer(&bad, &(ck_relu_layer_opts){.max_value = ck_double(-1)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "max_value of a ReLU layer cannot be a negative value. Received: -1.0") != NULL,
              "%s", ck_last_error());
    cr_expect_eq(ck_relu_layer(&bad, &(ck_relu_layer_opts){.negative_slope = -0.5}), CK_VALUE_ERROR);
    cr_expect_eq(ck_relu_layer(&bad, &(ck_relu_layer_opts){.threshold = -0.5}), CK_VALUE_ERROR);
    cr_expect_eq(ck_thresholded_relu(&bad, &(ck_thresholded_relu_opts){.theta = ck_double(-1)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "should be >=0") != NULL, "%s", ck_last_error());
    cr_expect_eq(bad, (ck_layer *)0x1);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"ReLU\", \"config\": {\"negative_slope\": null}}", &l),
                 CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"ELU\", \"config\": {\"alpha\": null}}", &l), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Alpha of an ELU layer cannot be None") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"LeakyReLU\", \"config\": {\"alpha\": null}}", &l),
                 CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"ThresholdedReLU\", \"config\": {\"theta\": \"x\"}}", &l),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"ReLU\", \"config\": {\"alpha\": 0.1}}", &l), CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Softmax\", \"config\": {\"axis\": []}}", &l), CK_VALUE_ERROR);
    /* Integer inputs are refused (not autocast); masks pass through. */
    cr_assert_eq(ck_elu_layer(&l, NULL), CK_OK);
    ck_tensor *i = ck_test_i64(2, (int64_t[]){1, 2}, (int64_t[]){1, -1}), *y = NULL, *m = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){i}, &y), CK_TYPE_ERROR);
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 1, (int64_t[]){1}), CK_OK);
    cr_assert_eq(ck_layer_compute_mask(l, 1, (ck_tensor *[]){i}, (ck_tensor *[]){m}, &y), CK_OK);
    cr_expect_not_null(y);
    ck_tensor_free(y); ck_tensor_free(m); ck_tensor_free(i); ck_layer_free(l);
}

/* ---- Softmax ------------------------------------------------------------------- */

Test(softmax_layer, axes_and_ranks)
{
    ck_tensor *x = ck_test_npy("softmax_x");
    struct { ck_softmax_layer_opts o; const char *golden; } cases[] = {
        {{.naxes = 1, .axes = {1}}, "softmax_axis1_out"}, {{.naxes = 2, .axes = {1, 2}}, "softmax_axes12_out"},
        {{.naxes = 2, .axes = {-2, -1}}, "softmax_axes12_out"}};
    for (int i = 0; i < 3; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_softmax_layer(&l, &cases[i].o), CK_OK);
        ck_tensor *y = ck_test_call1(l, x), *want = ck_test_npy(cases[i].golden);
        cr_expect_leq(ck_test_max_abs_diff(y, want), 1e-7, "%s", cases[i].golden);
        ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    }
    ck_tensor_free(x);
    /* The layer (backend.softmax) accepts a 1-D input, unlike the activation. */
    ck_layer *l = NULL;
    cr_assert_eq(ck_softmax_layer(&l, NULL), CK_OK);
    x = ck_test_npy("softmax_1d_x");
    ck_tensor *y = ck_test_call1(l, x), *want = ck_test_npy("softmax_1d_out");
    cr_expect_leq(ck_test_max_abs_diff(y, want), 1e-7);
    ck_tensor_free(x); ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    /* Large logits do not overflow; an axis out of range is an error. */
    cr_assert_eq(ck_softmax_layer(&l, &(ck_softmax_layer_opts){.naxes = 1, .axes = {1}}), CK_OK);
    double big[] = {1000, 1000, -1000, 0};
    x = ck_test_f64(2, (int64_t[]){2, 2}, big);
    y = ck_test_call1(l, x);
    cr_expect_float_eq(((float *)y->data)[0], 0.5f, 1e-7);
    cr_expect_float_eq(((float *)y->data)[2], 0.0f, 1e-7);
    ck_tensor_free(y);
    ck_tensor *v = ck_test_f32(1, (int64_t[]){3}, (float[]){1, 2, 3});
    y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){v}, &y), CK_VALUE_ERROR);
    cr_expect_null(y);
    ck_tensor_free(v); ck_tensor_free(x); ck_layer_free(l);
}
