/* Models against tf.keras' files and golden values (golden_model.h). */
#include "golden_model.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support/golden_json.h"
#include "support/support.h"

ck_model *ck_test_model_from_json(const json_t *config, const char *name)
{
    char *text = json_dumps(config, 0);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(text, &m), CK_OK, "%s: %s", name, ck_last_error());
    free(text);
    return m;
}

void ck_test_expect_file_predicts(const char *path, const ck_tensor *x, const ck_tensor *want)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    ck_tensor *y = NULL, *xs = (ck_tensor *)x;
    cr_assert_eq(ck_model_predict(m, 1, &xs, &y, 0), CK_OK, "%s: %s", path, ck_last_error());
    double err = ck_test_max_abs_diff(y, want);
    cr_expect_leq(err, 1e-5, "%s: max abs error %g", path, err);
    ck_tensor_free(y);
    ck_model_free(m);
}

const char *ck_test_saved_again(const char *path, const char *tmp_name)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    const char *tmp = ck_test_tmp(tmp_name);
    cr_assert_eq(ck_model_save(m, tmp), CK_OK, "%s: %s", tmp, ck_last_error());
    ck_model_free(m);
    return tmp;
}

void ck_test_expect_predict_allocates_nothing(const char *what, ck_model *m, int n, ck_tensor *const *x,
                                              ck_tensor **y, int batch_size)
{
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, n, x, y, batch_size);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning: %s", what, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", what, attempts);
}

void ck_test_expect_model_file_like_tf(const char *file, int n, ck_tensor *const *x, const json_t *ys)
{
    ck_model *model = NULL;
    const char *path = ck_test_data(file);
    cr_assert_eq(ck_model_load(path, &model), CK_OK, "%s: %s", path, ck_last_error());
    int n_out = (int)json_array_size(ys);
    ck_tensor *y[8] = {NULL};
    cr_assert_leq(n_out, 8);
    cr_assert_eq(ck_model_output_count(model), n_out, "%s", file);
    cr_assert_eq(ck_model_predict(model, n, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    for (int k = 0; k < n_out; k++) {
        ck_tensor *want = ck_test_golden_tensor(json_array_get(ys, (size_t)k), CK_FLOAT32);
        ck_test_expect_close(file, "prediction", k, y[k], want, 1e-5);
        ck_tensor_free(want);
    }
    cr_assert_eq(ck_model_predict_into(model, n, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    ck_test_expect_predict_allocates_nothing(file, model, n, x, y, 0);
    for (int k = 0; k < n_out; k++) ck_tensor_free(y[k]);
    ck_model_free(model);
}

json_t *ck_test_model_config_round_trip(const char *name, ck_model *m, char **text)
{
    char *t = NULL, *again_text = NULL;
    cr_assert_eq(ck_model_to_json(m, &t), CK_OK, "%s", ck_last_error());
    json_t *got = json_loads(t, 0, NULL);
    cr_assert(got);
    ck_model *again = NULL;
    cr_assert_eq(ck_model_from_json(t, &again), CK_OK, "%s: %s", name, ck_last_error());
    cr_assert_eq(ck_model_to_json(again, &again_text), CK_OK);
    cr_expect_str_eq(again_text, t, "%s", name);
    ck_free(again_text);
    ck_model_free(again);
    if (text) *text = t;
    else ck_free(t);
    return got;
}

void ck_test_expect_same_op_layers(const char *name, const json_t *got, const json_t *want, int n_keys,
                                   const char *const *keys)
{
    const json_t *gl = json_object_get(json_object_get(got, "config"), "layers");
    const json_t *wl = json_object_get(json_object_get(want, "config"), "layers");
    cr_assert_eq(json_array_size(gl), json_array_size(wl), "%s: layer count", name);
    int compared = 0;
    for (size_t i = 0; i < json_array_size(wl); i++) {
        const json_t *w = json_array_get(wl, i), *g = json_array_get(gl, i);
        const char *cls = json_string_value(json_object_get(w, "class_name"));
        if (strcmp(cls, "TFOpLambda") != 0 && strcmp(cls, "SlicingOpLambda") != 0) continue;
        cr_expect_str_eq(json_string_value(json_object_get(g, "class_name")), cls, "%s layer %zu", name, i);
        const json_t *gc = json_object_get(g, "config"), *wc = json_object_get(w, "config");
        if (n_keys == 0) cr_expect(json_equal(gc, wc), "%s layer %zu config", name, i);
        for (int k = 0; k < n_keys; k++)
            cr_expect(json_equal(json_object_get(gc, keys[k]), json_object_get(wc, keys[k])),
                      "%s layer %zu: config key %s", name, i, keys[k]);
        char *gn = json_dumps(json_object_get(g, "inbound_nodes"), JSON_SORT_KEYS);
        char *wn = json_dumps(json_object_get(w, "inbound_nodes"), JSON_SORT_KEYS);
        cr_expect_str_eq(gn, wn, "%s layer %zu inbound_nodes", name, i);
        free(gn);
        free(wn);
        compared++;
    }
    cr_expect_gt(compared, 0, "%s", name);
}

typedef struct json_sweep {
    const char *text;
    ck_model *m;
    char *written;
} json_sweep;

static ck_status load_and_write(void *p)
{
    json_sweep *c = p;
    ck_status st = ck_model_from_json(c->text, &c->m);
    if (st == CK_OK) st = ck_model_to_json(c->m, &c->written);
    if (st != CK_OK && c->m) { /* the sweep cleans up successes only */
        ck_model_free(c->m);
        c->m = NULL;
    }
    return st;
}

static void undo_load(void *p)
{
    json_sweep *c = p;
    if (c->m) ck_model_free(c->m);
    ck_free(c->written);
    c->m = NULL;
    c->written = NULL;
}

void ck_test_expect_config_allocation_sweeps(const json_t *cases, int n, const char *const *names, long at_least)
{
    for (int k = 0; k < n; k++) {
        /* dumped before the sweep: only ckeras' allocations fail */
        char *text = json_dumps(json_object_get(ck_test_golden_case(cases, names[k]), "config"), 0);
        json_sweep ctx = {text, NULL, NULL};
        cr_expect_gt(ck_test_every_allocation_fails(load_and_write, undo_load, &ctx), at_least, "%s", names[k]);
        free(text);
    }
}

void ck_test_expect_golden_weights(const char *name, ck_layer *l, const json_t *want, double tol)
{
    ck_tensor **w = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(l, &w, &n), CK_OK);
    cr_assert_eq((size_t)n, json_array_size(want));
    for (int i = 0; i < n; i++) {
        ck_tensor *e = ck_test_golden_tensor(json_array_get(want, (size_t)i), CK_FLOAT64);
        ck_test_expect_close(name, "weight", -1, w[i], e, tol);
        ck_tensor_free(e);
        ck_tensor_free(w[i]);
    }
    ck_free(w);
}

ck_history *ck_test_fit_one_epoch_like_tf(const char *file, int n_x, ck_tensor **x, int n_t, ck_tensor **t,
                                          int batch_size, const json_t *want_weights)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(file), &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "sgd", .loss = "mse"}), CK_OK, "%s",
                 ck_last_error());
    cr_assert_eq(ck_optimizer_set_learning_rate(ck_model_optimizer(m), 0.05), CK_OK);
    ck_history *h = NULL;
    cr_assert_eq(ck_model_fit(m, n_x, x, n_t, t,
                              &(ck_fit_opts){.batch_size = batch_size, .epochs = 1, .no_shuffle = true,
                                             .verbose = ck_int(0)},
                              &h),
                 CK_OK, "%s", ck_last_error());
    ck_test_expect_golden_weights("fit", ck_model_layer(m), want_weights, 1e-5);
    ck_model_free(m);
    return h;
}

void ck_test_expect_steady_predict(const char *file, int n, ck_tensor *const *x, int n_out, const ck_tensor *want,
                                   int batch_size)
{
    ck_model *m = NULL;
    ck_tensor *y[8] = {0};
    cr_assert_leq(n_out, 8);
    cr_assert_eq(ck_model_load(ck_test_data(file), &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_predict(m, n, x, y, batch_size), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_predict_into(m, n, x, y, batch_size), CK_OK, "%s", ck_last_error());
    ck_test_expect_predict_allocates_nothing(file, m, n, x, y, batch_size);
    ck_test_expect_close("steady state", "y0", -1, y[0], want, 1e-5);
    for (int k = 0; k < n_out; k++) ck_tensor_free(y[k]);
    ck_model_free(m);
}
