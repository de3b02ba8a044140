/* Real Keras files against the outputs real Keras computed with them
 * (fixtures of tools/gen_real_expected.py under tests/data/keras_expected,
 * see its docstring), and the TF.js models of tests/data/tfjs/models
 * against TF.js predictions.  Max abs error <= 1e-5 everywhere (the TF.js
 * manifest's own atol/rtol there); the measured errors are logged. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "real_common.h"
#include "support/support.h"

#define TOL 1e-5

/* Rows [row, row+1) of a rank-2 tensor as a new (1, cols) tensor. */
static ck_tensor *row_of(const ck_tensor *t, int64_t row)
{
    ck_tensor *r = NULL;
    int64_t shape[2] = {1, t->shape[1]};
    cr_assert_eq(ck_tensor_from_data(&r, t->dtype, 2, shape,
                                     (const char *)t->data + (size_t)(row * t->shape[1]) * ck_dtype_size(t->dtype)),
                 CK_OK);
    return r;
}

static double check(const char *what, const ck_tensor *got, const ck_tensor *want)
{
    double err = ck_test_max_abs_diff(got, want);
    cr_expect_leq(err, TOL, "%s: max abs error %g", what, err);
    return err;
}

/* ---- siamese-cosine-dot-keras2_4 (tf.keras 2.4, nested shared model) ----- */

Test(real_predict, siamese_cosines_of_all_12_pairs)
{
    ck_model *m = real_model("siamese-cosine-dot-keras2_4", "testmodel.hdf5", NULL);
    cr_assert_not_null(m, "the committed copy is missing");
    ck_tensor *x = expected_npy("siamese-cosine-dot-keras2_4", "inputs.npy");
    ck_tensor *want = expected_npy("siamese-cosine-dot-keras2_4", "expected.npy");
    cr_assert_eq(want->shape[0], 4);
    cr_assert_eq(want->shape[1], 3);
    double worst = 0;
    for (int64_t i = 0; i < 4; i++) {
        for (int64_t j = 0; j < 3; j++) {
            /* model.predict([inputs[i:i+1], inputs[j:j+1]])[0, 0] */
            ck_tensor *in[2] = {row_of(x, i), row_of(x, j)};
            ck_tensor *y = predict1(m, 2, in, 0);
            cr_assert_eq(y->rank, 2);
            cr_assert_eq(y->shape[0], 1);
            cr_assert_eq(y->shape[1], 1);
            double got = ck_tensor_get(y, 0), exp = ck_tensor_get(want, i * 3 + j);
            double err = fabs(got - exp);
            cr_expect_leq(err, TOL, "cosine(%lld, %lld) = %.9g, Keras %.9g", (long long)i, (long long)j, got, exp);
            if (err > worst) worst = err;
            ck_tensor_free(in[0]);
            ck_tensor_free(in[1]);
            ck_tensor_free(y);
        }
    }
    cr_log_info("siamese-cosine-dot-keras2_4: 12 cosines, max abs error %.3g", worst);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}

/* The same 12 pairs in one batch of 12 give the same cosines. */
Test(real_predict, siamese_cosines_in_one_batch)
{
    ck_model *m = real_model("siamese-cosine-dot-keras2_4", "testmodel.hdf5", NULL);
    cr_assert_not_null(m);
    ck_tensor *x = expected_npy("siamese-cosine-dot-keras2_4", "inputs.npy");
    ck_tensor *want = expected_npy("siamese-cosine-dot-keras2_4", "expected.npy");
    ck_tensor *a = NULL, *b = NULL;
    int64_t shape[2] = {12, 339};
    cr_assert_eq(ck_tensor_new(&a, CK_FLOAT32, 2, shape), CK_OK);
    cr_assert_eq(ck_tensor_new(&b, CK_FLOAT32, 2, shape), CK_OK);
    for (int k = 0; k < 12; k++) {
        memcpy((float *)a->data + k * 339, (float *)x->data + (k / 3) * 339, 339 * sizeof(float));
        memcpy((float *)b->data + k * 339, (float *)x->data + (k % 3) * 339, 339 * sizeof(float));
    }
    ck_tensor *in[2] = {a, b};
    ck_tensor *y = predict1(m, 2, in, 5); /* batches of 5, 5, 2 */
    int64_t s[2] = {12, 1};
    cr_assert_eq(ck_tensor_reshape(want, 2, s), CK_OK);
    double err = check("siamese batched", y, want);
    cr_log_info("siamese-cosine-dot-keras2_4 batched: max abs error %.3g", err);
    ck_tensor_free(a);
    ck_tensor_free(b);
    ck_tensor_free(y);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_model_free(m);
}

/* ---- recommenders: Embedding -> Flatten -> Dot (no licence: from shared) -- */

static void recommender(const char *folder)
{
    ck_model *m = real_model(folder, "recommender_model.h5", NULL);
    if (!m) cr_skip_test("../shared/testdata absent (%s has no licence and is not copied)", folder);
    ck_tensor *in[2] = {expected_npy(folder, "input0.npy"), expected_npy(folder, "input1.npy")};
    ck_tensor *want = expected_npy(folder, "expected.npy");
    ck_tensor *y = predict1(m, 2, in, 0);
    double err = check(folder, y, want);
    cr_log_info("%s: %lld cases, max abs error %.3g", folder, (long long)want->shape[0], err);
    /* One case at a time, as the notebooks printed them. */
    for (int64_t i = 0; i < want->shape[0]; i++) {
        ck_tensor *one[2] = {row_of(in[0], i), row_of(in[1], i)};
        ck_tensor *yi = predict1(m, 2, one, 0);
        cr_expect_leq(fabs(ck_tensor_get(yi, 0) - ck_tensor_get(want, i)), TOL, "%s case %lld", folder,
                      (long long)i);
        ck_tensor_free(one[0]);
        ck_tensor_free(one[1]);
        ck_tensor_free(yi);
    }
    ck_tensor_free(in[0]);
    ck_tensor_free(in[1]);
    ck_tensor_free(want);
    ck_tensor_free(y);
    ck_model_free(m);
}

Test(real_predict, recommender_tf_keras_2_13) { recommender("recsys-dot-keras2_13"); }
Test(real_predict, recommender_keras_3_6) { recommender("recsys-dot-keras3"); }

/* ---- hls4ml MLPs: JSON architecture + save_weights file ------------------ */

static void json_and_weights(const char *folder, const char *json, const char *weights)
{
    ck_model *m = real_model(folder, json, weights);
    cr_assert_not_null(m, "the committed copy is missing");
    ck_tensor *x = expected_npy(folder, "inputs.npy"), *want = expected_npy(folder, "expected.npy");
    ck_tensor *y = predict1(m, 1, &x, 0);
    double err = check(folder, y, want);
    cr_log_info("%s: %lld samples, max abs error %.3g", folder, (long long)want->shape[0], err);
    ck_tensor_free(x);
    ck_tensor_free(want);
    ck_tensor_free(y);
    ck_model_free(m);
}

Test(real_predict, hls4ml_mnist_mlp)
{
    json_and_weights("hls4ml-mnist-mlp-io", "KERAS_mnist_mlp.json", "KERAS_mnist_mlp_weights.h5");
}

Test(real_predict, hls4ml_svhn_mlp)
{
    json_and_weights("hls4ml-svhn-mlp-io", "svhn_grayscale_mlp.json", "svhn_grayscale_mlp_weights.h5");
}

/* ---- dl4j: Dense + advanced activation layers, Keras 2.3.1 --------------- */

static const char *const DL4J_CASES[] = {"ELU_0",  "LeakyReLU_0", "ReLU_0",          "ReLU_1",
                                         "ReLU_2", "ReLU_3",      "Softmax_0",       "ThresholdReLU_0",
                                         "simple_sparse_xent_mlp_keras_2"};

Test(real_predict, dl4j_dense_activation_models)
{
    const char *folder = "dl4j-dense-activations-io";
    double worst = 0;
    for (int c = 0; c < 9; c++) {
        char model[256], config[256], weights[256], in_name[256], exp_name[256];
        snprintf(model, sizeof model, "%s_model.h5", DL4J_CASES[c]);
        snprintf(config, sizeof config, "%s_config.json", DL4J_CASES[c]);
        snprintf(weights, sizeof weights, "%s_weights.h5", DL4J_CASES[c]);
        snprintf(in_name, sizeof in_name, "%s_inputs.npy", DL4J_CASES[c]);
        snprintf(exp_name, sizeof exp_name, "%s_expected.npy", DL4J_CASES[c]);
        ck_tensor *x = expected_npy(folder, in_name), *want = expected_npy(folder, exp_name);
        /* the full model, and the architecture JSON + save_weights file */
        ck_model *ms[2] = {real_model(folder, model, NULL), real_model(folder, config, weights)};
        for (int k = 0; k < 2; k++) {
            cr_assert_not_null(ms[k], "the committed copy is missing");
            ck_tensor *y = predict1(ms[k], 1, &x, 0);
            double err = check(k ? config : model, y, want);
            if (err > worst) worst = err;
            cr_log_info("%s: max abs error %.3g", k ? config : model, err);
            ck_tensor_free(y);
            ck_model_free(ms[k]);
        }
        ck_tensor_free(x);
        ck_tensor_free(want);
    }
    cr_log_info("dl4j-dense-activations-io: 18 models, max abs error %.3g", worst);
}

/* A Sequential's input layer is "<first layer>_input", as Keras named it
 * (the inputs attribute of the *_inputs_and_outputs.h5 files). */
Test(real_predict, dl4j_sequential_input_and_output_names)
{
    json_t *names = ck_test_load_json(ck_test_data("keras_expected/dl4j-dense-activations-io/io_names.json"));
    for (int c = 0; c < 9; c++) {
        char model[256];
        snprintf(model, sizeof model, "%s_model.h5", DL4J_CASES[c]);
        ck_model *m = real_model("dl4j-dense-activations-io", model, NULL);
        cr_assert_not_null(m);
        json_t *e = json_object_get(names, DL4J_CASES[c]);
        const char *in = json_string_value(json_object_get(e, "input"));
        const char *out = json_string_value(json_object_get(e, "output"));
        const char *got_in = ck_layer_name(ck_tensor_layer(ck_model_input(m, 0)));
        const char *got_out = ck_layer_name(ck_tensor_layer(ck_model_output(m, 0)));
        cr_expect_str_eq(got_in, in, "%s: input layer \"%s\", Keras named it \"%s\"", model, got_in, in);
        cr_expect_str_eq(got_out, out, "%s: output layer \"%s\", Keras \"%s\"", model, got_out, out);
        ck_model_free(m);
    }
    json_decref(names);
}

/* ---- dl4j legacy formats: Keras 1.2.2 / 2.1.3, TF and Theano names -------- */

/* The DL4J generator gave these files analytic weights (kernel =
 * arange(24).reshape(4, 6), bias = arange(6)); the expected values are
 * numpy's x @ kernel + bias with the weights read by h5py. */
Test(real_predict, dl4j_legacy_dense_files)
{
    const char *files[] = {"dense_tensorflow_1.h5", "dense_theano_1.h5", "dense_tensorflow_2.h5",
                           "dense_theano_2.h5"};
    ck_tensor *x = expected_npy("dl4j-legacy-formats", "dense_inputs.npy");
    ck_tensor *want = expected_npy("dl4j-legacy-formats", "dense_expected.npy");
    for (int i = 0; i < 4; i++) {
        ck_model *m = NULL;
        int missing = 0;
        ck_status st = real_load("dl4j-legacy-formats", files[i], NULL, &m, &missing);
        cr_assert(!missing);
        cr_expect_eq(st, CK_OK, "%s: %s", files[i], ck_last_error());
        if (st != CK_OK) continue;
        ck_tensor *y = predict1(m, 1, &x, 0);
        double err = check(files[i], y, want);
        cr_log_info("%s: max abs error %.3g", files[i], err);
        ck_tensor_free(y);
        ck_model_free(m);
    }
    ck_tensor_free(x);
    ck_tensor_free(want);
}

/* ---- files without stored outputs: numpy forward passes ------------------ */

/* dl4j-tfkeras-dense (tf.keras 2.2.4-tf): Dense with every built-in
 * activation, Activation / Dropout / AlphaDropout chains, Embedding ->
 * Dense on rank 3; the reference is numpy on the files' weights. */
Test(real_predict, dl4j_tfkeras_files_against_numpy)
{
    const char *files[] = {"act_0",  "act_2",  "act_4",  "act_6",  "act_8",   "act_10",  "act_12",
                           "act_14", "act_16", "act_18", "misc_0", "misc_3",  "mlp_0",   "mlp_1",
                           "mlp_10", "mlp_20", "mlp_48", "mlp_100", "mlp_116"};
    const char *folder = "dl4j-tfkeras-dense";
    double worst = 0;
    for (int i = 0; i < (int)(sizeof files / sizeof files[0]); i++) {
        char file[256], in_name[256], exp_name[256];
        snprintf(file, sizeof file, "%s.h5", files[i]);
        snprintf(in_name, sizeof in_name, "%s_inputs.npy", files[i]);
        snprintf(exp_name, sizeof exp_name, "%s_expected.npy", files[i]);
        ck_model *m = real_model(folder, file, NULL);
        cr_assert_not_null(m, "the committed copy is missing");
        ck_tensor *x = expected_npy(folder, in_name), *want = expected_npy(folder, exp_name);
        ck_tensor *y = predict1(m, 1, &x, 0);
        double err = check(file, y, want);
        cr_log_info("%s/%s: max abs error %.3g", folder, file, err);
        if (err > worst) worst = err;
        ck_tensor_free(x);
        ck_tensor_free(want);
        ck_tensor_free(y);
        ck_model_free(m);
    }
    cr_log_info("%s: 19 models, max abs error %.3g", folder, worst);
}

/* keras3-wide-deep (Keras 3.6, no licence: from shared): the .h5 and the
 * .keras archive (two trainings), Normalization + Dense + Concatenate. */
Test(real_predict, keras3_wide_deep_against_numpy)
{
    const char *files[][2] = {{"my_model.h5", "my_model_h5"}, {"my_model.keras", "my_model_keras"}};
    for (int i = 0; i < 2; i++) {
        ck_model *m = real_model("keras3-wide-deep", files[i][0], NULL);
        if (!m) cr_skip_test("../shared/testdata absent (keras3-wide-deep has no licence and is not copied)");
        char a[256], b[256], e[256];
        snprintf(a, sizeof a, "%s_input0.npy", files[i][1]);
        snprintf(b, sizeof b, "%s_input1.npy", files[i][1]);
        snprintf(e, sizeof e, "%s_expected.npy", files[i][1]);
        ck_tensor *in[2] = {expected_npy("keras3-wide-deep", a), expected_npy("keras3-wide-deep", b)};
        ck_tensor *want = expected_npy("keras3-wide-deep", e);
        ck_tensor *y = predict1(m, 2, in, 0);
        double err = check(files[i][0], y, want);
        cr_log_info("keras3-wide-deep/%s: max abs error %.3g", files[i][0], err);
        ck_tensor_free(in[0]);
        ck_tensor_free(in[1]);
        ck_tensor_free(want);
        ck_tensor_free(y);
        ck_model_free(m);
    }
}

/* ---- TF.js layers models (tests/data/tfjs/models) ------------------------ */

static ck_tensor *tfjs_npy(const char *dir, const char *file)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "tfjs/models/%s/%s", dir, file);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

Test(real_predict, tfjs_models)
{
    json_t *manifest = ck_test_load_json(ck_test_data("tfjs/models/manifest.json"));
    json_t *models = json_object_get(manifest, "models");
    cr_assert_geq(json_array_size(models), 6);
    for (size_t i = 0; i < json_array_size(models); i++) {
        json_t *e = json_array_get(models, i);
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *dir = json_string_value(json_object_get(e, "dir"));
        char rel[1024];
        snprintf(rel, sizeof rel, "tfjs/models/%s/%s", dir, json_string_value(json_object_get(e, "model_json")));
        ck_model *m = NULL;
        ck_status st = ck_model_load(ck_test_data(rel), &m);
        cr_expect_eq(st, CK_OK, "%s: %s", id, ck_last_error());
        if (st != CK_OK) continue;
        cr_expect_str_eq(ck_model_name(m), json_string_value(json_object_get(e, "model_name")));
        json_t *jin = json_object_get(e, "inputs"), *jout = json_object_get(e, "outputs");
        int n_in = (int)json_array_size(jin), n_out = (int)json_array_size(jout);
        cr_assert_eq(ck_model_input_count(m), n_in, "%s", id);
        cr_assert_eq(ck_model_output_count(m), n_out, "%s", id);
        ck_tensor *in[8] = {NULL}, *out[8] = {NULL};
        for (int k = 0; k < n_in; k++) {
            json_t *ik = json_array_get(jin, (size_t)k);
            const char *got = ck_layer_name(ck_tensor_layer(ck_model_input(m, k)));
            const char *want = json_string_value(json_object_get(ik, "name"));
            cr_expect_str_eq(got, want, "%s input %d: \"%s\", TF.js named it \"%s\"", id, k, got, want);
            in[k] = tfjs_npy(dir, json_string_value(json_object_get(ik, "file")));
        }
        st = ck_model_predict(m, n_in, in, out, 0);
        cr_assert_eq(st, CK_OK, "%s: %s", id, ck_last_error());
        json_t *tol = json_object_get(e, "tolerance");
        double atol = json_number_value(json_object_get(tol, "atol"));
        double rtol = json_number_value(json_object_get(tol, "rtol"));
        for (int k = 0; k < n_out; k++) {
            json_t *ok = json_array_get(jout, (size_t)k);
            ck_tensor *want = tfjs_npy(dir, json_string_value(json_object_get(ok, "file")));
            const char *got = ck_layer_name(ck_tensor_layer(ck_model_output(m, k)));
            const char *name = json_string_value(json_object_get(ok, "name"));
            cr_expect_str_eq(got, name, "%s output %d: \"%s\", TF.js named it \"%s\"", id, k, got, name);
            double err = ck_test_max_abs_diff(out[k], want);
            cr_expect(err < INFINITY, "%s output %d: shape differs", id, k);
            int bad = 0;
            for (int64_t j = 0; err < INFINITY && j < want->size; j++) {
                double g = ck_tensor_get(out[k], j), w = ck_tensor_get(want, j);
                if (!(fabs(g - w) <= atol + rtol * fabs(w))) bad++;
            }
            cr_expect_eq(bad, 0, "%s output %d: %d values outside atol %g + rtol %g (max abs error %g)", id, k, bad,
                         atol, rtol, err);
            cr_log_info("tfjs %s output %d: max abs error %.3g", id, k, err);
            ck_tensor_free(want);
        }
        for (int k = 0; k < n_in; k++) ck_tensor_free(in[k]);
        for (int k = 0; k < n_out; k++) ck_tensor_free(out[k]);
        ck_model_free(m);
    }
    json_decref(manifest);
}
