/* GaussianNoise, GaussianDropout, SpatialDropout1D / 2D / 3D and
 * ActivityRegularization:
 * - tf.keras 2.15's get_config text of each (tests/data/norm_attn/cases.json)
 *   read and written back, and the identity at inference on its input;
 * - training statistics (the noise's mean and deviation, the dropped
 *   fraction, one mask value per sample and channel) and backward;
 * - the float64 gradient check in both modes (the stream is re-seeded, so
 *   the noise repeats);
 * - ActivityRegularization's recorded loss against tf.keras and its
 *   gradient. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/gradcheck.h"
#include "support/layer_train_run.h"
#include "support/support.h"

static json_t *case_named(json_t *all, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) if (!strcmp(json_string_value(json_object_get(c, "name")), name)) return c;
    cr_assert_fail("no case %s", name);
    return NULL;
}

static ck_tensor *fixture(const char *name, const char *key)
{
    char rel[256];
    snprintf(rel, sizeof rel, "norm_attn/%s_%s.npy", name, key);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

static const char *const NOISE_CASES[] = {"gnoise", "gdrop", "sdrop1", "sdrop2", "sdrop3", "actreg",
                                          "actreg_default"};

Test(noise_layers, configs_and_inference_identity)
{
    json_t *all = ck_test_load_json(ck_test_data("norm_attn/cases.json"));
    for (size_t k = 0; k < sizeof NOISE_CASES / sizeof *NOISE_CASES; k++) {
        json_t *c = case_named(all, NOISE_CASES[k]);
        const char *config = json_string_value(json_object_get(c, "config"));
        ck_test_round_trip(config, NULL);
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(config, &l), CK_OK, "%s", ck_last_error());
        ck_tensor *x = fixture(NOISE_CASES[k], "x0"), *y = fixture(NOISE_CASES[k], "y"), *got = NULL;
        cr_assert_eq(ck_layer_call(l, 1, &x, &got), CK_OK, "%s", ck_last_error());
        cr_expect_eq(ck_test_max_abs_diff(got, y), 0.0, "%s", NOISE_CASES[k]);
        cr_expect_eq(ck_test_max_abs_diff(got, x), 0.0, "%s", NOISE_CASES[k]);
        ck_tensor_free(got);
        ck_tensor_free(x);
        ck_tensor_free(y);
        ck_layer_free(l);
    }
    json_decref(all);
}

/* Mean and standard deviation of a tensor's values. */
static void moments(const ck_tensor *t, double *mean, double *sd)
{
    double s = 0, q = 0;
    for (int64_t i = 0; i < t->size; i++) s += ck_tensor_get(t, i);
    *mean = s / (double)t->size;
    for (int64_t i = 0; i < t->size; i++) q += pow(ck_tensor_get(t, i) - *mean, 2);
    *sd = sqrt(q / (double)t->size);
}

static ck_tensor *filled(int rank, const int64_t *shape, double v)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, rank, shape), CK_OK);
    for (int64_t i = 0; i < t->size; i++) ((float *)t->data)[i] = (float)v;
    return t;
}

Test(noise_layers, gaussian_noise_training)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_gaussian_noise(&l, &(ck_gaussian_noise_opts){.stddev = 0.3}), CK_OK);
    const int64_t shape[2] = {200, 100};
    ck_tensor *x = filled(2, shape, 2.0), *dy = ck_test_uniform(CK_FLOAT32, 2, shape, -1, 1, 3);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 11, &s);
    double mean, sd;
    moments(s.y, &mean, &sd);
    cr_expect(fabs(mean - 2.0) < 0.01, "mean %g", mean);
    cr_expect(fabs(sd - 0.3) < 0.01, "sd %g", sd);
    cr_expect_eq(ck_test_max_abs_diff(s.dx, dy), 0.0, "GaussianNoise passes gradients through");
    ck_test_step_free(&s);
    /* training=False inside a step: the identity. */
    ck_test_train_step(l, x, dy, 0, 11, &s);
    cr_expect_eq(ck_test_max_abs_diff(s.y, x), 0.0);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

Test(noise_layers, gaussian_dropout_training)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_gaussian_dropout(&l, &(ck_gaussian_dropout_opts){.rate = 0.2}), CK_OK);
    const int64_t shape[2] = {200, 100};
    ck_tensor *x = filled(2, shape, 1.0), *dy = filled(2, shape, 1.0);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 12, &s);
    double mean, sd;
    moments(s.y, &mean, &sd);
    cr_expect(fabs(mean - 1.0) < 0.01, "mean %g", mean);
    cr_expect(fabs(sd - 0.5) < 0.01, "sd %g (sqrt(0.2 / 0.8) = 0.5)", sd);
    /* x = dy = 1: the input gradient is the noise itself. */
    cr_expect(ck_test_max_abs_diff(s.dx, s.y) < 1e-7);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
    ck_layer_free(l);
}

/* Every (sample, channel) of a SpatialDropout output is all 0 or all the
 * scaled input, and about `rate` of them are 0. */
static void check_spatial(ck_layer *l, int rank, const int64_t *shape, int channel_axis, double rate)
{
    ck_tensor *x = filled(rank, shape, 1.0), *dy = filled(rank, shape, 1.0);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 13, &s);
    const int64_t B = shape[0], C = shape[channel_axis];
    int64_t inner = 1, outer = 1;
    for (int d = channel_axis + 1; d < rank; d++) inner *= shape[d];
    for (int d = 1; d < channel_axis; d++) outer *= shape[d];
    long dropped = 0;
    const float scale = (float)(1.0 / (1.0 - rate));
    for (int64_t b = 0; b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const float first = ((float *)s.y->data)[((b * outer) * C + c) * inner];
            cr_assert(first == 0 || first == scale, "value %g", first);
            dropped += first == 0;
            for (int64_t o = 0; o < outer; o++)
                for (int64_t i = 0; i < inner; i++) {
                    const int64_t at = ((b * outer + o) * C + c) * inner + i;
                    cr_assert_eq(((float *)s.y->data)[at], first, "one value per sample and channel");
                    cr_assert_eq(((float *)s.dx->data)[at], first, "dx = dy * mask");
                }
        }
    const double frac = (double)dropped / (double)(B * C);
    cr_expect(fabs(frac - rate) < 0.05, "dropped fraction %g, rate %g", frac, rate);
    ck_test_step_free(&s);
    ck_tensor_free(x);
    ck_tensor_free(dy);
}

Test(noise_layers, spatial_dropout_training)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_spatial_dropout1d(&l, &(ck_spatial_dropout_opts){.rate = 0.3}), CK_OK);
    check_spatial(l, 3, (int64_t[]){40, 5, 30}, 2, 0.3);
    ck_layer_free(l);
    cr_assert_eq(ck_spatial_dropout2d(&l, &(ck_spatial_dropout_opts){.rate = 0.4, .data_format = "channels_first"}),
                 CK_OK);
    check_spatial(l, 4, (int64_t[]){40, 30, 2, 3}, 1, 0.4);
    ck_layer_free(l);
    cr_assert_eq(ck_spatial_dropout3d(&l, &(ck_spatial_dropout_opts){.rate = 0.5}), CK_OK);
    check_spatial(l, 5, (int64_t[]){40, 2, 2, 2, 30}, 4, 0.5);
    ck_layer_free(l);
    /* Keras 3 writes data_format; it is read. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"SpatialDropout2D\", \"config\": {\"rate\": 0.4, "
                                      "\"data_format\": \"channels_first\", \"seed\": null, \"name\": \"s\"}}",
                                      &l),
                 CK_OK, "%s", ck_last_error());
    check_spatial(l, 4, (int64_t[]){40, 30, 2, 3}, 1, 0.4);
    ck_layer_free(l);
}

Test(noise_layers, errors)
{
    ck_layer *l = NULL;
    cr_expect_eq(ck_spatial_dropout2d(&l, &(ck_spatial_dropout_opts){.rate = 0.4, .data_format = "nchw"}),
                 CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "`data_format` must be"), "%s", ck_last_error());
    cr_expect_eq(ck_spatial_dropout2d(&l, &(ck_spatial_dropout_opts){.rate = 1.5}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Invalid value 1.5 received for `rate`"), "%s", ck_last_error());
    cr_expect_eq(ck_gaussian_dropout(&l, &(ck_gaussian_dropout_opts){.rate = -0.1}), CK_VALUE_ERROR);
    cr_expect_eq(ck_gaussian_noise(&l, &(ck_gaussian_noise_opts){.stddev = -1}), CK_VALUE_ERROR);
    cr_expect_eq(ck_activity_regularization(&l, &(ck_activity_regularization_opts){.l1 = -1}), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"GaussianNoise\", \"config\": {}}", &l), CK_TYPE_ERROR);
    /* The input spec of SpatialDropout2D: rank 4. */
    cr_assert_eq(ck_spatial_dropout2d(&l, &(ck_spatial_dropout_opts){.rate = 0.4}), CK_OK);
    ck_tensor *x = filled(3, (int64_t[]){1, 2, 3}, 1.0), *y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, &x, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected ndim=4, found ndim=3"), "%s", ck_last_error());
    ck_tensor_free(x);
    ck_layer_free(l);
    /* Keras 1 names. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"GaussianNoise\", \"config\": {\"sigma\": 0.5}}", &l), CK_OK);
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"stddev\": 0.5"), "%s", text);
    ck_free(text);
    ck_layer_free(l);
}

Test(noise_layers, gradcheck_float64)
{
    ck_layer *ls[6];
    cr_assert_eq(ck_gaussian_noise(&ls[0], &(ck_gaussian_noise_opts){.stddev = 0.3, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_gaussian_dropout(&ls[1], &(ck_gaussian_dropout_opts){.rate = 0.3, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_spatial_dropout1d(&ls[2], &(ck_spatial_dropout_opts){.rate = 0.5, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_spatial_dropout2d(&ls[3], &(ck_spatial_dropout_opts){.rate = 0.5, .dtype = CK_FLOAT64}), CK_OK);
    cr_assert_eq(ck_spatial_dropout3d(&ls[4], &(ck_spatial_dropout_opts){.rate = 0.5, .data_format = "channels_first",
                                                                          .dtype = CK_FLOAT64}),
                 CK_OK);
    cr_assert_eq(ck_activity_regularization(&ls[5], &(ck_activity_regularization_opts){.dtype = CK_FLOAT64}), CK_OK);
    const int64_t s3[3] = {2, 3, 4}, s4[4] = {2, 3, 2, 2}, s5[5] = {2, 2, 2, 1, 3};
    const int ranks[6] = {3, 3, 3, 4, 5, 3};
    const int64_t *shapes[6] = {s3, s3, s3, s4, s5, s3};
    for (int k = 0; k < 6; k++) {
        ck_tensor *x = ck_test_uniform(CK_FLOAT64, ranks[k], shapes[k], -1, 1, 40 + k);
        cr_expect_gt(ck_test_gradcheck(ls[k], 1, &x, 1, 1e-6), 0);
        cr_expect_gt(ck_test_gradcheck(ls[k], 1, &x, 0, 1e-6), 0);
        ck_tensor_free(x);
        ck_layer_free(ls[k]);
    }
}

Test(noise_layers, activity_regularization_loss_and_gradient)
{
    json_t *all = ck_test_load_json(ck_test_data("norm_attn/cases.json"));
    json_t *c = case_named(all, "actreg");
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(json_string_value(json_object_get(c, "config")), &l), CK_OK);
    ck_tensor *x = fixture("actreg", "x0"), *y = NULL;
    cr_assert_eq(ck_layer_call(l, 1, &x, &y), CK_OK);
    double *losses = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_losses(l, &losses, &n), CK_OK);
    cr_assert_eq(n, 1);
    const double want = json_real_value(json_object_get(c, "loss"));
    cr_expect(fabs(losses[0] - want) <= 1e-6 * fabs(want), "loss %.9g, tf.keras %.9g", losses[0], want);
    ck_free(losses);
    /* dx = dy + (l1 * sign(y) + 2 * l2 * y) / batch. */
    ck_tensor *dy = ck_test_uniform(CK_FLOAT32, x->rank, x->shape, -1, 1, 9);
    ck_test_step s;
    ck_test_train_step(l, x, dy, 1, 1, &s);
    for (int64_t i = 0; i < x->size; i++) {
        const double v = ck_tensor_get(x, i), sign = v > 0 ? 1 : v < 0 ? -1 : 0;
        const double g = ck_tensor_get(dy, i) + (0.01 * sign + 2 * 0.02 * v) / (double)x->shape[0];
        cr_expect(fabs(ck_tensor_get(s.dx, i) - g) < 1e-6, "dx[%lld] %g, expected %g", (long long)i,
                  ck_tensor_get(s.dx, i), g);
    }
    ck_test_step_free(&s);
    ck_tensor_free(dy);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_layer_free(l);
    json_decref(all);
}
