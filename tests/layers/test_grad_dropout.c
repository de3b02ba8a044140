/* Training of Dropout and AlphaDropout.  TF's random values cannot be
 * matched, so the masks are tested statistically (kept fraction, scale,
 * AlphaDropout's preserved mean and variance), structurally (noise_shape
 * broadcasting, inference and rate 0 are the identity) and through the
 * float64 gradient check, which re-seeds the stream before every forward. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static ck_layer *make(int alpha, double rate, const ck_shape *noise, ck_dtype dtype)
{
    ck_dropout_opts o = {.rate = rate, .dtype = dtype};
    if (noise) o.noise_shape = *noise;
    ck_layer *l = NULL;
    ck_status st = alpha ? ck_alpha_dropout(&l, &o) : ck_dropout(&l, &o);
    cr_assert_eq(st, CK_OK, "%s", ck_last_error());
    return l;
}

static ck_tensor *filled(int rank, const int64_t *shape, double v)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, rank, shape), CK_OK);
    for (int64_t i = 0; i < t->size; i++) ((float *)t->data)[i] = (float)v;
    return t;
}

Test(grad_dropout, dropout_kept_fraction_and_scale)
{
    int64_t shape[2] = {200, 500};
    ck_layer *l = make(0, 0.3, NULL, 0);
    ck_tensor *x = filled(2, shape, 1.0), *dy = filled(2, shape, 2.0);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 42, &s);
    const float *y = s.y->data, *dx = s.dx->data;
    const float scale = (float)(1.0 / 0.7);
    int64_t kept = 0;
    for (int64_t i = 0; i < s.y->size; i++) {
        cr_assert(y[i] == 0 || y[i] == scale, "y[%lld] = %g", (long long)i, y[i]);
        /* backward: the same mask and scale */
        cr_assert_eq(dx[i], y[i] * 2.0f);
        kept += y[i] != 0;
    }
    double frac = (double)kept / (double)s.y->size; /* sd ~ 0.0014 */
    cr_expect(fabs(frac - 0.7) < 0.01, "kept fraction %g", frac);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

Test(grad_dropout, dropout_identity_at_inference_and_rate_0)
{
    int64_t shape[2] = {4, 5};
    ck_tensor *x = ck_test_uniform(CK_FLOAT32, 2, shape, -1, 1, 1), *dy = ck_test_uniform(CK_FLOAT32, 2, shape, -1, 1, 2);
    for (int k = 0; k < 2; k++) {
        ck_layer *l = make(k, k ? 0.5 : 0.4, NULL, 0);
        ck_test_step s;
        ck_test_train_step(l, x, dy, 0, 1, &s);
        cr_expect_eq(ck_test_max_abs_diff(s.y, x), 0);
        cr_expect_eq(ck_test_max_abs_diff(s.dx, dy), 0);
        ck_test_step_free(&s);
        ck_layer_free(l);
        l = make(k, 0, NULL, 0);
        ck_test_train_step(l, x, dy, 1, 1, &s);
        cr_expect_eq(ck_test_max_abs_diff(s.y, x), 0, "rate 0 trains as the identity");
        cr_expect_eq(ck_test_max_abs_diff(s.dx, dy), 0);
        ck_test_step_free(&s);
        ck_layer_free(l);
    }
    ck_tensor_free(x);
    ck_tensor_free(dy);
}

/* noise_shape (None, 1, 4): one mask value per (batch, channel), shared
 * along axis 1. */
Test(grad_dropout, dropout_noise_shape_broadcasts)
{
    int64_t shape[3] = {8, 6, 4};
    ck_shape noise = {3, {-1, 1, 4}};
    ck_layer *l = make(0, 0.5, &noise, 0);
    ck_tensor *x = filled(3, shape, 1.0);
    ck_test_step s;
    ck_test_train_step(l, x, x, 1, 7, &s);
    const float *y = s.y->data;
    int64_t kept = 0;
    for (int64_t b = 0; b < 8; b++)
        for (int64_t c = 0; c < 4; c++) {
            float first = y[(b * 6) * 4 + c];
            kept += first != 0;
            for (int64_t t = 1; t < 6; t++) cr_assert_eq(y[(b * 6 + t) * 4 + c], first);
        }
    cr_expect(kept > 4 && kept < 28, "kept %lld of 32", (long long)kept);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_layer_free(l);
}

Test(grad_dropout, dropout_bad_noise_shape_and_rate_1)
{
    int64_t shape[3] = {2, 3, 4};
    ck_tensor *x = filled(3, shape, 1.0), *y = NULL;
    cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, 3, shape), CK_OK);
    ck_rng rng;
    ck_rng_seed(&rng, 1);
    ck_train_ctx ctx = {.training = 1, .rng = &rng};
    float saved[64];
    const ck_tensor *ins[1] = {x};
    ck_shape noise = {3, {-1, 2, 4}};
    ck_layer *l = make(0, 0.5, &noise, 0);
    cr_expect_eq(ck_layer_train_call(l, &ctx, 1, ins, &y, saved), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "noise_shape"), "%s", ck_last_error());
    ck_layer_free(l);
    l = make(0, 1.0, NULL, 0);
    cr_expect_eq(ck_layer_train_call(l, &ctx, 1, ins, &y, saved), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "[0, 1)"), "%s", ck_last_error());
    ck_layer_free(l);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

Test(grad_dropout, dropout_gradcheck)
{
    int64_t shape[3] = {3, 4, 5};
    ck_shape noise = {3, {-1, 1, -1}};
    for (int k = 0; k < 2; k++) {
        ck_layer *l = make(0, 0.4, k ? &noise : NULL, CK_FLOAT64);
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, 3, shape, -1, 1, 5);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0);
        cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-6), 0);
        ck_tensor_free(x);
        ck_layer_free(l);
    }
}

/* AlphaDropout keeps a standard normal input at mean 0, variance 1; the
 * dropped values are a * alpha_p + b. */
Test(grad_dropout, alpha_dropout_statistics)
{
    int64_t shape[2] = {400, 500};
    const double rate = 0.2, ap = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946;
    const double a = 1.0 / sqrt((1 - rate) * (1 + rate * ap * ap)), b = -a * ap * rate;
    ck_tensor *x = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, shape), CK_OK);
    ck_rng rng;
    ck_rng_seed(&rng, 3);
    for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = (float)ck_rng_normal(&rng);
    ck_layer *l = make(1, rate, NULL, 0);
    ck_tensor *dy = filled(2, shape, 1.0);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 11, &s);
    const float *y = s.y->data, *xs = x->data, *dx = s.dx->data;
    double sum = 0, sq = 0;
    int64_t dropped = 0;
    for (int64_t i = 0; i < s.y->size; i++) {
        sum += y[i];
        sq += (double)y[i] * y[i];
        if (dx[i] == 0) {
            dropped++;
            cr_assert_float_eq(y[i], a * ap + b, 1e-6);
        } else {
            cr_assert_float_eq(dx[i], a, 1e-6);
            cr_assert_float_eq(y[i], a * xs[i] + b, 1e-5);
        }
    }
    double n = (double)s.y->size, mean = sum / n, var = sq / n - mean * mean;
    cr_expect(fabs(mean) < 0.01, "mean %g", mean);
    cr_expect(fabs(var - 1) < 0.02, "variance %g", var);
    cr_expect(fabs((double)dropped / n - rate) < 0.01, "dropped fraction %g", (double)dropped / n);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

Test(grad_dropout, alpha_dropout_gradcheck)
{
    int64_t shape[2] = {6, 7};
    ck_layer *l = make(1, 0.3, NULL, CK_FLOAT64);
    ck_tensor *x = ck_test_uniform(CK_FLOAT64, 2, shape, -1, 1, 8);
    cr_expect_gt(ck_test_gradcheck(l, 1, &x, 1, 1e-6), 0);
    cr_expect_gt(ck_test_gradcheck(l, 1, &x, 0, 1e-6), 0);
    ck_tensor_free(x);
    ck_layer_free(l);
}
