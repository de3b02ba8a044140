/* Metrics against tf.keras 2.15 goldens (tools/gen_metric_goldens.py):
 * results after every update and after reset, configs and their round
 * trips, the resolution of "accuracy", and the errors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"
#include "train/metrics/metric.h"

#define TOL 1e-6

static json_t *load_goldens(void)
{
    json_error_t err;
    json_t *j = json_load_file(ck_test_data("train/metrics/metrics.json"), 0, &err);
    cr_assert(j != NULL, "cannot read metrics.json: %s", err.text);
    return j;
}

/* A tensor from {"dtype", "shape", "data"}; NULL for null. */
static ck_tensor *golden_tensor(const json_t *o)
{
    if (!o || json_is_null(o)) return NULL;
    const json_t *shape = json_object_get(o, "shape"), *data = json_object_get(o, "data");
    int rank = (int)json_array_size(shape);
    int64_t dims[CK_MAX_RANK] = {0};
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, i));
    int is_int = strcmp(json_string_value(json_object_get(o, "dtype")), "int64") == 0;
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, is_int ? CK_INT64 : CK_FLOAT32, rank, dims), CK_OK);
    for (int64_t i = 0; i < t->size; i++) {
        const json_t *v = json_array_get(data, (size_t)i);
        if (is_int)
            ((int64_t *)t->data)[i] = json_integer_value(v);
        else
            ((float *)t->data)[i] = (float)json_number_value(v);
    }
    return t;
}

static char *identifier_text(const json_t *id)
{
    if (json_is_string(id)) return strdup(json_string_value(id));
    return json_dumps(id, 0);
}

static void check_results(const ck_metric *m, const json_t *want, const char *what)
{
    double got[16];
    int n = ck_metric_result_values(m, got, 16);
    cr_assert_eq((size_t)n, json_array_size(want), "%s: %d values, expected %zu", what, n,
                 json_array_size(want));
    for (int i = 0; i < n; i++) {
        double e = json_number_value(json_array_get(want, (size_t)i));
        cr_expect(fabs(got[i] - e) <= TOL, "%s: value %d is %.9g, expected %.9g", what, i,
                  got[i], e);
    }
    cr_expect(fabs(ck_metric_result(m) - json_number_value(json_array_get(want, 0))) <= TOL);
}

static void run_batches(ck_metric *m, const json_t *c, const char *label)
{
    size_t bi;
    const json_t *b;
    json_array_foreach(json_object_get(c, "batches"), bi, b) {
        ck_tensor *yt = golden_tensor(json_object_get(b, "y_true"));
        ck_tensor *yp = golden_tensor(json_object_get(b, "y_pred"));
        ck_tensor *sw = golden_tensor(json_object_get(b, "sample_weight"));
        cr_assert_eq(ck_metric_update(m, yt, yp, sw), CK_OK, "%s batch %zu: %s", label, bi,
                     ck_last_error());
        char what[256];
        snprintf(what, sizeof what, "%s batch %zu", label, bi);
        check_results(m, json_object_get(b, "result"), what);
        ck_tensor_free(yt);
        ck_tensor_free(yp);
        ck_tensor_free(sw);
    }
    ck_metric_reset(m);
    check_results(m, json_object_get(c, "reset_result"), label);
}

Test(metrics, goldens)
{
    json_t *root = load_goldens();
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        char *id = identifier_text(json_object_get(c, "identifier"));
        char label[200];
        snprintf(label, sizeof label, "case %zu (%.80s, %s)", i, id,
                 json_string_value(json_object_get(c, "note")));
        ck_metric *m = NULL;
        cr_assert_eq(ck_metric_new(&m, id), CK_OK, "%s: %s", label, ck_last_error());
        cr_expect_str_eq(ck_metric_name(m), json_string_value(json_object_get(c, "name")), "%s",
                         label);
        run_batches(m, c, label);
        /* a second epoch gives the same again */
        run_batches(m, c, label);

        const char *want = json_string_value(json_object_get(c, "config"));
        char *cfg = NULL;
        cr_assert_eq(ck_metric_get_config(m, &cfg), CK_OK);
        cr_expect_str_eq(cfg, want, "%s", label);
        ck_metric *back = NULL;
        cr_assert_eq(ck_metric_new(&back, cfg), CK_OK, "%s: %s", label, ck_last_error());
        char *cfg2 = NULL;
        cr_assert_eq(ck_metric_get_config(back, &cfg2), CK_OK);
        cr_expect_str_eq(cfg2, want, "%s round trip", label);
        run_batches(back, c, label);

        /* to_json: a name stays the name (compile_config), else the config */
        json_t *j = ck_metric_to_json(m);
        cr_assert_not_null(j);
        if (json_is_string(json_object_get(c, "identifier")))
            cr_expect_str_eq(json_string_value(j), id);
        else
            cr_expect(json_is_object(j) && json_object_get(j, "class_name"));
        json_decref(j);
        ck_free(cfg);
        ck_free(cfg2);
        ck_metric_free(back);
        ck_metric_free(m);
        free(id);
    }
    json_decref(root);
}

static ck_shape shape_of(const json_t *a)
{
    ck_shape s = {0};
    s.rank = (int)json_array_size(a);
    for (int i = 0; i < s.rank; i++) {
        const json_t *d = json_array_get(a, (size_t)i);
        s.dims[i] = json_is_null(d) ? -1 : json_integer_value(d);
    }
    return s;
}

static void expect_fn(const ck_metric *m, const char *fn, const char *label)
{
    char *cfg = NULL;
    cr_assert_eq(ck_metric_get_config(m, &cfg), CK_OK);
    char want[160];
    snprintf(want, sizeof want, "\"fn\": \"%s\"", fn);
    cr_expect(strstr(cfg, want) != NULL, "%s: config %s, expected %s", label, cfg, want);
    ck_free(cfg);
}

Test(metrics, accuracy_resolution_by_shapes)
{
    json_t *root = load_goldens();
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(root, "resolutions"), i, r) {
        const char *metric = json_string_value(json_object_get(r, "metric"));
        ck_shape yt = shape_of(json_object_get(r, "y_true_shape"));
        ck_shape yp = shape_of(json_object_get(r, "y_pred_shape"));
        ck_metric *m = NULL;
        cr_assert_eq(ck_metric_new(&m, metric), CK_OK);
        char *cfg = NULL;
        cr_assert_eq(ck_metric_get_config(m, &cfg), CK_OK);
        char quoted[32];
        snprintf(quoted, sizeof quoted, "\"%s\"", metric);
        cr_expect_str_eq(cfg, quoted, "unresolved %s", metric);
        ck_free(cfg);
        cr_assert_eq(ck_metric_resolve(m, NULL, &yt, &yp), CK_OK);
        cr_expect_str_eq(ck_metric_name(m), json_string_value(json_object_get(r, "name")));
        char label[64];
        snprintf(label, sizeof label, "resolution %zu", i);
        expect_fn(m, json_string_value(json_object_get(r, "fn")), label);
        json_t *j = ck_metric_to_json(m);
        cr_expect_str_eq(json_string_value(j), metric);
        json_decref(j);
        ck_metric_free(m);
    }
    /* resolved, then updated */
    const json_t *c = json_object_get(root, "resolved_case");
    ck_metric *m = NULL;
    cr_assert_eq(ck_metric_new(&m, "acc"), CK_OK);
    ck_shape yt = shape_of(json_object_get(c, "y_true_shape"));
    ck_shape yp = shape_of(json_object_get(c, "y_pred_shape"));
    cr_assert_eq(ck_metric_resolve(m, NULL, &yt, &yp), CK_OK);
    run_batches(m, c, "resolved acc");
    ck_metric_free(m);
    json_decref(root);
}

Test(metrics, accuracy_resolution_by_loss_and_first_update)
{
    static const struct {
        const char *loss, *fn;
    } cases[] = {{"binary_crossentropy", "binary_accuracy"},
                 {"sparse_categorical_crossentropy", "sparse_categorical_accuracy"},
                 {"categorical_crossentropy", "categorical_accuracy"},
                 {"mse", "categorical_accuracy"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_loss *loss = NULL;
        cr_assert_eq(ck_loss_new(&loss, cases[i].loss), CK_OK, "%s", ck_last_error());
        ck_metric *m = NULL;
        cr_assert_eq(ck_metric_new(&m, "ACC"), CK_OK);
        cr_assert_eq(ck_metric_resolve(m, loss, NULL, NULL), CK_OK);
        expect_fn(m, cases[i].fn, cases[i].loss);
        cr_expect_str_eq(ck_metric_name(m), "ACC");
        ck_metric_free(m);
        /* known shapes decide, as tf.keras 2.15 does: multi-label BCE is categorical */
        ck_shape s3 = CK_TEST_SHAPE(4, 3);
        cr_assert_eq(ck_metric_new(&m, "accuracy"), CK_OK);
        cr_assert_eq(ck_metric_resolve(m, loss, &s3, &s3), CK_OK);
        expect_fn(m, "categorical_accuracy", cases[i].loss);
        ck_metric_free(m);
        ck_loss_free(loss);
    }
    /* resolution is a no-op for other metrics */
    ck_metric *m = NULL;
    cr_assert_eq(ck_metric_new(&m, "mse"), CK_OK);
    ck_shape s1 = CK_TEST_SHAPE(4, 1);
    cr_assert_eq(ck_metric_resolve(m, NULL, &s1, &s1), CK_OK);
    expect_fn(m, "mean_squared_error", "mse");
    ck_metric_free(m);
    /* unresolved at the first update: resolved from the tensors' shapes */
    cr_assert_eq(ck_metric_new(&m, "accuracy"), CK_OK);
    int64_t s[2] = {2, 1};
    ck_tensor *yt = ck_test_f32(2, s, (float[]){1, 0});
    ck_tensor *yp = ck_test_f32(2, s, (float[]){0.7f, 0.9f});
    cr_assert_eq(ck_metric_update(m, yt, yp, NULL), CK_OK);
    expect_fn(m, "binary_accuracy", "first update");
    cr_expect_eq(ck_metric_result(m), 0.5);
    ck_tensor_free(yt);
    ck_tensor_free(yp);
    ck_metric_free(m);
}

static void expect_error(const char *id, ck_status st, const char *needle)
{
    ck_metric *m = (ck_metric *)0x1;
    cr_expect_eq(ck_metric_new(&m, id), st, "%s gave %s: %s", id, ck_status_name(ck_last_status()),
                 ck_last_error());
    cr_expect(strstr(ck_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", id,
              ck_last_error(), needle);
    cr_expect_eq(m, (ck_metric *)0x1, "output touched on error");
}

Test(metrics, construction_errors)
{
    expect_error("foo_metric", CK_VALUE_ERROR, "foo_metric");
    expect_error("{\"class_name\": \"NoSuchMetric\", \"config\": {}}", CK_VALUE_ERROR,
                 "NoSuchMetric");
    expect_error("{\"class_name\": \"MeanMetricWrapper\", \"config\": {\"fn\": \"nope\"}}",
                 CK_VALUE_ERROR, "nope");
    expect_error("{\"class_name\": \"AUC\", \"config\": {\"num_thresholds\": 1}}", CK_VALUE_ERROR,
                 "num_thresholds=1");
    expect_error("{\"class_name\": \"AUC\", \"config\": {\"curve\": \"XY\"}}", CK_VALUE_ERROR,
                 "Invalid AUC curve value: \"XY\"");
    expect_error("{\"class_name\": \"AUC\", \"config\": {\"summation_method\": \"avg\"}}",
                 CK_VALUE_ERROR, "summation method");
    expect_error("{\"class_name\": \"AUC\", \"config\": {\"multi_label\": true}}",
                 CK_NOT_IMPLEMENTED, "multi_label");
    expect_error("{\"class_name\": \"Precision\", \"config\": {\"thresholds\": [0.5, 1.5]}}",
                 CK_VALUE_ERROR, "Threshold values must be in [0, 1]");
    expect_error("{\"class_name\": \"Recall\", \"config\": {\"recall\": 1}}", CK_TYPE_ERROR,
                 "unexpected keyword argument 'recall'");
    expect_error("{\"class_name\": \"BinaryAccuracy\", \"config\": {\"dtype\": \"int8\"}}",
                 CK_VALUE_ERROR, "int8");
    expect_error("{\"class_name\": ", CK_FORMAT_ERROR, "metric");
    ck_metric *m = NULL;
    cr_expect_eq(ck_metric_new(&m, NULL), CK_VALUE_ERROR);
    /* Keras 3 forms and lower-case class names */
    cr_assert_eq(ck_metric_new(&m, "{\"module\": \"keras.metrics\", \"class_name\": \"AUC\", "
                                   "\"config\": {\"name\": \"a\", \"dtype\": {\"module\": "
                                   "\"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
                                   "{\"name\": \"float32\"}}}, \"registered_name\": null}"),
                 CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(ck_metric_name(m), "a");
    ck_metric_free(m);
    cr_assert_eq(ck_metric_new(&m, "auc"), CK_OK);
    cr_expect_str_eq(ck_metric_name(m), "auc");
    ck_metric_free(m);
    ck_metric_free(NULL);
}

static void expect_update_error(const char *id, const ck_tensor *yt, const ck_tensor *yp,
                                const ck_tensor *sw, const char *needle)
{
    ck_metric *m = NULL;
    cr_assert_eq(ck_metric_new(&m, id), CK_OK);
    cr_expect_eq(ck_metric_update(m, yt, yp, sw), CK_VALUE_ERROR, "%s", id);
    cr_expect(strstr(ck_last_error(), needle) != NULL, "%s: '%s' lacks '%s'", id, ck_last_error(),
              needle);
    cr_expect_eq(ck_metric_result(m), 0.0, "%s: state changed by a failed update", id);
    ck_metric_free(m);
}

Test(metrics, update_errors)
{
    float v[12] = {0};
    ck_tensor *a = ck_test_f32(2, (int64_t[]){2, 3}, v);
    ck_tensor *b = ck_test_f32(2, (int64_t[]){2, 4}, v);
    ck_tensor *w = ck_test_f32(1, (int64_t[]){3}, v);
    ck_tensor *ids = ck_test_i64(1, (int64_t[]){3}, (int64_t[]){0, 1, 2});
    expect_update_error("mse", a, b, NULL, "(2, 4)");
    expect_update_error("binary_accuracy", a, b, NULL, "(2, 3)");
    expect_update_error("Precision", a, b, NULL, "incompatible");
    expect_update_error("AUC", a, b, NULL, "incompatible");
    expect_update_error("sparse_categorical_accuracy", ids, a, NULL, "(3,)");
    expect_update_error("mse", a, a, w, "sample_weight");
    expect_update_error("{\"class_name\": \"Recall\", \"config\": {\"class_id\": 5}}", a, a, NULL,
                        "class_id 5");
    expect_update_error("mae", NULL, a, NULL, "y_true");
    ck_tensor_free(a);
    ck_tensor_free(b);
    ck_tensor_free(w);
    ck_tensor_free(ids);
}

static const char *const alloc_ids[] = {
    "accuracy", "mse", "AUC", "Precision",
    "{\"class_name\": \"AUC\", \"config\": {\"thresholds\": [0.2, 0.7], \"curve\": \"PR\"}}",
    "{\"class_name\": \"Recall\", \"config\": {\"thresholds\": [0.2, 0.7], \"top_k\": 2}}",
    "{\"class_name\": \"MeanMetricWrapper\", \"config\": {\"name\": \"m\", \"fn\": \"mae\"}}",
};

typedef struct alloc_ctx {
    const char *id;
    ck_metric *m;
    char *cfg;
} alloc_ctx;

static ck_status make_and_config(void *p)
{
    alloc_ctx *c = p;
    ck_metric *m = NULL;
    CK_TRY(ck_metric_new(&m, c->id));
    ck_status st = ck_metric_get_config(m, &c->cfg);
    if (st != CK_OK) {
        ck_metric_free(m);
        return st;
    }
    c->m = m;
    return CK_OK;
}

static void free_ctx(void *p)
{
    alloc_ctx *c = p;
    ck_metric_free(c->m);
    ck_free(c->cfg);
    c->m = NULL;
    c->cfg = NULL;
}

Test(metrics, allocation_failures_and_no_allocation_in_updates)
{
    for (size_t i = 0; i < sizeof alloc_ids / sizeof alloc_ids[0]; i++) {
        alloc_ctx c = {.id = alloc_ids[i]};
        ck_test_every_allocation_fails(make_and_config, free_ctx, &c);
    }
    float yt[6] = {1, 0, 0, 0, 1, 0}, yp[6] = {0.6f, 0.3f, 0.1f, 0.2f, 0.5f, 0.3f};
    ck_tensor *t = ck_test_f32(2, (int64_t[]){2, 3}, yt);
    ck_tensor *p = ck_test_f32(2, (int64_t[]){2, 3}, yp);
    ck_tensor *w = ck_test_f32(1, (int64_t[]){2}, (float[]){0.5f, 2});
    for (size_t i = 0; i < sizeof alloc_ids / sizeof alloc_ids[0]; i++) {
        ck_metric *m = NULL;
        cr_assert_eq(ck_metric_new(&m, alloc_ids[i]), CK_OK);
        cr_assert_eq(ck_metric_update(m, t, p, w), CK_OK, "%s", ck_last_error());
        ck_test_fail_after(0);
        for (int k = 0; k < 3; k++) {
            cr_expect_eq(ck_metric_update(m, t, p, k ? w : NULL), CK_OK, "%s allocates",
                         alloc_ids[i]);
            (void)ck_metric_result(m);
        }
        ck_metric_reset(m);
        ck_test_alloc_reset();
        ck_metric_free(m);
    }
    ck_tensor_free(t);
    ck_tensor_free(p);
    ck_tensor_free(w);
}

Test(metrics, float32_accumulation)
{
    /* the count is a float32 variable: past 2^24 adding 1 is lost */
    ck_metric *m = NULL;
    cr_assert_eq(ck_metric_new(&m, "mae"), CK_OK);
    ck_tensor *t = ck_test_f32(2, (int64_t[]){1, 1}, (float[]){0});
    ck_tensor *p = ck_test_f32(2, (int64_t[]){1, 1}, (float[]){1});
    ck_tensor *w = ck_test_f32(1, (int64_t[]){1}, (float[]){16777216.0f});
    cr_assert_eq(ck_metric_update(m, t, p, w), CK_OK);
    cr_assert_eq(ck_metric_update(m, t, t, NULL), CK_OK); /* a value of 0, counted once */
    cr_expect_eq(ck_metric_result(m), 1.0);               /* double counts: 0.99999994 */
    ck_tensor_free(t);
    ck_tensor_free(p);
    ck_tensor_free(w);
    ck_metric_free(m);
    /* float64 metrics keep doubles */
    cr_assert_eq(ck_metric_new(&m, "{\"class_name\": \"MeanSquaredError\", \"config\": "
                                   "{\"dtype\": \"float64\"}}"), CK_OK);
    char *cfg = NULL;
    cr_assert_eq(ck_metric_get_config(m, &cfg), CK_OK);
    cr_expect_str_eq(cfg, "{\"class_name\": \"MeanSquaredError\", \"config\": {\"name\": "
                          "\"mean_squared_error\", \"dtype\": \"float64\"}}");
    ck_free(cfg);
    ck_tensor *t64 = ck_test_f64(2, (int64_t[]){1, 1}, (double[]){0.1});
    ck_tensor *p64 = ck_test_f64(2, (int64_t[]){1, 1}, (double[]){0});
    cr_assert_eq(ck_metric_update(m, t64, p64, NULL), CK_OK);
    cr_expect_eq(ck_metric_result(m), 0.1 * 0.1);
    ck_tensor_free(t64);
    ck_tensor_free(p64);
    ck_metric_free(m);
}
