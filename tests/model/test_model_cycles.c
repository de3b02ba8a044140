/* A layer called on a tensor computed from its own output (Keras allows
 * it; a real Keras 3 file applies a shared sub-model to the model's later
 * output) makes the layers' references a cycle.  Freeing the model frees
 * the cycle (ASan's leak check in the sanitizer build is what fails when
 * it does not), and layers still held from outside keep their history. */
#include <criterion/criterion.h>

#include "ckeras.h"
#include "support/support.h"

static ck_tensor *apply1(ck_layer *l, ck_tensor *x)
{
    ck_tensor *y = NULL;
    cr_assert_eq(ck_layer_apply(l, 1, &x, &y), CK_OK, "%s", ck_last_error());
    return y;
}

/* x -> f -> g -> f again: f's second node consumes g's output, whose node
 * consumes f's first output. */
static ck_model *cyclic_model(ck_layer **f_out, ck_layer **g_out)
{
    ck_tensor *x = NULL;
    cr_assert_eq(ck_input(&x, &(ck_input_opts){.shape = CK_TEST_SHAPE(3)}), CK_OK);
    ck_layer *f, *g;
    cr_assert_eq(ck_dense(&f, &(ck_dense_opts){.units = 3, .kernel_initializer = "ones"}), CK_OK);
    cr_assert_eq(ck_dense(&g, &(ck_dense_opts){.units = 3, .kernel_initializer = "ones"}), CK_OK);
    ck_tensor *y = apply1(f, apply1(g, apply1(f, x)));
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 1, &x, 1, &y, "cyclic"), CK_OK, "%s", ck_last_error());
    ck_layer_free(ck_tensor_layer(x));
    *f_out = f;
    *g_out = g;
    return m;
}

Test(model_cycles, cyclic_layers_are_freed_with_the_model)
{
    ck_clear_session();
    ck_layer *f, *g;
    ck_model *m = cyclic_model(&f, &g);
    float xv[3] = {1, 2, 3};
    ck_tensor *X = ck_test_f32(2, (int64_t[]){1, 3}, xv), *out = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &X, &out, 0), CK_OK, "%s", ck_last_error());
    /* ones kernels, zero bias: 6 -> 18 -> 54 in every unit */
    for (int i = 0; i < 3; i++) cr_expect_float_eq(((float *)out->data)[i], 54.0f, 1e-4);
    ck_tensor_free(X);
    ck_tensor_free(out);
    ck_layer_free(f);
    ck_layer_free(g);
    ck_model_free(m); /* frees f, g and the input layer: nothing leaks */
}

Test(model_cycles, layers_held_from_outside_keep_their_history)
{
    ck_clear_session();
    ck_layer *f, *g;
    ck_model *m = cyclic_model(&f, &g);
    ck_layer_free(g);
    ck_model_free(m);
    /* f is still ours: both of its nodes, and the layers they read from,
     * are still there, enough to build the model again (as Keras can) */
    cr_expect_eq(ck_layer_inbound_node_count(f), 2);
    ck_tensor *const *in0, *const *in1, *const *out1;
    int n0, n1, no;
    cr_assert_eq(ck_layer_get_input_at(f, 0, &in0, &n0), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_get_input_at(f, 1, &in1, &n1), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_get_output_at(f, 1, &out1, &no), CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(ck_layer_name(ck_tensor_layer(in1[0])), ck_layer_name(g));
    ck_model *again = NULL;
    cr_assert_eq(ck_model_new(&again, 1, &in0[0], 1, &out1[0], "again"), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_model_layer_count(again), 3);
    /* A cycle the program still holds a layer of when its last model goes
     * is freed by the next model over it (ck_model_free's collector runs
     * per model): freeing f first leaves the cycle to `again`. */
    ck_layer_free(f);
    ck_model_free(again);
}
