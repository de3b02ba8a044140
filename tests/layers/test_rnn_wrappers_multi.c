/* Bidirectional with several outputs (merge_mode None, return_state)
 * against tf.keras 2.15 (tools/gen_rnn_wrapper_goldens.py --multi ->
 * tests/data/layers/rnn_wrappers/multi_goldens.json): every output in
 * float32 and float64, input and weight gradients through every output
 * (GradientTape, float64), central-difference gradient checks, config
 * round trips, and a saved encoder / decoder model whose decoder starts
 * from the Bidirectional encoder's states. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/golden_model.h"
#include "support/support.h"

#define MAX_OUT 8

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/rnn_wrappers/multi_goldens.json")); }

Test(rnn_wrappers_multi, every_output_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    cr_assert_eq(json_array_size(all), 6);
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        for (int p = 0; p < 2; p++) {
            ck_clear_session();
            ck_dtype dt = p ? CK_FLOAT64 : CK_FLOAT32;
            ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), dt), *ys[MAX_OUT];
            ck_layer *l = ck_test_case_layer(c, dt, x);
            const json_t *want = json_object_get(json_object_get(c, p ? "f64" : "f32"), "y");
            int n = 0;
            cr_assert_eq(ck_layer_call_multi(l, 1, &x, MAX_OUT, ys, &n), CK_OK, "%s: %s", name, ck_last_error());
            cr_assert_eq(n, (int)json_array_size(want), "%s: %d outputs", name, n);
            cr_assert_eq(ck_layer_output_count(l), n, "%s", name);
            for (int k = 0; k < n; k++) {
                ck_tensor *w = ck_test_golden_tensor(json_array_get(want, (size_t)k), dt);
                ck_test_expect_close(name, p ? "output (float64)" : "output (float32)", k, ys[k], w, p ? 1e-12 : 1e-5);
                ck_tensor_free(w);
                ck_tensor_free(ys[k]);
            }
            ck_test_expect_weight_names(name, l, json_object_get(c, "weight_names"));
            ck_tensor_free(x);
            ck_layer_free(l);
        }
    }
    json_decref(all);
}

/* One training step through every output: loss = sum_k sum(y_k * dy_k). */
static void expect_step_like_tf(const char *name, const json_t *c, ck_layer *l, ck_tensor *x, void *ctx)
{
    (void)ctx;
    ck_test_expect_multi_step_like_tf(name, l, x, json_object_get(c, "dy"), json_object_get(c, "f64"), 1e-10);
}

Test(rnn_wrappers_multi, gradients_through_every_output_against_tf)
{
    json_t *all = goldens();
    ck_test_for_each_case(all, CK_FLOAT64, ck_test_case_layer, expect_step_like_tf, NULL);
    json_decref(all);
}

Test(rnn_wrappers_multi, gradcheck_every_case)
{
    json_t *all = goldens();
    cr_expect_gt(ck_test_gradcheck_cases(all, ck_test_case_layer), 300);
    json_decref(all);
}

/* get_config keeps merge_mode None (JSON null) and the inner return_state;
 * the layer made from it has the same outputs. */
static void expect_config_round_trip(const char *name, const json_t *c, ck_layer *l, ck_tensor *x, void *ctx)
{
    (void)x, (void)ctx;
    ck_layer *back = NULL;
    char *text = NULL;
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
    json_t *mine = json_loads(text, 0, NULL), *tf = json_object_get(json_object_get(c, "layer"), "config");
    cr_assert(json_equal(json_object_get(json_object_get(mine, "config"), "merge_mode"),
                         json_object_get(tf, "merge_mode")),
              "%s: %s", name, text);
    cr_assert_eq(ck_layer_from_config(text, &back), CK_OK, "%s: %s", name, ck_last_error());
    cr_expect_eq(ck_layer_output_count(back), ck_layer_output_count(l), "%s", name);
    json_decref(mine);
    ck_free(text);
    ck_layer_free(back);
}

Test(rnn_wrappers_multi, config_round_trips)
{
    json_t *all = goldens();
    ck_test_for_each_case(all, CK_FLOAT32, ck_test_case_layer, expect_config_round_trip, NULL);
    json_decref(all);
}

/* Loads the saved model `file` of rnn_wrappers/, predicts `stem`_x0 and
 * _x1 within 1e-5 of `stem`_y, checks that predict_into then allocates
 * nothing, saves it as .h5 and predicts again from that file. */
static void check_saved_model(const char *file, const char *stem)
{
    char rel[128], path[4096];
    ck_tensor *x[2], *want, *y = NULL;
    snprintf(rel, sizeof rel, "rnn_wrappers/%s_x0", stem), x[0] = ck_test_npy(rel);
    snprintf(rel, sizeof rel, "rnn_wrappers/%s_x1", stem), x[1] = ck_test_npy(rel);
    snprintf(rel, sizeof rel, "rnn_wrappers/%s_y", stem), want = ck_test_npy(rel);
    snprintf(rel, sizeof rel, "layers/rnn_wrappers/%s", file);
    snprintf(path, sizeof path, "%s", ck_test_data(rel));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    cr_assert_eq(ck_model_predict(m, 2, x, &y, 0), CK_OK, "%s: %s", file, ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "%s: max abs error %g", file, err);
    /* steady state: once planned, predict_into allocates nothing */
    ck_tensor *again = NULL;
    cr_assert_eq(ck_tensor_new(&again, y->dtype, y->rank, y->shape), CK_OK);
    ck_test_expect_predict_allocates_nothing(file, m, 2, x, &again, 0);
    cr_expect_eq(ck_test_max_abs_diff(again, y), 0.0, "%s", file);
    ck_tensor_free(again);
    ck_tensor_free(y);
    /* saved again by ckeras and loaded back */
    snprintf(rel, sizeof rel, "%s_again.h5", stem);
    snprintf(path, sizeof path, "%s", ck_test_tmp(rel));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    cr_assert_eq(ck_model_predict(m, 2, x, &y, 0), CK_OK, "%s", ck_last_error());
    err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "%s saved by ckeras: max abs error %g", file, err);
    ck_tensor_free(y);
    ck_model_free(m);
    ck_tensor_free(want);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
}

/* An encoder Bidirectional LSTM with return_state whose h and c
 * (concatenated) start a decoder LSTM, saved by tf.keras 2.15. */
Test(rnn_wrappers_multi, encoder_states_feed_a_decoder)
{
    check_saved_model("bidi_state_model.h5", "bidi_state_model");
}

/* The same kind of model saved by Keras 3 (tools/gen_rnn_wrapper_k3_goldens.py
 * --multi): merge_mode None with return_sequences and return_state, both
 * sequences used, the states passed as the decoder's initial_state kwarg. */
Test(rnn_wrappers_multi, keras3_unmerged_outputs_and_states)
{
    check_saved_model("bidi_state_k3.keras", "bidi_state_k3");
}
