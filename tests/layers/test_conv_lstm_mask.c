/* ConvLSTM1D / 2D / 3D on masked inputs against tf.keras 2.15
 * (tools/gen_conv_lstm_mask_goldens.py): explicit (batch, time) and
 * per-position masks, and tf.keras models with Masking before the layer,
 * loaded from .h5 and .keras. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/support.h"

#define MAX_OUT 3

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm_mask/goldens.json")); }

/* A {"shape", "data"} tensor of the fixture in `dt`. */
static ck_tensor *fx(const json_t *j, ck_dtype dt)
{
    const json_t *shape = json_object_get(j, "shape"), *data = json_object_get(j, "data");
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, (size_t)i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dt, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) {
        double v = json_number_value(json_array_get(data, (size_t)i));
        if (dt == CK_FLOAT32) ((float *)t->data)[i] = (float)v;
        else ((double *)t->data)[i] = v;
    }
    return t;
}

/* The layer of tf.keras' config in `dt`, built on `shape`, with weights. */
static ck_layer *layer_of(const json_t *config, const json_t *weights, ck_dtype dt, const ck_shape *shape)
{
    json_t *wrap = json_deep_copy(config);
    json_object_set_new(json_object_get(wrap, "config"), "dtype", json_string(dt == CK_FLOAT32 ? "float32" : "float64"));
    char *text = json_dumps(wrap, 0);
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", text, ck_last_error());
    free(text);
    json_decref(wrap);
    cr_assert_eq(ck_layer_build(l, 1, shape), CK_OK, "%s", ck_last_error());
    int n = (int)json_array_size(weights);
    ck_tensor *w[3] = {0};
    cr_assert_leq(n, 3);
    for (int i = 0; i < n; i++) w[i] = fx(json_array_get(weights, (size_t)i), dt);
    cr_assert_eq(ck_layer_set_weights(l, n, w), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
    return l;
}

static void expect_close(const char *name, const char *what, int k, const ck_tensor *got, const ck_tensor *want,
                         double tol)
{
    cr_assert_eq(got->rank, want->rank, "%s %s %d: rank %d, TF %d", name, what, k, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s %s %d: dim %d", name, what, k, i);
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), e = ck_tensor_get(want, i);
        cr_expect(fabs(g - e) <= tol * (1 + fabs(e)), "%s %s %d [%lld]: got %.12g, TF %.12g", name, what, k,
                  (long long)i, g, e);
    }
}

/* An explicit mask given to the layer: (batch, time) skips steps, the
 * per-position mask skips single positions; the output mask is the input
 * mask with return_sequences, none otherwise. */
Test(conv_lstm_mask, explicit_masks_against_tf)
{
    json_t *all = goldens();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(all, "cases"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        ck_dtype dts[2] = {CK_FLOAT32, CK_FLOAT64};
        for (int d = 0; d < 2; d++) {
            ck_tensor *x = fx(json_object_get(c, "x"), dts[d]);
            ck_tensor *mask = NULL, *mf = fx(json_object_get(c, "mask"), CK_FLOAT64);
            cr_assert_eq(ck_tensor_new(&mask, CK_INT32, mf->rank, mf->shape), CK_OK);
            for (int64_t k = 0; k < mf->size; k++) ((int32_t *)mask->data)[k] = (int32_t)((double *)mf->data)[k];
            ck_shape s = ck_tensor_shape(x);
            ck_layer *l = layer_of(json_object_get(c, "layer"), json_object_get(c, "weights"), dts[d], &s);
            ck_tensor *y = NULL, *om = NULL;
            cr_assert_eq(ck_layer_call_masked(l, 1, &x, &mask, &y, &om), CK_OK, "%s: %s", name, ck_last_error());
            ck_tensor *want = fx(json_object_get(c, "y"), dts[d]);
            expect_close(name, "y", d, y, want, d ? 1e-12 : 1e-5);
            int seq = y->rank == x->rank;
            cr_expect_eq(om != NULL, seq, "%s: output mask", name);
            if (om) cr_expect_eq(ck_test_max_abs_diff(om, mask), 0.0, "%s", name);
            ck_tensor_free(om);
            ck_tensor_free(want);
            ck_tensor_free(y);
            ck_tensor_free(mf);
            ck_tensor_free(mask);
            ck_tensor_free(x);
            ck_layer_free(l);
        }
    }
    json_decref(all);
}

/* tf.keras' models with Masking before ConvLSTM2D / ConvLSTM1D (the mask
 * passing through a first ConvLSTM2D's sequences to a second one with
 * return_state and go_backwards), from .h5 and .keras, within 1e-5 and,
 * once planned, without allocating. */
static void expect_model(const char *file)
{
    json_t *all = goldens();
    const json_t *m = json_object_get(all, "model");
    ck_model *model = NULL;
    const char *path = ck_test_data(file);
    cr_assert_eq(ck_model_load(path, &model), CK_OK, "%s: %s", path, ck_last_error());
    cr_assert_eq(ck_model_output_count(model), 3, "%s", file);
    const json_t *xs = json_object_get(m, "x");
    ck_tensor *x[2] = {fx(json_array_get(xs, 0), CK_FLOAT32), fx(json_array_get(xs, 1), CK_FLOAT32)};
    ck_tensor *y[3] = {NULL};
    cr_assert_eq(ck_model_predict(model, 2, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    for (int k = 0; k < 3; k++) {
        ck_tensor *want = fx(json_array_get(json_object_get(m, "y"), (size_t)k), CK_FLOAT32);
        expect_close(file, "prediction", k, y[k], want, 1e-5);
        ck_tensor_free(want);
    }
    cr_assert_eq(ck_model_predict_into(model, 2, x, y, 0), CK_OK, "%s: %s", file, ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(model, 2, x, y, 0);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning: %s", file, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", file, attempts);
    for (int k = 0; k < 3; k++) ck_tensor_free(y[k]);
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
    ck_model_free(model);
    json_decref(all);
}

Test(conv_lstm_mask, h5_model_with_masking) { expect_model("layers/conv_lstm_mask/model.h5"); }

Test(conv_lstm_mask, keras_model_with_masking) { expect_model("layers/conv_lstm_mask/model.keras"); }

/* A per-position mask needs the output to keep the input's spatial dims
 * (TensorFlow fails too); the message names the shapes. */
Test(conv_lstm_mask, position_mask_of_a_valid_layer_refused)
{
    ck_conv_lstm_opts o = {.filters = 2, .kernel_size = {2, 2}};
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv_lstm2d(&l, &o), CK_OK, "%s", ck_last_error());
    int64_t xs[5] = {1, 2, 3, 3, 1}, ms[4] = {1, 2, 3, 3};
    ck_tensor *x = NULL, *mask = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 5, xs), CK_OK);
    cr_assert_eq(ck_tensor_new(&mask, CK_INT32, 4, ms), CK_OK);
    cr_assert_eq(ck_layer_call_masked(l, 1, &x, &mask, &y, NULL), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "(1, 2, 3, 3)") != NULL, "%s", ck_last_error());
    ck_tensor_free(x);
    ck_tensor_free(mask);
    ck_layer_free(l);
}
