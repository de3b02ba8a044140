/* Conv2D and MaxPooling2D: values against numpy goldens
 * (tools/gen_conv_goldens.py: direct einsum / window-max references), output
 * shapes, weights, configs (tf.keras 2.x, Keras 1), errors, failing
 * allocations, and the real Keras 2.0.6 MNIST CNN config. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static ck_tensor *load(const char *fmt, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, fmt, name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void expect_close(const ck_tensor *got, const ck_tensor *want, double tol, const char *what)
{
    cr_assert_eq(got->rank, want->rank, "%s: rank %d vs %d", what, got->rank, want->rank);
    for (int i = 0; i < got->rank; i++)
        cr_assert_eq(got->shape[i], want->shape[i], "%s: dim %d is %lld, expected %lld", what, i,
                     (long long)got->shape[i], (long long)want->shape[i]);
    cr_assert_eq(got->dtype, want->dtype, "%s: dtype", what);
    double d = ck_test_max_abs_diff(got, want);
    cr_expect_leq(d, tol, "%s: max abs diff %g", what, d);
}

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
        ck_tensor *x = load("conv/conv_%s_x.npy", c->name), *k = load("conv/conv_%s_k.npy", c->name);
        ck_tensor *y = load("conv/conv_%s_y.npy", c->name), *b = c->bias ? load("conv/conv_%s_b.npy", c->name) : NULL;
        ck_layer *l = make_conv(c);
        set_case_weights(l, c, x, k, b);
        ck_tensor *got = ck_test_call1(l, x);
        expect_close(got, y, c->dtype == CK_FLOAT64 ? 1e-12 : 2e-5, c->name);
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
        ck_tensor *y = load("conv/conv_%s_y.npy", cases[i].name);
        ck_layer *l = NULL;
        cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 2, .kernel_size = {11}, .padding = "SAME",
                                                       .no_bias = true,
                                                       .data_format = cases[i].cf ? "channels_first" : NULL}),
                     CK_OK, "%s", ck_last_error());
        conv_case c = {.name = cases[i].name};
        set_case_weights(l, &c, x, k, NULL);
        ck_tensor *got = ck_test_call1(l, x);
        expect_close(got, y, 1e-4, cases[i].name);
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

/* ---- Conv2D configs ----------------------------------------------------------- */

#define CONV_TAIL                                                                                              \
    "\"activation\": \"linear\", \"use_bias\": true, \"kernel_initializer\": {\"class_name\": \"GlorotUniform\", " \
    "\"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "          \
    "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "                  \
    "\"kernel_constraint\": null, \"bias_constraint\": null}}"

Test(conv2d, config_round_trips)
{
    /* tf.keras 2.x's get_config of Conv2D(4, 3) in its key order. */
    const char *tf2 = "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", \"trainable\": true, "
                      "\"dtype\": \"float32\", \"filters\": 4, \"kernel_size\": [3, 3], \"strides\": [1, 1], "
                      "\"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": [1, 1], "
                      "\"groups\": 1, " CONV_TAIL;
    ck_test_round_trip(tf2, NULL);
    ck_layer *l = NULL;
    ck_clear_session();
    cr_assert_eq(ck_conv2d(&l, &(ck_conv2d_opts){.filters = 4, .kernel_size = {3}}), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, tf2);
    ck_free(text);
    ck_layer_free(l);

    /* Ints for tuples, upper-case padding, every option set. */
    ck_test_round_trip(
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"trainable\": false, \"dtype\": \"float64\", "
        "\"batch_input_shape\": [null, 8, 8, 3], \"filters\": 6, \"kernel_size\": 5, \"strides\": 2, "
        "\"padding\": \"SAME\", \"data_format\": \"channels_first\", \"dilation_rate\": 1, \"groups\": 1, "
        "\"activation\": \"relu\", \"use_bias\": false, \"kernel_initializer\": \"he_normal\", "
        "\"bias_initializer\": \"ones\", \"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}}, "
        "\"bias_regularizer\": null, \"activity_regularizer\": null, \"kernel_constraint\": {\"class_name\": "
        "\"MaxNorm\", \"config\": {\"max_value\": 2, \"axis\": 0}}, \"bias_constraint\": null}}",
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"c\", \"trainable\": false, \"dtype\": \"float64\", "
        "\"batch_input_shape\": [null, 8, 8, 3], \"filters\": 6, \"kernel_size\": [5, 5], \"strides\": [2, 2], "
        "\"padding\": \"same\", \"data_format\": \"channels_first\", \"dilation_rate\": [1, 1], \"groups\": 1, "
        "\"activation\": \"relu\", \"use_bias\": false, \"kernel_initializer\": {\"class_name\": \"HeNormal\", "
        "\"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
        "\"kernel_regularizer\": {\"class_name\": \"L2\", \"config\": {\"l2\": 0.5}}, \"bias_regularizer\": null, "
        "\"activity_regularizer\": null, \"kernel_constraint\": {\"class_name\": \"MaxNorm\", \"config\": "
        "{\"max_value\": 2, \"axis\": 0}}, \"bias_constraint\": null}}");

    /* Keras 3: DTypePolicy dict, no batch_input_shape. */
    ck_test_round_trip(
        "{\"module\": \"keras.layers\", \"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d\", "
        "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
        "{\"name\": \"float32\"}, \"registered_name\": null}, \"filters\": 4, \"kernel_size\": [3, 3], "
        "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": "
        "[1, 1], \"groups\": 1, \"activation\": \"linear\", \"use_bias\": true, \"kernel_initializer\": {\"module\": "
        "\"keras.initializers\", \"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null}, "
        "\"registered_name\": null}, \"bias_initializer\": {\"module\": \"keras.initializers\", \"class_name\": "
        "\"Zeros\", \"config\": {}, \"registered_name\": null}, \"kernel_regularizer\": null, \"bias_regularizer\": "
        "null, \"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null}, "
        "\"registered_name\": null, \"build_config\": {\"input_shape\": [null, 6, 6, 2]}}",
        tf2);
}

/* The first layer of keras2_mnist_cnn_no_bias_tf_config.json (Keras 2.0.6:
 * no groups, VarianceScaling with scale 1). */
Test(conv2d, keras2_0_config)
{
    ck_test_round_trip(
        "{\"class_name\": \"Conv2D\", \"config\": {\"kernel_initializer\": {\"class_name\": \"VarianceScaling\", "
        "\"config\": {\"distribution\": \"uniform\", \"scale\": 1, \"seed\": null, \"mode\": \"fan_avg\"}}, "
        "\"name\": \"convolution2d_1\", \"kernel_constraint\": null, \"bias_regularizer\": null, "
        "\"bias_constraint\": null, \"dtype\": \"float32\", \"activation\": \"linear\", \"trainable\": true, "
        "\"data_format\": \"channels_last\", \"filters\": 32, \"padding\": \"valid\", \"strides\": [1, 1], "
        "\"dilation_rate\": [1, 1], \"kernel_regularizer\": null, \"bias_initializer\": {\"class_name\": "
        "\"Zeros\", \"config\": {}}, \"batch_input_shape\": [null, 28, 28, 1], \"use_bias\": false, "
        "\"activity_regularizer\": null, \"kernel_size\": [3, 3]}}",
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"convolution2d_1\", \"trainable\": true, \"dtype\": "
        "\"float32\", \"batch_input_shape\": [null, 28, 28, 1], \"filters\": 32, \"kernel_size\": [3, 3], "
        "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", \"dilation_rate\": [1, 1], "
        "\"groups\": 1, \"activation\": \"linear\", \"use_bias\": false, \"kernel_initializer\": {\"class_name\": "
        "\"VarianceScaling\", \"config\": {\"scale\": 1, \"mode\": \"fan_avg\", \"distribution\": \"uniform\", "
        "\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, "
        "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
        "\"kernel_constraint\": null, \"bias_constraint\": null}}");
}

/* Keras 1.2's Convolution2D (class name and keys), tf and th orderings. */
Test(conv2d, keras1_config)
{
    const char *k1 =
        "{\"class_name\": \"Convolution2D\", \"config\": {\"name\": \"convolution2d_1\", \"trainable\": true, "
        "\"batch_input_shape\": [null, 28, 28, 1], \"input_dtype\": \"float32\", \"nb_filter\": 32, \"nb_row\": 3, "
        "\"nb_col\": 2, \"init\": \"glorot_uniform\", \"activation\": \"relu\", \"border_mode\": \"same\", "
        "\"subsample\": [2, 1], \"dim_ordering\": \"%s\", \"W_regularizer\": null, \"b_regularizer\": null, "
        "\"activity_regularizer\": null, \"W_constraint\": null, \"b_constraint\": null, \"bias\": false}}";
    const char *want =
        "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"convolution2d_1\", \"trainable\": true, \"dtype\": "
        "\"float32\", \"batch_input_shape\": [null, 28, 28, 1], \"filters\": 32, \"kernel_size\": [3, 2], "
        "\"strides\": [2, 1], \"padding\": \"same\", \"data_format\": \"%s\", \"dilation_rate\": [1, 1], "
        "\"groups\": 1, \"activation\": \"relu\", \"use_bias\": false, \"kernel_initializer\": {\"class_name\": "
        "\"GlorotUniform\", \"config\": {\"seed\": null}}, \"bias_initializer\": {\"class_name\": \"Zeros\", "
        "\"config\": {}}, \"kernel_regularizer\": null, \"bias_regularizer\": null, \"activity_regularizer\": null, "
        "\"kernel_constraint\": null, \"bias_constraint\": null}}";
    const char *orders[][2] = {{"tf", "channels_last"}, {"th", "channels_first"}};
    for (int i = 0; i < 2; i++) {
        char in[2048], out[2048];
        snprintf(in, sizeof in, k1, orders[i][0]);
        snprintf(out, sizeof out, want, orders[i][1]);
        ck_test_round_trip(in, out);
    }
    ck_layer *l = NULL;
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Convolution2D\", \"config\": {\"nb_filter\": 2, "
                                      "\"nb_row\": 3, \"nb_col\": 3, \"border_mode\": \"full\"}}", &l),
                 CK_NOT_IMPLEMENTED);
    cr_expect(strstr(ck_last_error(), "full") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Convolution2D\", \"config\": {\"nb_filter\": 2, "
                                      "\"nb_row\": 3, \"nb_col\": 3, \"dim_ordering\": \"xy\"}}", &l),
                 CK_VALUE_ERROR);
}

Test(conv2d, config_errors)
{
    struct { const char *cfg; ck_status st; const char *msg; } bad[] = {
        {"{\"kernel_size\": 3}", CK_VALUE_ERROR, "`filters` is required"},
        {"{\"filters\": 2}", CK_VALUE_ERROR, "`kernel_size` is required"},
        {"{\"filters\": 2, \"kernel_size\": [3, 3, 3]}", CK_VALUE_ERROR, "tuple of 2 integers"},
        {"{\"filters\": 2, \"kernel_size\": [3, \"a\"]}", CK_VALUE_ERROR, "tuple of 2 integers"},
        {"{\"filters\": 2, \"kernel_size\": [3, 0]}", CK_VALUE_ERROR, "requirement `> 0`"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"strides\": [0, 1]}", CK_VALUE_ERROR, "cannot contains 0"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"padding\": \"causal\"}", CK_VALUE_ERROR, "Causal"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"padding\": \"bad\"}", CK_VALUE_ERROR, "Received: bad"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"padding\": [[1, 1], [1, 1]]}", CK_NOT_IMPLEMENTED, "padding"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"groups\": 3}", CK_VALUE_ERROR, "evenly divisible"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"use_bias\": 1}", CK_TYPE_ERROR, "use_bias"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"lora_rank\": 4}", CK_NOT_IMPLEMENTED, "LoRA"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"bogus\": 4}", CK_TYPE_ERROR, "bogus"},
        {"{\"filters\": 2, \"kernel_size\": 3, \"data_format\": \"NHWC\"}", CK_VALUE_ERROR, "data_format"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"class_name\": \"Conv2D\", \"config\": %s}", bad[i].cfg);
        ck_layer *l = (ck_layer *)0x1;
        cr_expect_eq(ck_layer_from_config(text, &l), bad[i].st, "%s: %s", bad[i].cfg, ck_last_error());
        cr_expect(strstr(ck_last_error(), bad[i].msg) != NULL, "%s: %s", bad[i].cfg, ck_last_error());
        cr_expect_eq(l, (ck_layer *)0x1);
    }
    /* groups 0 is `groups or 1`; null fields keep the defaults. */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Conv2D\", \"config\": {\"filters\": 2, \"kernel_size\": 3, "
                                      "\"groups\": 0, \"strides\": null, \"padding\": null, \"data_format\": null}}",
                                      &l), CK_OK, "%s", ck_last_error());
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"strides\": [1, 1], \"padding\": \"valid\", \"data_format\": \"channels_last\", "
                           "\"dilation_rate\": [1, 1], \"groups\": 1") != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

/* ---- MaxPooling2D --------------------------------------------------------------- */

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
        ck_tensor *x = load("conv/pool_%s_x.npy", c->name), *y = load("conv/pool_%s_y.npy", c->name);
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
        expect_close(got, y, 0, c->name); /* a max is exact */
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

/* ---- the real Keras 2.0.6 MNIST CNN config ------------------------------------------ */

#define MNIST "keras/dl4j-legacy-formats/config_keras2_keras2_mnist_cnn_no_bias_tf_config.json"

/* By hand from the architecture: 28x28x1 -> Conv 3x3 valid (32, no bias):
 * 26x26x32, 3*3*1*32 = 288 -> Conv 3x3 valid: 24x24x32, 3*3*32*32 = 9216 ->
 * MaxPooling 2x2: 12x12x32 -> Flatten: 4608 -> Dense 128 (no bias):
 * 4608*128 = 589824 -> Dense 10 (no bias): 1280.  Total 600608. */
static void check_mnist(const char *path)
{
    static const struct { const char *name; int rank; int64_t dims[4]; int64_t params; } want[] = {
        {"convolution2d_1", 4, {-1, 26, 26, 32}, 288}, {"activation_1", 4, {-1, 26, 26, 32}, 0},
        {"convolution2d_2", 4, {-1, 24, 24, 32}, 9216}, {"activation_2", 4, {-1, 24, 24, 32}, 0},
        {"maxpooling2d_1", 4, {-1, 12, 12, 32}, 0},     {"dropout_1", 4, {-1, 12, 12, 32}, 0},
        {"flatten_1", 2, {-1, 4608}, 0},                 {"dense_1", 2, {-1, 128}, 589824},
        {"activation_3", 2, {-1, 128}, 0},              {"dropout_2", 2, {-1, 128}, 0},
        {"dense_2", 2, {-1, 10}, 1280},                  {"activation_4", 2, {-1, 10}, 0},
    };
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "%s: %s", path, ck_last_error());
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_model_get_layer(m, want[i].name, &l), CK_OK, "%s", ck_last_error());
        ck_shape s[1];
        int n = 0;
        cr_assert_eq(ck_layer_output_shape(l, s, 1, &n), CK_OK, "%s: %s", want[i].name, ck_last_error());
        cr_expect_eq(s[0].rank, want[i].rank, "%s", want[i].name);
        for (int d = 0; d < want[i].rank; d++)
            cr_expect_eq(s[0].dims[d], want[i].dims[d], "%s dim %d", want[i].name, d);
        int64_t p = -1;
        cr_assert_eq(ck_layer_count_params(l, &p), CK_OK);
        cr_expect_eq(p, want[i].params, "%s params %lld", want[i].name, (long long)p);
    }
    int64_t total = 0, trainable = 0, frozen = -1;
    cr_assert_eq(ck_model_count_params(m, &total, &trainable, &frozen), CK_OK);
    cr_expect(total == 600608 && trainable == 600608 && frozen == 0, "%lld", (long long)total);
    char *summary = NULL;
    cr_assert_eq(ck_model_summary(m, &summary), CK_OK, "%s", ck_last_error());
    cr_expect(strstr(summary, "(None, 12, 12, 32)") != NULL && strstr(summary, "Total params: 600608") != NULL,
              "%s", summary);
    ck_free(summary);
    /* A forward pass: the softmax output of a 28x28 image sums to 1. */
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 4, (int64_t[]){2, 28, 28, 1}), CK_OK);
    for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = (float)(i % 255) / 255.0f;
    cr_assert_eq(ck_model_predict(m, 1, (ck_tensor *[]){x}, &y, 0), CK_OK, "%s", ck_last_error());
    cr_assert(y->rank == 2 && y->shape[0] == 2 && y->shape[1] == 10);
    for (int b = 0; b < 2; b++) {
        double sum = 0;
        for (int j = 0; j < 10; j++) sum += ((float *)y->data)[b * 10 + j];
        cr_expect(fabs(sum - 1) < 1e-5, "row %d sums to %g", b, sum);
    }
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
}

Test(real_configs, mnist_cnn_copy)
{
    check_mnist(ck_test_data(MNIST));
}

Test(real_configs, mnist_cnn_shared)
{
    const char *path = ck_test_shared(MNIST);
    if (!path) cr_skip_test("../shared is absent");
    check_mnist(path);
}
