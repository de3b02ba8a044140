/* The fast convolution paths against tf.keras 2.15 (fixtures of
 * tools/gen_conv_fast_goldens.py in tests/data/conv_fast/): models whose
 * predictions go through the direct and Winograd kernels, Conv2D +
 * MaxPooling2D in one pass and a BatchNormalization folded into a Conv2D,
 * predicted fused and unfused (CK_FUSE=0), and with the kernels switched
 * off (the im2col path), each within 1e-5 of Keras; and once planned,
 * predicting allocates nothing. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>

#include "ckeras.h"
#include "model/model.h"
#include "ops/ops.h"
#include "support/support.h"

static ck_tensor *load_npy(const char *rel)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static void check_case(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "conv_fast/%s.h5", name);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(rel), &m), CK_OK, "%s: %s", rel, ck_last_error());
    snprintf(rel, sizeof rel, "conv_fast/%s_x.npy", name);
    ck_tensor *x = load_npy(rel);
    snprintf(rel, sizeof rel, "conv_fast/%s_y.npy", name);
    ck_tensor *want = load_npy(rel);
    /* fused, unfused, then unfused on the im2col path (portable kernels) */
    static const int fuse[3] = {1, 0, 0}, path[3] = {CK_BD_PATH_AUTO, CK_BD_PATH_AUTO, CK_BD_PATH_PORTABLE};
    for (int r = 0; r < 3; r++) {
        atomic_store(&ck_fuse_override, fuse[r]);
        ck_bd_path = path[r];
        ck_model_drop_plans(m);
        ck_tensor *y = NULL;
        /* batches of 3: a full plan and a remainder plan */
        ck_status st = ck_model_predict(m, 1, &x, &y, 3);
        ck_bd_path = CK_BD_PATH_AUTO;
        atomic_store(&ck_fuse_override, -1);
        cr_assert_eq(st, CK_OK, "%s: %s", name, ck_last_error());
        cr_assert_eq(y->size, want->size, "%s", name);
        double worst = 0;
        for (int64_t i = 0; i < y->size; i++) {
            double d = fabs((double)((float *)y->data)[i] - (double)((float *)want->data)[i]);
            if (!(d <= worst)) worst = d;
        }
        cr_expect(worst <= 1e-5, "%s (run %d): max |ckeras - keras| = %g", name, r, worst);
        ck_tensor_free(y);
    }
    /* fused and planned: predicting again allocates nothing */
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 3), CK_OK, "%s: %s", name, ck_last_error());
    ck_tensor *outs[1] = {y};
    cr_assert_eq(ck_model_predict_into(m, 1, &x, outs, 3), CK_OK, "%s: %s", name, ck_last_error());
    ck_test_fail_after(0);
    ck_status st = ck_model_predict_into(m, 1, &x, outs, 3);
    long attempts = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OK, "%s: predict_into after planning failed: %s", name, ck_last_error());
    cr_expect_eq(attempts, 0, "%s: %ld allocation(s) in steady state", name, attempts);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}

Test(conv_fast_goldens, mnist_small) { check_case("mnist_small"); }

Test(conv_fast_goldens, conv_bn_same) { check_case("conv_bn_same"); }
