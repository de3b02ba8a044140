/* Conv2D configs (tf.keras 2.x, Keras 2.0 and Keras 1) and the real
 * Keras 2.0.6 MNIST CNN config, a Conv2D/MaxPooling2D model. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

#define CONV_TAIL                                                                                              \
    "\"activation\": \"linear\", \"use_bias\": true, \"kernel_initializer\": {\"class_name\": \"GlorotUniform\", " \
    "\"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "          \
    "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "                  \
    "\"kernel_constraint\": null, \"bias_constraint\": null}}"

Test(conv2d, config_round_trips)
{
    /* tf.keras 2.x's get_config of Conv2D(4, 3) in its key order. */
    const char *tf2 = "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", \"trainable\": true, "
                      "\"dtype\": \"float32\", \"filters\": 4, \"kernel_size\": [3, 3], \"strides\": [1, 1], "
                      "\"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": [1, 1], "
                      "\"groups\": 1, " CONV_TAIL;
    ck_test_round_trip(tf2, NULL);
    ck_layer *l = NULL;
    ck_clear_session();
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 4, .kernel_size = {3}}), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, tf2);
    ck_free(text);
    ck_layer_free(l);

    /* Ints for tuples, upper-case padding, every option set. */
    ck_test_round_trip(
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"trainable\": false, \"dtype\": \"float64\", "
        "\"batch_input_shape\": [null, 8, 8, 3], \"filters\": 6, \"kernel_size\": 5, \"strides\": 2, "
        "\"padding\": \"SAME\", \"data_format\": \"channels_first\", \"dilation_rate\": 1, \"groups\": 1, "
        "\"activation\": \"relu\", \"use_bias\": false, \"kernel_initializer\": \"he_normal\", "
        "\"bias_initializer\": \"ones\", \"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}}, "
        "\"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": {\"class_name\": "
        "\"MaxNorm\", \"config\": {\"max_value\": 2, \"axis\": 0}}, \"bias_constraint\": null}}",
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"trainable\": false, \"dtype\": \"float64\", "
        "\"batch_input_shape\": [null, 8, 8, 3], \"filters\": 6, \"kernel_size\": [5, 5], \"strides\": [2, 2], "
        "\"padding\": \"same\", \"data_format\": \"channels_first\", \"dilation_rate\": [1, 1], \"groups\": 1, "
        "\"activation\": \"relu\", \"use_bias\": false, \"kernel_initializer\": {\"class_name\": \"HeNormal\", "
        "\"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
        "\"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}}, \"bias_regularizer\": null, "
        "\"activity_regularizer\": null, \"kernel_constraint\": {\"class_name\": \"MaxNorm\", \"config\": "
        "{\"max_value\": 2, \"axis\": 0}}, \"bias_constraint\": null}}");

    /* Keras 3: DTypePolicy dict, no batch_input_shape. */
    ck_test_round_trip(
        "{\"module\": \"keras.layers\", \"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", "
        "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
        "{\"name\": \"float32\"}, \"registered_name\": null}, \"filters\": 4, \"kernel_size\": [3, 3], "
        "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": "
        "[1, 1], \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true, \"kernel_initializer\": {\"module\": "
        "\"keras.initializers\", \"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}, "
        "\"registered_name\": null}, \"bias_initializer\": {\"module\": \"keras.initializers\", \"class_name\": "
        "\"Zeros\", \"config\": {}, \"registered_name\": null}, \"kernel_regularizer\": null, \"bias_regularizer\": "
        "null, \"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null}, "
        "\"registered_name\": null, \"build_config\": {\"input_shape\": [null, 6, 6, 2]}}",
        tf2);
}

/* The first layer of keras2_mnist_cnn_no_bias_tf_config.json (Keras 2.0.6:
 * no groups, VarianceScaling with scale 1). */
Test(conv2d, keras2_0_config)
{
    ck_test_round_trip(
        "{\"class_name\": \"Conv2D\", \"config\": {\"kernel_initializer\": {\"class_name\": \"VarianceScaling\", "
        "\"config\": {\"distribution\": \"uniform\", \"scale\": 1, \"seed\": null, \"mode\": \"fan_avg\"}}, "
        "\"name\": \"convolution2d_1\", \"kernel_constraint\": null, \"bias_regularizer\": null, "
        "\"bias_constraint\": null, \"dtype\": \"float32\", \"activation\": \"linear\", \"trainable\": true, "
        "\"data_format\": \"channels_last\", \"filters\": 32, \"padding\": \"valid\", \"strides\": [1, 1], "
        "\"dilation_rate\": [1, 1], \"kernel_regularizer\": null, \"bias_initializer\": {\"class_name\": "
        "\"Zeros\", \"config\": {}}, \"batch_input_shape\": [null, 28, 28, 1], \"use_bias\": false, "
        "\"activity_regularizer\": null, \"kernel_size\": [3, 3]}}",
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"convolution2d_1\", \"trainable\": true, \"dtype\": "
        "\"float32\", \"batch_input_shape\": [null, 28, 28, 1], \"filters\": 32, \"kernel_size\": [3, 3], "
        "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": [1, 1], "
        "\"groups\": 1, \"activation\": \"linear\", \"use_bias\": false, \"kernel_initializer\": {\"class_name\": "
        "\"VarianceScaling\", \"config\": {\"scale\": 1, \"mode\": \"fan_avg\", \"distribution\": \"uniform\", "
        "\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
        "\"kernel_constraint\": null, \"bias_constraint\": null}}");
}

/* Keras 1.2's Convolution2D (class name and keys), tf and th orderings. */
Test(conv2d, keras1_config)
{
    const char *k1 =
        "{\"class_name\": \"Convolution2D\", \"config\": {\"name\": \"convolution2d_1\", \"trainable\": true, "
        "\"batch_input_shape\": [null, 28, 28, 1], \"input_dtype\": \"float32\", \"nb_filter\": 32, \"nb_row\": 3, "
        "\"nb_col\": 2, \"init\": \"glorot_uniform\", \"activation\": \"relu\", \"border_mode\": \"same\", "
        "\"subsample\": [2, 1], \"dim_ordering\": \"%s\", \"W_regularizer\": null, \"b_regularizer\": null, "
        "\"activity_regularizer\": null, \"W_constraint\": null, \"b_constraint\": null, \"bias\": false}}";
    const char *want =
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"convolution2d_1\", \"trainable\": true, \"dtype\": "
        "\"float32\", \"batch_input_shape\": [null, 28, 28, 1], \"filters\": 32, \"kernel_size\": [3, 2], "
        "\"strides\": [2, 1], \"padding\": \"same\", \"data_format\": \"%s\", \"dilation_rate\": [1, 1], "
        "\"groups\": 1, \"activation\": \"relu\", \"use_bias\": false, \"kernel_initializer\": {\"class_name\": "
        "\"GlorotUniform\", \"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", "
        "\"config\": {}}, \"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
        "\"kernel_constraint\": null, \"bias_constraint\": null}}";
    const char *orders[][2] = {{"tf", "channels_last"}, {"th", "channels_first"}};
    for (int i = 0; i < 2; i++) {
        char in[2048], out[2048];
        snprintf(in, sizeof in, k1, orders[i][0]);
        snprintf(out, sizeof out, want, orders[i][1]);
        ck_test_round_trip(in, out);
    }
    ck_layer *l = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Convolution2D\", \"config\": {\"nb_filter\": 2, "
                                      "\"nb_row\": 3, \"nb_col\": 3, \"border_mode\": \"full\"}}", &l),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "full") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Convolution2D\", \"config\": {\"nb_filter\": 2, "
                                      "\"nb_row\": 3, \"nb_col\": 3, \"dim_ordering\": \"xy\"}}", &l),
                 CK_VALUE_ERROR);
}

Test(conv2d, config_errors)
{
    struct { const char *cfg; ck_status st; const char *msg; } bad[] = {
        {"{\"kernel_size\": 3}", CK_VALUE_ERROR, "`filters` is required"},
        {"{\"filters\": 2}", CK_VALUE_ERROR, "`kernel_size` is required"},
        {"{\"filters\": 2, \"kernel_size\": [3, 3, 3]}", CK_VALUE_ERROR, "tuple of 2 integers"},
        {"{\"filters\": 2, \"kernel_size\": [3, \"a\"]}", CK_VALUE_ERROR, "tuple of 2 integers"},
        {"{\"filters\": 2, \"kernel_size\": [3, 0]}", CK_VALUE_ERROR, "requirement `> 0`"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"strides\": [0, 1]}", CK_VALUE_ERROR, "cannot contains 0"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"padding\": \"causal\"}", CK_VALUE_ERROR, "Causal"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"padding\": \"bad\"}", CK_VALUE_ERROR, "Received: bad"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"padding\": [[1, 1], [1, 1]]}", CK_NOT_IMPLEMENTED, "padding"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"groups\": 3}", CK_VALUE_ERROR, "evenly divisible"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"use_bias\": 1}", CK_TYPE_ERROR, "use_bias"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"lora_rank\": 4}", CK_NOT_IMPLEMENTED, "LoRA"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"bogus\": 4}", CK_TYPE_ERROR, "bogus"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"data_format\": \"NHWC\"}", CK_VALUE_ERROR, "data_format"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"class_name\": \"Conv2D\", \"config\": %s}", bad[i].cfg);
        ck_layer *l = (ck_layer *)0x1;
        cr_expect_eq(ck_layer_from_config(text, &l), bad[i].st, "%s: %s", bad[i].cfg, ck_last_error());
        cr_expect(strstr(ck_last_error(), bad[i].msg) != NULL, "%s: %s", bad[i].cfg, ck_last_error());
        cr_expect_eq(l, (ck_layer *)0x1);
    }
    /* groups 0 is `groups or 1`; null fields keep the defaults. */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Conv2D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
                                      "\"groups\": 0, \"strides\": null, \"padding\": null, \"data_format\": null}}",
                                      &l), CK_OK, "%s", ck_last_error());
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", "
                           "\"dilation_rate\": [1, 1], \"groups\": 1") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

/* ---- the real Keras 2.0.6 MNIST CNN config ------------------------------------------ */

#define MNIST "keras/dl4j-legacy-formats/config_keras2_keras2_mnist_cnn_no_bias_tf_config.json"

/* By hand from the architecture: 28x28x1 -> Conv 3x3 valid (32, no bias):
 * 26x26x32, 3*3*1*32 = 288 -> Conv 3x3 valid: 24x24x32, 3*3*32*32 = 9216 ->
 * MaxPooling 2x2: 12x12x32 -> Flatten: 4608 -> Dense 128 (no bias):
 * 4608*128 = 589824 -> Dense 10 (no bias): 1280.  Total 600608. */
static void check_mnist(const char *path)
{
    static const struct { const char *name; int rank; int64_t dims[4]; int64_t params; } want[] = {
        {"convolution2d_1", 4, {-1, 26, 26, 32}, 288}, {"activation_1", 4, {-1, 26, 26, 32}, 0},
        {"convolution2d_2", 4, {-1, 24, 24, 32}, 9216}, {"activation_2", 4, {-1, 24, 24, 32}, 0},
        {"maxpooling2d_1", 4, {-1, 12, 12, 32}, 0},     {"dropout_1", 4, {-1, 12, 12, 32}, 0},
        {"flatten_1", 2, {-1, 4608}, 0},                 {"dense_1", 2, {-1, 128}, 589824},
        {"activation_3", 2, {-1, 128}, 0},              {"dropout_2", 2, {-1, 128}, 0},
        {"dense_2", 2, {-1, 10}, 1280},                  {"activation_4", 2, {-1, 10}, 0},
    };
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_model_get_layer(m, want[i].name, &l), CK_OK, "%s", ck_last_error());
        ck_shape s[1];
        int n = 0;
        cr_assert_eq(ck_layer_output_shape(l, s, 1, &n), CK_OK, "%s: %s", want[i].name, ck_last_error());
        cr_expect_eq(s[0].rank, want[i].rank, "%s", want[i].name);
        for (int d = 0; d < want[i].rank; d++)
            cr_expect_eq(s[0].dims[d], want[i].dims[d], "%s dim %d", want[i].name, d);
        int64_t p = -1;
        cr_assert_eq(ck_layer_count_params(l, &p), CK_OK);
        cr_expect_eq(p, want[i].params, "%s params %lld", want[i].name, (long long)p);
    }
    int64_t total = 0, trainable = 0, frozen = -1;
    cr_assert_eq(ck_model_count_params(m, &total, &trainable, &frozen), CK_OK);
    cr_expect(total == 600608 && trainable == 600608 && frozen == 0, "%lld", (long long)total);
    char *summary = NULL;
    cr_assert_eq(ck_model_summary(m, &summary), CK_OK, "%s", ck_last_error());
    cr_expect(strstr(summary, "(None, 12, 12, 32)") != NULL && strstr(summary, "Total params: 600608") != NULL,
              "%s", summary);
    ck_free(summary);
    /* A forward pass: the softmax output of a 28x28 image sums to 1. */
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 4, (int64_t[]){2, 28, 28, 1}), CK_OK);
    for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = (float)(i % 255) / 255.0f;
    cr_assert_eq(ck_model_predict(m, 1, (ck_tensor *[]){x}, &y, 0), CK_OK, "%s", ck_last_error());
    cr_assert(y->rank == 2 && y->shape[0] == 2 && y->shape[1] == 10);
    for (int b = 0; b < 2; b++) {
        double sum = 0;
        for (int j = 0; j < 10; j++) sum += ((float *)y->data)[b * 10 + j];
        cr_expect(fabs(sum - 1) < 1e-5, "row %d sums to %g", b, sum);
    }
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
}

Test(real_configs, mnist_cnn_copy)
{
    check_mnist(ck_test_data(MNIST));
}

Test(real_configs, mnist_cnn_shared)
{
    const char *path = ck_test_shared(MNIST);
    if (!path) cr_skip_test("../shared is absent");
    check_mnist(path);
}
