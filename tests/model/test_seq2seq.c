/* Layers with several outputs and initial states, against tf.keras 2.15
 * (tools/gen_seq2seq_goldens.py -> tests/data/seq2seq/): SimpleRNN, LSTM
 * and GRU with return_state called on [x, *initial_states] (outputs and
 * every gradient, initial states included, in float64; central
 * differences through the states), an encoder-decoder model saved by
 * tf.keras (.h5 and .keras) predicting its three outputs, its config
 * round trip, fused and unfused plans, nested models with several
 * outputs, and fit of a seq2seq model against Keras' weights. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/gradcheck.h"
#include "support/support.h"

/* A float64 tensor from a {"shape", "data"} golden. */
static ck_tensor *f64_of(const json_t *obj)
{
    ck_tensor *f = ck_test_json_tensor(obj, 0), *d = NULL;
    const json_t *data = json_object_get(obj, "data");
    cr_assert_eq(ck_tensor_cast(&d, f, CK_FLOAT64), CK_OK);
    for (int64_t i = 0; i < d->size; i++) ((double *)d->data)[i] = json_number_value(json_array_get(data, (size_t)i));
    ck_tensor_free(f);
    return d;
}

static void expect_close(const char *what, const ck_tensor *got, const json_t *want, double tol)
{
    ck_tensor *w = f64_of(want);
    cr_assert_eq(got->size, w->size, "%s: %lld values, Keras %lld", what, (long long)got->size, (long long)w->size);
    for (int64_t i = 0; i < w->size; i++) {
        double a = ck_tensor_get(got, i), b = ck_tensor_get(w, i);
        cr_assert(fabs(a - b) <= tol * fmax(1, fabs(b)), "%s[%lld]: %.10g, Keras %.10g", what, (long long)i, a, b);
    }
    ck_tensor_free(w);
}

/* The layer of a case, float64, with Keras' weights set. */
static ck_layer *case_layer(const json_t *c)
{
    json_t *config = json_deep_copy(json_object_get(c, "kwargs"));
    json_object_set_new(config, "units", json_integer(5));
    /* A config without reset_after reads as an old (reset_after=False) GRU. */
    if (strcmp(json_string_value(json_object_get(c, "class_name")), "GRU") == 0 &&
        !json_object_get(config, "reset_after"))
        json_object_set_new(config, "reset_after", json_true());
    json_object_set_new(config, "dtype", json_string("float64"));
    json_object_set(config, "name", json_object_get(c, "name"));
    json_t *wrapper = json_pack("{s:O, s:o}", "class_name", json_object_get(c, "class_name"), "config", config);
    char *text = json_dumps(wrapper, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s", ck_last_error());
    free(text);
    json_decref(wrapper);
    ck_tensor *x = f64_of(json_object_get(c, "x"));
    ck_shape s = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
    ck_tensor_free(x);
    const json_t *wj = json_object_get(c, "weights");
    ck_tensor *w[4];
    for (size_t i = 0; i < json_array_size(wj); i++) w[i] = f64_of(json_array_get(wj, i));
    cr_assert_eq(ck_layer_set_weights(l, (int)json_array_size(wj), w), CK_OK, "%s", ck_last_error());
    for (size_t i = 0; i < json_array_size(wj); i++) ck_tensor_free(w[i]);
    return l;
}

/* Inputs [x, *states] of a case (caller frees). */
static int case_inputs(const json_t *c, ck_tensor **in)
{
    const json_t *states = json_object_get(c, "states");
    in[0] = f64_of(json_object_get(c, "x"));
    for (size_t i = 0; i < json_array_size(states); i++) in[1 + i] = f64_of(json_array_get(states, i));
    return 1 + (int)json_array_size(states);
}

Test(seq2seq, layer_outputs_and_gradients_match_keras)
{
    json_t *all = ck_test_load_json(ck_test_data("seq2seq/layers.json"));
    size_t k;
    json_t *c;
    int cases = 0;
    json_array_foreach(all, k, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_layer *l = case_layer(c);
        ck_tensor *in[3];
        int n = case_inputs(c, in);
        const json_t *ys = json_object_get(c, "ys");
        cr_assert_eq(ck_layer_output_count(l), (int)json_array_size(ys), "%s", name);

        /* Eager call: every output. */
        ck_tensor *outs[4] = {NULL};
        int n_out = 0;
        cr_assert_eq(ck_layer_call_multi(l, n, in, 4, outs, &n_out), CK_OK, "%s: %s", name, ck_last_error());
        cr_assert_eq(n_out, (int)json_array_size(ys));
        char what[96];
        for (int o = 0; o < n_out; o++) {
            snprintf(what, sizeof what, "%s y%d", name, o);
            expect_close(what, outs[o], json_array_get(ys, (size_t)o), 1e-9);
        }

        /* Training call and backward with one dout per output. */
        ck_shape shapes[3], oshapes[4];
        for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(in[i]);
        int cnt = 0;
        cr_assert_eq(ck_layer_compute_output_shapes(l, n, shapes, 4, oshapes, &cnt), CK_OK);
        size_t bytes = ck_layer_saved_bytes(l, n, shapes, oshapes);
        void *saved = aligned_alloc(64, bytes ? bytes : 64);
        ck_train_ctx ctx = {0};
        cr_assert_eq(ck_layer_train_call(l, &ctx, n, (const ck_tensor *const *)in, outs, saved), CK_OK, "%s",
                     ck_last_error());
        ck_tensor ohdr[4], dhdr[4], *douts[4];
        const json_t *dj = json_object_get(c, "douts");
        for (int o = 0; o < n_out; o++) {
            douts[o] = f64_of(json_array_get(dj, (size_t)o));
            ohdr[o] = *outs[o];
            dhdr[o] = *douts[o];
        }
        int nw = ck_layer_trainable_weight_count(l);
        for (int j = 0; j < nw; j++) {
            ck_weight *w = ck_layer_trainable_weight(l, j);
            const ck_tensor *v = ck_weight_value(w);
            cr_assert_eq(ck_tensor_new(&w->grad, v->dtype, v->rank, v->shape), CK_OK);
        }
        ck_tensor *din[3];
        for (int i = 0; i < n; i++) cr_assert_eq(ck_tensor_new(&din[i], CK_FLOAT64, in[i]->rank, in[i]->shape), CK_OK);
        cr_assert_eq(ck_layer_backward(l, &ctx, n, (const ck_tensor *const *)in, ohdr, dhdr, saved, din), CK_OK,
                     "%s: %s", name, ck_last_error());
        snprintf(what, sizeof what, "%s dx", name);
        expect_close(what, din[0], json_object_get(c, "dx"), 1e-8);
        for (int i = 1; i < n; i++) {
            snprintf(what, sizeof what, "%s dstate%d", name, i - 1);
            expect_close(what, din[i], json_array_get(json_object_get(c, "dstates"), (size_t)(i - 1)), 1e-8);
        }
        for (int j = 0; j < nw; j++) {
            ck_weight *w = ck_layer_trainable_weight(l, j);
            snprintf(what, sizeof what, "%s d%s", name, ck_weight_name(w));
            expect_close(what, w->grad, json_array_get(json_object_get(c, "dweights"), (size_t)j), 1e-8);
            ck_tensor_free(w->grad);
            w->grad = NULL;
        }
        /* Central differences through every output and initial state. */
        cr_expect_gt(ck_test_gradcheck(l, n, in, 0, 1e-6), 0);
        for (int o = 0; o < n_out; o++) {
            ck_tensor_free(outs[o]);
            ck_tensor_free(douts[o]);
        }
        for (int i = 0; i < n; i++) {
            ck_tensor_free(in[i]);
            ck_tensor_free(din[i]);
        }
        free(saved);
        ck_layer_free(l);
        cases++;
    }
    cr_expect_eq(cases, 6);
    json_decref(all);
}

Test(seq2seq, initial_state_errors)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_lstm(&l, &(ck_rnn_opts){.units = 3, .return_state = true}), CK_OK);
    ck_shape in[3] = {{3, {2, 4, 5}}, {2, {2, 3}}, {2, {2, 3}}}, out[4];
    int n = 0;
    cr_expect_eq(ck_layer_compute_output_shapes(l, 3, in, 4, out, &n), CK_OK);
    cr_expect_eq(n, 3);
    cr_expect(out[0].rank == 2 && out[0].dims[1] == 3 && out[2].rank == 2 && out[2].dims[0] == 2);
    cr_expect_eq(ck_layer_compute_output_shapes(l, 3, in, 2, out, &n), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_compute_output_shapes(l, 2, in, 4, out, &n), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expects 2 initial state(s)") != NULL, "%s", ck_last_error());
    in[2].dims[1] = 4;
    cr_expect_eq(ck_layer_compute_output_shapes(l, 3, in, 4, out, &n), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "not compatible with `cell.state_size`") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
}

static ck_tensor *s2s_npy(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "seq2seq/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void expect_s2s_predictions(ck_model *m, const char *what)
{
    ck_tensor *x[2] = {s2s_npy("s2s_x0"), s2s_npy("s2s_x1")}, *y[3] = {NULL};
    cr_assert_eq(ck_model_output_count(m), 3);
    cr_assert_eq(ck_model_predict(m, 2, x, y, 2), CK_OK, "%s: %s", what, ck_last_error());
    const char *names[3] = {"s2s_y0", "s2s_y1", "s2s_y2"};
    for (int o = 0; o < 3; o++) {
        ck_tensor *want = s2s_npy(names[o]);
        double d = ck_test_max_abs_diff(y[o], want);
        cr_expect(d <= 1e-5, "%s: output %d differs from tf.keras by %g", what, o, d);
        ck_tensor_free(want);
        ck_tensor_free(y[o]);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
}

Test(seq2seq, saved_encoder_decoder_predicts_like_keras)
{
    const char *files[2] = {"seq2seq/s2s.h5", "seq2seq/s2s.keras"};
    for (int f = 0; f < 2; f++) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(ck_test_data(files[f]), &m), CK_OK, "%s: %s", files[f], ck_last_error());
        /* Unfused and fused plans agree with Keras. */
        ck_fuse_override = 0;
        expect_s2s_predictions(m, files[f]);
        ck_fuse_override = 1;
        ck_model_drop_plans(m);
        expect_s2s_predictions(m, files[f]);
        ck_fuse_override = -1;

        /* The encoder's node has three outputs; the decoder reads 1 and 2. */
        ck_layer *enc = NULL, *dec = NULL;
        cr_assert_eq(ck_model_get_layer(m, "encoder", &enc), CK_OK);
        cr_assert_eq(ck_model_get_layer(m, "decoder", &dec), CK_OK);
        ck_tensor *const *outs = NULL, *const *ins = NULL;
        int n = 0;
        cr_assert_eq(ck_layer_get_output_at(enc, 0, &outs, &n), CK_OK);
        cr_expect_eq(n, 3);
        cr_assert_eq(ck_layer_get_input_at(dec, 0, &ins, &n), CK_OK);
        cr_expect_eq(n, 3);
        cr_expect(ins[1] == outs[1] && ins[2] == outs[2]);

        /* Config round trip: [name, node, tensor_index > 0] both ways. */
        char *json = NULL;
        cr_assert_eq(ck_model_to_json(m, &json), CK_OK);
        cr_expect(strstr(json, "[\"encoder\", 0, 2, {}]") != NULL, "%s", json);
        cr_expect(strstr(json, "[\"side\", 0, 1]") != NULL, "%s", json);
        ck_model *again = NULL;
        cr_assert_eq(ck_model_from_json(json, &again), CK_OK, "%s", ck_last_error());
        ck_tensor **w = NULL;
        int nw = 0;
        cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &w, &nw), CK_OK);
        cr_assert_eq(ck_layer_set_weights(ck_model_layer(again), nw, w), CK_OK, "%s", ck_last_error());
        ck_tensors_free(w, nw);
        expect_s2s_predictions(again, "round trip");
        char *summary = NULL;
        cr_assert_eq(ck_model_summary(again, &summary), CK_OK);
        /* Keras lists a node's several output shapes, one per line. */
        cr_expect(strstr(summary, "encoder (LSTM)              [(None, 5),") != NULL, "%s", summary);
        ck_free(summary);
        ck_free(json);
        ck_model_free(again);
        ck_model_free(m);
    }
}

/* A model with several outputs used as one layer of another model: all
 * its outputs are tensors of the outer graph. */
Test(seq2seq, nested_model_with_several_outputs)
{
    ck_model *inner = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("seq2seq/s2s.h5"), &inner), CK_OK, "%s", ck_last_error());
    ck_tensor *a = NULL, *b = NULL;
    cr_assert_eq(ck_input(&a, &(ck_input_opts){.shape = {2, {4, 3}}}), CK_OK);
    cr_assert_eq(ck_input(&b, &(ck_input_opts){.shape = {2, {5, 2}}}), CK_OK);
    ck_tensor *ins[2] = {a, b}, *outs[3];
    int n = 0;
    cr_assert_eq(ck_layer_apply_multi(ck_model_layer(inner), 2, ins, 3, outs, &n), CK_OK, "%s", ck_last_error());
    cr_assert_eq(n, 3);
    /* Reorder the outputs: the outer model's output k is inner's 2 - k. */
    ck_tensor *rev[3] = {outs[2], outs[1], outs[0]};
    ck_model *outer = NULL;
    cr_assert_eq(ck_model_new(&outer, 2, ins, 3, rev, "outer"), CK_OK, "%s", ck_last_error());
    ck_tensor *x[2] = {s2s_npy("s2s_x0"), s2s_npy("s2s_x1")}, *y[3] = {NULL};
    cr_assert_eq(ck_model_predict(outer, 2, x, y, 0), CK_OK, "%s", ck_last_error());
    const char *names[3] = {"s2s_y2", "s2s_y1", "s2s_y0"};
    for (int o = 0; o < 3; o++) {
        ck_tensor *want = s2s_npy(names[o]);
        cr_expect(ck_test_max_abs_diff(y[o], want) <= 1e-5, "output %d", o);
        ck_tensor_free(want);
        ck_tensor_free(y[o]);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_model_free(outer);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    ck_model_free(inner);
}

/* Symbolic API: an LSTM's states feed another LSTM; the model's gradient
 * (float64, central differences) flows through the initial states into
 * the encoder. */
Test(seq2seq, gradients_flow_through_states)
{
    ck_tensor *a = NULL, *b = NULL;
    cr_assert_eq(ck_input(&a, &(ck_input_opts){.shape = {2, {3, 2}}, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_input(&b, &(ck_input_opts){.shape = {2, {4, 2}}, .dtype = CK_FLOAT64}), CK_OK);
    ck_layer *enc = NULL, *dec = NULL, *gru = NULL;
    cr_assert_eq(ck_lstm(&enc, &(ck_rnn_opts){.units = 3, .return_state = true, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_lstm(&dec, &(ck_rnn_opts){.units = 3, .return_state = true, .return_sequences = true,
                                               .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_gru(&gru, &(ck_rnn_opts){.units = 3, .dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *e[3], *d[3], *g = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_apply_multi(enc, 1, &a, 3, e, &n), CK_OK, "%s", ck_last_error());
    ck_tensor *dec_in[3] = {b, e[1], e[2]};
    cr_assert_eq(ck_layer_apply_multi(dec, 3, dec_in, 3, d, &n), CK_OK, "%s", ck_last_error());
    ck_tensor *gru_in[2] = {d[0], d[2]}; /* the decoder's c starts the GRU */
    cr_assert_eq(ck_layer_apply(gru, 2, gru_in, &g), CK_OK, "%s", ck_last_error());
    ck_tensor *ins[2] = {a, b}, *outs[2] = {g, d[1]};
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, ins, 2, outs, "states"), CK_OK, "%s", ck_last_error());
    ck_layer_free(enc);
    ck_layer_free(dec);
    ck_layer_free(gru);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    ck_tensor *x[2] = {NULL, NULL};
    int64_t s0[3] = {2, 3, 2}, s1[3] = {2, 4, 2};
    cr_assert_eq(ck_tensor_new(&x[0], CK_FLOAT64, 3, s0), CK_OK);
    cr_assert_eq(ck_tensor_new(&x[1], CK_FLOAT64, 3, s1), CK_OK);
    for (int i = 0; i < 2; i++)
        for (int64_t k = 0; k < x[i]->size; k++) ((double *)x[i]->data)[k] = sin(1.0 + 0.7 * (double)k + i);
    /* Every weight of both LSTMs and the GRU (the encoder's only through
     * the states) and both inputs. */
    cr_expect_gt(ck_test_gradcheck(ck_model_layer(m), 2, x, 1, 1e-6), 60);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_model_free(m);
}

Test(seq2seq, fit_matches_keras)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("seq2seq/fit/init.h5"), &m), CK_OK, "%s", ck_last_error());
    json_t *spec = ck_test_load_json(ck_test_data("seq2seq/fit/case.json"));
    cr_assert_eq(ck_model_compile_json(m, json_string_value(json_object_get(spec, "training_config"))), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *x[2] = {s2s_npy("fit/x0"), s2s_npy("fit/x1")}, *y = s2s_npy("fit/y0");
    ck_history *h = NULL;
    ck_fit_opts o = {.batch_size = 2, .epochs = 2, .verbose = ck_int(0), .no_shuffle = true};
    cr_assert_eq(ck_model_fit(m, 2, x, 1, &y, &o, &h), CK_OK, "%s", ck_last_error());
    const json_t *loss = json_object_get(json_object_get(spec, "history"), "loss");
    for (int e = 0; e < 2; e++) {
        double want = json_number_value(json_array_get(loss, (size_t)e)), got = ck_history_get(h, "loss", e);
        cr_expect(fabs(got - want) <= 1e-5 * fmax(1, fabs(want)), "loss[%d] %.8g, Keras %.8g", e, got, want);
    }
    ck_model *want = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("seq2seq/fit/final.h5"), &want), CK_OK);
    ck_tensor **a = NULL, **b = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &a, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(want), &b, &nb), CK_OK);
    cr_assert_eq(na, nb);
    for (int i = 0; i < na; i++)
        cr_expect(ck_test_max_abs_diff(a[i], b[i]) <= 1e-5, "weight %d differs from Keras by %g", i,
                  ck_test_max_abs_diff(a[i], b[i]));
    ck_tensors_free(a, na);
    ck_tensors_free(b, nb);
    ck_model_free(want);
    ck_history_free(h);
    json_decref(spec);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_tensor_free(y);
    ck_model_free(m);
}
