/* Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate:
 * values against numpy goldens and real Keras outputs (keras-js), the
 * broadcasting and shape checks of tf.keras' _Merge, masks, configs,
 * errors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static ck_tensor *calln(ck_layer *l, int n, ck_tensor *const *x)
{
    ck_tensor *out = NULL;
    cr_assert_eq(ck_layer_call(l, n, x, &out), CK_OK, "%s", ck_last_error());
    return out;
}

typedef ck_status (*merge_ctor)(ck_layer **, const ck_merge_opts *);

static ck_layer *merge(merge_ctor f)
{
    ck_layer *l = NULL;
    cr_assert_eq(f(&l, NULL), CK_OK, "%s", ck_last_error());
    return l;
}

/* (2,3,4), (2,4) and (2,1,4): the batch dims align, the others broadcast
 * right-aligned, as tf.keras' expand_dims(axis=1) does. */
Test(merge, broadcast_values)
{
    ck_tensor *a = ck_test_npy("merge_a"), *b = ck_test_npy("merge_b"), *c = ck_test_npy("merge_c");
    struct { merge_ctor f; const char *golden; int n; } cases[] = {
        {ck_add, "add_out", 3}, {ck_subtract, "subtract_out", 2}, {ck_multiply, "multiply_out", 3},
        {ck_average, "average_out", 3}, {ck_maximum, "maximum_out", 3}, {ck_minimum, "minimum_out", 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_layer *l = merge(cases[i].f);
        ck_tensor *y = calln(l, cases[i].n, (ck_tensor *[]){a, b, c}), *want = ck_test_npy(cases[i].golden);
        cr_expect(y->rank == 3 && y->shape[1] == 3 && y->shape[2] == 4, "%s", cases[i].golden);
        double d = ck_test_max_abs_diff(y, want);
        cr_expect_leq(d, 1e-6, "%s: %g", cases[i].golden, d);
        ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    }
    ck_tensor_free(a); ck_tensor_free(b); ck_tensor_free(c);
}

Test(merge, integer_inputs)
{
    ck_tensor *a = ck_test_npy("int_a"), *b = ck_test_npy("int_b");
    ck_layer *l = merge(ck_add);
    ck_tensor *y = calln(l, 2, (ck_tensor *[]){a, b}), *want = ck_test_npy("int_add_out");
    cr_expect_eq(y->dtype, CK_INT32);
    cr_expect_eq(ck_test_max_abs_diff(y, want), 0);
    ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    /* Average of int32 is float64, as TF's `output / len(inputs)`. */
    l = merge(ck_average);
    y = calln(l, 2, (ck_tensor *[]){a, b});
    want = ck_test_npy("int_average_out");
    cr_expect_eq(y->dtype, CK_FLOAT64);
    cr_expect_eq(ck_test_max_abs_diff(y, want), 0);
    ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    /* int32 overflow wraps like TF (no undefined behaviour). */
    int64_t big[] = {2147483647};
    ck_tensor *i64 = ck_test_i64(2, (int64_t[]){1, 1}, big), *i32 = NULL;
    cr_assert_eq(ck_tensor_cast(&i32, i64, CK_INT32), CK_OK);
    l = merge(ck_add);
    y = calln(l, 2, (ck_tensor *[]){i32, i32});
    cr_expect_eq(((int32_t *)y->data)[0], -2);
    ck_tensor_free(y); ck_layer_free(l);
    /* Mixed integer and float inputs: TF refuses them. */
    l = merge(ck_multiply);
    ck_tensor *out = NULL, *f64 = ck_test_npy("int_average_out");
    cr_expect_eq(ck_layer_call(l, 2, (ck_tensor *[]){a, f64}, &out), CK_TYPE_ERROR);
    ck_tensor_free(f64);
    ck_layer_free(l);
    ck_tensor_free(i64); ck_tensor_free(i32); ck_tensor_free(a); ck_tensor_free(b);
}

Test(merge, nan_propagates_through_maximum_and_minimum)
{
    float x[] = {0.0f / 0.0f, 1.0f}, z[] = {1.0f, 0.0f / 0.0f};
    ck_tensor *a = ck_test_f32(2, (int64_t[]){1, 2}, x), *b = ck_test_f32(2, (int64_t[]){1, 2}, z);
    merge_ctor fs[] = {ck_maximum, ck_minimum};
    for (int i = 0; i < 2; i++) {
        ck_layer *l = merge(fs[i]);
        ck_tensor *y = calln(l, 2, (ck_tensor *[]){a, b});
        cr_expect(((float *)y->data)[0] != ((float *)y->data)[0]);
        cr_expect(((float *)y->data)[1] != ((float *)y->data)[1]);
        ck_tensor_free(y); ck_layer_free(l);
    }
    ck_tensor_free(a); ck_tensor_free(b);
}

Test(merge, shape_checks_and_errors)
{
    ck_layer *l = merge(ck_add);
    ck_shape out;
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, 4)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Inputs have incompatible shapes. Received shapes (3,) and (4,)") != NULL, "%s",
              ck_last_error());
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(2, 3), CK_TEST_SHAPE(5, 3)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Cannot merge tensors with different batch sizes. Got tensors with shapes "
                                      "[(2, 3), (5, 3)]") != NULL, "%s", ck_last_error());
    cr_expect(!ck_layer_built(l));
    /* Symbolic shapes: unknown dims stay unknown, a known batch is kept. */
    cr_assert_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, -1), CK_TEST_SHAPE(-1, 4)}, &out),
                 CK_OK);
    cr_expect(out.rank == 2 && out.dims[0] == -1 && out.dims[1] == -1);
    cr_assert_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){CK_TEST_SHAPE(2, 3), CK_TEST_SHAPE(-1, 5, 1)}, &out),
                 CK_OK);
    cr_expect(out.rank == 3 && out.dims[0] == 2 && out.dims[1] == 5 && out.dims[2] == 3);
    float v[8] = {0};
    ck_tensor *t = ck_test_f32(2, (int64_t[]){2, 4}, v), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 0, (ck_tensor *[]){t}, &y), CK_VALUE_ERROR);
    /* One input is allowed (tf.keras 2.x: "at least 1 input"). */
    y = calln(l, 1, (ck_tensor *[]){t});
    cr_expect_eq(y->shape[1], 4);
    ck_tensor_free(y);
    ck_layer_free(l);
    l = merge(ck_subtract);
    cr_expect_eq(ck_layer_build(l, 3, (ck_shape[]){CK_TEST_SHAPE(-1, 4), CK_TEST_SHAPE(-1, 4), CK_TEST_SHAPE(-1, 4)}),
                 CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "exactly 2 inputs") != NULL, "%s", ck_last_error());
    y = NULL;
    cr_expect_eq(ck_layer_call(l, 3, (ck_tensor *[]){t, t, t}, &y), CK_VALUE_ERROR);
    cr_expect_null(y);
    ck_tensor_free(t); ck_layer_free(l);
}

Test(merge, masks_are_anded)
{
    ck_layer *l = merge(ck_add);
    float v[6] = {0};
    ck_tensor *x = ck_test_f32(3, (int64_t[]){1, 2, 3}, v), *m0 = NULL, *m1 = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_new(&m0, CK_INT32, 2, (int64_t[]){1, 2}), CK_OK);
    cr_assert_eq(ck_tensor_new(&m1, CK_INT32, 2, (int64_t[]){1, 2}), CK_OK);
    ((int32_t *)m0->data)[0] = 1, ((int32_t *)m0->data)[1] = 1, ((int32_t *)m1->data)[1] = 1;
    cr_assert_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){m0, m1}, &out), CK_OK);
    cr_assert_not_null(out);
    cr_expect(((int32_t *)out->data)[0] == 0 && ((int32_t *)out->data)[1] == 1);
    ck_tensor_free(out);
    cr_assert_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){NULL, m0}, &out), CK_OK);
    cr_expect(((int32_t *)out->data)[0] == 1 && ((int32_t *)out->data)[1] == 1);
    ck_tensor_free(out);
    cr_assert_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){NULL, NULL}, &out), CK_OK);
    cr_expect_null(out);
    ck_tensor_free(m0); ck_tensor_free(m1); ck_tensor_free(x); ck_layer_free(l);
}

Test(merge, configs)
{
    ck_clear_session();
    ck_layer *l = merge(ck_maximum);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Maximum\", \"config\": {\"name\": \"maximum\", \"trainable\": true, "
                           "\"dtype\": \"float32\"}}");
    ck_free(text);
    ck_layer_free(l);
    /* config_keras2_simple_add_tf_keras_2.json (Keras 2.1.5) */
    ck_test_round_trip("{\"class_name\": \"Add\", \"config\": {\"trainable\": true, \"name\": \"add_2\"}}",
               "{\"class_name\": \"Add\", \"config\": {\"name\": \"add_2\", \"trainable\": true, \"dtype\": \"float32\"}}");
    const char *names[] = {"Subtract", "Multiply", "Average", "Minimum"};
    for (int i = 0; i < 4; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{\"class_name\": \"%s\", \"config\": {\"name\": \"m\", \"trainable\": false, "
                 "\"dtype\": \"float64\"}}", names[i]);
        ck_test_round_trip(buf, NULL);
    }
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Add\", \"config\": {\"axis\": 1}}", &l), CK_TYPE_ERROR);
}

/* ---- Concatenate ----------------------------------------------------------------- */

static ck_layer *concat(int has_axis, int axis)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_concatenate(&l, &(ck_concatenate_opts){.axis = {has_axis != 0, axis}}), CK_OK);
    return l;
}

Test(concatenate, values)
{
    ck_tensor *a = ck_test_npy("merge_a"), *d = ck_test_npy("concat_d"), *e = ck_test_npy("concat_e"), *g = ck_test_npy("concat_g");
    ck_layer *l = concat(1, 1);
    ck_tensor *y = calln(l, 2, (ck_tensor *[]){a, d}), *want = ck_test_npy("concat_axis1_out");
    cr_expect_eq(ck_test_max_abs_diff(y, want), 0);
    ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    l = concat(0, 0);
    y = calln(l, 3, (ck_tensor *[]){a, e, a});
    want = ck_test_npy("concat_last_out");
    cr_expect_eq(ck_test_max_abs_diff(y, want), 0);
    ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    /* axis=0 joins along the batch. */
    l = concat(1, 0);
    y = calln(l, 2, (ck_tensor *[]){a, g});
    want = ck_test_npy("concat_axis0_out");
    cr_expect_eq(ck_test_max_abs_diff(y, want), 0);
    ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    ck_tensor_free(a); ck_tensor_free(d); ck_tensor_free(e); ck_tensor_free(g);
}

/* keras-js Concatenate.json: Dense(2) branches (+ RepeatVector(3) done by
 * hand), joined by real Keras 2.1. */
Test(concatenate, kerasjs_goldens)
{
    json_t *root = ck_test_load_json(ck_test_data("kerasjs-goldens/Concatenate.json"));
    struct { int branches, repeat, axis; } cfg[] = {{2, 0, -1}, {2, 1, -1}, {2, 1, -2}, {2, 1, 1}, {2, 1, 2},
                                                    {3, 1, -1}, {4, 1, -1}};
    for (int c = 0; c < 7; c++) {
        char key[40];
        snprintf(key, sizeof key, "merge.Concatenate.%d", c);
        json_t *cs = json_object_get(root, key), *ws = json_object_get(cs, "weights");
        ck_tensor *x = ck_test_json_tensor(json_object_get(cs, "input"), 1);
        ck_tensor *branch[4];
        for (int b = 0; b < cfg[c].branches; b++) {
            ck_layer *dl = NULL;
            cr_assert_eq(ck_dense(&dl, &(ck_dense_opts){.units = 2}), CK_OK);
            cr_assert_eq(ck_layer_build(dl, 1, &CK_TEST_SHAPE(-1, 6)), CK_OK);
            ck_tensor *k = ck_test_json_tensor(json_array_get(ws, (size_t)(2 * b)), 0);
            ck_tensor *bias = ck_test_json_tensor(json_array_get(ws, (size_t)(2 * b + 1)), 0);
            cr_assert_eq(ck_layer_set_weights(dl, 2, (ck_tensor *[]){k, bias}), CK_OK);
            ck_tensor *h = calln(dl, 1, (ck_tensor *[]){x});
            if (cfg[c].repeat) {
                cr_assert_eq(ck_tensor_new(&branch[b], CK_FLOAT32, 3, (int64_t[]){1, 3, 2}), CK_OK);
                for (int r = 0; r < 3; r++) memcpy((float *)branch[b]->data + 2 * r, h->data, 2 * sizeof(float));
                ck_tensor_free(h);
            } else {
                branch[b] = h;
            }
            ck_tensor_free(k); ck_tensor_free(bias); ck_layer_free(dl);
        }
        ck_layer *l = concat(1, cfg[c].axis);
        ck_tensor *y = calln(l, cfg[c].branches, branch);
        ck_tensor *want = ck_test_json_tensor(json_object_get(cs, "expected"), 1);
        cr_expect_leq(ck_test_max_abs_diff(y, want), 2e-5, "%s", key);
        for (int b = 0; b < cfg[c].branches; b++) ck_tensor_free(branch[b]);
        ck_tensor_free(y); ck_tensor_free(want); ck_tensor_free(x); ck_layer_free(l);
    }
    json_decref(root);
}

Test(concatenate, shapes_and_errors)
{
    ck_layer *l = concat(0, 0);
    ck_shape out;
    cr_assert_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, 5)}, &out),
                 CK_OK);
    cr_expect(out.rank == 2 && out.dims[0] == -1 && out.dims[1] == 8);
    cr_assert_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, -1)}, &out),
                 CK_OK);
    cr_expect_eq(out.dims[1], -1);
    /* Unknown dims off the axis are skipped by the check. */
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, -1, 3), CK_TEST_SHAPE(-1, 4, 2)}), CK_OK);
    ck_layer_free(l);
    l = concat(0, 0);
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 4, 3), CK_TEST_SHAPE(-1, 5, 2)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "A `Concatenate` layer requires inputs with matching shapes except for the "
                                      "concatenation axis. Received: input_shape=[(None, 4, 3), (None, 5, 2)]") != NULL,
              "%s", ck_last_error());
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 4, 3), CK_TEST_SHAPE(-1, 3)}), CK_VALUE_ERROR);
    ck_layer_free(l);
    l = concat(1, 3);
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 4, 3), CK_TEST_SHAPE(-1, 4, 3)}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "out of range") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    /* Mismatched shapes at call time (after a build on other shapes). */
    l = concat(0, 0);
    float v[12] = {0};
    ck_tensor *a = ck_test_f32(2, (int64_t[]){2, 3}, v), *b = ck_test_f32(2, (int64_t[]){3, 3}, v), *y = NULL;
    y = calln(l, 2, (ck_tensor *[]){a, a});
    cr_expect_eq(y->shape[1], 6);
    ck_tensor_free(y);
    y = NULL;
    cr_expect_eq(ck_layer_call(l, 2, (ck_tensor *[]){a, b}, &y), CK_VALUE_ERROR);
    cr_expect_null(y);
    ck_tensor *i = ck_test_i64(2, (int64_t[]){2, 3}, (int64_t[]){1, 2, 3, 4, 5, 6});
    cr_expect_eq(ck_layer_call(l, 2, (ck_tensor *[]){a, i}, &y), CK_TYPE_ERROR);
    ck_tensor_free(a); ck_tensor_free(b); ck_tensor_free(i); ck_layer_free(l);
}

Test(concatenate, masks)
{
    float v[24] = {0};
    ck_tensor *x = ck_test_f32(3, (int64_t[]){1, 3, 4}, v), *m = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_new(&m, CK_INT32, 2, (int64_t[]){1, 3}), CK_OK);
    ((int32_t *)m->data)[1] = 1;
    /* axis 1 (time): the masks are joined in time. */
    ck_layer *l = concat(1, 1);
    cr_assert_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){m, m}, &out), CK_OK,
                 "%s", ck_last_error());
    cr_assert_not_null(out);
    cr_expect(out->rank == 2 && out->shape[1] == 6);
    int32_t want[] = {0, 1, 0, 0, 1, 0};
    for (int k = 0; k < 6; k++) cr_expect_eq(((int32_t *)out->data)[k], want[k], "mask %d", k);
    ck_tensor_free(out);
    /* tf.keras widens a missing mask to the whole input, (1, 3, 4), which
     * cannot be joined with the other mask's (1, 3, 1) along axis 1: TF's
     * concat fails there too. */
    out = NULL;
    cr_expect_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){m, NULL}, &out),
                 CK_VALUE_ERROR);
    cr_expect_null(out);
    ck_layer_free(l);
    /* axis -1 (features): the result is the given mask. */
    l = concat(0, 0);
    cr_assert_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){NULL, m}, &out), CK_OK);
    cr_expect(out->rank == 2 && out->shape[1] == 3);
    cr_expect(((int32_t *)out->data)[0] == 0 && ((int32_t *)out->data)[1] == 1 && ((int32_t *)out->data)[2] == 0);
    ck_tensor_free(out);
    cr_assert_eq(ck_layer_compute_mask(l, 2, (ck_tensor *[]){x, x}, NULL, &out), CK_OK);
    cr_expect_null(out);
    ck_tensor_free(m); ck_tensor_free(x); ck_layer_free(l);
}

Test(concatenate, configs_of_real_files)
{
    ck_clear_session();
    ck_layer *l = concat(0, 0);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Concatenate\", \"config\": {\"name\": \"concatenate\", \"trainable\": "
                           "true, \"dtype\": \"float32\", \"axis\": -1}}");
    ck_free(text);
    ck_layer_free(l);
    /* two-tower-concat-keras2_11 */
    ck_test_round_trip("{\"class_name\": \"Concatenate\", \"config\": {\"name\": \"concatenate_15\", \"trainable\": true, "
               "\"dtype\": \"float32\", \"axis\": -1}}", NULL);
    /* keras3-wide-deep/my_model.keras: new form with build_config. */
    const char *k3 = "{\"module\": \"keras.layers\", \"class_name\": \"Concatenate\", \"config\": {\"name\": "
                     "\"concatenate_1\", \"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": "
                     "\"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null, "
                     "\"shared_object_id\": 11287345472}, \"axis\": -1}, \"registered_name\": null, \"build_config\": "
                     "{\"input_shape\": [[null, 5], [null, 30]]}}";
    cr_assert_eq(ck_layer_from_config(k3, &l), CK_OK, "%s", ck_last_error());
    cr_expect(ck_layer_built(l));
    ck_shape out;
    cr_assert_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, 5), CK_TEST_SHAPE(-1, 30)}, &out),
                 CK_OK);
    cr_expect_eq(out.dims[1], 35);
    ck_layer_free(l);
    ck_test_round_trip("{\"class_name\": \"Concatenate\", \"config\": {\"name\": \"c\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"axis\": 0}}", NULL);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Concatenate\", \"config\": {\"axis\": \"x\"}}", &l),
                 CK_TYPE_ERROR);
}

/* Failing allocations while creating and calling a Concatenate with masks. */
static ck_status concat_run(void *ctx)
{
    ck_tensor **slots = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_concatenate(&l, NULL);
    if (st != CK_OK) return st;
    float v[6] = {1, 2, 3, 4, 5, 6};
    int32_t mv[3] = {1, 0, 1};
    ck_tensor *x = NULL, *m = NULL;
    st = ck_tensor_wrap(&x, CK_FLOAT32, 3, (int64_t[]){1, 3, 2}, v);
    if (st == CK_OK) st = ck_tensor_wrap(&m, CK_INT32, 2, (int64_t[]){1, 3}, mv);
    if (st == CK_OK)
        st = ck_layer_call_masked(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){m, NULL}, &slots[0],
                                  &slots[1]);
    ck_tensor_free(x);
    ck_tensor_free(m);
    ck_layer_free(l);
    return st;
}

static void free_slots(void *ctx)
{
    ck_tensor **slots = ctx;
    ck_tensor_free(slots[0]);
    ck_tensor_free(slots[1]);
}

Test(concatenate, failing_allocations)
{
    ck_tensor *slots[2] = {NULL, NULL};
    ck_test_every_allocation_fails(concat_run, free_slots, slots);
}

/* Keras 1 / 2.0 legacy Merge (dl4j-legacy-formats/config_keras*_mlp_fapi_config.json)
 * is read as the modern layer. */
Test(merge_legacy, read_as_modern_layers)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(
        "{\"class_name\": \"Merge\", \"config\": {\"name\": \"merge_1\", \"concat_axis\": -1, \"mode_type\": \"raw\", "
        "\"dot_axes\": -1, \"output_mask_type\": \"raw\", \"arguments\": {}, \"output_mask\": null, \"mode\": "
        "\"concat\", \"output_shape\": null, \"output_shape_type\": \"raw\"}}", &l), CK_OK, "%s", ck_last_error());
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Concatenate\", \"config\": {\"name\": \"merge_1\", \"trainable\": true, "
                           "\"dtype\": \"float32\", \"axis\": -1}}");
    ck_free(text);
    ck_layer_free(l);
    const char *modes[] = {"sum", "mul", "ave", "max", "dot"}, *classes[] = {"Add", "Multiply", "Average", "Maximum",
                                                                           "Dot"};
    for (int i = 0; i < 5; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{\"class_name\": \"Merge\", \"config\": {\"name\": \"m\", \"mode\": \"%s\", "
                 "\"mode_type\": \"raw\", \"dot_axes\": [1, 1]}}", modes[i]);
        cr_assert_eq(ck_layer_from_config(buf, &l), CK_OK, "%s: %s", modes[i], ck_last_error());
        cr_expect_str_eq(ck_layer_class_name(l), classes[i]);
        ck_layer_free(l);
    }
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Merge\", \"config\": {\"mode\": \"cos\"}}", &l),
                 CK_NOT_IMPLEMENTED);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Merge\", \"config\": {\"mode\": \"x\", \"mode_type\": "
                                      "\"lambda\"}}", &l), CK_NOT_IMPLEMENTED);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Merge\", \"config\": {\"mode\": \"sum\", \"foo\": 1}}", &l),
                 CK_TYPE_ERROR);
}

/* TF.js 4.22 model shared_dense_concat (tests/data/tfjs): a Dense shared by
 * two inputs, Add and Multiply of its two outputs, Concatenate of all four,
 * Dense(2, sigmoid); the graph is wired by hand here and the merge layers
 * come from the model's own configs. */
Test(merge, tfjs_shared_dense_concat)
{
    ck_tensor *w[4], *in0 = NULL, *in1 = NULL, *want = NULL;
    for (int i = 0; i < 4; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "tfjs/models/shared_dense_concat/w%d.npy", i);
        cr_assert_eq(ck_npy_load(ck_test_data(rel), &w[i]), CK_OK, "%s", ck_last_error());
    }
    cr_assert_eq(ck_npy_load(ck_test_data("tfjs/models/shared_dense_concat/in0.npy"), &in0), CK_OK);
    cr_assert_eq(ck_npy_load(ck_test_data("tfjs/models/shared_dense_concat/in1.npy"), &in1), CK_OK);
    cr_assert_eq(ck_npy_load(ck_test_data("tfjs/models/shared_dense_concat/out0.npy"), &want), CK_OK);
    ck_layer *shared = NULL, *head = NULL, *add = NULL, *mul = NULL, *cat = NULL;
    cr_assert_eq(ck_dense(&shared, &(ck_dense_opts){.units = 3, .activation = "tanh"}), CK_OK);
    cr_assert_eq(ck_dense(&head, &(ck_dense_opts){.units = 2, .activation = "sigmoid"}), CK_OK);
    cr_assert_eq(ck_layer_build(shared, 1, &CK_TEST_SHAPE(-1, 5)), CK_OK);
    cr_assert_eq(ck_layer_build(head, 1, &CK_TEST_SHAPE(-1, 12)), CK_OK);
    cr_assert_eq(ck_layer_set_weights(shared, 2, (ck_tensor *[]){w[0], w[1]}), CK_OK);
    cr_assert_eq(ck_layer_set_weights(head, 2, (ck_tensor *[]){w[2], w[3]}), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Add\", \"config\": {\"name\": \"sum\", \"trainable\": true}}",
                                      &add), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Multiply\", \"config\": {\"name\": \"multiply_Multiply1\", "
                                      "\"trainable\": true}}", &mul), CK_OK);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Concatenate\", \"config\": {\"axis\": -1, \"name\": "
                                      "\"concat\", \"trainable\": true}}", &cat), CK_OK);
    ck_tensor *h0 = calln(shared, 1, (ck_tensor *[]){in0}), *h1 = calln(shared, 1, (ck_tensor *[]){in1});
    ck_tensor *s = calln(add, 2, (ck_tensor *[]){h0, h1}), *p = calln(mul, 2, (ck_tensor *[]){h0, h1});
    ck_tensor *c = calln(cat, 4, (ck_tensor *[]){h0, h1, s, p});
    cr_expect(c->rank == 2 && c->shape[0] == 4 && c->shape[1] == 12);
    ck_tensor *y = calln(head, 1, (ck_tensor *[]){c});
    /* manifest tolerance: atol 1e-5, rtol 1e-5 */
    for (int64_t k = 0; k < want->size; k++) {
        double a = ck_tensor_get(y, k), b = ck_tensor_get(want, k);
        cr_expect_leq(fabs(a - b), 1e-5 + 1e-5 * fabs(b), "output %lld: %g vs %g", (long long)k, a, b);
    }
    ck_tensor *all[] = {h0, h1, s, p, c, y, in0, in1, want, w[0], w[1], w[2], w[3]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ck_tensor_free(all[i]);
    ck_layer_free(shared); ck_layer_free(head); ck_layer_free(add); ck_layer_free(mul); ck_layer_free(cat);
}
