/* BatchNormalization and Normalization at inference: values against numpy
 * goldens (with real trained BatchNormalization weights of a tf.keras 2.4
 * model), weights, configs of the real files' dialects, errors. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

/* Builds `l` for x, sets the named weight files, calls, compares. */
static void check_case(ck_layer *l, const char *prefix, const char *const *weights, int nw, double tol)
{
    char name[64];
    snprintf(name, sizeof name, "%s_x", prefix);
    ck_tensor *x = ck_test_npy(name), *w[4];
    ck_shape s = {x->rank, {0}};
    for (int d = 0; d < x->rank; d++) s.dims[d] = d == 0 ? -1 : x->shape[d];
    cr_assert_eq(ck_layer_build(l, 1, &s), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < nw; i++) {
        snprintf(name, sizeof name, "%s_%s", prefix, weights[i]);
        w[i] = ck_test_npy(name);
    }
    cr_assert_eq(ck_layer_set_weights(l, nw, w), CK_OK, "%s", ck_last_error());
    snprintf(name, sizeof name, "%s_out", prefix);
    ck_tensor *y = ck_test_call1(l, x), *want = ck_test_npy(name);
    double d = ck_test_max_abs_diff(y, want);
    cr_expect_leq(d, tol, "%s: max abs diff %g", prefix, d);
    for (int i = 0; i < nw; i++) ck_tensor_free(w[i]);
    ck_tensor_free(x); ck_tensor_free(y); ck_tensor_free(want);
}

static ck_layer *bn(const ck_batch_normalization_opts *o)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_batch_normalization(&l, o), CK_OK, "%s", ck_last_error());
    return l;
}

/* ---- BatchNormalization ------------------------------------------------------ */

Test(batch_normalization, values)
{
    const char *all[] = {"gamma", "beta", "mean", "var"}, *plain[] = {"mean", "var"};
    ck_layer *l = bn(NULL);
    check_case(l, "bn_last", all, 4, 2e-6);
    ck_layer_free(l);
    l = bn(&(ck_batch_normalization_opts){.naxes = 1, .axes = {1}, .epsilon = ck_double(0.01)});
    check_case(l, "bn_ch1", all, 4, 2e-6);
    ck_layer_free(l);
    l = bn(&(ck_batch_normalization_opts){.naxes = 2, .axes = {1, 2}});
    check_case(l, "bn_multi", all, 4, 2e-6);
    cr_expect_eq(ck_weight_value(ck_layer_weight(l, 0))->rank, 3);
    ck_layer_free(l);
    l = bn(&(ck_batch_normalization_opts){.no_center = true, .no_scale = true});
    check_case(l, "bn_plain", plain, 2, 2e-6);
    ck_layer_free(l);
}

/* Trained weights of siamese-cosine-dot-keras2_4 (tf.keras 2.4), layer
 * normalization1, read from its own config. */
Test(batch_normalization, real_trained_weights)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(
        "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"normalization1\", \"trainable\": true, "
        "\"dtype\": \"float32\", \"axis\": [1], \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true, \"scale\": "
        "true, \"beta_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"gamma_initializer\": "
        "{\"class_name\": \"Ones\", \"config\": {}}, \"moving_mean_initializer\": {\"class_name\": \"Zeros\", "
        "\"config\": {}}, \"moving_variance_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
        "\"beta_regularizer\": null, \"gamma_regularizer\": null, \"beta_constraint\": null, \"gamma_constraint\": "
        "null}}", &l), CK_OK, "%s", ck_last_error());
    const char *w[] = {"w0", "w1", "w2", "w3"};
    check_case(l, "real_bn", w, 4, 2e-5);
    ck_layer_free(l);
}

Test(batch_normalization, weights_and_config)
{
    ck_clear_session();
    ck_layer *l = bn(NULL);
    const char *before =
        "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"batch_normalization\", \"trainable\": true, "
        "\"dtype\": \"float32\", \"axis\": -1, \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true, \"scale\": "
        "true, \"beta_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"gamma_initializer\": "
        "{\"class_name\": \"Ones\", \"config\": {}}, \"moving_mean_initializer\": {\"class_name\": \"Zeros\", "
        "\"config\": {}}, \"moving_variance_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
        "\"beta_regularizer\": null, \"gamma_regularizer\": null, \"beta_constraint\": null, \"gamma_constraint\": "
        "null}}";
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, before);
    ck_free(text);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 5)), CK_OK);
    /* After build tf.keras keeps the validated axis list. */
    text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"axis\": [1], ") != NULL, "%s", text);
    ck_test_round_trip(text, NULL);
    ck_free(text);
    const char *names[] = {"batch_normalization/gamma:0", "batch_normalization/beta:0",
                           "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"};
    cr_assert_eq(ck_layer_weight_count(l), 4);
    for (int i = 0; i < 4; i++) cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, i)), names[i]);
    cr_expect_eq(ck_layer_trainable_weight_count(l), 2);
    cr_expect_eq(ck_layer_non_trainable_weight_count(l), 2);
    cr_expect_float_eq(ck_tensor_get(ck_weight_value(ck_layer_weight(l, 0)), 0), 1.0, 0);
    cr_expect_float_eq(ck_tensor_get(ck_weight_value(ck_layer_weight(l, 3)), 0), 1.0, 0);
    int64_t n = 0;
    cr_assert_eq(ck_layer_count_params(l, &n), CK_OK);
    cr_expect_eq(n, 20);
    ck_layer_free(l);
    /* center=False: gamma, moving_mean, moving_variance. */
    l = bn(&(ck_batch_normalization_opts){.no_center = true, .gamma_regularizer = "l2"});
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3)), CK_OK);
    cr_assert_eq(ck_layer_weight_count(l), 3);
    cr_expect(strstr(ck_weight_name(ck_layer_weight(l, 0)), "/gamma:0") != NULL);
    cr_expect(strstr(ck_weight_name(ck_layer_weight(l, 1)), "/moving_mean:0") != NULL);
    double *losses = NULL;
    int nl = 0;
    cr_assert_eq(ck_layer_losses(l, &losses, &nl), CK_OK);
    cr_expect_eq(nl, 1);
    cr_expect_float_eq(losses[0], 3 * 0.01, 1e-7);
    ck_free(losses);
    ck_layer_free(l);
}

Test(batch_normalization, config_dialects)
{
    /* Keras 3: int axis, synchronized, DTypePolicy. */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(
        "{\"module\": \"keras.layers\", \"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn\", "
        "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
        "{\"name\": \"float32\"}, \"registered_name\": null}, \"axis\": -1, \"momentum\": 0.9, \"epsilon\": 1e-05, "
        "\"center\": true, \"scale\": false, \"beta_initializer\": {\"module\": \"keras.initializers\", "
        "\"class_name\": \"Zeros\", \"config\": {}, \"registered_name\": null}, \"gamma_initializer\": {\"module\": "
        "\"keras.initializers\", \"class_name\": \"Ones\", \"config\": {}, \"registered_name\": null}, "
        "\"moving_mean_initializer\": {\"module\": \"keras.initializers\", \"class_name\": \"Zeros\", \"config\": {}, "
        "\"registered_name\": null}, \"moving_variance_initializer\": {\"module\": \"keras.initializers\", "
        "\"class_name\": \"Ones\", \"config\": {}, \"registered_name\": null}, \"beta_regularizer\": null, "
        "\"gamma_regularizer\": null, \"beta_constraint\": null, \"gamma_constraint\": null, \"synchronized\": false}, "
        "\"registered_name\": null, \"build_config\": {\"input_shape\": [null, 4]}}", &l), CK_OK, "%s", ck_last_error());
    cr_expect(ck_layer_built(l));
    cr_expect_eq(ck_layer_weight_count(l), 3);
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"axis\": [1], \"momentum\": 0.9, \"epsilon\": 1e-05, \"center\": true, \"scale\": false")
              != NULL, "%s", text);
    ck_free(text);
    ck_layer_free(l);
    /* Keras 1: mode 0 and no center / scale / initializer keys. */
    ck_test_round_trip("{\"class_name\": \"BatchNormalization\", \"config\": {\"epsilon\": 0.001, \"mode\": 0, \"axis\": -1, "
               "\"gamma_regularizer\": null, \"beta_regularizer\": null, \"momentum\": 0.99, \"name\": \"bn1\", "
               "\"trainable\": true}}",
               "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn1\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"axis\": -1, \"momentum\": 0.99, \"epsilon\": 0.001, \"center\": true, \"scale\": true, "
               "\"beta_initializer\": {\"class_name\": \"Zeros\", \"config\": {}}, \"gamma_initializer\": "
               "{\"class_name\": \"Ones\", \"config\": {}}, \"moving_mean_initializer\": {\"class_name\": \"Zeros\", "
               "\"config\": {}}, \"moving_variance_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, "
               "\"beta_regularizer\": null, \"gamma_regularizer\": null, \"beta_constraint\": null, "
               "\"gamma_constraint\": null}}");
    /* tf.keras extras that change nothing at inference are read. */
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"BatchNormalization\", \"config\": {\"axis\": 1, \"fused\": "
                                      "true, \"renorm\": false, \"renorm_clipping\": null, \"renorm_momentum\": 0.99, "
                                      "\"virtual_batch_size\": null, \"adjustment\": null}}", &l), CK_OK,
                 "%s", ck_last_error());
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4)), CK_VALUE_ERROR); /* fused needs 4D / 5D */
    cr_expect(strstr(ck_last_error(), "`fused=True` only support 4D or 5D") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4, 2, 2)), CK_OK);
    ck_layer_free(l);
    const char *unsupported[] = {"\"renorm\": true", "\"virtual_batch_size\": 2", "\"mode\": 2",
                                 "\"adjustment\": \"fn\""};
    for (int i = 0; i < 4; i++) {
        char buf[160];
        snprintf(buf, sizeof buf, "{\"class_name\": \"BatchNormalization\", \"config\": {%s}}", unsupported[i]);
        cr_expect_eq(ck_layer_from_config(buf, &l), CK_NOT_IMPLEMENTED, "%s", unsupported[i]);
    }
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"BatchNormalization\", \"config\": {\"axis\": 1, \"fused\": "
                                      "true, \"synchronized\": true}}", &l), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"BatchNormalization\", \"config\": {\"axis\": 2, \"fused\": "
                                      "true}}", &l), CK_VALUE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"BatchNormalization\", \"config\": {\"bogus\": 1}}", &l),
                 CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"BatchNormalization\", \"config\": {\"center\": 1}}", &l),
                 CK_TYPE_ERROR);
}

Test(batch_normalization, errors)
{
    ck_layer *l = bn(&(ck_batch_normalization_opts){.naxes = 1, .axes = {3}});
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Invalid value for `axis` argument. Expected 0 <= axis < inputs.rank (with "
                                      "inputs.rank=2). Received: axis=(3,)") != NULL, "%s", ck_last_error());
    cr_expect(!ck_layer_built(l));
    cr_expect_eq(ck_layer_weight_count(l), 0);
    ck_layer_free(l);
    l = bn(&(ck_batch_normalization_opts){.naxes = 2, .axes = {1, -1}});
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Duplicate axis: (1, 1)") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    l = bn(NULL);
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, -1)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Input has undefined `axis` dimension") != NULL, "%s", ck_last_error());
    float v[8] = {0};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){2, 3}, v), *z = ck_test_f32(2, (int64_t[]){2, 4}, v), *y = NULL;
    y = ck_test_call1(l, x);
    ck_tensor_free(y);
    y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){z}, &y), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "expected axis 1 of input shape to have value 3") != NULL, "%s", ck_last_error());
    cr_expect_null(y);
    ck_tensor *i = ck_test_i64(2, (int64_t[]){1, 3}, (int64_t[]){1, 2, 3});
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){i}, &y), CK_TYPE_ERROR);
    ck_tensor_free(i); ck_tensor_free(x); ck_tensor_free(z); ck_layer_free(l);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_batch_normalization(&bad, &(ck_batch_normalization_opts){.beta_initializer = "nope"}),
                 CK_VALUE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
}

Test(batch_normalization, float64_layer)
{
    ck_layer *l = bn(&(ck_batch_normalization_opts){.dtype = CK_FLOAT64, .epsilon = ck_double(0.5)});
    double xv[] = {1, 2, 3, 4};
    ck_tensor *x = ck_test_f64(2, (int64_t[]){2, 2}, xv);
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(y->dtype, CK_FLOAT64);
    /* Default weights: y = x / sqrt(1 + 0.5). */
    for (int k = 0; k < 4; k++) cr_expect_float_eq(((double *)y->data)[k], xv[k] / sqrt(1.5), 1e-15);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

static ck_status bn_run(void *ctx)
{
    ck_tensor **slot = ctx;
    ck_layer *l = NULL;
    ck_status st = ck_batch_normalization(&l, &(ck_batch_normalization_opts){.naxes = 2, .axes = {1, 2},
                                                                              .beta_regularizer = "l1",
                                                                              .gamma_constraint = "non_neg"});
    if (st != CK_OK) return st;
    float v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    ck_tensor *x = NULL;
    st = ck_tensor_wrap(&x, CK_FLOAT32, 3, (int64_t[]){1, 3, 4}, v);
    if (st == CK_OK) st = ck_layer_call(l, 1, &x, slot);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

static void free_slot(void *ctx) { ck_tensor_free(*(ck_tensor **)ctx); }

Test(batch_normalization, failing_allocations)
{
    ck_tensor *out = NULL;
    ck_test_every_allocation_fails(bn_run, free_slot, &out);
}

/* ---- Normalization ------------------------------------------------------------- */

Test(normalization, given_mean_and_variance)
{
    ck_tensor *m = ck_test_npy("norm_mean"), *v = ck_test_npy("norm_var"), *x = ck_test_npy("norm_x");
    const char *goldens[] = {"norm_out", "norm_invert_out"};
    for (int inv = 0; inv < 2; inv++) {
        ck_layer *l = NULL;
        cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.mean = m->data, .variance = v->data,
                                                                   .n_values = 5, .invert = inv}), CK_OK);
        ck_tensor *y = ck_test_call1(l, x), *want = ck_test_npy(goldens[inv]);
        /* The tiny variance makes (x - m) / 1e-7 large: compare relatively. */
        for (int64_t k = 0; k < y->size; k++) {
            double a = ck_tensor_get(y, k), b = ck_tensor_get(want, k);
            cr_expect_leq(fabs(a - b), 1e-6 * (1 + fabs(b)), "%s[%lld]: %g vs %g", goldens[inv], (long long)k, a, b);
        }
        cr_expect_eq(ck_layer_weight_count(l), 0);
        ck_tensor_free(y); ck_tensor_free(want); ck_layer_free(l);
    }
    ck_tensor_free(m); ck_tensor_free(v); ck_tensor_free(x);
}

Test(normalization, adapted_weights_on_two_axes)
{
    ck_clear_session();
    ck_layer *l = NULL;
    cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.naxes = 2, .axes = {1, 2}}), CK_OK);
    cr_assert_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 3, 4)), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_weight_count(l), 3);
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 0)), "normalization/mean:0");
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 1)), "normalization/variance:0");
    cr_expect_str_eq(ck_weight_name(ck_layer_weight(l, 2)), "normalization/count:0");
    cr_expect_eq(ck_weight_value(ck_layer_weight(l, 2))->dtype, CK_INT64);
    cr_expect_eq(ck_weight_value(ck_layer_weight(l, 2))->rank, 0);
    cr_expect_eq(ck_layer_trainable_weight_count(l), 0);
    ck_tensor *m = ck_test_npy("norm_multi_mean"), *v = ck_test_npy("norm_multi_var"), *c = ck_test_i64(0, NULL, (int64_t[]){8});
    cr_assert_eq(ck_layer_set_weights(l, 3, (ck_tensor *[]){m, v, c}), CK_OK, "%s", ck_last_error());
    ck_tensor *x = ck_test_npy("norm_multi_x"), *y = ck_test_call1(l, x), *want = ck_test_npy("norm_multi_out");
    cr_expect_leq(ck_test_max_abs_diff(y, want), 2e-6);
    ck_tensor_free(m); ck_tensor_free(v); ck_tensor_free(c); ck_tensor_free(x); ck_tensor_free(y);
    ck_tensor_free(want);
    /* A different kept dim is refused. */
    float z[6] = {0};
    x = ck_test_f32(3, (int64_t[]){1, 2, 3}, z);
    y = NULL;
    cr_expect_eq(ck_layer_call(l, 1, (ck_tensor *[]){x}, &y), CK_VALUE_ERROR);
    cr_expect_null(y);
    ck_tensor_free(x); ck_layer_free(l);
}

Test(normalization, axis_none_scalar_and_integer_input)
{
    ck_layer *l = NULL;
    double mean = 2, var = 4;
    cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.axis_none = true, .mean = &mean, .variance = &var,
                                                               .n_values = 1}), CK_OK);
    ck_tensor *x = ck_test_i64(2, (int64_t[]){2, 3}, (int64_t[]){0, 1, 2, 3, 4, 10});
    ck_tensor *y = ck_test_call1(l, x);
    cr_expect_eq(y->dtype, CK_FLOAT32);
    for (int k = 0; k < 6; k++)
        cr_expect_float_eq(((float *)y->data)[k], (ck_tensor_get(x, k) - 2) / 2, 1e-7, "element %d", k);
    char *text = ck_test_config_of(l);
    cr_expect(strstr(text, "\"axis\": [], \"invert\": false, \"mean\": 2.0, \"variance\": 4.0}") != NULL, "%s", text);
    ck_test_round_trip(text, NULL);
    ck_free(text);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
}

Test(normalization, configs_and_errors)
{
    /* keras3-wide-deep/my_model.keras */
    ck_layer *l = NULL;
    cr_assert_eq(ck_layer_from_config(
        "{\"module\": \"keras.layers\", \"class_name\": \"Normalization\", \"config\": {\"name\": \"normalization_2\", "
        "\"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \"DTypePolicy\", \"config\": "
        "{\"name\": \"float32\"}, \"registered_name\": null, \"shared_object_id\": 11287345472}, \"axis\": [-1], "
        "\"invert\": false, \"mean\": null, \"variance\": null}, \"registered_name\": null, \"build_config\": "
        "{\"input_shape\": [null, 5]}}", &l), CK_OK, "%s", ck_last_error());
    cr_expect(ck_layer_built(l));
    cr_expect_eq(ck_weight_value(ck_layer_weight(l, 0))->shape[0], 5);
    char *text = ck_test_config_of(l);
    cr_expect_str_eq(text, "{\"class_name\": \"Normalization\", \"config\": {\"name\": \"normalization_2\", "
                           "\"trainable\": true, \"dtype\": \"float32\", \"axis\": [-1], \"invert\": false, \"mean\": "
                           "null, \"variance\": null}}");
    ck_free(text);
    ck_layer_free(l);
    /* TF2.6-2.9 form (no invert); an int axis; given lists; nested lists. */
    ck_test_round_trip("{\"class_name\": \"Normalization\", \"config\": {\"name\": \"n\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"axis\": -1, \"mean\": null, \"variance\": null}}",
               "{\"class_name\": \"Normalization\", \"config\": {\"name\": \"n\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"axis\": [-1], \"invert\": false, \"mean\": null, \"variance\": null}}");
    ck_test_round_trip("{\"class_name\": \"Normalization\", \"config\": {\"name\": \"n\", \"trainable\": true, \"dtype\": "
               "\"float32\", \"axis\": [-1], \"invert\": true, \"mean\": [[1.0, 2.0]], \"variance\": 4}}", NULL);
    cr_assert_eq(ck_layer_from_config("{\"class_name\": \"Normalization\", \"config\": {\"mean\": [[1.0, 2.0]], "
                                      "\"variance\": 4, \"invert\": true}}", &l), CK_OK, "%s", ck_last_error());
    float xv[] = {1, 1};
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, 2}, xv), *y = ck_test_call1(l, x);
    cr_expect(((float *)y->data)[0] == 3.0f && ((float *)y->data)[1] == 4.0f);
    ck_tensor_free(x); ck_tensor_free(y); ck_layer_free(l);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Normalization\", \"config\": {\"mean\": 1.0}}", &l),
                 CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "both `mean` and `variance` must be set") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Normalization\", \"config\": {\"mean\": \"a\", \"variance\": "
                                      "1}}", &l), CK_TYPE_ERROR);
    cr_expect_eq(ck_layer_from_config("{\"class_name\": \"Normalization\", \"config\": {\"epsilon\": 1}}", &l),
                 CK_TYPE_ERROR);
    /* Build errors. */
    cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.naxes = 1, .axes = {2}}), CK_OK);
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "All `axis` values must be in the range [-ndim, ndim). Found ndim: `2`, axis: "
                                      "(2,)") != NULL, "%s", ck_last_error());
    ck_layer_free(l);
    cr_assert_eq(ck_normalization(&l, NULL), CK_OK);
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, -1)), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "All `axis` values to be kept must have known shape") != NULL, "%s",
              ck_last_error());
    ck_layer_free(l);
    double three[] = {1, 2, 3};
    cr_assert_eq(ck_normalization(&l, &(ck_normalization_opts){.mean = three, .variance = three, .n_values = 3}),
                 CK_OK);
    cr_expect_eq(ck_layer_build(l, 1, &CK_TEST_SHAPE(-1, 4)), CK_VALUE_ERROR);
    ck_layer_free(l);
    ck_layer *bad = (ck_layer *)0x1;
    cr_expect_eq(ck_normalization(&bad, &(ck_normalization_opts){.mean = three, .n_values = 3}), CK_VALUE_ERROR);
    cr_expect_eq(bad, (ck_layer *)0x1);
}

static ck_status norm_run(void *ctx)
{
    ck_tensor **slot = ctx;
    ck_layer *l = NULL;
    double m[2] = {1, 2}, v[2] = {4, 9};
    ck_status st = ck_normalization(&l, &(ck_normalization_opts){.mean = m, .variance = v, .n_values = 2});
    if (st != CK_OK) return st;
    int64_t xv[4] = {1, 2, 3, 4};
    ck_tensor *x = NULL;
    st = ck_tensor_wrap(&x, CK_INT64, 2, (int64_t[]){2, 2}, xv);
    if (st == CK_OK) st = ck_layer_call(l, 1, &x, slot);
    ck_tensor_free(x);
    ck_layer_free(l);
    return st;
}

Test(normalization, failing_allocations)
{
    ck_tensor *out = NULL;
    ck_test_every_allocation_fails(norm_run, free_slot, &out);
}
