/* "hard_sigmoid" means clip(0.2 x + 0.5, 0, 1) in tf.keras 2.x / Keras
 * 1-2 and relu6(x + 3) / 6 in Keras 3 (tools/gen_hard_sigmoid_goldens.py
 * -> tests/data/params/hard_sigmoid): a Keras 3.15 .keras and .h5 model (LSTM
 * recurrent_activation, Dense activation, Dense hard_silu) and a tf.keras
 * 2.15 .h5 model each predict like the Keras that saved them; bare
 * configs are read by their dialect; saving keeps each function (Keras 3's
 * is written as Keras 3's function object, which tf.keras refuses rather
 * than computing the other function); the derivative of Keras 3's passes
 * a gradient check. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/gradcheck.h"
#include "support/support.h"

static ck_tensor *npy(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "params/hard_sigmoid/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void expect_close(const char *what, const ck_tensor *got, const ck_tensor *want)
{
    cr_assert_eq(got->size, want->size, "%s: size", what);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= 1e-5, "%s[%lld]: got %.8g, Keras %.8g", what, (long long)i, g, e);
    }
}

/* Predicts the file's outputs and compares them with <tag>_y<k>. */
static void predict_like_keras(const char *path, const char *tag, int n_out)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    ck_tensor *x = npy("x"), *y[3] = {0};
    cr_assert_eq(ck_model_predict(m, 1, &x, y, 0), CK_OK, "%s: %s", path, ck_last_error());
    for (int k = 0; k < n_out; k++) {
        char name[32], what[4200];
        snprintf(name, sizeof name, "%s_y%d", tag, k);
        snprintf(what, sizeof what, "%s output %d", path, k);
        ck_tensor *want = npy(name);
        expect_close(what, y[k], want);
        ck_tensor_free(want);
        ck_tensor_free(y[k]);
    }
    ck_tensor_free(x);
    ck_model_free(m);
}

/* The file predicts like Keras, and so does what ckeras saves of it, as
 * .h5 and as .keras. */
static void load_save_reload(const char *file, const char *tag, int n_out)
{
    char rel[128], path[4096];
    snprintf(rel, sizeof rel, "params/hard_sigmoid/%s", file);
    snprintf(path, sizeof path, "%s", ck_test_data(rel));
    predict_like_keras(path, tag, n_out);
    const char *ext[2] = {"h5", "keras"};
    for (int i = 0; i < 2; i++) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s", ck_last_error());
        char saved[64], out[4096];
        snprintf(saved, sizeof saved, "hard_sigmoid_%s.%s", tag, ext[i]);
        snprintf(out, sizeof out, "%s", ck_test_tmp(saved));
        cr_assert_eq(ck_model_save(m, out), CK_OK, "%s: %s", out, ck_last_error());
        ck_model_free(m);
        predict_like_keras(out, tag, n_out);
    }
}

Test(hard_sigmoid_dialects, keras3_keras_file_uses_keras3_function)
{
    load_save_reload("k3_model.keras", "k3", 3);
}

Test(hard_sigmoid_dialects, keras3_h5_file_uses_keras3_function)
{
    load_save_reload("k3_model.h5", "k3", 3);
}

Test(hard_sigmoid_dialects, tf_keras_h5_file_uses_tf_keras_function)
{
    load_save_reload("tf2_model.h5", "tf2", 2);
}

/* The activation a layer of the model writes back, as JSON text. */
static char *written_activation(ck_model *m, const char *layer, const char *key)
{
    char *text = NULL;
    cr_assert_eq(ck_model_to_json(m, &text), CK_OK, "%s", ck_last_error());
    json_t *root = json_loads(text, 0, NULL);
    ck_free(text);
    const json_t *layers = json_object_get(json_object_get(root, "config"), "layers");
    char *found = NULL;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *l = json_array_get(layers, i);
        if (strcmp(json_string_value(json_object_get(json_object_get(l, "config"), "name")), layer) == 0)
            found = json_dumps(json_object_get(json_object_get(l, "config"), key), JSON_ENCODE_ANY | JSON_SORT_KEYS);
    }
    json_decref(root);
    cr_assert(found, "no layer %s", layer);
    return found;
}

static ck_model *from_config_file(const char *file)
{
    char rel[128];
    snprintf(rel, sizeof rel, "params/hard_sigmoid/%s", file);
    json_t *j = ck_test_load_json(ck_test_data(rel));
    char *text = json_dumps(j, 0);
    json_decref(j);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(text, &m), CK_OK, "%s: %s", file, ck_last_error());
    free(text);
    return m;
}

#define K3_FUNCTION                                                                                                  \
    "{\"class_name\": \"function\", \"config\": \"hard_sigmoid\", \"module\": \"keras.activations\", "             \
    "\"registered_name\": \"function\"}"

Test(hard_sigmoid_dialects, bare_configs_are_read_by_their_dialect)
{
    /* Keras 3's to_json() has no keras_version: its marks tell */
    ck_model *m = from_config_file("k3_config.json");
    char *a = written_activation(m, "dense", "activation"), *r = written_activation(m, "lstm", "recurrent_activation");
    cr_expect_str_eq(a, K3_FUNCTION);
    cr_expect_str_eq(r, K3_FUNCTION);
    free(a);
    free(r);
    a = written_activation(m, "dense_silu", "activation");
    cr_expect_str_eq(a, "\"hard_silu\"");
    free(a);
    /* what ckeras wrote reads back as Keras 3's function, in either dialect */
    char *text = NULL;
    cr_assert_eq(ck_model_to_json(m, &text), CK_OK);
    ck_model *again = NULL;
    cr_assert_eq(ck_model_from_json(text, &again), CK_OK, "%s", ck_last_error());
    a = written_activation(again, "dense", "activation");
    cr_expect_str_eq(a, K3_FUNCTION);
    free(a);
    ck_free(text);
    ck_model_free(again);
    ck_model_free(m);

    m = from_config_file("tf2_config.json");
    a = written_activation(m, "dense", "activation");
    r = written_activation(m, "lstm", "recurrent_activation");
    cr_expect_str_eq(a, "\"hard_sigmoid\"");
    cr_expect_str_eq(r, "\"hard_sigmoid\"");
    free(a);
    free(r);
    ck_model_free(m);
}

/* A layer config alone: Keras 3's DTypePolicy dtype marks it. */
Test(hard_sigmoid_dialects, single_layer_configs)
{
    const char *k3 = "{\"module\": \"keras.layers\", \"class_name\": \"Activation\", \"config\": {\"name\": \"a\", "
                     "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", "
                     "\"config\": {\"name\": \"float32\"}, \"registered_name\": null}, \"activation\": "
                     "\"hard_sigmoid\"}, \"registered_name\": null}";
    const char *tf2 = "{\"module\": \"keras.layers\", \"class_name\": \"Activation\", \"config\": {\"name\": \"a\", "
                      "\"trainable\": true, \"dtype\": \"float32\", \"activation\": \"hard_sigmoid\"}, "
                      "\"registered_name\": null}";
    double v[4] = {-4, -1, 2, 2.75}, k3_want[4] = {0, 2.0 / 6, 5.0 / 6, 5.75 / 6}, tf2_want[4] = {0, 0.3, 0.9, 1};
    const char *texts[2] = {k3, tf2};
    const double *wants[2] = {k3_want, tf2_want};
    for (int k = 0; k < 2; k++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(texts[k], &l), CK_OK, "%s", ck_last_error());
        ck_tensor *x = ck_test_f32(1, (int64_t[]){4}, (float[]){-4, -1, 2, 2.75f}), *y = NULL;
        cr_assert_eq(ck_layer_call(l, 1, &x, &y), CK_OK, "%s", ck_last_error());
        for (int i = 0; i < 4; i++)
            cr_expect(fabs(ck_tensor_get(y, i) - wants[k][i]) < 1e-6, "%s: hard_sigmoid(%g) = %g, want %g",
                      k ? "tf.keras" : "Keras 3", v[i], ck_tensor_get(y, i), wants[k][i]);
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_layer_free(l);
    }
    /* the C API means tf.keras' */
    ck_activation *a = NULL;
    cr_assert_eq(ck_activation_new(&a, "hard_sigmoid", NULL), CK_OK);
    ck_tensor *x = ck_test_f32(1, (int64_t[]){1}, (float[]){2}), *y = NULL;
    cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, 1, (int64_t[]){1}), CK_OK);
    cr_assert_eq(ck_activation_apply(a, x, y), CK_OK);
    cr_expect_float_eq(ck_tensor_get(y, 0), 0.9, 1e-6);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_activation_free(a);
}

/* The derivative of Keras 3's function: 1/6 inside (-3, 3), 0 outside. */
Test(hard_sigmoid_dialects, keras3_derivative_passes_gradient_check)
{
    const char *cfg = "{\"class_name\": \"Activation\", \"config\": {\"name\": \"a\", \"dtype\": \"float64\", "
                      "\"activation\": {\"module\": \"keras.activations\", \"class_name\": \"function\", "
                      "\"config\": \"hard_sigmoid\", \"registered_name\": \"function\"}}}";
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(cfg, &l), CK_OK, "%s", ck_last_error());
    double v[6] = {-4, -2.5, -0.3, 0.7, 2.9, 3.5};
    ck_tensor *x = ck_test_f64(2, (int64_t[]){2, 3}, v);
    cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-7), 0);
    ck_tensor_free(x);
    ck_layer_free(l);
}
