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
#include "support/golden_json.h"
#include "support/golden_layer.h"
#include "support/golden_model.h"
#include "support/support.h"

#define MAX_OUT 3

static json_t *goldens(void) { return ck_test_load_json(ck_test_data("layers/conv_lstm_mask/goldens.json")); }

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
            ck_tensor *x = ck_test_golden_tensor(json_object_get(c, "x"), dts[d]);
            ck_tensor *mask = NULL, *mf = ck_test_golden_tensor(json_object_get(c, "mask"), CK_FLOAT64);
            cr_assert_eq(ck_tensor_new(&mask, CK_INT32, mf->rank, mf->shape), CK_OK);
            for (int64_t k = 0; k < mf->size; k++) ((int32_t *)mask->data)[k] = (int32_t)((double *)mf->data)[k];
            ck_shape s = ck_tensor_shape(x);
            ck_layer *l = ck_test_golden_layer(json_object_get(c, "layer"), json_object_get(c, "weights"), dts[d], &s);
            ck_tensor *y = NULL, *om = NULL;
            cr_assert_eq(ck_layer_call_masked(l, 1, &x, &mask, &y, &om), CK_OK, "%s: %s", name, ck_last_error());
            ck_tensor *want = ck_test_golden_tensor(json_object_get(c, "y"), dts[d]);
            ck_test_expect_close(name, "y", d, y, want, d ? 1e-12 : 1e-5);
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
    const json_t *m = json_object_get(all, "model"), *xs = json_object_get(m, "x");
    cr_assert_eq(json_array_size(json_object_get(m, "y")), 3, "%s", file);
    ck_tensor *x[2] = {ck_test_golden_tensor(json_array_get(xs, 0), CK_FLOAT32),
                       ck_test_golden_tensor(json_array_get(xs, 1), CK_FLOAT32)};
    ck_test_expect_model_file_like_tf(file, 2, x, json_object_get(m, "y"));
    ck_tensor_free(x[0]);
    ck_tensor_free(x[1]);
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
