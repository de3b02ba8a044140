/* Conv2D: values against numpy goldens (tools/gen_conv_goldens.py: direct
 * einsum references), output shapes, weights, errors and failing
 * allocations.  Configs are in test_conv_configs.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"


/* ---- Conv2D values ------------------------------------------------------------ */

/* The CONV table of tools/gen_conv_goldens.py. */
typedef struct conv_case {
    const char *name;
    int64_t filters, kh, kw, sh, sw;
    const char *padding;
    int64_t dh, dw;
    int channels_first, bias;
    const char *activation;
    ck_dtype dtype;
} conv_case;

static const conv_case CONV[] = {
    {"valid_relu", 4, 3, 3, 1, 1, "valid", 1, 1, 0, 1, "relu", CK_FLOAT32},
    {"same_even_nobias", 5, 2, 2, 1, 1, "same", 1, 1, 0, 0, "linear", CK_FLOAT32},
    {"same_s2", 3, 3, 2, 2, 2, "same", 1, 1, 0, 1, "linear", CK_FLOAT32},
    {"valid_s2_tanh", 2, 3, 3, 2, 2, "valid", 1, 1, 0, 1, "tanh", CK_FLOAT32},
    {"same_d2", 3, 3, 3, 1, 1, "same", 2, 2, 0, 1, "linear", CK_FLOAT32},
    {"valid_d21_nobias", 4, 2, 3, 1, 1, "valid", 2, 1, 0, 0, "relu", CK_FLOAT32},
    {"cf_same_s2", 4, 3, 3, 2, 2, "same", 1, 1, 1, 1, "relu", CK_FLOAT32},
    {"cf_valid_d2_nobias", 3, 2, 2, 1, 1, "valid", 2, 2, 1, 0, "linear", CK_FLOAT32},
    {"pointwise", 6, 1, 1, 1, 1, "valid", 1, 1, 0, 1, "linear", CK_FLOAT32},
    {"cf_pointwise", 2, 1, 1, 1, 1, "same", 1, 1, 1, 1, "sigmoid", CK_FLOAT32},
    {"pointwise_s2", 3, 1, 1, 2, 2, "valid", 1, 1, 0, 1, "linear", CK_FLOAT32},
    {"same_f64", 4, 3, 3, 1, 1, "same", 1, 1, 0, 1, "relu", CK_FLOAT64},
    {"cf_softmax", 3, 2, 2, 1, 1, "same", 1, 1, 1, 1, "softmax", CK_FLOAT32},
    {"rank5", 3, 3, 3, 1, 1, "valid", 1, 1, 0, 1, "linear", CK_FLOAT32},
    {"kernel_too_big_s3", 2, 3, 3, 3, 1, "valid", 1, 1, 0, 1, "linear", CK_FLOAT32},
};
#define N_CONV ((int)(sizeof CONV / sizeof CONV[0]))

static ck_layer *make_conv(const conv_case *c)
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
                                     .dtype = c->dtype,
                                 });
    cr_assert_eq(st, CK_OK, "%s: %s", c->name, ck_last_error());
    return l;
}

/* Builds for x's shape and sets the case's kernel (and bias). */
static void set_case_weights(ck_layer *l, const conv_case *c, const ck_tensor *x, ck_tensor *k, ck_tensor *b)
{
    ck_shape s = {x->rank, {0}};
    for (int i = 0; i < x->rank; i++) s.dims[i] = i == 0 ? -1 : x->shape[i];
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s: %s", c->name, ck_last_error());
    ck_tensor *w[2] = {k, b};
    cr_assert_eq(ck_layer_set_weights(l, b ? 2 : 1, w), CK_OK, "%s: %s", c->name, ck_last_error());
}

Test(conv2d, values_against_numpy)
{
    for (int i = 0; i < N_CONV; i++) {
        const conv_case *c = &CONV[i];
        ck_tensor *x = ck_test_npy_named("conv/conv_%s_x.npy", c->name), *k = ck_test_npy_named("conv/conv_%s_k.npy", c->name);
        ck_tensor *y = ck_test_npy_named("conv/conv_%s_y.npy", c->name), *b = c->bias ? ck_test_npy_named("conv/conv_%s_b.npy", c->name) : NULL;
        ck_layer *l = make_conv(c);
        set_case_weights(l, c, x, k, b);
        ck_tensor *got = ck_test_call1(l, x);
        ck_test_expect_near(got, y, c->dtype == CK_FLOAT64 ? 1e-12 : 2e-5, c->name);
        /* compute_output_shape agrees with the call, with a None batch. */
        ck_shape in = {x->rank, {0}}, out;
        for (int d = 0; d < x->rank; d++) in.dims[d] = d == 0 ? -1 : x->shape[d];
        cr_assert_eq(ck_layer_compute_output_shape(l, 1, &in, &out), CK_OK, "%s", ck_last_error());
        cr_expect_eq(out.dims[0], -1);
        for (int d = 1; d < x->rank; d++) cr_expect_eq(out.dims[d], y->shape[d], "%s dim %d", c->name, d);
        ck_tensor_free(got);
        ck_layer_free(l);
        ck_tensor_free(x), ck_tensor_free(k), ck_tensor_free(y), ck_tensor_free(b);
    }
}

/* ((i * mul) % mod - mod / 2) / div, the generator's formula(). */
static ck_tensor *formula(int rank, const int64_t *shape, int64_t mul, int64_t mod, double div)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, rank, shape), CK_OK);
    float *v = t->data;
    for (int64_t i = 0; i < t->size; i++) v[i] = (float)((double)((i * mul) % mod - mod / 2) / div);
    return t;
}

/* 11x11x32 kernels: several im2col chunks, one spanning two images
 * (channels_last) or splitting a plane (channels_first). */
Test(conv2d, values_over_several_scratch_chunks)
{
    struct { const char *name; int64_t x[4]; int cf; } cases[] = {
        {"big_last", {2, 16, 16, 32}, 0},
        {"big_first", {2, 32, 18, 18}, 1},
    };
    for (int i = 0; i < 2; i++) {
        ck_tensor *x = formula(4, cases[i].x, 7919, 201, 64.0);
        ck_tensor *k = formula(4, (int64_t[]){11, 11, 32, 2}, 104729, 61, 256.0);
        ck_tensor *y = ck_test_npy_named("conv/conv_%s_y.npy", cases[i].name);
        ck_layer *l = NULL;
        cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {11}, .padding = "SAME",
                                                       .no_bias = true,
                                                       .data_format = cases[i].cf ? "channels_first" : NULL}),
                     CK_OK, "%s", ck_last_error());
        conv_case c = {.name = cases[i].name};
        set_case_weights(l, &c, x, k, NULL);
        ck_tensor *got = ck_test_call1(l, x);
        ck_test_expect_near(got, y, 1e-4, cases[i].name);
        ck_tensor_free(got), ck_tensor_free(x), ck_tensor_free(k), ck_tensor_free(y);
        ck_layer_free(l);
    }
}

Test(conv2d, weights_shapes_and_names)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 8, .kernel_size = {3, 2}, .name = "c"}), CK_OK);
    cr_expect_eq(ck_layer_built(l), 0);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 10, 9, 5)), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_weight_count(l), 2);
    const ck_tensor *k = ck_weight_value(ck_layer_weight(l, 0)), *b = ck_weight_value(ck_layer_weight(l, 1));
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 0)), "c/kernel:0");
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 1)), "c/bias:0");
    cr_expect(k->rank == 4 && k->shape[0] == 3 && k->shape[1] == 2 && k->shape[2] == 5 && k->shape[3] == 8);
    cr_expect(b->rank == 1 && b->shape[0] == 8);
    /* glorot_uniform: limit sqrt(6 / (fan_in + fan_out)), fans scaled by the
     * receptive field 3*2: 30 and 48; bias zeros. */
    double limit = sqrt(6.0 / (30 + 48)), mx = 0;
    for (int64_t i = 0; i < k->size; i++) mx = fmax(mx, fabs(((float *)k->data)[i]));
    cr_expect(mx <= limit && mx > limit / 2, "max |kernel| %g, limit %g", mx, limit);
    for (int64_t i = 0; i < b->size; i++) cr_expect_eq(((float *)b->data)[i], 0.0f);
    int64_t n = 0;
    cr_assert_eq(ck_layer_count_params(l, &n), CK_OK);
    cr_expect_eq(n, 3 * 2 * 5 * 8 + 8);
    ck_layer_free(l);

    /* channels_first takes the channels from axis 1 (of rank 4). */
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 4, .kernel_size = {1}, .no_bias = true,
                                                   .data_format = "Channels_First"}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 6, 10, 9)), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_layer_weight_count(l), 1);
    cr_expect_eq(ck_weight_value(ck_layer_weight(l, 0))->shape[2], 6);
    ck_layer_free(l);
}

Test(conv2d, output_shapes)
{
    ck_layer *l = NULL;
    ck_shape out;
    /* conv_output_length: valid (in - k_eff) // s + 1, same ceil(in / s),
     * None stays None. */
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 7, .kernel_size = {3}, .strides = {2}}), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 28, -1, 3), &out), CK_OK);
    cr_expect(out.rank == 4 && out.dims[0] == -1 && out.dims[1] == 13 && out.dims[2] == -1 && out.dims[3] == 7);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(4, 3, 4, 3), &out), CK_OK);
    cr_expect(out.dims[0] == 4 && out.dims[1] == 1 && out.dims[2] == 1);
    /* 2 - 3 + 1 = 0 -> (0 + 1) // 2 = 0: an empty output, not an error. */
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(4, 2, 4, 3), &out), CK_OK);
    cr_expect(out.dims[1] == 0 && out.dims[2] == 1);
    /* 1 - 3 + 1 = -1 -> (-1 + 1) // 2 = 0 still. */
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(4, 1, 4, 3), &out), CK_OK);
    cr_expect_eq(out.dims[1], 0);
    ck_layer_free(l);
    /* Stride 1: 1 - 3 + 1 = -1 is negative: Keras' ValueError. */
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {3}, .name = "small"}), CK_OK);
    cr_expect_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 1, 5, 3), &out), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "One of the dimensions in the output is <= 0 due to downsampling in small") !=
              NULL, "%s", ck_last_error());
    cr_expect(strstr(ck_last_error(), "[None, 1, 5, 3]") != NULL, "%s", ck_last_error());
    /* Build runs the same check and creates nothing. */
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 1, 5, 3)), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_built(l), 0);
    cr_expect_eq(ck_layer_weight_count(l), 0);
    ck_layer_free(l);
    /* Dilation widens the kernel: 3 taps at rate 3 span 7. */
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {3}, .dilation_rate = {3, 1}}), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(-1, 10, 10, 3), &out), CK_OK);
    cr_expect(out.dims[1] == 4 && out.dims[2] == 8);
    ck_layer_free(l);
    /* channels_first, same, stride 3. */
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 5, .kernel_size = {4, 2}, .strides = {3}, .padding = "same",
                                                   .data_format = "channels_first"}), CK_OK);
    cr_assert_eq(ck_layer_compute_output_shape(l, 1, &CK_TEST_SHAPE(2, 3, 10, 9), &out), CK_OK);
    cr_expect(out.dims[0] == 2 && out.dims[1] == 5 && out.dims[2] == 4 && out.dims[3] == 3);
    ck_layer_free(l);
}

Test(conv2d, integer_inputs_are_cast_and_empty_outputs_work)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 1, .kernel_size = {2}, .kernel_initializer = "ones",
                                                   .bias_initializer = "ones"}), CK_OK);
    ck_tensor *x = ck_test_i64(4, (int64_t[]){1, 2, 3, 1}, (int64_t[]){1, 2, 3, 4, 5, 6});
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(y->dtype, CK_FLOAT32);
    cr_assert(y->rank == 4 && y->shape[1] == 1 && y->shape[2] == 2 && y->shape[3] == 1);
    /* 1+2+4+5 + 1 and 2+3+5+6 + 1 */
    cr_expect_eq(((float *)y->data)[0], 13.0f);
    cr_expect_eq(((float *)y->data)[1], 17.0f);
    ck_tensor_free(y);
    ck_tensor_free(x);
    /* A batch of 0 gives an empty output. */
    ck_tensor *e = NULL;
    cr_assert_eq(ck_tensor_new(&e, CK_FLOAT32, 4, (int64_t[]){0, 2, 3, 1}), CK_OK);
    y = ck_test_call1(l, e);
    cr_expect(y->size == 0 && y->shape[0] == 0 && y->shape[2] == 2);
    ck_tensor_free(y);
    ck_tensor_free(e);
    ck_layer_free(l);
}

/* ---- Conv2D errors ------------------------------------------------------------ */

Test(conv2d, constructor_errors)
{
    ck_layer *l = (ck_layer *)0x1;
    struct { ck_conv2d_opts o; ck_status st; const char *msg; } bad[] = {
        {{.filters = 0, .kernel_size = {3}}, CK_VALUE_ERROR, "Expected a strictly positive value"},
        {{.filters = -2, .kernel_size = {3}}, CK_VALUE_ERROR, "filters=-2"},
        {{.filters = 2}, CK_VALUE_ERROR, "kernel_size"},
        {{.filters = 2, .kernel_size = {3, -1}}, CK_VALUE_ERROR, "`kernel_size` argument must be a tuple of 2"},
        {{.filters = 2, .kernel_size = {3}, .strides = {-1, 1}}, CK_VALUE_ERROR, "`strides`"},
        {{.filters = 2, .kernel_size = {3}, .strides = {2}, .dilation_rate = {2}}, CK_VALUE_ERROR,
         "`strides > 1` not supported in conjunction with `dilation_rate > 1`"},
        {{.filters = 2, .kernel_size = {3}, .padding = "full_of_it"}, CK_VALUE_ERROR,
         "The `padding` argument must be"},
        {{.filters = 2, .kernel_size = {3}, .padding = "causal"}, CK_VALUE_ERROR, "Causal padding is only supported"},
        {{.filters = 2, .kernel_size = {3}, .data_format = "channels_middle"}, CK_VALUE_ERROR, "`data_format`"},
        {{.filters = 5, .kernel_size = {3}, .groups = 2}, CK_VALUE_ERROR, "evenly divisible by the number of groups"},
        {{.filters = 2, .kernel_size = {3}, .groups = -1}, CK_VALUE_ERROR, "groups"},
        {{.filters = 2, .kernel_size = {3}, .activation = "nope"}, CK_VALUE_ERROR, "nope"},
        {{.filters = 2, .kernel_size = {3}, .kernel_regularizer = "nope"}, CK_VALUE_ERROR, "nope"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_expect_eq(ck_conv2d(&l, &bad[i].o), bad[i].st, "case %zu: %s", i, ck_last_error());
        cr_expect(strstr(ck_last_error(), bad[i].msg) != NULL, "case %zu: %s", i, ck_last_error());
        cr_expect_eq(l, (ck_layer *)0x1, "case %zu: *out changed", i);
    }
    cr_expect_eq(ck_conv2d(&l, NULL), CK_VALUE_ERROR);
}

Test(conv2d, input_errors)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {2}, .name = "cv"}), CK_OK);
    /* Rank 3: Keras' InputSpec(min_ndim=4). */
    ck_tensor *x3 = NULL, *y = (ck_tensor *)0x1;
    cr_assert_eq(ck_tensor_new(&x3, CK_FLOAT32, 3, (int64_t[]){2, 4, 4}), CK_OK);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x3}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected min_ndim=4, found ndim=3") != NULL, "%s", ck_last_error());
    cr_expect_eq(y, (ck_tensor *)0x1);
    cr_expect_eq(ck_layer_built(l), 0);
    /* An unknown channel dim cannot be built. */
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4, 4, -1)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "The channel dimension of the inputs should be defined") != NULL, "%s",
              ck_last_error());
    /* Built for 3 channels, called with 2. */
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4, 4, 3)), CK_OK);
    ck_tensor *x2 = NULL;
    cr_assert_eq(ck_tensor_new(&x2, CK_FLOAT32, 4, (int64_t[]){1, 4, 4, 2}), CK_OK);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x2}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected axis -1 of input shape to have value 3") != NULL, "%s",
              ck_last_error());
    cr_expect_eq(y, (ck_tensor *)0x1);
    ck_layer_free(l);
    ck_tensor_free(x2);

    /* channels_first: the channel axis is -3. */
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {2}, .data_format = "channels_first"}),
                 CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3, 4, 4)), CK_OK);
    cr_assert_eq(ck_tensor_new(&x2, CK_FLOAT32, 4, (int64_t[]){1, 2, 4, 4}), CK_OK);
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x2}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected axis -3 of input shape to have value 3") != NULL, "%s",
              ck_last_error());
    cr_expect_eq(y, (ck_tensor *)0x1);
    ck_tensor_free(x2);
    ck_tensor_free(x3);
    ck_layer_free(l);
}

/* Failing allocations during construction, build and call leak nothing. */
static ck_status conv_run(void *ctx, const char *data_format)
{
    ck_tensor **slot = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_conv2d(&l, &(ck_conv2d_opts){.filters = 3, .kernel_size = {3, 2}, .padding = "same",
                                                     .activation = "softmax", .kernel_regularizer = "l2",
                                                     .activity_regularizer = "l1", .data_format = data_format});
    if (st != CK_OK) return st;
    float v[2 * 3 * 4 * 5];
    for (int i = 0; i < 120; i++) v[i] = (float)(i % 7) - 3.0f;
    ck_tensor *x = NULL;
    st = ck_tensor_wrap(&x, CK_FLOAT32, 4, (int64_t[]){2, 3, 4, 5}, v);
    if (st == CK_OK) st = ck_layer_call(l, 1, &x, slot);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

static ck_status conv_run_last(void *ctx) { return conv_run(ctx, NULL); }
static ck_status conv_run_first(void *ctx) { return conv_run(ctx, "channels_first"); }
static void free_slot(void *ctx) { ck_tensor_free(*(ck_tensor **)ctx); }

Test(conv2d, failing_allocations)
{
    ck_tensor *out = NULL;
    cr_expect_gt(ck_test_every_allocation_fails(conv_run_last, free_slot, &out), 3);
    out = NULL;
    cr_expect_gt(ck_test_every_allocation_fails(conv_run_first, free_slot, &out), 3);
}

