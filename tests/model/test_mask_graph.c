/* Masks through the graph against tf.keras 2.15
 * (tools/gen_mask_graph_goldens.py -> tests/data/mask_graph/):
 * Concatenate joins masks along time and ANDs them along features (an
 * input without a mask counting as all true), Bidirectional passes its
 * mask on and its inner layers skip masked steps (go_backwards, merge_mode
 * None, return_state), a nested Sequential / Functional receives the
 * mask of its input and gives its inner output mask, and compiled metrics
 * of a masked output leave the masked positions out.  Predictions fused
 * and unfused, which symbolic values carry a mask (and its shape),
 * predict without allocations once planned, and fit / evaluate against
 * Keras' numbers. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/support.h"

#define MAX_IO 4

static ck_tensor *npy(const char *name)
{
    char rel[160];
    snprintf(rel, sizeof rel, "mask_graph/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static ck_model *load(const char *rel)
{
    char path[160];
    snprintf(path, sizeof path, "mask_graph/%s", rel);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(path), &m), CK_OK, "%s: %s", path, ck_last_error());
    return m;
}

static int load_inputs(ck_model *m, const char *name, ck_tensor **x)
{
    char buf[160];
    int n = ck_model_input_count(m);
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%s_x%d", name, i);
        x[i] = npy(buf);
    }
    return n;
}

/* Largest difference from Keras' values; a NaN (the mean over a fully
 * masked row: 0 / 0 in Keras too) must be NaN in both. */
static double diff_nan_aware(const ck_tensor *got, const ck_tensor *want)
{
    if (got->size != want->size) return INFINITY;
    double d = 0;
    for (int64_t i = 0; i < got->size; i++) {
        double a = ck_tensor_get(got, i), b = ck_tensor_get(want, i);
        if (isnan(a) || isnan(b)) {
            if (!(isnan(a) && isnan(b))) return INFINITY;
            continue;
        }
        d = fmax(d, fabs(a - b));
    }
    return d;
}

/* Every output of predict against Keras'. */
static void expect_predict(ck_model *m, const char *name)
{
    char buf[160];
    ck_tensor *x[MAX_IO] = {NULL}, *y[MAX_IO] = {NULL};
    int n = load_inputs(m, name, x), no = ck_model_output_count(m);
    cr_assert_eq(ck_model_predict(m, n, x, y, 3), CK_OK, "%s: %s", name, ck_last_error());
    for (int o = 0; o < no; o++) {
        snprintf(buf, sizeof buf, "%s_y%d", name, o);
        ck_tensor *want = npy(buf);
        double d = diff_nan_aware(y[o], want);
        cr_expect(d <= 1e-5, "%s: output %d differs from tf.keras by %g", name, o, d);
        ck_tensor_free(want);
        ck_tensor_free(y[o]);
    }
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
}

/* Which values carry a mask, and its shape, as Keras' symbolic call. */
static void expect_masks(ck_model *m, const char *name, const json_t *want)
{
    const json_t *outs = json_object_get(want, "outputs");
    for (int o = 0; o < ck_model_output_count(m); o++)
        cr_expect_eq(ck_symbolic_mask(ck_model_output(m, o)) != NULL, json_is_true(json_array_get(outs, (size_t)o)),
                     "%s: output %d mask", name, o);
    const char *lname;
    const json_t *per;
    json_object_foreach((json_t *)json_object_get(want, "layers"), lname, per) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_model_get_layer(m, lname, &l), CK_OK, "%s: %s", name, lname);
        ck_tensor *got[16];
        int n = 0;
        int node = ck_layer_inbound_node_count(l) - 1;
        cr_assert_eq(ck_layer_output_masks_at(l, node, got, 16, &n), CK_OK, "%s: %s", name, ck_last_error());
        cr_expect_eq((size_t)n, json_array_size(per), "%s/%s: outputs", name, lname);
        for (int k = 0; k < n && k < (int)json_array_size(per); k++) {
            const json_t *s = json_array_get(per, (size_t)k);
            if (json_is_null(s)) {
                cr_expect_null(got[k], "%s/%s: output %d has a mask, Keras' has none", name, lname, k);
                continue;
            }
            cr_expect_not_null(got[k], "%s/%s: output %d has no mask, Keras' has one", name, lname, k);
            if (!got[k]) continue;
            cr_expect_eq(got[k]->dtype, CK_INT32);
            cr_expect_eq((size_t)got[k]->rank, json_array_size(s), "%s/%s: mask rank", name, lname);
            for (int d = 0; d < got[k]->rank && d < (int)json_array_size(s); d++)
                cr_expect_eq(got[k]->shape[d], json_integer_value(json_array_get(s, (size_t)d)),
                             "%s/%s: mask dim %d", name, lname, d);
        }
    }
}

static void check_case(const char *name, const char *file)
{
    json_t *masks = ck_test_load_json(ck_test_data("mask_graph/masks.json"));
    ck_model *m = load(file);
    ck_fuse_override = 0;
    expect_predict(m, name);
    ck_fuse_override = 1;
    ck_model_drop_plans(m);
    expect_predict(m, name);
    ck_fuse_override = -1;
    expect_masks(m, name, json_object_get(masks, name));
    ck_model_free(m);
    json_decref(masks);
}

Test(mask_graph, concatenate_joins_masks_in_time) { check_case("concat_time", "concat_time.h5"); }
Test(mask_graph, concatenate_ands_feature_masks) { check_case("concat_feat", "concat_feat.h5"); }
Test(mask_graph, concatenate_axis1_unmasked_input) { check_case("concat_axis1_f1", "concat_axis1_f1.h5"); }
Test(mask_graph, bidirectional_sequences) { check_case("bidi_seq", "bidi_seq.h5"); }
Test(mask_graph, bidirectional_go_backwards) { check_case("bidi_back", "bidi_back.h5"); }
Test(mask_graph, bidirectional_merge_none_states) { check_case("bidi_none_state", "bidi_none_state.h5"); }
Test(mask_graph, nested_sequential_h5) { check_case("nested_seq", "nested_seq.h5"); }
Test(mask_graph, nested_sequential_keras) { check_case("nested_seq", "nested_seq.keras"); }
Test(mask_graph, nested_functional_h5) { check_case("nested_func", "nested_func.h5"); }
Test(mask_graph, nested_functional_keras) { check_case("nested_func", "nested_func.keras"); }

static const char *const CASES[] = {"concat_time",     "concat_feat", "concat_axis1_f1", "bidi_seq",
                                    "bidi_back",       "bidi_none_state", "nested_seq", "nested_func"};

Test(mask_graph, predict_allocates_nothing_once_planned)
{
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        char rel[96];
        snprintf(rel, sizeof rel, "%s.h5", CASES[c]);
        ck_model *m = load(rel);
        ck_tensor *x[MAX_IO] = {NULL}, *y[MAX_IO] = {NULL};
        int n = load_inputs(m, CASES[c], x), no = ck_model_output_count(m);
        cr_assert_eq(ck_model_predict(m, n, x, y, 3), CK_OK, "%s: %s", CASES[c], ck_last_error());
        cr_assert_eq(ck_model_predict_into(m, n, x, y, 3), CK_OK);
        ck_test_fail_after(0);
        ck_status st = ck_model_predict_into(m, n, x, y, 3);
        long attempts = ck_test_alloc_count();
        ck_test_alloc_reset();
        cr_expect_eq(st, CK_OK, "%s: %s", CASES[c], ck_last_error());
        cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", CASES[c], attempts);
        for (int o = 0; o < no; o++) ck_tensor_free(y[o]);
        for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
        ck_model_free(m);
    }
}

/* tf.keras' Concatenate.compute_mask concatenates the widened masks, so
 * along a middle axis an unmasked input whose last dim is not 1 cannot
 * join a masked one: the symbolic call fails, as in Keras. */
Test(mask_graph, concatenate_mismatched_masks_fail_like_keras)
{
    ck_tensor *a = NULL, *z = NULL, *e = NULL, *c = NULL;
    ck_layer *le = NULL, *lc = NULL;
    cr_assert_eq(ck_input(&a, &(ck_input_opts){.shape = {1, {4}}, .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_input(&z, &(ck_input_opts){.shape = {2, {3, 2}}}), CK_OK);
    cr_assert_eq(ck_embedding(&le, &(ck_embedding_opts){.input_dim = 5, .output_dim = 2, .mask_zero = true}), CK_OK);
    cr_assert_eq(ck_concatenate(&lc, &(ck_concatenate_opts){.axis = ck_int(1)}), CK_OK);
    cr_assert_eq(ck_layer_apply(le, 1, &a, &e), CK_OK);
    ck_tensor *pair[2] = {e, z};
    cr_expect_eq(ck_layer_apply(lc, 2, pair, &c), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "masks cannot be concatenated") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_inbound_node_count(lc), 0, "the failed call leaves no node");
    /* Both masked: joined in time. */
    ck_tensor *b = NULL, *e2 = NULL;
    ck_layer *le2 = NULL;
    cr_assert_eq(ck_input(&b, &(ck_input_opts){.shape = {1, {3}}, .dtype = CK_INT32}), CK_OK);
    cr_assert_eq(ck_embedding(&le2, &(ck_embedding_opts){.input_dim = 5, .output_dim = 2, .mask_zero = true}), CK_OK);
    cr_assert_eq(ck_layer_apply(le2, 1, &b, &e2), CK_OK);
    ck_tensor *both[2] = {e, e2};
    cr_assert_eq(ck_layer_apply(lc, 2, both, &c), CK_OK, "%s", ck_last_error());
    const ck_tensor *mk = ck_symbolic_mask(c);
    cr_assert_not_null(mk);
    cr_expect(mk->rank == 2 && mk->shape[1] == 7);
    ck_layer_free(le);
    ck_layer_free(le2);
    ck_layer_free(lc);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    ck_layer_free(ck_tensor_layer(z));
}

/* The eager call computes the same mask (ck_layer_call_masked). */
Test(mask_graph, concatenate_eager_mask)
{
    ck_layer *lc = NULL;
    cr_assert_eq(ck_concatenate(&lc, &(ck_concatenate_opts){.axis = ck_int(1)}), CK_OK);
    int64_t s1[3] = {2, 2, 1}, s2[3] = {2, 3, 1}, ms[2] = {2, 2};
    ck_tensor *x1 = NULL, *x2 = NULL, *m1 = NULL, *out = NULL, *om = NULL;
    cr_assert_eq(ck_tensor_new(&x1, CK_FLOAT32, 3, s1), CK_OK);
    cr_assert_eq(ck_tensor_new(&x2, CK_FLOAT32, 3, s2), CK_OK);
    cr_assert_eq(ck_tensor_new(&m1, CK_INT32, 2, ms), CK_OK);
    int32_t mv[4] = {1, 0, 0, 1};
    memcpy(m1->data, mv, sizeof mv);
    ck_tensor *xs[2] = {x1, x2}, *masks[2] = {m1, NULL};
    cr_assert_eq(ck_layer_call_masked(lc, 2, xs, masks, &out, &om), CK_OK, "%s", ck_last_error());
    cr_assert_not_null(om);
    cr_assert(om->rank == 2 && om->shape[0] == 2 && om->shape[1] == 5);
    int32_t want[10] = {1, 0, 1, 1, 1, 0, 1, 1, 1, 1};
    for (int k = 0; k < 10; k++) cr_expect_eq(((int32_t *)om->data)[k], want[k], "position %d", k);
    ck_tensor_free(out);
    ck_tensor_free(om);
    ck_tensor_free(x1);
    ck_tensor_free(x2);
    ck_tensor_free(m1);
    ck_layer_free(lc);
}

static void expect_close(const char *what, double got, double want)
{
    cr_expect(fabs(got - want) <= 1e-5 * fmax(1, fabs(want)), "%s: %.8g, Keras %.8g", what, got, want);
}

/* fit (loss and every metric per epoch), evaluate, and the trained
 * weights against Keras. */
static void fit_case(const char *name)
{
    char rel[160], buf[160];
    snprintf(rel, sizeof rel, "fit_%s/init.h5", name);
    ck_model *m = load(rel);
    cr_assert(ck_model_compiled(m), "%s: the saved training config compiles: %s", name, ck_last_error());
    ck_tensor *x[MAX_IO] = {NULL};
    int n = load_inputs(m, name, x);
    snprintf(buf, sizeof buf, "fit_%s/y0", name);
    ck_tensor *y = npy(buf);
    ck_history *h = NULL;
    ck_fit_opts o = {.batch_size = 2, .epochs = 2, .verbose = ck_int(0), .no_shuffle = true};
    cr_assert_eq(ck_model_fit(m, n, x, 1, &y, &o, &h), CK_OK, "%s: %s", name, ck_last_error());
    snprintf(rel, sizeof rel, "mask_graph/fit_%s/history.json", name);
    json_t *hist = ck_test_load_json(ck_test_data(rel));
    const char *key;
    const json_t *vals;
    json_object_foreach(hist, key, vals) {
        if (!json_is_array(vals)) continue;
        for (int e = 0; e < 2; e++) {
            snprintf(buf, sizeof buf, "%s: %s[%d]", name, key, e);
            expect_close(buf, ck_history_get(h, key, e), json_number_value(json_array_get(vals, (size_t)e)));
        }
    }
    ck_logs logs;
    cr_assert_eq(ck_model_evaluate(m, n, x, 1, &y, &(ck_evaluate_opts){.batch_size = 2, .verbose = ck_int(0)},
                                   &logs), CK_OK, "%s", ck_last_error());
    json_object_foreach((json_t *)json_object_get(hist, "evaluate"), key, vals) {
        snprintf(buf, sizeof buf, "%s: evaluate %s", name, key);
        expect_close(buf, ck_logs_get(&logs, key), json_number_value(vals));
    }
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

Test(mask_graph, fit_metrics_of_masked_output_sparse) { fit_case("metrics_sparse"); }
Test(mask_graph, fit_metrics_of_masked_output_mae) { fit_case("metrics_mse"); }
Test(mask_graph, fit_through_concatenated_masks) { fit_case("concat_feat"); }
Test(mask_graph, fit_through_bidirectional_masks) { fit_case("bidi_seq"); }
Test(mask_graph, fit_through_nested_model_masks) { fit_case("nested_seq"); }
