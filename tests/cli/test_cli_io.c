/* The ckeras tool's inputs and outputs as Keras treats them:
 *  - integer and bool .npy inputs are cast to the Input's dtype (a float32
 *    model fed int64 or bool arrays, an int32 Embedding input fed floats),
 *    in predict, fit and evaluate (apply calls the layer as Keras does:
 *    Dense casts integers itself);
 *  - `-o -` writes the .npy to stdout, the same bytes as a file, and nothing
 *    else (predict, apply, batch-dot);
 *  - predict / convert of an architecture JSON without weights is an error
 *    naming --random-weights, and works with it. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
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

/* Reads up to n - 1 bytes (binary), NUL-terminated; returns the length. */
static int exists(const char *path)
{
    struct stat s;
    return stat(path, &s) == 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

/* A .npy of dtype bool ('|b1'), written byte by byte as np.save does. */
static void write_bool_npy(const char *path, int64_t rows, int64_t cols, const unsigned char *v)
{
    char dict[128];
    int len = snprintf(dict, sizeof dict, "{'descr': '|b1', 'fortran_order': False, 'shape': (%lld, %lld), }",
                       (long long)rows, (long long)cols);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned hl = (unsigned)(len + pad + 1);
    fputc((int)(hl & 0xff), f);
    fputc((int)(hl >> 8), f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    fwrite(v, 1, (size_t)(rows * cols), f);
    fclose(f);
}

static ck_tensor *load(const char *path)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(path, &t), CK_OK, "%s: %s", path, ck_last_error());
    return t;
}

static void expect_same_values(const char *a_path, const char *b_path)
{
    ck_tensor *a = load(a_path), *b = load(b_path);
    cr_assert_eq(a->dtype, b->dtype);
    cr_assert_eq(a->size, b->size);
    for (int64_t i = 0; i < a->size; i++)
        cr_expect_eq(ck_tensor_get(a, i), ck_tensor_get(b, i), "[%lld] %g vs %g", (long long)i,
                     ck_tensor_get(a, i), ck_tensor_get(b, i));
    ck_tensor_free(a);
    ck_tensor_free(b);
}

static void expect_clean_failure(const run_result *r, const char *needle, const char *out_file)
{
    cr_expect_eq(r->status, 1, "exit status %d, stderr: %s", r->status, r->err);
    cr_expect(strncmp(r->err, "ckeras: error: ", 15) == 0, "stderr: %s", r->err);
    if (needle) cr_expect(strstr(r->err, needle) != NULL, "'%s' not in: %s", needle, r->err);
    if (out_file) cr_expect(!exists(out_file), "no output file left behind");
}

/* tf.keras 2.x to_json of Input(3) -> Dense(2) -> Dense(1), float32. */
static const char dense_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"seq\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3], \"dtype\": \"float32\","
    " \"sparse\": false, \"ragged\": false, \"name\": \"x\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"trainable\": true, \"dtype\": \"float32\","
    " \"units\": 2, \"activation\": \"tanh\", \"use_bias\": true}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d2\", \"trainable\": true, \"dtype\": \"float32\","
    " \"units\": 1, \"activation\": \"linear\", \"use_bias\": true}}]},"
    " \"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\"}";

/* Input(2, dtype=int32) -> Embedding(5, 3). */
static const char embedding_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"emb\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 2], \"dtype\": \"int32\","
    " \"sparse\": false, \"ragged\": false, \"name\": \"ids\"}},"
    "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"e\", \"trainable\": true, \"dtype\": \"float32\","
    " \"input_dim\": 5, \"output_dim\": 3}}]},"
    " \"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\"}";

/* Writes an architecture JSON and a saved model with weights made from it
 * (convert --random-weights); paths go to arch / h5. */
static void make_model(const char *stem, const char *json, char *arch, char *h5, size_t n)
{
    char name[256];
    snprintf(name, sizeof name, "%s.json", stem);
    snprintf(arch, n, "%s", ck_test_tmp(name));
    snprintf(name, sizeof name, "%s.h5", stem);
    snprintf(h5, n, "%s", ck_test_tmp(name));
    write_text(arch, json);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"convert", arch, h5, "--random-weights", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
}

Test(cli_io, architecture_without_weights_needs_random_weights, .timeout = 60)
{
    char arch[4096], h5[4096], x[4096], out[4096], h5b[4096];
    make_model("io_arch", dense_json, arch, h5, sizeof arch);
    snprintf(x, sizeof x, "%s", ck_test_tmp("io_arch_x.npy"));
    snprintf(out, sizeof out, "%s", ck_test_tmp("io_arch_out.npy"));
    snprintf(h5b, sizeof h5b, "%s", ck_test_tmp("io_arch_b.h5"));
    ck_tensor *t = ck_test_f32(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    cr_assert_eq(ck_npy_save(x, t), CK_OK);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"predict", arch, x, "-o", out, NULL});
    expect_clean_failure(&r, "--random-weights", out);
    cr_expect(strstr(r.err, "without weights") != NULL, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"convert", arch, h5b, NULL});
    expect_clean_failure(&r, "--random-weights", h5b);
    /* Given, the flag (or real weights) makes both work. */
    ck_test_run_cli(&r, (const char *[]){"predict", arch, x, "-o", out, "--random-weights", NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    cr_expect(exists(out));
    unlink(out);
    ck_test_run_cli(&r, (const char *[]){"predict", arch, "--weights", h5, x, "-o", out, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"convert", arch, h5b, "--weights", h5, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    /* A file with weights needs nothing more. */
    ck_test_run_cli(&r, (const char *[]){"predict", h5, x, "-o", out, NULL});
    cr_expect_eq(r.status, 0, "%s", r.err);
    /* The help says so. */
    ck_test_run_cli(&r, (const char *[]){"predict", "--help", NULL});
    cr_expect(strstr(r.out, "--random-weights") != NULL, "%s", r.out);
    ck_test_run_cli(&r, (const char *[]){"convert", "--help", NULL});
    cr_expect(strstr(r.out, "--random-weights") != NULL, "%s", r.out);
    unlink(arch); unlink(h5); unlink(h5b); unlink(x); unlink(out);
    ck_tensor_free(t);
}

Test(cli_io, integer_and_bool_inputs_are_cast_to_the_input_dtype, .timeout = 60)
{
    char arch[4096], h5[4096], xf[4096], xi[4096], xb[4096], xbf[4096], of[4096], oi[4096], ob[4096], obf[4096];
    make_model("io_cast", dense_json, arch, h5, sizeof arch);
    snprintf(xf, sizeof xf, "%s", ck_test_tmp("io_cast_f.npy"));
    snprintf(xi, sizeof xi, "%s", ck_test_tmp("io_cast_i.npy"));
    snprintf(xb, sizeof xb, "%s", ck_test_tmp("io_cast_b.npy"));
    snprintf(xbf, sizeof xbf, "%s", ck_test_tmp("io_cast_bf.npy"));
    snprintf(of, sizeof of, "%s", ck_test_tmp("io_cast_of.npy"));
    snprintf(oi, sizeof oi, "%s", ck_test_tmp("io_cast_oi.npy"));
    snprintf(ob, sizeof ob, "%s", ck_test_tmp("io_cast_ob.npy"));
    snprintf(obf, sizeof obf, "%s", ck_test_tmp("io_cast_obf.npy"));
    ck_tensor *f = ck_test_f32(2, (int64_t[]){2, 3}, (float[]){1, -2, 3, 40, 5, -6});
    ck_tensor *i = ck_test_i64(2, (int64_t[]){2, 3}, (int64_t[]){1, -2, 3, 40, 5, -6});
    ck_tensor *bf = ck_test_f32(2, (int64_t[]){2, 3}, (float[]){1, 0, 1, 0, 0, 1});
    cr_assert_eq(ck_npy_save(xf, f), CK_OK);
    cr_assert_eq(ck_npy_save(xi, i), CK_OK);
    cr_assert_eq(ck_npy_save(xbf, bf), CK_OK);
    write_bool_npy(xb, 2, 3, (const unsigned char[]){1, 0, 1, 0, 0, 1});
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"predict", h5, xf, "-o", of, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"predict", h5, xi, "-o", oi, NULL});
    cr_assert_eq(r.status, 0, "int64 into a float32 model: %s", r.err);
    expect_same_values(of, oi);
    ck_test_run_cli(&r, (const char *[]){"predict", h5, xb, "-o", ob, NULL});
    cr_assert_eq(r.status, 0, "bool into a float32 model: %s", r.err);
    ck_test_run_cli(&r, (const char *[]){"predict", h5, xbf, "-o", obf, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_same_values(ob, obf);

    /* apply follows Keras' layer call: Dense casts an int64 input itself. */
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s", ck_test_tmp("io_cast_dense.json"));
    write_text(cfg, "{\"class_name\": \"Dense\", \"config\": {\"units\": 2}}");
    ck_test_run_cli(&r, (const char *[]){"apply", cfg, xf, "--seed", "7", "-o", of, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"apply", cfg, xi, "--seed", "7", "-o", oi, NULL});
    cr_assert_eq(r.status, 0, "apply on int64: %s", r.err);
    expect_same_values(of, oi);
    unlink(cfg);

    /* evaluate and fit take the int64 X too, with the float X's results. */
    char y[4096], fit_out[4096], log_f[sizeof r.out];
    snprintf(y, sizeof y, "%s", ck_test_tmp("io_cast_y.npy"));
    snprintf(fit_out, sizeof fit_out, "%s", ck_test_tmp("io_cast_fit.h5"));
    ck_tensor *yt = ck_test_f32(2, (int64_t[]){2, 1}, (float[]){0.5f, -1});
    cr_assert_eq(ck_npy_save(y, yt), CK_OK);
    ck_test_run_cli(&r, (const char *[]){"evaluate", h5, xf, "--y", y, "--loss", "mse", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    snprintf(log_f, sizeof log_f, "%s", r.out);
    ck_test_run_cli(&r, (const char *[]){"evaluate", h5, xi, "--y", y, "--loss", "mse", NULL});
    cr_assert_eq(r.status, 0, "int64 X: %s", r.err);
    cr_expect_str_eq(r.out, log_f);
    ck_test_run_cli(&r, (const char *[]){"fit", h5, xi, "--y", y, "--loss", "mse", "--epochs", "1", "-o", fit_out, NULL});
    cr_expect_eq(r.status, 0, "fit on int64 X: %s", r.err);
    cr_expect(exists(fit_out));

    /* An int32 Embedding input fed floats: truncated like tf.cast. */
    char earch[4096], eh5[4096], ef[4096], ei[4096], oef[4096], oei[4096], ebad[4096];
    make_model("io_emb", embedding_json, earch, eh5, sizeof earch);
    snprintf(ef, sizeof ef, "%s", ck_test_tmp("io_emb_f.npy"));
    snprintf(ei, sizeof ei, "%s", ck_test_tmp("io_emb_i.npy"));
    snprintf(oef, sizeof oef, "%s", ck_test_tmp("io_emb_of.npy"));
    snprintf(oei, sizeof oei, "%s", ck_test_tmp("io_emb_oi.npy"));
    snprintf(ebad, sizeof ebad, "%s", ck_test_tmp("io_emb_bad.npy"));
    ck_tensor *e_f = ck_test_f64(2, (int64_t[]){2, 2}, (double[]){1.7, 4, 0, 2.2});
    ck_tensor *e_i = ck_test_i64(2, (int64_t[]){2, 2}, (int64_t[]){1, 4, 0, 2});
    ck_tensor *e_bad = ck_test_f32(2, (int64_t[]){1, 2}, (float[]){NAN, 1});
    cr_assert_eq(ck_npy_save(ef, e_f), CK_OK);
    cr_assert_eq(ck_npy_save(ei, e_i), CK_OK);
    cr_assert_eq(ck_npy_save(ebad, e_bad), CK_OK);
    ck_test_run_cli(&r, (const char *[]){"predict", eh5, ei, "-o", oei, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"predict", eh5, ef, "-o", oef, NULL});
    cr_assert_eq(r.status, 0, "float64 into an int32 Embedding input: %s", r.err);
    expect_same_values(oef, oei);
    /* A float no integer holds is refused, not converted by undefined C. */
    ck_test_run_cli(&r, (const char *[]){"predict", eh5, ebad, "-o", oef, NULL});
    expect_clean_failure(&r, "cannot be cast to int32", NULL);

    const char *files[] = {arch, h5, xf, xi, xb, xbf, of, oi, ob, obf, y, fit_out, earch, eh5, ef, ei, oef, oei, ebad};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) unlink(files[k]);
    ck_tensor_free(f); ck_tensor_free(i); ck_tensor_free(bf); ck_tensor_free(yt);
    ck_tensor_free(e_f); ck_tensor_free(e_i); ck_tensor_free(e_bad);
}

/* stdout of `-o -` must be byte for byte the file `-o FILE` writes. */
static void expect_stdout_is_file(const run_result *r, const char *file)
{
    static char want[65536];
    size_t n = ck_test_slurp(file, want, sizeof want);
    cr_expect(n > 10, "%s", file);
    cr_expect_eq(r->out_len, n, "stdout has %zu bytes, the file %zu", r->out_len, n);
    cr_expect(memcmp(r->out, want, n) == 0, "stdout differs from the file");
    cr_expect(memcmp(r->out, "\x93NUMPY", 6) == 0, "stdout starts with the .npy magic");
}

Test(cli_io, dash_writes_the_npy_to_stdout, .timeout = 60)
{
    char arch[4096], h5[4096], x[4096], out[4096], cfg[4096], dash_file[4200];
    make_model("io_dash", dense_json, arch, h5, sizeof arch);
    snprintf(x, sizeof x, "%s", ck_test_tmp("io_dash_x.npy"));
    snprintf(out, sizeof out, "%s", ck_test_tmp("io_dash_out.npy"));
    snprintf(cfg, sizeof cfg, "%s", ck_test_tmp("io_dash_cfg.json"));
    ck_tensor *t = ck_test_f32(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    cr_assert_eq(ck_npy_save(x, t), CK_OK);
    /* No file named "-" may appear in the working directory. */
    char cwd[4096];
    cr_assert_not_null(getcwd(cwd, sizeof cwd));
    snprintf(dash_file, sizeof dash_file, "%s/-", cwd);
    unlink(dash_file);
    run_result r;
    ck_test_run_cli(&r, (const char *[]){"predict", h5, x, "-o", out, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"predict", h5, x, "-o", "-", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_stdout_is_file(&r, out);
    cr_expect(!exists(dash_file), "no file named '-'");
    ck_tensor *back = NULL;
    cr_expect_eq(ck_npy_load_buffer(r.out, r.out_len, &back), CK_OK, "%s", ck_last_error());
    ck_tensor_free(back);

    write_text(cfg, "{\"class_name\": \"Activation\", \"config\": {\"activation\": \"relu\"}}");
    ck_test_run_cli(&r, (const char *[]){"apply", cfg, x, "-o", out, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"apply", cfg, x, "-o", "-", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_stdout_is_file(&r, out);

    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, x, "--axes=1", "-o", out, NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    ck_test_run_cli(&r, (const char *[]){"batch-dot", x, x, "--axes=1", "-o", "-", NULL});
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_stdout_is_file(&r, out);
    cr_expect(!exists(dash_file), "no file named '-'");

    /* An error writes nothing to stdout. */
    ck_test_run_cli(&r, (const char *[]){"predict", h5, cfg, "-o", "-", NULL});
    expect_clean_failure(&r, NULL, NULL);
    cr_expect_eq(r.out_len, 0u, "stdout holds %zu bytes after an error", r.out_len);
    unlink(arch); unlink(h5); unlink(x); unlink(out); unlink(cfg);
    ck_tensor_free(t);
}
