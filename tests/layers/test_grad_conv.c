/* Training of Conv2D and MaxPooling2D: the backward passes through the
 * float64 gradient check over padding, strides, dilation, data formats,
 * activations and im2col chunking; and TF 2.15 goldens
 * (tools/gen_train_layer_goldens.py) of outputs and gradients. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_tensor *golden(const char *name, const char *key)
{
    char rel[256];
    snprintf(rel, sizeof rel, "train/layer_train/%s_%s.npy", name, key);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

/* ---- Conv2D gradient checks ------------------------------------------------- */

typedef struct conv_grad_case {
    const char *name;
    int64_t x[5];
    int rank;
    int64_t filters, kh, kw, sh, sw, dh, dw;
    const char *padding;
    int channels_first, bias;
    const char *activation;
} conv_grad_case;

static const conv_grad_case CONV_CASES[] = {
    {"valid_linear", {2, 5, 6, 3}, 4, 4, 3, 3, 1, 1, 1, 1, "valid", 0, 1, NULL},
    {"same_s2_relu", {2, 5, 5, 3}, 4, 3, 3, 3, 2, 2, 1, 1, "same", 0, 1, "relu"},
    {"same_even_s2_tanh", {1, 6, 7, 2}, 4, 3, 2, 2, 2, 2, 1, 1, "same", 0, 1, "tanh"},
    {"same_d2_sigmoid", {2, 6, 6, 2}, 4, 3, 3, 3, 1, 1, 2, 2, "same", 0, 1, "sigmoid"},
    {"valid_d21_nobias", {1, 7, 6, 3}, 4, 2, 2, 3, 1, 1, 2, 1, "valid", 0, 0, "linear"},
    {"valid_s21_swish", {2, 6, 5, 2}, 4, 3, 3, 2, 2, 1, 1, 1, "valid", 0, 1, "swish"},
    {"pointwise", {2, 3, 4, 5}, 4, 3, 1, 1, 1, 1, 1, 1, "valid", 0, 1, "elu"},
    {"pointwise_s2", {1, 5, 5, 3}, 4, 2, 1, 1, 2, 2, 1, 1, "same", 0, 1, NULL},
    {"cf_same_s2_relu", {2, 3, 5, 5}, 4, 3, 3, 3, 2, 2, 1, 1, "same", 1, 1, "relu"},
    {"cf_valid_d2_nobias", {1, 2, 7, 6}, 4, 3, 2, 2, 1, 1, 2, 2, "valid", 1, 0, "tanh"},
    {"cf_pointwise", {2, 4, 3, 3}, 4, 2, 1, 1, 1, 1, 1, 1, "valid", 1, 1, "sigmoid"},
    {"cf_softmax", {1, 2, 4, 5}, 4, 3, 2, 2, 1, 1, 1, 1, "same", 1, 1, "softmax"},
    {"softmax", {1, 4, 5, 2}, 4, 3, 3, 2, 1, 2, 1, 1, "same", 0, 1, "softmax"},
    {"rank5", {2, 1, 5, 5, 2}, 5, 3, 3, 3, 1, 1, 1, 1, "valid", 0, 1, "selu"},
    {"cf_rank5_s2", {1, 2, 2, 5, 4}, 5, 2, 2, 2, 2, 2, 1, 1, "same", 1, 1, NULL},
};

static ck_layer *make_conv(const conv_grad_case *c, ck_dtype dtype)
{
    ck_layer *l = NULL;
    ck_status st = ck_conv2d(&l, &(ck_conv2d_opts){
                                     .filters = c->filters,
                                     .kernel_size = {c->kh, c->kw},
                                     .strides = {c->sh, c->sw},
                                     .padding = c->padding,
                                     .data_format = c->channels_first ? "channels_first" : NULL,
                                     .dilation_rate = {c->dh, c->dw},
                                     .activation = c->activation,
                                     .no_bias = !c->bias,
                                     .bias_initializer = "random_normal",
                                     .dtype = dtype,
                                 });
    cr_assert_eq(st, CK_OK, "%s: %s", c->name, ck_last_error());
    return l;
}

Test(grad_conv, conv2d_gradcheck_grid)
{
    for (size_t i = 0; i < sizeof CONV_CASES / sizeof CONV_CASES[0]; i++) {
        const conv_grad_case *c = &CONV_CASES[i];
        ck_layer *l = make_conv(c, CK_FLOAT64);
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, c->rank, c->x, -1, 1, 100 + i);
        long checked = ck_test_gradcheck(l, 1, &x, 1, 1e-6);
        cr_expect_gt(checked, 0, "%s", c->name);
        /* Inference-mode bookkeeping gives the same gradients (no mode). */
        checked = ck_test_gradcheck(l, 1, &x, 0, 1e-6);
        cr_expect_gt(checked, 0, "%s", c->name);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* Enough positions x patch size for several im2col chunks (inference's
 * of 1 << 20 elements; training's, channels_last, of 1 << 17 in each of
 * the two images' runs), both data formats. */
Test(grad_conv, conv2d_gradcheck_chunks)
{
    static const conv_grad_case big[] = {
        {"chunks_last", {2, 31, 31, 300}, 4, 2, 2, 2, 1, 1, 1, 1, "valid", 0, 1, "tanh"},
        {"chunks_first", {1, 300, 31, 31}, 4, 2, 2, 2, 1, 1, 1, 1, "same", 1, 1, "tanh"},
    };
    for (size_t i = 0; i < 2; i++) {
        ck_layer *l = make_conv(&big[i], CK_FLOAT64);
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, 4, big[i].x, -1, 1, 7 + i);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", big[i].name);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* A frozen Conv2D: no weight gradients wanted, the input's still right. */
Test(grad_conv, conv2d_frozen_input_gradient)
{
    ck_layer *l = make_conv(&CONV_CASES[1], CK_FLOAT64);
    ck_layer_set_trainable(l, 0);
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 4, CONV_CASES[1].x, -1, 1, 3);
    cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0);
    ck_tensor_free(x);
    ck_layer_free(l);
}

/* Gradients add into weight->grad: two backward passes give twice one. */
Test(grad_conv, conv2d_gradients_accumulate)
{
    const conv_grad_case *c = &CONV_CASES[1];
    ck_layer *l = make_conv(c, CK_FLOAT32);
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 4, c->x, -1, 1, 5);
    ck_test_step s1;
    int64_t yshape[4] = {2, 3, 3, 3};
    ck_tensor *dy = ck_test_uniform(CK_FLOAT32, 4, yshape, -1, 1, 6);
    ck_test_train_step(l, x, dy, 1, 1, &s1);
    /* Re-run with the previous step's gradients as the accumulators. */
    ck_rng rng;
    ck_rng_seed(&rng, 1);
    ck_train_ctx ctx = {.training = 1, .rng = &rng};
    ck_shape is = ck_tensor_shape(x), os = ck_tensor_shape(s1.y);
    size_t bytes = ck_layer_saved_bytes(l, 1, &is, &os);
    void *saved = aligned_alloc(64, bytes ? bytes : 64);
    ck_tensor *acc[2] = {NULL, NULL}, *y = NULL, *dcopy = NULL;
    for (int j = 0; j < 2; j++) {
        cr_assert_eq(ck_tensor_copy(&acc[j], s1.grads[j]), CK_OK);
        ck_layer_trainable_weight(l, j)->grad = acc[j];
    }
    cr_assert_eq(ck_tensor_copy(&y, s1.y), CK_OK);
    cr_assert_eq(ck_tensor_copy(&dcopy, dy), CK_OK);
    const ck_tensor *ins[1] = {x};
    cr_assert_eq(ck_layer_train_call(l, &ctx, 1, ins, &y, saved), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_backward(l, &ctx, 1, ins, y, dcopy, saved, NULL), CK_OK, "%s", ck_last_error());
    for (int j = 0; j < 2; j++) {
        for (int64_t i = 0; i < acc[j]->size; i++)
            cr_expect_float_eq(ck_tensor_get(acc[j], i), 2 * ck_tensor_get(s1.grads[j], i), 1e-5);
        ck_layer_trainable_weight(l, j)->grad = NULL;
        ck_tensor_free(acc[j]);
    }
    free(saved);
    ck_tensor_free(y);
    ck_tensor_free(dcopy);
    ck_tensor_free(dy);
    ck_tensor_free(x);
    ck_test_step_free(&s1);
    ck_layer_free(l);
}

/* ---- Conv2D against TF ------------------------------------------------------- */

static void conv_golden(const char *name, const ck_conv2d_opts *o)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv2d(&l, o), CK_OK, "%s", ck_last_error());
    ck_tensor *x = golden(name, "x"), *k = golden(name, "kernel"), *b = golden(name, "bias");
    ck_tensor *dy = golden(name, "dy");
    ck_shape is = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s", ck_last_error());
    ck_tensor *w[2] = {k, b};
    cr_assert_eq(ck_layer_set_weights(l, 2, w), CK_OK, "%s", ck_last_error());
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 1, &s);
    ck_tensor *y = golden(name, "y"), *dx = golden(name, "dx"), *dk = golden(name, "dkernel");
    ck_tensor *db = golden(name, "dbias");
    ck_test_expect_close_rel(s.y, y, 1e-5, "y");
    ck_test_expect_close_rel(s.dx, dx, 1e-5, "dx");
    ck_test_expect_close_rel(s.grads[0], dk, 1e-5, "dkernel");
    ck_test_expect_close_rel(s.grads[1], db, 1e-5, "dbias");
    ck_test_step_free(&s);
    ck_tensor *all[] = {x, k, b, dy, y, dx, dk, db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ck_tensor_free(all[i]);
    ck_layer_free(l);
}

Test(grad_conv, conv2d_tf_same_stride2)
{
    conv_golden("conv_same_s2",
                &(ck_conv2d_opts){.filters = 4, .kernel_size = {3, 3}, .strides = {2, 2}, .padding = "same"});
}

Test(grad_conv, conv2d_tf_same_stride2_tanh)
{
    conv_golden("conv_same_s2_tanh", &(ck_conv2d_opts){.filters = 4, .kernel_size = {3, 3}, .strides = {2, 2},
                                                       .padding = "same", .activation = "tanh"});
}

/* Patch rows (9) shorter than the output rows (16): the im2col matrix
 * is kept from the forward pass for the kernel gradient, while the
 * forward output comes from the direct kernels where they run. */
Test(grad_conv, conv2d_tf_first_layer_relu)
{
    conv_golden("conv_first_relu",
                &(ck_conv2d_opts){.filters = 16, .kernel_size = {3, 3}, .padding = "valid", .activation = "relu"});
}

/* Patch rows (45) longer than the output rows (4): the matrix is built in
 * chunks in both passes. */
Test(grad_conv, conv2d_tf_chunked_relu)
{
    conv_golden("conv_relu_chunked",
                &(ck_conv2d_opts){.filters = 4, .kernel_size = {3, 3}, .padding = "same", .activation = "relu"});
}

/* 8 channels or more, 3x3, stride 1: the forward pass through the
 * Winograd kernels where the CPU has them. */
Test(grad_conv, conv2d_tf_winograd_relu)
{
    conv_golden("conv_wino_relu",
                &(ck_conv2d_opts){.filters = 16, .kernel_size = {3, 3}, .padding = "same", .activation = "relu"});
}

Test(grad_conv, conv2d_tf_valid_dilated)
{
    conv_golden("conv_valid_d2",
                &(ck_conv2d_opts){.filters = 3, .kernel_size = {2, 3}, .dilation_rate = {2, 2}, .padding = "valid"});
}

/* ---- MaxPooling2D ------------------------------------------------------------ */

typedef struct pool_grad_case {
    const char *name;
    int64_t x[4];
    int64_t ph, pw, sh, sw;
    const char *padding;
    int channels_first;
} pool_grad_case;

static const pool_grad_case POOL_CASES[] = {
    {"valid_2x2", {2, 4, 6, 3}, 2, 2, 2, 2, "valid", 0},
    /* side by side, with a last row and column that no window covers */
    {"valid_2x3_odd", {2, 5, 7, 3}, 2, 3, 2, 3, "valid", 0},
    {"same_3x3_s2", {2, 5, 5, 2}, 3, 3, 2, 2, "same", 0},
    {"same_overlap_s1", {1, 4, 5, 2}, 3, 2, 1, 1, "same", 0},
    {"valid_3x2_s21", {1, 6, 5, 3}, 3, 2, 2, 1, "valid", 0},
    {"cf_valid_2x2", {2, 3, 4, 6}, 2, 2, 2, 2, "valid", 1},
    {"cf_same_3x3_s2", {1, 2, 5, 7}, 3, 3, 2, 2, "same", 1},
};

static ck_layer *make_pool(const pool_grad_case *c, ck_dtype dtype)
{
    ck_layer *l = NULL;
    ck_status st = ck_max_pooling2d(&l, &(ck_max_pooling2d_opts){
                                            .pool_size = {c->ph, c->pw},
                                            .strides = {c->sh, c->sw},
                                            .padding = c->padding,
                                            .data_format = c->channels_first ? "channels_first" : NULL,
                                            .dtype = dtype,
                                        });
    cr_assert_eq(st, CK_OK, "%s: %s", c->name, ck_last_error());
    return l;
}

Test(grad_conv, max_pooling2d_gradcheck_grid)
{
    for (size_t i = 0; i < sizeof POOL_CASES / sizeof POOL_CASES[0]; i++) {
        ck_layer *l = make_pool(&POOL_CASES[i], CK_FLOAT64);
        /* Distinct continuous values: no window has a tie within the step. */
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, 4, POOL_CASES[i].x, -1, 1, 200 + i);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s", POOL_CASES[i].name);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* Ties go to the first maximum in the window's scan order, as in TF. */
Test(grad_conv, max_pooling2d_ties_first_in_scan_order)
{
    int64_t shape[4] = {1, 2, 2, 1};
    float v[4] = {1, 3, 3, 3};
    ck_tensor *x = ck_test_f32(4, shape, v);
    ck_layer *l = NULL;
    cr_assert_eq(ck_max_pooling2d(&l, NULL), CK_OK);
    int64_t one[4] = {1, 1, 1, 1};
    float g = 2;
    ck_tensor *dy = ck_test_f32(4, one, &g);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 1, &s);
    const float *dx = s.dx->data;
    cr_expect_eq(dx[0], 0);
    cr_expect_eq(dx[1], 2);
    cr_expect_eq(dx[2], 0);
    cr_expect_eq(dx[3], 0);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

static void pool_golden(const char *name, const ck_max_pooling2d_opts *o)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_max_pooling2d(&l, o), CK_OK, "%s", ck_last_error());
    ck_tensor *x = golden(name, "x"), *dy = golden(name, "dy"), *y = golden(name, "y"), *dx = golden(name, "dx");
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 1, &s);
    ck_test_expect_close_rel(s.y, y, 0, "y");
    ck_test_expect_close_rel(s.dx, dx, 1e-6, "dx");
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_tensor_free(y);
    ck_tensor_free(dx);
    ck_layer_free(l);
}

Test(grad_conv, max_pooling2d_tf_same_stride2_ties)
{
    pool_golden("pool_same_s2",
                &(ck_max_pooling2d_opts){.pool_size = {3, 3}, .strides = {2, 2}, .padding = "same"});
}

Test(grad_conv, max_pooling2d_tf_valid_ties)
{
    pool_golden("pool_valid", &(ck_max_pooling2d_opts){.pool_size = {2, 2}});
}

/* Integer inputs train forward (no gradient is asked of them). */
Test(grad_conv, max_pooling2d_integer_forward)
{
    int64_t shape[4] = {1, 2, 2, 1}, v[4] = {4, 7, 1, 2};
    ck_tensor *x = ck_test_i64(4, shape, v);
    ck_layer *l = NULL;
    cr_assert_eq(ck_max_pooling2d(&l, NULL), CK_OK);
    ck_shape is = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK);
    int64_t one[4] = {1, 1, 1, 1};
    ck_tensor *y = NULL;
    cr_assert_eq(ck_tensor_new(&y, CK_INT64, 4, one), CK_OK);
    ck_train_ctx ctx = {.training = 1};
    int64_t saved[8];
    const ck_tensor *ins[1] = {x};
    cr_assert_eq(ck_layer_train_call(l, &ctx, 1, ins, &y, saved), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_tensor_get(y, 0), 7);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_layer_free(l);
}
