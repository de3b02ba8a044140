/* Conv1D, grouped Conv2D, Conv3D, Conv1D/2D/3DTranspose, DepthwiseConv1D /
 * 2D and SeparableConv1D / 2D (the N-d convolution engine):
 * - TF 2.15.1 goldens (tools/gen_conv_nd_goldens.py): outputs, input
 *   gradients and weight gradients of every case in
 *   tests/data/layers/conv_nd/cases.json, whose tf.keras get_config text
 *   each layer must write back;
 * - the Keras 3 config of each case loads and computes the same output;
 * - the float64 gradient check of every case;
 * - a tf.keras model file (.h5 and .keras) holding every class, predicted;
 * - the option-struct constructors and Keras' argument errors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "model/model.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name, const char *key)
{
    char rel[256];
    snprintf(rel, sizeof rel, "layers/conv_nd/%s_%s.npy", name, key);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static json_t *cases(void) { return ck_test_load_json(ck_test_data("layers/conv_nd/cases.json")); }

static ck_layer *from_text(const char *text)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    return l;
}

/* Builds the layer on the case's input and sets the case's weights (cast to
 * the layer dtype). */
static void load_weights(ck_layer *l, const char *name, int nw, ck_dtype dt, const ck_tensor *x)
{
    ck_shape is = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s: %s", name, ck_last_error());
    ck_tensor *w[4] = {NULL};
    for (int j = 0; j < nw; j++) {
        char key[16];
        snprintf(key, sizeof key, "w%d", j);
        ck_tensor *w32 = fixture(name, key);
        cr_assert_eq(ck_tensor_cast(&w[j], w32, dt), CK_OK);
        ck_tensor_free(w32);
    }
    cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s: %s", name, ck_last_error());
    for (int j = 0; j < nw; j++) ck_tensor_free(w[j]);
}

/* ---- against TF ------------------------------------------------------------------ */

Test(conv_nd, tf_goldens)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *config = json_string_value(json_object_get(c, "config"));
        int nw = (int)json_integer_value(json_object_get(c, "weights"));
        ck_layer *l = from_text(config);
        ck_tensor *x = fixture(name, "x"), *dy = fixture(name, "dy"), *y = fixture(name, "y");
        ck_tensor *dx = fixture(name, "dx");
        load_weights(l, name, nw, CK_FLOAT32, x);
        /* The built layer writes tf.keras' get_config text. */
        char *text = ck_test_config_of(l);
        cr_expect_str_eq(text, config, "%s", name);
        ck_free(text);
        /* Inference. */
        ck_tensor *got = ck_test_call1(l, x);
        char what[64];
        snprintf(what, sizeof what, "%s y", name);
        ck_test_expect_close_rel(got, y, 1e-5, what);
        ck_tensor_free(got);
        /* Training step: output, input gradient, weight gradients. */
        ck_test_step s;
        ck_test_train_step(l, x, dy, 1, 1, &s);
        ck_test_expect_close_rel(s.y, y, 1e-5, what);
        snprintf(what, sizeof what, "%s dx", name);
        ck_test_expect_close_rel(s.dx, dx, 1e-5, what);
        cr_expect_eq(s.n_grads, nw, "%s", name);
        for (int j = 0; j < nw && j < s.n_grads; j++) {
            char key[16];
            snprintf(key, sizeof key, "dw%d", j);
            ck_tensor *dw = fixture(name, key);
            snprintf(what, sizeof what, "%s dw%d", name, j);
            ck_test_expect_close_rel(s.grads[j], dw, 1e-5, what);
            ck_tensor_free(dw);
        }
        ck_test_step_free(&s);
        ck_tensor_free(x);
        ck_tensor_free(dy);
        ck_tensor_free(y);
        ck_tensor_free(dx);
        ck_layer_free(l);
    }
    cr_expect_geq(json_array_size(all), 37);
    json_decref(all);
}

/* Keras 3's config of each case (DTypePolicy, initializers with module
 * keys) gives a layer that computes the same output. */
Test(conv_nd, keras3_configs)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    int seen = 0;
    json_array_foreach(all, i, c) {
        const json_t *k3 = json_object_get(c, "k3_config");
        if (!json_is_string(k3)) continue;
        const char *name = json_string_value(json_object_get(c, "name"));
        int nw = (int)json_integer_value(json_object_get(c, "weights"));
        ck_layer *l = from_text(json_string_value(k3));
        ck_tensor *x = fixture(name, "x"), *y = fixture(name, "y");
        load_weights(l, name, nw, CK_FLOAT32, x);
        /* It writes the tf.keras form of the same layer. */
        char *text = ck_test_config_of(l);
        json_t *got = json_loads(text, 0, NULL), *want = json_loads(json_string_value(json_object_get(c, "config")), 0,
                                                                     NULL);
        cr_assert(got && want);
        cr_expect(json_equal(json_object_get(got, "config"), json_object_get(want, "config")), "%s: %s", name,
                  text);
        json_decref(got);
        json_decref(want);
        ck_free(text);
        ck_tensor *out = ck_test_call1(l, x);
        char what[64];
        snprintf(what, sizeof what, "%s (Keras 3 config) y", name);
        ck_test_expect_close_rel(out, y, 1e-5, what);
        ck_tensor_free(out);
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_layer_free(l);
        seen++;
    }
    cr_expect_geq(seen, 30);
    json_decref(all);
}

/* Every case again in float64 through central differences (both modes). */
Test(conv_nd, gradcheck_every_case)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *cfg = json_loads(json_string_value(json_object_get(c, "config")), 0, NULL);
        cr_assert(cfg);
        json_object_set_new(json_object_get(cfg, "config"), "dtype", json_string("float64"));
        char *text = json_dumps(cfg, 0);
        ck_layer *l = from_text(text);
        ck_tensor *x32 = fixture(name, "x");
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, x32->rank, x32->shape, -1, 1, 1000 + i);
        load_weights(l, name, (int)json_integer_value(json_object_get(c, "weights")), CK_FLOAT64, x);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", name);
        ck_tensor_free(x);
        ck_tensor_free(x32);
        ck_layer_free(l);
        free(text);
        json_decref(cfg);
    }
    json_decref(all);
}

/* ---- a tf.keras model file with every class ----------------------------------------- */

Test(conv_nd, saved_model_files_predict_like_tf)
{
    ck_tensor *x[2] = {ck_test_npy("conv_nd/conv_model_x1"), ck_test_npy("conv_nd/conv_model_x2")};
    ck_tensor *want = ck_test_npy("conv_nd/conv_model_y");
    const char *files[2] = {"layers/conv_nd/conv_model.h5", "layers/conv_nd/conv_model.keras"};
    for (int i = 0; i < 2; i++) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(ck_test_data(files[i]), &m), CK_OK, "%s: %s", files[i], ck_last_error());
        ck_tensor *y = NULL;
        cr_assert_eq(ck_model_predict(m, 2, x, &y, 0), CK_OK, "%s: %s", files[i], ck_last_error());
        double err = ck_test_max_abs_diff(y, want);
        cr_expect_leq(err, 1e-5, "%s: max abs error %g", files[i], err);
        ck_tensor_free(y);
        ck_model_free(m);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_tensor_free(want);
}

/* ---- constructors and errors ---------------------------------------------------------- */

#define BASE(name) "\"name\": \"" name "\", \"trainable\": true, \"dtype\": \"float32\""
#define INITS                                                                                                 \
    "\"kernel_initializer\": {\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}}, "              \
    "\"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"kernel_regularizer\": null, "       \
    "\"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": null, "               \
    "\"bias_constraint\": null"

static void expect_config(ck_layer *l, const char *want)
{
    char *got = ck_test_config_of(l);
    cr_expect_str_eq(got, want);
    ck_free(got);
    ck_layer_free(l);
}

Test(conv_nd, option_constructors_write_keras_defaults)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv1d(&l, &(ck_conv_opts){.filters = 4, .kernel_size = {3}, .padding = "causal",
                                                 .name = "c"}), CK_OK, "%s", ck_last_error());
    expect_config(l, "{\"class_name\": \"Conv1D\", \"config\": {" BASE("c") ", \"filters\": 4, \"kernel_size\": "
                     "[3], \"strides\": [1], \"padding\": \"causal\", \"data_format\": \"channels_last\", "
                     "\"dilation_rate\": [1], \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true, " INITS
                     "}}");
    cr_assert_eq(ck_conv2d_transpose(&l, &(ck_conv_opts){.filters = 2, .kernel_size = {3, 2}, .strides = {2},
                                                          .output_padding = {ck_int(1)}, .name = "t"}),
                 CK_OK, "%s", ck_last_error());
    expect_config(l, "{\"class_name\": \"Conv2DTranspose\", \"config\": {" BASE("t") ", \"filters\": 2, "
                     "\"kernel_size\": [3, 2], \"strides\": [2, 2], \"padding\": \"valid\", \"data_format\": "
                     "\"channels_last\", \"dilation_rate\": [1, 1], \"groups\": 1, \"activation\": \"linear\", "
                     "\"use_bias\": true, " INITS ", \"output_padding\": [1, 1]}}");
    cr_assert_eq(ck_depthwise_conv2d(&l, &(ck_depthwise_conv_opts){.kernel_size = {3}, .name = "d"}), CK_OK);
    expect_config(l, "{\"class_name\": \"DepthwiseConv2D\", \"config\": {" BASE("d") ", \"kernel_size\": [3, 3], "
                     "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", "
                     "\"dilation_rate\": [1, 1], \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true, "
                     "\"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"bias_regularizer\": null, "
                     "\"activity_regularizer\": null, \"bias_constraint\": null, \"depth_multiplier\": 1, "
                     "\"depthwise_initializer\": {\"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}}, "
                     "\"depthwise_regularizer\": null, \"depthwise_constraint\": null}}");
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 4, .kernel_size = {3}, .groups = 2, .name = "g"}),
                 CK_OK, "%s", ck_last_error());
    expect_config(l, "{\"class_name\": \"Conv2D\", \"config\": {" BASE("g") ", \"filters\": 4, \"kernel_size\": "
                     "[3, 3], \"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", "
                     "\"dilation_rate\": [1, 1], \"groups\": 2, \"activation\": \"linear\", \"use_bias\": true, "
                     INITS "}}");
    /* Weight names and shapes. */
    cr_assert_eq(ck_separable_conv1d(&l, &(ck_separable_conv_opts){.filters = 5, .kernel_size = {3},
                                                                    .depth_multiplier = 2, .name = "s"}), CK_OK);
    ck_shape in = {3, {-1, 7, 4}};
    cr_assert_eq(ck_layer_build(l, 1, &in), CK_OK, "%s", ck_last_error());
    const char *names[3] = {"s/depthwise_kernel:0", "s/pointwise_kernel:0", "s/bias:0"};
    const int64_t shapes[3][3] = {{3, 4, 2}, {1, 8, 5}, {5, 0, 0}};
    cr_assert_eq(ck_layer_weight_count(l), 3);
    for (int i = 0; i < 3; i++) {
        const ck_tensor *w = ck_weight_value(ck_layer_weight(l, i));
        cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, i)), names[i]);
        for (int d = 0; d < w->rank; d++) cr_expect_eq(w->shape[d], shapes[i][d], "%s dim %d", names[i], d);
    }
    ck_layer_free(l);
}

static void expect_error(ck_status st, ck_status want, const char *text)
{
    cr_expect_eq(st, want, "%s", ck_last_error());
    cr_expect(strstr(ck_last_error(), text) != NULL, "\"%s\" lacks \"%s\"", ck_last_error(), text);
}

Test(conv_nd, keras_argument_errors)
{
    ck_layer *l = NULL;
    expect_error(ck_conv2d_transpose(&l, &(ck_conv_opts){.filters = 2, .kernel_size = {3}, .padding = "causal"}),
                 CK_VALUE_ERROR, "Causal padding is only supported for `Conv1D`and `SeparableConv1D`.");
    expect_error(ck_conv1d_transpose(&l, &(ck_conv_opts){.filters = 2, .kernel_size = {3}, .strides = {2},
                                                          .output_padding = {ck_int(2)}}),
                 CK_VALUE_ERROR, "Strides must be greater than output padding. Received strides=(2,), "
                                 "output_padding=(2,).");
    expect_error(ck_conv1d(&l, &(ck_conv_opts){.filters = 3, .kernel_size = {3}, .groups = 2}), CK_VALUE_ERROR,
                 "The number of filters must be evenly divisible by the number of groups. Received: groups=2, "
                 "filters=3");
    expect_error(ck_conv3d(&l, &(ck_conv_opts){.kernel_size = {3}}), CK_VALUE_ERROR,
                 "Invalid value for argument `filters`. Expected a strictly positive value. Received filters=0.");
    expect_error(ck_conv1d(&l, &(ck_conv_opts){.filters = 1, .kernel_size = {3}, .strides = {2},
                                                .dilation_rate = {2}}),
                 CK_VALUE_ERROR, "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                                 "strides=(2,) and dilation_rate=(2,)");
    cr_expect_null(l);
    /* Build-time checks. */
    cr_assert_eq(ck_conv1d(&l, &(ck_conv_opts){.filters = 4, .kernel_size = {2}, .groups = 2, .name = "g"}), CK_OK);
    ck_shape in = {3, {2, 5, 3}};
    expect_error(ck_layer_build(l, 1, &in), CK_VALUE_ERROR, "The number of input channels must be evenly divisible "
                 "by the number of groups. Received groups=2, but the input has 3 channels");
    ck_layer_free(l);
    cr_assert_eq(ck_depthwise_conv2d(&l, &(ck_depthwise_conv_opts){.kernel_size = {2}, .name = "d"}), CK_OK);
    ck_shape r5 = {5, {1, 2, 3, 4, 5}};
    expect_error(ck_layer_build(l, 1, &r5), CK_VALUE_ERROR, "expected ndim=4, found ndim=5");
    ck_layer_free(l);
    cr_assert_eq(ck_conv1d(&l, &(ck_conv_opts){.filters = 1, .kernel_size = {5}, .name = "k"}), CK_OK);
    ck_shape small = {3, {1, 3, 2}};
    expect_error(ck_layer_build(l, 1, &small), CK_VALUE_ERROR, "One of the dimensions in the output is <= 0");
    ck_layer_free(l);
}

/* ---- Keras 1 ------------------------------------------------------------------------ */

/* Keras 1 files: "th" Convolution2D kernels trained on Theano are
 * transposed from (filters, stack, rows, cols) and flipped; Convolution1D's
 * (k, 1, in, filters) lose their unit axis. */
Test(conv_nd, keras1_files_predict_like_tf)
{
    const char *names[2] = {"keras1_th", "keras1_conv1d"};
    for (int i = 0; i < 2; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "conv_nd/%s_x", names[i]);
        ck_tensor *x = ck_test_npy(rel);
        snprintf(rel, sizeof rel, "conv_nd/%s_y", names[i]);
        ck_tensor *want = ck_test_npy(rel);
        snprintf(rel, sizeof rel, "layers/conv_nd/%s.h5", names[i]);
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(ck_test_data(rel), &m), CK_OK, "%s: %s", rel, ck_last_error());
        ck_tensor *y = NULL;
        cr_assert_eq(ck_model_predict(m, 1, &x, &y, 0), CK_OK, "%s: %s", rel, ck_last_error());
        double err = ck_test_max_abs_diff(y, want);
        cr_expect_leq(err, 1e-5, "%s: max abs error %g", rel, err);
        ck_tensor_free(y);
        ck_model_free(m);
        ck_tensor_free(x);
        ck_tensor_free(want);
    }
}

static void expect_text(const char *text, const char *want)
{
    ck_layer *l = from_text(text);
    expect_config(l, want);
}

Test(conv_nd, keras1_configs)
{
    expect_text("{\"class_name\": \"Convolution1D\", \"config\": {\"name\": \"c\", \"trainable\": true, "
                "\"nb_filter\": 4, \"filter_length\": 3, \"init\": \"he_normal\", \"activation\": \"relu\", "
                "\"border_mode\": \"same\", \"subsample_length\": 2, \"W_regularizer\": null, \"b_regularizer\": "
                "null, \"activity_regularizer\": null, \"W_constraint\": null, \"b_constraint\": null, \"bias\": "
                "false, \"input_dim\": 3, \"input_length\": 10}}",
                "{\"class_name\": \"Conv1D\", \"config\": {" BASE("c") ", \"batch_input_shape\": [null, 10, 3], "
                "\"filters\": 4, \"kernel_size\": [3], \"strides\": [2], \"padding\": \"same\", \"data_format\": "
                "\"channels_last\", \"dilation_rate\": [1], \"groups\": 1, \"activation\": \"relu\", \"use_bias\": "
                "false, \"kernel_initializer\": {\"class_name\": \"HeNormal\", \"config\": {\"seed\": null}}, "
                "\"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"kernel_regularizer\": null, "
                "\"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": null, "
                "\"bias_constraint\": null}}");
    expect_text("{\"class_name\": \"AtrousConvolution2D\", \"config\": {\"name\": \"a\", \"trainable\": true, "
                "\"nb_filter\": 2, \"nb_row\": 3, \"nb_col\": 3, \"atrous_rate\": [2, 2], \"border_mode\": \"valid\", "
                "\"dim_ordering\": \"tf\", \"subsample\": [1, 1]}}",
                "{\"class_name\": \"Conv2D\", \"config\": {" BASE("a") ", \"filters\": 2, \"kernel_size\": [3, 3], "
                "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": "
                "[2, 2], \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true, " INITS "}}");
    expect_text("{\"class_name\": \"Deconvolution2D\", \"config\": {\"name\": \"d\", \"trainable\": true, "
                "\"nb_filter\": 2, \"nb_row\": 3, \"nb_col\": 3, \"output_shape\": [null, 8, 8, 2], "
                "\"border_mode\": \"same\", \"subsample\": [2, 2], \"dim_ordering\": \"tf\"}}",
                "{\"class_name\": \"Conv2DTranspose\", \"config\": {" BASE("d") ", \"filters\": 2, \"kernel_size\": "
                "[3, 3], \"strides\": [2, 2], \"padding\": \"same\", \"data_format\": \"channels_last\", "
                "\"dilation_rate\": [1, 1], \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true, " INITS
                ", \"output_padding\": null}}");
    ck_layer *l = from_text("{\"class_name\": \"SeparableConvolution2D\", \"config\": {\"name\": \"s\", "
                            "\"trainable\": true, \"nb_filter\": 3, \"nb_row\": 2, \"nb_col\": 2, \"depth_multiplier\": "
                            "2, \"init\": \"zeros\", \"dim_ordering\": \"th\"}}");
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"class_name\": \"SeparableConv2D\"") && strstr(text, "\"data_format\": "
              "\"channels_first\"") && strstr(text, "\"depth_multiplier\": 2") &&
              strstr(text, "\"pointwise_initializer\": {\"class_name\": \"Zeros\""), "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

/* ---- memory ------------------------------------------------------------------------- */

/* Once planned, predicting the model of every class allocates nothing
 * (the im2col rows and the separable layers' depthwise output are planned
 * scratch). */
Test(conv_nd, steady_state_predict_allocates_nothing)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("layers/conv_nd/conv_model.h5"), &m), CK_OK, "%s", ck_last_error());
    ck_tensor *x[2] = {ck_test_npy("conv_nd/conv_model_x1"), ck_test_npy("conv_nd/conv_model_x2")}, *y = NULL;
    cr_assert_eq(ck_model_predict(m, 2, x, &y, 2), CK_OK, "%s", ck_last_error());
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, 2, x, outs, 2), CK_OK, "%s", ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 2, x, outs, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_tensor_free(y);
    ck_model_free(m);
}

static void free_layers(void *ctx)
{
    ck_layer **l = ctx;
    for (int i = 0; i < 3; i++) {
        ck_layer_free(l[i]);
        l[i] = NULL;
    }
}

static ck_status make_layers_or_fail(ck_layer **l)
{
    CK_TRY(ck_separable_conv1d(&l[0], &(ck_separable_conv_opts){.filters = 2, .kernel_size = {3},
                                                                .depthwise_regularizer = "l2",
                                                                .pointwise_constraint = "max_norm"}));
    CK_TRY(ck_conv2d_transpose(&l[1], &(ck_conv_opts){.filters = 2, .kernel_size = {3}, .strides = {2},
                                                      .output_padding = {ck_int(1)}, .kernel_regularizer = "l1"}));
    CK_TRY(ck_depthwise_conv2d(&l[2], &(ck_depthwise_conv_opts){.kernel_size = {3}, .depth_multiplier = 2,
                                                                .activation = "relu"}));
    ck_shape s1 = {3, {2, 6, 3}}, s2 = {4, {1, 3, 3, 2}};
    CK_TRY(ck_layer_build(l[0], 1, &s1));
    CK_TRY(ck_layer_build(l[2], 1, &s2));
    return ck_layer_build(l[1], 1, &s2);
}

static ck_status make_layers(void *ctx)
{
    ck_status st = make_layers_or_fail(ctx);
    if (st != CK_OK) free_layers(ctx);
    return st;
}

/* Every allocation of construction and build may fail:
 * an error, no leak. */
Test(conv_nd, failing_allocations)
{
    ck_layer *l[3] = {NULL};
    cr_expect_gt(ck_test_every_allocation_fails(make_layers, free_layers, l), 10);
}

Test(conv_nd, channel_dim_must_be_known)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv2d_transpose(&l, &(ck_conv_opts){.filters = 2, .kernel_size = {3}, .name = "t"}), CK_OK);
    ck_shape in = {4, {1, 4, 4, -1}};
    expect_error(ck_layer_build(l, 1, &in), CK_VALUE_ERROR, "The channel dimension of the inputs to "
                 "`Conv2DTranspose` should be defined. The input_shape received is (1, 4, 4, None), where axis 3 "
                 "(0-based) is the channel dimension, which found to be `None`.");
    ck_layer_free(l);
}

/* ---- training through a model --------------------------------------------------------- */

/* conv_model.h5 (every class) trained two SGD steps on mse, as tf.keras
 * did, then predicts what tf.keras' trained model predicts. */
Test(conv_nd, fit_like_tf)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("layers/conv_nd/conv_model.h5"), &m), CK_OK, "%s", ck_last_error());
    ck_tensor *x[2] = {ck_test_npy("conv_nd/conv_model_x1"), ck_test_npy("conv_nd/conv_model_x2")};
    ck_tensor *t = ck_test_npy("conv_nd/conv_model_fit_t"), *want = ck_test_npy("conv_nd/conv_model_fit_y");
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "sgd", .loss = "mse"}), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_model_fit(m, 2, x, 1, &t, &(ck_fit_opts){.batch_size = 3, .epochs = 2, .no_shuffle = true,
                                                            .verbose = ck_int(0)}, NULL),
                 CK_OK, "%s", ck_last_error());
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 2, x, &y, 0), CK_OK, "%s", ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 2e-5, "max abs error %g after training", err);
    ck_tensor_free(y);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_tensor_free(t);
    ck_tensor_free(want);
    ck_model_free(m);
}
