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
#include "support/gradcheck.h"
#include "support/support.h"

#define MAX_OUT 8

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/rnn_wrappers/multi_goldens.json")); }

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

/* Sets every "dtype" key of a config tree (the wrapper's and the inner
 * layers'). */
static void set_dtypes(json_t *v, const char *dtype)
{
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (strcmp(key, "dtype") == 0) json_object_set_new(v, key, json_string(dtype));
            else set_dtypes(item, dtype);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, item) set_dtypes(item, dtype);
    }
}

/* The case's layer from tf.keras' config in `dt`, built on x, with the
 * fixture's weights. */
static ck_layer *case_layer(const json_t *c, ck_dtype dt, const ck_tensor *x)
{
    json_t *wrap = json_deep_copy(json_object_get(c, "layer"));
    set_dtypes(wrap, dt == CK_FLOAT32 ? "float32" : "float64");
    char *text = json_dumps(wrap, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    json_decref(wrap);
    ck_shape s = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
    const json_t *ws = json_object_get(c, "weights");
    int n = (int)json_array_size(ws);
    ck_tensor *w[16] = {0};
    cr_assert_leq(n, 16);
    for (int i = 0; i < n; i++) w[i] = fx(json_array_get(ws, (size_t)i), dt);
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
    return l;
}

static void expect_close(const char *name, const char *what, int k, const ck_tensor *got, const ck_tensor *want,
                         double atol)
{
    cr_assert_eq(got->rank, want->rank, "%s %s %d: rank %d, TF %d", name, what, k, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s %s %d: dim %d", name, what, k, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= atol * (1 + fabs(e)), "%s %s %d [%lld]: got %.12g, TF %.12g", name, what, k,
                  (long long)i, g, e);
    }
}

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
            ck_tensor *x = fx(json_object_get(c, "x"), dt), *ys[MAX_OUT];
            ck_layer *l = case_layer(c, dt, x);
            const json_t *want = json_object_get(json_object_get(c, p ? "f64" : "f32"), "y");
            int n = 0;
            cr_assert_eq(ck_layer_call_multi(l, 1, &x, MAX_OUT, ys, &n), CK_OK, "%s: %s", name, ck_last_error());
            cr_assert_eq(n, (int)json_array_size(want), "%s: %d outputs", name, n);
            cr_assert_eq(ck_layer_output_count(l), n, "%s", name);
            for (int k = 0; k < n; k++) {
                ck_tensor *w = fx(json_array_get(want, (size_t)k), dt);
                expect_close(name, p ? "output (float64)" : "output (float32)", k, ys[k], w, p ? 1e-12 : 1e-5);
                ck_tensor_free(w);
                ck_tensor_free(ys[k]);
            }
            const json_t *names = json_object_get(c, "weight_names");
            cr_assert_eq(ck_layer_weight_count(l), (int)json_array_size(names), "%s", name);
            for (int k = 0; k < ck_layer_weight_count(l); k++)
                cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, k)),
                                 json_string_value(json_array_get(names, (size_t)k)), "%s", name);
            ck_tensor_free(x);
            ck_layer_free(l);
        }
    }
    json_decref(all);
}

/* One training step through every output: loss = sum_k sum(y_k * dy_k). */
Test(rnn_wrappers_multi, gradients_through_every_output_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *f64 = json_object_get(c, "f64"), *dys = json_object_get(c, "dy");
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT64), *dx = NULL;
        ck_layer *l = case_layer(c, CK_FLOAT64, x);
        int n = (int)json_array_size(dys), nw = ck_layer_trainable_weight_count(l);
        ck_shape is = ck_tensor_shape(x), os[MAX_OUT];
        int n_out = 0;
        cr_assert_eq(ck_layer_compute_output_shapes(l, 1, &is, MAX_OUT, os, &n_out), CK_OK);
        cr_assert_eq(n_out, n, "%s", name);
        ck_tensor *ys[MAX_OUT], *grads[16];
        ck_tensor yh[MAX_OUT], dh[MAX_OUT];
        ck_tensor *dyt[MAX_OUT];
        for (int k = 0; k < n; k++) {
            cr_assert_eq(ck_tensor_new(&ys[k], CK_FLOAT64, os[k].rank, os[k].dims), CK_OK);
            dyt[k] = fx(json_array_get(dys, (size_t)k), CK_FLOAT64);
        }
        cr_assert_leq(nw, 16);
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
        for (int k = 0; k < n; k++) {
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
        for (int k = 0; k < n; k++) ck_tensor_free(ys[k]), ck_tensor_free(dyt[k]);
        free(saved);
        ck_tensor_free(dx);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
    json_decref(all);
}

Test(rnn_wrappers_multi, gradcheck_every_case)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    long total = 0;
    json_array_foreach(all, i, c) {
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT64);
        ck_layer *l = case_layer(c, CK_FLOAT64, x);
        total += ck_test_gradcheck(l, 1, &x, 1, 1e-6);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
    cr_expect_gt(total, 300);
    json_decref(all);
}

/* get_config keeps merge_mode None (JSON null) and the inner return_state;
 * the layer made from it has the same outputs. */
Test(rnn_wrappers_multi, config_round_trips)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_tensor *x = fx(json_object_get(c, "x"), CK_FLOAT32);
        ck_layer *l = case_layer(c, CK_FLOAT32, x), *back = NULL;
        char *text = NULL;
        cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
        json_t *mine = json_loads(text, 0, NULL), *tf = json_object_get(json_object_get(c, "layer"), "config");
        cr_assert(json_equal(json_object_get(json_object_get(mine, "config"), "merge_mode"), json_object_get(tf, "merge_mode")), "%s: %s",
                  name, text);
        cr_assert_eq(ck_layer_from_config(text, &back), CK_OK, "%s: %s", name, ck_last_error());
        cr_expect_eq(ck_layer_output_count(back), ck_layer_output_count(l), "%s", name);
        json_decref(mine);
        ck_free(text);
        ck_layer_free(back);
        ck_layer_free(l);
        ck_tensor_free(x);
    }
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
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 2, x, &again, 0);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning: %s", file, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", file, attempts);
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
