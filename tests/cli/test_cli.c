/* The ckeras command: apply against golden outputs (TF.js and numpy),
 * batch-dot, config, model commands, and the error conventions (exit 1,
 * one line on stderr, no output file). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckeras.h"
#include "support/cli_run.h"
#include "support/support.h"

static int exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0;
}

static void expect_clean_failure(const run_result *r, const char *needle, const char *out_file)
{
    cr_expect_eq(r->status, 1, "exit status %d, stderr: %s", r->status, r->err);
    cr_expect(strncmp(r->err, "ckeras: error: ", 15) == 0, "stderr: %s", r->err);
    const char *nl = strchr(r->err, '\n');
    cr_expect(nl && nl[1] == '\0', "exactly one line on stderr: %s", r->err);
    if (needle) cr_expect(strstr(r->err, needle) != NULL, "'%s' not in: %s", needle, r->err);
    if (out_file) cr_expect(!exists(out_file), "no output file left behind");
}

static double compare(const char *got_path, const char *want_path, double atol, double rtol)
{
    ck_tensor *got = NULL, *want = NULL;
    cr_assert_eq(ck_npy_load(got_path, &got), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_npy_load(want_path, &want), CK_OK, "%s", ck_last_error());
    cr_assert_eq(got->dtype, want->dtype, "%s: dtype %s vs %s", want_path, ck_dtype_name(got->dtype), ck_dtype_name(want->dtype));
    cr_assert_eq(got->rank, want->rank, "%s", want_path);
    for (int i = 0; i < got->rank; i++) cr_assert_eq(got->shape[i], want->shape[i], "%s", want_path);
    double worst = 0;
    for (int64_t i = 0; i < got->size; i++) {
        double g = ck_tensor_get(got, i), w = ck_tensor_get(want, i), d = fabs(g - w);
        cr_expect(d <= atol + rtol * fabs(w), "%s [%lld]: %.9g vs %.9g", want_path, (long long)i, g, w);
        if (d > worst) worst = d;
    }
    ck_tensor_free(got);
    ck_tensor_free(want);
    return worst;
}

/* Runs every case of a golden manifest through `ckeras apply`. */
static int apply_manifest(const char *manifest_rel, int tfjs)
{
    char base[2048], path[4096];
    snprintf(base, sizeof base, "%s", ck_test_data(manifest_rel));
    *strrchr(base, '/') = '\0';
    snprintf(path, sizeof path, "%s", ck_test_data(manifest_rel));
    json_t *m = ck_test_load_json(path);
    json_t *cases = json_object_get(m, "cases");
    int count = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        json_t *cs = json_array_get(cases, c);
        const char *dir = json_string_value(json_object_get(cs, "dir"));
        char cfg[8400], in[2][8400], weights[16384] = "", out[4096], want[8400];
        snprintf(cfg, sizeof cfg, "%s/%s/config.json", base, dir);
        json_t *ins = json_object_get(cs, "inputs"), *ws = json_object_get(cs, "weights");
        size_t n_in = json_array_size(ins);
        for (size_t i = 0; i < n_in; i++) {
            json_t *e = json_array_get(ins, i);
            snprintf(in[i], sizeof in[i], "%s/%s/%s", base, dir,
                     json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "file")));
        }
        for (size_t i = 0; i < json_array_size(ws); i++) {
            json_t *e = json_array_get(ws, i);
            size_t used = strlen(weights);
            snprintf(weights + used, sizeof weights - used, "%s%s/%s/%s", i ? "," : "", base, dir,
                     json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "file")));
        }
        json_t *o = json_object_get(cs, "output");
        snprintf(want, sizeof want, "%s/%s/%s", base, dir,
                 json_is_string(o) ? json_string_value(o) : json_string_value(json_object_get(o, "file")));
        snprintf(out, sizeof out, "%s", ck_test_tmp("apply_out.npy"));
        double atol = tfjs ? json_number_value(json_object_get(json_object_get(cs, "tolerance"), "atol"))
                           : json_number_value(json_object_get(cs, "atol"));
        double rtol = tfjs ? json_number_value(json_object_get(json_object_get(cs, "tolerance"), "rtol"))
                           : json_number_value(json_object_get(cs, "rtol"));
        const char *args[12];
        int k = 0;
        args[k++] = "apply";
        args[k++] = cfg;
        for (size_t i = 0; i < n_in; i++) args[k++] = in[i];
        char wopt[16500];
        if (weights[0]) {
            snprintf(wopt, sizeof wopt, "--weights=%s", weights);
            args[k++] = wopt;
        }
        args[k++] = "-o";
        args[k++] = out;
        args[k] = NULL;
        run_result r;
        ck_test_run_cli(&r, args);
        cr_expect_eq(r.status, 0, "%s: %s", dir, r.err);
        if (r.status == 0) compare(out, want, atol, rtol);
        unlink(out);
        count++;
    }
    json_decref(m);
    return count;
}

Test(cli, apply_reproduces_tfjs_dense_and_dot, .timeout = 120)
{
    cr_expect_geq(apply_manifest("tfjs/layers/manifest.json", 1), 100);
}

Test(cli, apply_reproduces_numpy_dot_ranks_2_to_5_and_dense, .timeout = 120)
{
    cr_expect_geq(apply_manifest("apply/manifest.json", 0), 50);
}

Test(cli, help_and_version)
{
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"--help", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, "batch-dot") && strstr(r.out, "predict"), "%s", r.out);
    ck_test_run_cli(&r, (const char *[]){"--version", NULL});
    cr_expect_eq(r.status, 0);
    cr_expect(strstr(r.out, CK_VERSION_STRING) != NULL);
    const char *cmds[] = {"batch-dot", "apply", "config", "summary", "predict", "convert", "show"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        ck_test_run_cli(&r, (const char *[]){cmds[i], "--help", NULL});
        cr_expect_eq(r.status, 0, "%s --help", cmds[i]);
        cr_expect(strstr(r.out, "usage: ckeras") != NULL, "%s", r.out);
    }
    ck_test_run_cli(&r, (const char *[]){"frobnicate", NULL});
    expect_clean_failure(&r, "unknown command", NULL);
}

Test(cli, batch_dot_values_and_errors)
{
    char x[4096], y[4096], out[4096];
    snprintf(x, sizeof x, "%s", ck_test_tmp("bdx.npy"));
    snprintf(y, sizeof y, "%s", ck_test_tmp("bdy.npy"));
    snprintf(out, sizeof out, "%s", ck_test_tmp("bdout.npy"));
    float a[] = {1, 2, 3, 4}, b[] = {5, 6, 7, 8};
    ck_tensor *tx = ck_test_f32(2, (int64_t[]){2, 2}, a), *ty = ck_test_f32(2, (int64_t[]){2, 2}, b);
    cr_assert_eq(ck_npy_save(x, tx), CK_OK);
    cr_assert_eq(ck_npy_save(y, ty), CK_OK);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, y, "--axes=1", "-o", out, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_tensor *res = NULL;
    cr_assert_eq(ck_npy_load(out, &res), CK_OK);
    cr_expect_eq(res->rank, 2);
    cr_expect_eq(res->shape[1], 1);
    cr_expect_eq(((float *)res->data)[0], 17.0f);
    cr_expect_eq(((float *)res->data)[1], 53.0f);
    ck_tensor_free(res);
    unlink(out);
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, y, "--axes=0", "-o", out, NULL});
    expect_clean_failure(&r, "axis 0", out);
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, y, "--axes=1,x", "-o", out, NULL});
    expect_clean_failure(&r, "--axes", out);
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, "/nonexistent/y.npy", "-o", out, NULL});
    expect_clean_failure(&r, "/nonexistent/y.npy", out);
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, y, NULL});
    expect_clean_failure(&r, "-o", NULL);
    /* Mixed dtypes are a TypeError, as in Keras. */
    int64_t iv[4] = {1, 2, 3, 4};
    ck_tensor *ti = ck_test_i64(2, (int64_t[]){2, 2}, iv);
    cr_assert_eq(ck_npy_save(y, ti), CK_OK);
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, y, "-o", out, NULL});
    expect_clean_failure(&r, "int64", out);
    unlink(x);
    unlink(y);
    ck_tensor_free(tx); ck_tensor_free(ty); ck_tensor_free(ti);
}

Test(cli, config_round_trip_and_errors)
{
    char cfg[4096], out[4096];
    snprintf(cfg, sizeof cfg, "%s", ck_test_tmp("cfg.json"));
    snprintf(out, sizeof out, "%s", ck_test_tmp("cfg_out.npy"));
    FILE *f = fopen(cfg, "w");
    fputs("{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2, \"init\": \"he_normal\", \"bias\": false}}", f);
    fclose(f);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"config", cfg, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "\"use_bias\": false") && strstr(r.out, "\"class_name\": \"HeNormal\""), "%s", r.out);
    f = fopen(cfg, "w");
    fputs("{\"class_name\": \"Dense\", \"config\": {\"units\": 2, \"activation\": \"nope\"}}", f);
    fclose(f);
    ck_test_run_cli(&r, (const char *[]){"config", cfg, NULL});
    expect_clean_failure(&r, "nope", NULL);
    /* apply on a Dot with one input: the list-of-2 error, no output. */
    f = fopen(cfg, "w");
    fputs("{\"class_name\": \"Dot\", \"config\": {\"axes\": 1}}", f);
    fclose(f);
    char x[4096];
    snprintf(x, sizeof x, "%s", ck_test_tmp("cfg_x.npy"));
    float a[4] = {1, 2, 3, 4};
    ck_tensor *t = ck_test_f32(2, (int64_t[]){2, 2}, a);
    cr_assert_eq(ck_npy_save(x, t), CK_OK);
    ck_test_run_cli(&r, (const char *[]){"apply", cfg, x, "-o", out, NULL});
    expect_clean_failure(&r, "list of 2 inputs", out);
    ck_test_run_cli(&r, (const char *[]){"apply", cfg, x, x, "--seed", "-3", "-o", out, NULL});
    expect_clean_failure(&r, "--seed", out);
    unlink(cfg);
    unlink(x);
    ck_tensor_free(t);
}

Test(cli, model_commands)
{
    const char *model = ck_test_shared("keras/siamese-cosine-dot-keras2_4/testmodel.hdf5");
    char local[4096];
    snprintf(local, sizeof local, "%s", ck_test_data("keras/siamese-cosine-dot-keras2_4/testmodel.hdf5"));
    if (access(local, R_OK) == 0) model = local;
    if (!model) cr_skip_test("the siamese model is not available");
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", model);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"summary", copy, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, " base (Functional)           (None, 200)                  191000") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "Total params: 191000") != NULL, "%s", r.out);
    char x[4096], dir[4096], h5[4096], keras[4096], json[4096];
    snprintf(x, sizeof x, "%s", ck_test_tmp("spectra.npy"));
    snprintf(dir, sizeof dir, "%s", ck_test_tmp("outdir"));
    snprintf(h5, sizeof h5, "%s", ck_test_tmp("converted.h5"));
    snprintf(keras, sizeof keras, "%s", ck_test_tmp("converted.keras"));
    snprintf(json, sizeof json, "%s", ck_test_tmp("converted.json"));
    float v[2 * 339];
    for (int i = 0; i < 2 * 339; i++) v[i] = (float)((i * 37) % 101) / 101.0f;
    ck_tensor *t = ck_test_f32(2, (int64_t[]){2, 339}, v);
    cr_assert_eq(ck_npy_save(x, t), CK_OK);
    ck_test_run_cli(&r, (const char *[]){"predict", copy, x, x, "--output-dir", dir, "--batch-size", "1", NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    char o0[4200];
    snprintf(o0, sizeof o0, "%s/output_0.npy", dir);
    ck_tensor *res = NULL;
    cr_assert_eq(ck_npy_load(o0, &res), CK_OK);
    cr_expect_float_eq(((float *)res->data)[0], 1.0f, 1e-5, "a spectrum against itself: cosine 1");
    ck_tensor_free(res);
    ck_test_run_cli(&r, (const char *[]){"predict", copy, x, "-o", o0, NULL});
    expect_clean_failure(&r, "2 inputs", NULL);
    ck_test_run_cli(&r, (const char *[]){"convert", copy, h5, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"convert", h5, keras, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"convert", keras, json, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"summary", json, "--weights", h5, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(strstr(r.out, "Total params: 191000") != NULL, "%s", r.out);
    ck_test_run_cli(&r, (const char *[]){"summary", x, NULL});
    expect_clean_failure(&r, NULL, NULL);
    unlink(o0); rmdir(dir); unlink(x); unlink(h5); unlink(keras); unlink(json);
    ck_tensor_free(t);
}
