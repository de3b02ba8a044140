/* Masks through graphs against tf.keras 2.15 (tools/gen_mask_goldens.py ->
 * tests/data/masks/): Embedding(mask_zero) and Masking make masks, Dense
 * passes them, Add ANDs them, SimpleRNN / GRU / LSTM skip masked steps
 * (sequences and last outputs, go_backwards, zero_output_for_mask, a
 * masked encoder-decoder with initial states); predictions fused and
 * unfused, which symbolic outputs carry a mask, the node mask queries,
 * predict without allocations once planned, central differences through
 * masked steps, and fit against Keras' weights. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/gradcheck.h"
#include "support/support.h"

static ck_tensor *npy(const char *name)
{
    char rel[160];
    snprintf(rel, sizeof rel, "masks/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static ck_model *load(const char *rel)
{
    char path[160];
    snprintf(path, sizeof path, "masks/%s", rel);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(path), &m), CK_OK, "%s: %s", path, ck_last_error());
    return m;
}

static const char *const CASES[] = {"emb_lstm_seq", "emb_gru_last", "emb_simple_back",
                                    "masking_lstm", "merge_and",    "masked_s2s"};

static void expect_case(ck_model *m, const char *name)
{
    char buf[160];
    ck_tensor *x[2] = {NULL}, *y = NULL;
    int n = ck_model_input_count(m);
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%s_x%d", name, i);
        x[i] = npy(buf);
    }
    cr_assert_eq(ck_model_predict(m, n, x, &y, 3), CK_OK, "%s: %s", name, ck_last_error());
    snprintf(buf, sizeof buf, "%s_y0", name);
    ck_tensor *want = npy(buf);
    double d = ck_test_max_abs_diff(y, want);
    cr_expect(d <= 1e-5, "%s: differs from tf.keras by %g", name, d);
    ck_tensor_free(want);
    ck_tensor_free(y);
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
}

Test(masks, saved_models_predict_like_keras)
{
    json_t *masks = ck_test_load_json(ck_test_data("masks/masks.json"));
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        char rel[96];
        snprintf(rel, sizeof rel, "%s.h5", CASES[c]);
        ck_model *m = load(rel);
        ck_fuse_override = 0;
        expect_case(m, CASES[c]);
        ck_fuse_override = 1;
        ck_model_drop_plans(m);
        expect_case(m, CASES[c]);
        ck_fuse_override = -1;
        /* The symbolic output carries a mask exactly when Keras' does. */
        int keras_mask = json_is_true(json_array_get(json_object_get(masks, CASES[c]), 0));
        cr_expect_eq(ck_symbolic_mask(ck_model_output(m, 0)) != NULL, keras_mask, "%s: output mask", CASES[c]);
        ck_model_free(m);
    }
    json_decref(masks);
}

Test(masks, node_mask_queries)
{
    ck_model *m = load("emb_lstm_seq.h5");
    ck_layer *emb = NULL, *lstm = NULL, *head = NULL;
    cr_assert_eq(ck_model_get_layer(m, "emb", &emb), CK_OK);
    cr_assert_eq(ck_model_get_layer(m, "lstm", &lstm), CK_OK);
    cr_assert_eq(ck_model_get_layer(m, "head", &head), CK_OK);
    ck_tensor *em[4], *li[4], *lo[4], *ho[4];
    int n = 0;
    cr_assert_eq(ck_layer_output_masks_at(emb, 0, em, 4, &n), CK_OK);
    cr_expect_eq(n, 1);
    cr_assert_not_null(em[0]);
    cr_expect_eq(em[0]->dtype, CK_INT32);
    cr_expect(em[0]->rank == 2 && em[0]->shape[1] == 6);
    cr_assert_eq(ck_layer_input_masks_at(emb, 0, li, 4, &n), CK_OK);
    cr_expect_null(li[0]);
    cr_assert_eq(ck_layer_input_masks_at(lstm, 0, li, 4, &n), CK_OK);
    cr_expect(li[0] == em[0], "the LSTM reads the Embedding's mask");
    /* return_sequences passes the same mask on; Dense passes it too. */
    cr_assert_eq(ck_layer_output_masks_at(lstm, 0, lo, 4, &n), CK_OK);
    cr_expect(lo[0] == em[0]);
    cr_assert_eq(ck_layer_output_masks_at(head, 0, ho, 4, &n), CK_OK);
    cr_expect(ho[0] == em[0]);
    cr_expect_eq(ck_layer_output_masks_at(head, 3, ho, 4, &n), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_output_masks_at(head, 0, ho, 0, &n), CK_VALUE_ERROR);
    ck_model_free(m);

    /* Flatten drops a mask; a GRU without return_sequences too; return_state
     * states never carry one. */
    ck_tensor *x = NULL, *e = NULL, *f = NULL, *g[3];
    ck_layer *le = NULL, *lf = NULL, *lg = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = {1, {5}}, .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_embedding(&le, &(ck_embedding_opts){.input_dim = 4, .output_dim = 2, .mask_zero = true}), CK_OK);
    cr_assert_eq(ck_flatten(&lf, NULL), CK_OK);
    cr_assert_eq(ck_gru(&lg, &(ck_rnn_opts){.units = 2, .return_sequences = true, .return_state = true}), CK_OK);
    cr_assert_eq(ck_layer_apply(le, 1, &x, &e), CK_OK);
    cr_assert_eq(ck_layer_apply(lf, 1, &e, &f), CK_OK);
    cr_expect_not_null(ck_symbolic_mask(e));
    cr_expect_null(ck_symbolic_mask(f));
    cr_assert_eq(ck_layer_apply_multi(lg, 1, &e, 3, g, &n), CK_OK, "%s", ck_last_error());
    cr_expect(ck_symbolic_mask(g[0]) == ck_symbolic_mask(e));
    cr_expect_null(ck_symbolic_mask(g[1]));
    cr_expect_null(ck_symbolic_mask(ck_symbolic_mask(e)));
    ck_layer_free(le);
    ck_layer_free(lf);
    ck_layer_free(lg);
    ck_layer_free(ck_tensor_layer(x));
}

Test(masks, predict_allocates_nothing_once_planned)
{
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        char rel[96], buf[96];
        snprintf(rel, sizeof rel, "%s.h5", CASES[c]);
        ck_model *m = load(rel);
        ck_tensor *x[2] = {NULL}, *y = NULL;
        int n = ck_model_input_count(m);
        for (int i = 0; i < n; i++) {
            snprintf(buf, sizeof buf, "%s_x%d", CASES[c], i);
            x[i] = npy(buf);
        }
        cr_assert_eq(ck_model_predict(m, n, x, &y, 3), CK_OK, "%s", ck_last_error());
        ck_tensor *outs[1] = {y};
        cr_assert_eq(ck_model_predict_into(m, n, x, outs, 3), CK_OK);
        ck_test_fail_after(0);
        ck_status st = ck_model_predict_into(m, n, x, outs, 3);
        long attempts = ck_test_alloc_count();
        ck_test_alloc_reset();
        cr_expect_eq(st, CK_OK, "%s: %s", CASES[c], ck_last_error());
        cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", CASES[c], attempts);
        snprintf(buf, sizeof buf, "%s_y0", CASES[c]);
        ck_tensor *want = npy(buf);
        cr_expect(ck_test_max_abs_diff(y, want) <= 1e-5, "%s", CASES[c]);
        ck_tensor_free(want);
        for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
        ck_tensor_free(y);
        ck_model_free(m);
    }
}

/* float64 Embedding(mask_zero) -> LSTM(sequences) -> GRU(go_backwards):
 * the weights' gradients through masked steps match central
 * differences (the integer ids are not perturbed, so the mask is fixed). */
Test(masks, gradients_through_masked_steps)
{
    ck_tensor *x = NULL, *e = NULL, *h = NULL, *g = NULL;
    ck_layer *le = NULL, *ll = NULL, *lg = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = {1, {5}}, .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_embedding(&le, &(ck_embedding_opts){.input_dim = 5, .output_dim = 3, .mask_zero = true,
                                                         .embeddings_initializer = "glorot_uniform",
                                                         .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_lstm(&ll, &(ck_rnn_opts){.units = 3, .return_sequences = true, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_gru(&lg, &(ck_rnn_opts){.units = 2, .go_backwards = true, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_layer_apply(le, 1, &x, &e), CK_OK);
    cr_assert_eq(ck_layer_apply(ll, 1, &e, &h), CK_OK);
    cr_assert_eq(ck_layer_apply(lg, 1, &h, &g), CK_OK);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &x, 1, &g, "masked"), CK_OK, "%s", ck_last_error());
    int32_t idx[15] = {1, 2, 0, 0, 0, 0, 0, 3, 4, 1, 2, 0, 3, 0, 4};
    int64_t shape[2] = {3, 5};
    ck_tensor *ids = NULL;
    cr_assert_eq(ck_tensor_new(&ids, CK_INT32, 2, shape), CK_OK);
    memcpy(ids->data, idx, sizeof idx);
    cr_expect_gt(ck_test_gradcheck(ck_model_layer(m), 1, &ids, 1, 1e-6), 40);
    ck_tensor_free(ids);
    ck_model_free(m);
    ck_layer_free(le);
    ck_layer_free(ll);
    ck_layer_free(lg);
    ck_layer_free(ck_tensor_layer(x));
}

static void fit_case(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "fit_%s/init.h5", name);
    ck_model *m = load(rel);
    cr_assert_eq(ck_model_compile_json(m, "{\"loss\": \"mse\", \"optimizer_config\": {\"class_name\": \"SGD\", "
                                          "\"config\": {\"learning_rate\": 0.2}}}"), CK_OK, "%s", ck_last_error());
    char buf[128];
    ck_tensor *x[2] = {NULL};
    int n = ck_model_input_count(m);
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%s_x%d", name, i);
        x[i] = npy(buf);
    }
    snprintf(buf, sizeof buf, "fit_%s/y0", name);
    ck_tensor *y = npy(buf);
    ck_history *h = NULL;
    ck_fit_opts o = {.batch_size = 2, .epochs = 2, .verbose = ck_int(0), .no_shuffle = true};
    cr_assert_eq(ck_model_fit(m, n, x, 1, &y, &o, &h), CK_OK, "%s: %s", name, ck_last_error());
    snprintf(rel, sizeof rel, "masks/fit_%s/history.json", name);
    json_t *hist = ck_test_load_json(ck_test_data(rel));
    const json_t *loss = json_object_get(hist, "loss");
    for (int e = 0; e < 2; e++) {
        double want = json_number_value(json_array_get(loss, (size_t)e)), got = ck_history_get(h, "loss", e);
        cr_expect(fabs(got - want) <= 1e-5 * fmax(1, fabs(want)), "%s: loss[%d] %.8g, Keras %.8g", name, e, got,
                  want);
    }
    /* evaluate of the trained model: masked outputs leave masked
     * positions out of the loss there too. */
    ck_logs logs;
    cr_assert_eq(ck_model_evaluate(m, n, x, 1, &y, &(ck_evaluate_opts){.batch_size = 2, .verbose = ck_int(0)},
                                   &logs), CK_OK, "%s", ck_last_error());
    double ev = json_number_value(json_object_get(hist, "evaluate"));
    cr_expect(fabs(ck_logs_get(&logs, "loss") - ev) <= 1e-5 * fmax(1, fabs(ev)), "%s: evaluate %.8g, Keras %.8g",
              name, ck_logs_get(&logs, "loss"), ev);
    snprintf(rel, sizeof rel, "fit_%s/final.h5", name);
    ck_model *want = load(rel);
    ck_tensor **a = NULL, **b = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &a, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(want), &b, &nb), CK_OK);
    cr_assert_eq(na, nb);
    for (int i = 0; i < na; i++)
        cr_expect(ck_test_max_abs_diff(a[i], b[i]) <= 1e-5, "%s: weight %d differs from Keras by %g", name, i,
                  ck_test_max_abs_diff(a[i], b[i]));
    ck_tensors_free(a, na);
    ck_tensors_free(b, nb);
    ck_model_free(want);
    json_decref(hist);
    ck_history_free(h);
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
    ck_tensor_free(y);
    ck_model_free(m);
}

Test(masks, fit_embedding_gru_matches_keras) { fit_case("emb_gru_last"); }
Test(masks, fit_masking_lstm_matches_keras) { fit_case("masking_lstm"); }
/* Masked outputs: the loss leaves the masked positions out. */
Test(masks, fit_masked_sequence_loss_matches_keras) { fit_case("emb_lstm_seq"); }
Test(masks, fit_masked_seq2seq_matches_keras) { fit_case("masked_s2s"); }
