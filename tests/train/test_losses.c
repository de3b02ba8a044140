/* Losses: values and gradients against tf.keras 2.15 (fixtures from
 * tools/gen_loss_goldens.py), configs and names, errors, and the training
 * entry point's promise to allocate nothing. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"
#include "train/losses/loss.h"

static ck_loss *loss_of(const char *id)
{
    ck_loss *l = NULL;
    cr_assert_eq(ck_loss_new(&l, id), CK_OK, "%s: %s", id, ck_last_error());
    return l;
}

static double num(const json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return strcmp(s, "nan") == 0 ? NAN : strcmp(s, "inf") == 0 ? INFINITY : -INFINITY;
    }
    return json_number_value(v);
}

/* A tensor from {"shape", "dtype", "data"}. */
static ck_tensor *fixture_tensor(const json_t *o)
{
    const json_t *shape = json_object_get(o, "shape"), *data = json_object_get(o, "data");
    ck_dtype dt;
    cr_assert_eq(ck_dtype_from_name(json_string_value(json_object_get(o, "dtype")), &dt), CK_OK);
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    for (int d = 0; d < rank; d++) dims[d] = json_integer_value(json_array_get(shape, (size_t)d));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) {
        double v = num(json_array_get(data, (size_t)i));
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)v; break;
        case CK_FLOAT64: ((double *)t->data)[i] = v; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
        case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
        }
    }
    return t;
}

/* |got - want| <= rtol (|want| + floor): the floor (relative to the
 * largest value of the tensor) absorbs float32 cancellation in TF's own
 * arithmetic for values near zero. */
static int close_to(double got, double want, double rtol, double floor)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= rtol * (fabs(want) + floor);
}

static double max_abs(const json_t *arr)
{
    double m = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        double v = num(json_array_get(arr, i));
        if (isfinite(v)) m = fmax(m, fabs(v));
    }
    return m;
}

static void check_case(const json_t *cs, size_t idx)
{
    char *cfg = json_dumps(json_object_get(cs, "loss"), 0);
    ck_loss *l = loss_of(cfg);
    int f32 = strcmp(json_string_value(json_object_get(cs, "dtype")), "float32") == 0;
    double rtol = f32 ? 1e-5 : 1e-6;
    ck_tensor *yt = fixture_tensor(json_object_get(cs, "y_true"));
    ck_tensor *yp = fixture_tensor(json_object_get(cs, "y_pred"));
    const json_t *jsw = json_object_get(cs, "sample_weight");
    ck_tensor *sw = json_is_null(jsw) ? NULL : fixture_tensor(jsw);

    /* Loss.__call__ with the loss' reduction */
    ck_tensor *out = NULL;
    cr_assert_eq(ck_loss_compute(l, yt, yp, sw, &out), CK_OK, "case %zu %s: %s", idx, cfg, ck_last_error());
    const json_t *value = json_object_get(cs, "value");
    const json_t *vshape = json_object_get(value, "shape"), *vdata = json_object_get(value, "data");
    cr_assert_eq(out->dtype, yp->dtype);
    cr_assert_eq((size_t)out->rank, json_array_size(vshape), "case %zu %s: rank %d", idx, cfg, out->rank);
    for (int d = 0; d < out->rank; d++)
        cr_assert_eq(out->shape[d], json_integer_value(json_array_get(vshape, (size_t)d)), "case %zu", idx);
    double vfloor = fmax((f32 ? 1e-2 : 1e-6) * max_abs(vdata), f32 ? 1e-6 : 1e-8);
    for (int64_t i = 0; i < out->size; i++) {
        double want = num(json_array_get(vdata, (size_t)i)), got = ck_tensor_get(out, i);
        cr_expect(close_to(got, want, rtol, vfloor), "case %zu %s: value[%lld] %.9g, expected %.9g", idx, cfg,
                  (long long)i, got, want);
    }
    ck_tensor_free(out);

    /* the training step: value and gradient */
    double scale = json_number_value(json_object_get(cs, "scale")), v = 0;
    ck_tensor *dy = NULL;
    cr_assert_eq(ck_tensor_new(&dy, yp->dtype, yp->rank, yp->shape), CK_OK);
    cr_assert_eq(ck_loss_value_grad(l, yt, yp, sw, scale, &v, dy), CK_OK, "case %zu: %s", idx, ck_last_error());
    double want = num(json_object_get(cs, "train_value"));
    cr_expect(close_to(v, want, rtol, f32 ? 1e-2 : 1e-6), "case %zu %s: train value %.9g, expected %.9g", idx,
              cfg, v, want);
    const json_t *grad = json_object_get(cs, "grad");
    double gfloor = fmax((f32 ? 1e-2 : 1e-6) * max_abs(grad), f32 ? 1e-6 : 1e-8);
    for (int64_t i = 0; i < dy->size; i++) {
        double g = num(json_array_get(grad, (size_t)i)), got = ck_tensor_get(dy, i);
        cr_expect(close_to(got, g, rtol, gfloor), "case %zu %s: grad[%lld] %.9g, expected %.9g", idx, cfg,
                  (long long)i, got, g);
    }
    double v2 = 0;
    cr_assert_eq(ck_loss_value_grad(l, yt, yp, sw, scale, &v2, NULL), CK_OK);
    cr_expect_eq(v, v2, "case %zu: the value without the gradient differs", idx);
    ck_tensor_free(dy);
    ck_tensor_free(yt);
    ck_tensor_free(yp);
    ck_tensor_free(sw);
    ck_loss_free(l);
    free(cfg);
}

Test(losses, tf_keras_goldens)
{
    json_t *root = ck_test_load_json(ck_test_data("train/losses/losses.json"));
    const json_t *cases = json_object_get(root, "cases");
    cr_assert_gt(json_array_size(cases), 150);
    for (size_t i = 0; i < json_array_size(cases); i++) check_case(json_array_get(cases, i), i);
    json_decref(root);
}

/* get_config of tf.keras 2.15 objects: from_config gives the same text back. */
Test(losses, config_round_trips)
{
    json_t *root = ck_test_load_json(ck_test_data("train/losses/losses.json"));
    const json_t *configs = json_object_get(root, "configs");
    cr_assert_gt(json_array_size(configs), 15);
    for (size_t i = 0; i < json_array_size(configs); i++) {
        const json_t *c = json_array_get(configs, i);
        const char *text = json_string_value(json_object_get(c, "config"));
        ck_loss *l = loss_of(text);
        char *got = NULL;
        cr_assert_eq(ck_loss_get_config(l, &got), CK_OK);
        cr_expect_str_eq(got, text);
        cr_expect_str_eq(ck_loss_name(l), json_string_value(json_object_get(c, "id")));
        ck_loss *l2 = loss_of(got);
        char *again = NULL;
        cr_assert_eq(ck_loss_get_config(l2, &again), CK_OK);
        cr_expect_str_eq(again, text);
        ck_free(got);
        ck_free(again);
        ck_loss_free(l);
        ck_loss_free(l2);
    }
    /* The class name alone gives the default config (the first of each class). */
    const char *seen[64];
    int nseen = 0;
    for (size_t i = 0; i < json_array_size(configs); i++) {
        const json_t *c = json_array_get(configs, i);
        const char *id = json_string_value(json_object_get(c, "id"));
        int dup = 0;
        for (int k = 0; k < nseen; k++) dup |= strcmp(seen[k], id) == 0;
        if (dup || strcmp(id, "MeanAbsoluteError") == 0 || strcmp(id, "MeanSquaredLogarithmicError") == 0) continue;
        seen[nseen++] = id;
        ck_loss *l = loss_of(id);
        char *got = NULL;
        cr_assert_eq(ck_loss_get_config(l, &got), CK_OK);
        cr_expect_str_eq(got, json_string_value(json_object_get(c, "config")), "%s", id);
        ck_free(got);
        ck_loss_free(l);
    }
    json_decref(root);
}

Test(losses, names_and_aliases)
{
    static const struct {
        const char *id, *cls, *canonical, *config_name;
    } t[] = {
        {"mse", "MeanSquaredError", "mean_squared_error", "mean_squared_error"},
        {"MSE", "MeanSquaredError", "mean_squared_error", "mean_squared_error"},
        {"mean_squared_error", "MeanSquaredError", "mean_squared_error", "mean_squared_error"},
        {"mae", "MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error"},
        {"MAE", "MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error"},
        {"mape", "MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mean_absolute_percentage_error"},
        {"MAPE", "MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mean_absolute_percentage_error"},
        {"msle", "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "mean_squared_logarithmic_error"},
        {"bce", "BinaryCrossentropy", "binary_crossentropy", "binary_crossentropy"},
        {"binary_crossentropy", "BinaryCrossentropy", "binary_crossentropy", "binary_crossentropy"},
        {"categorical_crossentropy", "CategoricalCrossentropy", "categorical_crossentropy", "categorical_crossentropy"},
        {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", "sparse_categorical_crossentropy",
         "sparse_categorical_crossentropy"},
        {"binary_focal_crossentropy", "BinaryFocalCrossentropy", "binary_focal_crossentropy",
         "binary_focal_crossentropy"},
        {"hinge", "Hinge", "hinge", "hinge"},
        {"squared_hinge", "SquaredHinge", "squared_hinge", "squared_hinge"},
        {"categorical_hinge", "CategoricalHinge", "categorical_hinge", "categorical_hinge"},
        {"kld", "KLDivergence", "kl_divergence", "kl_divergence"},
        {"KLD", "KLDivergence", "kl_divergence", "kl_divergence"},
        {"kl_divergence", "KLDivergence", "kl_divergence", "kl_divergence"},
        {"kullback_leibler_divergence", "KLDivergence", "kl_divergence", "kl_divergence"},
        {"poisson", "Poisson", "poisson", "poisson"},
        {"logcosh", "LogCosh", "log_cosh", "log_cosh"},
        {"log_cosh", "LogCosh", "log_cosh", "log_cosh"},
        {"huber", "Huber", "huber", "huber"},
        {"huber_loss", "Huber", "huber", "huber"},
        {"cosine_similarity", "CosineSimilarity", "cosine_similarity", "cosine_similarity"},
        {"Huber", "Huber", "huber", "huber_loss"},
        {"KLDivergence", "KLDivergence", "kl_divergence", "kl_divergence"},
        {"SparseCategoricalCrossentropy", "SparseCategoricalCrossentropy", "sparse_categorical_crossentropy",
         "sparse_categorical_crossentropy"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_loss *l = loss_of(t[i].id);
        cr_expect_str_eq(ck_loss_name(l), t[i].id);
        cr_expect_str_eq(ck_loss_canonical(l), t[i].canonical, "%s", t[i].id);
        json_t *j = ck_loss_to_json(l);
        cr_assert_not_null(j);
        cr_expect_str_eq(json_string_value(json_object_get(j, "class_name")), t[i].cls, "%s", t[i].id);
        const json_t *c = json_object_get(j, "config");
        cr_expect_str_eq(json_string_value(json_object_get(c, "name")), t[i].config_name, "%s", t[i].id);
        cr_expect_str_eq(json_string_value(json_object_get(c, "reduction")), "auto");
        json_decref(j);
        /* the same through a JSON string */
        char q[128];
        snprintf(q, sizeof q, "\"%s\"", t[i].id);
        ck_loss *l2 = loss_of(q);
        cr_expect_str_eq(ck_loss_name(l2), t[i].id);
        ck_loss_free(l2);
        ck_loss_free(l);
    }
}

/* Keras 3 and tf.keras 2.13+ forms; the legacy ones. */
Test(losses, other_config_forms)
{
    static const struct {
        const char *text, *want;
    } t[] = {
        {"{\"module\": \"keras.losses\", \"class_name\": \"BinaryCrossentropy\", \"config\": {\"name\": "
         "\"binary_crossentropy\", \"reduction\": \"sum_over_batch_size\", \"from_logits\": true, "
         "\"label_smoothing\": 0.0, \"axis\": -1, \"dtype\": null}, \"registered_name\": null}",
         "{\"class_name\": \"BinaryCrossentropy\", \"config\": {\"reduction\": \"sum_over_batch_size\", \"name\": "
         "\"binary_crossentropy\", \"from_logits\": true, \"label_smoothing\": 0.0, \"axis\": -1}}"},
        {"{\"module\": \"keras.losses\", \"class_name\": \"SparseCategoricalCrossentropy\", \"config\": {\"name\": "
         "\"scce\", \"reduction\": null, \"from_logits\": false, \"ignore_class\": null}, \"registered_name\": null}",
         "{\"class_name\": \"SparseCategoricalCrossentropy\", \"config\": {\"reduction\": \"none\", \"name\": "
         "\"scce\", \"from_logits\": false, \"ignore_class\": null}}"},
        {"{\"module\": \"keras.losses\", \"class_name\": \"MeanSquaredError\", \"config\": {\"name\": \"mse\", "
         "\"reduction\": \"mean\"}, \"registered_name\": null}",
         "{\"class_name\": \"MeanSquaredError\", \"config\": {\"reduction\": \"sum_over_batch_size\", \"name\": "
         "\"mse\"}}"},
        /* tf.keras 2.15 v3 saving adds "fn" */
        {"{\"module\": \"keras.losses\", \"class_name\": \"Huber\", \"config\": {\"reduction\": \"auto\", \"name\": "
         "\"huber_loss\", \"delta\": 2, \"fn\": \"huber\"}, \"registered_name\": null}",
         "{\"class_name\": \"Huber\", \"config\": {\"reduction\": \"auto\", \"name\": \"huber_loss\", \"delta\": 2}}"},
        {"{\"module\": \"builtins\", \"class_name\": \"function\", \"config\": \"mean_absolute_error\", "
         "\"registered_name\": \"function\"}",
         "{\"class_name\": \"MeanAbsoluteError\", \"config\": {\"reduction\": \"auto\", \"name\": "
         "\"mean_absolute_error\"}}"},
        {"{\"module\": \"keras.losses\", \"class_name\": \"function\", \"config\": \"kld\", \"registered_name\": "
         "\"kld\"}",
         "{\"class_name\": \"KLDivergence\", \"config\": {\"reduction\": \"auto\", \"name\": \"kl_divergence\"}}"},
        {"{\"class_name\": \"LossFunctionWrapper\", \"config\": {\"reduction\": \"sum\", \"name\": \"w\", \"fn\": "
         "\"categorical_crossentropy\", \"from_logits\": true}}",
         "{\"class_name\": \"CategoricalCrossentropy\", \"config\": {\"reduction\": \"sum\", \"name\": \"w\", "
         "\"from_logits\": true, \"label_smoothing\": 0.0, \"axis\": -1}}"},
        {"{\"class_name\": \"CategoricalCrossentropy\", \"config\": {\"reduction\": \"auto\", \"name\": null}}",
         "{\"class_name\": \"CategoricalCrossentropy\", \"config\": {\"reduction\": \"auto\", \"name\": null, "
         "\"from_logits\": false, \"label_smoothing\": 0.0, \"axis\": -1}}"},
        {"{\"class_name\": \"CosineSimilarity\"}",
         "{\"class_name\": \"CosineSimilarity\", \"config\": {\"reduction\": \"auto\", \"name\": "
         "\"cosine_similarity\", \"axis\": -1}}"},
        {"  \"categorical_hinge\"",
         "{\"class_name\": \"CategoricalHinge\", \"config\": {\"reduction\": \"auto\", \"name\": "
         "\"categorical_hinge\"}}"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_loss *l = loss_of(t[i].text);
        char *got = NULL;
        cr_assert_eq(ck_loss_get_config(l, &got), CK_OK);
        cr_expect_str_eq(got, t[i].want, "case %zu", i);
        ck_free(got);
        ck_loss_free(l);
    }
}

static void expect_error(const char *text, ck_status want, const char *prefix)
{
    ck_loss *l = (ck_loss *)0x1;
    cr_expect_eq(ck_loss_new(&l, text), want, "%s: %s", text, ck_last_error());
    cr_expect_eq(l, (ck_loss *)0x1, "%s: out changed on error", text);
    cr_expect_eq(strncmp(ck_last_error(), prefix, strlen(prefix)), 0, "%s: message %s", text, ck_last_error());
}

Test(losses, config_errors)
{
    expect_error("foo", CK_VALUE_ERROR, "Unknown loss function: 'foo'");
    expect_error("\"foo\"", CK_VALUE_ERROR, "Unknown loss function: 'foo'");
    expect_error("{\"class_name\": \"Foo\", \"config\": {}}", CK_VALUE_ERROR, "Unknown loss function: 'Foo'");
    expect_error("{\"class_name\": \"function\", \"config\": \"bar\"}", CK_VALUE_ERROR,
                 "Unknown loss function: 'bar'");
    expect_error("meansquarederror", CK_VALUE_ERROR, "Unknown loss function: 'meansquarederror'");
    expect_error("{\"class_name\": \"MeanSquaredError\", \"config\": {\"reduction\": \"foo\"}}", CK_VALUE_ERROR,
                 "Invalid Reduction Key: foo. Expected keys are \"('auto', 'none', 'sum', "
                 "'sum_over_batch_size')\"");
    expect_error("{\"class_name\": \"MeanSquaredError\", \"config\": {\"foo\": 1}}", CK_TYPE_ERROR,
                 "MeanSquaredError.__init__() got an unexpected keyword argument 'foo'");
    expect_error("{\"class_name\": \"Hinge\", \"config\": {\"from_logits\": true}}", CK_TYPE_ERROR,
                 "Hinge.__init__() got an unexpected keyword argument 'from_logits'");
    expect_error("{\"class_name\": \"CategoricalCrossentropy\", \"config\": {\"axis\": true}}", CK_VALUE_ERROR,
                 "CategoricalCrossentropy: `axis` must be of type `int`");
    expect_error("{\"class_name\": \"Huber\", \"config\": {\"delta\": \"x\"}}", CK_VALUE_ERROR, "Huber");
    expect_error("{\"class_name\": \"MeanSquaredError\", \"config\": {\"reduction\": "
                 "\"mean_with_sample_weight\"}}", CK_NOT_IMPLEMENTED, "MeanSquaredError");
    json_t *jnull = json_null();
    ck_loss *ln = NULL;
    cr_expect_eq(ck_loss_from_json(jnull, &ln), CK_VALUE_ERROR);
    cr_expect_str_eq(ck_last_error(), "Could not interpret loss function identifier: None");
    expect_error("{\"class_name\": ", CK_FORMAT_ERROR, "malformed loss config JSON");
    expect_error("{\"config\": {}}", CK_VALUE_ERROR, "Could not interpret loss function identifier");
    ck_loss *l = NULL;
    cr_expect_eq(ck_loss_new(&l, NULL), CK_VALUE_ERROR);
    ck_loss_free(NULL);
}

static ck_tensor *f32t(int rank, const int64_t *shape, float start)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= shape[d];
    float v[64];
    for (int64_t i = 0; i < n; i++) v[i] = start + 0.1f * (float)i;
    return ck_test_f32(rank, shape, v);
}

Test(losses, shape_errors)
{
    ck_loss *mse = loss_of("mse"), *scce = loss_of("sparse_categorical_crossentropy");
    ck_tensor *a = f32t(2, (int64_t[]){3, 4}, 0.1f), *b = f32t(2, (int64_t[]){3, 5}, 0.1f);
    ck_tensor *out = NULL;
    cr_expect_eq(ck_loss_compute(mse, a, b, NULL, &out), CK_VALUE_ERROR);
    cr_expect_null(out);
    cr_expect(strstr(ck_last_error(), "(3, 4)") && strstr(ck_last_error(), "(3, 5)"), "%s", ck_last_error());
    double v = 123;
    cr_expect_eq(ck_loss_value_grad(mse, a, b, NULL, 1.0, &v, NULL), CK_VALUE_ERROR);
    cr_expect_eq(v, 123);
    /* sparse labels of the wrong shape / out of range */
    ck_tensor *lab = ck_test_i64(1, (int64_t[]){4}, (int64_t[]){0, 1, 2, 3});
    cr_expect_eq(ck_loss_compute(scce, lab, a, NULL, &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(4,)") && strstr(ck_last_error(), "(3, 4)"), "%s", ck_last_error());
    ck_tensor *lab3 = ck_test_i64(1, (int64_t[]){3}, (int64_t[]){0, 4, 2});
    cr_expect_eq(ck_loss_compute(scce, lab3, a, NULL, &out), CK_VALUE_ERROR);
    cr_expect_str_eq(ck_last_error(), "Received a label value of 4 which is outside the valid range of [0, 4).");
    ((int64_t *)lab3->data)[1] = -1;
    cr_expect_eq(ck_loss_compute(scce, lab3, a, NULL, &out), CK_VALUE_ERROR);
    /* ... but ignore_class may be anything */
    ck_loss *ign = loss_of("{\"class_name\": \"SparseCategoricalCrossentropy\", \"config\": {\"ignore_class\": -1}}");
    cr_expect_eq(ck_loss_compute(ign, lab3, a, NULL, &out), CK_OK, "%s", ck_last_error());
    ck_tensor_free(out);
    out = NULL;
    /* sample weights that do not broadcast; integer y_pred; a wrong gradient tensor */
    ck_tensor *sw = f32t(1, (int64_t[]){4}, 1.0f);
    cr_expect_eq(ck_loss_compute(mse, a, a, sw, &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "sample_weight"), "%s", ck_last_error());
    ck_tensor *sw31 = f32t(2, (int64_t[]){3, 2}, 1.0f);
    cr_expect_eq(ck_loss_compute(mse, a, a, sw31, &out), CK_VALUE_ERROR);
    cr_expect_eq(ck_loss_compute(mse, lab, lab, NULL, &out), CK_TYPE_ERROR);
    cr_expect_null(out);
    cr_expect_eq(ck_loss_value_grad(mse, a, a, NULL, 1.0, &v, b), CK_VALUE_ERROR);
    /* a bad axis */
    ck_loss *ax = loss_of("{\"class_name\": \"CategoricalCrossentropy\", \"config\": {\"axis\": 2}}");
    cr_expect_eq(ck_loss_compute(ax, a, a, NULL, &out), CK_VALUE_ERROR);
    /* check_shapes with unknown dims */
    cr_expect_eq(ck_loss_check_shapes(mse, &CK_TEST_SHAPE(-1, 4), &CK_TEST_SHAPE(-1, 4)), CK_OK);
    cr_expect_eq(ck_loss_check_shapes(mse, &CK_TEST_SHAPE(-1), &CK_TEST_SHAPE(-1, 1)), CK_OK);
    cr_expect_eq(ck_loss_check_shapes(mse, &CK_TEST_SHAPE(-1, -1), &CK_TEST_SHAPE(-1, 3)), CK_OK);
    cr_expect_eq(ck_loss_check_shapes(mse, &CK_TEST_SHAPE(-1, 2), &CK_TEST_SHAPE(-1, 3)), CK_VALUE_ERROR);
    cr_expect_eq(ck_loss_check_shapes(mse, &CK_TEST_SHAPE(-1), &CK_TEST_SHAPE(-1, 3)), CK_VALUE_ERROR);
    cr_expect_eq(ck_loss_check_shapes(scce, &CK_TEST_SHAPE(-1), &CK_TEST_SHAPE(-1, 3)), CK_OK);
    cr_expect_eq(ck_loss_check_shapes(scce, &CK_TEST_SHAPE(-1, 1), &CK_TEST_SHAPE(-1, 3)), CK_OK);
    cr_expect_eq(ck_loss_check_shapes(scce, &CK_TEST_SHAPE(-1, 5, 1), &CK_TEST_SHAPE(-1, 5, 3)), CK_OK);
    cr_expect_eq(ck_loss_check_shapes(scce, &CK_TEST_SHAPE(-1, 3), &CK_TEST_SHAPE(-1, 3)), CK_VALUE_ERROR);
    cr_expect_eq(ck_loss_check_shapes(scce, &CK_TEST_SHAPE(-1, 4), &CK_TEST_SHAPE(-1, 5, 3)), CK_VALUE_ERROR);
    ck_loss_free(ax);
    ck_loss_free(ign);
    ck_tensor_free(sw);
    ck_tensor_free(sw31);
    ck_tensor_free(lab);
    ck_tensor_free(lab3);
    ck_tensor_free(a);
    ck_tensor_free(b);
    ck_loss_free(mse);
    ck_loss_free(scce);
}

/* NONE reduction in the training step is sum_over_batch_size. */
Test(losses, none_reduction_trains_as_mean)
{
    ck_loss *none = loss_of("{\"class_name\": \"MeanSquaredError\", \"config\": {\"reduction\": \"none\"}}");
    ck_loss *mean = loss_of("mse");
    ck_tensor *a = f32t(2, (int64_t[]){3, 4}, 0.1f), *b = f32t(2, (int64_t[]){3, 4}, -0.3f);
    double v1, v2;
    cr_assert_eq(ck_loss_value_grad(none, a, b, NULL, 2.0, &v1, NULL), CK_OK);
    cr_assert_eq(ck_loss_value_grad(mean, a, b, NULL, 2.0, &v2, NULL), CK_OK);
    cr_expect_float_eq(v1, v2, 1e-12);
    cr_expect_float_eq(v1, 2.0 * 0.16, 1e-6);
    ck_tensor *out = NULL;
    cr_assert_eq(ck_loss_compute(none, a, b, NULL, &out), CK_OK);
    cr_expect_eq(out->rank, 1);
    cr_expect_eq(out->shape[0], 3);
    ck_tensor_free(out);
    ck_tensor_free(a);
    ck_tensor_free(b);
    ck_loss_free(none);
    ck_loss_free(mean);
}

Test(losses, value_grad_allocates_nothing)
{
    const char *ids[] = {"mse", "mae", "mape", "msle", "binary_crossentropy", "categorical_crossentropy",
                         "binary_focal_crossentropy", "hinge", "squared_hinge", "categorical_hinge", "kld",
                         "poisson", "log_cosh", "huber", "cosine_similarity",
                         "{\"class_name\": \"CategoricalCrossentropy\", \"config\": {\"from_logits\": true}}"};
    ck_tensor *t = f32t(2, (int64_t[]){3, 4}, 0.05f), *p = f32t(2, (int64_t[]){3, 4}, 0.02f);
    ck_tensor *dy = f32t(2, (int64_t[]){3, 4}, 0.0f), *sw = f32t(1, (int64_t[]){3}, 0.5f);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        ck_loss *l = loss_of(ids[i]);
        double v;
        ck_test_fail_after(0);
        ck_status st = ck_loss_value_grad(l, t, p, sw, 1.0, &v, dy);
        long n = ck_test_alloc_count();
        ck_test_alloc_reset();
        cr_expect_eq(st, CK_OK, "%s: %s", ids[i], ck_last_error());
        cr_expect_eq(n, 0, "%s allocated %ld times", ids[i], n);
        ck_loss_free(l);
    }
    ck_loss *s = loss_of("{\"class_name\": \"SparseCategoricalCrossentropy\", \"config\": {\"from_logits\": true, "
                         "\"ignore_class\": 2}}");
    ck_tensor *lab = ck_test_i64(1, (int64_t[]){3}, (int64_t[]){0, 2, 3});
    double v;
    ck_test_fail_after(0);
    ck_status st = ck_loss_value_grad(s, lab, p, NULL, 1.0, &v, dy);
    long n = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(n, 0);
    ck_loss_free(s);
    ck_tensor_free(lab);
    ck_tensor_free(t);
    ck_tensor_free(p);
    ck_tensor_free(dy);
    ck_tensor_free(sw);
}

typedef struct {
    const char *text;
    ck_loss *loss;
    ck_tensor *out;
    char *config;
} oom_ctx;

static ck_status oom_run(void *p)
{
    oom_ctx *c = p;
    c->loss = NULL;
    c->out = NULL;
    c->config = NULL;
    CK_TRY(ck_loss_new(&c->loss, c->text));
    ck_tensor *a = NULL, *b = NULL;
    ck_status st = ck_tensor_new(&a, CK_FLOAT64, 2, (int64_t[]){2, 3});
    if (st == CK_OK) st = ck_tensor_new(&b, CK_FLOAT64, 2, (int64_t[]){2, 3});
    if (st == CK_OK) st = ck_loss_compute(c->loss, a, b, NULL, &c->out);
    if (st == CK_OK) st = ck_loss_get_config(c->loss, &c->config);
    ck_tensor_free(a);
    ck_tensor_free(b);
    if (st != CK_OK) {
        ck_tensor_free(c->out);
        ck_loss_free(c->loss);
    }
    return st;
}

static void oom_cleanup(void *p)
{
    oom_ctx *c = p;
    ck_tensor_free(c->out);
    ck_free(c->config);
    ck_loss_free(c->loss);
}

Test(losses, every_allocation_may_fail)
{
    const char *texts[] = {"mse", "{\"class_name\": \"BinaryFocalCrossentropy\", \"config\": {\"gamma\": 3, "
                                  "\"name\": \"focal\", \"reduction\": \"none\"}}"};
    for (size_t i = 0; i < 2; i++) {
        oom_ctx c = {texts[i], NULL, NULL, NULL};
        cr_expect_gt(ck_test_every_allocation_fails(oom_run, oom_cleanup, &c), 2);
    }
}
