/* A transformer encoder block (MultiHeadAttention(x, x), residual Adds,
 * LayerNormalization, a Dense feed-forward) saved by tf.keras 2.15
 * (tools/gen_norm_attn_goldens.py, tests/data/norm_attn/models/):
 * - built with the C API (the loader does not yet resolve the value / key
 *   kwargs of a MultiHeadAttention node), its weights loaded from the .h5
 *   by name and by topology, it predicts tf.keras' output within 1e-5;
 * - once planned, predict_into allocates nothing (MultiHeadAttention's
 *   projections and scores live in the planned scratch);
 * - the model trains: one fit epoch runs MultiHeadAttention's backward
 *   through the graph and lowers the loss. */
#include <criterion/criterion.h>
#include <string.h>

#include "ckeras.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *npy(const char *rel)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static ck_model *block(void)
{
    ck_tensor *x = NULL, *att = NULL, *r1 = NULL, *n1 = NULL, *f1 = NULL, *f2 = NULL, *r2 = NULL, *out = NULL;
    ck_layer *mha, *add1, *ln1, *ff1, *ff2, *add2, *ln2;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(5, 8), .name = "tokens"}), CK_OK);
    cr_assert_eq(ck_multi_head_attention(&mha, &(ck_multi_head_attention_opts){.num_heads = 2, .key_dim = 4,
                                                                                 .name = "mha"}),
                 CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_add(&add1, &(ck_merge_opts){.name = "res1"}), CK_OK);
    cr_assert_eq(ck_layer_normalization(&ln1, &(ck_layer_normalization_opts){.epsilon = ck_double(1e-6),
                                                                               .name = "ln1"}),
                 CK_OK);
    cr_assert_eq(ck_dense(&ff1, &(ck_dense_opts){.units = 16, .activation = "relu", .name = "ff1"}), CK_OK);
    cr_assert_eq(ck_dense(&ff2, &(ck_dense_opts){.units = 8, .name = "ff2"}), CK_OK);
    cr_assert_eq(ck_add(&add2, &(ck_merge_opts){.name = "res2"}), CK_OK);
    cr_assert_eq(ck_layer_normalization(&ln2, &(ck_layer_normalization_opts){.epsilon = ck_double(1e-6),
                                                                               .name = "ln2"}),
                 CK_OK);
    cr_assert_eq(ck_layer_apply(mha, 2, (ck_tensor *[]){x, x}, &att), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(add1, 2, (ck_tensor *[]){x, att}, &r1), CK_OK);
    cr_assert_eq(ck_layer_apply(ln1, 1, &r1, &n1), CK_OK);
    cr_assert_eq(ck_layer_apply(ff1, 1, &n1, &f1), CK_OK);
    cr_assert_eq(ck_layer_apply(ff2, 1, &f1, &f2), CK_OK);
    cr_assert_eq(ck_layer_apply(add2, 2, (ck_tensor *[]){n1, f2}, &r2), CK_OK);
    cr_assert_eq(ck_layer_apply(ln2, 1, &r2, &out), CK_OK);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &x, 1, &out, "block"), CK_OK, "%s", ck_last_error());
    ck_layer *ls[] = {mha, add1, ln1, ff1, ff2, add2, ln2, ck_tensor_layer(x)};
    for (size_t i = 0; i < sizeof ls / sizeof *ls; i++) ck_layer_free(ls[i]);
    return m;
}

static void expect_prediction(ck_model *m, const char *what)
{
    ck_tensor *x = npy("norm_attn/models/block_x.npy"), *want = npy("norm_attn/models/block_y.npy");
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 2), CK_OK, "%s: %s", what, ck_last_error());
    ck_test_expect_close_rel(y, want, 1e-5, what);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
}

Test(attention_models, transformer_block_h5_weights)
{
    ck_model *m = block();
    cr_assert_eq(ck_model_load_weights(m, ck_test_data("norm_attn/models/block.h5"), 1), CK_OK, "%s",
                 ck_last_error());
    expect_prediction(m, "block.h5 by name");
    ck_model_free(m);
    m = block();
    cr_assert_eq(ck_model_load_weights(m, ck_test_data("norm_attn/models/block.h5"), 0), CK_OK, "%s",
                 ck_last_error());
    expect_prediction(m, "block.h5 by topology");
    ck_model_free(m);
}

Test(attention_models, transformer_block_keras_weights)
{
    ck_model *m = block();
    cr_assert_eq(ck_model_load_weights(m, ck_test_data("norm_attn/models/block.keras"), 0), CK_OK, "%s",
                 ck_last_error());
    expect_prediction(m, "block.keras");
    /* Saved by ckeras (tf.keras 2.13+'s _query_dense / ... paths) and read back. */
    const char *path = ck_test_tmp("block_saved.keras");
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    m = block();
    cr_assert_eq(ck_model_load_weights(m, path, 0), CK_OK, "%s", ck_last_error());
    expect_prediction(m, "block saved by ckeras");
    ck_model_free(m);
}

/* The whole files, as tf.keras 2.15 saved them: MultiHeadAttention's value
 * tensor comes from the node's kwargs.  A ckeras-saved copy of each loads
 * back and predicts the same. */
Test(attention_models, transformer_block_files_load_whole)
{
    const char *files[2] = {"norm_attn/models/block.h5", "norm_attn/models/block.keras"};
    const char *saved[2] = {"block_whole.h5", "block_whole.keras"};
    for (int i = 0; i < 2; i++) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(ck_test_data(files[i]), &m), CK_OK, "%s: %s", files[i], ck_last_error());
        expect_prediction(m, files[i]);
        const char *path = ck_test_tmp(saved[i]);
        cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
        ck_model_free(m);
        m = NULL;
        cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
        expect_prediction(m, saved[i]);
        ck_model_free(m);
    }
}

Test(attention_models, transformer_block_zero_alloc)
{
    ck_model *m = block();
    cr_assert_eq(ck_model_load_weights(m, ck_test_data("norm_attn/models/block.h5"), 1), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *x = npy("norm_attn/models/block_x.npy"), *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 2), CK_OK, "%s", ck_last_error());
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, 1, &x, outs, 2), CK_OK, "%s", ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 1, &x, outs, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    ck_tensor *want = npy("norm_attn/models/block_y.npy");
    ck_test_expect_close_rel(y, want, 1e-5, "predict_into");
    ck_tensor_free(want);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_model_free(m);
}

Test(attention_models, transformer_block_fits)
{
    ck_model *m = block();
    cr_assert_eq(ck_model_load_weights(m, ck_test_data("norm_attn/models/block.h5"), 1), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "adam", .loss = "mse"}), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *x = npy("norm_attn/models/block_x.npy");
    ck_tensor *t = ck_test_uniform(CK_FLOAT32, x->rank, x->shape, -1, 1, 3);
    ck_logs lb, la;
    cr_assert_eq(ck_model_evaluate(m, 1, &x, 1, &t, &(ck_evaluate_opts){.verbose = ck_int(0)}, &lb), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_model_fit(m, 1, &x, 1, &t, &(ck_fit_opts){.epochs = 20, .verbose = ck_int(0)}, NULL), CK_OK,
                 "%s", ck_last_error());
    cr_assert_eq(ck_model_evaluate(m, 1, &x, 1, &t, &(ck_evaluate_opts){.verbose = ck_int(0)}, &la), CK_OK, "%s",
                 ck_last_error());
    const double before = ck_logs_get(&lb, "loss"), after = ck_logs_get(&la, "loss");
    cr_expect_lt(after, before * 0.9, "loss %g -> %g", before, after);
    ck_tensor_free(x);
    ck_tensor_free(t);
    ck_model_free(m);
}

/* A real tf.keras 2.11 file: Attention on rank-2 inputs (None, 32), where
 * the rows of a batch attend to each other (tf.matmul of two matrices);
 * the prediction of one batch of 5 rows matches tf.keras'. */
Test(attention_models, legacy_rank2_attention_file)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("keras/dl4j-legacy-formats/keras-attention.h5"), &m), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *x = npy("norm_attn/models/legacy_attention_x.npy");
    ck_tensor *want = npy("norm_attn/models/legacy_attention_y.npy"), *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 5), CK_OK, "%s", ck_last_error());
    ck_test_expect_close_rel(y, want, 1e-5, "keras-attention.h5");
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}
