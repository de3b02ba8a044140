/* MultiHeadAttention and Attention nodes built in C record their call
 * arguments the way tf.keras 2.15 does (value / key / attention_mask by
 * keyword, use_causal_mask, return_attention_scores), so the configs
 * ckeras saves are ones tf.keras loads: the inbound nodes of a model built
 * here equal those tf.keras wrote for the same model
 * (tests/data/attention_mask/config/mha_calls.json, from
 * tools/gen_attention_mask_goldens.py); the saved file loads back in
 * ckeras and, with tf.keras' weights, predicts its six outputs. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name)
{
    char rel[160];
    snprintf(rel, sizeof rel, "attention_mask/config/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static ck_layer *mha(int64_t heads, int64_t key_dim, const char *name)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = heads, .key_dim = key_dim,
                                                                           .name = name}),
                 CK_OK, "%s", ck_last_error());
    return l;
}

/* q, v, k, m -> [mha_full(q, v, key=k, attention_mask=m, scores, causal),
 * mha_plain(q, v), mha_mask(q, v, attention_mask=m), att([q, v], causal,
 * scores)], as the generator builds it. */
static ck_model *build(void)
{
    ck_tensor *in[4], *outs[6];
    static const char *const names[4] = {"q", "v", "k", "m"};
    const ck_shape shapes[4] = {CK_TEST_SHAPE(4, 6), CK_TEST_SHAPE(5, 6), CK_TEST_SHAPE(5, 3), CK_TEST_SHAPE(4, 5)};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(ck_input(&in[i], &(ck_input_opts){.shape = shapes[i], .name = names[i]}), CK_OK);
    ck_layer *full = mha(2, 3, "mha_full"), *plain = mha(1, 2, "mha_plain"), *masked = mha(1, 2, "mha_mask");
    ck_layer *att = NULL;
    cr_assert_eq(ck_attention(&att, &(ck_attention_opts){.name = "att"}), CK_OK);
    cr_assert_eq(ck_layer_set_use_causal_mask(full, true), CK_OK);
    cr_assert_eq(ck_layer_set_return_attention_scores(full, true), CK_OK);
    cr_assert_eq(ck_layer_set_use_causal_mask(att, true), CK_OK);
    cr_assert_eq(ck_layer_set_return_attention_scores(att, true), CK_OK);
    int n = 0;
    cr_assert_eq(ck_layer_apply_multi(full, 4, in, 2, outs, &n), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(plain, 2, (ck_tensor *[]){in[0], in[1]}, &outs[2]), CK_OK, "%s", ck_last_error());
    /* A mask without a key: the value again as the key. */
    cr_assert_eq(ck_layer_apply(masked, 4, (ck_tensor *[]){in[0], in[1], in[1], in[3]}, &outs[3]), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_layer_apply_multi(att, 2, (ck_tensor *[]){in[0], in[1]}, 2, &outs[4], &n), CK_OK, "%s",
                 ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 4, in, 6, outs, "mha_calls"), CK_OK, "%s", ck_last_error());
    ck_layer *ls[] = {full, plain, masked, att};
    for (int i = 0; i < 4; i++) ck_layer_free(ls[i]);
    for (int i = 0; i < 4; i++) ck_layer_free(ck_tensor_layer(in[i]));
    return m;
}

static const json_t *layer_named(const json_t *config, const char *name)
{
    const json_t *layers = json_object_get(json_object_get(config, "config"), "layers");
    for (size_t i = 0; i < json_array_size(layers); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(layers, i), "name")), name))
            return json_array_get(layers, i);
    return NULL;
}

/* Every layer's inbound nodes in `config` equal tf.keras' own. */
static void expect_tf_keras_nodes(const char *config_text, const char *what)
{
    json_error_t err;
    json_t *want = json_load_file(ck_test_data("attention_mask/config/mha_calls.json"), 0, &err);
    cr_assert(want, "mha_calls.json: %s", err.text);
    json_t *got = json_loads(config_text, 0, &err);
    cr_assert(got, "%s: %s", what, err.text);
    static const char *const names[] = {"q", "v", "k", "m", "mha_full", "mha_plain", "mha_mask", "att"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const json_t *g = layer_named(got, names[i]), *w = layer_named(want, names[i]);
        cr_assert(g && w, "%s: layer %s", what, names[i]);
        char *gs = json_dumps(json_object_get(g, "inbound_nodes"), JSON_SORT_KEYS);
        char *ws = json_dumps(json_object_get(w, "inbound_nodes"), JSON_SORT_KEYS);
        cr_expect_str_eq(gs, ws, "%s: inbound nodes of %s", what, names[i]);
        free(gs);
        free(ws);
    }
    json_decref(got);
    json_decref(want);
}

static void expect_predictions(ck_model *m, const char *what)
{
    ck_tensor *x[4], *y[6] = {NULL};
    char f[16];
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof f, "x%d", i);
        x[i] = fixture(f);
    }
    cr_assert_eq(ck_model_predict(m, 4, x, y, 0), CK_OK, "%s: %s", what, ck_last_error());
    for (int k = 0; k < 6; k++) {
        snprintf(f, sizeof f, "y%d", k);
        ck_tensor *w = fixture(f);
        ck_test_expect_close_rel(y[k], w, 1e-5, f);
        ck_tensor_free(w);
        ck_tensor_free(y[k]);
    }
    for (int i = 0; i < 4; i++) ck_tensor_free(x[i]);
}

Test(attention_calls, c_built_nodes_are_written_as_tf_keras_writes_them)
{
    ck_model *m = build();
    char *config = NULL;
    cr_assert_eq(ck_model_to_json(m, &config), CK_OK, "%s", ck_last_error());
    expect_tf_keras_nodes(config, "built in C");
    ck_free(config);
    ck_model_free(m);
}

Test(attention_calls, saved_file_loads_back_and_predicts)
{
    ck_model *m = build();
    cr_assert_eq(ck_model_load_weights(m, ck_test_data("attention_mask/config/mha_calls.h5"), 1), CK_OK, "%s",
                 ck_last_error());
    expect_predictions(m, "built in C");
    char path[512];
    snprintf(path, sizeof path, "%s", ck_test_tmp("attention_calls.h5"));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
    expect_predictions(m, "saved and loaded");
    char *config = NULL;
    cr_assert_eq(ck_model_to_json(m, &config), CK_OK, "%s", ck_last_error());
    expect_tf_keras_nodes(config, "saved and loaded");
    ck_free(config);
    ck_model_free(m);
    remove(path);
}
