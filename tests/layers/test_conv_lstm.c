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
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm/goldens.json")); }

/* A {"shape", "data"} tensor of the fixture in `dt`. */
static ck_tensor *fx(const json_t *j, ck_dtype dt)
{
    const json_t *shape = json_object_get(j, "shape"), *data = json_object_get(j, "data");
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, (size_t)i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) {
        double v = json_number_value(json_array_get(data, (size_t)i));
        if (dt == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
        else ((double *)t->data)[i] = v;
    }
    return t;
}

/* The case's layer from tf.keras' config in `dt`, built on x, with the
 * fixture's weights. */
static ck_layer *case_layer(const json_t *c, ck_dtype dt, const ck_tensor *x)
{
    json_t *wrap = json_deep_copy(json_object_get(c, "layer"));
    json_object_set_new(json_object_get(wrap, "config"), "dtype", json_string(dt == CK_FLOAT32 ? "float32" : "float64"));
    char *text = json_dumps(wrap, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    json_decref(wrap);
    ck_shape s = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
    const json_t *ws = json_object_get(c, "weights");
    int n = (int)json_array_size(ws);
    ck_tensor *w[4] = {0};
    cr_assert_leq(n, 4);
    for (int i = 0; i < n; i++) w[i] = fx(json_array_get(ws, (size_t)i), dt);
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
    return l;
}

static void expect_close(const char *name, const char *what, const ck_tensor *got, const ck_tensor *want,
                         double atol)
{
    cr_assert_eq(got->rank, want->rank, "%s %s: rank %d, TF %d", name, what, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s %s: dim %d", name, what, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= atol * (1 + fabs(e)), "%s %s[%lld]: got %.12g, TF %.12g", name, what,
                  (long long)i, g, e);
    }
}

Test(conv_lstm, outputs_and_weight_names_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    cr_assert_eq(json_array_size(all), 7);
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        for (int p = 0; p < 2; p++) {
            ck_clear_session();
            ck_dtype dt = p ? CK_FLOAT64 : CK_FLOAT32;
            ck_tensor *x = fx(json_object_get(c, "x"), dt);
            ck_layer *l = case_layer(c, dt, x);
            ck_tensor *y = ck_test_call1(l, x);
            ck_tensor *want = fx(json_object_get(json_object_get(c, p ? "f64" : "f32"), "y"), dt);
            expect_close(name, p ? "y (float64)" : "y (float32)", y, want, p ? 1e-12 : 1e-5);
            const json_t *names = json_object_get(c, "weight_names");
            cr_assert_eq(ck_layer_weight_count(l), (int)json_array_size(names), "%s", name);
            for (int k = 0; k < ck_layer_weight_count(l); k++)
                cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, k)),
                                 json_string_value(json_array_get(names, (size_t)k)), "%s", name);
            ck_tensor_free(want);
            ck_tensor_free(y);
            ck_tensor_free(x);
            ck_layer_free(l);
        }
    }
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

static void predict_like_tf(const char *path, const ck_tensor *x, const ck_tensor *want)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    ck_tensor *y = NULL, *xs = (ck_tensor *)x;
    cr_assert_eq(ck_model_predict(m, 1, &xs, &y, 0), CK_OK, "%s: %s", path, ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "%s: max abs error %g", path, err);
    ck_tensor_free(y);
    ck_model_free(m);
}

/* Three ConvLSTM2D layers saved by tf.keras 2.15, loaded, predicted, saved
 * by ckeras and loaded again. */
Test(conv_lstm, saved_files_load_and_save)
{
    ck_tensor *x = ck_test_npy("conv_lstm/conv_lstm_model_x"), *want = ck_test_npy("conv_lstm/conv_lstm_model_y");
    const char *names[2] = {"conv_lstm_model.h5", "conv_lstm_model.keras"};
    for (int i = 0; i < 2; i++) {
        char rel[64], tmp[4096];
        snprintf(rel, sizeof rel, "layers/conv_lstm/%s", names[i]);
        snprintf(tmp, sizeof tmp, "%s", ck_test_data(rel));
        predict_like_tf(tmp, x, want);
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(tmp, &m), CK_OK, "%s", ck_last_error());
        snprintf(tmp, sizeof tmp, "%s", ck_test_tmp(names[i]));
        cr_assert_eq(ck_model_save(m, tmp), CK_OK, "%s: %s", tmp, ck_last_error());
        ck_model_free(m);
        predict_like_tf(tmp, x, want);
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
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 1, &x, outs, 1);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
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
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *f64 = json_object_get(c, "f64");
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT64), *dy = fx(json_object_get(c, "dy"), CK_FLOAT64);
        ck_layer *l = case_layer(c, CK_FLOAT64, x);
        ck_test_step s;
        ck_test_train_step(l, x, dy, 1, 7, &s);
        ck_tensor *want = fx(json_object_get(f64, "y"), CK_FLOAT64);
        expect_close(name, "train y", s.y, want, 1e-12);
        ck_tensor_free(want);
        want = fx(json_object_get(f64, "dx"), CK_FLOAT64);
        expect_close(name, "dx", s.dx, want, 1e-11);
        ck_tensor_free(want);
        const json_t *dw = json_object_get(f64, "dweights");
        cr_assert_eq(s.n_grads, (int)json_array_size(dw), "%s", name);
        for (int k = 0; k < s.n_grads; k++) {
            want = fx(json_array_get(dw, (size_t)k), CK_FLOAT64);
            expect_close(name, ck_weight_name(ck_layer_trainable_weight(l, k)), s.grads[k], want, 1e-11);
            ck_tensor_free(want);
        }
        ck_test_step_free(&s);
        ck_tensor_free(x);
        ck_tensor_free(dy);
        ck_layer_free(l);
    }
    json_decref(all);
}

Test(conv_lstm, gradcheck_every_case)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT64);
        ck_layer *l = case_layer(c, CK_FLOAT64, x);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", json_string_value(json_object_get(c, "name")));
        ck_tensor_free(x);
        ck_layer_free(l);
    }
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
        const json_t *c = NULL;
        size_t i;
        json_t *e;
        json_array_foreach(all, i, e) if (!strcmp(json_string_value(json_object_get(e, "name")), cases[k].name)) c = e;
        cr_assert_not_null(c, "%s", cases[k].name);
        ck_layer *l = NULL;
        cr_assert_eq(cases[k].make(&l, &cases[k].o), CK_OK, "%s: %s", cases[k].name, ck_last_error());
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT32);
        ck_shape s = ck_tensor_shape(x);
        cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
        const json_t *ws = json_object_get(c, "weights");
        int n = (int)json_array_size(ws);
        ck_tensor *w[4] = {0};
        for (int j = 0; j < n; j++) w[j] = fx(json_array_get(ws, (size_t)j), CK_FLOAT32);
        cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
        for (int j = 0; j < n; j++) ck_tensor_free(w[j]);
        ck_tensor *y = ck_test_call1(l, x), *want = fx(json_object_get(json_object_get(c, "f32"), "y"), CK_FLOAT32);
        expect_close(cases[k].name, "C constructor y", y, want, 1e-5);
        const json_t *names = json_object_get(c, "weight_names");
        for (int j = 0; j < ck_layer_weight_count(l); j++)
            cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, j)), json_string_value(json_array_get(names, (size_t)j)));
        ck_tensor_free(y);
        ck_tensor_free(want);
        ck_tensor_free(x);
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
    predict_like_tf(path, x, want);
    ck_tensor_free(x);
    ck_tensor_free(want);
}
