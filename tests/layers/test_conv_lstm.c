/* ConvLSTM1D / 2D / 3D against tf.keras 2.15 (tools/gen_conv_lstm_goldens.py):
 * outputs in float32 and float64, weight names, configs written back as
 * tf.keras writes them, a saved model (.h5 and .keras) predicting like
 * tf.keras, Keras' errors, a predict that allocates nothing, and
 * backpropagation through time against TF's GradientTape and central
 * differences. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/golden_model.h"
#include "support/support.h"

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm/goldens.json")); }

Test(conv_lstm, outputs_and_weight_names_against_tf)
{
    json_t *all = goldens();
    cr_assert_eq(json_array_size(all), 7);
    ck_test_expect_outputs_like_tf(all, ck_test_case_layer, 1e-5);
    json_decref(all);
}

/* get_config gives back tf.keras' config key for key (float32 cases). */
Test(conv_lstm, config_round_trip_matches_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const json_t *want = json_object_get(json_object_get(c, "layer"), "config");
        char *text = json_dumps(json_object_get(c, "layer"), 0);
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s", ck_last_error());
        free(text);
        char *got_text = NULL;
        cr_assert_eq(ck_layer_get_config(l, &got_text), CK_OK, "%s", ck_last_error());
        json_t *got = json_loads(got_text, 0, NULL);
        cr_assert_not_null(got);
        const json_t *gc = json_object_get(got, "config") ? json_object_get(got, "config") : got;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)want, key, v) {
            const json_t *g = json_object_get(gc, key);
            cr_expect_not_null(g, "%s: no key %s", json_string_value(json_object_get(c, "name")), key);
            if (g && !json_is_real(v))
                cr_expect(json_equal(g, v), "%s: key %s differs", json_string_value(json_object_get(c, "name")), key);
            if (g && json_is_real(v))
                cr_expect(fabs(json_number_value(g) - json_real_value(v)) < 1e-12, "%s", key);
        }
        cr_expect_eq(json_object_size(gc), json_object_size(want), "%s: %zu keys, tf.keras %zu",
                     json_string_value(json_object_get(c, "name")), json_object_size(gc), json_object_size(want));
        json_decref(got);
        ck_free(got_text);
        ck_layer_free(l);
    }
    json_decref(all);
}

/* Three ConvLSTM2D layers saved by tf.keras 2.15, loaded, predicted, saved
 * by ckeras and loaded again. */
Test(conv_lstm, saved_files_load_and_save)
{
    ck_tensor *x = ck_test_npy("conv_lstm/conv_lstm_model_x"), *want = ck_test_npy("conv_lstm/conv_lstm_model_y");
    const char *names[2] = {"conv_lstm_model.h5", "conv_lstm_model.keras"};
    for (int i = 0; i < 2; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "layers/conv_lstm/%s", names[i]);
        ck_test_expect_file_predicts(ck_test_data(rel), x, want);
        ck_test_expect_file_predicts(ck_test_saved_again(ck_test_data(rel), names[i]), x, want);
    }
    ck_tensor_free(x);
    ck_tensor_free(want);
}

static ck_status from_text(const char *text, ck_layer **l) { return ck_layer_from_config(text, l); }

/* Keras' errors and what ckeras does not do, each named. */
Test(conv_lstm, errors)
{
    ck_layer *l = NULL;
    cr_expect_eq(from_text("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
                           "\"unroll\": true}}", &l), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Unrolling is not possible with convolutional RNNs") != NULL);
    cr_expect_eq(from_text("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 2, \"kernel_size\": [3, 3, 3]}}",
                           &l), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "kernel_size") != NULL, "%s", ck_last_error());
    cr_expect_eq(from_text("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 0, \"kernel_size\": 3}}", &l),
                 CK_VALUE_ERROR);
    /* stateful needs the batch size when built, as Keras. */
    cr_assert_eq(from_text("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
                           "\"stateful\": true}}", &l), CK_OK);
    ck_shape unknown_batch = {5, {-1, 3, 5, 5, 1}};
    cr_expect_eq(ck_layer_build(l, 1, &unknown_batch), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "it needs to know its batch size") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    cr_expect_eq(from_text("{\"class_name\": \"ConvLSTM1D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
                           "\"bogus\": 1}}", &l), CK_TYPE_ERROR);
    /* A wrong input rank, and an input too small for a valid kernel. */
    cr_assert_eq(from_text("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 2, \"kernel_size\": 3}}", &l),
                 CK_OK);
    ck_shape bad = {4, {2, 3, 5, 1}}, small = {5, {2, 3, 2, 5, 1}};
    cr_expect_eq(ck_layer_build(l, 1, &bad), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "ndim") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_build(l, 1, &small), CK_VALUE_ERROR);
    ck_layer_free(l);
}

/* Once planned, predict_into of the saved model allocates nothing (the
 * states and gate blocks live in the call scratch). */
Test(conv_lstm, steady_state_predict_allocates_nothing)
{
    ck_tensor *x = ck_test_npy("conv_lstm/conv_lstm_model_x"), *want = ck_test_npy("conv_lstm/conv_lstm_model_y");
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("layers/conv_lstm/conv_lstm_model.h5"), &m), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 1), CK_OK, "%s", ck_last_error());
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, 1, &x, outs, 1), CK_OK, "%s", ck_last_error());
    ck_test_expect_predict_allocates_nothing("conv_lstm_model.h5", m, 1, &x, outs, 1);
    cr_expect_leq(ck_test_max_abs_diff(y, want), 1e-5);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}

/* One training step in float64: output, d loss / d x and the weights'
 * gradients as TF's GradientTape gives them. */
Test(conv_lstm, gradients_against_tf)
{
    json_t *all = goldens();
    ck_test_expect_gradients_like_tf(all, ck_test_case_layer, 1e-12, 1e-11);
    json_decref(all);
}

Test(conv_lstm, gradcheck_every_case)
{
    json_t *all = goldens();
    ck_test_gradcheck_cases(all, ck_test_case_layer);
    json_decref(all);
}

/* The C constructor with the options of three cases gives tf.keras'
 * outputs and weight names; the zero struct's defaults are Keras'. */
Test(conv_lstm, c_constructor_against_tf)
{
    json_t *all = goldens();
    struct {
        const char *name;
        ck_status (*make)(ck_layer **, const ck_conv_lstm_opts *);
        ck_conv_lstm_opts o;
    } cases[] = {
        {"c2d_same_seq", ck_conv_lstm2d,
         {.filters = 2, .kernel_size = {3, 2}, .padding = "same",
          .return_sequences = true}},
        {"c2d_strides_backwards_seq", ck_conv_lstm2d,
         {.filters = 2, .kernel_size = {3}, .strides = {2, 1}, .go_backwards = true, .return_sequences = true}},
        {"c1d_same_seq", ck_conv_lstm1d,
         {.filters = 3, .kernel_size = {3}, .padding = "same",
          .return_sequences = true}},
        {"c3d_valid", ck_conv_lstm3d, {.filters = 2, .kernel_size = {2, 2, 3}}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        ck_clear_session();
        const json_t *c = ck_test_golden_case(all, cases[k].name);
        ck_layer *l = NULL;
        cr_assert_eq(cases[k].make(&l, &cases[k].o), CK_OK, "%s: %s", cases[k].name, ck_last_error());
        ck_test_expect_constructed_like_tf(c, l, 1e-5);
        ck_layer_free(l);
    }
    /* Defaults: unit_forget_bias puts ones in the forget block. */
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv_lstm2d(&l, &(ck_conv_lstm_opts){.filters = 2, .kernel_size = {3}}), CK_OK);
    ck_shape s = {5, {1, 2, 5, 5, 3}};
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK);
    const ck_tensor *b = ck_weight_value(ck_layer_weight(l, 2));
    for (int j = 0; j < 8; j++) cr_expect_eq(ck_tensor_get(b, j), j >= 2 && j < 4 ? 1.0 : 0.0, "bias[%d]", j);
    char *cfg = NULL;
    cr_assert_eq(ck_layer_get_config(l, &cfg), CK_OK);
    cr_expect(strstr(cfg, "\"recurrent_activation\": \"hard_sigmoid\"") != NULL, "%s", cfg);
    cr_expect(strstr(cfg, "\"kernel_size\": [3, 3]") != NULL, "%s", cfg);
    ck_free(cfg);
    ck_layer_free(l);
    cr_expect_eq(ck_conv_lstm2d(&l, &(ck_conv_lstm_opts){.filters = 2}), CK_VALUE_ERROR);
    cr_expect_eq(ck_conv_lstm2d(&l, &(ck_conv_lstm_opts){.kernel_size = {3}}), CK_VALUE_ERROR);
    cr_expect_eq(ck_conv_lstm2d(&l, NULL), CK_VALUE_ERROR);
    json_decref(all);
}

/* ConvLSTM2D and ConvLSTM1D saved by Keras 3.15 (tools/gen_conv_lstm_k3_goldens.py):
 * Keras 3 configs and archive paths. */
Test(conv_lstm, keras3_file_loads)
{
    ck_tensor *x = ck_test_npy("conv_lstm/conv_lstm_k3_x"), *want = ck_test_npy("conv_lstm/conv_lstm_k3_y");
    char path[4096];
    snprintf(path, sizeof path, "%s", ck_test_data("layers/conv_lstm/conv_lstm_k3.keras"));
    ck_test_expect_file_predicts(path, x, want);
    ck_tensor_free(x);
    ck_tensor_free(want);
}
