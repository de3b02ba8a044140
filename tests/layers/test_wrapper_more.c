/* TimeDistributed over nested models in .keras archives, and
 * Bidirectional given initial states, against tf.keras 2.15.1 and Keras
 * 3.15.1 (tools/gen_wrapper_more_goldens.py ->
 * tests/data/layers/wrapper_more/): saved models predict as Keras did,
 * ckeras' own .keras save has tf.keras' variable paths and loads back, and
 * the initial states split between the two directions as tf.keras splits
 * them, with their gradients (GradientTape values and central
 * differences). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/keras_archive.h"
#include "layers/layer.h"
#include "support/golden_json.h"
#include "support/gradcheck.h"
#include "support/support.h"

#define MAX_IO 8

/* Loads wrapper_more/`file`, predicts the inputs `stem`_<names> within
 * 1e-5 of `stem`_y, and checks that predict_into then allocates nothing.
 * Returns the model. */
static ck_model *load_and_predict(const char *file, const char *stem, int n, const char *const *names)
{
    char rel[160], path[4096];
    ck_tensor *x[MAX_IO], *want, *y = NULL;
    for (int i = 0; i < n; i++) snprintf(rel, sizeof rel, "wrapper_more/%s_%s", stem, names[i]), x[i] = ck_test_npy(rel);
    snprintf(rel, sizeof rel, "wrapper_more/%s_y", stem), want = ck_test_npy(rel);
    snprintf(rel, sizeof rel, "layers/wrapper_more/%s", file);
    snprintf(path, sizeof path, "%s", file[0] == '/' ? file : ck_test_data(rel));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    cr_assert_eq(ck_model_predict(m, n, x, &y, 0), CK_OK, "%s: %s", file, ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "%s: max abs error %g", file, err);
    ck_tensor *again = NULL;
    cr_assert_eq(ck_tensor_new(&again, y->dtype, y->rank, y->shape), CK_OK);
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, n, x, &again, 0);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning: %s", file, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", file, attempts);
    cr_expect_eq(ck_test_max_abs_diff(again, y), 0.0, "%s", file);
    ck_tensor_free(again);
    ck_tensor_free(y);
    ck_tensor_free(want);
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
    return m;
}

/* Saves `m` as tmp `name`, loads that file and predicts again. */
static void save_and_reload(ck_model *m, const char *name, const char *stem, int n, const char *const *names,
                            char *saved, size_t saved_n)
{
    snprintf(saved, saved_n, "%s", ck_test_tmp(name));
    cr_assert_eq(ck_model_save(m, saved), CK_OK, "%s: %s", name, ck_last_error());
    ck_model *back = load_and_predict(saved, stem, n, names);
    ck_model_free(back);
}

/* ---- TimeDistributed over Sequential and Functional models ------------------ */

static const char *const td_inputs[] = {"x"};

Test(wrapper_more, td_over_models_from_tf_keras_archive)
{
    ck_model *m = load_and_predict("td_model_tf.keras", "td_model_tf", 1, td_inputs);
    char path[4096];
    save_and_reload(m, "td_model_again.keras", "td_model_tf", 1, td_inputs, path, sizeof path);
    save_and_reload(m, "td_model_again.h5", "td_model_tf", 1, td_inputs, path, sizeof path);
    ck_model_free(m);
}

Test(wrapper_more, td_over_models_from_keras3_archive)
{
    ck_model *m = load_and_predict("td_model_k3.keras", "td_model_k3", 1, td_inputs);
    char path[4096];
    save_and_reload(m, "td_model_k3_again.keras", "td_model_k3", 1, td_inputs, path, sizeof path);
    ck_model_free(m);
}

/* 1 when the archive has a vars group at `path`. */
static int has_group(const ck_keras_archive *a, const char *path)
{
    for (size_t i = 0; i < a->n_groups; i++)
        if (strcmp(a->groups[i].path, path) == 0) return 1;
    return 0;
}

/* Expects every line of wrapper_more/`list` in the archive (a variable,
 * or with `groups` a vars group) and `count` entries in all. */
static void expect_listed(const ck_keras_archive *a, const char *list, int groups, size_t count)
{
    char rel[128], line[512];
    snprintf(rel, sizeof rel, "layers/wrapper_more/%s", list);
    FILE *f = fopen(ck_test_data(rel), "r");
    cr_assert(f, "%s", rel);
    size_t listed = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0]) continue;
        cr_expect(groups ? has_group(a, line) : ck_keras_archive_find(a, line) != NULL, "ckeras' archive lacks %s",
                  line);
        listed++;
    }
    fclose(f);
    cr_expect_eq(count, listed, "ckeras writes %zu %s, tf.keras %zu", count, groups ? "groups" : "variables", listed);
}

/* ckeras' .keras save of the model writes every variable where tf.keras
 * 2.15 writes it, and the same vars groups (the weightless layers' and
 * the nested models' included): td_model_tf_paths.txt and
 * td_model_tf_groups.txt list tf.keras' archive. */
Test(wrapper_more, td_archive_layout_equals_tf_keras)
{
    ck_model *m = load_and_predict("td_model_tf.keras", "td_model_tf", 1, td_inputs);
    char path[4096];
    snprintf(path, sizeof path, "%s", ck_test_tmp("td_layout.keras"));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_keras_archive *a = NULL;
    cr_assert_eq(ck_keras_archive_read(path, &a), CK_OK, "%s", ck_last_error());
    expect_listed(a, "td_model_tf_paths.txt", 0, a->n_vars);
    expect_listed(a, "td_model_tf_groups.txt", 1, a->n_groups);
    for (size_t i = 0; i < a->n_vars; i++) cr_log_info("ckeras: %s", a->vars[i].path);
    ck_keras_archive_free(a);
    ck_model_free(m);
}

/* ---- Bidirectional with initial_state: saved models ------------------------- */

static const char *const bidi_inputs[] = {"x0", "x1"};

Test(wrapper_more, bidi_initial_state_from_tf_keras_h5)
{
    ck_model *m = load_and_predict("bidi_init_tf.h5", "bidi_init_tf", 2, bidi_inputs);
    char path[4096];
    save_and_reload(m, "bidi_init_again.h5", "bidi_init_tf", 2, bidi_inputs, path, sizeof path);
    save_and_reload(m, "bidi_init_again.keras", "bidi_init_tf", 2, bidi_inputs, path, sizeof path);
    ck_model_free(m);
}

Test(wrapper_more, bidi_initial_state_from_tf_keras_archive)
{
    ck_model *m = load_and_predict("bidi_init_tf.keras", "bidi_init_tf", 2, bidi_inputs);
    ck_model_free(m);
}

Test(wrapper_more, bidi_initial_state_from_keras3_archive)
{
    ck_model *m = load_and_predict("bidi_init_k3.keras", "bidi_init_k3", 2, bidi_inputs);
    char path[4096];
    save_and_reload(m, "bidi_init_k3_again.h5", "bidi_init_k3", 2, bidi_inputs, path, sizeof path);
    ck_model_free(m);
}

/* ---- Bidirectional with initial_state: layer goldens ------------------------ */

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/wrapper_more/bidi_init_goldens.json")); }

/* The case's inputs in `dt`: x then the states; returns their count. */
static int case_inputs(const json_t *c, ck_dtype dt, ck_tensor **in)
{
    const json_t *st = json_object_get(c, "states");
    int n = 1 + (int)json_array_size(st);
    cr_assert_leq(n, MAX_IO);
    in[0] = ck_test_golden_tensor(json_object_get(c, "x"), dt);
    for (int i = 1; i < n; i++) in[i] = ck_test_golden_tensor(json_array_get(st, (size_t)i - 1), dt);
    return n;
}

static void set_case_weights(ck_layer *l, const json_t *c, ck_dtype dt)
{
    const json_t *ws = json_object_get(c, "weights");
    int n = (int)json_array_size(ws);
    ck_tensor *w[16] = {0};
    cr_assert_leq(n, 16);
    for (int i = 0; i < n; i++) w[i] = ck_test_golden_tensor(json_array_get(ws, (size_t)i), dt);
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
}

/* The case's layer from tf.keras' config in `dt`, built on the inputs,
 * with the fixture's weights. */
static ck_layer *case_layer(const json_t *c, ck_dtype dt, int n, ck_tensor *const *in)
{
    json_t *wrap = json_deep_copy(json_object_get(c, "layer"));
    ck_test_set_dtypes(wrap, dt == CK_FLOAT32 ? "float32" : "float64");
    char *text = json_dumps(wrap, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    json_decref(wrap);
    ck_shape s[MAX_IO];
    for (int i = 0; i < n; i++) s[i] = ck_tensor_shape(in[i]);
    cr_assert_eq(ck_layer_build(l, n, s), CK_OK, "%s", ck_last_error());
    set_case_weights(l, c, dt);
    return l;
}

static void free_all(int n, ck_tensor **t)
{
    for (int i = 0; i < n; i++) ck_tensor_free(t[i]);
}

/* Every output, float32 and float64, from tf.keras' config. */
Test(wrapper_more, bidi_initial_state_outputs_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        for (int d = 0; d < 2; d++) {
            ck_dtype dt = d ? CK_FLOAT64 : CK_FLOAT32;
            const json_t *ys = json_object_get(json_object_get(c, d ? "f64" : "f32"), "y");
            ck_tensor *in[MAX_IO], *out[MAX_IO];
            int n = case_inputs(c, dt, in), got = 0;
            ck_layer *l = case_layer(c, dt, n, in);
            cr_assert_eq(ck_layer_call_multi(l, n, in, MAX_IO, out, &got), CK_OK, "%s: %s", name, ck_last_error());
            cr_assert_eq((size_t)got, json_array_size(ys), "%s: %d outputs", name, got);
            for (int k = 0; k < got; k++) {
                ck_tensor *want = ck_test_golden_tensor(json_array_get(ys, (size_t)k), CK_FLOAT64);
                ck_test_expect_close(name, d ? "f64 y" : "f32 y", k, out[k], want, d ? 1e-12 : 1e-5);
                ck_tensor_free(want);
            }
            free_all(got, out);
            free_all(n, in);
            ck_layer_free(l);
        }
    }
    json_decref(all);
}

/* Gradients of sum_k sum(y_k * dy_k) for x, every initial state and every
 * weight, against GradientTape (float64). */
Test(wrapper_more, bidi_initial_state_gradients_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const json_t *f64 = json_object_get(c, "f64"), *dys = json_object_get(c, "dy");
        ck_tensor *in[MAX_IO];
        int n = case_inputs(c, CK_FLOAT64, in);
        ck_layer *l = case_layer(c, CK_FLOAT64, n, in);
        int nout = ck_layer_output_count(l);
        ck_tensor ys[MAX_IO], dy[MAX_IO], *yp[MAX_IO], *dyt[MAX_IO], *din[MAX_IO];
        ck_shape s[MAX_IO];
        for (int k = 0; k < n; k++) s[k] = ck_tensor_shape(in[k]);
        ck_shape os[MAX_IO];
        int no = 0;
        cr_assert_eq(ck_layer_compute_output_shapes(l, n, s, MAX_IO, os, &no), CK_OK, "%s", ck_last_error());
        cr_assert_eq(no, nout);
        for (int k = 0; k < nout; k++) {
            cr_assert_eq(ck_tensor_new(&yp[k], CK_FLOAT64, os[k].rank, os[k].dims), CK_OK);
            ys[k] = *yp[k];
            dyt[k] = ck_test_golden_tensor(json_array_get(dys, (size_t)k), CK_FLOAT64);
            dy[k] = *dyt[k];
        }
        for (int k = 0; k < n; k++) cr_assert_eq(ck_tensor_new(&din[k], CK_FLOAT64, in[k]->rank, in[k]->shape), CK_OK);
        int nw = ck_layer_trainable_weight_count(l);
        ck_tensor *grads[16];
        for (int j = 0; j < nw; j++) {
            ck_tensor *v = ck_weight_value(ck_layer_trainable_weight(l, j));
            cr_assert_eq(ck_tensor_new(&grads[j], CK_FLOAT64, v->rank, v->shape), CK_OK);
            memset(grads[j]->data, 0, (size_t)grads[j]->size * sizeof(double));
            ck_layer_trainable_weight(l, j)->grad = grads[j];
        }
        size_t bytes = ck_layer_saved_bytes(l, n, s, os);
        cr_assert_neq(bytes, SIZE_MAX, "%s", ck_last_error());
        void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
        ck_train_ctx ctx = {.training = 1};
        cr_assert_eq(ck_layer_train_call(l, &ctx, n, (const ck_tensor *const *)in, yp, saved), CK_OK, "%s: %s", name,
                     ck_last_error());
        cr_assert_eq(ck_layer_backward(l, &ctx, n, (const ck_tensor *const *)in, ys, dy, saved, din), CK_OK, "%s: %s",
                     name, ck_last_error());
        ck_tensor *want = ck_test_golden_tensor(json_object_get(f64, "dx"), CK_FLOAT64);
        ck_test_expect_close(name, "dx", 0, din[0], want, 1e-10);
        ck_tensor_free(want);
        const json_t *dst = json_object_get(f64, "dstates");
        cr_assert_eq(json_array_size(dst), (size_t)n - 1);
        for (int k = 1; k < n; k++) {
            want = ck_test_golden_tensor(json_array_get(dst, (size_t)k - 1), CK_FLOAT64);
            ck_test_expect_close(name, "dstate", k - 1, din[k], want, 1e-10);
            ck_tensor_free(want);
        }
        const json_t *dws = json_object_get(f64, "dweights");
        cr_assert_eq(json_array_size(dws), (size_t)nw);
        for (int j = 0; j < nw; j++) {
            want = ck_test_golden_tensor(json_array_get(dws, (size_t)j), CK_FLOAT64);
            ck_test_expect_close(name, "dweight", j, grads[j], want, 1e-10);
            ck_tensor_free(want);
            ck_layer_trainable_weight(l, j)->grad = NULL;
            ck_tensor_free(grads[j]);
        }
        free(saved);
        free_all(nout, yp);
        free_all(nout, dyt);
        free_all(n, din);
        free_all(n, in);
        ck_layer_free(l);
    }
    json_decref(all);
}

/* Central differences through x and every initial state. */
Test(wrapper_more, bidi_initial_state_gradcheck)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    long total = 0;
    json_array_foreach(all, i, c) {
        ck_tensor *in[MAX_IO];
        int n = case_inputs(c, CK_FLOAT64, in);
        ck_layer *l = case_layer(c, CK_FLOAT64, n, in);
        total += ck_test_gradcheck(l, n, in, 1, 1e-6);
        free_all(n, in);
        ck_layer_free(l);
    }
    cr_expect_gt(total, 200);
    json_decref(all);
}

/* Built in C through the public API: Input, LSTM, Bidirectional applied
 * to [x, h_f, c_f, h_b, c_b], a model of it; predicts tf.keras' values. */
Test(wrapper_more, bidi_initial_state_public_api_model)
{
    json_t *all = goldens();
    const json_t *c = json_array_get(all, 0); /* lstm_concat_seq_state */
    cr_assert_str_eq(json_string_value(json_object_get(c, "name")), "lstm_concat_seq_state");
    ck_tensor *x = NULL, *h[4], *in[5];
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = {2, {4, 3}}}), CK_OK, "%s", ck_last_error());
    for (int k = 0; k < 4; k++)
        cr_assert_eq(ck_input(&h[k], &(ck_input_opts){.shape = {1, {4}}}), CK_OK, "%s", ck_last_error());
    ck_layer *lstm = NULL, *bidi = NULL;
    cr_assert_eq(ck_lstm(&lstm, &(ck_rnn_opts){.units = 4, .return_sequences = true, .return_state = true}), CK_OK);
    cr_assert_eq(ck_bidirectional(&bidi, lstm, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor *sym_in[5] = {x, h[0], h[1], h[2], h[3]}, *outs[MAX_IO];
    int got = 0;
    cr_assert_eq(ck_layer_apply_multi(bidi, 5, sym_in, MAX_IO, outs, &got), CK_OK, "%s", ck_last_error());
    cr_assert_eq(got, 5);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 5, sym_in, 5, outs, "bidi_init"), CK_OK, "%s", ck_last_error());
    set_case_weights(bidi, c, CK_FLOAT32);
    int n = case_inputs(c, CK_FLOAT32, in);
    cr_assert_eq(n, 5);
    ck_tensor *ys[MAX_IO];
    cr_assert_eq(ck_model_predict(m, 5, in, ys, 0), CK_OK, "%s", ck_last_error());
    const json_t *want_ys = json_object_get(json_object_get(c, "f32"), "y");
    for (int k = 0; k < 5; k++) {
        ck_tensor *want = ck_test_golden_tensor(json_array_get(want_ys, (size_t)k), CK_FLOAT64);
        ck_test_expect_close("public api", "y", k, ys[k], want, 1e-5);
        ck_tensor_free(want);
        ck_tensor_free(ys[k]);
    }
    /* the config names the states as tf.keras 2.x does: extra inbound
     * tensors of the node; the model made from it predicts the same */
    char *text = NULL;
    cr_assert_eq(ck_model_to_json(m, &text), CK_OK, "%s", ck_last_error());
    ck_model *back = NULL;
    cr_assert_eq(ck_model_from_json(text, &back), CK_OK, "%s", ck_last_error());
    ck_free(text);
    ck_layer *bidi_back = NULL;
    cr_assert_eq(ck_model_get_layer(back, ck_layer_name(bidi), &bidi_back), CK_OK, "%s", ck_last_error());
    set_case_weights(bidi_back, c, CK_FLOAT32);
    cr_assert_eq(ck_model_predict(back, 5, in, ys, 0), CK_OK, "%s", ck_last_error());
    for (int k = 0; k < 5; k++) {
        ck_tensor *want = ck_test_golden_tensor(json_array_get(want_ys, (size_t)k), CK_FLOAT64);
        ck_test_expect_close("from json", "y", k, ys[k], want, 1e-5);
        ck_tensor_free(want);
        ck_tensor_free(ys[k]);
    }
    ck_model_free(back);
    free_all(5, in);
    ck_model_free(m);
    ck_layer_free(bidi);
    ck_layer_free(lstm);
    ck_layer_free(ck_tensor_layer(x));
    for (int k = 0; k < 4; k++) ck_layer_free(ck_tensor_layer(h[k]));
    json_decref(all);
}

/* Keras' checks of the states: an odd count, and a half that does not fit
 * the wrapped layer. */
Test(wrapper_more, bidi_initial_state_errors)
{
    ck_layer *gru = NULL, *bidi = NULL;
    cr_assert_eq(ck_gru(&gru, &(ck_rnn_opts){.units = 3}), CK_OK);
    cr_assert_eq(ck_bidirectional(&bidi, gru, NULL), CK_OK);
    ck_shape s[4] = {{3, {2, 4, 3}}, {2, {2, 3}}, {2, {2, 3}}, {2, {2, 3}}};
    ck_shape o[MAX_IO];
    int no = 0;
    cr_expect_eq(ck_layer_compute_output_shapes(bidi, 2, s, MAX_IO, o, &no), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "When passing `initial_state` to a Bidirectional RNN"), "%s", ck_last_error());
    cr_expect_eq(ck_layer_compute_output_shapes(bidi, 4, s, MAX_IO, o, &no), CK_VALUE_ERROR);
    s[1] = (ck_shape){2, {2, 5}};
    cr_expect_eq(ck_layer_compute_output_shapes(bidi, 3, s, MAX_IO, o, &no), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "initial_state"), "%s", ck_last_error());
    s[1] = (ck_shape){2, {2, 3}};
    cr_expect_eq(ck_layer_compute_output_shapes(bidi, 3, s, MAX_IO, o, &no), CK_OK, "%s", ck_last_error());
    ck_layer_free(bidi);
    ck_layer_free(gru);
}

/* Keras 3 counts a nested model's nodes from 0 in node references, and a
 * Functional's (not a Sequential's) from 1 in output_layers. */
Test(wrapper_more, keras3_nested_model_node_indices)
{
    ck_model *m = load_and_predict("nested_k3.keras", "nested_k3", 1, td_inputs);
    ck_model_free(m);
}

/* Training: tf.keras' fit of bidi_init_tf (SGD 0.1, mse, batch 2, two
 * epochs, no shuffling) reaches the Dense layers that make the initial
 * states only through the states' gradients; ckeras' fit predicts the
 * same afterwards. */
Test(wrapper_more, bidi_initial_state_fit_matches_tf)
{
    ck_tensor *x[2] = {ck_test_npy("wrapper_more/bidi_init_tf_x0"), ck_test_npy("wrapper_more/bidi_init_tf_x1")};
    ck_tensor *t = ck_test_npy("wrapper_more/bidi_init_fit_t"), *want = ck_test_npy("wrapper_more/bidi_init_fit_y");
    char path[4096];
    snprintf(path, sizeof path, "%s", ck_test_data("layers/wrapper_more/bidi_init_tf.h5"));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_compile_json(m, "{\"optimizer\": {\"class_name\": \"SGD\", \"config\": {\"learning_rate\": "
                                          "0.1}}, \"loss\": \"mse\"}"),
                 CK_OK, "%s", ck_last_error());
    ck_history *h = NULL;
    cr_assert_eq(ck_model_fit(m, 2, x, 1, &t, &(ck_fit_opts){.batch_size = 2, .epochs = 2, .no_shuffle = true,
                                                            .verbose = ck_int(0)}, &h),
                 CK_OK, "%s", ck_last_error());
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 2, x, &y, 0), CK_OK, "%s", ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "max abs error %g after training", err);
    ck_tensor_free(y);
    ck_history_free(h);
    ck_model_free(m);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_tensor_free(t);
    ck_tensor_free(want);
}
