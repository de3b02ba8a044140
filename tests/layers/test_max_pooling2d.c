/* MaxPooling2D: values against numpy goldens (tools/gen_conv_goldens.py:
 * window-max references), shapes, NaN, errors, configs and failing
 * allocations. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"


static void free_slot(void *ctx) { ck_tensor_free(*(ck_tensor **)ctx); }

/* The POOL table of tools/gen_conv_goldens.py. */
static const struct pool_case {
    const char *name;
    int64_t ph, pw, sh, sw;
    const char *padding;
    int channels_first;
} POOL[] = {
    {"default", 0, 0, 0, 0, NULL, 0},
    {"same_3s2", 3, 3, 2, 2, "same", 0},
    {"same_23_s12", 2, 3, 1, 2, "same", 0},
    {"cf_valid_s1", 2, 2, 1, 1, "valid", 1},
    {"cf_same_3s2", 3, 0, 2, 0, "same", 1},
    {"int32_same", 2, 2, 2, 2, "same", 0},
    {"big_pool_negative", 4, 4, 1, 1, "same", 0},
    {"f64_valid", 3, 2, 1, 2, "valid", 0},
};

Test(max_pooling2d, values_against_numpy)
{
    for (size_t i = 0; i < sizeof POOL / sizeof POOL[0]; i++) {
        const struct pool_case *c = &POOL[i];
        ck_tensor *x = ck_test_npy_named("conv/pool_%s_x.npy", c->name), *y = ck_test_npy_named("conv/pool_%s_y.npy", c->name);
        ck_layer *l = NULL;
        ck_dtype dt = x->dtype == CK_FLOAT64 ? CK_FLOAT64 : CK_FLOAT32;
        cr_assert_eq(ck_max_pooling2d(&l, &(ck_max_pooling2d_opts){
                                              .pool_size = {c->ph, c->pw},
                                              .strides = {c->sh, c->sw},
                                              .padding = c->padding,
                                              .data_format = c->channels_first ? "channels_first" : NULL,
                                              .dtype = dt}),
                     CK_OK, "%s: %s", c->name, ck_last_error());
        ck_tensor *got = ck_test_call1(l, x);
        ck_test_expect_near(got, y, 0, c->name); /* a max is exact */
        ck_tensor_free(got), ck_tensor_free(x), ck_tensor_free(y);
        ck_layer_free(l);
    }
}

Test(max_pooling2d, shapes_nan_and_errors)
{
    ck_layer *l = NULL;
    ck_shape out;
    cr_assert_eq(ck_max_pooling2d(&l, NULL), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 24, 25, 32), &out), CK_OK);
    cr_expect(out.rank == 4 && out.dims[0] == -1 && out.dims[1] == 12 && out.dims[2] == 12 && out.dims[3] == 32);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(2, -1, 1, 3), &out), CK_OK);
    cr_expect(out.dims[1] == -1 && out.dims[2] == 0);
    /* A NaN in a window wins. */
    ck_tensor *x = ck_test_f32(4, (int64_t[]){1, 2, 2, 1}, (float[]){1, NAN, 3, 2});
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect(isnan(((float *)y->data)[0]));
    ck_tensor_free(y);
    ck_tensor_free(x);
    /* InputSpec(ndim=4). */
    ck_tensor *x5 = NULL;
    cr_assert_eq(ck_tensor_new(&x5, CK_FLOAT32, 5, (int64_t[]){1, 2, 2, 2, 1}), CK_OK);
    y = (ck_tensor *)0x1;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x5}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected ndim=4, found ndim=5") != NULL, "%s", ck_last_error());
    cr_expect_eq(y, (ck_tensor *)0x1);
    ck_tensor_free(x5);
    ck_layer_free(l);
    /* valid with a window larger than the input by more than a stride. */
    cr_assert_eq(ck_max_pooling2d(&l, &(ck_max_pooling2d_opts){.pool_size = {3}, .strides = {1}}), CK_OK);
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 1, 5, 2), &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "must be >= 0") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    /* strides default to pool_size; {k} is k x k. */
    cr_assert_eq(ck_max_pooling2d(&l, &(ck_max_pooling2d_opts){.pool_size = {3}, .padding = "Same",
                                                                  .data_format = "channels_first"}), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 4, 7, 9), &out), CK_OK);
    cr_expect(out.dims[1] == 4 && out.dims[2] == 3 && out.dims[3] == 3);
    ck_layer_free(l);

    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_max_pooling2d(&bad, &(ck_max_pooling2d_opts){.pool_size = {-1, 2}}), CK_VALUE_ERROR);
    cr_expect_eq(ck_max_pooling2d(&bad, &(ck_max_pooling2d_opts){.padding = "causal"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_max_pooling2d(&bad, &(ck_max_pooling2d_opts){.padding = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_max_pooling2d(&bad, &(ck_max_pooling2d_opts){.data_format = "nope"}), CK_VALUE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
}

Test(max_pooling2d, configs)
{
    const char *tf2 = "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"max_pooling2d\", \"trainable\": "
                      "true, \"dtype\": \"float32\", \"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": "
                      "[2, 2], \"data_format\": \"channels_last\"}}";
    ck_test_round_trip(tf2, NULL);
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_max_pooling2d(&l, NULL), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, tf2);
    ck_free(text);
    ck_layer_free(l);
    /* Keras 2.0.6 (the MNIST CNN: no dtype), and strides null = pool_size. */
    ck_test_round_trip("{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"maxpooling2d_1\", \"trainable\": "
                       "true, \"data_format\": \"channels_last\", \"pool_size\": [2, 2], \"padding\": \"valid\", "
                       "\"strides\": [2, 2]}}",
                       "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"maxpooling2d_1\", \"trainable\": "
                       "true, \"dtype\": \"float32\", \"pool_size\": [2, 2], \"padding\": \"valid\", \"strides\": "
                       "[2, 2], \"data_format\": \"channels_last\"}}");
    ck_test_round_trip("{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"p\", \"trainable\": true, "
                       "\"dtype\": \"float32\", \"pool_size\": 3, \"padding\": \"SAME\", \"strides\": null, "
                       "\"data_format\": \"channels_first\"}}",
                       "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"p\", \"trainable\": true, "
                       "\"dtype\": \"float32\", \"pool_size\": [3, 3], \"padding\": \"same\", \"strides\": [3, 3], "
                       "\"data_format\": \"channels_first\"}}");
    /* Keras 1.2. */
    ck_test_round_trip("{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"maxpooling2d_1\", \"trainable\": "
                       "true, \"pool_size\": [2, 3], \"strides\": [1, 2], \"border_mode\": \"same\", "
                       "\"dim_ordering\": \"th\"}}",
                       "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"maxpooling2d_1\", \"trainable\": "
                       "true, \"dtype\": \"float32\", \"pool_size\": [2, 3], \"padding\": \"same\", \"strides\": "
                       "[1, 2], \"data_format\": \"channels_first\"}}");
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"MaxPooling2D\", \"config\": {\"strides\": [0, 1]}}", &l),
                 CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"MaxPooling2D\", \"config\": {\"pool_size\": [2]}}", &l),
                 CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"MaxPooling2D\", \"config\": {\"units\": 2}}", &l),
                 CK_TYPE_ERROR);
}

static ck_status pool_run(void *ctx)
{
    ck_tensor **slot = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_max_pooling2d(&l, &(ck_max_pooling2d_opts){.padding = "same", .pool_size = {3}, .strides = {2}});
    if (st != CK_OK) return st;
    double v[1 * 5 * 5 * 2];
    for (int i = 0; i < 50; i++) v[i] = i % 9;
    ck_tensor *x = NULL;
    st = ck_tensor_wrap(&x, CK_FLOAT64, 4, (int64_t[]){1, 5, 5, 2}, v); /* cast to float32 by the call */
    if (st == CK_OK) st = ck_layer_call(l, 1, &x, slot);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

Test(max_pooling2d, failing_allocations)
{
    ck_tensor *out = NULL;
    cr_expect_gt(ck_test_every_allocation_fails(pool_run, free_slot, &out), 2);
}

