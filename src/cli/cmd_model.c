/* ckeras summary / predict / convert: whole models and their files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "io/model_io.h"

/* 1 if `path` is a JSON architecture with no weights of its own (a TF.js
 * model.json lists them in "weightsManifest"; a to_json file has none).
 * Anything else, unreadable or malformed files included, is 0: loading it
 * reports the real problem. */
static int bare_architecture(const char *path)
{
    char head[64] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    size_t i = 0;
    while (i < n && strchr(" \t\r\n", head[i])) i++;
    if (i == n || (head[i] != '{' && head[i] != '[')) return 0;
    char *text = ck_read_text_file(path);
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    int bare = root && !json_object_get(root, "weightsManifest");
    json_decref(root);
    ck_free(text);
    return bare;
}

/* predict and convert must not pass freshly initialised weights off as a
 * model's: an architecture without weights needs --weights, or an explicit
 * --random-weights. */
static ck_status check_weights_given(const char *cmd, const char *path, const char *weights, int random_ok)
{
    if (weights || random_ok || !bare_architecture(path)) return CK_OK;
    return ck_error(CK_VALUE_ERROR, "%s: '%s' is an architecture without weights: give them with --weights W.h5, "
                    "or pass --random-weights to use freshly initialised ones", cmd, path);
}

/* Loads MODEL, then the --weights file if one is given. */
static ck_status load_model(const char *path, const char *weights, ck_model **out)
{
    ck_model *m = NULL;
    ck_status loaded = ck_model_load(path, &m);
    if (loaded != CK_OK) return loaded;
    if (weights) {
        ck_status st = ck_model_load_weights(m, weights, 0);
        if (st != CK_OK) {
            ck_model_free(m);
            return st;
        }
    }
    *out = m;
    return CK_OK;
}

static int run_summary(int argc, char **argv)
{
    const char *model = NULL, *weights = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_cli_option(argc, argv, &i, "weights"))) weights = v;
        else if (argv[i][0] == '-' && argv[i][1]) return ck_cli_fail("summary: unknown option '%s'", argv[i]);
        else if (!model) model = argv[i];
        else return ck_cli_fail("summary takes one MODEL file");
    }
    if (!model) return ck_cli_fail("summary needs a MODEL file (.h5, .keras or .json)");
    ck_model *m = NULL;
    char *text = NULL;
    ck_status st = load_model(model, weights, &m);
    if (st == CK_OK) st = ck_model_summary(m, &text);
    if (st == CK_OK) fputs(text, stdout);
    ck_free(text);
    ck_model_free(m);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

/* A view of rows [r0, r0 + rows) of t (no copy). */
static ck_tensor rows_of(const ck_tensor *t, int64_t r0, int64_t rows)
{
    ck_tensor v = *t;
    int64_t per_row = t->shape[0] ? t->size / t->shape[0] : 0;
    v.data = (char *)t->data + (size_t)(r0 * per_row) * ck_dtype_size(t->dtype);
    v.shape[0] = rows;
    v.size = per_row * rows;
    v.owns_data = 0;
    return v;
}

/* ck_model_predict, in slices of a few thousand samples so that a long run
 * can report its progress on stderr (only when stderr is a terminal). */
static ck_status predict_with_progress(ck_model *m, int n_in, ck_tensor **in, ck_tensor **res, int64_t batch)
{
    int64_t total = in[0]->rank > 0 ? in[0]->shape[0] : 0;
    int64_t slice = batch * 64;
    int show = isatty(2) && total > slice;
    if (!show) return ck_model_predict(m, n_in, in, res, batch);
    int n_out = ck_model_output_count(m);
    ck_tensor *part[64] = {NULL};
    ck_status st = CK_OK;
    for (int64_t r0 = 0; st == CK_OK && r0 < total; r0 += slice) {
        int64_t rows = total - r0 < slice ? total - r0 : slice;
        ck_tensor views[64];
        ck_tensor *args[64];
        for (int i = 0; i < n_in; i++) {
            if (in[i]->rank < 1 || in[i]->shape[0] != total) return ck_model_predict(m, n_in, in, res, batch);
            views[i] = rows_of(in[i], r0, rows);
            args[i] = &views[i];
        }
        st = ck_model_predict(m, n_in, args, part, batch);
        for (int o = 0; st == CK_OK && o < n_out; o++) {
            if (!res[o]) {
                int64_t shape[CK_MAX_RANK];
                for (int d = 0; d < part[o]->rank; d++) shape[d] = part[o]->shape[d];
                shape[0] = total;
                st = ck_tensor_new(&res[o], part[o]->dtype, part[o]->rank, shape);
            }
            if (st == CK_OK) {
                ck_tensor dst = rows_of(res[o], r0, rows);
                memcpy(dst.data, part[o]->data, (size_t)part[o]->size * ck_dtype_size(part[o]->dtype));
            }
        }
        for (int o = 0; o < n_out; o++) {
            ck_tensor_free(part[o]);
            part[o] = NULL;
        }
        fprintf(stderr, "\rckeras: predict: %lld/%lld samples", (long long)(r0 + rows), (long long)total);
    }
    fprintf(stderr, "\n");
    if (st != CK_OK)
        for (int o = 0; o < n_out; o++) {
            ck_tensor_free(res[o]);
            res[o] = NULL;
        }
    return st;
}

static int run_predict(int argc, char **argv)
{
    enum { MAX_IO = 64 };
    const char *model = NULL, *weights = NULL, *out = NULL, *dir = NULL, *v;
    const char *inputs[MAX_IO];
    int n_in = 0;
    int64_t batch = 32;
    int random_ok = 0;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_cli_option(argc, argv, &i, "weights"))) {
            weights = v;
        } else if (!strcmp(argv[i], "--random-weights")) {
            random_ok = 1;
        } else if ((v = ck_cli_option(argc, argv, &i, "batch-size"))) {
            char *end;
            errno = 0;
            long long b = strtoll(v, &end, 10);
            if (*end || errno || b <= 0) return ck_cli_fail("bad --batch-size '%s': expected a positive integer", v);
            batch = b;
        } else if ((v = ck_cli_option(argc, argv, &i, "output-dir"))) {
            dir = v;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (i + 1 >= argc) return ck_cli_fail("-o needs a file name");
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ck_cli_fail("predict: unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else if (n_in < MAX_IO) {
            inputs[n_in++] = argv[i];
        } else {
            return ck_cli_fail("predict: too many inputs");
        }
    }
    if (!model || n_in == 0) return ck_cli_fail("predict needs MODEL and at least one input .npy");
    if (!out == !dir) return ck_cli_fail("predict needs exactly one of -o OUT.npy or --output-dir DIR");

    ck_model *m = NULL;
    ck_tensor *in[MAX_IO] = {NULL}, *res[MAX_IO] = {NULL};
    int n_out = 0;
    ck_status st = check_weights_given("predict", model, weights, random_ok);
    if (st == CK_OK) st = load_model(model, weights, &m);
    if (st == CK_OK) {
        n_out = ck_model_output_count(m);
        if (n_in != ck_model_input_count(m))
            st = ck_error(CK_VALUE_ERROR, "model \"%s\" has %d inputs, %d input files given", ck_model_name(m),
                          ck_model_input_count(m), n_in);
        else if (out && n_out != 1)
            st = ck_error(CK_VALUE_ERROR, "model \"%s\" has %d outputs: use --output-dir DIR", ck_model_name(m), n_out);
        else if (n_out > MAX_IO)
            st = ck_error(CK_NOT_IMPLEMENTED, "more than %d outputs", MAX_IO);
    }
    for (int i = 0; st == CK_OK && i < n_in; i++) st = ck_cli_load_input(inputs[i], ck_model_input(m, i)->dtype, &in[i]);
    if (st == CK_OK) st = predict_with_progress(m, n_in, in, res, batch);
    if (st == CK_OK && dir && mkdir(dir, 0777) != 0 && errno != EEXIST)
        st = ck_error(CK_IO_ERROR, "cannot create directory '%s': %s", dir, strerror(errno));
    for (int o = 0; st == CK_OK && o < n_out; o++) {
        char path[4096];
        if (out) snprintf(path, sizeof path, "%s", out);
        else snprintf(path, sizeof path, "%s/output_%d.npy", dir, o);
        st = ck_cli_save_npy(path, res[o]);
    }
    for (int i = 0; i < n_in; i++) ck_tensor_free(in[i]);
    for (int o = 0; o < n_out; o++) ck_tensor_free(res[o]);
    ck_model_free(m);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

static int run_convert(int argc, char **argv)
{
    const char *model = NULL, *target = NULL, *weights = NULL, *v;
    int random_ok = 0;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_cli_option(argc, argv, &i, "weights"))) weights = v;
        else if (!strcmp(argv[i], "--random-weights")) random_ok = 1;
        else if (argv[i][0] == '-' && argv[i][1]) return ck_cli_fail("convert: unknown option '%s'", argv[i]);
        else if (!model) model = argv[i];
        else if (!target) target = argv[i];
        else return ck_cli_fail("convert takes MODEL and OUT");
    }
    if (!model || !target) return ck_cli_fail("convert needs MODEL and OUT.h5|OUT.keras|OUT.json");
    ck_model *m = NULL;
    /* A .json target holds no weights, so nothing random can leak there. */
    const char *dot = strrchr(target, '.');
    if (dot && !strcmp(dot, ".json")) random_ok = 1;
    ck_status st = check_weights_given("convert", model, weights, random_ok);
    if (st == CK_OK) st = load_model(model, weights, &m);
    if (st == CK_OK) st = ck_model_save(m, target);
    ck_model_free(m);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

const ck_cli_command ck_cmd_summary = {
    "summary",
    "print the Keras summary table of a model file",
    "usage: ckeras summary MODEL [--weights W.h5]\n\n"
    "MODEL is a full Keras .h5, a .keras archive, or an architecture .json (then\n"
    "--weights gives the weights file).  Prints model.summary() as tf.keras does.\n",
    run_summary,
};

const ck_cli_command ck_cmd_predict = {
    "predict",
    "run a model on .npy inputs",
    "usage: ckeras predict MODEL [--weights W.h5 | --random-weights] IN.npy [IN2.npy ...]\n"
    "                      (-o OUT.npy | --output-dir DIR) [--batch-size N]\n\n"
    "Inputs are given in the order of the model's inputs and cast to each Input's\n"
    "dtype as Keras does (int64 or bool arrays into a float32 model, floats into an\n"
    "int32 Embedding input).  -o - writes the .npy to stdout.  An architecture\n"
    "JSON without weights needs --weights, or --random-weights to run it with\n"
    "freshly initialised weights.  A model with several\n"
    "outputs writes DIR/output_0.npy, DIR/output_1.npy, ... in the order of its\n"
    "outputs.  --batch-size defaults to 32, as in Keras.  On a terminal, long runs\n"
    "report their progress on stderr.\n",
    run_predict,
};

const ck_cli_command ck_cmd_convert = {
    "convert",
    "convert a model between .h5, .keras and .json",
    "usage: ckeras convert MODEL OUT.h5|OUT.keras|OUT.json [--weights W.h5 | --random-weights]\n\n"
    "Loads MODEL (and its weights) and saves it in the format of OUT's extension:\n"
    ".h5 in the tf.keras 2.x HDF5 layout, .keras as a Keras archive, .json as\n"
    "the architecture only.  An architecture JSON without weights needs --weights\n"
    "(or --random-weights to save freshly initialised weights) unless OUT is .json.\n",
    run_convert,
};
