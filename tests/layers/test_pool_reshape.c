/* Pooling and reshaping layers: MaxPooling1D / 3D, AveragePooling1D / 2D /
 * 3D, the global poolings, UpSampling1D / 2D / 3D, ZeroPadding and Cropping
 * 1D / 2D / 3D, RepeatVector, Permute, LayerNormalization.
 * - TF 2.15.1 goldens (tools/gen_pool_reshape_goldens.py): outputs, input
 *   gradients and weight gradients of every case in
 *   tests/data/layers/pool_reshape/cases.json, whose tf.keras get_config
 *   text each layer must write back;
 * - the float64 gradient check of every case;
 * - configs in the Keras 1 and Keras 3 dialects, the option-struct
 *   constructors against tf.keras' defaults, Keras' error messages, and
 *   failing allocations. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "model/model.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *fixture(const char *name, const char *key)
{
    char rel[256];
    snprintf(rel, sizeof rel, "layers/pool_reshape/%s_%s.npy", name, key);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static json_t *cases(void) { return ck_test_load_json(ck_test_data("layers/pool_reshape/cases.json")); }

static ck_layer *from_text(const char *text)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    return l;
}

/* get_config(from_config(text)) must be `want`. */
static void expect_config(const char *text, const char *want)
{
    ck_layer *l = from_text(text);
    char *got = ck_test_config_of(l);
    cr_expect_str_eq(got, want, "from %s", text);
    ck_free(got);
    ck_layer_free(l);
}

/* ---- against TF ------------------------------------------------------------------ */

Test(pool_reshape, tf_goldens)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *config = json_string_value(json_object_get(c, "config"));
        int nw = (int)json_integer_value(json_object_get(c, "weights"));
        ck_layer *l = from_text(config);
        ck_tensor *x = fixture(name, "x"), *dy = fixture(name, "dy"), *y = fixture(name, "y");
        ck_tensor *dx = fixture(name, "dx");
        ck_shape is = ck_tensor_shape(x);
        cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s: %s", name, ck_last_error());
        ck_tensor *w[4] = {NULL}, *dw[4] = {NULL};
        char key[16];
        for (int j = 0; j < nw; j++) {
            snprintf(key, sizeof key, "w%d", j);
            w[j] = fixture(name, key);
            snprintf(key, sizeof key, "dw%d", j);
            dw[j] = fixture(name, key);
        }
        if (nw) cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s: %s", name, ck_last_error());
        /* The built layer writes tf.keras' get_config text. */
        char *text = ck_test_config_of(l);
        cr_expect_str_eq(text, config, "%s", name);
        ck_free(text);
        /* Inference. */
        ck_tensor *got = ck_test_call1(l, x);
        char what[64];
        snprintf(what, sizeof what, "%s y", name);
        ck_test_expect_close_rel(got, y, 1e-5, what);
        ck_tensor_free(got);
        /* Training step: output, input gradient, weight gradients. */
        ck_test_step s;
        ck_test_train_step(l, x, dy, 1, 1, &s);
        ck_test_expect_close_rel(s.y, y, 1e-5, what);
        snprintf(what, sizeof what, "%s dx", name);
        ck_test_expect_close_rel(s.dx, dx, 1e-5, what);
        cr_expect_eq(s.n_grads, nw, "%s", name);
        for (int j = 0; j < nw && j < s.n_grads; j++) {
            snprintf(what, sizeof what, "%s dw%d", name, j);
            ck_test_expect_close_rel(s.grads[j], dw[j], 1e-5, what);
        }
        ck_test_step_free(&s);
        for (int j = 0; j < nw; j++) {
            ck_tensor_free(w[j]);
            ck_tensor_free(dw[j]);
        }
        ck_tensor_free(x);
        ck_tensor_free(dy);
        ck_tensor_free(y);
        ck_tensor_free(dx);
        ck_layer_free(l);
    }
    cr_expect_geq(json_array_size(all), 60);
    json_decref(all);
}

/* Every case again in float64 through central differences (both modes). */
Test(pool_reshape, gradcheck_every_case)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        json_t *cfg = json_loads(json_string_value(json_object_get(c, "config")), 0, NULL);
        cr_assert(cfg);
        json_object_set_new(json_object_get(cfg, "config"), "dtype", json_string("float64"));
        char *text = json_dumps(cfg, 0);
        ck_layer *l = from_text(text);
        ck_tensor *x32 = fixture(name, "x");
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, x32->rank, x32->shape, -1, 1, 1000 + i);
        if (json_integer_value(json_object_get(c, "weights")) > 0) {
            /* Non-trivial gamma / beta. */
            ck_shape is = ck_tensor_shape(x);
            cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s", ck_last_error());
            ck_tensor *w[2] = {NULL, NULL};
            int nw = (int)json_integer_value(json_object_get(c, "weights"));
            for (int j = 0; j < nw; j++) {
                char key[16];
                snprintf(key, sizeof key, "w%d", j);
                ck_tensor *w32 = fixture(name, key);
                cr_assert_eq(ck_tensor_cast(&w[j], w32, CK_FLOAT64), CK_OK);
                ck_tensor_free(w32);
            }
            cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s", ck_last_error());
            for (int j = 0; j < nw; j++) ck_tensor_free(w[j]);
        }
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", name);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-6), 0, "%s", name);
        ck_tensor_free(x);
        ck_tensor_free(x32);
        ck_layer_free(l);
        free(text);
        json_decref(cfg);
    }
    json_decref(all);
}

/* LayerNormalization's weight gradients add up over calls (shared layer). */
Test(pool_reshape, layer_norm_gradients_accumulate)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_normalization(&l, &(ck_layer_normalization_opts){.naxes = 2, .axes = {1, 2},
                                                                             .dtype = CK_FLOAT64}),
                 CK_OK);
    int64_t xs[3] = {2, 3, 4};
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, xs, -1, 1, 1), *dy = ck_test_uniform(CK_FLOAT64, 3, xs, -1, 1, 2);
    ck_test_step a, b;
    ck_test_train_step(l, x, dy, 1, 1, &a);
    ck_test_train_step(l, x, dy, 1, 1, &b);
    cr_assert_eq(a.n_grads, 2);
    for (int j = 0; j < 2; j++) ck_test_expect_close_rel(a.grads[j], b.grads[j], 0, "repeatable");
    ck_test_step_free(&a);
    ck_test_step_free(&b);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

/* ---- configs: other dialects ---------------------------------------------------- */

#define BASE(name) "\"name\": \"" name "\", \"trainable\": true, \"dtype\": \"float32\""
#define K3_DTYPE                                                                                        \
    "\"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, " \
    "\"registered_name\": null}"

Test(pool_reshape, keras1_configs)
{
    expect_config("{\"class_name\": \"MaxPooling1D\", \"config\": {\"name\": \"m\", \"trainable\": true, "
                  "\"stride\": null, \"pool_length\": 3, \"border_mode\": \"same\"}}",
                  "{\"class_name\": \"MaxPooling1D\", \"config\": {" BASE("m") ", \"strides\": [3], \"pool_size\": "
                  "[3], \"padding\": \"same\", \"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"AveragePooling1D\", \"config\": {\"name\": \"a\", \"trainable\": true, "
                  "\"stride\": 1, \"pool_length\": 2, \"border_mode\": \"valid\"}}",
                  "{\"class_name\": \"AveragePooling1D\", \"config\": {" BASE("a") ", \"strides\": [1], "
                  "\"pool_size\": [2], \"padding\": \"valid\", \"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"AveragePooling2D\", \"config\": {\"name\": \"a\", \"trainable\": true, "
                  "\"pool_size\": [2, 2], \"strides\": [1, 1], \"border_mode\": \"valid\", \"dim_ordering\": "
                  "\"th\"}}",
                  "{\"class_name\": \"AveragePooling2D\", \"config\": {" BASE("a") ", \"pool_size\": [2, 2], "
                  "\"padding\": \"valid\", \"strides\": [1, 1], \"data_format\": \"channels_first\"}}");
    expect_config("{\"class_name\": \"MaxPooling3D\", \"config\": {\"name\": \"m\", \"trainable\": true, "
                  "\"pool_size\": [2, 2, 2], \"strides\": null, \"border_mode\": \"valid\", \"dim_ordering\": "
                  "\"tf\"}}",
                  "{\"class_name\": \"MaxPooling3D\", \"config\": {" BASE("m") ", \"pool_size\": [2, 2, 2], "
                  "\"padding\": \"valid\", \"strides\": [2, 2, 2], \"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"GlobalAveragePooling2D\", \"config\": {\"name\": \"g\", \"trainable\": true, "
                  "\"dim_ordering\": \"th\"}}",
                  "{\"class_name\": \"GlobalAveragePooling2D\", \"config\": {" BASE("g") ", \"data_format\": "
                  "\"channels_first\", \"keepdims\": false}}");
    expect_config("{\"class_name\": \"GlobalMaxPooling1D\", \"config\": {\"name\": \"g\", \"trainable\": true}}",
                  "{\"class_name\": \"GlobalMaxPooling1D\", \"config\": {" BASE("g") ", \"data_format\": "
                  "\"channels_last\", \"keepdims\": false}}");
    expect_config("{\"class_name\": \"UpSampling1D\", \"config\": {\"name\": \"u\", \"trainable\": true, "
                  "\"length\": 3}}",
                  "{\"class_name\": \"UpSampling1D\", \"config\": {" BASE("u") ", \"size\": 3}}");
    expect_config("{\"class_name\": \"UpSampling2D\", \"config\": {\"name\": \"u\", \"trainable\": true, "
                  "\"size\": [2, 3], \"dim_ordering\": \"th\"}}",
                  "{\"class_name\": \"UpSampling2D\", \"config\": {" BASE("u") ", \"size\": [2, 3], "
                  "\"data_format\": \"channels_first\", \"interpolation\": \"nearest\"}}");
    expect_config("{\"class_name\": \"ZeroPadding1D\", \"config\": {\"name\": \"z\", \"trainable\": true, "
                  "\"padding\": 2}}",
                  "{\"class_name\": \"ZeroPadding1D\", \"config\": {" BASE("z") ", \"padding\": [2, 2]}}");
    expect_config("{\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"z\", \"trainable\": true, "
                  "\"padding\": [1, 2], \"dim_ordering\": \"th\"}}",
                  "{\"class_name\": \"ZeroPadding2D\", \"config\": {" BASE("z") ", \"padding\": [[1, 1], [2, 2]], "
                  "\"data_format\": \"channels_first\"}}");
    /* Keras 1.2's (top, bottom, left, right). */
    expect_config("{\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"z\", \"trainable\": true, "
                  "\"padding\": [1, 2, 3, 4], \"dim_ordering\": \"tf\"}}",
                  "{\"class_name\": \"ZeroPadding2D\", \"config\": {" BASE("z") ", \"padding\": [[1, 2], [3, 4]], "
                  "\"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"Cropping2D\", \"config\": {\"name\": \"c\", \"trainable\": true, "
                  "\"cropping\": [[0, 1], [2, 0]], \"dim_ordering\": \"tf\"}}",
                  "{\"class_name\": \"Cropping2D\", \"config\": {" BASE("c") ", \"cropping\": [[0, 1], [2, 0]], "
                  "\"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"Cropping1D\", \"config\": {\"name\": \"c\", \"trainable\": true, "
                  "\"cropping\": [1, 0]}}",
                  "{\"class_name\": \"Cropping1D\", \"config\": {" BASE("c") ", \"cropping\": [1, 0]}}");
    expect_config("{\"class_name\": \"RepeatVector\", \"config\": {\"name\": \"r\", \"trainable\": true, \"n\": 4}}",
                  "{\"class_name\": \"RepeatVector\", \"config\": {" BASE("r") ", \"n\": 4}}");
    expect_config("{\"class_name\": \"Permute\", \"config\": {\"name\": \"p\", \"trainable\": true, \"dims\": [2, 1]}}",
                  "{\"class_name\": \"Permute\", \"config\": {" BASE("p") ", \"dims\": [2, 1]}}");
}

#define LN_TAIL                                                                                         \
    "\"beta_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"gamma_initializer\": "         \
    "{\"class_name\": \"Ones\", \"config\": {}}, \"beta_regularizer\": null, \"gamma_regularizer\": null, " \
    "\"beta_constraint\": null, \"gamma_constraint\": null}}"

Test(pool_reshape, keras3_configs)
{
    expect_config("{\"class_name\": \"MaxPooling1D\", \"config\": {\"name\": \"m\", \"trainable\": true, " K3_DTYPE
                  ", \"pool_size\": [2], \"padding\": \"valid\", \"strides\": [2], \"data_format\": "
                  "\"channels_last\"}}",
                  "{\"class_name\": \"MaxPooling1D\", \"config\": {" BASE("m") ", \"strides\": [2], \"pool_size\": "
                  "[2], \"padding\": \"valid\", \"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"GlobalAveragePooling1D\", \"config\": {\"name\": \"g\", \"trainable\": true, "
                  K3_DTYPE ", \"data_format\": \"channels_last\", \"keepdims\": true}}",
                  "{\"class_name\": \"GlobalAveragePooling1D\", \"config\": {" BASE("g") ", \"data_format\": "
                  "\"channels_last\", \"keepdims\": true}}");
    expect_config("{\"class_name\": \"UpSampling2D\", \"config\": {\"name\": \"u\", \"trainable\": true, " K3_DTYPE
                  ", \"size\": [2, 2], \"data_format\": \"channels_last\", \"interpolation\": \"bilinear\"}}",
                  "{\"class_name\": \"UpSampling2D\", \"config\": {" BASE("u") ", \"size\": [2, 2], "
                  "\"data_format\": \"channels_last\", \"interpolation\": \"bilinear\"}}");
    expect_config("{\"class_name\": \"ZeroPadding2D\", \"config\": {\"name\": \"z\", \"trainable\": true, " K3_DTYPE
                  ", \"padding\": [[1, 1], [2, 2]], \"data_format\": \"channels_last\"}}",
                  "{\"class_name\": \"ZeroPadding2D\", \"config\": {" BASE("z") ", \"padding\": [[1, 1], [2, 2]], "
                  "\"data_format\": \"channels_last\"}}");
    expect_config("{\"class_name\": \"LayerNormalization\", \"config\": {\"name\": \"l\", \"trainable\": true, "
                  K3_DTYPE ", \"axis\": -1, \"epsilon\": 1e-06, \"center\": true, \"scale\": true, \"rms_scaling\": "
                  "false, \"beta_initializer\": {\"module\": \"keras.initializers\", \"class_name\": \"Zeros\", "
                  "\"config\": {}, \"registered_name\": null}, \"gamma_initializer\": {\"module\": "
                  "\"keras.initializers\", \"class_name\": \"Ones\", \"config\": {}, \"registered_name\": null}, "
                  "\"beta_regularizer\": null, \"gamma_regularizer\": null, \"beta_constraint\": null, "
                  "\"gamma_constraint\": null}}",
                  "{\"class_name\": \"LayerNormalization\", \"config\": {" BASE("l") ", \"axis\": -1, \"epsilon\": "
                  "1e-06, \"center\": true, \"scale\": true, " LN_TAIL);
    ck_layer *l = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"LayerNormalization\", \"config\": {\"rms_scaling\": true}}",
                                      &l),
                 CK_NOT_IMPLEMENTED);
}

/* ---- constructors: tf.keras' defaults and options -------------------------------------- */

/* Calls `call` (which sets l) and checks l's config. */
#define expect_made(call, l, want)                                                                      \
    do {                                                                                                \
        ck_status st_ = (call);                                                                         \
        check_made(st_, l, want);                                                                       \
    } while (0)

static void check_made(ck_status st, ck_layer *l, const char *want)
{
    cr_assert_eq(st, CK_OK, "%s", ck_last_error());
    char *got = ck_test_config_of(l);
    cr_expect_str_eq(got, want);
    ck_free(got);
    ck_layer_free(l);
}

#define CFG(cls, name, rest) "{\"class_name\": \"" cls "\", \"config\": {" BASE(name) rest "}}"

Test(pool_reshape, constructors)
{
    ck_layer *l = NULL;
    expect_made(ck_max_pooling1d(&l, &(ck_pooling_opts){.name = "p"}), l,
                CFG("MaxPooling1D", "p", ", \"strides\": [2], \"pool_size\": [2], \"padding\": \"valid\", "
                                         "\"data_format\": \"channels_last\""));
    expect_made(ck_average_pooling2d(&l, &(ck_pooling_opts){.name = "p", .pool_size = {3}, .strides = {1, 2},
                                                            .padding = "same", .data_format = "channels_first"}),
                l,
                CFG("AveragePooling2D", "p", ", \"pool_size\": [3, 3], \"padding\": \"same\", \"strides\": [1, 2], "
                                             "\"data_format\": \"channels_first\""));
    expect_made(ck_average_pooling3d(&l, &(ck_pooling_opts){.name = "p"}), l,
                CFG("AveragePooling3D", "p", ", \"pool_size\": [2, 2, 2], \"padding\": \"valid\", \"strides\": "
                                             "[2, 2, 2], \"data_format\": \"channels_last\""));
    expect_made(ck_global_max_pooling2d(&l, &(ck_global_pooling_opts){.name = "g", .keepdims = true}), l,
                CFG("GlobalMaxPooling2D", "g", ", \"data_format\": \"channels_last\", \"keepdims\": true"));
    expect_made(ck_up_sampling1d(&l, &(ck_up_sampling_opts){.name = "u"}), l, CFG("UpSampling1D", "u", ", \"size\": 2"));
    expect_made(ck_up_sampling2d(&l, &(ck_up_sampling_opts){.name = "u", .interpolation = "bilinear"}), l,
                CFG("UpSampling2D", "u", ", \"size\": [2, 2], \"data_format\": \"channels_last\", "
                                         "\"interpolation\": \"bilinear\""));
    expect_made(ck_up_sampling3d(&l, &(ck_up_sampling_opts){.name = "u", .size = {1, 2, 3}}), l,
                CFG("UpSampling3D", "u", ", \"size\": [1, 2, 3], \"data_format\": \"channels_last\""));
    expect_made(ck_zero_padding1d(&l, &(ck_zero_padding_opts){.name = "z"}), l,
                CFG("ZeroPadding1D", "z", ", \"padding\": [1, 1]"));
    expect_made(ck_zero_padding1d(&l, &(ck_zero_padding_opts){.name = "z", .padding = {{ck_int(3)}}}), l,
                CFG("ZeroPadding1D", "z", ", \"padding\": [3, 3]"));
    expect_made(ck_zero_padding2d(&l, &(ck_zero_padding_opts){.name = "z",
                                                              .padding = {{ck_int(1), ck_int(2)}, {ck_int(0), ck_int(4)}}}),
                l, CFG("ZeroPadding2D", "z", ", \"padding\": [[1, 2], [0, 4]], \"data_format\": \"channels_last\""));
    expect_made(ck_zero_padding3d(&l, &(ck_zero_padding_opts){.name = "z"}), l,
                CFG("ZeroPadding3D", "z", ", \"padding\": [[1, 1], [1, 1], [1, 1]], \"data_format\": "
                                          "\"channels_last\""));
    expect_made(ck_cropping1d(&l, &(ck_cropping_opts){.name = "c"}), l, CFG("Cropping1D", "c", ", \"cropping\": [1, 1]"));
    expect_made(ck_cropping2d(&l, &(ck_cropping_opts){.name = "c"}), l,
                CFG("Cropping2D", "c", ", \"cropping\": [[0, 0], [0, 0]], \"data_format\": \"channels_last\""));
    expect_made(ck_cropping3d(&l, &(ck_cropping_opts){.name = "c", .data_format = "channels_first"}), l,
                CFG("Cropping3D", "c", ", \"cropping\": [[1, 1], [1, 1], [1, 1]], \"data_format\": "
                                       "\"channels_first\""));
    expect_made(ck_repeat_vector(&l, &(ck_repeat_vector_opts){.name = "r", .n = 3}), l,
                CFG("RepeatVector", "r", ", \"n\": 3"));
    expect_made(ck_permute(&l, &(ck_permute_opts){.name = "p", .ndims = 3, .dims = {3, 1, 2}}), l,
                CFG("Permute", "p", ", \"dims\": [3, 1, 2]"));
    expect_made(ck_layer_normalization(&l, &(ck_layer_normalization_opts){.name = "l"}), l,
                "{\"class_name\": \"LayerNormalization\", \"config\": {" BASE("l") ", \"axis\": -1, \"epsilon\": "
                "0.001, \"center\": true, \"scale\": true, " LN_TAIL);
    expect_made(ck_layer_normalization(&l, &(ck_layer_normalization_opts){.name = "l", .naxes = 2, .axes = {1, 2},
                                                                         .epsilon = ck_double(0), .no_center = true}),
                l,
                "{\"class_name\": \"LayerNormalization\", \"config\": {" BASE("l") ", \"axis\": [1, 2], \"epsilon\": "
                "0.0, \"center\": false, \"scale\": true, " LN_TAIL);
    /* NULL options are the defaults. */
    cr_assert_eq(ck_global_average_pooling1d(&l, NULL), CK_OK);
    ck_layer_free(l);
}

/* ---- errors -------------------------------------------------------------------------- */

static void expect_error(const char *text, ck_status st, const char *msg)
{
    ck_layer *l = NULL;
    cr_expect_eq(ck_layer_from_config(text, &l), st, "%s: %s", text, ck_last_error());
    cr_expect(strstr(ck_last_error(), msg) != NULL, "%s: \"%s\" lacks \"%s\"", text, ck_last_error(), msg);
    if (l) ck_layer_free(l);
}

/* Calls a layer from `text` on a zero input of `shape`; expects `msg`. */
static void expect_call_error(const char *text, int rank, const int64_t *shape, const char *msg)
{
    ck_layer *l = from_text(text);
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, rank, shape), CK_OK);
    cr_expect_neq(ck_layer_call(l, 1, &x, &y), CK_OK, "%s", text);
    cr_expect(strstr(ck_last_error(), msg) != NULL, "%s: \"%s\" lacks \"%s\"", text, ck_last_error(), msg);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_layer_free(l);
}

#define K(cls, rest) "{\"class_name\": \"" cls "\", \"config\": {" rest "}}"

Test(pool_reshape, errors)
{
    expect_error(K("MaxPooling1D", "\"pool_size\": 0"), CK_VALUE_ERROR,
                 "The `pool_size` argument must be a tuple of 1 integers. Received: 0 including {0} that does not "
                 "satisfy the requirement `> 0`.");
    expect_error(K("MaxPooling1D", "\"pool_size\": [2, 2]"), CK_VALUE_ERROR,
                 "The `pool_size` argument must be a tuple of 1 integers.");
    expect_error(K("AveragePooling1D", "\"padding\": \"foo\""), CK_VALUE_ERROR,
                 "The `padding` argument must be a list/tuple or one of \"valid\", \"same\" (or \"causal\", only for "
                 "`Conv1D). Received: foo");
    expect_error(K("AveragePooling2D", "\"data_format\": \"foo\""), CK_VALUE_ERROR,
                 "The `data_format` argument must be one of \"channels_first\", \"channels_last\". Received: foo");
    expect_error(K("MaxPooling3D", "\"strides\": [1, 0, 1]"), CK_VALUE_ERROR, "`strides` cannot contain 0(s)");
    expect_error(K("UpSampling2D", "\"interpolation\": \"foo\""), CK_NOT_IMPLEMENTED,
                 "Value not recognized for `interpolation`: foo. Supported values are:");
    expect_error(K("UpSampling2D", "\"interpolation\": \"bicubic\""), CK_NOT_IMPLEMENTED, "bicubic");
    expect_error(K("UpSampling2D", "\"size\": 0"), CK_VALUE_ERROR,
                 "The `size` argument must be a tuple of 2 integers. Received: 0 including {0} that does not "
                 "satisfy the requirement `> 0`.");
    expect_error(K("ZeroPadding2D", "\"padding\": [1, 2, 3]"), CK_VALUE_ERROR,
                 "`padding` should have two elements. Received: [1, 2, 3].");
    expect_error(K("ZeroPadding1D", "\"padding\": -1"), CK_VALUE_ERROR,
                 "The `padding` argument must be a tuple of 2 integers. Received: (-1, -1) including {-1} that does "
                 "not satisfy the requirement `>= 0`.");
    expect_error(K("Cropping2D", "\"cropping\": [1, 2, 3]"), CK_VALUE_ERROR, "`cropping` should have two elements.");
    expect_error(K("Cropping3D", "\"padding\": 1"), CK_TYPE_ERROR, "Keyword argument not understood: 'padding'");
    expect_error(K("RepeatVector", "\"n\": 2.5"), CK_TYPE_ERROR, "Expected an integer value for `n`, got <class "
                                                                 "'float'>.");
    expect_error(K("Permute", "\"dims\": [1, 3]"), CK_VALUE_ERROR,
                 "Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be "
                 "consecutive and start from 1. Received dims=(1, 3)");
    expect_error(K("Permute", "\"dims\": [0, 1]"), CK_VALUE_ERROR, "Received dims=(0, 1)");
    expect_error(K("LayerNormalization", "\"axis\": \"a\""), CK_TYPE_ERROR,
                 "Expected an int or a list/tuple of ints for the argument 'axis', but received: 'a'");

    int64_t s2[2] = {1, 4}, s3[3] = {1, 4, 1}, s4[4] = {1, 4, 4, 1}, s34[4] = {1, 2, 3, 4};
    expect_call_error(K("MaxPooling1D", ""), 2, s2, "expected ndim=3, found ndim=2");
    expect_call_error(K("GlobalMaxPooling1D", ""), 2, s2, "expected ndim=3, found ndim=2");
    expect_call_error(K("GlobalAveragePooling2D", ""), 3, s3, "expected ndim=4, found ndim=3");
    expect_call_error(K("RepeatVector", "\"n\": 2"), 3, s3, "expected ndim=2, found ndim=3");
    expect_call_error(K("Permute", "\"dims\": [2, 1]"), 4, s34, "expected ndim=3, found ndim=4");
    expect_call_error(K("Cropping2D", "\"cropping\": [[3, 3], [0, 0]]"), 4, s4,
                      "Argument `cropping` must be greater than the input shape. Received: inputs.shape=(1, 4, 4, "
                      "1), and cropping=((3, 3), (0, 0))");
    expect_call_error(K("Cropping1D", "\"cropping\": [3, 3]"), 3, s3,
                      "cropping parameter of Cropping layer must be greater than the input shape. Received: "
                      "inputs.shape=(1, 4, 1), and cropping=(3, 3)");
    expect_call_error(K("LayerNormalization", "\"axis\": 5"), 2, s2,
                      "Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank (with inputs.rank=2). "
                      "Received: axis=(5,)");
    expect_call_error(K("LayerNormalization", "\"axis\": [1, 1]"), 2, s2, "Duplicate axis: (1, 1)");
    expect_call_error(K("MaxPooling2D", "\"pool_size\": 6, \"strides\": 1"), 4, s4, "must be >= 0");
    expect_call_error(K("AveragePooling2D", "\"pool_size\": 6, \"strides\": 1"), 4, s4, "must be >= 0");

    /* Option structs. */
    ck_layer *l = NULL;
    cr_expect_eq(ck_repeat_vector(&l, NULL), CK_VALUE_ERROR);
    cr_expect_eq(ck_permute(&l, &(ck_permute_opts){.ndims = 2, .dims = {1, 1}}), CK_VALUE_ERROR);
    cr_expect_eq(ck_up_sampling1d(&l, &(ck_up_sampling_opts){.data_format = "channels_first"}), CK_TYPE_ERROR);
    cr_expect_eq(ck_zero_padding1d(&l, &(ck_zero_padding_opts){.padding = {{ck_int(1)}, {ck_int(1)}}}),
                 CK_VALUE_ERROR);
    cr_expect_eq(ck_cropping2d(&l, &(ck_cropping_opts){.cropping = {{ck_int(-1)}}}), CK_VALUE_ERROR);
    cr_expect_eq(ck_max_pooling1d(&l, &(ck_pooling_opts){.pool_size = {-1}}), CK_VALUE_ERROR);
    cr_expect_null(l);
}

/* GlobalAveragePooling1D accepts a mask and outputs none; GlobalMaxPooling1D
 * refuses one, as Keras. */
Test(pool_reshape, masks)
{
    ck_layer *gap = NULL, *gmp = NULL;
    cr_assert_eq(ck_global_average_pooling1d(&gap, NULL), CK_OK);
    cr_assert_eq(ck_global_max_pooling1d(&gmp, NULL), CK_OK);
    int64_t xs[3] = {1, 3, 2}, ms[2] = {1, 3};
    ck_tensor *x = NULL, *m = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 3, xs), CK_OK);
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 2, ms), CK_OK);
    cr_expect_eq(ck_layer_compute_mask(gap, 1, &x, &m, &out), CK_OK, "%s", ck_last_error());
    cr_expect_null(out);
    cr_expect_eq(ck_layer_compute_mask(gmp, 1, &x, &m, &out), CK_TYPE_ERROR);
    ck_tensor_free(x);
    ck_tensor_free(m);
    ck_layer_free(gap);
    ck_layer_free(gmp);
}

/* ---- allocation failures ----------------------------------------------------------------- */

/* The JSON is parsed before the failures start: a failing parse is
 * jansson's business, the layers' own allocations are under test. */
typedef struct oom_ctx {
    json_t *config;
    ck_layer *layer;
} oom_ctx;

static ck_status make_from_config(void *p)
{
    oom_ctx *c = p;
    return ck_layer_from_json(c->config, &c->layer);
}

static void free_made(void *p)
{
    oom_ctx *c = p;
    ck_layer_free(c->layer);
    c->layer = NULL;
}

Test(pool_reshape, allocation_failures)
{
    json_t *all = cases();
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        oom_ctx ctx = {json_loads(json_string_value(json_object_get(c, "config")), 0, NULL), NULL};
        cr_assert(ctx.config);
        cr_expect_gt(ck_test_every_allocation_fails(make_from_config, free_made, &ctx), 0);
        json_decref(ctx.config);
    }
    json_decref(all);
}

/* ---- inside a model ------------------------------------------------------------------------ */

static ck_tensor *apply(ck_layer *l, ck_tensor *x)
{
    ck_tensor *y = NULL;
    cr_assert_eq(ck_layer_apply(l, 1, &x, &y), CK_OK, "%s", ck_last_error());
    return y;
}

/* A chain of the new layers, planned and backpropagated by the model's
 * training graph, against central differences. */
Test(pool_reshape, model_gradcheck)
{
    ck_clear_session();
    ck_tensor *in = NULL;
    cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(6, 4), .dtype = CK_FLOAT64}), CK_OK);
    ck_layer *ls[9];
    const ck_dtype f64 = CK_FLOAT64;
    cr_assert_eq(ck_zero_padding1d(&ls[0], &(ck_zero_padding_opts){.dtype = f64}), CK_OK);
    cr_assert_eq(ck_max_pooling1d(&ls[1], &(ck_pooling_opts){.dtype = f64}), CK_OK);
    cr_assert_eq(ck_up_sampling1d(&ls[2], &(ck_up_sampling_opts){.dtype = f64}), CK_OK);
    cr_assert_eq(ck_cropping1d(&ls[3], &(ck_cropping_opts){.dtype = f64}), CK_OK);
    cr_assert_eq(ck_layer_normalization(&ls[4], &(ck_layer_normalization_opts){.dtype = f64}), CK_OK);
    cr_assert_eq(ck_permute(&ls[5], &(ck_permute_opts){.ndims = 2, .dims = {2, 1}, .dtype = f64}), CK_OK);
    cr_assert_eq(ck_average_pooling1d(&ls[6], &(ck_pooling_opts){.padding = "same", .dtype = f64}), CK_OK);
    cr_assert_eq(ck_global_max_pooling1d(&ls[7], &(ck_global_pooling_opts){.dtype = f64}), CK_OK);
    cr_assert_eq(ck_repeat_vector(&ls[8], &(ck_repeat_vector_opts){.n = 2, .dtype = f64}), CK_OK);
    ck_tensor *h = in;
    for (int i = 0; i < 9; i++) h = apply(ls[i], h);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &in, 1, &h, NULL), CK_OK, "%s", ck_last_error());
    int64_t xs[3] = {3, 6, 4};
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, xs, -1, 1, 77);
    cr_expect(ck_test_gradcheck(ck_model_layer(m), 1, &x, 1, 1e-6) > 20);
    ck_tensor_free(x);
    for (int i = 0; i < 9; i++) ck_layer_free(ls[i]);
    ck_layer_free(ck_tensor_layer(in));
    ck_model_free(m);
}
