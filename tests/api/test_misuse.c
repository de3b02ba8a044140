/* The findings of issue 10, item 2, one test each: a NULL model, an index
 * out of range, and freeing a tensor the graph owns. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

Test(misuse, predict_null_model)
{
    int64_t shape[2] = {1, 3};
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, shape), CK_OK);
    cr_expect_eq(ck_model_predict(NULL, 1, &x, &y, 0), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "ck_model_predict") != NULL, "%s", ck_last_error());
    cr_expect_null(y);
    cr_expect_eq(ck_model_predict_into(NULL, 1, &x, &x, 0), CK_VALUE_ERROR);
    ck_tensor_free(x);
}

Test(misuse, tensor_get_out_of_range)
{
    const float v[3] = {1, 2, 3};
    int64_t shape[1] = {3};
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT32, 1, shape, v), CK_OK);
    ck_clear_error();
    cr_expect_eq(ck_tensor_get(t, 2), 3.0);
    cr_expect_eq(ck_last_status(), CK_OK);
    cr_expect(isnan(ck_tensor_get(t, 3)));
    cr_expect_eq(ck_last_status(), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "out of range") != NULL, "%s", ck_last_error());
    cr_expect(isnan(ck_tensor_get(t, -1)));
    cr_expect(isnan(ck_tensor_get(t, INT64_MAX)));
    cr_expect(isnan(ck_tensor_get(NULL, 0)));
    ck_tensor_free(t);
}

Test(misuse, tensor_free_refuses_symbolic_tensors)
{
    ck_tensor *x = NULL, *y = NULL;
    ck_layer *d = NULL;
    ck_model *m = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(3)}), CK_OK);
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 2}), CK_OK);
    cr_assert_eq(ck_layer_apply(d, 1, &x, &y), CK_OK);
    cr_assert_eq(ck_model_new(&m, 1, &x, 1, &y, NULL), CK_OK);
    ck_tensor *owned[] = {x, y, ck_model_input(m, 0), ck_model_output(m, 0)};
    for (int i = 0; i < 4; i++) {
        ck_clear_error();
        ck_tensor_free(owned[i]); /* refused: the graph still uses it */
        cr_expect_eq(ck_last_status(), CK_VALUE_ERROR, "tensor %d", i);
        cr_expect(strstr(ck_last_error(), "symbolic") != NULL, "%s", ck_last_error());
    }
    /* The refused tensors are intact: the model still predicts, and the
     * layers release them (ASan: no double free, LSan: no leak). */
    cr_expect_eq(ck_tensor_reshape(x, 1, (int64_t[]){3}), CK_VALUE_ERROR);
    int64_t shape[2] = {2, 3};
    ck_tensor *in = NULL, *out = NULL;
    cr_assert_eq(ck_tensor_new(&in, CK_FLOAT32, 2, shape), CK_OK);
    cr_expect_eq(ck_model_predict(m, 1, &in, &out, 0), CK_OK, "%s", ck_last_error());
    cr_expect_eq(out->shape[1], 2);
    ck_tensor_free(in);
    ck_tensor_free(out);
    ck_layer_free(d);
    ck_layer_free(ck_tensor_layer(x));
    ck_model_free(m);
}
