/* User-defined layers: a tf.keras 2.15 model with two Lambda layers and a
 * Layer subclass (tests/data/custom, tools/gen_custom_layer_goldens.py)
 * loaded after registering C implementations (custom_impls.h), predicted
 * against Keras, saved back and reloaded, trained one SGD step against
 * tf.keras, and its user backwards checked by central differences; the
 * errors of missing and wrong registrations. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ckeras.h"
#include "custom_impls.h"
#include "io/keras_archive.h"
#include "support/gradcheck.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "custom/%s", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void register_all(void)
{
    ck_custom_registry_reset();
    cr_assert_eq(ck_register_layer_class(&scaled_dense_impl), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_register_lambda("normalize", &normalize_impl), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_register_lambda("lambda", &affine_impl), CK_OK, "%s", ck_last_error());
}

static ck_model *load(const char *rel)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(rel), &m), CK_OK, "%s: %s", rel, ck_last_error());
    return m;
}

/* Predicts x.npy and compares with `want` (a fixture name). */
static void expect_prediction(ck_model *m, const char *want, const char *what)
{
    ck_tensor *x = fixture("x.npy"), *y = fixture(want), *got = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &got, 0), CK_OK, "%s: %s", what, ck_last_error());
    double diff = ck_test_max_abs_diff(got, y);
    cr_expect_leq(diff, 1e-5, "%s: prediction differs from Keras by %g", what, diff);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(got);
}

TestSuite(custom_layers, .fini = ck_custom_registry_reset);

Test(custom_layers, h5_and_keras_files_predict_as_tf_keras)
{
    register_all();
    static const char *const files[] = {"custom/model.h5", "custom/model.keras"};
    for (int i = 0; i < 2; i++) {
        ck_model *m = load(files[i]);
        cr_expect_eq(ck_model_layer_count(m), 5);
        ck_layer *l = NULL;
        cr_assert_eq(ck_model_get_layer(m, "scaled", &l), CK_OK);
        cr_expect_str_eq(ck_layer_class_name(l), "ScaledDense");
        cr_expect_eq(ck_layer_weight_count(l), 2);
        cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 0)), "scaled/kernel:0");
        cr_assert_eq(ck_model_get_layer(m, "l2norm", &l), CK_OK);
        cr_expect_str_eq(ck_layer_class_name(l), "Lambda");
        expect_prediction(m, "y.npy", files[i]);
        ck_model_free(m);
    }
}

Test(custom_layers, keras3_archive_predicts_as_keras3)
{
    register_all();
    ck_model *m = load("custom/k3_model.keras");
    expect_prediction(m, "k3_y.npy", "Keras 3 archive");
    ck_model_free(m);
}

/* The loaded configs of the Lambda layers and of ScaledDense are those
 * tf.keras wrote (lambda_config.json), and survive a save / load cycle in
 * every format with the same predictions. */
Test(custom_layers, configs_round_trip_unchanged)
{
    register_all();
    json_t *want = ck_test_load_json(ck_test_data("custom/lambda_config.json"));
    ck_model *m = load("custom/model.h5");
    static const char *const saved[] = {"custom_rt.h5", "custom_rt.keras", "custom_rt.json"};
    for (int f = 0; f < 4; f++) {
        const char *name;
        json_t *entry;
        json_object_foreach(want, name, entry) {
            ck_layer *l = NULL;
            cr_assert_eq(ck_model_get_layer(m, name, &l), CK_OK);
            char *text = NULL;
            cr_assert_eq(ck_layer_get_config(l, &text), CK_OK, "%s", ck_last_error());
            json_t *got = json_loads(text, 0, NULL);
            cr_assert(got);
            cr_expect(json_equal(got, entry), "round %d, %s: config %s", f, name, text);
            json_decref(got);
            ck_free(text);
        }
        if (f == 3) break;
        char path[512];
        snprintf(path, sizeof path, "%s", ck_test_tmp(saved[f]));
        cr_assert_eq(ck_model_save(m, path), CK_OK, "%s: %s", saved[f], ck_last_error());
        ck_model *back = NULL;
        cr_assert_eq(ck_model_load(path, &back), CK_OK, "%s: %s", saved[f], ck_last_error());
        if (f < 2) expect_prediction(back, "y.npy", saved[f]); /* the .json has fresh weights */
        ck_model_free(m);
        m = back;
    }
    ck_model_free(m);
    json_decref(want);
}

/* A .keras archive written by ckeras names the user class as tf.keras 2.15
 * does (module null, registered_name the class name), so that
 * load_model(custom_objects=...) finds it, and keeps the weight paths
 * ("layers/scaled_dense/vars/0"). */
Test(custom_layers, keras_archive_keeps_the_class_ids)
{
    register_all();
    ck_model *m = load("custom/model.h5");
    char path[512];
    snprintf(path, sizeof path, "%s", ck_test_tmp("custom_ids.keras"));
    cr_assert_eq(ck_model_save(m, path), CK_OK, "%s", ck_last_error());
    ck_keras_archive *a = NULL;
    cr_assert_eq(ck_keras_archive_read(path, &a), CK_OK, "%s", ck_last_error());
    json_t *root = json_loads(a->config_json, 0, NULL);
    cr_assert(root);
    json_t *layers = json_object_get(json_object_get(root, "config"), "layers");
    int seen = 0;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *e = json_array_get(layers, i);
        const char *cls = json_string_value(json_object_get(e, "class_name"));
        if (strcmp(cls, "ScaledDense") == 0) {
            cr_expect(json_is_null(json_object_get(e, "module")));
            cr_expect_str_eq(json_string_value(json_object_get(e, "registered_name")), "ScaledDense");
            seen++;
        } else if (strcmp(cls, "Lambda") == 0) {
            cr_expect_str_eq(json_string_value(json_object_get(e, "module")), "keras.layers");
            cr_expect(json_is_null(json_object_get(e, "registered_name")));
            seen++;
        }
    }
    cr_expect_eq(seen, 3);
    cr_expect_not_null(ck_keras_archive_find(a, "layers/scaled_dense/vars/0"));
    cr_expect_not_null(ck_keras_archive_find(a, "layers/scaled_dense/vars/1"));
    json_decref(root);
    ck_keras_archive_free(a);
    ck_model_free(m);
}

/* One SGD(0.1) step on mse, as tf.keras' train_on_batch made it. */
Test(custom_layers, training_step_matches_tf_keras)
{
    register_all();
    ck_model *m = load("custom/model.h5");
    ck_compile_opts co = {.optimizer = "{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 0.1}}",
                          .loss = "mse"};
    cr_assert_eq(ck_model_compile(m, &co), CK_OK, "%s", ck_last_error());
    ck_tensor *x = fixture("x.npy"), *t = fixture("fit_t.npy");
    cr_assert_eq(ck_model_train_on_batch(m, 1, &x, 1, &t, NULL, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor **w = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &w, &n), CK_OK);
    cr_assert_eq(n, 4);
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "fit_w%d.npy", i);
        ck_tensor *want = fixture(name);
        double diff = ck_test_max_abs_diff(w[i], want);
        cr_expect_leq(diff, 1e-5, "weight %d after one step differs from tf.keras by %g", i, diff);
        ck_tensor_free(want);
    }
    ck_tensors_free(w, n);
    ck_tensor_free(x);
    ck_tensor_free(t);
    ck_model_free(m);
}

static ck_layer *from_config(const char *json)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(json, &l), CK_OK, "%s: %s", json, ck_last_error());
    return l;
}

/* The users' backwards against float64 central differences. */
Test(custom_layers, gradcheck_of_user_backwards)
{
    register_all();
    static const char *const configs[] = {
        "{\"class_name\": \"ScaledDense\", \"config\": {\"name\": \"sd\", \"dtype\": \"float64\", "
        "\"units\": 3, \"scale\": 0.5}}",
        "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"n\", \"dtype\": \"float64\", "
        "\"function\": \"normalize\", \"function_type\": \"function\", \"arguments\": {}}}",
        "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"lambda\", \"dtype\": \"float64\", "
        "\"function\": \"<lambda>\", \"function_type\": \"function\", \"arguments\": {\"alpha\": 0.3}}}",
    };
    double xs[12];
    for (int i = 0; i < 12; i++) xs[i] = 0.37 * (i % 5) - 0.61 + 0.05 * i;
    for (int c = 0; c < 3; c++) {
        ck_layer *l = from_config(configs[c]);
        ck_tensor *x = ck_test_f64(2, (int64_t[]){3, 4}, xs);
        long checked = ck_test_gradcheck(l, 1, &x, 1, 1e-6);
        cr_expect_geq(checked, 12, "%s: %ld values", configs[c], checked);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* Once planned, predicting the model allocates nothing (the Lambda's
 * scratch comes with the plan). */
Test(custom_layers, predict_into_allocates_nothing)
{
    register_all();
    ck_model *m = load("custom/model.h5");
    ck_tensor *x = fixture("x.npy"), *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 4), CK_OK, "%s", ck_last_error());
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, 1, &x, outs, 4), CK_OK);
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 1, &x, outs, 4);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s", ck_last_error());
    cr_expect_eq(attempts, 0, "%ld allocation(s) in steady state", attempts);
    ck_tensor *want = fixture("y.npy");
    cr_expect_leq(ck_test_max_abs_diff(y, want), 1e-5);
    ck_tensor_free(want);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
}

static void expect_load_error(const char *rel, ck_status want, const char *fragment)
{
    ck_model *m = NULL;
    ck_status st = ck_model_load(ck_test_data(rel), &m);
    cr_expect_eq(st, want, "%s: %s", rel, ck_last_error());
    cr_expect(strstr(ck_last_error(), fragment) != NULL, "%s: '%s' lacks '%s'", rel, ck_last_error(), fragment);
    cr_expect_null(m);
}

Test(custom_layers, unregistered_implementations_are_named)
{
    ck_custom_registry_reset();
    expect_load_error("custom/model.h5", CK_NOT_IMPLEMENTED,
                      "Lambda layer 'l2norm' (function 'normalize'): register an implementation with "
                      "ck_register_lambda()");
    cr_assert_eq(ck_register_lambda("normalize", &normalize_impl), CK_OK);
    expect_load_error("custom/model.keras", CK_NOT_IMPLEMENTED,
                      "Unknown layer class 'ScaledDense': ckeras does not implement it; register a C "
                      "implementation with ck_register_layer_class()");
    cr_assert_eq(ck_register_layer_class(&scaled_dense_impl), CK_OK);
    expect_load_error("custom/model.h5", CK_NOT_IMPLEMENTED,
                      "Lambda layer 'lambda' (an anonymous lambda): register an implementation");
    expect_load_error("custom/k3_model.keras", CK_NOT_IMPLEMENTED, "Lambda layer 'lambda' (an anonymous lambda)");
    /* Registered under the layer's name, the anonymous one loads. */
    cr_assert_eq(ck_register_lambda("lambda", &affine_impl), CK_OK);
    ck_model_free(load("custom/model.h5"));
    /* Unregistering leaves the loaded layers alone but stops new loads. */
    ck_model *m = load("custom/model.h5");
    cr_assert_eq(ck_unregister_lambda("normalize"), CK_OK);
    expect_load_error("custom/model.h5", CK_NOT_IMPLEMENTED, "(function 'normalize')");
    expect_prediction(m, "y.npy", "after unregistering");
    ck_model_free(m);
}

Test(custom_layers, registration_errors)
{
    ck_custom_registry_reset();
    ck_custom_layer_class c = scaled_dense_impl;
    c.class_name = "Dense";
    cr_expect_eq(ck_register_layer_class(&c), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "'Dense' is a built-in layer class") != NULL, "%s", ck_last_error());
    c.class_name = "Lambda";
    cr_expect_eq(ck_register_layer_class(&c), CK_VALUE_ERROR);
    c.class_name = NULL;
    cr_expect_eq(ck_register_layer_class(&c), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "non-empty name") != NULL, "%s", ck_last_error());
    c = scaled_dense_impl;
    c.version = 2;
    cr_expect_eq(ck_register_layer_class(&c), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "version is 2, expected CK_CUSTOM_LAYER_VERSION (1)") != NULL, "%s",
              ck_last_error());
    c = scaled_dense_impl;
    c.call = NULL;
    cr_expect_eq(ck_register_layer_class(&c), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "has no call function") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_register_layer_class(&scaled_dense_impl), CK_OK);
    cr_expect_eq(ck_register_layer_class(&scaled_dense_impl), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "'ScaledDense' is already registered") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_register_lambda("", &normalize_impl), CK_VALUE_ERROR);
    cr_expect_eq(ck_unregister_lambda("nothing"), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "no Lambda implementation is registered as 'nothing'") != NULL, "%s",
              ck_last_error());
    cr_expect_eq(ck_unregister_layer_class("ScaledDense"), CK_OK);
    cr_expect_eq(ck_unregister_layer_class("ScaledDense"), CK_VALUE_ERROR);
}

/* register_keras_serializable's "Package>Name" matches either way; a class
 * made in C reports its state through get_config. */
Test(custom_layers, package_names_and_c_made_layers)
{
    ck_custom_registry_reset();
    ck_custom_layer_class c = scaled_dense_impl;
    c.class_name = "Custom>ScaledDense";
    cr_assert_eq(ck_register_layer_class(&c), CK_OK);
    cr_assert_eq(ck_register_lambda("normalize", &normalize_impl), CK_OK);
    cr_assert_eq(ck_register_lambda("lambda", &affine_impl), CK_OK);
    ck_model *m = load("custom/model.h5");
    expect_prediction(m, "y.npy", "a package-prefixed registration");
    ck_model_free(m);

    ck_layer *l = from_config("{\"class_name\": \"Custom>ScaledDense\", \"config\": {\"units\": 2}}");
    cr_expect_str_eq(ck_layer_class_name(l), "Custom>ScaledDense");
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"name\": \"scaled_dense\"") && strstr(text, "\"units\": 2") &&
              strstr(text, "\"scale\": 1}"), "%s", text);
    ck_free(text);
    float xv[3] = {1, 2, 3};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 3}, xv);
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(y->rank, 2);
    cr_expect_eq(y->shape[1], 2);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_layer_free(l);
    ck_layer *bad = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"ScaledDense\", \"config\": {\"units\": 0}}", &bad),
                 CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "units must be >= 1") != NULL, "%s", ck_last_error());
    cr_expect_null(bad);
}

Test(custom_layers, config_number)
{
    double v = 0;
    cr_expect_eq(ck_config_number("{\"arguments\": {\"alpha\": 0.25}, \"on\": true}", "arguments.alpha", &v), CK_OK);
    cr_expect_eq(v, 0.25);
    cr_expect_eq(ck_config_number("{\"on\": true}", "on", &v), CK_OK);
    cr_expect_eq(v, 1.0);
    cr_expect_eq(ck_config_number("{\"a\": \"x\"}", "a", &v), CK_VALUE_ERROR);
    cr_expect_eq(ck_config_number("{\"a\": {}}", "a.b.c", &v), CK_VALUE_ERROR);
    cr_expect_eq(ck_config_number("{", "a", &v), CK_FORMAT_ERROR);
}

/* A tf.keras Lambda config written under Python 3.8-3.10 (six header ints
 * in the marshalled code object; an anonymous lambda from a public model
 * config), the same with its code name changed to "normaliz", and a
 * truncated one. */
#define PY310_LAMBDA                                                                              \
    "4wEAAAAAAAAAAAAAAAEAAAABAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA+h88\\n"           \
    "aXB5dGhvbi1pbnB1dC0xMi02ZGI4ZTVhZTA2ZGE+2gg8bGFtYmRhPggAAADzAAAAAA==\\n"
#define PY310_NAMED                                                                               \
    "4wEAAAAAAAAAAAAAAAEAAAABAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA+h88aXB5dGhvbi1pbnB1dC0x" \
    "Mi02ZGI4ZTVhZTA2ZGE+2ghub3JtYWxpeggAAADzAAAAAA=="
#define LAMBDA_CONFIG(name, code)                                                                 \
    "{\"class_name\": \"Lambda\", \"config\": {\"name\": \"" name "\", \"trainable\": true, "   \
    "\"dtype\": \"float32\", \"function\": [\"" code "\", null, null], \"function_type\": "      \
    "\"lambda\", \"module\": \"__main__\", \"output_shape\": [2], \"output_shape_type\": "      \
    "\"raw\", \"output_shape_module\": null, \"arguments\": {}}}"

Test(custom_layers, lambda_names_from_older_pythons)
{
    ck_custom_registry_reset();
    ck_layer *l = NULL;
    cr_expect_eq(ck_layer_from_config(LAMBDA_CONFIG("uZDNyc3Q0bmR9", PY310_LAMBDA), &l), CK_NOT_IMPLEMENTED);
    cr_expect_str_eq(ck_last_error(), "Lambda layer 'uZDNyc3Q0bmR9' (an anonymous lambda): register an "
                                      "implementation with ck_register_lambda()");
    cr_expect_eq(ck_layer_from_config(LAMBDA_CONFIG("lambda_3", PY310_NAMED), &l), CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "Lambda layer 'lambda_3' (function 'normaliz')") != NULL, "%s",
              ck_last_error());
    cr_expect_eq(ck_layer_from_config(LAMBDA_CONFIG("lambda_4", "4wEAAAAAAAAAAAAAAAEAAAABAAAAQwAAAHMEAAAA"), &l),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "Lambda layer 'lambda_4' (function unknown)") != NULL, "%s", ck_last_error());
    cr_expect_null(l);

    /* Registered, it loads; the fixed output_shape gives the output shape
     * (the batch dim prepended) and the config comes back as it was. */
    cr_assert_eq(ck_register_lambda("normaliz", &normalize_impl), CK_OK);
    l = from_config(LAMBDA_CONFIG("lambda_3", PY310_NAMED));
    ck_shape out;
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 2), &out), CK_OK);
    cr_expect_eq(out.rank, 2);
    cr_expect_eq(out.dims[0], -1);
    cr_expect_eq(out.dims[1], 2);
    ck_layer_free(l);
    ck_test_round_trip(LAMBDA_CONFIG("lambda_3", PY310_NAMED), NULL);
}

static ck_status load_for_faults(void *ctx)
{
    return ck_model_load(ck_test_data("custom/model.keras"), (ck_model **)ctx);
}

static void free_loaded(void *ctx)
{
    ck_model_free(*(ck_model **)ctx);
    *(ck_model **)ctx = NULL;
}

/* Every allocation of a load with user-defined layers (theirs included)
 * failing in turn: CK_OUT_OF_MEMORY, nothing leaked. */
Test(custom_layers, loading_survives_every_allocation_failure)
{
    register_all();
    ck_model *m = NULL;
    long points = ck_test_every_allocation_fails(load_for_faults, free_loaded, &m);
    cr_expect_gt(points, 50, "%ld failure points", points);
}

/* Registration is thread-safe: threads registering and unregistering their
 * own names while another loads the model (whose classes stay registered)
 * leave every call successful and the registry consistent. */
static void *churn(void *arg)
{
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "churn_%d_%d", (int)(intptr_t)arg, i % 7);
        if (ck_register_lambda(name, &affine_impl) != CK_OK || ck_unregister_lambda(name) != CK_OK)
            return (void *)1;
    }
    return NULL;
}

static void *load_repeatedly(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        ck_model *m = NULL;
        if (ck_model_load(ck_test_data("custom/model.h5"), &m) != CK_OK) return (void *)1;
        ck_model_free(m);
    }
    return NULL;
}

Test(custom_layers, registry_is_thread_safe)
{
    register_all();
    pthread_t t[4];
    for (int i = 0; i < 3; i++) cr_assert_eq(pthread_create(&t[i], NULL, churn, (void *)(intptr_t)i), 0);
    cr_assert_eq(pthread_create(&t[3], NULL, load_repeatedly, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        cr_expect_null(r, "thread %d failed", i);
    }
    cr_expect_eq(ck_unregister_lambda("churn_0_0"), CK_VALUE_ERROR); /* all gone again */
    cr_expect_eq(ck_unregister_lambda("normalize"), CK_OK);          /* the others intact */
}

/* A frozen user layer gets no gradient accumulators (ck_weight_grad is
 * NULL): its weights stay, the Dense before it moves as tf.keras moved it
 * (one step's Dense gradient does not depend on ScaledDense's freezing). */
Test(custom_layers, frozen_user_layer_keeps_its_weights)
{
    register_all();
    ck_model *m = load("custom/model.h5");
    ck_layer *scaled = NULL;
    cr_assert_eq(ck_model_get_layer(m, "scaled", &scaled), CK_OK);
    ck_layer_set_trainable(scaled, 0);
    ck_tensor **before = NULL, **after = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(scaled, &before, &n), CK_OK);
    ck_compile_opts co = {.optimizer = "{\"class_name\": \"SGD\", \"config\": {\"learning_rate\": 0.1}}",
                          .loss = "mse"};
    cr_assert_eq(ck_model_compile(m, &co), CK_OK, "%s", ck_last_error());
    ck_tensor *x = fixture("x.npy"), *t = fixture("fit_t.npy");
    cr_assert_eq(ck_model_train_on_batch(m, 1, &x, 1, &t, NULL, NULL), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_get_weights(scaled, &after, &n), CK_OK);
    for (int i = 0; i < n; i++) cr_expect_eq(ck_test_max_abs_diff(before[i], after[i]), 0.0);
    ck_layer *dense = NULL;
    cr_assert_eq(ck_model_get_layer(m, "dense", &dense), CK_OK);
    ck_tensor *kernel = fixture("fit_w0.npy");
    cr_expect_leq(ck_test_max_abs_diff(ck_weight_value(ck_layer_weight(dense, 0)), kernel), 1e-5);
    ck_tensor_free(kernel);
    ck_tensors_free(before, n);
    ck_tensors_free(after, n);
    ck_tensor_free(x);
    ck_tensor_free(t);
    ck_model_free(m);
}

/* A class called on a list of two tensors: y = a * b, built into a
 * functional model in C, predicted, gradient-checked, saved as JSON and
 * read back. */
static ck_status product_call(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out)
{
    (void)ctx, (void)n;
    for (int64_t i = 0; i < out->size; i++) set_at(out, i, get_at(in[0], i) * get_at(in[1], i));
    return CK_OK;
}

static ck_status product_backward(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, const ck_tensor *out,
                                  const ck_tensor *dout, ck_tensor *const *din)
{
    (void)ctx, (void)n, (void)out;
    for (int64_t i = 0; i < dout->size; i++) {
        if (din[0]) set_at(din[0], i, get_at(dout, i) * get_at(in[1], i));
        if (din[1]) set_at(din[1], i, get_at(dout, i) * get_at(in[0], i));
    }
    return CK_OK;
}

Test(custom_layers, two_input_class)
{
    ck_custom_registry_reset();
    ck_custom_layer_class product = {.version = CK_CUSTOM_LAYER_VERSION, .class_name = "Product", .n_inputs = 2,
                                     .call = product_call, .backward = product_backward};
    cr_assert_eq(ck_register_layer_class(&product), CK_OK);
    ck_tensor *a = NULL, *b = NULL, *y = NULL;
    cr_assert_eq(ck_input(&a, &(ck_input_opts){.shape = {1, {3}}}), CK_OK);
    cr_assert_eq(ck_input(&b, &(ck_input_opts){.shape = {1, {3}}}), CK_OK);
    ck_layer *p = from_config("{\"class_name\": \"Product\", \"config\": {\"name\": \"prod\"}}");
    ck_tensor *one[1] = {a};
    cr_expect_eq(ck_layer_apply(p, 1, one, &y), CK_VALUE_ERROR);
    ck_tensor *ab[2] = {a, b};
    cr_assert_eq(ck_layer_apply(p, 2, ab, &y), CK_OK, "%s", ck_last_error());
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, ab, 1, &y, "pm"), CK_OK, "%s", ck_last_error());
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {0.5f, -1, 2, 0, 1, -2};
    ck_tensor *xa = ck_test_f32(2, (int64_t[]){2, 3}, av), *xb = ck_test_f32(2, (int64_t[]){2, 3}, bv), *out = NULL;
    ck_tensor *xs[2] = {xa, xb};
    cr_assert_eq(ck_model_predict(m, 2, xs, &out, 0), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < 6; i++) cr_expect_eq(ck_tensor_get(out, i), av[i] * bv[i]);
    char *json = NULL;
    cr_assert_eq(ck_model_to_json(m, &json), CK_OK);
    ck_model *back = NULL;
    cr_assert_eq(ck_model_from_json(json, &back), CK_OK, "%s", ck_last_error());
    ck_tensor *out2 = NULL;
    cr_assert_eq(ck_model_predict(back, 2, xs, &out2, 0), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_test_max_abs_diff(out, out2), 0.0);

    ck_layer *p64 = from_config("{\"class_name\": \"Product\", \"config\": {\"dtype\": \"float64\"}}");
    double dv[6] = {0.3, -1.2, 0.7, 2.0, -0.4, 1.1};
    ck_tensor *da = ck_test_f64(2, (int64_t[]){2, 3}, dv), *db = ck_test_f64(2, (int64_t[]){2, 3}, dv + 0);
    for (int i = 0; i < 6; i++) ((double *)db->data)[i] = dv[5 - i];
    ck_tensor *ds[2] = {da, db};
    cr_expect_geq(ck_test_gradcheck(p64, 2, ds, 1, 1e-6), 12);
    ck_free(json);
    ck_tensor_free(da);
    ck_tensor_free(db);
    ck_tensor_free(xa);
    ck_tensor_free(xb);
    ck_tensor_free(out);
    ck_tensor_free(out2);
    ck_layer_free(p64);
    ck_model_free(back);
    ck_model_free(m);
    ck_layer_free(p);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
}
