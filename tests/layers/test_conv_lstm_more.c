/* ConvLSTM beyond tests/layers/test_conv_lstm.c: data_format
 * "channels_first" and stateful=True against tf.keras 2.15
 * (tools/gen_conv_lstm_more_goldens.py), and dropout / recurrent_dropout
 * in training.  TensorFlow's random stream is not ckeras', so dropout is
 * checked by structure: one mask per sample held over every step, values
 * 0 or 1 / (1 - rate), gradients through the masks by central
 * differences, inference untouched. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static void set(ck_tensor *t, int64_t i, double v)
{
    if (t->dtype == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
    else ((double *)t->data)[i] = v;
}

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm_more/goldens.json")); }

/* ---- channels_first ---------------------------------------------------------- */

/* Outputs, d loss / d x and the weights' gradients of channels_first
 * layers as Keras defines them, the config written back as tf.keras. */
Test(conv_lstm_more, channels_first_against_tf)
{
    json_t *all = goldens();
    const json_t *cases = json_object_get(all, "channels_first");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *f64 = json_object_get(c, "f64");
        ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), CK_FLOAT64);
        ck_tensor *dy = ck_test_golden_tensor(json_object_get(c, "dy"), CK_FLOAT64);
        ck_shape s = ck_tensor_shape(x);
        ck_layer *l = ck_test_golden_layer(json_object_get(c, "layer"), json_object_get(c, "weights"), CK_FLOAT64, &s);
        ck_tensor *want = ck_test_golden_tensor(json_object_get(f64, "y"), CK_FLOAT64), *y = ck_test_call1(l, x);
        ck_test_expect_close(name, "y", -1, y, want, 1e-12);
        ck_tensor_free(y);
        ck_tensor_free(want);
        ck_test_expect_step_like_tf(name, l, x, dy, f64, 1e-12, 1e-11);
        /* get_config writes the data_format back. */
        char *text = NULL;
        cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
        cr_expect(strstr(text, "\"data_format\": \"channels_first\"") != NULL, "%s: %s", name, text);
        ck_free(text);
        ck_tensor_free(x);
        ck_tensor_free(dy);
        ck_layer_free(l);
    }
    json_decref(all);
}

/* ---- stateful ----------------------------------------------------------------- */

/* The states of the first call start the second one; reset_states zeros
 * them (tf.keras' outputs for x1, x2, then x2 after the reset). */
Test(conv_lstm_more, stateful_two_calls_against_tf)
{
    json_t *all = goldens();
    const json_t *c = json_object_get(all, "stateful");
    ck_tensor *x1 = ck_test_golden_tensor(json_object_get(c, "x1"), CK_FLOAT32);
    ck_tensor *x2 = ck_test_golden_tensor(json_object_get(c, "x2"), CK_FLOAT32);
    ck_shape s = ck_tensor_shape(x1);
    ck_layer *l = ck_test_golden_layer(json_object_get(c, "layer"), json_object_get(c, "weights"), CK_FLOAT32, &s);
    const char *keys[3] = {"y1", "y2", "y3"};
    ck_tensor *xs[3] = {x1, x2, x2};
    for (int k = 0; k < 3; k++) {
        if (k == 2) cr_assert_eq(ck_layer_reset_states(l), CK_OK, "%s", ck_last_error());
        ck_tensor *want = ck_test_golden_tensor(json_object_get(c, keys[k]), CK_FLOAT32), *y = ck_test_call1(l, xs[k]);
        ck_test_expect_close("stateful", keys[k], -1, y, want, 1e-5);
        ck_tensor_free(want);
        ck_tensor_free(y);
    }
    /* Another batch size than the one built for is refused. */
    ck_shape half = s;
    half.dims[0] = 1;
    ck_tensor *x_half = NULL;
    cr_assert_eq(ck_tensor_new(&x_half, CK_FLOAT32, half.rank, half.dims), CK_OK);
    ck_tensor *y = NULL;
    cr_expect_neq(ck_layer_call(l, 1, &x_half, &y), CK_OK);
    ck_tensor_free(y);
    ck_tensor_free(x_half);
    char *text = NULL;
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
    cr_expect(strstr(text, "\"stateful\": true") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
    /* A layer that is not stateful cannot be reset, as Keras says. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"ConvLSTM1D\", \"config\": {\"filters\": 2, \"kernel_size\": "
                                      "2}}", &l), CK_OK);
    cr_expect_eq(ck_layer_reset_states(l), CK_ATTRIBUTE_ERROR);
    cr_expect(strstr(ck_last_error(), "Layer must be stateful.") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    ck_tensor_free(x1);
    ck_tensor_free(x2);
    json_decref(all);
}

/* The same through a model: predict carries the states, the model's
 * reset_states reaches the ConvLSTM inside, and the steady-state predict
 * allocates nothing. */
Test(conv_lstm_more, stateful_model_predict_and_reset)
{
    json_t *all = goldens();
    const json_t *c = json_object_get(all, "stateful");
    json_t *layer = json_deep_copy(json_object_get(c, "layer"));
    json_object_set_new(json_object_get(layer, "config"), "name", json_string("clstm"));
    json_t *model = json_pack("{s:s, s:{s:s, s:[{s:s, s:{s:[i,i,i,i,i], s:s}}, o]}}", "class_name", "Sequential",
                              "config", "name", "s", "layers", "class_name", "InputLayer", "config",
                              "batch_input_shape", 2, 3, 5, 4, 2, "name", "in", layer);
    char *text = json_dumps(model, 0);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(text, &m), CK_OK, "%s", ck_last_error());
    free(text);
    json_decref(model);
    ck_layer *l = NULL;
    cr_assert_eq(ck_model_get_layer(m, "clstm", &l), CK_OK, "%s", ck_last_error());
    cr_assert_eq(json_array_size(json_object_get(c, "weights")), 3);
    ck_test_set_golden_weights(l, json_object_get(c, "weights"), CK_FLOAT32);
    ck_tensor *x1 = ck_test_golden_tensor(json_object_get(c, "x1"), CK_FLOAT32);
    ck_tensor *x2 = ck_test_golden_tensor(json_object_get(c, "x2"), CK_FLOAT32);
    ck_tensor *y = NULL, *want = ck_test_golden_tensor(json_object_get(c, "y1"), CK_FLOAT32);
    cr_assert_eq(ck_model_predict(m, 1, &x1, &y, 2), CK_OK, "%s", ck_last_error());
    ck_test_expect_close("model", "y1", -1, y, want, 1e-5);
    ck_tensor_free(want);
    want = ck_test_golden_tensor(json_object_get(c, "y2"), CK_FLOAT32);
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 1, &x2, &y, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_assert_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    ck_test_expect_close("model", "y2", -1, y, want, 1e-5);
    ck_tensor_free(want);
    cr_assert_eq(ck_layer_reset_states(ck_model_layer(m)), CK_OK, "%s", ck_last_error());
    want = ck_test_golden_tensor(json_object_get(c, "y3"), CK_FLOAT32);
    cr_assert_eq(ck_model_predict_into(m, 1, &x2, &y, 2), CK_OK, "%s", ck_last_error());
    ck_test_expect_close("model", "y3", -1, y, want, 1e-5);
    ck_tensor_free(want);
    ck_tensor_free(y);
    ck_tensor_free(x1);
    ck_tensor_free(x2);
    ck_model_free(m);
    json_decref(all);
}

/* ---- dropout -------------------------------------------------------------------- */

/* A ConvLSTM2D(1 filter, 1x1 kernel) on one channel with linear
 * activations and weights that make the cell readable: only the input
 * gate sees x_t (kernel [1, 0, 0, 0]) and h_prev (recurrent kernel
 * [r, 0, 0, 0]); biases i, f, c, o = 0.5, 0.5, 1, 1.  Then
 *   c_t = 0.5 c_{t-1} + x_t * mi + 0.5 + r * h_{t-1} * mr,   h_t = c_t,
 * with mi / mr the input gate's input and recurrent masks. */
static ck_layer *readable_layer(double dropout, double recurrent_dropout, double r, const ck_shape *s)
{
    char text[512];
    snprintf(text, sizeof text,
             "{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 1, \"kernel_size\": 1, \"activation\": "
             "\"linear\", \"recurrent_activation\": \"linear\", \"return_sequences\": true, \"dropout\": %g, "
             "\"recurrent_dropout\": %g, \"dtype\": \"float64\"}}",
             dropout, recurrent_dropout);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_build(l, 1, s), CK_OK, "%s", ck_last_error());
    ck_tensor *w[3] = {0};
    const int64_t ks[4] = {1, 1, 1, 4}, bs[1] = {4};
    const double kv[4] = {1, 0, 0, 0}, rv[4] = {r, 0, 0, 0}, bv[4] = {0.5, 0.5, 1, 1};
    cr_assert_eq(ck_tensor_new(&w[0], CK_FLOAT64, 4, ks), CK_OK);
    cr_assert_eq(ck_tensor_new(&w[1], CK_FLOAT64, 4, ks), CK_OK);
    cr_assert_eq(ck_tensor_new(&w[2], CK_FLOAT64, 1, bs), CK_OK);
    for (int i = 0; i < 4; i++) {
        set(w[0], i, kv[i]);
        set(w[1], i, rv[i]);
        set(w[2], i, bv[i]);
    }
    cr_assert_eq(ck_layer_set_weights(l, 3, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < 3; i++) ck_tensor_free(w[i]);
    return l;
}

/* Input dropout: the model is linear in x, so d loss / d x_t in training
 * over the same without dropout is the input gate's mask at that element:
 * 0 or 1 / (1 - rate), the same at every step, about `rate` of them 0. */
Test(conv_lstm_more, dropout_mask_held_over_time_and_scaled)
{
    const int64_t B = 2, T = 4, H = 8, W = 8, P = H * W;
    const int64_t shape[5] = {B, T, H, W, 1};
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 5, shape, -1, 1, 21), *dy = ck_test_uniform(CK_FLOAT64, 5, shape, -1, 1, 22);
    ck_shape s = ck_tensor_shape(x);
    ck_layer *l = readable_layer(0.5, 0, 0, &s);
    ck_test_step plain, drop;
    ck_test_train_step(l, x, dy, 0, 3, &plain);
    ck_test_train_step(l, x, dy, 1, 3, &drop);
    int64_t zeros = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t p = 0; p < P; p++) {
            double m0 = ck_tensor_get(drop.dx, (b * T) * P + p) / ck_tensor_get(plain.dx, (b * T) * P + p);
            cr_expect(fabs(m0) < 1e-12 || fabs(m0 - 2) < 1e-9, "mask %g at row %lld position %lld", m0, (long long)b,
                      (long long)p);
            zeros += fabs(m0) < 1e-12;
            for (int64_t t = 1; t < T; t++) {
                int64_t i = (b * T + t) * P + p;
                double m = ck_tensor_get(drop.dx, i) / ck_tensor_get(plain.dx, i);
                cr_expect(fabs(m - m0) < 1e-9, "the mask at step %lld (%g) is not step 0's (%g)", (long long)t, m, m0);
            }
        }
    cr_expect(zeros > B * P / 4 && zeros < 3 * B * P / 4, "%lld of %lld dropped at rate 0.5", (long long)zeros,
              (long long)(B * P));
    ck_test_step_free(&plain);
    ck_test_step_free(&drop);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

/* Recurrent dropout: the mask read off step 1 (c_1 from c_0, h_0)
 * predicts every later step. */
Test(conv_lstm_more, recurrent_dropout_mask_held_over_time)
{
    const int64_t B = 2, T = 4, H = 6, W = 6, P = H * W;
    const int64_t shape[5] = {B, T, H, W, 1};
    const double r = 0.7;
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 5, shape, 0.5, 1, 23), *dy = ck_test_uniform(CK_FLOAT64, 5, shape, -1, 1, 24);
    ck_shape s = ck_tensor_shape(x);
    ck_layer *l = readable_layer(0, 0.5, r, &s);
    ck_test_step st;
    ck_test_train_step(l, x, dy, 1, 5, &st);
    int64_t zeros = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t p = 0; p < P; p++) {
#define AT(t) ((b * T + (t)) * P + p)
            double h0 = ck_tensor_get(st.y, AT(0)), h1 = ck_tensor_get(st.y, AT(1));
            cr_assert(fabs(h0 - (ck_tensor_get(x, AT(0)) + 0.5)) < 1e-12);
            double m = (h1 - 0.5 * h0 - ck_tensor_get(x, AT(1)) - 0.5) / (r * h0);
            cr_expect(fabs(m) < 1e-9 || fabs(m - 2) < 1e-9, "recurrent mask %g", m);
            zeros += fabs(m) < 1e-9;
            double prev = h1;
            for (int64_t t = 2; t < T; t++) {
                double want = 0.5 * prev + ck_tensor_get(x, AT(t)) + 0.5 + r * prev * m;
                cr_expect(fabs(ck_tensor_get(st.y, AT(t)) - want) < 1e-9, "step %lld: %g, with step 1's mask %g",
                          (long long)t, ck_tensor_get(st.y, AT(t)), want);
                prev = ck_tensor_get(st.y, AT(t));
            }
#undef AT
        }
    cr_expect(zeros > B * P / 4 && zeros < 3 * B * P / 4, "%lld of %lld dropped", (long long)zeros, (long long)(B * P));
    ck_test_step_free(&st);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

/* Gradients through the masks by central differences (gradcheck re-seeds
 * the stream, so the masks repeat), for channels_last and channels_first,
 * one input channel (the stacked convolution is then depthwise) and two. */
Test(conv_lstm_more, dropout_gradcheck)
{
    static const char *const configs[] = {
        "{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, \"padding\": \"same\", "
        "\"return_sequences\": true, \"dropout\": 0.3, \"recurrent_dropout\": 0.4, \"dtype\": \"float64\"}}",
        "{\"class_name\": \"ConvLSTM1D\", \"config\": {\"filters\": 2, \"kernel_size\": 2, \"strides\": 2, "
        "\"dropout\": 0.5, \"recurrent_dropout\": 0.2, \"go_backwards\": true, \"dtype\": \"float64\"}}",
        "{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 2, \"kernel_size\": 2, \"data_format\": "
        "\"channels_first\", \"return_sequences\": true, \"dropout\": 0.3, \"recurrent_dropout\": 0.4, \"dtype\": "
        "\"float64\"}}",
    };
    const int64_t shapes[3][5] = {{2, 3, 4, 4, 2}, {2, 3, 6, 1, 0}, {1, 3, 2, 4, 3}};
    const int ranks[3] = {5, 4, 5};
    for (int k = 0; k < 3; k++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(configs[k], &l), CK_OK, "%s", ck_last_error());
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, ranks[k], shapes[k], -1, 1, 30 + (uint64_t)k);
        ck_shape s = ck_tensor_shape(x);
        cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", configs[k]);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* Inference ignores the rates: predict, and a training=0 call, equal the
 * same layer without dropout. */
Test(conv_lstm_more, dropout_only_in_training)
{
    const int64_t shape[5] = {2, 3, 5, 5, 2};
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 5, shape, -1, 1, 41);
    ck_layer *a = NULL, *b = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 3, \"kernel_size\": "
                                      "3, \"padding\": \"same\", \"dropout\": 0.5, \"recurrent_dropout\": 0.5}}", &a),
                 CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 3, \"kernel_size\": "
                                      "3, \"padding\": \"same\"}}", &b), CK_OK);
    ck_tensor *dy = ck_test_uniform(CK_FLOAT32, 4, (int64_t[]){2, 5, 5, 3}, -1, 1, 42);
    ck_test_expect_dropout_only_in_training(a, b, x, dy);
    ck_tensor_free(dy);
    ck_tensor_free(x);
    ck_layer_free(a);
    ck_layer_free(b);
}
