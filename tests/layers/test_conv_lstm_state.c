/* ConvLSTM1D / 2D / 3D with return_state=True against tf.keras 2.15
 * (tools/gen_conv_lstm_state_goldens.py): the outputs [output, h, c],
 * gradients flowing back from all three (d loss / d x and the weights'),
 * the config round trip, and tf.keras .h5 / .keras models feeding the
 * states to other layers, predicted without allocating. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/golden_model.h"
#include "support/support.h"

#define MAX_OUT 3

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm_state/goldens.json")); }

/* [output, h, c] in float32 and float64, and the config written back
 * with return_state. */
Test(conv_lstm_state, outputs_and_config_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(all, "cases"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *ys = json_object_get(json_object_get(c, "f64"), "y");
        ck_dtype dts[2] = {CK_FLOAT32, CK_FLOAT64};
        for (int d = 0; d < 2; d++) {
            ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), dts[d]);
            ck_shape s = ck_tensor_shape(x);
            ck_layer *l = ck_test_golden_layer(json_object_get(c, "layer"), json_object_get(c, "weights"), dts[d], &s);
            cr_assert_eq(ck_layer_output_count(l), 3, "%s", name);
            ck_tensor *out[MAX_OUT] = {NULL};
            int n_out = 0;
            cr_assert_eq(ck_layer_call_multi(l, 1, &x, MAX_OUT, out, &n_out), CK_OK, "%s: %s", name,
                         ck_last_error());
            cr_assert_eq(n_out, 3, "%s", name);
            for (int k = 0; k < 3; k++) {
                ck_tensor *want = ck_test_golden_tensor(json_array_get(ys, (size_t)k), dts[d]);
                ck_test_expect_close(name, "y", k, out[k], want, d ? 1e-12 : 1e-5);
                ck_tensor_free(want);
                ck_tensor_free(out[k]);
            }
            char *text = NULL;
            cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
            cr_expect(strstr(text, "\"return_state\": true") != NULL, "%s: %s", name, text);
            ck_free(text);
            ck_tensor_free(x);
            ck_layer_free(l);
        }
    }
    json_decref(all);
}

/* One training step, loss = sum_k sum(y_k * dy_k): the states'
 * gradients reach the input and the weights as in tf.GradientTape. */
Test(conv_lstm_state, gradients_through_the_states_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(all, "cases"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *dys = json_object_get(c, "dy");
        ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), CK_FLOAT64);
        ck_shape is = ck_tensor_shape(x);
        ck_layer *l = ck_test_golden_layer(json_object_get(c, "layer"), json_object_get(c, "weights"), CK_FLOAT64, &is);
        cr_assert_eq(json_array_size(dys), 3, "%s", name); /* [output, h, c], as many as the layer's outputs */
        ck_test_expect_multi_step_like_tf(name, l, x, dys, json_object_get(c, "f64"), 1e-10);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
    json_decref(all);
}

/* tf.keras' model: ConvLSTM2D(return_sequences, return_state), h + c
 * into a Conv2D; outputs [conv, sequence], loaded from .h5 and .keras,
 * predicted within 1e-5 and, once planned, without allocating. */
static void expect_model(const char *file)
{
    json_t *all = goldens();
    const json_t *m = json_object_get(all, "model");
    cr_assert_eq(json_array_size(json_object_get(m, "y")), 2, "%s", file);
    ck_tensor *x[1] = {ck_test_golden_tensor(json_object_get(m, "x"), CK_FLOAT32)};
    ck_test_expect_model_file_like_tf(file, 1, x, json_object_get(m, "y"));
    ck_tensor_free(x[0]);
    json_decref(all);
}

Test(conv_lstm_state, h5_model_using_the_states) { expect_model("layers/conv_lstm_state/model.h5"); }

Test(conv_lstm_state, keras_model_using_the_states) { expect_model("layers/conv_lstm_state/model.keras"); }

static int same_shape(const ck_shape *a, const ck_shape *b)
{
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

/* The C options give the same layer. */
Test(conv_lstm_state, options_return_state)
{
    ck_conv_lstm_opts o = {.filters = 2, .kernel_size = {2, 2}, .return_state = true, .return_sequences = true};
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv_lstm2d(&l, &o), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_output_count(l), 3);
    ck_shape in = {5, {2, 4, 5, 6, 3}}, out[MAX_OUT];
    int n = 0;
    cr_assert_eq(ck_layer_compute_output_shapes(l, 1, &in, MAX_OUT, out, &n), CK_OK, "%s", ck_last_error());
    cr_assert_eq(n, 3);
    ck_shape seq = {5, {2, 4, 4, 5, 2}}, state = {4, {2, 4, 5, 2}};
    cr_expect(same_shape(&out[0], &seq));
    cr_expect(same_shape(&out[1], &state));
    cr_expect(same_shape(&out[2], &state));
    ck_layer_free(l);
}
