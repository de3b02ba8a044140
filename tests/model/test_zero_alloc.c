/* Zero allocations in steady state (issue 10, item 4): once a predict is
 * planned, predict_into runs with an allocator that fails every request.
 * Real models (tests/data/keras) and a model of the layers whose calls need
 * working memory (Conv2D's im2col rows, BatchNormalization's and
 * Normalization's coefficients, Dot(normalize=True)'s normalised copies and
 * batch_dot's permuted copies, a nested model's values).
 * Every class of the registry: test_zero_alloc_sweep.c. */
#include <criterion/criterion.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static void inputs_of(ck_model *m, ck_tensor **x, int64_t batch)
{
    for (int i = 0; i < ck_model_input_count(m); i++) {
        const ck_tensor *s = ck_model_input(m, i);
        int64_t shape[CK_MAX_RANK];
        for (int d = 0; d < s->rank; d++) shape[d] = d == 0 ? batch : s->shape[d] < 0 ? 4 : s->shape[d];
        cr_assert_eq(ck_tensor_new(&x[i], s->dtype, s->rank, shape), CK_OK);
        for (int64_t k = 0; k < x[i]->size; k++)
            if (s->dtype == CK_FLOAT32) ((float *)x[i]->data)[k] = (float)((k * 7) % 5) / 5.0f - 0.3f;
    }
}

/* Plans with one predict_into (full batches and a remainder), then repeats
 * it with every allocation failing. */
static void check_steady_state(ck_model *m, const char *what)
{
    ck_tensor *x[8] = {NULL}, *y = NULL;
    int n = ck_model_input_count(m);
    inputs_of(m, x, 5);
    cr_assert_eq(ck_model_predict(m, n, x, &y, 2), CK_OK, "%s: %s", what, ck_last_error());
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, n, x, outs, 2), CK_OK, "%s: %s", what, ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, n, x, outs, 2);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning failed: %s", what, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", what, attempts);
    for (int i = 0; i < n; i++) ck_tensor_free(x[i]);
    ck_tensor_free(y);
}

Test(zero_alloc, real_models)
{
    static const char *const files[] = {
        "keras/siamese-cosine-dot-keras2_4/testmodel.hdf5",
        "keras/dl4j-tfkeras-dense/act_0.h5",
        "keras/dl4j-dense-activations-io/ELU_0_model.h5",
        "keras/dl4j-dense-activations-io/LeakyReLU_0_model.h5",
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(ck_test_data(files[i]), &m), CK_OK, "%s: %s", files[i], ck_last_error());
        check_steady_state(m, files[i]);
        ck_model_free(m);
    }
}

Test(zero_alloc, layers_with_call_scratch)
{
    ck_tensor *x = NULL, *h = NULL, *a = NULL, *b = NULL, *o = NULL, *ix = NULL, *iy = NULL, *r = NULL;
    ck_layer *conv, *bn, *norm, *rs1, *d1, *d2, *dot, *rs2, *dot2, *inner_d;
    ck_model *inner = NULL, *m = NULL;
    cr_assert_eq(ck_input(&ix, &(ck_input_opts){.shape = CK_TEST_SHAPE(6, 6)}), CK_OK);
    cr_assert_eq(ck_dense(&inner_d, &(ck_dense_opts){.units = 6}), CK_OK);
    cr_assert_eq(ck_layer_apply(inner_d, 1, &ix, &iy), CK_OK);
    cr_assert_eq(ck_model_new(&inner, 1, &ix, 1, &iy, "inner"), CK_OK);
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(6, 6, 2)}), CK_OK);
    cr_assert_eq(ck_conv2d(&conv, &(ck_conv2d_opts){.filters = 4, .kernel_size = {3}}), CK_OK);
    cr_assert_eq(ck_batch_normalization(&bn, NULL), CK_OK);
    cr_assert_eq(ck_normalization(&norm, &(ck_normalization_opts){.mean = (double[]){0.5},
                                                                  .variance = (double[]){2.0}, .n_values = 1}),
                 CK_OK);
    cr_assert_eq(ck_reshape(&rs1, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(2, 8, 4)}), CK_OK);
    cr_assert_eq(ck_dense(&d1, &(ck_dense_opts){.units = 3}), CK_OK);
    cr_assert_eq(ck_dense(&d2, &(ck_dense_opts){.units = 3}), CK_OK);
    /* axis 2 of (2, 8, 3) is in the middle: batch_dot permutes a copy */
    cr_assert_eq(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_pair(2, 2), .normalize = true}), CK_OK);
    /* (2, 8, 3) . (2, 8, 3) over axis 2 gives (2, 3, 2, 3): 36 values */
    cr_assert_eq(ck_reshape(&rs2, &(ck_reshape_opts){.target_shape = CK_TEST_SHAPE(6, 6)}), CK_OK);
    cr_assert_eq(ck_dot(&dot2, &(ck_dot_opts){.axes = ck_axes_pair(2, 2)}), CK_OK);
    cr_assert_eq(ck_layer_apply(conv, 1, &x, &h), CK_OK);
    cr_assert_eq(ck_layer_apply(bn, 1, &h, &h), CK_OK);
    cr_assert_eq(ck_layer_apply(norm, 1, &h, &h), CK_OK);
    cr_assert_eq(ck_layer_apply(rs1, 1, &h, &h), CK_OK);
    cr_assert_eq(ck_layer_apply(d1, 1, &h, &a), CK_OK);
    cr_assert_eq(ck_layer_apply(d2, 1, &h, &b), CK_OK);
    cr_assert_eq(ck_layer_apply(dot, 2, (ck_tensor *[]){a, b}, &o), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(rs2, 1, &o, &o), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(ck_model_layer(inner), 1, &o, &r), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_apply(dot2, 2, (ck_tensor *[]){r, o}, &r), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_new(&m, 1, &x, 1, &r, NULL), CK_OK, "%s", ck_last_error());
    check_steady_state(m, "scratch layers");
    ck_layer *ls[] = {conv, bn, norm, rs1, d1, d2, dot, rs2, dot2, inner_d};
    for (size_t i = 0; i < sizeof ls / sizeof *ls; i++) ck_layer_free(ls[i]);
    ck_layer_free(ck_tensor_layer(x));
    ck_layer_free(ck_tensor_layer(ix));
    ck_model_free(inner);
    ck_model_free(m);
}
