/* Model files with their training state.
 *
 * From tf.keras 2.15 (tests/data/train/resume, made by
 * tools/gen_resume_goldens.py): a model trained one epoch and saved
 * compiled (.h5 and .keras) loads compiled with its optimizer state, and
 * one more epoch in ckeras lands on the weights and optimizer variables
 * tf.keras reached (1e-5).
 *
 * From ckeras: a trained model saved as .h5 / .keras reloads compiled with
 * the same training config and optimizer state, and resumed training equals
 * uninterrupted training bit for bit; the written .h5 has the structure of
 * a real tf.keras file (ck_h5_describe, training_config text included).
 * The files are also left in tmp/ckeras_files for
 * tools/verify_ckeras_files_in_tf.py, which loads them in tf.keras. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckeras.h"
#include "io/keras_archive.h"
#include "io/keras_h5.h"
#include "params/params.h"
#include "support/h5_oracle.h"
#include "support/support.h"

static const char *const CASES[] = {"adam", "sgd_momentum", "rmsprop"};

static ck_tensor *load_npy(const char *name, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "train/resume/%s/%s", name, file);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(path), &t), CK_OK, "%s", ck_last_error());
    return t;
}

static ck_model *load_model(const char *path)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(path, &m), CK_OK, "load %s: %s", path, ck_last_error());
    return m;
}

static void fit_one_epoch(ck_model *m, ck_tensor *x, ck_tensor *y)
{
    ck_fit_opts o = {.batch_size = 8, .epochs = 1, .verbose = ck_int(0), .no_shuffle = true, .seed = ck_int(1)};
    ck_status st = ck_model_fit(m, 1, &x, 1, &y, &o, NULL);
    cr_assert_eq(st, CK_OK, "fit: %s", ck_last_error());
}

/* Max difference of two tensor lists (asserts equal counts). */
static double max_diff(ck_tensor **a, int na, ck_tensor **b, int nb, const char *what)
{
    cr_assert_eq(na, nb, "%s: %d vs %d tensors", what, na, nb);
    double d = 0;
    for (int i = 0; i < na; i++) d = fmax(d, ck_test_max_abs_diff(a[i], b[i]));
    return d;
}

static double weights_diff(ck_model *a, ck_model *b)
{
    ck_tensor **wa = NULL, **wb = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(a), &wa, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(b), &wb, &nb), CK_OK);
    double d = max_diff(wa, na, wb, nb, "weights");
    ck_tensors_free(wa, na);
    ck_tensors_free(wb, nb);
    return d;
}

static double optimizer_diff(ck_model *a, ck_model *b)
{
    ck_tensor **oa = NULL, **ob = NULL;
    int na = 0, nb = 0;
    cr_assert(ck_model_compiled(a) && ck_model_compiled(b));
    cr_assert_eq(ck_optimizer_get_weights(ck_model_optimizer(a), &oa, &na), CK_OK);
    cr_assert_eq(ck_optimizer_get_weights(ck_model_optimizer(b), &ob, &nb), CK_OK);
    double d = max_diff(oa, na, ob, nb, "optimizer variables");
    ck_tensors_free(oa, na);
    ck_tensors_free(ob, nb);
    return d;
}

/* ---- tf.keras files -> ckeras ------------------------------------------- */

static void resume_from_keras(const char *name, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "train/resume/%s/%s", name, file);
    ck_model *m = load_model(ck_test_data(path));
    cr_assert(ck_model_compiled(m), "%s/%s loads compiled", name, file);
    cr_assert_not_null(ck_model_saved_training_config(m));
    ck_optimizer *opt = ck_model_optimizer(m);
    cr_expect_eq(ck_optimizer_iterations(opt), 3, "%s/%s: one epoch of 3 batches restored", name, file);
    ck_tensor *x = load_npy(name, "x.npy"), *y = load_npy(name, "y.npy");
    fit_one_epoch(m, x, y);
    snprintf(path, sizeof path, "train/resume/%s/final.h5", name);
    ck_model *want = load_model(ck_test_data(path));
    double dw = weights_diff(m, want), dopt = optimizer_diff(m, want);
    cr_expect(dw <= 1e-5, "%s/%s: weights differ from tf.keras by %g", name, file, dw);
    cr_expect(dopt <= 1e-5, "%s/%s: optimizer variables differ from tf.keras by %g", name, file, dopt);
    ck_model_free(want);
    ck_model_free(m);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

Test(model_files_train, resume_from_tf_keras_h5)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) resume_from_keras(CASES[i], "mid.h5");
}

Test(model_files_train, resume_from_tf_keras_archive)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) resume_from_keras(CASES[i], "mid.keras");
}

/* ---- ckeras -> ckeras --------------------------------------------------- */

static char *training_config(ck_model *m)
{
    char *t = NULL;
    cr_assert_eq(ck_model_training_config(m, &t), CK_OK, "%s", ck_last_error());
    return t;
}

static void expect_same_training_config(ck_model *a, ck_model *b, const char *what)
{
    char *ta = training_config(a), *tb = training_config(b);
    cr_expect_str_eq(tb, ta, "%s: training config survives", what);
    ck_free(ta);
    ck_free(tb);
}

/* Where the files for tools/verify_ckeras_files_in_tf.py go: a fixed
 * folder, tmp/ckeras_files (ck_test_tmp names are per process). */
static const char *export_path(const char *name, const char *ext)
{
    static char buf[1024];
    const char *base = getenv("CK_TMP");
    snprintf(buf, sizeof buf, "%s/ckeras_files", base ? base : "/tmp");
    mkdir(buf, 0777);
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "/%s%s", name, ext);
    return buf;
}

/* Trains in ckeras, saves, reloads: the same state, and resumed training
 * equals uninterrupted training bit for bit.  The files stay in
 * tmp/ckeras_files for the tf.keras check. */
static void round_trip(const char *name, int recompile)
{
    char path[512], out[1100], prefix[128];
    snprintf(prefix, sizeof prefix, "%s%s", name, recompile ? "_ckeras_compiled" : "");
    ck_tensor *x = load_npy(name, "x.npy"), *y = load_npy(name, "y.npy");
    snprintf(path, sizeof path, "train/resume/%s/mid.h5", name);
    ck_model *m = load_model(ck_test_data(path));
    if (recompile) {
        /* A model compiled by ckeras itself, from names. */
        const char *metrics[] = {"accuracy"};
        ck_compile_opts co = {.optimizer = "adam", .loss = "categorical_crossentropy", .metrics = metrics,
                              .n_metrics = 1};
        cr_assert_eq(ck_model_compile(m, &co), CK_OK, "%s", ck_last_error());
    }
    fit_one_epoch(m, x, y);
    static const char *const exts[] = {"h5", "keras"};
    ck_model *loaded[2];
    for (int e = 0; e < 2; e++) {
        snprintf(out, sizeof out, "%s.%s", export_path(prefix, ""), exts[e]);
        cr_assert_eq(ck_model_save(m, out), CK_OK, "save %s: %s", out, ck_last_error());
        loaded[e] = load_model(out);
        cr_assert(ck_model_compiled(loaded[e]), "%s reloads compiled", out);
        cr_expect_eq(optimizer_diff(m, loaded[e]), 0.0, "%s: optimizer state survives", out);
        cr_expect_eq(weights_diff(m, loaded[e]), 0.0);
        /* A .keras file keeps the metrics as the user gave them, which
         * tf.keras, too, resolves again on the first batch: compared after
         * resuming below. */
        if (e == 0) expect_same_training_config(m, loaded[e], out);
    }
    /* The inputs and predictions for the tf.keras check. */
    cr_assert_eq(ck_npy_save(export_path(prefix, "_x.npy"), x), CK_OK);
    cr_assert_eq(ck_npy_save(export_path(prefix, "_y.npy"), y), CK_OK);
    ck_tensor *pred = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &pred, 0), CK_OK);
    cr_assert_eq(ck_npy_save(export_path(prefix, "_pred.npy"), pred), CK_OK);
    ck_tensor_free(pred);
    /* Resume: bit for bit. */
    fit_one_epoch(m, x, y);
    for (int e = 0; e < 2; e++) {
        fit_one_epoch(loaded[e], x, y);
        cr_expect_eq(weights_diff(m, loaded[e]), 0.0, "%s.%s: resumed training differs", name, exts[e]);
        cr_expect_eq(optimizer_diff(m, loaded[e]), 0.0, "%s.%s: resumed optimizer differs", name, exts[e]);
        expect_same_training_config(m, loaded[e], exts[e]);
        ck_model_free(loaded[e]);
    }
    cr_assert_eq(ck_model_save(m, export_path(prefix, "_after.h5")), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

Test(model_files_train, ckeras_round_trip)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) round_trip(CASES[i], 0);
}

Test(model_files_train, ckeras_compiled_round_trip)
{
    round_trip("adam", 1);
}

/* A model that was never trained keeps only its iteration count, as in
 * tf.keras, and still reloads compiled. */
Test(model_files_train, unbuilt_optimizer)
{
    ck_model *m = load_model(ck_test_data("train/resume/adam/mid.h5"));
    const char *metrics[] = {"accuracy"};
    ck_compile_opts co = {.optimizer = "sgd", .loss = "categorical_crossentropy", .metrics = metrics, .n_metrics = 1};
    cr_assert_eq(ck_model_compile(m, &co), CK_OK);
    const char *out = ck_test_tmp("unbuilt_optimizer.h5");
    cr_assert_eq(ck_model_save(m, out), CK_OK, "%s", ck_last_error());
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(out, &f), CK_OK);
    cr_expect_eq(f->optimizer.n_weights, 1);
    cr_expect_str_eq(f->optimizer.weights[0].name, "iteration:0");
    cr_expect(strstr(f->training_config, "\"Custom>SGD\"") != NULL, "%s", f->training_config);
    cr_expect(strstr(f->training_config, "\"metrics\": [\"accuracy\"]") != NULL, "%s", f->training_config);
    ck_keras_h5_free(f);
    ck_model *back = load_model(out);
    cr_expect(ck_model_compiled(back));
    ck_model_free(back);
    ck_model_free(m);
}

/* ---- the structure of a written .h5 against tf.keras' ------------------- */

static char *describe(const char *path)
{
    char *t = NULL;
    cr_assert_eq(ck_h5_describe(path, &t), CK_OK, "describe %s: %s", path, ck_last_error());
    return t;
}

/* ckeras resumes tf.keras' mid.h5 for one epoch and saves: the file must
 * list exactly what tf.keras' final.h5 lists (groups, datasets, attribute
 * types and string values: training_config and optimizer weight_names
 * included). */
Test(model_files_train, h5_structure_matches_tf_keras)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        char path[512], out[512];
        snprintf(path, sizeof path, "train/resume/%s/mid.h5", CASES[i]);
        ck_model *m = load_model(ck_test_data(path));
        ck_tensor *x = load_npy(CASES[i], "x.npy"), *y = load_npy(CASES[i], "y.npy");
        fit_one_epoch(m, x, y);
        snprintf(out, sizeof out, "structure_%s.h5", CASES[i]);
        cr_assert_eq(ck_model_save(m, ck_test_tmp(out)), CK_OK, "%s", ck_last_error());
        snprintf(path, sizeof path, "train/resume/%s/final.h5", CASES[i]);
        char *want = describe(ck_test_data(path)), *got = describe(ck_test_tmp(out));
        cr_expect_str_eq(got, want, "%s: the written file differs from tf.keras'", CASES[i]);
        ck_free(want);
        ck_free(got);
        ck_model_free(m);
        ck_tensor_free(x);
        ck_tensor_free(y);
    }
}

/* The .keras archive holds compile_config and optimizer/vars like tf.keras'. */
Test(model_files_train, archive_layout_matches_tf_keras)
{
    ck_model *m = load_model(ck_test_data("train/resume/adam/mid.keras"));
    const char *out = ck_test_tmp("layout_adam.keras");
    cr_assert_eq(ck_model_save(m, out), CK_OK, "%s", ck_last_error());
    ck_keras_archive *want = NULL, *got = NULL;
    cr_assert_eq(ck_keras_archive_read(ck_test_data("train/resume/adam/mid.keras"), &want), CK_OK);
    cr_assert_eq(ck_keras_archive_read(out, &got), CK_OK, "%s", ck_last_error());
    int n_opt = 0;
    for (size_t i = 0; i < want->n_vars; i++) {
        if (strncmp(want->vars[i].path, "optimizer/vars/", 15) != 0) continue;
        n_opt++;
        const ck_tensor *g = ck_keras_archive_find(got, want->vars[i].path);
        cr_assert_not_null(g, "%s missing", want->vars[i].path);
        cr_expect_eq(g->dtype, want->vars[i].value->dtype);
        cr_expect_eq(ck_test_max_abs_diff(g, want->vars[i].value), 0.0, "%s", want->vars[i].path);
    }
    cr_expect_eq(n_opt, 9);
    json_t *a = json_loads(want->config_json, 0, NULL), *b = json_loads(got->config_json, 0, NULL);
    char *ta = ck_json_dumps_python(json_object_get(a, "compile_config"));
    char *tb = ck_json_dumps_python(json_object_get(b, "compile_config"));
    cr_expect_str_eq(tb, ta, "compile_config as tf.keras writes it");
    ck_free(ta);
    ck_free(tb);
    json_decref(a);
    json_decref(b);
    ck_keras_archive_free(want);
    ck_keras_archive_free(got);
    ck_model_free(m);
}

/* ---- what cannot be followed -------------------------------------------- */

/* A training config ckeras cannot compile: the model loads uncompiled, the
 * text is kept, and compiling from it names the problem. */
Test(model_files_train, unknown_loss_loads_uncompiled)
{
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(ck_test_data("train/resume/adam/mid.h5"), &f), CK_OK);
    ck_free(f->training_config);
    f->training_config = ck_strdup("{\"loss\": \"no_such_loss\", \"metrics\": null, \"weighted_metrics\": null, "
                                   "\"loss_weights\": null, \"optimizer_config\": {\"class_name\": \"Custom>Adam\", "
                                   "\"config\": {\"name\": \"Adam\", \"learning_rate\": 0.01}}}");
    const char *out = ck_test_tmp("unknown_loss.h5");
    cr_assert_eq(ck_h5_write(out, f), CK_OK, "%s", ck_last_error());
    ck_keras_h5_free(f);
    ck_model *m = load_model(out);
    cr_expect(!ck_model_compiled(m));
    const char *tc = ck_model_saved_training_config(m);
    cr_assert_not_null(tc);
    cr_expect_eq(ck_model_compile_json(m, tc), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "no_such_loss") != NULL, "%s", ck_last_error());
    /* Inference still works. */
    ck_tensor *x = load_npy("adam", "x.npy"), *p = NULL;
    cr_expect_eq(ck_model_predict(m, 1, &x, &p, 0), CK_OK);
    ck_tensor_free(p);
    ck_tensor_free(x);
    ck_model_free(m);
}

/* Optimizer state that does not fit the model (the wrong count) leaves a
 * compiled model with a fresh optimizer, as tf.keras does. */
Test(model_files_train, mismatched_optimizer_state_is_dropped)
{
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(ck_test_data("train/resume/adam/mid.h5"), &f), CK_OK);
    cr_assert_eq(f->optimizer.n_weights, 9);
    f->optimizer.n_weights = 5; /* written short; restored below for freeing */
    const char *out = ck_test_tmp("short_optimizer.h5");
    cr_assert_eq(ck_h5_write(out, f), CK_OK, "%s", ck_last_error());
    f->optimizer.n_weights = 9;
    ck_keras_h5_free(f);
    ck_model *m = load_model(out);
    cr_expect(ck_model_compiled(m));
    cr_expect_eq(ck_optimizer_iterations(ck_model_optimizer(m)), 0);
    ck_model_free(m);
}

/* A model saved uncompiled has neither training_config nor optimizer
 * state, and loads uncompiled. */
Test(model_files_train, uncompiled_model)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": "
                                    "[{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3], "
                                    "\"name\": \"in\"}}, {\"class_name\": \"Dense\", \"config\": {\"units\": 2, "
                                    "\"name\": \"d\"}}]}}", &m), CK_OK, "%s", ck_last_error());
    for (int e = 0; e < 2; e++) {
        const char *out = ck_test_tmp(e ? "uncompiled.keras" : "uncompiled.h5");
        cr_assert_eq(ck_model_save(m, out), CK_OK, "%s", ck_last_error());
        ck_model *back = load_model(out);
        cr_expect(!ck_model_compiled(back));
        cr_expect_null(ck_model_saved_training_config(back));
        ck_model_free(back);
    }
    ck_model_free(m);
}

/* ---- Keras 3 ------------------------------------------------------------ */

/* Keras 3's optimizer variables: iterations, learning_rate, then the slots
 * (keras3-wide-deep, Keras 3.6).  Its RootMeanSquaredError metric is not
 * one ckeras has, so the compile_config is rewritten without it. */
Test(model_files_train, keras3_archive_optimizer_state)
{
    const char *src = ck_test_shared("keras/keras3-wide-deep/my_model.keras");
    if (!src) cr_skip_test("no shared test data");
    ck_keras_archive *a = NULL;
    cr_assert_eq(ck_keras_archive_read(src, &a), CK_OK, "%s", ck_last_error());
    json_t *root = json_loads(a->config_json, 0, NULL);
    json_t *cc = json_object_get(root, "compile_config");
    cr_assert_not_null(cc);
    json_object_set_new(cc, "metrics", json_null());
    /* A learning rate different from the config's shows the variable wins. */
    const ck_tensor *lr_var = ck_keras_archive_find(a, "optimizer/vars/1");
    cr_assert_not_null(lr_var);
    ((float *)lr_var->data)[0] = 0.25f;
    char *text = ck_json_dumps_python(root);
    ck_free(a->config_json);
    a->config_json = text;
    json_decref(root);
    const char *out = ck_test_tmp("keras3_state.keras");
    cr_assert_eq(ck_keras_archive_write(out, a), CK_OK, "%s", ck_last_error());
    const ck_tensor *it = ck_keras_archive_find(a, "optimizer/vars/0");
    cr_assert_not_null(it);
    int64_t iters = (int64_t)ck_tensor_get(it, 0);
    ck_model *m = load_model(out);
    cr_assert(ck_model_compiled(m), "the Keras 3 compile_config compiles");
    ck_optimizer *opt = ck_model_optimizer(m);
    cr_expect_eq(ck_optimizer_iterations(opt), iters);
    cr_expect_float_eq(ck_optimizer_learning_rate(opt), 0.25, 1e-7);
    ck_tensor **w = NULL;
    int n = 0;
    cr_assert_eq(ck_optimizer_get_weights(opt, &w, &n), CK_OK);
    cr_expect_eq(n, (int)a->n_vars > 0 ? 13 : 0, "iterations + 12 slots (learning_rate apart)");
    for (int i = 1; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "optimizer/vars/%d", i + 1);
        cr_expect_eq(ck_test_max_abs_diff(w[i], ck_keras_archive_find(a, p)), 0.0, "%s", p);
    }
    ck_tensors_free(w, n);
    ck_model_free(m);
    ck_keras_archive_free(a);
}
