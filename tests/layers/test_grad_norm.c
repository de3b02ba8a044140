/* Training of BatchNormalization and Normalization: the float64 gradient
 * check in training and inference modes over ranks, axes and options;
 * BatchNormalization's outputs, gradients and moving statistics after 3
 * training calls against TF 2.15 (tools/gen_train_layer_goldens.py): the
 * rank-2 (non-fused: biased moving variance) and rank-4 (fused: Bessel-
 * corrected moving variance) paths; frozen layers. */
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

/* ---- BatchNormalization gradient checks ---------------------------------------- */

typedef struct bn_case {
    const char *name;
    int rank;
    int64_t x[5];
    int naxes, axes[3];
    bool no_center, no_scale;
} bn_case;

static const bn_case BN_CASES[] = {
    {"rank2", 2, {6, 4}, 0, {0}, 0, 0},
    {"rank2_axis0", 2, {3, 5}, 1, {0}, 0, 0},
    {"rank3_axis1", 3, {4, 3, 2}, 1, {1}, 0, 0},
    {"rank4_last", 4, {3, 3, 2, 2}, 0, {0}, 0, 0},
    {"rank4_axis1", 4, {2, 3, 2, 3}, 1, {1}, 0, 0},
    {"rank4_axis2", 4, {2, 2, 3, 2}, 1, {2}, 0, 0},
    {"rank4_axes12", 4, {3, 2, 2, 2}, 2, {1, 2}, 0, 0},
    {"rank4_no_center", 4, {2, 3, 3, 2}, 0, {0}, true, false},
    {"rank4_no_scale", 4, {2, 3, 3, 2}, 0, {0}, false, true},
    {"rank2_plain", 2, {5, 3}, 0, {0}, true, true},
    {"rank5_axis1", 5, {2, 2, 2, 2, 2}, 1, {1}, 0, 0},
};

static ck_layer *make_bn(const bn_case *c, ck_dtype dtype)
{
    ck_batch_normalization_opts o = {.naxes = c->naxes, .no_center = c->no_center, .no_scale = c->no_scale,
                                     .dtype = dtype, .momentum = ck_double(0.9)};
    memcpy(o.axes, c->axes, sizeof c->axes);
    ck_layer *l = NULL;
    cr_assert_eq(ck_batch_normalization(&l, &o), CK_OK, "%s: %s", c->name, ck_last_error());
    return l;
}

/* Builds and sets random gamma, beta, moving mean and (positive) variance. */
static void bn_random_weights(ck_layer *l, const ck_tensor *x, uint64_t seed)
{
    ck_shape is = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s", ck_last_error());
    int nw = ck_layer_weight_count(l);
    for (int j = 0; j < nw; j++) {
        ck_tensor *v = ck_weight_value(ck_layer_weight(l, j));
        const char *name = ck_weight_name(ck_layer_weight(l, j));
        int positive = strstr(name, "gamma") || strstr(name, "variance");
        ck_tensor *r = ck_test_uniform(v->dtype, v->rank, v->shape, positive ? 0.5 : -1, positive ? 1.5 : 1,
                                       seed + (uint64_t)j);
        memcpy(v->data, r->data, (size_t)v->size * ck_dtype_size(v->dtype));
        ck_tensor_free(r);
    }
}

Test(grad_norm, batch_normalization_gradcheck_grid)
{
    for (size_t i = 0; i < sizeof BN_CASES / sizeof BN_CASES[0]; i++) {
        const bn_case *c = &BN_CASES[i];
        ck_layer *l = make_bn(c, CK_FLOAT64);
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, c->rank, c->x, -1, 2, 300 + i);
        bn_random_weights(l, x, 40 + i);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "%s training", c->name);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-6), 0, "%s inference", c->name);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* Frozen: inference mode even in training, its input gradient through the
 * moving statistics, and no updates. */
Test(grad_norm, batch_normalization_frozen)
{
    const bn_case *c = &BN_CASES[3];
    ck_layer *l = make_bn(c, CK_FLOAT64);
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, c->rank, c->x, -1, 2, 9);
    bn_random_weights(l, x, 10);
    ck_layer_set_trainable(l, 0);
    ck_tensor **before = NULL;
    int nb = 0;
    cr_assert_eq(ck_layer_get_weights(l, &before, &nb), CK_OK);
    cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0);
    ck_tensor *y = ck_test_call1(l, x);
    ck_test_step s;
    ck_test_train_step(l, x, y, 1, 1, &s);
    cr_expect_eq(ck_test_max_abs_diff(s.y, y), 0, "a frozen layer trains in inference mode");
    ck_tensor **after = NULL;
    int na = 0;
    cr_assert_eq(ck_layer_get_weights(l, &after, &na), CK_OK);
    for (int j = 0; j < nb; j++) cr_expect_eq(ck_test_max_abs_diff(before[j], after[j]), 0, "weight %d changed", j);
    ck_tensors_free(before, nb);
    ck_tensors_free(after, na);
    ck_test_step_free(&s);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_layer_free(l);
}

/* Inference mode (training flag 0) on a trainable layer: no updates. */
Test(grad_norm, batch_normalization_inference_mode_no_updates)
{
    const bn_case *c = &BN_CASES[0];
    ck_layer *l = make_bn(c, CK_FLOAT32);
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, c->rank, c->x, -1, 2, 19);
    bn_random_weights(l, x, 20);
    ck_tensor **before = NULL;
    int nb = 0;
    cr_assert_eq(ck_layer_get_weights(l, &before, &nb), CK_OK);
    ck_test_step s;
    ck_test_train_step(l, x, x, 0, 1, &s);
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(ck_test_max_abs_diff(s.y, y), 0);
    ck_tensor **after = NULL;
    int na = 0;
    cr_assert_eq(ck_layer_get_weights(l, &after, &na), CK_OK);
    for (int j = 0; j < nb; j++) cr_expect_eq(ck_test_max_abs_diff(before[j], after[j]), 0, "weight %d changed", j);
    ck_tensors_free(before, nb);
    ck_tensors_free(after, na);
    ck_test_step_free(&s);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_layer_free(l);
}

/* ---- BatchNormalization against TF: 3 training calls, momentum 0.9 ---------- */

static void bn_golden(const char *name, int axis, ck_dtype dtype, double tol)
{
    ck_batch_normalization_opts o = {.momentum = ck_double(0.9), .dtype = dtype};
    if (axis) {
        o.naxes = 1;
        o.axes[0] = axis;
    }
    ck_layer *l = NULL;
    cr_assert_eq(ck_batch_normalization(&l, &o), CK_OK, "%s", ck_last_error());
    ck_tensor *x0 = golden(name, "x0");
    ck_shape is = ck_tensor_shape(x0);
    cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s", ck_last_error());
    ck_tensor *w[4] = {golden(name, "gamma"), golden(name, "beta"), golden(name, "mm0"), golden(name, "mv0")};
    cr_assert_eq(ck_layer_set_weights(l, 4, w), CK_OK, "%s", ck_last_error());
    char key[32], what[64];
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof key, "x%d", i);
        ck_tensor *x = golden(name, key);
        snprintf(key, sizeof key, "dy%d", i);
        ck_tensor *dy = golden(name, key);
        ck_test_step s;
        ck_test_train_step(l, x, dy, 1, 1, &s);
        static const char *const outs[] = {"y", "dx", "dgamma", "dbeta"};
        const ck_tensor *got[] = {s.y, s.dx, s.grads[0], s.grads[1]};
        for (int k = 0; k < 4; k++) {
            snprintf(key, sizeof key, "%s%d", outs[k], i);
            snprintf(what, sizeof what, "%s %s", name, key);
            ck_tensor *want = golden(name, key);
            ck_test_expect_close_rel(got[k], want, tol, what);
            ck_tensor_free(want);
        }
        ck_test_step_free(&s);
        ck_tensor_free(x);
        ck_tensor_free(dy);
    }
    /* The updates: moving_mean and moving_variance, changed in place. */
    ck_tensor *mm = golden(name, "mm"), *mv = golden(name, "mv");
    snprintf(what, sizeof what, "%s moving_mean", name);
    ck_test_expect_close_rel(ck_weight_value(ck_layer_weight(l, 2)), mm, tol, what);
    snprintf(what, sizeof what, "%s moving_variance", name);
    ck_test_expect_close_rel(ck_weight_value(ck_layer_weight(l, 3)), mv, tol, what);
    ck_tensor_free(mm);
    ck_tensor_free(mv);
    for (int j = 0; j < 4; j++) ck_tensor_free(w[j]);
    ck_tensor_free(x0);
    ck_layer_free(l);
}

Test(grad_norm, batch_normalization_tf_rank2)
{
    bn_golden("bn2", 0, CK_FLOAT32, 2e-5);
}

Test(grad_norm, batch_normalization_tf_rank4_fused)
{
    bn_golden("bn4", 0, CK_FLOAT32, 2e-5);
}

Test(grad_norm, batch_normalization_tf_rank4_channels_first_fused)
{
    bn_golden("bn4_cf", 1, CK_FLOAT32, 2e-5);
}

Test(grad_norm, batch_normalization_tf_rank4_float64_not_fused)
{
    bn_golden("bn4_f64", 0, CK_FLOAT64, 1e-12);
}

/* ---- Normalization ------------------------------------------------------------ */

Test(grad_norm, normalization_gradcheck)
{
    static const double mean[3] = {0.5, -1, 2}, var[3] = {4, 0.25, 1.5};
    int64_t shape[3] = {2, 4, 3};
    for (int invert = 0; invert < 2; invert++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.mean = mean, .variance = var, .n_values = 3,
                                                                    .invert = invert, .dtype = CK_FLOAT64}),
                     CK_OK, "%s", ck_last_error());
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, shape, -2, 2, 50 + (uint64_t)invert);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0, "invert %d", invert);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-6), 0, "invert %d", invert);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* Adaptable weights (mean / variance / count), axes (1, 2) of a rank-3
 * input; the weights are not trainable, only the input gets a gradient. */
Test(grad_norm, normalization_weights_gradcheck)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.naxes = 2, .axes = {1, 2}, .dtype = CK_FLOAT64}),
                 CK_OK, "%s", ck_last_error());
    int64_t shape[3] = {3, 2, 4};
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, shape, -2, 2, 60);
    ck_shape is = ck_tensor_shape(x);
    cr_assert_eq(ck_layer_build(l, 1, &is), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_trainable_weight_count(l), 0);
    ck_tensor *var = ck_weight_value(ck_layer_weight(l, 1)), *mean = ck_weight_value(ck_layer_weight(l, 0));
    for (int64_t i = 0; i < var->size; i++) {
        ((double *)var->data)[i] = 0.5 + 0.25 * (double)i;
        ((double *)mean->data)[i] = 0.1 * (double)i - 0.3;
    }
    cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0);
    ck_tensor_free(x);
    ck_layer_free(l);
}
