/* Masked attention in whole models saved by tf.keras 2.15 and Keras 3.15
 * (tools/gen_attention_mask_goldens.py, tests/data/attention_mask/models):
 * - da_emb: Embedding(mask_zero) masks reaching Attention (use_scale,
 *   return_attention_scores), AdditiveAttention (use_causal_mask) and a
 *   concat Attention with a key, and a GlobalAveragePooling1D averaging the
 *   attention output over the query mask;
 * - da_explicit: the mask=[query_mask, value_mask] call argument from bool
 *   model inputs;
 * - mha_emb: MultiHeadAttention with Embedding masks on query / value /
 *   key, an attention_mask input, use_causal_mask and the scores output;
 * - mha_axes: attention_axes (1,) and (2,) on rank-4 inputs;
 * .h5 and .keras predict every output within 1e-5 of Keras, save and load
 * back unchanged, and predict_into allocates nothing once planned. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name)
{
    char rel[160];
    snprintf(rel, sizeof rel, "attention_mask/models/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static ck_model *load(const char *file)
{
    char rel[160];
    snprintf(rel, sizeof rel, "attention_mask/models/%s", file);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(rel), &m), CK_OK, "%s: %s", file, ck_last_error());
    return m;
}

/* Predicts the fixture inputs of `name` and compares every output with
 * <want>_y<k>. */
static void expect_predictions(ck_model *m, const char *name, const char *want)
{
    char f[96];
    int n_in = ck_model_input_count(m), n_out = ck_model_output_count(m);
    ck_tensor *x[8], *y[8] = {NULL};
    cr_assert(n_in <= 8 && n_out <= 8);
    for (int i = 0; i < n_in; i++) {
        snprintf(f, sizeof f, "%s_x%d", name, i);
        x[i] = fixture(f);
    }
    cr_assert_eq(ck_model_predict(m, n_in, x, y, 0), CK_OK, "%s: %s", name, ck_last_error());
    for (int k = 0; k < n_out; k++) {
        snprintf(f, sizeof f, "%s_y%d", want, k);
        ck_tensor *w = fixture(f);
        ck_test_expect_close_rel(y[k], w, 1e-5, f);
        ck_tensor_free(w);
        ck_tensor_free(y[k]);
    }
    for (int i = 0; i < n_in; i++) ck_tensor_free(x[i]);
}

/* Loads, predicts, saves as .h5, loads that and predicts again. */
static void expect_file(const char *name, const char *ext)
{
    char file[96], path[512];
    snprintf(file, sizeof file, "%s.%s", name, ext);
    ck_model *m = load(file);
    expect_predictions(m, name, name);
    snprintf(path, sizeof path, "%s", ck_test_tmp(file));
    strcat(path, ".h5");
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s: %s", file, ck_last_error());
    ck_model_free(m);
    m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s saved: %s", file, ck_last_error());
    expect_predictions(m, name, name);
    ck_model_free(m);
    remove(path);
}

Test(attention_mask_models, dense_attention_embedding_masks_h5) { expect_file("da_emb", "h5"); }
Test(attention_mask_models, dense_attention_embedding_masks_keras) { expect_file("da_emb", "keras"); }
Test(attention_mask_models, dense_attention_mask_argument_h5) { expect_file("da_explicit", "h5"); }
Test(attention_mask_models, dense_attention_mask_argument_keras) { expect_file("da_explicit", "keras"); }
Test(attention_mask_models, mha_embedding_masks_h5) { expect_file("mha_emb", "h5"); }
Test(attention_mask_models, mha_embedding_masks_keras) { expect_file("mha_emb", "keras"); }
Test(attention_mask_models, mha_attention_axes_h5) { expect_file("mha_axes", "h5"); }
Test(attention_mask_models, mha_attention_axes_keras) { expect_file("mha_axes", "keras"); }

/* Steady-state predict_into of the masked models allocates nothing. */
static void expect_no_allocation(const char *file, const char *name)
{
    ck_model *m = load(file);
    char f[96];
    int n_in = ck_model_input_count(m), n_out = ck_model_output_count(m);
    ck_tensor *x[8], *y[8];
    for (int i = 0; i < n_in; i++) {
        snprintf(f, sizeof f, "%s_x%d", name, i);
        x[i] = fixture(f);
    }
    for (int k = 0; k < n_out; k++) {
        snprintf(f, sizeof f, "%s_y%d", name, k);
        y[k] = fixture(f); /* the right shapes; overwritten */
    }
    cr_assert_eq(ck_model_predict_into(m, n_in, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, n_in, x, y, 0);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning failed: %s", file, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", file, attempts);
    for (int k = 0; k < n_out; k++) {
        snprintf(f, sizeof f, "%s_y%d", name, k);
        ck_tensor *w = fixture(f);
        ck_test_expect_close_rel(y[k], w, 1e-5, f);
        ck_tensor_free(w);
        ck_tensor_free(y[k]);
    }
    for (int i = 0; i < n_in; i++) ck_tensor_free(x[i]);
    ck_model_free(m);
}

Test(attention_mask_models, masked_predict_into_allocates_nothing)
{
    expect_no_allocation("da_emb.h5", "da_emb");
    expect_no_allocation("da_explicit.h5", "da_explicit");
    expect_no_allocation("mha_emb.h5", "mha_emb");
    expect_no_allocation("mha_axes.h5", "mha_axes");
}

/* One output of a Keras 3 archive against Keras 3's prediction. */
static void expect_k3_output(ck_model *m, const char *name, int k)
{
    char f[96];
    int n_in = ck_model_input_count(m), n_out = ck_model_output_count(m);
    ck_tensor *x[8], *y[8] = {NULL};
    cr_assert(n_in <= 8 && n_out <= 8 && k < n_out);
    for (int i = 0; i < n_in; i++) {
        snprintf(f, sizeof f, "%s_x%d", name, i);
        x[i] = fixture(f);
    }
    cr_assert_eq(ck_model_predict(m, n_in, x, y, 0), CK_OK, "%s: %s", name, ck_last_error());
    snprintf(f, sizeof f, "%s_k3_y%d", name, k);
    ck_tensor *w = fixture(f);
    ck_test_expect_close_rel(y[k], w, 1e-5, f);
    ck_tensor_free(w);
    for (int j = 0; j < n_out; j++) ck_tensor_free(y[j]);
    for (int i = 0; i < n_in; i++) ck_tensor_free(x[i]);
}

/* Keras 3.15 writes the Embedding masks as NotEqual operations of the
 * graph (read as TFOpLambda math.not_equal) and a layer's incoming mask
 * as its explicit `mask` call argument (checked to be the mask ckeras
 * propagates).  Both archives load and predict Keras 3's values, except
 * mha_emb's second MultiHeadAttention: Keras 3's MHA.call deletes the
 * Keras masks of its query / value / key tensors, so mha2, run after
 * mha1 on the same emb_q / emb_v, sees only its key's mask, which ckeras
 * (as tf.keras 2.15) does not reproduce. */
Test(attention_mask_models, keras3_archives)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("attention_mask/models/da_emb_k3.keras"), &m), CK_OK, "%s",
                 ck_last_error());
    expect_predictions(m, "da_emb", "da_emb_k3");
    ck_model_free(m);
    m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("attention_mask/models/mha_emb_k3.keras"), &m), CK_OK, "%s",
                 ck_last_error());
    expect_k3_output(m, "mha_emb", 0); /* mha1 */
    expect_k3_output(m, "mha_emb", 3); /* the pooling with its explicit mask */
    ck_model_free(m);
}

/* The bool Inputs of the mask argument (held as int32) are written back as
 * bool: tf.keras' Attention refuses an int32 mask. */
Test(attention_mask_models, bool_mask_inputs_saved_as_bool)
{
    ck_model *m = load("da_explicit.h5");
    char *config = NULL;
    cr_assert_eq(ck_model_to_json(m, &config), CK_OK, "%s", ck_last_error());
    json_error_t err;
    json_t *j = json_loads(config, 0, &err);
    cr_assert(j, "%s", err.text);
    const json_t *layers = json_object_get(json_object_get(j, "config"), "layers");
    int bools = 0;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *c = json_object_get(json_array_get(layers, i), "config");
        const char *dt = json_string_value(json_object_get(c, "dtype"));
        bools += dt && !strcmp(dt, "bool");
    }
    cr_expect_eq(bools, 2, "qm and vm are bool Inputs: %s", config);
    json_decref(j);
    ck_free(config);
    ck_model_free(m);
}

/* One SGD step (lr 50, mse, one full batch) through Embedding masks,
 * MultiHeadAttention, Attention and a masked pooling lands on tf.keras'
 * weights: the masks reach the backward passes through the graph. */
Test(attention_mask_models, one_sgd_step_matches_tf_keras)
{
    ck_model *m = load("fit_masked.h5");
    cr_assert(ck_model_compiled(m), "fit_masked.h5 is saved compiled");
    ck_tensor *x[2] = {fixture("fit_masked_x0"), fixture("fit_masked_x1")}, *t = fixture("fit_masked_t");
    cr_assert_eq(ck_model_fit(m, 2, x, 1, &t,
                              &(ck_fit_opts){.epochs = 1, .batch_size = 3, .no_shuffle = true, .verbose = ck_int(0)},
                              NULL),
                 CK_OK, "%s", ck_last_error());
    int nw = 0;
    ck_layer *ml = ck_model_layer(m);
    nw = ck_layer_weight_count(ml);
    cr_assert_gt(nw, 10);
    for (int j = 0; j < nw; j++) {
        char f[32];
        snprintf(f, sizeof f, "fit_masked_w%d", j);
        ck_tensor *want = fixture(f);
        ck_test_expect_close_rel(ck_weight_value(ck_layer_weight(ml, j)), want, 1e-5, f);
        ck_tensor_free(want);
    }
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_tensor_free(t);
    ck_model_free(m);
}
