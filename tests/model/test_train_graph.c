/* Backpropagation through a functional graph, checked by float64 central
 * differences of the whole model called as a layer: fan-out (a value read
 * by several layers), a layer shared by two calls, several inputs, a nested
 * model called twice, and training-mode layers inside. */
#include <criterion/criterion.h>

#include "ckeras.h"
#include "support/gradcheck.h"
#include "support/support.h"

static ck_tensor *input64(int64_t d)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_input(&t, &(ck_input_opts){.shape = CK_TEST_SHAPE(d), .dtype = CK_FLOAT64}), CK_OK);
    return t;
}

static ck_tensor *call(ck_layer *l, int n, ck_tensor **in)
{
    ck_tensor *y = NULL;
    cr_assert_eq(ck_layer_apply(l, n, in, &y), CK_OK, "%s", ck_last_error());
    return y;
}

static ck_tensor *random64(int64_t rows, int64_t cols, uint64_t seed)
{
    double v[64];
    uint64_t s = seed * 2654435761u + 1;
    for (int i = 0; i < rows * cols; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
    }
    return ck_test_f64(2, (int64_t[]){rows, cols}, v);
}

Test(train_graph, fan_out_shared_layer_two_inputs)
{
    ck_clear_session();
    ck_tensor *a = input64(4), *b = input64(4);
    ck_layer *shared, *add, *mul, *cat, *head;
    cr_assert_eq(ck_dense(&shared, &(ck_dense_opts){.units = 5, .activation = "tanh", .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_add(&add, &(ck_merge_opts){.dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_multiply(&mul, &(ck_merge_opts){.dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_concatenate(&cat, &(ck_concatenate_opts){.dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_dense(&head, &(ck_dense_opts){.units = 2, .activation = "sigmoid", .dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *ha = call(shared, 1, &a), *hb = call(shared, 1, &b);
    ck_tensor *c = call(add, 2, (ck_tensor *[]){ha, hb});
    ck_tensor *d = call(mul, 2, (ck_tensor *[]){c, ha});  /* ha fans out */
    ck_tensor *e = call(cat, 2, (ck_tensor *[]){d, hb});
    ck_tensor *out = call(head, 1, &e);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){a, b}, 1, &out, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor *xa = random64(3, 4, 1), *xb = random64(3, 4, 2);
    long n = ck_test_gradcheck(ck_model_layer(m), 2, (ck_tensor *[]){xa, xb}, 1, 1e-6);
    cr_expect(n > 40);
    ck_tensor_free(xa);
    ck_tensor_free(xb);
    ck_layer *ls[] = {shared, add, mul, cat, head, ck_tensor_layer(a), ck_tensor_layer(b)};
    for (int i = 0; i < 7; i++) ck_layer_free(ls[i]);
    ck_model_free(m);
}

Test(train_graph, nested_model_called_twice)
{
    ck_clear_session();
    ck_tensor *ti = input64(3);
    ck_layer *t1, *t2;
    cr_assert_eq(ck_dense(&t1, &(ck_dense_opts){.units = 4, .activation = "elu", .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_dense(&t2, &(ck_dense_opts){.units = 2, .dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *to = call(t2, 1, (ck_tensor *[]){call(t1, 1, &ti)});
    ck_model *tower = NULL;
    cr_assert_eq(ck_model_new(&tower, 1, &ti, 1, &to, "tower"), CK_OK);
    ck_tensor *a = input64(3), *b = input64(3);
    ck_layer *sub, *head;
    cr_assert_eq(ck_subtract(&sub, &(ck_merge_opts){.dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_dense(&head, &(ck_dense_opts){.units = 1, .dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *oa = call(ck_model_layer(tower), 1, &a), *ob = call(ck_model_layer(tower), 1, &b);
    ck_tensor *out = call(head, 1, (ck_tensor *[]){call(sub, 2, (ck_tensor *[]){oa, ob})});
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){a, b}, 1, &out, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor *xa = random64(4, 3, 3), *xb = random64(4, 3, 4);
    cr_expect(ck_test_gradcheck(ck_model_layer(m), 2, (ck_tensor *[]){xa, xb}, 1, 1e-6) > 20);
    ck_tensor_free(xa);
    ck_tensor_free(xb);
    ck_layer *ls[] = {t1, t2, sub, head, ck_tensor_layer(ti), ck_tensor_layer(a), ck_tensor_layer(b)};
    for (int i = 0; i < 7; i++) ck_layer_free(ls[i]);
    ck_model_free(tower);
    ck_model_free(m);
}

Test(train_graph, training_mode_layers_inside)
{
    ck_clear_session();
    ck_tensor *a = input64(5);
    ck_layer *d1, *bn, *drop, *d2;
    cr_assert_eq(ck_dense(&d1, &(ck_dense_opts){.units = 6, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_batch_normalization(&bn, &(ck_batch_normalization_opts){.dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_dropout(&drop, &(ck_dropout_opts){.rate = 0.3, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_dense(&d2, &(ck_dense_opts){.units = 2, .activation = "softmax", .dtype = CK_FLOAT64}), CK_OK);
    ck_tensor *h = call(drop, 1, (ck_tensor *[]){call(bn, 1, (ck_tensor *[]){call(d1, 1, &a)})});
    ck_tensor *out = call(d2, 1, &h);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &a, 1, &out, NULL), CK_OK);
    ck_tensor *x = random64(6, 5, 9);
    cr_expect(ck_test_gradcheck(ck_model_layer(m), 1, &x, 1, 1e-6) > 20);
    cr_expect(ck_test_gradcheck(ck_model_layer(m), 1, &x, 0, 1e-6) > 20);
    ck_tensor_free(x);
    ck_layer *ls[] = {d1, bn, drop, d2, ck_tensor_layer(a)};
    for (int i = 0; i < 5; i++) ck_layer_free(ls[i]);
    ck_model_free(m);
}
