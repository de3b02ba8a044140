/* `ckeras fit` and `ckeras evaluate`, run as a user runs them: models that
 * tf.keras 2.15 saved compiled (tests/data/train/fit/<case>/init.h5), trained
 * with shuffle off, must end with the weights Keras ended with (final.h5,
 * 1e-4); evaluate's output format and values; the --history CSV; compile
 * settings from the command line, alone and over the file's; and every
 * error: exit 1, one `ckeras: error:` line, no output file. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zip.h>

#include "ckeras.h"
#include "support/cli_run.h"
#include "support/support.h"

/* A scratch directory of its own per test, emptied first. */
static void fresh_dir(char *dir, size_t n, const char *name)
{
    snprintf(dir, n, "%s", ck_test_tmp(name));
    mkdir(dir, 0777);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    struct dirent *e;
    char p[8192];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* tests/data/train/fit/<c>/<file> (rotating buffers). */
static const char *fixture(const char *c, const char *file)
{
    static char buf[8][4096];
    static int slot;
    char rel[512];
    snprintf(rel, sizeof rel, "train/fit/%s/%s", c, file);
    char *b = buf[slot++ % 8];
    snprintf(b, sizeof buf[0], "%s", ck_test_data(rel));
    return b;
}

/* An error as the tool promises it: exit 1, exactly one line on stderr
 * (the last: progress lines may come first when training had started),
 * and nothing left in `dir`. */
static void expect_failure(const run_result *r, const char *needle, const char *dir, int after_progress)
{
    cr_expect_eq(r->status, 1, "exit status %d, stderr: %s", r->status, r->err);
    const char *line = r->err;
    if (after_progress) {
        const char *last = strstr(r->err, "ckeras: error: ");
        line = last ? last : r->err;
    }
    cr_expect(strncmp(line, "ckeras: error: ", 15) == 0, "stderr: %s", r->err);
    const char *nl = strchr(line, '\n');
    cr_expect(nl && nl[1] == '\0', "exactly one error line, at the end: %s", r->err);
    cr_expect(strstr(line + 1, "ckeras: error: ") == NULL, "one error line: %s", r->err);
    if (needle) cr_expect(strstr(line, needle) != NULL, "'%s' not in: %s", needle, line);
    if (dir) cr_expect_eq(dir_entries(dir), 0, "no output file left in %s", dir);
}

/* Every weight of the model in `path` against Keras' final.h5 (1e-4 of the
 * largest magnitude in each weight, as tests/train/test_fit.c). */
static void expect_keras_weights(const char *c, const char *path, double tol)
{
    ck_model *got = NULL, *want = NULL;
    cr_assert_eq(ck_model_load(path, &got), CK_OK, "%s: %s", c, ck_last_error());
    cr_assert_eq(ck_model_load(fixture(c, "final.h5"), &want), CK_OK, "%s", ck_last_error());
    ck_tensor **a = NULL, **b = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(got), &a, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(want), &b, &nb), CK_OK);
    cr_assert_eq(na, nb, "%s: %d weights, Keras %d", c, na, nb);
    for (int i = 0; i < na; i++) {
        double scale = 1;
        for (int64_t k = 0; k < b[i]->size; k++) scale = fmax(scale, fabs(ck_tensor_get(b[i], k)));
        double d = ck_test_max_abs_diff(a[i], b[i]);
        cr_expect(d <= tol * scale, "%s: weight %d differs from Keras by %g", c, i, d);
    }
    ck_tensors_free(a, na);
    ck_tensors_free(b, nb);
    ck_model_free(got);
    ck_model_free(want);
}

/* argv for `fit <case> ...` with the case's batch size, epochs and split;
 * `extra` (NULL-terminated) goes before -o. */
static void fit_case_args(const char *c, const char **args, char store[][64], const char *const *extra, const char *out)
{
    json_t *spec = ck_test_load_json(fixture(c, "case.json"));
    const json_t *fit = json_object_get(spec, "fit");
    int k = 0, n_x = (int)json_integer_value(json_object_get(spec, "n_x"));
    int n_y = (int)json_integer_value(json_object_get(spec, "n_y"));
    static char paths[8][4096];
    args[k++] = "fit";
    args[k++] = fixture(c, "init.h5");
    for (int i = 0; i < n_x; i++) {
        char f[16];
        snprintf(f, sizeof f, "x%d.npy", i);
        snprintf(paths[i], sizeof paths[i], "%s", fixture(c, f));
        args[k++] = paths[i];
    }
    for (int i = 0; i < n_y; i++) {
        char f[16];
        snprintf(f, sizeof f, "y%d.npy", i);
        snprintf(paths[4 + i], sizeof paths[4 + i], "%s", fixture(c, f));
        args[k++] = "--y";
        args[k++] = paths[4 + i];
    }
    snprintf(store[0], 64, "%lld", (long long)json_integer_value(json_object_get(fit, "batch_size")));
    snprintf(store[1], 64, "%lld", (long long)json_integer_value(json_object_get(fit, "epochs")));
    args[k++] = "--no-shuffle";
    args[k++] = "--batch-size";
    args[k++] = store[0];
    args[k++] = "--epochs";
    args[k++] = store[1];
    double split = json_number_value(json_object_get(fit, "validation_split"));
    if (split > 0) {
        snprintf(store[2], 64, "%.17g", split);
        args[k++] = "--validation-split";
        args[k++] = store[2];
    }
    for (int i = 0; extra && extra[i]; i++) args[k++] = extra[i];
    args[k++] = "-o";
    args[k++] = out;
    args[k] = NULL;
    json_decref(spec);
}

static void fit_like_keras(const char *c, const char *ext)
{
    char dir[4096], out[8192], store[3][64];
    const char *args[48];
    fresh_dir(dir, sizeof dir, "fit_like_keras");
    snprintf(out, sizeof out, "%s/%s%s", dir, c, ext);
    fit_case_args(c, args, store, NULL, out);
    run_result r;
    ck_test_run_cli(&r, args);
    cr_assert_eq(r.status, 0, "%s: %s", c, r.err);
    cr_expect(strstr(r.err, "Epoch 1/") != NULL, "%s: progress on stderr: %s", c, r.err);
    cr_expect_eq(r.out[0], '\0', "%s: nothing on stdout: %s", c, r.out);
    expect_keras_weights(c, out, 1e-4);
    unlink(out);
}

Test(cli_fit, mlp_adam) { fit_like_keras("mlp_adam", ".h5"); }
Test(cli_fit, mlp_sgd_sparse_logits_validation_split) { fit_like_keras("mlp_sgd_sparse_logits", ".h5"); }
Test(cli_fit, cnn_rmsprop) { fit_like_keras("cnn_rmsprop", ".h5"); }
Test(cli_fit, dot_two_inputs) { fit_like_keras("dot_two_inputs", ".h5"); }
Test(cli_fit, two_outputs) { fit_like_keras("two_outputs", ".h5"); }
Test(cli_fit, batchnorm_rank2_saved_as_keras) { fit_like_keras("batchnorm_rank2", ".keras"); }
Test(cli_fit, embedding_adagrad) { fit_like_keras("embedding_adagrad", ".h5"); }
Test(cli_fit, regularizers) { fit_like_keras("regularizers", ".h5"); }
Test(cli_fit, nested_siamese) { fit_like_keras("nested_siamese", ".h5"); }

/* --history: Keras' CSVLogger file, with Keras' values (case.json). */
Test(cli_fit, history_csv)
{
    char dir[4096], out[8192], csv[8192], store[3][64], text[4096];
    const char *args[48];
    fresh_dir(dir, sizeof dir, "fit_history");
    snprintf(out, sizeof out, "%s/m.h5", dir);
    snprintf(csv, sizeof csv, "%s/h.csv", dir);
    const char *extra[] = {"--history", csv, NULL};
    fit_case_args("mlp_sgd_sparse_logits", args, store, extra, out);
    run_result r;
    ck_test_run_cli(&r, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_slurp(csv, text, sizeof text);
    cr_expect(strncmp(text, "epoch,accuracy,loss,val_accuracy,val_loss\n", 42) == 0, "header: %s", text);
    json_t *spec = ck_test_load_json(fixture("mlp_sgd_sparse_logits", "case.json"));
    const json_t *h = json_object_get(spec, "history");
    const char *names[] = {"accuracy", "loss", "val_accuracy", "val_loss"};
    char *line = strchr(text, '\n');
    for (int e = 0; e < 3; e++) {
        cr_assert_not_null(line);
        line++;
        int epoch = -1;
        double v[4];
        cr_assert_eq(sscanf(line, "%d,%lf,%lf,%lf,%lf", &epoch, &v[0], &v[1], &v[2], &v[3]), 5, "row: %s", line);
        cr_expect_eq(epoch, e);
        for (int k = 0; k < 4; k++) {
            double w = json_number_value(json_array_get(json_object_get(h, names[k]), (size_t)e));
            cr_expect(fabs(v[k] - w) <= 1e-4 * fmax(1, fabs(w)), "epoch %d %s: %g vs Keras %g", e, names[k], v[k], w);
        }
        line = strchr(line, '\n');
    }
    cr_expect(line && line[1] == '\0', "three rows: %s", text);
    cr_expect_eq(dir_entries(dir), 2, "only OUT and H.csv (no temporary files)");
    json_decref(spec);
}

/* evaluate: `name: value` lines in Keras' order, the values ck_model_evaluate
 * gives in-process. */
Test(cli_fit, evaluate_output)
{
    const char *c = "two_outputs";
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"evaluate", fixture(c, "final.h5"), fixture(c, "x0.npy"), "--y", fixture(c, "y0.npy"),
                             "--y", fixture(c, "y1.npy"), "--batch-size", "5", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_eq(r.err[0], '\0', "stderr is quiet when it is not a terminal: %s", r.err);
    ck_model *m = NULL;
    ck_tensor *x = NULL, *y[2] = {NULL, NULL};
    cr_assert_eq(ck_model_load(fixture(c, "final.h5"), &m), CK_OK, "%s", ck_last_error());
    cr_assert(ck_model_compiled(m), "final.h5 loads compiled");
    cr_assert_eq(ck_npy_load(fixture(c, "x0.npy"), &x), CK_OK);
    cr_assert_eq(ck_npy_load(fixture(c, "y0.npy"), &y[0]), CK_OK);
    cr_assert_eq(ck_npy_load(fixture(c, "y1.npy"), &y[1]), CK_OK);
    ck_logs logs;
    cr_assert_eq(ck_model_evaluate(m, 1, &x, 2, y, &(ck_evaluate_opts){.batch_size = 5, .verbose = ck_int(0)}, &logs),
                 CK_OK, "%s", ck_last_error());
    const char *p = r.out;
    for (int i = 0; i < logs.n; i++) {
        char name[128];
        double v = NAN;
        int used = 0;
        cr_assert_eq(sscanf(p, "%127[^:]: %lf\n%n", name, &v, &used), 2, "line %d: %s", i, p);
        cr_expect_str_eq(name, logs.names[i]);
        cr_expect(v == logs.values[i], "%s: %.17g vs %.17g", name, v, logs.values[i]);
        p += used;
    }
    cr_expect_eq(*p, '\0', "%d lines exactly: %s", logs.n, r.out);
    cr_expect(strncmp(r.out, "loss: ", 6) == 0 && strstr(r.out, "\nreg_loss: ") && strstr(r.out, "\ncls_loss: ") &&
                  strstr(r.out, "\nreg_accuracy: ") && strstr(r.out, "\ncls_accuracy: "), "%s", r.out);
    ck_tensor_free(x);
    ck_tensor_free(y[0]);
    ck_tensor_free(y[1]);
    ck_model_free(m);
}

/* A file with no training config: everything from the command line. */
Test(cli_fit, compile_settings_from_the_command_line)
{
    char dir[4096], arch[8192], out[8192];
    fresh_dir(dir, sizeof dir, "fit_cmdline");
    snprintf(arch, sizeof arch, "%s/arch.json", dir);
    snprintf(out, sizeof out, "%s/m.keras", dir);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(fixture("mlp_adam", "init.h5"), &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_save(m, arch), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    const char *c = "mlp_adam";
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"fit", arch, "--weights", fixture(c, "init.h5"), fixture(c, "x0.npy"), "--y",
                             fixture(c, "y0.npy"), "--loss", "categorical_crossentropy", "--optimizer",
                             "{\"class_name\": \"Adam\", \"config\": {\"learning_rate\": 0.01}}", "--metrics",
                             "accuracy,mae", "--no-shuffle", "--batch-size", "16", "--epochs", "3", "-o", out, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, "accuracy: ") && strstr(r.err, "mae: "), "metrics in the progress: %s", r.err);
    expect_keras_weights(c, out, 1e-4);
    /* the same without --loss: the error says what to give */
    unlink(out);
    ck_test_run_cli(&r, (const char *[]){"fit", arch, fixture(c, "x0.npy"), "--y", fixture(c, "y0.npy"), "-o", out, NULL});
    expect_failure(&r, "give --loss", NULL, 0);
    cr_expect(strstr(r.err, "no training config") != NULL, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"evaluate", arch, fixture(c, "x0.npy"), "--y", fixture(c, "y0.npy"), NULL});
    expect_failure(&r, "give --loss", NULL, 0);
    ck_test_run_cli(&r, (const char *[]){"evaluate", arch, "--weights", fixture(c, "final.h5"), fixture(c, "x0.npy"), "--y",
                             fixture(c, "y0.npy"), "--loss", "categorical_crossentropy", "--metrics", "accuracy", NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "loss: ", 6) == 0 && strstr(r.out, "\naccuracy: "), "%s", r.out);
    unlink(arch);
}

/* Given pieces over the file's training config: the file's loss weights and
 * optimizer stay, the losses come from the command line (one of them JSON
 * with commas inside). */
Test(cli_fit, command_line_over_the_file_config)
{
    char dir[4096], out[8192], store[3][64];
    const char *args[48];
    fresh_dir(dir, sizeof dir, "fit_merge");
    snprintf(out, sizeof out, "%s/m.h5", dir);
    const char *extra[] = {"--loss", "mse, {\"class_name\": \"SparseCategoricalCrossentropy\", \"config\": "
                                     "{\"from_logits\": false, \"name\": \"scce\"}}", NULL};
    fit_case_args("two_outputs", args, store, extra, out);
    run_result r;
    ck_test_run_cli(&r, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_keras_weights("two_outputs", out, 1e-4);
    /* metrics alone: the file's loss and optimizer train as in Keras */
    unlink(out);
    const char *mae[] = {"--metrics", "mae", NULL};
    fit_case_args("mlp_adam", args, store, mae, out);
    ck_test_run_cli(&r, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.err, " mae: ") && !strstr(r.err, "accuracy"), "the given metric replaced the file's: %s", r.err);
    expect_keras_weights("mlp_adam", out, 1e-4);
    /* another optimizer: training differs from Keras' run */
    unlink(out);
    const char *sgd[] = {"--optimizer", "sgd", NULL};
    fit_case_args("mlp_adam", args, store, sgd, out);
    ck_test_run_cli(&r, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_model *got = NULL, *keras = NULL;
    cr_assert_eq(ck_model_load(out, &got), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_load(fixture("mlp_adam", "final.h5"), &keras), CK_OK);
    ck_tensor **a = NULL, **b = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(got), &a, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(keras), &b, &nb), CK_OK);
    cr_expect_gt(ck_test_max_abs_diff(a[0], b[0]), 1e-3, "sgd trained like adam?");
    ck_tensors_free(a, na);
    ck_tensors_free(b, nb);
    ck_model_free(got);
    ck_model_free(keras);
    unlink(out);
}

/* Data that makes the loss NaN: TerminateOnNaN stops, the tool fails. */
Test(cli_fit, nan_loss_is_an_error)
{
    char dir[4096], out[8192], csv[8192], xnan[8192]; /* xnan: targets with a NaN */
    fresh_dir(dir, sizeof dir, "fit_nan");
    snprintf(out, sizeof out, "%s/m.h5", dir);
    snprintf(csv, sizeof csv, "%s/h.csv", dir);
    char tmp[4096];
    fresh_dir(tmp, sizeof tmp, "fit_nan_data");
    snprintf(xnan, sizeof xnan, "%s/y.npy", tmp);
    ck_tensor *y = NULL;
    cr_assert_eq(ck_npy_load(fixture("mlp_adam", "y0.npy"), &y), CK_OK);
    ((float *)y->data)[y->size - 1] = NAN; /* in the last batch of the first epoch */
    cr_assert_eq(ck_npy_save(xnan, y), CK_OK);
    ck_tensor_free(y);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"fit", fixture("mlp_adam", "init.h5"), fixture("mlp_adam", "x0.npy"), "--y", xnan,
                             "--no-shuffle", "--epochs", "3", "--history", csv, "-o", out, NULL});
    expect_failure(&r, "NaN", dir, 1);
    unlink(xnan);
}

/* Every way to get it wrong, before or during training. */
Test(cli_fit, errors)
{
    char dir[4096], out[8192], bad_out[8192];
    fresh_dir(dir, sizeof dir, "fit_errors");
    snprintf(out, sizeof out, "%s/m.h5", dir);
    snprintf(bad_out, sizeof bad_out, "%s/m.txt", dir);
    const char *c = "mlp_adam";
    char init[4096], x0[4096], y0[4096], x2[4096], y2[4096];
    snprintf(init, sizeof init, "%s", fixture(c, "init.h5"));
    snprintf(x0, sizeof x0, "%s", fixture(c, "x0.npy"));
    snprintf(y0, sizeof y0, "%s", fixture(c, "y0.npy"));
    snprintf(x2, sizeof x2, "%s", fixture("dot_two_inputs", "x0.npy"));
    snprintf(y2, sizeof y2, "%s", fixture("two_outputs", "y1.npy"));
    struct {
        const char *args[24];
        const char *needle;
    } cases[] = {
        {{"fit", init, x0, "-o", out}, "--y"},
        {{"fit", init, "--y", y0, "-o", out}, "at least one input"},
        {{"fit", init, x0, "--y", y0}, "-o"},
        {{"fit", init, x0, "--y", y0, "-o", bad_out}, "must end in .h5"},
        {{"fit", init, x0, "--y", y0, "--y", y0, "-o", out}, "1 output, 2 --y files"},
        {{"fit", init, x0, x0, "--y", y0, "-o", out}, "1 input, 2 X files"},
        {{"fit", init, x0, "--y", x0, "-o", out}, NULL},
        {{"fit", init, x0, "--y", y2, "-o", out}, NULL},
        {{"fit", init, x0, "--y", y0, "--loss", "frobnicate", "-o", out}, "Unknown loss function"},
        {{"fit", init, x0, "--y", y0, "--loss", "mse,mse", "-o", out}, "2 losses"},
        {{"fit", init, x0, "--y", y0, "--loss", "{\"class_name\": ", "-o", out}, "--loss"},
        {{"fit", init, x0, "--y", y0, "--loss", "mse,", "-o", out}, "empty entry"},
        {{"fit", init, x0, "--y", y0, "--optimizer", "adamm", "-o", out}, "adamm"},
        {{"fit", init, x0, "--y", y0, "--metrics", "acuracy", "-o", out}, "acuracy"},
        {{"fit", init, x0, "--y", y0, "--epochs", "0", "-o", out}, "bad --epochs '0'"},
        {{"fit", init, x0, "--y", y0, "--epochs", "3x", "-o", out}, "bad --epochs"},
        {{"fit", init, x0, "--y", y0, "--batch-size", "-2", "-o", out}, "bad --batch-size"},
        {{"fit", init, x0, "--y", y0, "--seed", "seven", "-o", out}, "bad --seed"},
        {{"fit", init, x0, "--y", y0, "--validation-split", "1.5", "-o", out}, "bad --validation-split"},
        {{"fit", init, x0, "--y", y0, "--validation-split", "0.999", "-o", out}, "validation"},
        {{"fit", init, x0, "--y", y0, "--frobnicate", "-o", out}, "unknown option '--frobnicate'"},
        {{"fit", init, x0, "--y", y0, "--epochs"}, "--epochs needs a value"},
        {{"fit", "no-such-model.h5", x0, "--y", y0, "-o", out}, "no-such-model.h5"},
        {{"fit", init, "no-such-x.npy", "--y", y0, "-o", out}, "no-such-x.npy"},
        {{"fit", init, x0, "--y", y0, "--history", "/no/such/dir/h.csv", "-o", out}, "cannot write --history /no/such/dir/h.csv: No such file"},
        {{"evaluate", init, x0}, "--y"},
        {{"evaluate", init, x0, "--y", x0}, NULL},
        {{"evaluate", init, x0, "--y", y0, "--optimizer", "sgd"}, "unknown option '--optimizer'"},
        {{"evaluate", init, x0, "--y", y0, "--batch-size", "0"}, "bad --batch-size"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r;
        ck_test_run_cli(&r, cases[i].args);
        expect_failure(&r, cases[i].needle, dir, 0);
        cr_expect_eq(r.out[0], '\0', "case %zu: nothing on stdout: %s", i, r.out);
    }
}

Test(cli_fit, help)
{
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"--help", NULL});
    cr_expect(strstr(r.out, "  fit ") && strstr(r.out, "  evaluate "), "%s", r.out);
    const char *words[] = {"--y", "--loss", "--optimizer", "--metrics", "--epochs", "--batch-size", "--no-shuffle",
                           "--seed", "--validation-split", "--history", "-o OUT"};
    ck_test_run_cli(&r, (const char *[]){"fit", "--help", NULL});
    cr_expect_eq(r.status, 0);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        cr_expect(strstr(r.out, words[i]) != NULL, "fit --help lacks %s", words[i]);
    ck_test_run_cli(&r, (const char *[]){"evaluate", "--help", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "usage: ckeras evaluate") && strstr(r.out, "name: value") &&
                  strstr(r.out, "loss: "), "%s", r.out);
}

/* A file whose training config ckeras cannot use loads uncompiled; without
 * --loss the error says why and what to give; with --loss it trains. */
Test(cli_fit, unusable_training_config_in_the_file)
{
    char dir[4096], keras[8192], out[8192];
    fresh_dir(dir, sizeof dir, "fit_badconfig");
    snprintf(keras, sizeof keras, "%s/bad.keras", dir);
    snprintf(out, sizeof out, "%s/m.h5", dir);
    const char *c = "mlp_adam";
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(fixture(c, "init.h5"), &m), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_save(m, keras), CK_OK, "%s", ck_last_error());
    ck_model_free(m);
    /* config.json's compile_config gets a loss ckeras does not know */
    int err = 0;
    zip_t *z = zip_open(keras, 0, &err);
    cr_assert_not_null(z);
    zip_stat_t zs;
    cr_assert_eq(zip_stat(z, "config.json", 0, &zs), 0);
    char *text = malloc(zs.size + 1);
    zip_file_t *zf = zip_fopen(z, "config.json", 0);
    cr_assert_eq(zip_fread(zf, text, zs.size), (zip_int64_t)zs.size);
    zip_fclose(zf);
    text[zs.size] = '\0';
    json_t *cfg = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(json_object_get(cfg, "compile_config"));
    json_object_set_new(json_object_get(cfg, "compile_config"), "loss", json_string("frobnicate_loss"));
    char *patched = json_dumps(cfg, JSON_COMPACT);
    json_decref(cfg);
    zip_source_t *src = zip_source_buffer(z, patched, strlen(patched), 1);
    cr_assert(zip_file_add(z, "config.json", src, ZIP_FL_OVERWRITE) >= 0);
    cr_assert_eq(zip_close(z), 0);
    cr_assert_eq(ck_model_load(keras, &m), CK_OK, "%s", ck_last_error());
    cr_expect(!ck_model_compiled(m), "an unknown loss leaves the model uncompiled");
    ck_model_free(m);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"fit", keras, fixture(c, "x0.npy"), "--y", fixture(c, "y0.npy"), "-o", out, NULL});
    expect_failure(&r, "give --loss", NULL, 0);
    cr_expect(strstr(r.err, "frobnicate_loss") != NULL, "names the file's problem: %s", r.err);
    cr_expect(access(out, F_OK) != 0);
    ck_test_run_cli(&r, (const char *[]){"fit", keras, fixture(c, "x0.npy"), "--y", fixture(c, "y0.npy"), "--loss",
                             "categorical_crossentropy", "-o", out, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    unlink(out);
    unlink(keras);
}
