/* Bidirectional, TimeDistributed and RNN over cells against tf.keras 2.15
 * (tools/gen_rnn_wrapper_goldens.py -> tests/data/layers/rnn_wrappers):
 * outputs in float32 and float64, weight names, input and weight
 * gradients (GradientTape) in float64, central-difference gradient
 * checks, config round trips, Keras' checks, the C constructors, and a
 * model of all three saved by tf.keras as .h5 and .keras. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h" /* ck_layer_from_json */
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/golden_model.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/rnn_wrappers/goldens.json")); }

Test(rnn_wrappers, outputs_and_weight_names_against_tf)
{
    json_t *all = goldens();
    cr_assert_geq(json_array_size(all), 17);
    ck_test_expect_outputs_like_tf(all, ck_test_case_layer, 1e-5);
    json_decref(all);
}

Test(rnn_wrappers, gradients_against_tf)
{
    json_t *all = goldens();
    ck_test_expect_gradients_like_tf(all, ck_test_case_layer, 1e-12, 1e-11);
    json_decref(all);
}

Test(rnn_wrappers, gradcheck_every_case)
{
    json_t *all = goldens();
    ck_test_gradcheck_cases(all, ck_test_case_layer);
    json_decref(all);
}

/* get_config -> from_config gives a layer computing the same outputs, and
 * the keys tf.keras wrote come back with tf.keras' values. */
static void expect_config_round_trip(const char *name, const json_t *c, ck_layer *l, ck_tensor *x, void *ctx)
{
    (void)ctx;
    json_t *mine = NULL;
    cr_assert_eq(ck_layer_config_json(l, &mine), CK_OK);
    const json_t *tf = json_object_get(json_object_get(c, "layer"), "config");
    const json_t *cfg = json_object_get(mine, "config");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)tf, key, v) {
        if (strcmp(key, "layer") == 0 || strcmp(key, "backward_layer") == 0 || strcmp(key, "cell") == 0) {
            const json_t *m = json_object_get(cfg, key);
            cr_expect_str_eq(json_string_value(json_object_get(m, "class_name")),
                             json_string_value(json_object_get(v, "class_name")), "%s %s", name, key);
            continue;
        }
        cr_expect(json_equal(v, json_object_get(cfg, key)), "%s: key %s differs", name, key);
    }
    ck_layer *back = ck_test_layer_from_json(mine);
    ck_shape s = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(back, 1, &s), CK_OK, "%s", ck_last_error());
    ck_tensor **ws = NULL;
    int nw = 0;
    cr_assert_eq(ck_layer_get_weights(l, &ws, &nw), CK_OK);
    cr_assert_eq(ck_layer_set_weights(back, nw, ws), CK_OK, "%s: %s", name, ck_last_error());
    ck_tensors_free(ws, nw);
    ck_tensor *y1 = ck_test_call1(l, x), *y2 = ck_test_call1(back, x);
    cr_expect_leq(ck_test_max_abs_diff(y1, y2), 0.0, "%s", name);
    ck_tensor_free(y1);
    ck_tensor_free(y2);
    ck_layer_free(back);
    json_decref(mine);
}

Test(rnn_wrappers, config_round_trips)
{
    json_t *all = goldens();
    ck_test_for_each_case(all, CK_FLOAT32, ck_test_case_layer, expect_config_round_trip, NULL);
    json_decref(all);
}

/* A model of Bidirectional, TimeDistributed and RNN layers saved by
 * tf.keras 2.15, loaded, predicted, saved by ckeras and loaded again. */
Test(rnn_wrappers, saved_files_load_and_save)
{
    ck_tensor *x = ck_test_npy("rnn_wrappers/wrappers_model_x"), *want = ck_test_npy("rnn_wrappers/wrappers_model_y");
    const char *names[2] = {"wrappers_model.h5", "wrappers_model.keras"};
    for (int i = 0; i < 2; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "layers/rnn_wrappers/%s", names[i]);
        ck_test_expect_file_predicts(ck_test_data(rel), x, want);
        ck_test_expect_file_predicts(ck_test_saved_again(ck_test_data(rel), names[i]), x, want);
    }
    ck_tensor_free(x);
    ck_tensor_free(want);
}

/* The same kinds of layers saved by Keras 3 (tools/gen_rnn_wrapper_k3_goldens.py):
 * Keras 3 configs and archive paths. */
Test(rnn_wrappers, keras3_file_loads)
{
    ck_tensor *x = ck_test_npy("rnn_wrappers/wrappers_k3_x"), *want = ck_test_npy("rnn_wrappers/wrappers_k3_y");
    char path[4096];
    snprintf(path, sizeof path, "%s", ck_test_data("layers/rnn_wrappers/wrappers_k3.keras"));
    ck_test_expect_file_predicts(path, x, want);
    ck_tensor_free(x);
    ck_tensor_free(want);
}

Test(rnn_wrappers, c_constructors_match_tf)
{
    json_t *all = goldens();
    ck_clear_session();
    ck_layer *gru = NULL, *bidi = NULL, *dense = NULL, *td = NULL, *fw = NULL, *bw = NULL, *bidi2 = NULL;
    cr_assert_eq(ck_gru(&gru, &(ck_rnn_opts){.units = 3}), CK_OK);
    cr_assert_eq(ck_bidirectional(&bidi, gru, &(ck_bidirectional_opts){.merge_mode = "sum"}), CK_OK, "%s",
                 ck_last_error());
    ck_test_expect_constructed_like_tf(ck_test_golden_case(all, "bidi_gru_sum"), bidi, 1e-5);

    ck_clear_session();
    cr_assert_eq(ck_dense(&dense, &(ck_dense_opts){.units = 3, .activation = "tanh"}), CK_OK);
    cr_assert_eq(ck_time_distributed(&td, dense, NULL), CK_OK);
    ck_test_expect_constructed_like_tf(ck_test_golden_case(all, "td_dense"), td, 1e-5);

    /* backward_layer given: its own units and name ("backward_gru_1"). */
    ck_clear_session();
    cr_assert_eq(ck_gru(&fw, &(ck_rnn_opts){.units = 2, .return_sequences = true}), CK_OK);
    cr_assert_eq(ck_gru(&bw, &(ck_rnn_opts){.units = 3, .return_sequences = true, .go_backwards = true}), CK_OK);
    cr_assert_eq(ck_bidirectional(&bidi2, fw, &(ck_bidirectional_opts){.backward_layer = bw}), CK_OK, "%s",
                 ck_last_error());
    ck_test_expect_constructed_like_tf(ck_test_golden_case(all, "bidi_backward_layer_seq"), bidi2, 1e-5);
    ck_layer *layers[] = {gru, bidi, dense, td, fw, bw, bidi2};
    for (int i = 0; i < 7; i++) ck_layer_free(layers[i]);
    json_decref(all);
}

/* Keras' checks, with its messages. */
Test(rnn_wrappers, keras_checks)
{
    ck_layer *lstm = NULL, *back = NULL, *out = NULL, *dense = NULL;
    cr_assert_eq(ck_lstm(&lstm, &(ck_rnn_opts){.units = 2}), CK_OK);
    cr_expect_eq(ck_bidirectional(&out, lstm, &(ck_bidirectional_opts){.merge_mode = "max"}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Invalid merge mode. Received: \"max\"") != NULL, "%s", ck_last_error());
    /* merge_mode "none" (Keras' None): the two outputs, unmerged */
    cr_assert_eq(ck_bidirectional(&out, lstm, &(ck_bidirectional_opts){.merge_mode = "none"}), CK_OK);
    cr_expect_eq(ck_layer_output_count(out), 2);
    ck_layer_free(out);
    out = NULL;
    /* a backward layer that also walks forwards */
    cr_assert_eq(ck_lstm(&back, &(ck_rnn_opts){.units = 2}), CK_OK);
    cr_expect_eq(ck_bidirectional(&out, lstm, &(ck_bidirectional_opts){.backward_layer = back}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "should have different `go_backwards` value") != NULL, "%s", ck_last_error());
    ck_layer_free(back);
    cr_assert_eq(ck_lstm(&back, &(ck_rnn_opts){.units = 2, .go_backwards = true, .return_sequences = true}), CK_OK);
    cr_expect_eq(ck_bidirectional(&out, lstm, &(ck_bidirectional_opts){.backward_layer = back}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "same value for attribute \"return_sequences\"") != NULL, "%s",
              ck_last_error());
    /* not a recurrent layer */
    cr_assert_eq(ck_dense(&dense, &(ck_dense_opts){.units = 2}), CK_OK);
    cr_expect_neq(ck_bidirectional(&out, dense, NULL), CK_OK);
    /* TimeDistributed needs (batch, time, ...) */
    ck_layer *td = NULL;
    cr_assert_eq(ck_time_distributed(&td, dense, NULL), CK_OK);
    ck_shape s = {2, {4, 3}};
    cr_expect_eq(ck_layer_build(td, 1, &s), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "should be passed an `input_shape ` with at least 3 dimensions") != NULL, "%s",
              ck_last_error());
    /* RNN over an unknown cell, or with return_state */
    ck_layer *r = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"RNN\", \"config\": {\"cell\": {\"class_name\": "
                                      "\"MinimalRNNCell\", \"config\": {\"units\": 2}}}}", &r),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "MinimalRNNCell") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"RNN\", \"config\": {\"return_state\": true, \"cell\": "
                                      "{\"class_name\": \"LSTMCell\", \"config\": {\"units\": 2}}}}", &r),
                 CK_NOT_IMPLEMENTED);
    ck_layer_free(td);
    ck_layer_free(dense);
    ck_layer_free(back);
    ck_layer_free(lstm);
}

/* Keras 2.2's RNN config may give the cells as a plain list: the same
 * computation as a StackedRNNCells of them. */
Test(rnn_wrappers, cell_list_is_a_stack)
{
    json_t *all = goldens();
    const json_t *c = ck_test_golden_case(all, "rnn_stacked_seq");
    json_t *wrap = json_deep_copy(json_object_get(c, "layer"));
    json_t *cfg = json_object_get(wrap, "config");
    json_t *cells = json_incref(json_object_get(json_object_get(json_object_get(cfg, "cell"), "config"), "cells"));
    json_object_set_new(cfg, "cell", cells);
    ck_layer *l = ck_test_layer_from_json(wrap);
    ck_test_expect_constructed_like_tf(c, l, 1e-5);
    ck_layer_free(l);
    json_decref(wrap);
    json_decref(all);
}

/* CuDNNLSTM / CuDNNGRU layers with cuDNN's weight layout and Keras 1 LSTM
 * / GRU / Bidirectional weights (one array per gate), converted on load;
 * tf.keras' outputs after its own legacy conversion. */
Test(rnn_wrappers, legacy_weights_convert_like_keras)
{
    ck_tensor *x = ck_test_npy("rnn_wrappers/legacy_rnn_x"), *want = ck_test_npy("rnn_wrappers/legacy_rnn_y");
    char path[4096];
    snprintf(path, sizeof path, "%s", ck_test_data("layers/rnn_wrappers/legacy_rnn.h5"));
    ck_test_expect_file_predicts(path, x, want);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    ck_layer *l = NULL;
    cr_assert_eq(ck_model_get_layer(m, "cudnn_lstm", &l), CK_OK);
    cr_expect_str_eq(ck_layer_class_name(l), "CuDNNLSTM");
    cr_assert_eq(ck_model_get_layer(m, "cudnn_gru", &l), CK_OK);
    cr_expect_str_eq(ck_layer_class_name(l), "CuDNNGRU");
    /* saved again (in tf.keras' layout) and loaded: the same outputs */
    snprintf(path, sizeof path, "%s", ck_test_tmp("legacy_rnn.h5"));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    ck_test_expect_file_predicts(path, x, want);
    ck_tensor_free(x);
    ck_tensor_free(want);
}

/* Training through the wrappers: the saved model trained two epochs by
 * ckeras (SGD 0.01, mse, batch 2, no shuffling) predicts what tf.keras
 * predicts after the same training. */
Test(rnn_wrappers, fit_matches_tf)
{
    ck_tensor *x = ck_test_npy("rnn_wrappers/wrappers_model_x"), *t = ck_test_npy("rnn_wrappers/wrappers_fit_t");
    ck_tensor *want = ck_test_npy("rnn_wrappers/wrappers_fit_y");
    char path[4096];
    snprintf(path, sizeof path, "%s", ck_test_data("layers/rnn_wrappers/wrappers_model.h5"));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_compile_json(m, "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": "
                                          "0.01}}, \"loss\": \"mse\"}"),
                 CK_OK, "%s", ck_last_error());
    ck_history *h = NULL;
    cr_assert_eq(ck_model_fit(m, 1, &x, 1, &t, &(ck_fit_opts){.batch_size = 2, .epochs = 2, .no_shuffle = true,
                                                             .verbose = ck_int(0)}, &h),
                 CK_OK, "%s", ck_last_error());
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 0), CK_OK, "%s", ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "max abs error %g after training", err);
    ck_tensor_free(y);
    ck_history_free(h);
    ck_model_free(m);
    ck_tensor_free(x);
    ck_tensor_free(t);
    ck_tensor_free(want);
}

/* Training-mode calls reach the inner layers: recurrent dropout inside a
 * Bidirectional, Dropout inside a TimeDistributed, dropout in stacked
 * cells, checked by central differences with the masks repeated. */
Test(rnn_wrappers, gradcheck_with_dropout)
{
    static const char *const configs[] = {
        "{\"class_name\": \"Bidirectional\", \"config\": {\"dtype\": \"float64\", \"layer\": {\"class_name\": "
        "\"LSTM\", \"config\": {\"dtype\": \"float64\", \"units\": 3, \"dropout\": 0.3, \"recurrent_dropout\": 0.2, "
        "\"return_sequences\": true}}}}",
        "{\"class_name\": \"TimeDistributed\", \"config\": {\"dtype\": \"float64\", \"layer\": {\"class_name\": "
        "\"Dropout\", \"config\": {\"dtype\": \"float64\", \"rate\": 0.5}}}}",
        "{\"class_name\": \"RNN\", \"config\": {\"dtype\": \"float64\", \"return_sequences\": true, \"cell\": "
        "[{\"class_name\": \"GRUCell\", \"config\": {\"dtype\": \"float64\", \"units\": 2, \"dropout\": 0.25}}, "
        "{\"class_name\": \"SimpleRNNCell\", \"config\": {\"dtype\": \"float64\", \"units\": 3, "
        "\"recurrent_dropout\": 0.4}}]}}",
    };
    int64_t dims[3] = {2, 4, 3};
    for (int i = 0; i < 3; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(configs[i], &l), CK_OK, "%s", ck_last_error());
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, dims, -1, 1, 11 + (uint64_t)i);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", configs[i]);
        /* training drops something: the output differs from inference */
        ck_test_step s;
        ck_tensor *y = ck_test_call1(l, x);
        ck_test_train_step(l, x, y, 1, 3, &s); /* dy = y: any upstream gradient will do */
        cr_expect_gt(ck_test_max_abs_diff(s.y, y), 1e-3, "%s: training changed nothing", configs[i]);
        ck_test_step_free(&s);
        ck_tensor_free(y);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* ---- every allocation failing ------------------------------------------------ */

typedef struct sweep_ctx {
    json_t *config; /* parsed before the sweep: jansson's parser reports
                       a failed allocation as a syntax error */
    ck_tensor *x;
    ck_layer *layer;
    ck_tensor *y;
} sweep_ctx;

/* from_config, build, call and get_config: all or nothing. */
static ck_status sweep_run(void *p)
{
    sweep_ctx *c = p;
    ck_layer *l = NULL;
    ck_tensor *y = NULL;
    char *text = NULL;
    ck_status st = ck_layer_from_json(c->config, &l);
    if (st == CK_OK) st = ck_layer_call(l, 1, &c->x, &y);
    if (st == CK_OK) st = ck_layer_get_config(l, &text);
    ck_free(text);
    if (st != CK_OK) {
        ck_tensor_free(y);
        if (l) ck_layer_free(l);
        return st;
    }
    c->layer = l;
    c->y = y;
    return CK_OK;
}

static void sweep_cleanup(void *p)
{
    sweep_ctx *c = p;
    ck_tensor_free(c->y);
    ck_layer_free(c->layer);
    c->y = NULL;
    c->layer = NULL;
}

Test(rnn_wrappers, every_allocation_fails_cleanly)
{
    static const char *const configs[] = {
        "{\"class_name\": \"Bidirectional\", \"config\": {\"merge_mode\": \"mul\", \"layer\": {\"class_name\": "
        "\"GRU\", \"config\": {\"units\": 2, \"return_sequences\": true}}}}",
        "{\"class_name\": \"TimeDistributed\", \"config\": {\"layer\": {\"class_name\": \"Dense\", \"config\": "
        "{\"units\": 2}}}}",
        "{\"class_name\": \"RNN\", \"config\": {\"cell\": {\"class_name\": \"StackedRNNCells\", \"config\": "
        "{\"cells\": [{\"class_name\": \"LSTMCell\", \"config\": {\"units\": 2}}, {\"class_name\": \"GRUCell\", "
        "\"config\": {\"units\": 2}}]}}}}",
        "{\"class_name\": \"CuDNNLSTM\", \"config\": {\"units\": 2, \"return_sequences\": true}}",
    };
    int64_t dims[3] = {2, 3, 4};
    for (int i = 0; i < 4; i++) {
        sweep_ctx c = {.config = json_loads(configs[i], 0, NULL),
                       .x = ck_test_uniform(CK_FLOAT32, 3, dims, -1, 1, 9)};
        cr_assert_not_null(c.config);
        cr_expect_gt(ck_test_every_allocation_fails(sweep_run, sweep_cleanup, &c), 5, "%s", configs[i]);
        ck_tensor_free(c.x);
        json_decref(c.config);
    }
}
