/* SimpleRNN, LSTM and GRU against tf.keras 2.15 (tools/gen_recurrent_goldens.py
 * -> tests/data/layers/recurrent/goldens.json): outputs in float32 and
 * float64, input and weight gradients (GradientTape) in float64, weight
 * names, configs; central-difference gradient checks (dropout included);
 * the configs of Keras 1, Keras 2.2.4 and Keras 3; shapes and errors; and
 * the real keras2c example file (LSTM) against tf.keras' predictions. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layers/layer.h"
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/golden_model.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static json_t *goldens(void)
{
    return ck_test_load_json(ck_test_data("layers/recurrent/goldens.json"));
}

/* The {"class_name", "config"} of a case, which keeps them beside its
 * golden values. */
static json_t *layer_config(const json_t *c, const json_t *config)
{
    return json_pack("{s:O,s:O}", "class_name", json_object_get(c, "class_name"), "config", config);
}

/* The case's layer from its tf.keras config, in `dt`, with the fixture's
 * weights (built on x's shape). */
static ck_layer *case_layer(const json_t *c, ck_dtype dt, const ck_tensor *x)
{
    json_t *wrap = layer_config(c, json_object_get(c, "config"));
    ck_shape s = ck_tensor_shape(x);
    ck_layer *l = ck_test_golden_layer(wrap, json_object_get(c, "weights"), dt, &s);
    json_decref(wrap);
    return l;
}

Test(recurrent, outputs_and_weight_names_against_tf)
{
    json_t *all = goldens();
    ck_test_expect_outputs_like_tf(all, case_layer, 2e-6);
    json_decref(all);
}

Test(recurrent, gradients_against_tf)
{
    json_t *all = goldens();
    ck_test_expect_gradients_like_tf(all, case_layer, 1e-12, 1e-11);
    json_decref(all);
}

/* tf.keras' get_config (new-form initializers) -> from_config -> get_config
 * gives the legacy form of the same config. */
Test(recurrent, config_round_trips_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        json_t *in = json_pack("{s:O,s:O}", "class_name", json_object_get(c, "class_name"), "config",
                               json_object_get(c, "config"));
        json_t *want = json_pack("{s:O,s:O}", "class_name", json_object_get(c, "class_name"), "config",
                                 json_object_get(c, "config_legacy"));
        char *a = json_dumps(in, JSON_PRESERVE_ORDER), *b = json_dumps(want, JSON_PRESERVE_ORDER);
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(a, &l), CK_OK, "%s", ck_last_error());
        char *got = ck_test_config_of(l);
        json_t *gj = json_loads(got, 0, NULL);
        const char *name = json_string_value(json_object_get(c, "name"));
        cr_expect(json_equal(gj, want), "%s\n got %s\nwant %s", name, got, b);
        /* tf.keras' key order too. */
        void *gi = json_object_iter(json_object_get(gj, "config"));
        void *wi = json_object_iter(json_object_get(want, "config"));
        for (; gi && wi; gi = json_object_iter_next(json_object_get(gj, "config"), gi),
                         wi = json_object_iter_next(json_object_get(want, "config"), wi))
            cr_expect_str_eq(json_object_iter_key(gi), json_object_iter_key(wi), "%s: key order", name);
        ck_test_round_trip(got, NULL);
        json_decref(gj);
        ck_free(got);
        ck_layer_free(l);
        free(a);
        free(b);
        json_decref(in);
        json_decref(want);
    }
    json_decref(all);
}

/* ---- gradient checks (float64 central differences) ------------------------- */

static void gradcheck_opts(ck_status (*make)(ck_layer **, const ck_rnn_opts *), ck_rnn_opts o, int time_major,
                           uint64_t seed)
{
    ck_layer *l = NULL;
    o.units = o.units ? o.units : 3;
    o.dtype = CK_FLOAT64;
    o.time_major = time_major;
    o.bias_initializer = o.no_bias ? NULL : "glorot_uniform";
    cr_assert_eq(make(&l, &o), CK_OK, "%s", ck_last_error());
    const int64_t shape[3] = {2, 4, 3};
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, shape, -1, 1, seed);
    long n = ck_test_gradcheck(l, 1, &x, 1, 1e-6);
    cr_expect(n > 0, "nothing compared");
    ck_tensor_free(x);
    ck_layer_free(l);
}

Test(recurrent, gradcheck_every_layer_and_option)
{
    ck_status (*makers[3])(ck_layer **, const ck_rnn_opts *) = {ck_simple_rnn, ck_lstm, ck_gru};
    for (int k = 0; k < 3; k++) {
        uint64_t seed = 100 * (uint64_t)k;
        gradcheck_opts(makers[k], (ck_rnn_opts){0}, 0, seed + 1);
        gradcheck_opts(makers[k], (ck_rnn_opts){.return_sequences = true}, 0, seed + 2);
        gradcheck_opts(makers[k], (ck_rnn_opts){.return_sequences = true, .go_backwards = true}, 0, seed + 3);
        gradcheck_opts(makers[k], (ck_rnn_opts){.go_backwards = true, .no_bias = true}, 0, seed + 4);
        gradcheck_opts(makers[k], (ck_rnn_opts){.return_sequences = true}, 1, seed + 5);
        gradcheck_opts(makers[k], (ck_rnn_opts){.activation = "softsign", .return_sequences = true}, 0, seed + 6);
        /* Dropout: gradcheck re-seeds the stream, so the masks repeat. */
        gradcheck_opts(makers[k], (ck_rnn_opts){.dropout = 0.3, .recurrent_dropout = 0.4, .return_sequences = true},
                       0, seed + 7);
        if (k > 0) {
            gradcheck_opts(makers[k], (ck_rnn_opts){.recurrent_activation = "tanh", .return_sequences = true}, 0,
                           seed + 8);
            gradcheck_opts(makers[k], (ck_rnn_opts){.activation = "elu", .recurrent_activation = "softplus"}, 0,
                           seed + 9);
        }
    }
    gradcheck_opts(ck_gru, (ck_rnn_opts){.no_reset_after = true, .return_sequences = true}, 0, 401);
    gradcheck_opts(ck_gru, (ck_rnn_opts){.no_reset_after = true, .go_backwards = true, .no_bias = true}, 0, 402);
    gradcheck_opts(ck_gru, (ck_rnn_opts){.no_reset_after = true, .dropout = 0.25, .recurrent_dropout = 0.5}, 0, 403);
    gradcheck_opts(ck_gru, (ck_rnn_opts){.no_reset_after = true, .return_sequences = true}, 1, 404);
}

/* Dropout is drawn in training only, and inference ignores it. */
Test(recurrent, dropout_only_in_training)
{
    ck_layer *a = NULL, *b = NULL;
    cr_assert_eq(ck_lstm(&a, &(ck_rnn_opts){.units = 3, .dropout = 0.5, .recurrent_dropout = 0.5}), CK_OK);
    cr_assert_eq(ck_lstm(&b, &(ck_rnn_opts){.units = 3}), CK_OK);
    const int64_t shape[3] = {4, 6, 5};
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 3, shape, -1, 1, 9);
    ck_tensor *dy = ck_test_uniform(CK_FLOAT32, 2, (int64_t[]){4, 3}, -1, 1, 10);
    ck_test_expect_dropout_only_in_training(a, b, x, dy);
    ck_tensor_free(dy);
    ck_tensor_free(x);
    ck_layer_free(a);
    ck_layer_free(b);
}

/* ---- constructors, configs of other Keras versions ---------------------------- */

Test(recurrent, constructors_write_tf_keras_defaults)
{
    json_t *all = goldens();
    struct { const char *name; ck_status (*make)(ck_layer **, const ck_rnn_opts *); ck_rnn_opts o; } cases[] = {
        {"simple_default", ck_simple_rnn, {.units = 4, .name = "simple_default"}},
        {"lstm_keras2c", ck_lstm, {.units = 4, .activation = "relu", .recurrent_activation = "hard_sigmoid",
                                   .implementation = 1, .name = "lstm_keras2c"}},
        {"gru_before_seq_backwards", ck_gru, {.units = 4, .no_reset_after = true, .return_sequences = true,
                                              .go_backwards = true, .name = "gru_before_seq_backwards"}},
        {"simple_linear_nobias", ck_simple_rnn, {.units = 4, .activation = "linear", .no_bias = true,
                                                 .return_sequences = true, .name = "simple_linear_nobias"}},
        {"lstm_time_major_seq", ck_lstm, {.units = 4, .time_major = true, .return_sequences = true,
                                          .name = "lstm_time_major_seq"}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const json_t *want = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(all, i, c) if (strcmp(json_string_value(json_object_get(c, "name")), cases[k].name) == 0)
            want = json_object_get(c, "config_legacy");
        cr_assert_not_null(want);
        ck_layer *l = NULL;
        cr_assert_eq(cases[k].make(&l, &cases[k].o), CK_OK, "%s", ck_last_error());
        char *text = ck_test_config_of(l);
        json_t *root = json_loads(text, 0, NULL);
        cr_expect(json_equal(json_object_get(root, "config"), want), "%s: %s", cases[k].name, text);
        json_decref(root);
        ck_free(text);
        ck_layer_free(l);
    }
    json_decref(all);
}

Test(recurrent, constructor_errors)
{
    ck_layer *l = NULL;
    cr_expect_eq(ck_lstm(&l, NULL), CK_VALUE_ERROR);
    cr_expect_eq(ck_lstm(&l, &(ck_rnn_opts){0}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected a positive integer, got 0") != NULL, "%s", ck_last_error());
    cr_assert_eq(ck_gru(&l, &(ck_rnn_opts){.units = 2, .return_state = true}), CK_OK);
    cr_expect_eq(ck_layer_output_count(l), 2);
    ck_layer_free(l);
    cr_assert_eq(ck_simple_rnn(&l, &(ck_rnn_opts){.units = 2, .stateful = true}), CK_OK);
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3, 2)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "needs to know its batch size") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    cr_assert_eq(ck_simple_rnn(&l, &(ck_rnn_opts){.units = 2}), CK_OK);
    cr_expect_eq(ck_layer_reset_states(l), CK_ATTRIBUTE_ERROR);
    ck_layer_free(l);
    cr_expect_eq(ck_simple_rnn(&l, &(ck_rnn_opts){.units = 2, .recurrent_activation = "relu"}), CK_TYPE_ERROR);
    cr_expect_eq(ck_lstm(&l, &(ck_rnn_opts){.units = 2, .no_reset_after = true}), CK_TYPE_ERROR);
    cr_expect_eq(ck_gru(&l, &(ck_rnn_opts){.units = 2, .no_unit_forget_bias = true}), CK_TYPE_ERROR);
    cr_expect_eq(ck_lstm(&l, &(ck_rnn_opts){.units = 2, .activation = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"LSTM\", \"config\": {\"units\": 2, \"bogus\": 1}}", &l),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"SimpleRNN\", \"config\": {\"units\": 2, "
                                      "\"reset_after\": true}}", &l),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"GRU\", \"config\": {\"units\": 2, "
                                      "\"return_state\": true}}", &l),
                 CK_OK);
    cr_expect_eq(ck_layer_output_count(l), 2);
    ck_layer_free(l);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"GRU\", \"config\": {}}", &l), CK_VALUE_ERROR);
}

Test(recurrent, shapes_and_input_errors)
{
    ck_layer *l = NULL;
    ck_shape out;
    cr_assert_eq(ck_lstm(&l, &(ck_rnn_opts){.units = 3, .return_sequences = true}), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, -1, 5), &out), CK_OK);
    cr_expect(out.rank == 3 && out.dims[0] == -1 && out.dims[1] == -1 && out.dims[2] == 3);
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 2, (int64_t[]){2, 5}, -1, 1, 1), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, &x, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected ndim=3") != NULL, "%s", ck_last_error());
    ck_tensor_free(x);
    x = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){2, 0, 5}, -1, 1, 1);
    y = ck_test_call1(l, x); /* no steps: an empty sequence */
    cr_expect(y->rank == 3 && y->shape[1] == 0);
    ck_tensor_free(y);
    ck_tensor_free(x);
    x = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){2, 4, 6}, -1, 1, 1);
    cr_expect_eq(ck_layer_call(l, 1, &x, &y), CK_VALUE_ERROR); /* built for 5 features */
    ck_tensor_free(x);
    ck_layer_free(l);

    cr_assert_eq(ck_gru(&l, &(ck_rnn_opts){.units = 3, .time_major = true}), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(7, 2, 5), &out), CK_OK);
    cr_expect(out.rank == 2 && out.dims[0] == 2 && out.dims[1] == 3);
    ck_layer_free(l);
    cr_assert_eq(ck_simple_rnn(&l, &(ck_rnn_opts){.units = 3, .unroll = true}), CK_OK);
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, -1, 5), &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Cannot unroll") != NULL);
    ck_layer_free(l);
}

Test(recurrent, masks_pass_only_with_sequences)
{
    ck_layer *l = NULL;
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){2, 3, 2}, -1, 1, 1), *m = NULL, *om = NULL;
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 2, (int64_t[]){2, 3}), CK_OK);
    for (int s = 0; s < 2; s++) {
        cr_assert_eq(ck_gru(&l, &(ck_rnn_opts){.units = 3, .return_sequences = s}), CK_OK);
        cr_assert_eq(ck_layer_compute_mask(l, 1, &x, &m, &om), CK_OK);
        cr_expect_eq(om != NULL, s);
        ck_tensor_free(om);
        om = NULL;
        ck_layer_free(l);
    }
    ck_tensor_free(m);
    ck_tensor_free(x);
}

/* Keras 2.2.4's LSTM config (keras2c's example file): no time_major,
 * implementation 1, VarianceScaling. */
Test(recurrent, keras2_2_config)
{
    ck_test_round_trip(
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm_1\", \"trainable\": true, \"return_sequences\": "
        "false, \"return_state\": false, \"go_backwards\": false, \"stateful\": false, \"unroll\": false, \"units\": "
        "20, \"activation\": \"relu\", \"recurrent_activation\": \"hard_sigmoid\", \"use_bias\": true, "
        "\"kernel_initializer\": {\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 1.0, \"mode\": "
        "\"fan_avg\", \"distribution\": \"uniform\", \"seed\": null}}, \"recurrent_initializer\": {\"class_name\": "
        "\"Orthogonal\", \"config\": {\"gain\": 1.0, \"seed\": null}}, \"bias_initializer\": {\"class_name\": "
        "\"Zeros\", \"config\": {}}, \"unit_forget_bias\": true, \"kernel_regularizer\": null, "
        "\"recurrent_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
        "\"kernel_constraint\": null, \"recurrent_constraint\": null, \"bias_constraint\": null, \"dropout\": 0.0, "
        "\"recurrent_dropout\": 0.0, \"implementation\": 1}}",
        "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm_1\", \"trainable\": true, \"dtype\": \"float32\", "
        "\"return_sequences\": false, \"return_state\": false, \"go_backwards\": false, \"stateful\": false, "
        "\"unroll\": false, \"time_major\": false, \"units\": 20, \"activation\": \"relu\", \"recurrent_activation\": "
        "\"hard_sigmoid\", \"use_bias\": true, \"kernel_initializer\": {\"class_name\": \"VarianceScaling\", "
        "\"config\": {\"scale\": 1.0, \"mode\": \"fan_avg\", \"distribution\": \"uniform\", \"seed\": null}}, "
        "\"recurrent_initializer\": {\"class_name\": \"Orthogonal\", \"config\": {\"gain\": 1.0, \"seed\": null}}, "
        "\"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"unit_forget_bias\": true, "
        "\"kernel_regularizer\": null, \"recurrent_regularizer\": null, \"bias_regularizer\": null, "
        "\"activity_regularizer\": null, \"kernel_constraint\": null, \"recurrent_constraint\": null, "
        "\"bias_constraint\": null, \"dropout\": 0.0, \"recurrent_dropout\": 0.0, \"implementation\": 1}}");
    /* Keras 2.0's GRU: no reset_after key (the reset gate came before the
     * product), implementation 0. */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"GRU\", \"config\": {\"units\": 3, \"implementation\": 0, "
                                      "\"recurrent_dropout\": 0.0}}", &l),
                 CK_OK, "%s", ck_last_error());
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"implementation\": 1, \"reset_after\": false}") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

/* Keras 1.2's names. */
Test(recurrent, keras1_configs)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(
                     "{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm_1\", \"trainable\": true, "
                     "\"batch_input_shape\": [null, 10, 8], \"input_dtype\": \"float32\", \"return_sequences\": "
                     "true, \"go_backwards\": false, \"stateful\": false, \"unroll\": false, \"consume_less\": "
                     "\"gpu\", \"input_dim\": 8, \"input_length\": 10, \"output_dim\": 32, \"init\": "
                     "\"glorot_uniform\", \"inner_init\": \"orthogonal\", \"forget_bias_init\": \"one\", "
                     "\"activation\": \"tanh\", \"inner_activation\": \"hard_sigmoid\", \"W_regularizer\": null, "
                     "\"U_regularizer\": {\"l2\": 0.01, \"name\": \"WeightRegularizer\", \"l1\": 0.0}, "
                     "\"b_regularizer\": null, \"dropout_W\": 0.2, \"dropout_U\": 0.1}}",
                     &l),
                 CK_OK, "%s", ck_last_error());
    char *text = ck_test_config_of(l);
    const char *want[] = {"\"batch_input_shape\": [null, 10, 8]", "\"units\": 32", "\"return_sequences\": true",
                          "\"recurrent_activation\": \"hard_sigmoid\"", "\"dropout\": 0.2",
                          "\"recurrent_dropout\": 0.1", "\"implementation\": 1", "\"recurrent_regularizer\": {"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(text, want[i]) != NULL, "%s not in %s", want[i], text);
    ck_free(text);
    ck_layer_free(l);
    /* input_dim / input_length without batch_input_shape; a Keras 1 GRU
     * has its reset gate before the product. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"GRU\", \"config\": {\"output_dim\": 4, \"input_dim\": 3, "
                                      "\"input_length\": 7, \"consume_less\": \"cpu\"}}", &l),
                 CK_OK, "%s", ck_last_error());
    text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"batch_input_shape\": [null, 7, 3]") != NULL, "%s", text);
    cr_expect(strstr(text, "\"reset_after\": false") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"SimpleRNN\", \"config\": {\"output_dim\": 4, "
                                      "\"input_dim\": 3, \"activation\": \"relu\"}}", &l),
                 CK_OK, "%s", ck_last_error());
    text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"batch_input_shape\": [null, null, 3]") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

/* Keras 3's form: DTypePolicy, seed, no time_major / implementation. */
Test(recurrent, keras3_config)
{
    ck_layer *l = NULL;
    cr_assert_eq(
        ck_layer_from_config(
            "{\"module\": \"keras.layers\", \"class_name\": \"GRU\", \"config\": {\"name\": \"gru\", \"trainable\": "
            "true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": "
            "\"float32\"}, \"registered_name\": null}, \"return_sequences\": true, \"return_state\": false, "
            "\"go_backwards\": false, \"stateful\": false, \"unroll\": false, \"zero_output_for_mask\": false, "
            "\"units\": 8, \"activation\": \"tanh\", \"recurrent_activation\": \"sigmoid\", \"use_bias\": true, "
            "\"kernel_initializer\": {\"module\": \"keras.initializers\", \"class_name\": \"GlorotUniform\", "
            "\"config\": {\"seed\": null}, \"registered_name\": null}, \"recurrent_initializer\": {\"module\": "
            "\"keras.initializers\", \"class_name\": \"OrthogonalInitializer\", \"config\": {\"gain\": 1.0, "
            "\"seed\": null}, \"registered_name\": null}, \"bias_initializer\": {\"module\": \"keras.initializers\", "
            "\"class_name\": \"Zeros\", \"config\": {}, \"registered_name\": null}, \"kernel_regularizer\": null, "
            "\"recurrent_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
            "\"kernel_constraint\": null, \"recurrent_constraint\": null, \"bias_constraint\": null, \"dropout\": "
            "0.0, \"recurrent_dropout\": 0.0, \"reset_after\": true, \"seed\": null}, \"registered_name\": null, "
            "\"build_config\": {\"input_shape\": [null, 5, 4]}}",
            &l),
        CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_layer_weight_count(l), 3);
    ck_tensor *b = ck_weight_value(ck_layer_weight(l, 2));
    cr_expect(b->rank == 2 && b->shape[0] == 2 && b->shape[1] == 24);
    ck_layer_free(l);
}

/* LSTM's unit_forget_bias: the forget block of the bias starts at 1. */
Test(recurrent, unit_forget_bias)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_lstm(&l, &(ck_rnn_opts){.units = 2}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3, 4)), CK_OK);
    ck_tensor *b = ck_weight_value(ck_layer_weight(l, 2));
    const float want[8] = {0, 0, 1, 1, 0, 0, 0, 0};
    for (int i = 0; i < 8; i++) cr_expect_eq(((float *)b->data)[i], want[i]);
    ck_layer_free(l);
}

static ck_status rnn_run(void *ctx)
{
    ck_tensor **slot = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_gru(&l, &(ck_rnn_opts){.units = 3, .return_sequences = true});
    if (st != CK_OK) return st;
    ck_tensor *x = NULL;
    st = ck_tensor_new(&x, CK_FLOAT32, 3, (int64_t[]){2, 4, 3});
    if (st == CK_OK) st = ck_layer_call(l, 1, &x, slot);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

static void free_slot(void *ctx) { ck_tensor_free(*(ck_tensor **)ctx); }

Test(recurrent, failing_allocations)
{
    ck_tensor *y = NULL;
    cr_expect_gt(ck_test_every_allocation_fails(rnn_run, free_slot, &y), 3);
}

/* ---- the real file: keras2c's example (Keras 2.2.4: Dense on a sequence,
 * LSTM relu / hard_sigmoid, Dense), against tf.keras 2.15's predictions
 * (tests/data/keras_expected/keras2c-example, from the generator). ---- */
Test(recurrent, keras2c_example_predicts_like_keras)
{
    const char *p = ck_test_shared("keras/keras2c-example/model.h5");
    if (!p || access(p, R_OK) != 0) cr_skip_test("../shared/testdata is absent");
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(p, &m), CK_OK, "%s", ck_last_error());
    ck_tensor *x = NULL, *want = NULL, *y = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data("keras_expected/keras2c-example/inputs.npy"), &x), CK_OK);
    cr_assert_eq(ck_npy_load(ck_test_data("keras_expected/keras2c-example/expected.npy"), &want), CK_OK);
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 0), CK_OK, "%s", ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "max abs error %g", err);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}

/* ---- training through a model: fit lowers the loss ------------------------------ */

static double mse(ck_model *m, ck_tensor *x, const ck_tensor *y)
{
    ck_tensor *p = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &p, 0), CK_OK, "%s", ck_last_error());
    double s = 0;
    for (int64_t i = 0; i < p->size; i++) {
        double d = ck_tensor_get(p, i) - ck_tensor_get(y, i);
        s += d * d;
    }
    ck_tensor_free(p);
    return s / (double)y->size;
}

Test(recurrent, fit_a_stack_of_recurrent_layers)
{
    ck_layer *layers[4] = {0};
    cr_assert_eq(ck_gru(&layers[0], &(ck_rnn_opts){.units = 8, .return_sequences = true}), CK_OK);
    cr_assert_eq(ck_lstm(&layers[1], &(ck_rnn_opts){.units = 6, .return_sequences = true, .go_backwards = true,
                                                   .dropout = 0.1, .recurrent_dropout = 0.1}),
                 CK_OK);
    cr_assert_eq(ck_simple_rnn(&layers[2], &(ck_rnn_opts){.units = 4}), CK_OK);
    cr_assert_eq(ck_dense(&layers[3], &(ck_dense_opts){.units = 1}), CK_OK);
    ck_model *m = NULL;
    ck_set_random_seed(3);
    cr_assert_eq(ck_sequential(&m, 4, layers, &CK_TEST_SHAPE(6, 2), NULL), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < 4; i++) ck_layer_free(layers[i]);
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "adam", .loss = "mse"}), CK_OK, "%s",
                 ck_last_error());
    /* Target: the mean of the first feature over the sequence. */
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){64, 6, 2}, -1, 1, 21), *y = NULL;
    cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, 2, (int64_t[]){64, 1}), CK_OK);
    for (int64_t b = 0; b < 64; b++) {
        double s = 0;
        for (int t = 0; t < 6; t++) s += ((float *)x->data)[(b * 6 + t) * 2];
        ((float *)y->data)[b] = (float)(s / 6);
    }
    double before = mse(m, x, y);
    cr_assert_eq(ck_model_fit(m, 1, &x, 1, &y,
                              &(ck_fit_opts){.epochs = 40, .batch_size = 16, .verbose = ck_int(0), .seed = ck_int(1)},
                              NULL),
                 CK_OK, "%s", ck_last_error());
    double after = mse(m, x, y);
    cr_expect_lt(after, before * 0.5, "mse %g -> %g", before, after);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
}

/* ---- files: tf.keras 2.15's .h5 and .keras (weights under
 * layers/<name>/cell/vars) load and predict; ckeras' saves load again. ---- */

Test(recurrent, saved_files_load_and_save)
{
    ck_tensor *x = ck_test_npy("recurrent/rnn_model_x"), *want = ck_test_npy("recurrent/rnn_model_y");
    const char *names[2] = {"rnn_model.h5", "rnn_model.keras"};
    for (int i = 0; i < 2; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "layers/recurrent/%s", names[i]);
        ck_test_expect_file_predicts(ck_test_data(rel), x, want);
        ck_test_expect_file_predicts(ck_test_saved_again(ck_test_data(rel), names[i]), x, want);
    }
    ck_tensor_free(x);
    ck_tensor_free(want);
}

/* Stateful layers against tf.keras: states carry over between calls and
 * reset_states zeros them (stateful.json). */
Test(recurrent, stateful_against_tf)
{
    json_t *all = ck_test_load_json(ck_test_data("layers/recurrent/stateful.json"));
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_tensor *x1 = ck_test_golden_tensor(json_object_get(c, "x1"), CK_FLOAT32);
        ck_tensor *x2 = ck_test_golden_tensor(json_object_get(c, "x2"), CK_FLOAT32);
        json_t *cfg = json_deep_copy(json_object_get(c, "config"));
        json_object_set_new(cfg, "batch_input_shape", json_pack("[iii]", (int)x1->shape[0], (int)x1->shape[1],
                                                                 (int)x1->shape[2]));
        json_t *wrap = layer_config(c, cfg);
        json_decref(cfg);
        ck_layer *l = ck_test_layer_from_json(wrap);
        json_decref(wrap);
        ck_shape s = ck_tensor_shape(x1);
        cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
        ck_test_set_golden_weights(l, json_object_get(c, "weights"), CK_FLOAT32);
        const char *keys[3] = {"y1", "y2", "y3"};
        ck_tensor *xs[3] = {x1, x2, x2};
        for (int k = 0; k < 3; k++) {
            if (k == 2) cr_assert_eq(ck_layer_reset_states(l), CK_OK);
            ck_tensor *y = ck_test_call1(l, xs[k]);
            ck_tensor *want = ck_test_golden_tensor(json_object_get(c, keys[k]), CK_FLOAT32);
            ck_test_expect_close(name, keys[k], -1, y, want, 2e-6);
            ck_tensor_free(y);
            ck_tensor_free(want);
        }
        /* Another batch size than the states': Keras' shapes clash too. */
        ck_tensor *one = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){1, x1->shape[1], x1->shape[2]}, -1, 1, 3), *y;
        cr_expect_eq(ck_layer_call(l, 1, &one, &y), CK_VALUE_ERROR, "%s", name);
        ck_tensor_free(one);
        ck_tensor_free(x1);
        ck_tensor_free(x2);
        ck_layer_free(l);
    }
    json_decref(all);
}

/* model.reset_states(): through the model layer, to the layers inside. */
Test(recurrent, model_reset_states)
{
    ck_layer *layers[2] = {0};
    cr_assert_eq(ck_gru(&layers[0], &(ck_rnn_opts){.units = 3, .stateful = true, .return_sequences = true,
                                                  .batch_size = 2, .input_shape = {2, {4, 2}}}),
                 CK_OK);
    cr_assert_eq(ck_lstm(&layers[1], &(ck_rnn_opts){.units = 2, .stateful = true}), CK_OK);
    ck_model *m = NULL;
    cr_assert_eq(ck_sequential(&m, 2, layers, NULL, NULL), CK_OK, "%s", ck_last_error());
    ck_layer_free(layers[0]);
    ck_layer_free(layers[1]);
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){2, 4, 2}, -1, 1, 8), *y[3] = {0};
    for (int k = 0; k < 3; k++) {
        if (k == 2) cr_assert_eq(ck_layer_reset_states(ck_model_layer(m)), CK_OK, "%s", ck_last_error());
        cr_assert_eq(ck_model_predict(m, 1, &x, &y[k], 0), CK_OK, "%s", ck_last_error());
    }
    cr_expect_gt(ck_test_max_abs_diff(y[0], y[1]), 1e-4);
    cr_expect_eq(ck_test_max_abs_diff(y[0], y[2]), 0.0);
    for (int k = 0; k < 3; k++) ck_tensor_free(y[k]);
    ck_tensor_free(x);
    ck_model_free(m);
}
