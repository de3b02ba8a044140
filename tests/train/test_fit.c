/* fit against tf.keras 2.15: each case in tests/data/train/fit (made by
 * tools/gen_fit_goldens.py) starts from the compiled model Keras saved,
 * trains with shuffle off as Keras did, and must end with Keras' weights
 * (1e-4) and Keras' history. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

typedef struct fit_case {
    ck_model *m;
    ck_tensor *x[4], *y[4];
    int n_x, n_y;
    json_t *spec;
} fit_case;

static void load_case(const char *name, fit_case *c)
{
    char path[512];
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "train/fit/%s/case.json", name);
    c->spec = ck_test_load_json(ck_test_data(path));
    c->n_x = (int)json_integer_value(json_object_get(c->spec, "n_x"));
    c->n_y = (int)json_integer_value(json_object_get(c->spec, "n_y"));
    for (int i = 0; i < c->n_x; i++) {
        snprintf(path, sizeof path, "train/fit/%s/x%d.npy", name, i);
        cr_assert_eq(ck_npy_load(ck_test_data(path), &c->x[i]), CK_OK, "%s", ck_last_error());
    }
    for (int i = 0; i < c->n_y; i++) {
        snprintf(path, sizeof path, "train/fit/%s/y%d.npy", name, i);
        cr_assert_eq(ck_npy_load(ck_test_data(path), &c->y[i]), CK_OK, "%s", ck_last_error());
    }
    snprintf(path, sizeof path, "train/fit/%s/init.h5", name);
    cr_assert_eq(ck_model_load(ck_test_data(path), &c->m), CK_OK, "%s", ck_last_error());
    const char *tc = json_string_value(json_object_get(c->spec, "training_config"));
    cr_assert_eq(ck_model_compile_json(c->m, tc), CK_OK, "%s: compile: %s", name, ck_last_error());
}

static void free_case(fit_case *c)
{
    for (int i = 0; i < c->n_x; i++) ck_tensor_free(c->x[i]);
    for (int i = 0; i < c->n_y; i++) ck_tensor_free(c->y[i]);
    ck_model_free(c->m);
    json_decref(c->spec);
}

/* Every weight of the trained model against Keras' final.h5. */
static void expect_final_weights(const char *name, ck_model *m, double tol)
{
    char path[512];
    snprintf(path, sizeof path, "train/fit/%s/final.h5", name);
    ck_model *want = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(path), &want), CK_OK, "%s", ck_last_error());
    ck_tensor **a = NULL, **b = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &a, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(want), &b, &nb), CK_OK);
    cr_assert_eq(na, nb);
    for (int i = 0; i < na; i++) {
        double scale = 1;
        for (int64_t k = 0; k < b[i]->size; k++) scale = fmax(scale, fabs(ck_tensor_get(b[i], k)));
        double d = ck_test_max_abs_diff(a[i], b[i]);
        cr_expect(d <= tol * scale, "%s: weight %d (%s) differs from Keras by %g", name, i,
                  ck_weight_name(ck_layer_weight(ck_model_layer(m), i)), d);
    }
    ck_tensors_free(a, na);
    ck_tensors_free(b, nb);
    ck_model_free(want);
}

static void expect_history(const char *name, const json_t *want, const ck_history *h, double tol)
{
    const char *key;
    const json_t *vals;
    json_object_foreach((json_t *)want, key, vals) {
        for (size_t e = 0; e < json_array_size(vals); e++) {
            double w = json_number_value(json_array_get(vals, e)), got = ck_history_get(h, key, (int)e);
            cr_expect(fabs(got - w) <= tol * fmax(1, fabs(w)), "%s: history %s[%zu] is %.7g, Keras %.7g", name, key,
                      e, got, w);
        }
    }
}

static void run_case(const char *name)
{
    fit_case c;
    load_case(name, &c);
    const json_t *fit = json_object_get(c.spec, "fit");
    double cw[8];
    int ncw = 0;
    const json_t *cwj = json_object_get(fit, "class_weight");
    if (cwj) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)cwj, k, v) {
            int idx = atoi(k);
            cw[idx] = json_number_value(v);
            if (idx + 1 > ncw) ncw = idx + 1;
        }
    }
    ck_fit_opts o = {
        .batch_size = json_integer_value(json_object_get(fit, "batch_size")),
        .epochs = (int)json_integer_value(json_object_get(fit, "epochs")),
        .verbose = ck_int(0),
        .no_shuffle = true,
        .validation_split = json_number_value(json_object_get(fit, "validation_split")),
        .class_weight = ncw ? cw : NULL,
        .n_class_weight = ncw,
    };
    ck_history *h = NULL;
    ck_status st = ck_model_fit(c.m, c.n_x, c.x, c.n_y, c.y, &o, &h);
    cr_assert_eq(st, CK_OK, "%s: fit: %s", name, ck_last_error());
    expect_final_weights(name, c.m, 1e-4);
    expect_history(name, json_object_get(c.spec, "history"), h, 1e-4);
    ck_history_free(h);
    free_case(&c);
}

Test(fit, mlp_adam) { run_case("mlp_adam"); }
Test(fit, mlp_sgd_sparse_logits) { run_case("mlp_sgd_sparse_logits"); }
Test(fit, cnn_rmsprop) { run_case("cnn_rmsprop"); }
Test(fit, dot_two_inputs) { run_case("dot_two_inputs"); }
Test(fit, batchnorm_rank2) { run_case("batchnorm_rank2"); }
Test(fit, batchnorm_rank4) { run_case("batchnorm_rank4"); }
Test(fit, embedding_adagrad) { run_case("embedding_adagrad"); }
Test(fit, two_outputs) { run_case("two_outputs"); }
Test(fit, regularizers) { run_case("regularizers"); }
Test(fit, nested_siamese) { run_case("nested_siamese"); }
Test(fit, class_weight) { run_case("class_weight"); }
