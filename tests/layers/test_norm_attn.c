/* Normalization, noise and attention layers against tf.keras 2.15
 * (tools/gen_norm_attn_goldens.py, tests/data/norm_attn/cases.json):
 * MultiHeadAttention, Attention, AdditiveAttention, GroupNormalization,
 * UnitNormalization, and the configs of the noise layers and
 * ActivityRegularization.
 * - every case: tf.keras' get_config text written back after the build,
 *   the inference output, and one training-mode step's output, input
 *   gradients and weight gradients (within 1e-5 relative, float32);
 * - every case again in float64 through central differences (both modes);
 * - MultiHeadAttention's inputs [query, value, mask] through the node
 *   kwargs hook, and use_causal_mask. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "model/model.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

#define MAX_IN 4

static ck_tensor *fixture(const char *name, const char *key)
{
    char rel[256];
    snprintf(rel, sizeof rel, "norm_attn/%s_%s.npy", name, key);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static json_t *cases(void) { return ck_test_load_json(ck_test_data("norm_attn/cases.json")); }

static int is_mask(const json_t *c, int i)
{
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(c, "masks"), k, v) if (json_integer_value(v) == i) return 1;
    return 0;
}

/* The calls a case's layer needs before it is called: the kwargs of its
 * Keras call (MultiHeadAttention), use_causal_mask. */
static void prepare(ck_layer *l, const json_t *c)
{
    const char *cls = json_string_value(json_object_get(c, "class"));
    int causal = json_is_true(json_object_get(c, "causal"));
    if (!strcmp(cls, "MultiHeadAttention")) {
        json_t *kw = json_pack("{s:[s,i,i], s:b}", "value", "v", 0, 0, "use_causal_mask", causal);
        if (json_is_true(json_object_get(c, "kw_key"))) json_object_set_new(kw, "key", json_pack("[s,i,i]", "k", 0, 0));
        if (json_is_true(json_object_get(c, "kw_mask")))
            json_object_set_new(kw, "attention_mask", json_pack("[s,i,i]", "m", 0, 0));
        cr_assert_eq(l->cls->node_kwargs(l, kw), CK_OK, "%s", ck_last_error());
        json_decref(kw);
    } else if (causal) {
        cr_assert_eq(ck_layer_set_use_causal_mask(l, true), CK_OK, "%s", ck_last_error());
    }
}

typedef struct tcase {
    const char *name;
    ck_layer *layer;
    int n, nw;
    ck_tensor *x[MAX_IN], *w[8], *dw[8], *dx[MAX_IN], *y, *dy;
} tcase;

/* The layer of case c (dtype as given, float32 or float64), prepared and
 * built on the case's inputs, with the case's weights; NULL when its
 * class is not registered. */
static ck_layer *case_layer(const json_t *c, ck_dtype dtype, ck_tensor *const *x, int n)
{
    json_t *cfg = json_loads(json_string_value(json_object_get(c, "config")), 0, NULL);
    cr_assert(cfg);
    if (dtype == CK_FLOAT64) json_object_set_new(json_object_get(cfg, "config"), "dtype", json_string("float64"));
    char *text = json_dumps(cfg, 0);
    json_decref(cfg);
    ck_layer *l = NULL;
    ck_status st = ck_layer_from_config(text, &l);
    free(text);
    if (st == CK_NOT_IMPLEMENTED && strstr(ck_last_error(), "Unknown layer class")) return NULL;
    cr_assert_eq(st, CK_OK, "%s", ck_last_error());
    prepare(l, c);
    ck_shape s[MAX_IN];
    for (int i = 0; i < n; i++) s[i] = ck_tensor_shape(x[i]);
    cr_assert_eq(ck_layer_build(l, n, s), CK_OK, "%s", ck_last_error());
    const char *name = json_string_value(json_object_get(c, "name"));
    int nw = (int)json_integer_value(json_object_get(c, "weights"));
    ck_tensor *w[8];
    for (int j = 0; j < nw; j++) {
        char key[16];
        snprintf(key, sizeof key, "w%d", j);
        ck_tensor *w32 = fixture(name, key);
        cr_assert_eq(ck_tensor_cast(&w[j], w32, dtype), CK_OK);
        ck_tensor_free(w32);
    }
    if (nw) cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s: %s", name, ck_last_error());
    for (int j = 0; j < nw; j++) ck_tensor_free(w[j]);
    return l;
}

/* One training call and backward with dout = dy on several inputs; din[i]
 * (float inputs) and the trainable weights' gradients come back. */
static void train_step(ck_layer *l, int n, ck_tensor *const *x, const ck_tensor *dy, ck_tensor **y,
                       ck_tensor **din, ck_tensor **grads, int *ngrads)
{
    ck_rng rng;
    ck_rng_seed(&rng, 5);
    ck_train_ctx ctx = {.training = 1, .rng = &rng};
    ck_shape s[MAX_IN], os;
    for (int i = 0; i < n; i++) s[i] = ck_tensor_shape(x[i]);
    cr_assert_eq(ck_layer_compute_output_shape(l, n, s, &os), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_tensor_new(y, l->dtype, os.rank, os.dims), CK_OK);
    size_t bytes = ck_layer_saved_bytes(l, n, s, &os);
    void *saved = aligned_alloc(64, bytes ? bytes : 64);
    *ngrads = ck_layer_trainable_weight_count(l);
    for (int j = 0; j < *ngrads; j++) {
        ck_weight *w = ck_layer_trainable_weight(l, j);
        const ck_tensor *v = ck_weight_value(w);
        cr_assert_eq(ck_tensor_new(&grads[j], v->dtype, v->rank, v->shape), CK_OK);
        w->grad = grads[j];
    }
    cr_assert_eq(ck_layer_train_call(l, &ctx, n, (const ck_tensor *const *)x, y, saved), CK_OK, "%s",
                 ck_last_error());
    for (int i = 0; i < n; i++) {
        din[i] = NULL;
        if (ck_dtype_is_floating(x[i]->dtype))
            cr_assert_eq(ck_tensor_new(&din[i], x[i]->dtype, x[i]->rank, x[i]->shape), CK_OK);
    }
    ck_tensor *dcopy = NULL;
    cr_assert_eq(ck_tensor_copy(&dcopy, dy), CK_OK);
    cr_assert_eq(ck_layer_backward(l, &ctx, n, (const ck_tensor *const *)x, *y, dcopy, saved, din), CK_OK, "%s",
                 ck_last_error());
    ck_tensor_free(dcopy);
    for (int j = 0; j < *ngrads; j++) ck_layer_trainable_weight(l, j)->grad = NULL;
    free(saved);
}

/* The inputs of a case as the C layer takes them (MultiHeadAttention's
 * mask without key stays third: the kwargs said so). */
static int case_inputs(const json_t *c, ck_tensor **x)
{
    const char *name = json_string_value(json_object_get(c, "name"));
    int n = (int)json_integer_value(json_object_get(c, "inputs"));
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "x%d", i);
        x[i] = fixture(name, key);
    }
    return n;
}

static long run_class_cases(const char *prefix)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    long ran = 0;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (strncmp(name, prefix, strlen(prefix)) != 0) continue;
        const char *config = json_string_value(json_object_get(c, "config"));
        ck_tensor *x[MAX_IN];
        int n = case_inputs(c, x);
        ck_layer *l = case_layer(c, CK_FLOAT32, x, n);
        cr_assert(l, "%s: class not registered", name);
        char *text = ck_test_config_of(l);
        cr_expect_str_eq(text, config, "%s", name);
        ck_free(text);
        ck_tensor *want = fixture(name, "y"), *dy = fixture(name, "dy"), *got = NULL;
        char what[64];
        snprintf(what, sizeof what, "%s y", name);
        cr_assert_eq(ck_layer_call(l, n, x, &got), CK_OK, "%s: %s", name, ck_last_error());
        ck_test_expect_close_rel(got, want, 1e-5, what);
        ck_tensor_free(got);
        /* A training-mode step without dropout: same output, gradients. */
        ck_tensor *y = NULL, *din[MAX_IN], *grads[8];
        int ng = 0;
        train_step(l, n, x, dy, &y, din, grads, &ng);
        ck_test_expect_close_rel(y, want, 1e-5, what);
        cr_expect_eq(ng, (int)json_integer_value(json_object_get(c, "weights")), "%s", name);
        for (int k = 0; k < n; k++) {
            if (is_mask(c, k)) continue;
            char key[16];
            snprintf(key, sizeof key, "dx%d", k);
            ck_tensor *g = fixture(name, key);
            snprintf(what, sizeof what, "%s %s", name, key);
            ck_test_expect_close_rel(din[k], g, 1e-5, what);
            ck_tensor_free(g);
        }
        for (int j = 0; j < ng; j++) {
            char key[16];
            snprintf(key, sizeof key, "dw%d", j);
            ck_tensor *g = fixture(name, key);
            snprintf(what, sizeof what, "%s %s", name, key);
            ck_test_expect_close_rel(grads[j], g, 1e-5, what);
            ck_tensor_free(g);
            ck_tensor_free(grads[j]);
        }
        for (int k = 0; k < n; k++) {
            ck_tensor_free(din[k]);
            ck_tensor_free(x[k]);
        }
        ck_tensor_free(y);
        ck_tensor_free(want);
        ck_tensor_free(dy);
        ck_layer_free(l);
        ran++;
    }
    json_decref(all);
    return ran;
}

/* Every case of a prefix in float64 through central differences. */
static long gradcheck_class(const char *prefix)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    long ran = 0;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        if (strncmp(name, prefix, strlen(prefix)) != 0) continue;
        ck_tensor *x32[MAX_IN], *x[MAX_IN];
        int n = case_inputs(c, x32);
        for (int k = 0; k < n; k++) {
            if (is_mask(c, k)) {
                /* No fully masked row: its scores sit at -1e9, where
                 * differences of 1e-6 lose their digits in float64. */
                x[k] = x32[k];
                x32[k] = NULL;
                int64_t last = x[k]->shape[x[k]->rank - 1];
                for (int64_t e = 0; e < x[k]->size; e += last) ((int32_t *)x[k]->data)[e] = 1;
            } else {
                x[k] = ck_test_uniform(CK_FLOAT64, x32[k]->rank, x32[k]->shape, -1, 1, 700 + 10 * i + k);
            }
        }
        ck_layer *l = case_layer(c, CK_FLOAT64, x, n);
        cr_expect_gt(ck_test_gradcheck(l, n, x, 1, 1e-6), 0, "%s", name);
        cr_expect_gt(ck_test_gradcheck(l, n, x, 0, 1e-6), 0, "%s", name);
        for (int k = 0; k < n; k++) {
            ck_tensor_free(x[k]);
            ck_tensor_free(x32[k]);
        }
        ck_layer_free(l);
        ran++;
    }
    json_decref(all);
    return ran;
}

Test(norm_attn, mha_tf_goldens) { cr_expect_eq(run_class_cases("mha_"), 7); }
Test(norm_attn, mha_gradcheck) { cr_expect_eq(gradcheck_class("mha_"), 7); }
Test(norm_attn, attention_tf_goldens) { cr_expect_eq(run_class_cases("att_"), 5); }
Test(norm_attn, attention_gradcheck) { cr_expect_eq(gradcheck_class("att_"), 5); }
Test(norm_attn, additive_attention_tf_goldens) { cr_expect_eq(run_class_cases("add_att"), 3); }
Test(norm_attn, additive_attention_gradcheck) { cr_expect_eq(gradcheck_class("add_att"), 3); }
Test(norm_attn, group_normalization_tf_goldens) { cr_expect_eq(run_class_cases("gn_"), 6); }
Test(norm_attn, group_normalization_gradcheck) { cr_expect_eq(gradcheck_class("gn_"), 6); }
Test(norm_attn, unit_normalization_tf_goldens) { cr_expect_eq(run_class_cases("un_"), 3); }
Test(norm_attn, unit_normalization_gradcheck) { cr_expect_eq(gradcheck_class("un_"), 3); }

/* Keras 3 (keras 3.15) configs of some cases: read, built on the case's
 * inputs, given its weights, they compute Keras 3's output and write
 * tf.keras' config text back (output_shape stays in Keras 3's list form). */
Test(norm_attn, keras3_configs)
{
    json_t *k3 = ck_test_load_json(ck_test_data("norm_attn/k3_configs.json"));
    json_t *all = cases();
    size_t i, j;
    json_t *e, *c;
    long compared = 0;
    json_array_foreach(k3, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        json_t *tc = NULL;
        json_array_foreach(all, j, c) if (!strcmp(json_string_value(json_object_get(c, "name")), name)) tc = c;
        cr_assert(tc, "%s", name);
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(json_string_value(json_object_get(e, "config")), &l), CK_OK, "%s: %s", name,
                     ck_last_error());
        ck_tensor *x[MAX_IN];
        int n = case_inputs(tc, x);
        prepare(l, tc);
        ck_shape s[MAX_IN];
        for (int k = 0; k < n; k++) s[k] = ck_tensor_shape(x[k]);
        cr_assert_eq(ck_layer_build(l, n, s), CK_OK, "%s: %s", name, ck_last_error());
        int nw = (int)json_integer_value(json_object_get(tc, "weights"));
        ck_tensor *w[8];
        for (int k = 0; k < nw; k++) {
            char key[16];
            snprintf(key, sizeof key, "w%d", k);
            w[k] = fixture(name, key);
        }
        if (nw) cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s: %s", name, ck_last_error());
        ck_tensor *got = NULL, *want = fixture(name, "k3y");
        cr_assert_eq(ck_layer_call(l, n, x, &got), CK_OK, "%s: %s", name, ck_last_error());
        char what[64];
        snprintf(what, sizeof what, "%s keras 3 y", name);
        ck_test_expect_close_rel(got, want, 1e-5, what);
        if (strcmp(name, "mha_key_out") != 0) {
            char *text = ck_test_config_of(l);
            cr_expect_str_eq(text, json_string_value(json_object_get(tc, "config")), "%s", name);
            ck_free(text);
        }
        for (int k = 0; k < nw; k++) ck_tensor_free(w[k]);
        for (int k = 0; k < n; k++) ck_tensor_free(x[k]);
        ck_tensor_free(got);
        ck_tensor_free(want);
        ck_layer_free(l);
        compared++;
    }
    cr_expect_eq(compared, 13);
    json_decref(all);
    json_decref(k3);
}

/* ---- constructors, errors, dropout, failing allocations ---------------------------- */

static const char *case_config(const char *name)
{
    static char buf[4096];
    json_t *all = cases();
    size_t i;
    json_t *c;
    buf[0] = 0;
    json_array_foreach(all, i, c) if (!strcmp(json_string_value(json_object_get(c, "name")), name))
        snprintf(buf, sizeof buf, "%s", json_string_value(json_object_get(c, "config")));
    json_decref(all);
    cr_assert(buf[0], "no case %s", name);
    return buf;
}

static void expect_config_of(ck_layer *l, const char *name)
{
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, case_config(name), "%s", name);
    ck_free(text);
}

/* The option structs' zero fields are tf.keras' defaults: the configs of
 * layers made in C equal tf.keras' ones. */
Test(norm_attn, constructors_write_keras_defaults)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 2, .key_dim = 3,
                                                                              .name = "mha_basic"}),
                 CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(2, 4, 5), CK_TEST_SHAPE(2, 3, 5)}), CK_OK);
    expect_config_of(l, "mha_basic");
    ck_layer_free(l);
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 3, .key_dim = 2,
                                                                              .value_dim = 4, .output_dim = 6,
                                                                              .name = "mha_key_out"}),
                 CK_OK);
    cr_assert_eq(ck_layer_build(l, 3, (ck_shape[]){CK_TEST_SHAPE(2, 3, 5), CK_TEST_SHAPE(2, 4, 7),
                                                   CK_TEST_SHAPE(2, 4, 6)}),
                 CK_OK, "%s", ck_last_error());
    expect_config_of(l, "mha_key_out");
    cr_expect_eq(ck_layer_weight_count(l), 8);
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 6)), "mha_key_out/attention_output/kernel:0");
    ck_layer_free(l);
    cr_assert_eq(ck_attention(&l, &(ck_attention_opts){.name = "att_dot"}), CK_OK);
    expect_config_of(l, "att_dot");
    ck_layer_free(l);
    cr_assert_eq(ck_attention(&l, &(ck_attention_opts){.name = "att_concat", .use_scale = true,
                                                       .score_mode = "concat"}),
                 CK_OK);
    expect_config_of(l, "att_concat");
    ck_layer_free(l);
    cr_assert_eq(ck_additive_attention(&l, &(ck_additive_attention_opts){.name = "add_att"}), CK_OK);
    expect_config_of(l, "add_att");
    ck_layer_free(l);
    cr_assert_eq(ck_additive_attention(&l, &(ck_additive_attention_opts){.name = "add_att_noscale_key",
                                                                         .no_scale = true}),
                 CK_OK);
    expect_config_of(l, "add_att_noscale_key");
    ck_layer_free(l);
    cr_assert_eq(ck_group_normalization(&l, &(ck_group_normalization_opts){.groups = 3, .name = "gn_last"}), CK_OK);
    expect_config_of(l, "gn_last");
    ck_layer_free(l);
    cr_assert_eq(ck_group_normalization(&l, &(ck_group_normalization_opts){.groups = 2, .no_center = true,
                                                                           .epsilon = ck_double(0.1),
                                                                           .name = "gn_nocenter"}),
                 CK_OK);
    expect_config_of(l, "gn_nocenter");
    ck_layer_free(l);
    /* UnitNormalization: the axis as given before build, a list after. */
    cr_assert_eq(ck_unit_normalization(&l, &(ck_unit_normalization_opts){.name = "un_last"}), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"axis\": -1"), "%s", text);
    ck_free(text);
    cr_assert_eq(ck_layer_build(l, 1, (ck_shape[]){CK_TEST_SHAPE(2, 3, 4)}), CK_OK);
    expect_config_of(l, "un_last");
    ck_layer_free(l);
    /* GroupNormalization(groups=-1) writes the channel count after build. */
    cr_assert_eq(ck_group_normalization(&l, &(ck_group_normalization_opts){.groups = -1}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, (ck_shape[]){CK_TEST_SHAPE(2, 3, 5)}), CK_OK);
    text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"groups\": 5"), "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

static void expect_error(ck_status got, ck_status want, const char *needle)
{
    cr_expect_eq(got, want, "status %s, expected %s (%s)", ck_status_name(got), ck_status_name(want),
                 ck_last_error());
    cr_expect(strstr(ck_last_error(), needle), "message \"%s\" lacks \"%s\"", ck_last_error(), needle);
}

Test(norm_attn, keras_errors)
{
    ck_layer *l = NULL;
    expect_error(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.key_dim = 2}), CK_VALUE_ERROR,
                 "Received an invalid value for argument `num_heads`, expected a positive integer. Received: "
                 "num_heads=0");
    expect_error(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 2}), CK_VALUE_ERROR,
                 "argument `key_dim`");
    expect_error(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 1, .key_dim = 2,
                                                                              .activity_regularizer = "l2"}),
                 CK_NOT_IMPLEMENTED, "activity_regularizer");
    expect_error(ck_attention(&l, &(ck_attention_opts){.score_mode = "cosine"}), CK_VALUE_ERROR,
                 "Received: score_mode=cosine. Acceptable values are: [\"dot\", \"concat\"]");
    expect_error(ck_layer_from_config("{\"class_name\": \"MultiHeadAttention\", \"config\": {\"num_heads\": 2, "
                                      "\"key_dim\": 2, \"use_gate\": true}}", &l),
                 CK_NOT_IMPLEMENTED, "use_gate");
    /* Build-time checks. */
    cr_assert_eq(ck_group_normalization(&l, &(ck_group_normalization_opts){.groups = 4}), CK_OK);
    expect_error(ck_layer_build(l, 1, (ck_shape[]){CK_TEST_SHAPE(2, 6)}), CK_VALUE_ERROR,
                 "Number of groups (4) must be a multiple of the number of channels (6).");
    expect_error(ck_layer_build(l, 1, (ck_shape[]){CK_TEST_SHAPE(2, 3)}), CK_VALUE_ERROR,
                 "Number of groups (4) cannot be more than the number of channels (3).");
    cr_expect_eq(ck_layer_built(l), 0);
    ck_layer_free(l);
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 2, .key_dim = 2,
                                                                              .n_attention_axes = 1,
                                                                              .attention_axes = {2}}),
                 CK_OK);
    expect_error(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(2, 3, 4), CK_TEST_SHAPE(2, 3, 4)}),
                 CK_NOT_IMPLEMENTED, "attention_axes");
    ck_layer_free(l);
    cr_assert_eq(ck_multi_head_attention(&l, &(ck_multi_head_attention_opts){.num_heads = 2, .key_dim = 2,
                                                                              .n_attention_axes = 1,
                                                                              .attention_axes = {-3}}),
                 CK_OK);
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(2, 3, 4), CK_TEST_SHAPE(2, 3, 4)}), CK_OK,
                 "-3 is the default axis 1 of the projected rank-4 tensor: %s", ck_last_error());
    expect_error(ck_layer_build(l, 1, (ck_shape[]){CK_TEST_SHAPE(2, 3, 4)}), CK_OK, "");
    ck_tensor *q = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){2, 3, 4}, -1, 1, 1);
    ck_tensor *v = ck_test_uniform(CK_FLOAT32, 3, (int64_t[]){2, 5, 3}, -1, 1, 2), *y = NULL;
    expect_error(ck_layer_call(l, 2, (ck_tensor *[]){q, v}, &y), CK_VALUE_ERROR, "built for a value of 4 features");
    expect_error(ck_layer_call(l, 1, &q, &y), CK_VALUE_ERROR, "at least 2 inputs");
    /* return_attention_scores gives a second output (test_attention_scores.c);
     * the query / value / key masks are still refused. */
    json_t *kw = json_pack("{s:b}", "return_attention_scores", 1);
    cr_expect_eq(l->cls->node_kwargs(l, kw), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_layer_output_count(l), 2);
    json_decref(kw);
    kw = json_pack("{s:[s,i,i]}", "query_mask", "m", 0, 0);
    expect_error(l->cls->node_kwargs(l, kw), CK_NOT_IMPLEMENTED, "query_mask");
    json_decref(kw);
    ck_layer_free(l);
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = 2}), CK_OK);
    expect_error(ck_layer_set_use_causal_mask(l, true), CK_VALUE_ERROR, "not an attention layer");
    ck_layer_free(l);
    /* Attention: key and query features must agree. */
    cr_assert_eq(ck_attention(&l, NULL), CK_OK);
    expect_error(ck_layer_call(l, 2, (ck_tensor *[]){q, v}, &y), CK_VALUE_ERROR, "incompatible inputs");
    ck_layer_free(l);
    ck_tensor_free(q);
    ck_tensor_free(v);
}

/* With dropout: the identity of dropout at inference, and a training
 * step's gradients through the dropped weights (the stream is re-seeded
 * for every forward of the check). */
Test(norm_attn, attention_dropout)
{
    ck_layer *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(ck_multi_head_attention(&a, &(ck_multi_head_attention_opts){.num_heads = 2, .key_dim = 2,
                                                                              .dropout = 0.3, .dtype = CK_FLOAT64}),
                 CK_OK);
    cr_assert_eq(ck_attention(&b, &(ck_attention_opts){.dropout = 0.4, .use_scale = true, .dtype = CK_FLOAT64}),
                 CK_OK);
    cr_assert_eq(ck_additive_attention(&c, &(ck_additive_attention_opts){.dropout = 0.4, .dtype = CK_FLOAT64}),
                 CK_OK);
    ck_tensor *q = ck_test_uniform(CK_FLOAT64, 3, (int64_t[]){2, 3, 4}, -1, 1, 1);
    ck_tensor *v = ck_test_uniform(CK_FLOAT64, 3, (int64_t[]){2, 5, 4}, -1, 1, 2);
    ck_layer *ls[3] = {a, b, c};
    for (int k = 0; k < 3; k++) {
        ck_tensor *in[2] = {q, v};
        cr_expect_gt(ck_test_gradcheck(ls[k], 2, in, 1, 1e-6), 0);
        /* Inference ignores dropout: two calls agree and differ from a
         * training call. */
        ck_tensor *y1 = NULL, *y2 = NULL, *yt = NULL, *din[2], *g[8];
        int ng;
        cr_assert_eq(ck_layer_call(ls[k], 2, in, &y1), CK_OK);
        cr_assert_eq(ck_layer_call(ls[k], 2, in, &y2), CK_OK);
        cr_expect_eq(ck_test_max_abs_diff(y1, y2), 0.0);
        ck_tensor *dy = ck_test_uniform(CK_FLOAT64, y1->rank, y1->shape, -1, 1, 3);
        train_step(ls[k], 2, in, dy, &yt, din, g, &ng);
        cr_expect_gt(ck_test_max_abs_diff(y1, yt), 1e-3, "training drops attention weights");
        for (int j = 0; j < ng; j++) ck_tensor_free(g[j]);
        for (int j = 0; j < 2; j++) ck_tensor_free(din[j]);
        ck_tensor_free(dy);
        ck_tensor_free(yt);
        ck_tensor_free(y1);
        ck_tensor_free(y2);
        ck_layer_free(ls[k]);
    }
    ck_tensor_free(q);
    ck_tensor_free(v);
}

/* Configs parsed before the runs (the allocator fails inside them), and
 * the call's inputs. */
static json_t *fa_config;
static ck_tensor *fa_in[2];

typedef struct fa_slot {
    ck_layer *layer;
    ck_tensor *y;
} fa_slot;

/* from_config, then a call (MultiHeadAttention's scratch, weights). */
static ck_status make_and_call(void *ctx)
{
    fa_slot *s = ctx;
    ck_status st = ck_layer_from_json(fa_config, &s->layer);
    if (st != CK_OK) return st;
    const int n = fa_in[1] ? 2 : 1;
    st = ck_layer_call(s->layer, n, fa_in, &s->y);
    if (st != CK_OK) {
        ck_layer_free(s->layer);
        s->layer = NULL;
    }
    return st;
}

static void free_slot(void *ctx)
{
    fa_slot *s = ctx;
    ck_layer_free(s->layer);
    ck_tensor_free(s->y);
    s->layer = NULL, s->y = NULL;
}

Test(norm_attn, failing_allocations)
{
    static const char *const names[] = {"mha_basic", "att_concat", "add_att", "gn_nocenter", "un_12"};
    const char *only = getenv("CK_FA_ONLY");
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        if (only && strcmp(only, names[k])) continue;
        json_t *all = cases();
        size_t i;
        json_t *c, *tc = NULL;
        json_array_foreach(all, i, c) if (!strcmp(json_string_value(json_object_get(c, "name")), names[k])) tc = c;
        cr_assert(tc);
        fa_config = json_loads(json_string_value(json_object_get(tc, "config")), 0, NULL);
        ck_tensor *x[MAX_IN] = {NULL};
        int n = case_inputs(tc, x);
        fa_in[0] = x[0], fa_in[1] = n > 1 ? x[1] : NULL;
        fa_slot s = {NULL, NULL};
        /* A first run makes what the library keeps once (name counters,
         * the thread pool), which the sweep would count as leaks. */
        cr_assert_eq(make_and_call(&s), CK_OK, "%s: %s", names[k], ck_last_error());
        free_slot(&s);
        cr_expect_gt(ck_test_every_allocation_fails(make_and_call, free_slot, &s), 2, "%s", names[k]);
        for (int j = 0; j < n; j++) ck_tensor_free(x[j]);
        json_decref(fa_config);
        json_decref(all);
    }
}
