/* `groups` on Conv1DTranspose / Conv2DTranspose / Conv3DTranspose as
 * tf.keras 2.15 treats it (tools/gen_conv_transpose_groups_goldens.py):
 * accepted and written back, the numbers those of the ungrouped layer
 * (full kernel), filters not a multiple of groups refused with Keras'
 * message, and a tf.keras file holding such a layer predicts like
 * tf.keras. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layer.h"
#include "model/model.h"
#include "support/support.h"

static ck_tensor *fx(const json_t *j)
{
    const json_t *shape = json_object_get(j, "shape"), *data = json_object_get(j, "data");
    int64_t dims[CK_MAX_RANK];
    int rank = (int)json_array_size(shape);
    for (int i = 0; i < rank; i++) dims[i] = json_integer_value(json_array_get(shape, (size_t)i));
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, rank, dims), CK_OK);
    cr_assert_eq((size_t)t->size, json_array_size(data));
    for (int64_t i = 0; i < t->size; i++) ((float *)t->data)[i] = (float)json_number_value(json_array_get(data, (size_t)i));
    return t;
}

Test(conv_transpose_groups, outputs_and_configs_against_tf)
{
    json_t *all = ck_test_load_json(ck_test_data("layers/conv_transpose_groups/goldens.json"));
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        char *text = json_dumps(json_object_get(c, "layer"), 0);
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(text, &l), CK_OK, "%s: %s", name, ck_last_error());
        free(text);
        ck_tensor *x = fx(json_object_get(c, "x"));
        ck_shape s = ck_tensor_shape(x);
        cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s: %s", name, ck_last_error());
        const json_t *ws = json_object_get(c, "weights");
        ck_tensor *w[2] = {fx(json_array_get(ws, 0)), fx(json_array_get(ws, 1))};
        cr_assert_eq(ck_layer_set_weights(l, 2, w), CK_OK, "%s: %s", name, ck_last_error());
        ck_tensor *want = fx(json_object_get(c, "y")), *y = ck_test_call1(l, x);
        cr_expect_leq(ck_test_max_abs_diff(y, want), 1e-5, "%s", name);
        /* groups is written back as tf.keras writes it. */
        char *cfg = NULL;
        cr_assert_eq(ck_layer_get_config(l, &cfg), CK_OK);
        json_t *mine = json_loads(cfg, 0, NULL);
        const json_t *theirs = json_object_get(json_object_get(c, "layer"), "config");
        cr_expect(json_equal(json_object_get(json_object_get(mine, "config"), "groups"),
                             json_object_get(theirs, "groups")), "%s: %s", name, cfg);
        json_decref(mine);
        ck_free(cfg);
        for (int k = 0; k < 2; k++) ck_tensor_free(w[k]);
        ck_tensor_free(want);
        ck_tensor_free(y);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
    json_decref(all);
}

Test(conv_transpose_groups, filters_must_divide_by_groups)
{
    ck_layer *l = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Conv2DTranspose\", \"config\": {\"filters\": 4, "
                                      "\"kernel_size\": 3, \"groups\": 3}}", &l), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "The number of filters must be evenly divisible by the number of groups. "
                                      "Received: groups=3, filters=4") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_conv1d_transpose(&l, &(ck_conv_opts){.filters = 3, .kernel_size = {2}, .groups = 2}),
                 CK_VALUE_ERROR);
    cr_assert_eq(ck_conv3d_transpose(&l, &(ck_conv_opts){.filters = 4, .kernel_size = {2}, .groups = 2}), CK_OK,
                 "%s", ck_last_error());
    ck_shape s = {5, {1, 2, 2, 2, 3}};
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
    /* The full kernel (k..., filters, in_channels), as tf.keras builds it. */
    const ck_tensor *k = ck_weight_value(ck_layer_weight(l, 0));
    cr_expect(k->shape[3] == 4 && k->shape[4] == 3, "kernel (..., %lld, %lld)", (long long)k->shape[3],
              (long long)k->shape[4]);
    ck_layer_free(l);
}

Test(conv_transpose_groups, tf_keras_file_predicts_like_tf)
{
    ck_tensor *x = ck_test_npy("conv_transpose_groups/model_x"), *want = ck_test_npy("conv_transpose_groups/model_y");
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("layers/conv_transpose_groups/model.h5"), &m), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 2), CK_OK, "%s", ck_last_error());
    cr_expect_leq(ck_test_max_abs_diff(y, want), 1e-5);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}
