/* return_attention_scores of Attention, AdditiveAttention and
 * MultiHeadAttention: the scores as a second output, against tf.keras 2.15
 * (fixtures of tools/gen_norm_attn_goldens.py --scores in
 * tests/data/norm_attn/scores/): a saved functional model's six outputs,
 * the inference-mode gradients of each layer with both outputs' gradients,
 * a save / load round trip keeping the call argument, and float64 gradient
 * checks of C-built layers (with dropout in training mode). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "norm_attn/scores/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static ck_model *load_model(const char *path)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    return m;
}

/* Predicts the fixture inputs and compares the six outputs with Keras'
 * (<prefix>y<k>.npy). */
static void expect_predictions_of(ck_model *m, const char *prefix)
{
    cr_assert_eq(ck_model_output_count(m), 6);
    ck_tensor *x[2] = {fixture("x0"), fixture("x1")}, *y[6] = {NULL};
    cr_assert_eq(ck_model_predict(m, 2, x, y, 0), CK_OK, "%s", ck_last_error());
    for (int k = 0; k < 6; k++) {
        char name[16];
        snprintf(name, sizeof name, "%sy%d", prefix, k);
        ck_tensor *want = fixture(name);
        ck_test_expect_close_rel(y[k], want, 1e-5, name);
        ck_tensor_free(want);
        ck_tensor_free(y[k]);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
}

static void expect_predictions(ck_model *m) { expect_predictions_of(m, ""); }

Test(attention_scores, h5_model_predicts_both_outputs)
{
    ck_model *m = load_model(ck_test_data("norm_attn/scores/scores.h5"));
    expect_predictions(m);
    ck_model_free(m);
}

Test(attention_scores, keras_archive_predicts_both_outputs)
{
    ck_model *m = load_model(ck_test_data("norm_attn/scores/scores.keras"));
    expect_predictions(m);
    ck_model_free(m);
}

/* Keras 3.15 writes the call argument in the node's "kwargs". */
Test(attention_scores, keras3_archive_predicts_both_outputs)
{
    ck_model *m = load_model(ck_test_data("norm_attn/scores/scores_k3.keras"));
    expect_predictions_of(m, "k3_");
    ck_model_free(m);
}

Test(attention_scores, saved_model_keeps_the_call_argument)
{
    ck_model *m = load_model(ck_test_data("norm_attn/scores/scores.h5"));
    char path[512]; /* ck_test_tmp's buffer is reused by ck_test_data */
    snprintf(path, sizeof path, "%s", ck_test_tmp("attention_scores_round_trip.h5"));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    m = load_model(path);
    char *config = NULL;
    cr_assert_eq(ck_model_to_json(m, &config), CK_OK, "%s", ck_last_error());
    /* One node each of att, add and mha records the argument. */
    int count = 0;
    for (const char *p = config; (p = strstr(p, "\"return_attention_scores\": true")); p++) count++;
    cr_expect_geq(count, 3, "%s", config);
    ck_free(config);
    expect_predictions(m);
    ck_model_free(m);
    remove(path);
}

/* One inference-mode forward and backward of the model's layer `name` on
 * the fixture inputs with both outputs' gradients, against TF's. */
static void expect_tf_gradients(const char *name)
{
    ck_model *m = load_model(ck_test_data("norm_attn/scores/scores.h5"));
    ck_layer *l = NULL;
    cr_assert_eq(ck_model_get_layer(m, name, &l), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_output_count(l), 2);
    ck_tensor *x[2] = {fixture("x0"), fixture("x1")};
    ck_shape in[2] = {ck_tensor_shape(x[0]), ck_tensor_shape(x[1])}, os[2];
    int n_out = 0;
    cr_assert_eq(ck_layer_compute_output_shapes(l, 2, in, 2, os, &n_out), CK_OK, "%s", ck_last_error());
    cr_assert_eq(n_out, 2);
    ck_tensor *y[2], *dx[2];
    ck_tensor hdr[2], dhdr[2];
    char fname[32];
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(ck_tensor_new(&y[k], CK_FLOAT32, os[k].rank, os[k].dims), CK_OK);
        cr_assert_eq(ck_tensor_new(&dx[k], CK_FLOAT32, in[k].rank, in[k].dims), CK_OK);
    }
    int nw = ck_layer_trainable_weight_count(l);
    for (int j = 0; j < nw; j++) {
        ck_weight *w = ck_layer_trainable_weight(l, j);
        const ck_tensor *v = ck_weight_value(w);
        cr_assert_eq(ck_tensor_new(&w->grad, v->dtype, v->rank, v->shape), CK_OK);
    }
    size_t bytes = ck_layer_saved_bytes(l, 2, in, os);
    void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    ck_train_ctx ctx = {0};
    cr_assert_eq(ck_layer_train_call(l, &ctx, 2, (const ck_tensor *const *)x, y, saved), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *dy[2];
    for (int k = 0; k < 2; k++) {
        snprintf(fname, sizeof fname, "%s_dy%d", name, k);
        dy[k] = fixture(fname);
        hdr[k] = *y[k];
        dhdr[k] = *dy[k];
    }
    cr_assert_eq(ck_layer_backward(l, &ctx, 2, (const ck_tensor *const *)x, hdr, dhdr, saved, dx), CK_OK, "%s",
                 ck_last_error());
    for (int k = 0; k < 2; k++) {
        snprintf(fname, sizeof fname, "%s_dx%d", name, k);
        ck_tensor *want = fixture(fname);
        ck_test_expect_close_rel(dx[k], want, 1e-5, fname);
        ck_tensor_free(want);
    }
    for (int j = 0; j < nw; j++) {
        ck_weight *w = ck_layer_trainable_weight(l, j);
        snprintf(fname, sizeof fname, "%s_dw%d", name, j);
        ck_tensor *want = fixture(fname);
        ck_test_expect_close_rel(w->grad, want, 1e-5, fname);
        ck_tensor_free(want);
        ck_tensor_free(w->grad);
        w->grad = NULL;
    }
    free(saved);
    for (int k = 0; k < 2; k++) {
        ck_tensor_free(x[k]);
        ck_tensor_free(y[k]);
        ck_tensor_free(dx[k]);
        ck_tensor_free(dy[k]);
    }
    ck_model_free(m);
}

Test(attention_scores, attention_tf_gradients) { expect_tf_gradients("att"); }
Test(attention_scores, additive_attention_tf_gradients) { expect_tf_gradients("add"); }
Test(attention_scores, mha_tf_gradients) { expect_tf_gradients("mha"); }

/* Float64 central differences through both outputs, in inference and in
 * training mode (the dropout mask repeats: gradcheck re-seeds). */
static void gradcheck_both(ck_layer *l, int n, const int64_t (*shapes)[3])
{
    cr_assert_eq(ck_layer_set_return_attention_scores(l, true), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_layer_output_count(l), 2);
    ck_tensor *x[3] = {NULL};
    for (int i = 0; i < n; i++) x[i] = ck_test_uniform(CK_FLOAT64, 3, shapes[i], -1, 1, 40 + (uint64_t)i);
    cr_expect_gt(ck_test_gradcheck(l, n, x, 0, 1e-6), 0);
    cr_expect_gt(ck_test_gradcheck(l, n, x, 1, 1e-6), 0);
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
    ck_layer_free(l);
}

static const int64_t QVK[3][3] = {{2, 3, 4}, {2, 5, 4}, {2, 5, 4}};

Test(attention_scores, attention_gradcheck)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_attention(&l, &(ck_attention_opts){.use_scale = true, .dropout = 0.3, .dtype = CK_FLOAT64}),
                 CK_OK);
    gradcheck_both(l, 3, QVK);
    cr_assert_eq(ck_attention(&l, &(ck_attention_opts){.score_mode = "concat", .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_layer_set_use_causal_mask(l, true), CK_OK);
    gradcheck_both(l, 2, (const int64_t[][3]){{2, 4, 3}, {2, 4, 3}});
}

Test(attention_scores, additive_attention_gradcheck)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_additive_attention(&l, &(ck_additive_attention_opts){.dropout = 0.25, .dtype = CK_FLOAT64}),
                 CK_OK);
    gradcheck_both(l, 2, QVK);
}

Test(attention_scores, mha_gradcheck)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 2, .key_dim = 3,
                                                                              .dropout = 0.2, .dtype = CK_FLOAT64}),
                 CK_OK);
    gradcheck_both(l, 2, QVK);
}

Test(attention_scores, shapes_and_errors)
{
    ck_layer *l = NULL;
    ck_shape out[2];
    int n = 0;
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 3, .key_dim = 2}),
                 CK_OK);
    cr_expect_eq(ck_layer_output_count(l), 1);
    cr_assert_eq(ck_layer_set_return_attention_scores(l, true), CK_OK);
    const ck_shape mha_in[2] = {{4, {-1, 2, 3, 5}}, {4, {-1, 4, 6, 5}}};
    cr_assert_eq(ck_layer_compute_output_shapes(l, 2, mha_in, 2, out, &n), CK_OK, "%s", ck_last_error());
    cr_assert_eq(n, 2);
    const ck_shape want = {6, {-1, 3, 2, 3, 4, 6}};
    cr_expect_eq(out[1].rank, 6);
    cr_expect_arr_eq(out[1].dims, want.dims, sizeof(int64_t) * 6);
    ck_layer_free(l);

    cr_assert_eq(ck_attention(&l, NULL), CK_OK);
    cr_assert_eq(ck_layer_set_return_attention_scores(l, true), CK_OK);
    const ck_shape da_in[3] = {{3, {-1, 7, 4}}, {3, {-1, 9, 2}}, {3, {-1, 9, 4}}};
    cr_assert_eq(ck_layer_compute_output_shapes(l, 3, da_in, 2, out, &n), CK_OK, "%s", ck_last_error());
    cr_expect_eq(out[0].dims[2], 2);
    cr_expect_eq(out[1].rank, 3);
    cr_expect_eq(out[1].dims[1], 7);
    cr_expect_eq(out[1].dims[2], 9);
    ck_layer_free(l);

    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 2}), CK_OK);
    cr_expect_eq(ck_layer_set_return_attention_scores(l, true), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "is not an attention layer") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    cr_expect_eq(ck_layer_set_return_attention_scores(NULL, true), CK_VALUE_ERROR);
}

/* Steady-state predict of the six-output model allocates nothing (batch 2
 * over 3 items: a full batch and a remainder), and gives Keras' values. */
Test(attention_scores, predict_into_allocates_nothing)
{
    ck_model *m = load_model(ck_test_data("norm_attn/scores/scores.h5"));
    ck_tensor *x[2] = {fixture("x0"), fixture("x1")}, *y[6] = {NULL};
    cr_assert_eq(ck_model_predict(m, 2, x, y, 2), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_predict_into(m, 2, x, y, 2), CK_OK, "%s", ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 2, x, y, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    for (int k = 0; k < 6; k++) {
        char name[8];
        snprintf(name, sizeof name, "y%d", k);
        ck_tensor *want = fixture(name);
        ck_test_expect_close_rel(y[k], want, 1e-5, name);
        ck_tensor_free(want);
        ck_tensor_free(y[k]);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_model_free(m);
}
