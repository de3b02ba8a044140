/* Masks and attention axes of the attention layers against tf.keras 2.15
 * (tools/gen_attention_mask_goldens.py, tests/data/attention_mask/):
 * - Attention / AdditiveAttention with the call's mask=[query_mask,
 *   value_mask] (value mask in the scores, query mask zeroing output rows),
 *   with use_scale, concat scores, a key, use_causal_mask and
 *   return_attention_scores;
 * - MultiHeadAttention with attention_axes (1,), (2,) and (1, 2) on rank-4
 *   inputs, an attention_mask, use_causal_mask, and the Keras masks of
 *   query / value / key combined into the attention mask;
 * each through the training contract in inference mode (outputs, input and
 * weight gradients within 1e-5 of TF's) and through the eager call, plus a
 * float64 gradient check of the masked cases with explicit mask inputs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "layers/normattn_classes.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

#define MAXIN 8

static ck_tensor *fixture(const char *name)
{
    char rel[160];
    snprintf(rel, sizeof rel, "attention_mask/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

typedef struct mask_case {
    json_t *root;     /* cases.json (owns the strings below) */
    const json_t *c;  /* this case */
    int n;            /* inputs */
    int n_out;
    const char *kinds[MAXIN];
    int keras_mask[MAXIN];
} mask_case;

static void case_open(const char *name, mask_case *mc)
{
    memset(mc, 0, sizeof *mc);
    json_error_t err;
    mc->root = json_load_file(ck_test_data("attention_mask/cases.json"), 0, &err);
    cr_assert(mc->root, "cases.json: %s", err.text);
    for (size_t i = 0; i < json_array_size(mc->root); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(mc->root, i), "name")), name))
            mc->c = json_array_get(mc->root, i);
    cr_assert(mc->c, "no case %s", name);
    const json_t *kinds = json_object_get(mc->c, "kinds");
    mc->n = (int)json_array_size(kinds);
    for (int i = 0; i < mc->n; i++) mc->kinds[i] = json_string_value(json_array_get(kinds, i));
    const json_t *km = json_object_get(mc->c, "keras_masks");
    for (size_t i = 0; i < json_array_size(km); i++) mc->keras_mask[json_integer_value(json_array_get(km, i))] = 1;
    mc->n_out = (int)json_integer_value(json_object_get(mc->c, "outputs"));
}

static int is_mask(const char *kind) { return kind[1] == 'm'; }

static int has_kind(const mask_case *mc, const char *kind)
{
    for (int i = 0; i < mc->n; i++)
        if (!strcmp(mc->kinds[i], kind)) return 1;
    return 0;
}

/* The layer of a case in `dtype`, told its call's keyword arguments the way
 * a loaded node's kwargs tell it. */
static ck_layer *case_layer(const mask_case *mc, ck_dtype dtype)
{
    json_t *cfg = json_loads(json_string_value(json_object_get(mc->c, "config")), 0, NULL);
    cr_assert(cfg);
    json_object_set_new(json_object_get(cfg, "config"), "dtype",
                        json_string(dtype == CK_FLOAT64 ? "float64" : "float32"));
    char *text = json_dumps(cfg, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    json_decref(cfg);
    json_t *kw = json_deep_copy(json_object_get(mc->c, "call"));
    if (has_kind(mc, "qm") || has_kind(mc, "vm"))
        json_object_set_new(kw, "mask", json_pack("[bb]", has_kind(mc, "qm"), has_kind(mc, "vm")));
    for (int i = 0; i < 2; i++) /* placeholders: only their presence counts */
        if (json_is_false(json_array_get(json_object_get(kw, "mask"), (size_t)i)))
            json_array_set_new(json_object_get(kw, "mask"), (size_t)i, json_null());
    if (has_kind(mc, "k") && l->cls == &ck_multi_head_attention_class) json_object_set_new(kw, "key", json_true());
    if (has_kind(mc, "am")) json_object_set_new(kw, "attention_mask", json_true());
    cr_assert_eq(l->cls->node_kwargs(l, kw), CK_OK, "%s", ck_last_error());
    json_decref(kw);
    return l;
}

static void case_close(mask_case *mc) { json_decref(mc->root); }

/* The inference-mode training call and backward against TF's values. */
static void expect_case(const char *name)
{
    mask_case mc;
    case_open(name, &mc);
    ck_layer *l = case_layer(&mc, CK_FLOAT32);
    char f[96];
    ck_tensor *x[MAXIN], *dx[MAXIN] = {NULL}, *y[2], *masks[MAXIN] = {NULL};
    ck_shape in[MAXIN], os[2];
    int any_keras = 0;
    for (int i = 0; i < mc.n; i++) {
        snprintf(f, sizeof f, "%s_x%d", name, i);
        x[i] = fixture(f);
        in[i] = ck_tensor_shape(x[i]);
        if (!is_mask(mc.kinds[i])) cr_assert_eq(ck_tensor_new(&dx[i], CK_FLOAT32, in[i].rank, in[i].dims), CK_OK);
        if (mc.keras_mask[i]) {
            snprintf(f, sizeof f, "%s_m%d", name, i);
            masks[i] = fixture(f);
            any_keras = 1;
        }
    }
    cr_assert_eq(ck_layer_build(l, mc.n, in), CK_OK, "%s: %s", name, ck_last_error());
    int nw = ck_layer_weight_count(l);
    for (int j = 0; j < nw; j++) {
        snprintf(f, sizeof f, "%s_w%d", name, j);
        ck_tensor *w = fixture(f);
        ck_tensor *v = (ck_tensor *)ck_weight_value(ck_layer_weight(l, j));
        cr_assert_eq(v->size, w->size, "%s", f);
        memcpy(v->data, w->data, (size_t)w->size * sizeof(float));
        ck_tensor_free(w);
    }
    int n_out = 0;
    cr_assert_eq(ck_layer_compute_output_shapes(l, mc.n, in, 2, os, &n_out), CK_OK, "%s", ck_last_error());
    cr_assert_eq(n_out, mc.n_out, "%s outputs", name);
    for (int k = 0; k < n_out; k++) cr_assert_eq(ck_tensor_new(&y[k], CK_FLOAT32, os[k].rank, os[k].dims), CK_OK);
    int ntw = ck_layer_trainable_weight_count(l);
    for (int j = 0; j < ntw; j++) {
        ck_weight *w = ck_layer_trainable_weight(l, j);
        const ck_tensor *v = ck_weight_value(w);
        cr_assert_eq(ck_tensor_new(&w->grad, v->dtype, v->rank, v->shape), CK_OK);
    }
    size_t bytes = ck_layer_saved_bytes(l, mc.n, in, os);
    void *saved = aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    ck_train_ctx ctx = {.masks = any_keras ? (const ck_tensor *const *)masks : NULL};
    cr_assert_eq(ck_layer_train_call(l, &ctx, mc.n, (const ck_tensor *const *)x, y, saved), CK_OK, "%s: %s", name,
                 ck_last_error());
    ck_tensor hdr[2], dhdr[2], *dy[2];
    for (int k = 0; k < n_out; k++) {
        snprintf(f, sizeof f, k ? "%s_y%d" : "%s_y", name, k);
        ck_tensor *want = fixture(f);
        ck_test_expect_close_rel(y[k], want, 1e-5, f);
        ck_tensor_free(want);
        snprintf(f, sizeof f, k ? "%s_dy%d" : "%s_dy", name, k);
        dy[k] = fixture(f);
        hdr[k] = *y[k];
        dhdr[k] = *dy[k];
    }
    cr_assert_eq(ck_layer_backward(l, &ctx, mc.n, (const ck_tensor *const *)x, hdr, dhdr, saved, dx), CK_OK,
                 "%s: %s", name, ck_last_error());
    for (int i = 0; i < mc.n; i++) {
        if (!dx[i]) continue;
        snprintf(f, sizeof f, "%s_dx%d", name, i);
        ck_tensor *want = fixture(f);
        ck_test_expect_close_rel(dx[i], want, 1e-5, f);
        ck_tensor_free(want);
    }
    for (int j = 0; j < ntw; j++) {
        ck_weight *w = ck_layer_trainable_weight(l, j);
        snprintf(f, sizeof f, "%s_dw%d", name, j);
        ck_tensor *want = fixture(f);
        ck_test_expect_close_rel(w->grad, want, 1e-5, f);
        ck_tensor_free(want);
        ck_tensor_free(w->grad);
        w->grad = NULL;
    }
    free(saved);
    /* The eager call (the inference path: call_scratch, or call_masks with
     * Keras masks) gives the same first output. */
    ck_tensor *e = NULL;
    cr_assert_eq(ck_layer_call_masked(l, mc.n, x, any_keras ? masks : NULL, &e, NULL), CK_OK, "%s: %s", name,
                 ck_last_error());
    snprintf(f, sizeof f, "%s_y", name);
    ck_tensor *want = fixture(f);
    ck_test_expect_close_rel(e, want, 1e-5, "eager call");
    ck_tensor_free(want);
    ck_tensor_free(e);
    for (int k = 0; k < n_out; k++) {
        ck_tensor_free(y[k]);
        ck_tensor_free(dy[k]);
    }
    for (int i = 0; i < mc.n; i++) {
        ck_tensor_free(x[i]);
        ck_tensor_free(dx[i]);
        ck_tensor_free(masks[i]);
    }
    ck_layer_free(l);
    case_close(&mc);
}

/* float64 central differences of the case's layer (explicit masks only:
 * the gradient check passes no Keras masks), on the fixture's inputs. */
static void gradcheck_case(const char *name)
{
    mask_case mc;
    case_open(name, &mc);
    ck_layer *l = case_layer(&mc, CK_FLOAT64);
    ck_tensor *x[MAXIN];
    char f[96];
    for (int i = 0; i < mc.n; i++) {
        snprintf(f, sizeof f, "%s_x%d", name, i);
        ck_tensor *t = fixture(f);
        if (is_mask(mc.kinds[i])) {
            /* A row masked everywhere keeps its scores - 1e9 in float64,
             * where differences of 1e-6 drown: let every row attend. */
            int32_t *m = t->data;
            for (int64_t r = 0; r < t->size; r += t->shape[t->rank - 1]) m[r] = 1;
            x[i] = t;
            continue;
        }
        cr_assert_eq(ck_tensor_cast(&x[i], t, CK_FLOAT64), CK_OK, "%s", ck_last_error());
        ck_tensor_free(t);
    }
    long checked = ck_test_gradcheck(l, mc.n, x, 1, 1e-6);
    cr_expect(checked > 0, "%s: nothing compared", name);
    for (int i = 0; i < mc.n; i++) ck_tensor_free(x[i]);
    ck_layer_free(l);
    case_close(&mc);
}

Test(attention_masks, attention_query_value_masks_scores) { expect_case("att_mask"); }
Test(attention_masks, attention_concat_key_causal_masks) { expect_case("att_mask_causal_key"); }
Test(attention_masks, additive_masks_scores) { expect_case("add_mask"); }
Test(attention_masks, additive_value_mask_only_causal) { expect_case("add_mask_vonly"); }
Test(attention_masks, mha_attention_axes_1_mask_scores) { expect_case("mha_axes1"); }
Test(attention_masks, mha_attention_axes_2_key_scores) { expect_case("mha_axes2"); }
Test(attention_masks, mha_attention_axes_1_2) { expect_case("mha_axes12"); }
Test(attention_masks, mha_attention_axes_1_causal) { expect_case("mha_axes1_causal"); }
Test(attention_masks, mha_keras_masks_key_mask_causal_scores) { expect_case("mha_kmask"); }
Test(attention_masks, mha_keras_query_value_masks) { expect_case("mha_qmask"); }

Test(attention_masks, gradcheck_float64)
{
    static const char *const names[] = {"att_mask", "att_mask_causal_key", "add_mask", "add_mask_vonly",
                                        "mha_axes1", "mha_axes2", "mha_axes1_causal"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) gradcheck_case(names[i]);
}

/* What is refused, with messages naming the layer and what was expected. */
Test(attention_masks, refusals)
{
    ck_layer *l = NULL;
    /* Attention axes that are not consecutive positional axes. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"MultiHeadAttention\", \"config\": {\"name\": \"gappy\", "
                                      "\"num_heads\": 1, \"key_dim\": 2, \"attention_axes\": [1, 3]}}", &l), CK_OK);
    ck_shape s[2] = {CK_TEST_SHAPE(2, 3, 4, 5, 6), CK_TEST_SHAPE(2, 3, 4, 5, 6)};
    cr_expect_eq(ck_layer_build(l, 2, s), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "gappy") && strstr(ck_last_error(), "consecutive"), "%s", ck_last_error());
    ck_layer_free(l);
    /* A causal mask over two attention axes. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"MultiHeadAttention\", \"config\": {\"name\": \"two\", "
                                      "\"num_heads\": 1, \"key_dim\": 2}}", &l), CK_OK);
    cr_assert_eq(ck_layer_set_use_causal_mask(l, true), CK_OK);
    ck_shape r4[2] = {CK_TEST_SHAPE(2, 3, 4, 5), CK_TEST_SHAPE(2, 3, 4, 5)};
    cr_expect_eq(ck_layer_build(l, 2, r4), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "use_causal_mask"), "%s", ck_last_error());
    ck_layer_free(l);
    /* Keras masks on rank-4 inputs. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"MultiHeadAttention\", \"config\": {\"name\": \"r4\", "
                                      "\"num_heads\": 1, \"key_dim\": 2}}", &l), CK_OK);
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 4, (int64_t[]){2, 3, 2, 4}, -1, 1, 1), *y = NULL, *m = NULL;
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 3, (int64_t[]){2, 3, 2}), CK_OK);
    cr_expect_eq(ck_layer_call_masked(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){m, NULL}, &y, NULL),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "Keras masks"), "%s", ck_last_error());
    ck_layer_free(l);
    ck_tensor_free(m);
    ck_tensor_free(x);
    /* An explicit value mask of the wrong length. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Attention\", \"config\": {\"name\": \"att\"}}", &l), CK_OK);
    json_t *kw = json_pack("{s[nb]}", "mask", 1);
    cr_assert_eq(l->cls->node_kwargs(l, kw), CK_OK);
    json_decref(kw);
    ck_shape bad[3] = {CK_TEST_SHAPE(2, 3, 4), CK_TEST_SHAPE(2, 5, 4), CK_TEST_SHAPE(2, 4)};
    cr_expect_eq(ck_layer_build(l, 3, bad), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "value mask"), "%s", ck_last_error());
    ck_layer_free(l);
}
