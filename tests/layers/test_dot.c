/* Dot: Keras' own test cases (keras-cases.md B1-B7), keras-js goldens of
 * real Keras, errors, shapes, config. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static ck_layer *dot(ck_axes axes, int normalize)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dot(&l, &(ck_dot_opts){.axes = axes, .normalize = normalize}), CK_OK, "%s", ck_last_error());
    return l;
}

static ck_tensor *call2(ck_layer *l, ck_tensor *x, ck_tensor *y)
{
    ck_tensor *out = NULL;
    ck_tensor *in[2] = {x, y};
    cr_assert_eq(ck_layer_call(l, 2, in, &out), CK_OK, "%s", ck_last_error());
    return out;
}

static void expect_values(const ck_tensor *t, int rank, const int64_t *shape, const double *v, double tol)
{
    cr_assert_eq(t->rank, rank);
    for (int i = 0; i < rank; i++) cr_assert_eq(t->shape[i], shape[i], "dim %d", i);
    for (int64_t i = 0; i < t->size; i++)
        cr_expect(fabs(ck_tensor_get(t, i) - v[i]) <= tol, "element %lld: %g vs %g", (long long)i, ck_tensor_get(t, i), v[i]);
}

/* B6 concrete values (re-derived with Python-Keras semantics). */
Test(dot, tfjs_test_values)
{
    float a[] = {10, 20, 30, 40}, b[] = {-1, -2, -3, -4}, b2[] = {-1, -2, -4, -3};
    float x3[] = {10, 20, 30, 40, 4, 3, 2, 1}, y3[] = {-1, -2, -3, -4, 5, 6, 7, 8};
    ck_tensor *A = ck_test_f32(2, (int64_t[]){2, 2}, a), *B = ck_test_f32(2, (int64_t[]){2, 2}, b);
    ck_tensor *B2 = ck_test_f32(2, (int64_t[]){2, 2}, b2);
    ck_tensor *X3 = ck_test_f32(3, (int64_t[]){2, 2, 2}, x3), *Y3 = ck_test_f32(3, (int64_t[]){2, 2, 2}, y3);
    struct { ck_axes axes; int norm; ck_tensor *x, *y; int rank; int64_t shape[3]; double v[8]; } cases[] = {
        {ck_axes_one(-1), 0, A, B, 2, {2, 1}, {-50, -250}},
        {ck_axes_one(1), 0, A, B, 2, {2, 1}, {-50, -250}},
        {ck_axes_one(-1), 1, A, B2, 2, {2, 1}, {-1, -0.96}},
        {ck_axes_one(-1), 0, X3, B, 2, {2, 2}, {-50, -110, -24, -10}},
        {ck_axes_one(-1), 0, B, X3, 2, {2, 2}, {-50, -110, -24, -10}},
        {ck_axes_one(1), 0, B, X3, 2, {2, 2}, {-70, -100, -20, -13}},
        {ck_axes_one(-1), 0, Y3, X3, 3, {2, 2, 2}, {-50, -110, -110, -250, 38, 16, 52, 22}},
        {ck_axes_one(1), 0, Y3, X3, 3, {2, 2, 2}, {-100, -140, -140, -200, 34, 22, 40, 26}},
        {ck_axes_pair(1, 2), 0, Y3, X3, 3, {2, 2, 2}, {-70, -150, -100, -220, 41, 17, 48, 20}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_layer *l = dot(cases[i].axes, cases[i].norm);
        ck_tensor *r = call2(l, cases[i].x, cases[i].y);
        expect_values(r, cases[i].rank, cases[i].shape, cases[i].v, 1e-4);
        ck_tensor_free(r);
        ck_layer_free(l);
    }
    ck_tensor_free(A); ck_tensor_free(B); ck_tensor_free(B2); ck_tensor_free(X3); ck_tensor_free(Y3);
}

/* B5 docstring: int64 inputs are not cast; axes (1,2). */
Test(dot, int64_seed_example)
{
    int64_t xv[10], yv[10];
    for (int i = 0; i < 10; i++) xv[i] = i, yv[i] = 10 + i;
    ck_tensor *x = ck_test_i64(3, (int64_t[]){1, 5, 2}, xv), *y = ck_test_i64(3, (int64_t[]){1, 2, 5}, yv);
    ck_layer *l = dot(ck_axes_pair(1, 2), 0);
    ck_tensor *r = call2(l, x, y);
    cr_expect_eq(r->dtype, CK_INT64);
    expect_values(r, 3, (int64_t[]){1, 2, 2}, (double[]){260, 360, 320, 445}, 0);
    ck_tensor_free(r); ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

/* B7: the normalize epsilon of tf.keras (1e-12) on a tiny vector. */
Test(dot, normalize_tiny_vector_tf_keras_epsilon)
{
    float v[] = {1e-5f, 0, 3, 4};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){2, 2}, v);
    ck_layer *l = dot(ck_axes_one(1), 1);
    ck_tensor *r = call2(l, x, x);
    expect_values(r, 2, (int64_t[]){2, 1}, (double[]){1, 1}, 1e-5);
    ck_tensor_free(r);
    float z[] = {0, 0, 3, 4};
    ck_tensor *zx = ck_test_f32(2, (int64_t[]){2, 2}, z);
    r = call2(l, zx, zx);
    expect_values(r, 2, (int64_t[]){2, 1}, (double[]){0, 1}, 1e-6);
    ck_tensor_free(r); ck_tensor_free(zx); ck_tensor_free(x); ck_layer_free(l);
}

/* keras-js Dot.json: Input(6) -> Dense(2) -> RepeatVector(3) on two
 * branches, then Dot; outputs of real Keras 2.1. */
Test(dot, kerasjs_goldens)
{
    json_t *root = ck_test_load_json(ck_test_data("kerasjs-goldens/Dot.json"));
    struct { ck_axes axes; int norm; } cfg[] = {
        {ck_axes_one(1), 0}, {ck_axes_one(2), 0}, {ck_axes_one(1), 1}, {ck_axes_one(2), 1}, {ck_axes_pair(2, 2), 1}};
    for (int c = 0; c < 5; c++) {
        char key[32];
        snprintf(key, sizeof key, "merge.Dot.%d", c);
        json_t *cs = json_object_get(root, key), *ws = json_object_get(cs, "weights");
        ck_tensor *x = ck_test_json_tensor(json_object_get(cs, "input"), 1);
        ck_tensor *branch[2];
        for (int b = 0; b < 2; b++) {
            ck_layer *d = NULL;
            cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 2}), CK_OK);
            cr_assert_eq(ck_layer_build(d, 1, &CK_TEST_SHAPE(-1, 6)), CK_OK);
            ck_tensor *k = ck_test_json_tensor(json_array_get(ws, (size_t)(2 * b)), 0);
            ck_tensor *bias = ck_test_json_tensor(json_array_get(ws, (size_t)(2 * b + 1)), 0);
            cr_assert_eq(ck_layer_set_weights(d, 2, (ck_tensor *[]){k, bias}), CK_OK);
            ck_tensor *h = NULL;
            cr_assert_eq(ck_layer_call(d, 1, (ck_tensor *[]){x}, &h), CK_OK);
            /* RepeatVector(3): (1, 2) -> (1, 3, 2). */
            cr_assert_eq(ck_tensor_new(&branch[b], CK_FLOAT32, 3, (int64_t[]){1, 3, 2}), CK_OK);
            for (int r = 0; r < 3; r++) memcpy((float *)branch[b]->data + 2 * r, h->data, 2 * sizeof(float));
            ck_tensor_free(h); ck_tensor_free(k); ck_tensor_free(bias); ck_layer_free(d);
        }
        ck_layer *l = dot(cfg[c].axes, cfg[c].norm);
        ck_tensor *r = call2(l, branch[0], branch[1]);
        ck_tensor *expected = ck_test_json_tensor(json_object_get(cs, "expected"), 1);
        cr_expect_leq(ck_test_max_abs_diff(r, expected), 2e-5, "%s", key);
        ck_tensor_free(r); ck_tensor_free(expected); ck_tensor_free(branch[0]); ck_tensor_free(branch[1]);
        ck_tensor_free(x); ck_layer_free(l);
    }
    json_decref(root);
}

/* B2: every error of test_dot_errors, plus B7's axis-0 cases at call time. */
Test(dot, errors)
{
    ck_layer *l = dot(ck_axes_one(-1), 0);
    ck_shape s45 = CK_TEST_SHAPE(-1, 4, 5), s46 = CK_TEST_SHAPE(-1, 4, 6);
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){s45, s46}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "5 (at axis 2) != 6 (at axis 2)") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_build(l, 1, &s45), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "should be called on a list of 2 inputs") != NULL, "%s", ck_last_error());
    ck_shape out;
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &s45, &out), CK_VALUE_ERROR);
    float v[12] = {0};
    ck_tensor *t = ck_test_f32(3, (int64_t[]){1, 4, 3}, v), *r = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){t}, &r), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_call(l, 3, (ck_tensor *[]){t, t, t}, &r), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "list of 2 inputs") != NULL, "%s", ck_last_error());
    cr_expect_null(r);
    ck_layer_free(l);

    /* An axis past the rank (Python's IndexError) is a value error. */
    l = dot(ck_axes_one(3), 0);
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){s45, s45}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "out of range") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    l = dot(ck_axes_pair(1, -4), 0);
    cr_expect_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){s45, s45}, &out), CK_VALUE_ERROR);
    ck_layer_free(l);

    /* None against a known dim fails at build, as in tf.keras. */
    l = dot(ck_axes_one(1), 0);
    cr_expect_eq(ck_layer_build(l, 2, (ck_shape[]){CK_TEST_SHAPE(-1, -1), CK_TEST_SHAPE(-1, 5)}), CK_VALUE_ERROR);
    ck_layer_free(l);

    /* Dot(0) and Dot(-2) on rank 2: axis-0 error from batch_dot at call time. */
    ck_tensor *m = ck_test_f32(2, (int64_t[]){2, 3}, v);
    int bad_axes[] = {0, -2};
    for (int i = 0; i < 2; i++) {
        l = dot(ck_axes_one(bad_axes[i]), 0);
        cr_expect_eq(ck_layer_call(l, 2, (ck_tensor *[]){m, m}, &r), CK_VALUE_ERROR);
        cr_expect(strstr(ck_last_error(), "axis 0") != NULL, "%s", ck_last_error());
        ck_layer_free(l);
    }
    /* Mixed dtypes are a type error. */
    l = dot(ck_axes_one(1), 0);
    ck_tensor *i64 = NULL;
    cr_assert_eq(ck_tensor_new(&i64, CK_INT64, 2, (int64_t[]){2, 3}), CK_OK);
    cr_expect_eq(ck_layer_call(l, 2, (ck_tensor *[]){m, i64}, &r), CK_TYPE_ERROR);
    ck_layer_free(l);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_dot(&bad, &(ck_dot_opts){0}), CK_VALUE_ERROR);
    cr_expect_eq(ck_dot(&bad, &(ck_dot_opts){.axes = {3, {1, 1}}}), CK_VALUE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
    ck_tensor_free(i64); ck_tensor_free(m); ck_tensor_free(t);
}

/* B1, B3, B6 symbolic shapes and B7's unchecked compute_output_shape. */
Test(dot, output_shapes)
{
    struct { ck_axes axes; ck_shape a, b, out; } cases[] = {
        {ck_axes_one(1), CK_TEST_SHAPE(-1, 4), CK_TEST_SHAPE(-1, 4), CK_TEST_SHAPE(-1, 1)},
        {ck_axes_pair(-1, -1), CK_TEST_SHAPE(-1, 4), CK_TEST_SHAPE(-1, 4), CK_TEST_SHAPE(-1, 1)},
        {ck_axes_one(-1), CK_TEST_SHAPE(4, 5), CK_TEST_SHAPE(4, 5), CK_TEST_SHAPE(4, 1)},
        {ck_axes_one(-1), CK_TEST_SHAPE(-1, 2, 3), CK_TEST_SHAPE(-1, 2, 3), CK_TEST_SHAPE(-1, 2, 2)},
        {ck_axes_one(1), CK_TEST_SHAPE(-1, 2, 3), CK_TEST_SHAPE(-1, 2, 3), CK_TEST_SHAPE(-1, 3, 3)},
        {ck_axes_one(-1), CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, 2, 3), CK_TEST_SHAPE(-1, 2)},
        {ck_axes_one(1), CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, 3, 4), CK_TEST_SHAPE(-1, 4)},
        {ck_axes_one(1), CK_TEST_SHAPE(-1, 3, 4), CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, 4)},
        {ck_axes_pair(-2, -1), CK_TEST_SHAPE(1, 3, 2), CK_TEST_SHAPE(1, 1, 2, 3), CK_TEST_SHAPE(1, 2, 1, 2)},
        {ck_axes_pair(1, 2), CK_TEST_SHAPE(2, 3, 5), CK_TEST_SHAPE(2, 10, 3), CK_TEST_SHAPE(2, 5, 10)},
        {ck_axes_one(-1), CK_TEST_SHAPE(-1, 2, 3, 4), CK_TEST_SHAPE(-1, 2, 3, 4), CK_TEST_SHAPE(-1, 2, 3, 2, 3)},
        {ck_axes_one(-1), CK_TEST_SHAPE(-1, 3), CK_TEST_SHAPE(-1, 3, 4), CK_TEST_SHAPE(-1, 3)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_layer *l = dot(cases[i].axes, 0);
        ck_shape out;
        cr_assert_eq(ck_layer_compute_output_shape(l, 2, (ck_shape[]){cases[i].a, cases[i].b}, &out), CK_OK,
                     "case %zu: %s", i, ck_last_error());
        cr_expect_eq(out.rank, cases[i].out.rank, "case %zu", i);
        for (int d = 0; d < out.rank; d++) cr_expect_eq(out.dims[d], cases[i].out.dims[d], "case %zu dim %d", i, d);
        ck_layer_free(l);
    }
}

/* B3 test_dot_higher_dim eagerly, against a per-sample tensordot loop. */
Test(dot, higher_dim_values)
{
    float a[6], b[6];
    for (int i = 0; i < 6; i++) a[i] = (float)(i + 1), b[i] = (float)(2 * i - 3);
    ck_tensor *x = ck_test_f32(3, (int64_t[]){1, 3, 2}, a), *y = ck_test_f32(4, (int64_t[]){1, 1, 2, 3}, b);
    ck_layer *l = dot(ck_axes_pair(-2, -1), 0);
    ck_tensor *r = call2(l, x, y);
    /* out[0,i,j,k] = sum_t x[0,t,i] * y[0,j,k,t]. */
    double e[4];
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) {
            double s = 0;
            for (int t = 0; t < 3; t++) s += a[t * 2 + i] * b[k * 3 + t];
            e[i * 2 + k] = s;
        }
    expect_values(r, 4, (int64_t[]){1, 2, 1, 2}, e, 1e-5);
    ck_tensor_free(r); ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

Test(dot, config_round_trip_and_validation)
{
    ck_clear_session();
    ck_layer *l = dot(ck_axes_pair(1, 2), 1);
    char *text = NULL;
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
    cr_expect_str_eq(text, "{\"class_name\": \"Dot\", \"config\": {\"name\": \"dot\", \"trainable\": true, "
                           "\"dtype\": \"float32\", \"axes\": [1, 2], \"normalize\": true}}");
    ck_free(text);
    ck_layer_free(l);
    l = dot(ck_axes_one(-1), 0);
    cr_assert_eq(ck_layer_get_config(l, &text), CK_OK);
    cr_expect(strstr(text, "\"axes\": -1, \"normalize\": false") != NULL, "%s", text);
    ck_layer *back = NULL;
    cr_assert_eq(ck_layer_from_config(text, &back), CK_OK);
    char *again = NULL;
    cr_assert_eq(ck_layer_get_config(back, &again), CK_OK);
    cr_expect_str_eq(again, text);
    ck_free(text); ck_free(again); ck_layer_free(l); ck_layer_free(back);
    ck_layer *x = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dot\", \"config\": {\"axes\": [1]}}", &x), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dot\", \"config\": {\"axes\": [1, 1.5]}}", &x), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dot\", \"config\": {\"axes\": \"1\"}}", &x), CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Dot\", \"config\": {\"axes\": 1.0}}", &x), CK_TYPE_ERROR);
}

Test(dot, no_weights_and_mask_dropped)
{
    ck_layer *l = dot(ck_axes_one(1), 0);
    float v[4] = {1, 2, 3, 4};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){2, 2}, v), *out = NULL, *mask = (ck_tensor *)0x1;
    int32_t mv[2] = {1, 0};
    ck_tensor *m = NULL;
    cr_assert_eq(ck_tensor_from_data(&m, CK_INT32, 1, (int64_t[]){2}, mv), CK_OK);
    cr_assert_eq(ck_layer_call_masked(l, 2, (ck_tensor *[]){x, x}, (ck_tensor *[]){m, m}, &out, &mask), CK_OK);
    cr_expect_null(mask);
    cr_expect_eq(ck_layer_weight_count(l), 0);
    int64_t n = -1;
    cr_assert_eq(ck_layer_count_params(l, &n), CK_OK);
    cr_expect_eq(n, 0);
    ck_tensor_free(out); ck_tensor_free(m); ck_tensor_free(x); ck_layer_free(l);
}
