/* GlobalAveragePooling1D averages only the unmasked steps of a masked
 * input (Keras: sum(x * mask) / sum(mask)), in predict and in training;
 * fixtures from tools/gen_masked_pooling_goldens.py (tf.keras 2.15). */
#include <criterion/criterion.h>
#include <math.h>

#include "ckeras.h"
#include "support/support.h"

static ck_tensor *npy(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "masked_pooling/%s", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

Test(masked_pooling, predict_averages_unmasked_steps)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("masked_pooling/model.h5"), &m), CK_OK, "%s", ck_last_error());
    ck_tensor *x = npy("x.npy"), *want = npy("y.npy"), *y = NULL;
    for (int round = 0; round < 2; round++) { /* planned, then the plan reused */
        cr_assert_eq(ck_model_predict(m, 1, &x, &y, 0), CK_OK, "%s", ck_last_error());
        cr_assert_eq(y->size, want->size);
        for (int64_t i = 0; i < y->size; i++) {
            double a = ck_tensor_get(y, i), b = ck_tensor_get(want, i);
            if (isnan(b)) cr_expect(isnan(a), "y[%lld] = %g, Keras NaN (a fully masked row)", (long long)i, a);
            else cr_expect(fabs(a - b) <= 1e-5 * (1 + fabs(b)), "y[%lld] = %g, Keras %g", (long long)i, a, b);
        }
        ck_tensor_free(y);
        y = NULL;
    }
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}

Test(masked_pooling, one_sgd_step_matches_keras)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data("masked_pooling/model.h5"), &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_compile_json(m, "{\"optimizer_config\": {\"class_name\": \"SGD\", \"config\": "
                                          "{\"learning_rate\": 0.5}}, \"loss\": \"mse\"}"),
                 CK_OK, "%s", ck_last_error());
    ck_tensor *x = npy("xt.npy"), *t = npy("yt.npy");
    cr_assert_eq(ck_model_train_on_batch(m, 1, &x, 1, &t, NULL, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor **w = NULL;
    int nw = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(m), &w, &nw), CK_OK, "%s", ck_last_error());
    cr_assert_eq(nw, 3);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d.npy", i);
        ck_tensor *want = npy(name);
        cr_assert_eq(w[i]->size, want->size, "weight %d", i);
        for (int64_t k = 0; k < want->size; k++)
            cr_expect(fabs(ck_tensor_get(w[i], k) - ck_tensor_get(want, k)) <= 1e-5, "w%d[%lld] %g vs Keras %g", i,
                      (long long)k, ck_tensor_get(w[i], k), ck_tensor_get(want, k));
        ck_tensor_free(want);
    }
    ck_tensors_free(w, nw);
    ck_tensor_free(x);
    ck_tensor_free(t);
    ck_model_free(m);
}
