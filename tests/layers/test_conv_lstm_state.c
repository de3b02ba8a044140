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
#include "support/support.h"

#define MAX_OUT 3

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm_state/goldens.json")); }

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

/* The layer of tf.keras' config in `dt`, built on `shape`, with weights. */
static ck_layer *layer_of(const json_t *config, const json_t *weights, ck_dtype dt, const ck_shape *shape)
{
    json_t *wrap = json_deep_copy(config);
    json_object_set_new(json_object_get(wrap, "config"), "dtype", json_string(dt == CK_FLOAT32 ? "float32" : "float64"));
    char *text = json_dumps(wrap, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    json_decref(wrap);
    cr_assert_eq(ck_layer_build(l, 1, shape), CK_OK, "%s", ck_last_error());
    int n = (int)json_array_size(weights);
    ck_tensor *w[3] = {0};
    cr_assert_leq(n, 3);
    for (int i = 0; i < n; i++) w[i] = fx(json_array_get(weights, (size_t)i), dt);
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
    return l;
}

static void expect_close(const char *name, const char *what, int k, const ck_tensor *got, const ck_tensor *want,
                         double tol)
{
    cr_assert_eq(got->rank, want->rank, "%s %s %d: rank %d, TF %d", name, what, k, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s %s %d: dim %d", name, what, k, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= tol * (1 + fabs(e)), "%s %s %d [%lld]: got %.12g, TF %.12g", name, what, k,
                  (long long)i, g, e);
    }
}

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
            ck_tensor *x = fx(json_object_get(c, "x"), dts[d]);
            ck_shape s = ck_tensor_shape(x);
            ck_layer *l = layer_of(json_object_get(c, "layer"), json_object_get(c, "weights"), dts[d], &s);
            cr_assert_eq(ck_layer_output_count(l), 3, "%s", name);
            ck_tensor *out[MAX_OUT] = {NULL};
            int n_out = 0;
            cr_assert_eq(ck_layer_call_multi(l, 1, &x, MAX_OUT, out, &n_out), CK_OK, "%s: %s", name,
                         ck_last_error());
            cr_assert_eq(n_out, 3, "%s", name);
            for (int k = 0; k < 3; k++) {
                ck_tensor *want = fx(json_array_get(ys, (size_t)k), dts[d]);
                expect_close(name, "y", k, out[k], want, d ? 1e-12 : 1e-5);
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
        const json_t *f64 = json_object_get(c, "f64"), *dys = json_object_get(c, "dy");
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT64), *dx = NULL;
        ck_shape is = ck_tensor_shape(x), os[MAX_OUT];
        ck_layer *l = layer_of(json_object_get(c, "layer"), json_object_get(c, "weights"), CK_FLOAT64, &is);
        int n_out = 0, nw = ck_layer_trainable_weight_count(l);
        cr_assert_eq(ck_layer_compute_output_shapes(l, 1, &is, MAX_OUT, os, &n_out), CK_OK);
        cr_assert_eq(n_out, 3, "%s", name);
        ck_tensor *ys[MAX_OUT], *dyt[MAX_OUT], *grads[3];
        ck_tensor yh[MAX_OUT], dh[MAX_OUT];
        for (int k = 0; k < 3; k++) {
            cr_assert_eq(ck_tensor_new(&ys[k], CK_FLOAT64, os[k].rank, os[k].dims), CK_OK);
            dyt[k] = fx(json_array_get(dys, (size_t)k), CK_FLOAT64);
        }
        cr_assert_leq(nw, 3);
        for (int j = 0; j < nw; j++) {
            const ck_tensor *v = ck_weight_value(ck_layer_trainable_weight(l, j));
            cr_assert_eq(ck_tensor_new(&grads[j], CK_FLOAT64, v->rank, v->shape), CK_OK);
            ck_layer_trainable_weight(l, j)->grad = grads[j];
        }
        size_t bytes = ck_layer_saved_bytes(l, 1, &is, os);
        cr_assert_neq(bytes, SIZE_MAX, "%s", ck_last_error());
        void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
        ck_rng rng;
        ck_rng_seed(&rng, 3);
        ck_train_ctx ctx = {.training = 1, .rng = &rng};
        const ck_tensor *ins[1] = {x};
        cr_assert_eq(ck_layer_train_call(l, &ctx, 1, ins, ys, saved), CK_OK, "%s: %s", name, ck_last_error());
        for (int k = 0; k < 3; k++) {
            ck_tensor *w = fx(json_array_get(json_object_get(f64, "y"), (size_t)k), CK_FLOAT64);
            expect_close(name, "training output", k, ys[k], w, 1e-12);
            ck_tensor_free(w);
            yh[k] = *ys[k], dh[k] = *dyt[k];
        }
        cr_assert_eq(ck_tensor_new(&dx, CK_FLOAT64, x->rank, x->shape), CK_OK);
        cr_assert_eq(ck_layer_backward(l, &ctx, 1, ins, yh, dh, saved, &dx), CK_OK, "%s: %s", name,
                     ck_last_error());
        ck_tensor *want = fx(json_object_get(f64, "dx"), CK_FLOAT64);
        expect_close(name, "dx", 0, dx, want, 1e-10);
        ck_tensor_free(want);
        const json_t *dws = json_object_get(f64, "dweights");
        cr_assert_eq((int)json_array_size(dws), nw, "%s", name);
        for (int j = 0; j < nw; j++) {
            want = fx(json_array_get(dws, (size_t)j), CK_FLOAT64);
            expect_close(name, "dweight", j, grads[j], want, 1e-10);
            ck_tensor_free(want);
            ck_layer_trainable_weight(l, j)->grad = NULL;
            ck_tensor_free(grads[j]);
        }
        for (int k = 0; k < 3; k++) ck_tensor_free(ys[k]), ck_tensor_free(dyt[k]);
        free(saved);
        ck_tensor_free(dx);
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
    ck_model *model = NULL;
    const char *path = ck_test_data(file);
    cr_assert_eq(ck_model_load(path, &model), CK_OK, "%s: %s", path, ck_last_error());
    cr_assert_eq(ck_model_output_count(model), 2, "%s", file);
    ck_tensor *x[1] = {fx(json_object_get(m, "x"), CK_FLOAT32)}, *y[2] = {NULL};
    cr_assert_eq(ck_model_predict(model, 1, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    for (int k = 0; k < 2; k++) {
        ck_tensor *want = fx(json_array_get(json_object_get(m, "y"), (size_t)k), CK_FLOAT32);
        expect_close(file, "prediction", k, y[k], want, 1e-5);
        ck_tensor_free(want);
    }
    cr_assert_eq(ck_model_predict_into(model, 1, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(model, 1, x, y, 0);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning: %s", file, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", file, attempts);
    for (int k = 0; k < 2; k++) ck_tensor_free(y[k]);
    ck_tensor_free(x[0]);
    ck_model_free(model);
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
