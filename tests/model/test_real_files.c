/* Every real Keras model file of ../shared/testdata/keras (and of the
 * permissively licensed copies under tests/data/keras, see its README):
 * each loads (a JSON architecture together with its weights file), its
 * weights are those of the file, its summary is made; the files holding a
 * class ckeras does not implement fail with CK_NOT_IMPLEMENTED naming the
 * class.  Then a model loaded from a real file and saved by ckeras (.h5,
 * .keras, to_json + save_weights) reloads and predicts bit-identically, and
 * a ckeras-saved .h5 has the HDF5 layout of a real tf.keras 2.11/2.13 file.
 * Predictions against the outputs real Keras computed are in
 * test_real_predict.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckeras.h"
#include "io/keras_h5.h"
#include "real_common.h"
#include "support/h5_oracle.h"
#include "support/support.h"

typedef struct real_file {
    const char *folder, *file;
    const char *weights;  /* its save_weights file (same folder), or NULL */
    ck_status status;     /* what loading must give                    */
    const char *missing;  /* CK_NOT_IMPLEMENTED: the class to be named */
} real_file;

#define OK(folder, file) {folder, file, NULL, CK_OK, NULL}
#define PAIR(folder, json, weights) {folder, json, weights, CK_OK, NULL}
#define LACKS(folder, file, cls) {folder, file, NULL, CK_NOT_IMPLEMENTED, cls}
#define DL4J_ACT(c) PAIR("dl4j-dense-activations-io", c "_config.json", c "_weights.h5"), \
                    OK("dl4j-dense-activations-io", c "_model.h5")
#define MAX_IO 16 /* more inputs or outputs than any real model here */
#define LEGACY "dl4j-legacy-formats"
#define TFK "dl4j-tfkeras-dense"

static const real_file FILES[] = {
    DL4J_ACT("ELU_0"), DL4J_ACT("LeakyReLU_0"), DL4J_ACT("ReLU_0"), DL4J_ACT("ReLU_1"), DL4J_ACT("ReLU_2"),
    DL4J_ACT("ReLU_3"), DL4J_ACT("Softmax_0"), DL4J_ACT("ThresholdReLU_0"),
    DL4J_ACT("simple_sparse_xent_mlp_keras_2"),
    /* Keras 1.2.2 (Theano and TF weight names, TF variable scopes) and
     * Keras 2.1.3, all with the Sequential config as a bare list. */
    OK(LEGACY, "dense_tensorflow_1.h5"), OK(LEGACY, "dense_theano_1.h5"), OK(LEGACY, "dense_tensorflow_2.h5"),
    OK(LEGACY, "dense_theano_2.h5"), OK(LEGACY, "tfscope_model.h5"), OK(LEGACY, "flatten_3d.hdf5"),
    OK(LEGACY, "keras-attention.h5"),
    /* Keras 1.1 / 2.0 functional configs with the legacy Merge(mode=concat) */
    OK(LEGACY, "config_keras1_mlp_fapi_config.json"), OK(LEGACY, "config_keras2_keras2_mlp_fapi_config.json"),
    OK(LEGACY, "config_keras2_keras2_mnist_cnn_no_bias_tf_config.json"),
    OK(LEGACY, "config_keras2_model_2_2_4.json"), OK(LEGACY, "config_keras2_simple_add_tf_keras_2.json"),
    OK(TFK, "act_0.h5"), OK(TFK, "act_2.h5"), OK(TFK, "act_4.h5"), OK(TFK, "act_6.h5"), OK(TFK, "act_8.h5"),
    OK(TFK, "act_10.h5"), OK(TFK, "act_12.h5"), OK(TFK, "act_14.h5"), OK(TFK, "act_16.h5"), OK(TFK, "act_18.h5"),
    OK(TFK, "misc_0.h5"), OK(TFK, "misc_3.h5"), OK(TFK, "mlp_0.h5"), OK(TFK, "mlp_1.h5"), OK(TFK, "mlp_10.h5"),
    OK(TFK, "mlp_20.h5"), OK(TFK, "mlp_48.h5"), OK(TFK, "mlp_100.h5"), OK(TFK, "mlp_116.h5"),
    PAIR("hls4ml-mlp", "KERAS_1layer.json", "KERAS_1layer_weights.h5"),
    PAIR("hls4ml-mlp", "KERAS_3layer.json", "KERAS_3layer_weights.h5"),
    PAIR("hls4ml-mlp", "KERAS_dense_16x100x100x100x100x100x5.json", "KERAS_dense_16x100x100x100x100x100x5_weights.h5"),
    OK("hls4ml-mlp", "keras_1layer.h5"), OK("hls4ml-mlp", "keras_3layer.h5"),
    PAIR("hls4ml-mnist-mlp-io", "KERAS_mnist_mlp.json", "KERAS_mnist_mlp_weights.h5"),
    PAIR("hls4ml-svhn-mlp-io", "svhn_grayscale_mlp.json", "svhn_grayscale_mlp_weights.h5"),
    OK("keras2c-example", "model.h5"),
    OK("keras3-wide-deep", "my_model.h5"), OK("keras3-wide-deep", "my_model.keras"),
    OK("recsys-dot-keras2_13", "recommender_model.h5"), OK("recsys-dot-keras3", "recommender_model.h5"),
    OK("siamese-cosine-dot-keras2_4", "testmodel.hdf5"),
    OK("two-tower-concat-keras2_11", "two_tower_model.h5"),
};
#define N_FILES ((int)(sizeof FILES / sizeof FILES[0]))

/* Folders copied into tests/data/keras (Apache-2.0 / MIT); of hls4ml-mlp
 * only the KERAS_* files, which upstream hls4ml ships under Apache-2.0. */
static const char *const COPIED[] = {"dl4j-dense-activations-io", "dl4j-legacy-formats", "dl4j-tfkeras-dense",
                                     "hls4ml-mlp", "hls4ml-mnist-mlp-io", "hls4ml-svhn-mlp-io",
                                     "siamese-cosine-dot-keras2_4"};
#define N_COPIED ((int)(sizeof COPIED / sizeof COPIED[0]))

static int copied(const char *folder, const char *file)
{
    for (int i = 0; i < N_COPIED; i++)
        if (strcmp(COPIED[i], folder) == 0)
            return strcmp(folder, "hls4ml-mlp") != 0 || strncmp(file, "KERAS_", 6) == 0 ||
                   strcmp(file, "PROVENANCE.md") == 0;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int in_table(const char *folder, const char *file)
{
    for (int i = 0; i < N_FILES; i++)
        if (strcmp(FILES[i].folder, folder) == 0 &&
            (strcmp(FILES[i].file, file) == 0 || (FILES[i].weights && strcmp(FILES[i].weights, file) == 0)))
            return 1;
    return 0;
}

/* Files that hold data, not models. */
static int data_file(const char *folder, const char *file)
{
    return strcmp(folder, "kerasjs-goldens") == 0 || ends_with(file, "_inputs_and_outputs.h5") ||
           strcmp(file, "expected_outputs.json") == 0;
}

static int model_like(const char *file)
{
    return ends_with(file, ".h5") || ends_with(file, ".hdf5") || ends_with(file, ".keras") || ends_with(file, ".json");
}

/* Checks that every model-like file under root/<folder>/ is in FILES. */
static int check_listed(const char *root)
{
    DIR *top = opendir(root);
    if (!top) return 0;
    int seen = 0;
    struct dirent *d;
    while ((d = readdir(top))) {
        if (d->d_name[0] == '.') continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, d->d_name);
        DIR *sub = opendir(dir);
        if (!sub) continue;
        struct dirent *e;
        while ((e = readdir(sub))) {
            if (!model_like(e->d_name) || data_file(d->d_name, e->d_name)) continue;
            cr_expect(in_table(d->d_name, e->d_name), "%s/%s/%s is not in this test's table: add it", root,
                      d->d_name, e->d_name);
            seen++;
        }
        closedir(sub);
    }
    closedir(top);
    return seen;
}

Test(real_files, every_model_file_is_in_the_table)
{
    int n = check_listed(ck_test_data("keras"));
    cr_expect_geq(n, 60, "the copies under tests/data/keras are missing (%d model files)", n);
    const char *shared = ck_test_shared("keras");
    if (shared) {
        char root[4096];
        snprintf(root, sizeof root, "%s", shared);
        cr_expect_geq(check_listed(root), 70);
    }
}

static int same_bytes(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int x = fgetc(fa), y = fgetc(fb);
        if (x != y) same = 0;
        if (x == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* The copies are exactly the licensed files of the shared folders. */
Test(real_files, copies_are_the_shared_files)
{
    const char *shared = ck_test_shared("keras");
    if (!shared) cr_skip_test("../shared/testdata absent");
    char root[4096];
    snprintf(root, sizeof root, "%s", shared);
    for (int i = 0; i < N_COPIED; i++) {
        char dir[8192], mine[4096];
        snprintf(dir, sizeof dir, "%s/%s", root, COPIED[i]);
        DIR *sub = opendir(dir);
        cr_assert_not_null(sub, "%s", dir);
        struct dirent *e;
        while ((e = readdir(sub))) {
            if (e->d_name[0] == '.') continue;
            char theirs[16384], rel[1024];
            snprintf(theirs, sizeof theirs, "%s/%s", dir, e->d_name);
            snprintf(rel, sizeof rel, "keras/%s/%s", COPIED[i], e->d_name);
            snprintf(mine, sizeof mine, "%s", ck_test_data(rel));
            if (copied(COPIED[i], e->d_name))
                cr_expect(same_bytes(theirs, mine), "%s differs from %s (or is missing)", mine, theirs);
            else
                cr_expect_neq(access(mine, F_OK), 0, "%s has no licence and must not be in the repo", mine);
        }
        closedir(sub);
    }
}

/* The loaded weights are the file's, bit for bit, layer by layer (by
 * name: the file's layer_names against model.get_layer). */
static void expect_file_weights(const real_file *rf, ck_model *m, int64_t total)
{
    const char *h5 = rf->weights ? rf->weights : rf->file;
    if (!ends_with(h5, ".h5") && !ends_with(h5, ".hdf5")) return;
    char buf[4096];
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(real_path(buf, rf->folder, h5), &f), CK_OK, "%s", ck_last_error());
    int64_t in_file = 0;
    for (size_t i = 0; i < f->n_layers; i++) {
        const ck_h5_layer *hl = &f->layers[i];
        if (hl->n_weights == 0) continue;
        ck_layer *l = NULL;
        cr_assert_eq(ck_model_get_layer(m, hl->name, &l), CK_OK, "%s/%s: %s", rf->folder, rf->file, ck_last_error());
        cr_assert_eq(ck_layer_weight_count(l), (int)hl->n_weights, "%s/%s layer %s", rf->folder, rf->file, hl->name);
        for (size_t k = 0; k < hl->n_weights; k++) {
            const ck_tensor *got = ck_weight_value(ck_layer_weight(l, (int)k)), *want = hl->weights[k].value;
            cr_expect_eq(got->dtype, want->dtype);
            cr_expect_eq(ck_test_max_abs_diff(got, want), 0.0, "%s/%s: layer %s weight %zu (%s)", rf->folder,
                         rf->file, hl->name, k, hl->weights[k].name);
            in_file += want->size;
        }
    }
    cr_expect_eq(total, in_file, "%s/%s: the model has %lld parameters, the file %lld", rf->folder, rf->file,
                 (long long)total, (long long)in_file);
    ck_keras_h5_free(f);
}

Test(real_files, every_file_loads_or_names_the_missing_class)
{
    int loaded = 0, refused = 0, absent = 0;
    for (int i = 0; i < N_FILES; i++) {
        const real_file *rf = &FILES[i];
        ck_model *m = NULL;
        int missing = 0;
        ck_clear_error();
        ck_status st = real_load(rf->folder, rf->file, rf->weights, &m, &missing);
        if (missing) {
            cr_expect(!copied(rf->folder, rf->file), "%s/%s: the committed copy is missing", rf->folder, rf->file);
            absent++;
            continue;
        }
        if (rf->status != CK_OK) {
            cr_expect_eq(st, rf->status, "%s/%s: got %s (%s), want %s naming %s", rf->folder, rf->file,
                         ck_status_name(st), ck_last_error(), ck_status_name(rf->status), rf->missing);
            cr_expect(strstr(ck_last_error(), rf->missing) != NULL, "%s/%s: \"%s\" does not name %s", rf->folder,
                      rf->file, ck_last_error(), rf->missing);
            cr_expect(strstr(ck_last_error(), rf->file) != NULL, "%s/%s: \"%s\" does not name the file",
                      rf->folder, rf->file, ck_last_error());
            cr_expect_null(m);
            refused++;
            continue;
        }
        cr_expect_eq(st, CK_OK, "%s/%s%s%s: %s: %s", rf->folder, rf->file, rf->weights ? " + " : "",
                     rf->weights ? rf->weights : "", ck_status_name(st), ck_last_error());
        if (st != CK_OK) continue;
        loaded++;
        int64_t total = -1, trainable = -1, frozen = -1;
        cr_expect_eq(ck_model_count_params(m, &total, &trainable, &frozen), CK_OK, "%s", ck_last_error());
        cr_expect_eq(total, trainable + frozen);
        cr_expect_gt(total, 0, "%s/%s", rf->folder, rf->file);
        char *text = NULL;
        st = ck_model_summary(m, &text);
        cr_expect_eq(st, CK_OK, "%s/%s summary: %s", rf->folder, rf->file, ck_last_error());
        if (st == CK_OK) {
            char want[256];
            snprintf(want, sizeof want, "Model: \"%s\"", ck_model_name(m));
            cr_expect(strstr(text, want) != NULL, "%s/%s:\n%s", rf->folder, rf->file, text);
            snprintf(want, sizeof want, "Total params: %lld ", (long long)total);
            cr_expect(strstr(text, want) != NULL, "%s/%s: no \"%s\" in\n%s", rf->folder, rf->file, want, text);
            for (int k = 0; k < ck_model_layer_count(m); k++) {
                const char *name = ck_layer_name(ck_model_layer_at(m, k));
                if (strcmp(ck_layer_class_name(ck_model_layer_at(m, k)), "InputLayer") == 0) continue;
                cr_expect(strstr(text, name) != NULL, "%s/%s: layer %s not in the summary", rf->folder, rf->file,
                          name);
            }
        }
        ck_free(text);
        expect_file_weights(rf, m, total);
        ck_model_free(m);
    }
    cr_log_info("real files: %d loaded, %d refused as expected, %d absent", loaded, refused, absent);
    cr_expect_geq(loaded + refused, 55, "too few files were tried (%d)", loaded + refused);
}

/* A weights-only file is not a model: the message says what to do. */
Test(real_files, a_weights_file_is_not_a_model)
{
    char buf[4096];
    const char *p = real_path(buf, "hls4ml-mlp", "KERAS_1layer_weights.h5");
    cr_assert_not_null(p);
    ck_model *m = NULL;
    cr_expect_eq(ck_model_load(p, &m), CK_FORMAT_ERROR);
    cr_expect(strstr(ck_last_error(), "weights-only") != NULL, "%s", ck_last_error());
    cr_expect_null(m);
}

/* The Keras 2.3 full-model saves of hls4ml hold the same weights as the
 * Keras 2.0/2.1 JSON + save_weights pairs: both give the same model. */
Test(real_files, hls4ml_full_saves_equal_their_json_weight_pairs)
{
    const char *pairs[][3] = {{"keras_1layer.h5", "KERAS_1layer.json", "KERAS_1layer_weights.h5"},
                              {"keras_3layer.h5", "KERAS_3layer.json", "KERAS_3layer_weights.h5"}};
    for (int i = 0; i < 2; i++) {
        ck_model *a = real_model("hls4ml-mlp", pairs[i][0], NULL);
        if (!a) cr_skip_test("../shared/testdata absent");
        ck_model *b = real_model("hls4ml-mlp", pairs[i][1], pairs[i][2]);
        cr_assert_eq(ck_model_layer_count(a), ck_model_layer_count(b));
        int64_t shape[2] = {5, ck_model_input(a, 0)->shape[1]};
        ck_tensor *x = NULL;
        cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, shape), CK_OK);
        for (int64_t k = 0; k < x->size; k++) ((float *)x->data)[k] = (float)sin(0.37 * (double)k);
        ck_tensor *ya = predict1(a, 1, &x, 0), *yb = predict1(b, 1, &x, 0);
        cr_expect_eq(ck_test_max_abs_diff(ya, yb), 0.0, "%s", pairs[i][0]);
        ck_tensor_free(x);
        ck_tensor_free(ya);
        ck_tensor_free(yb);
        ck_model_free(a);
        ck_model_free(b);
    }
}

/* ---- saved by ckeras, reloaded ------------------------------------------- */

static int uses_class(const ck_model *m, const char *cls)
{
    for (int i = 0; i < ck_model_layer_count(m); i++) {
        ck_layer *l = ck_model_layer_at(m, i);
        if (strcmp(ck_layer_class_name(l), cls) == 0) return 1;
        ck_model *inner = ck_layer_as_model(l);
        if (inner && uses_class(inner, cls)) return 1;
    }
    return 0;
}

/* Deterministic inputs of batch 3 for every model input: integer ids 0..4
 * for models with an Embedding (valid rows of every table here), else
 * values in [-1.5, 1.5]. */
static void make_inputs(const ck_model *m, ck_tensor **in)
{
    int ids = uses_class(m, "Embedding");
    for (int i = 0; i < ck_model_input_count(m); i++) {
        const ck_tensor *s = ck_model_input(m, i);
        int64_t shape[CK_MAX_RANK];
        shape[0] = 3;
        for (int d = 1; d < s->rank; d++) shape[d] = s->shape[d] > 0 ? s->shape[d] : 2;
        ck_tensor *x = NULL;
        cr_assert_eq(ck_tensor_new(&x, CK_FLOAT64, s->rank, shape), CK_OK);
        for (int64_t k = 0; k < x->size; k++)
            ((double *)x->data)[k] = ids ? (double)((k * 7 + i * 3) % 5) : 1.5 * sin(0.61 * (double)k + i);
        cr_assert_eq(ck_tensor_cast(&in[i], x, s->dtype), CK_OK, "%s", ck_last_error());
        ck_tensor_free(x);
    }
}

static void predict_all(ck_model *m, ck_tensor *const *in, ck_tensor **out)
{
    ck_status st = ck_model_predict(m, ck_model_input_count(m), in, out, 0);
    cr_assert_eq(st, CK_OK, "predict %s: %s", ck_model_name(m), ck_last_error());
}

static void expect_identical(const char *what, ck_model *m, ck_tensor *const *in, ck_tensor *const *want)
{
    ck_tensor *got[MAX_IO] = {NULL};
    predict_all(m, in, got);
    for (int o = 0; o < ck_model_output_count(m); o++) {
        int same = got[o]->dtype == want[o]->dtype && got[o]->size == want[o]->size &&
                   ck_test_max_abs_diff(got[o], want[o]) == 0.0 &&
                   memcmp(got[o]->data, want[o]->data, (size_t)want[o]->size * ck_dtype_size(want[o]->dtype)) == 0;
        cr_expect(same, "%s: output %d differs after the round trip (max abs diff %g)", what, o,
                  ck_test_max_abs_diff(got[o], want[o]));
        ck_tensor_free(got[o]);
    }
}

static void expect_same_json(const char *what, const ck_model *a, const ck_model *b)
{
    char *ja = NULL, *jb = NULL;
    cr_assert_eq(ck_model_to_json(a, &ja), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_to_json(b, &jb), CK_OK, "%s", ck_last_error());
    size_t k = 0;
    while (ja[k] && ja[k] == jb[k]) k++;
    size_t from = k > 60 ? k - 60 : 0;
    cr_expect_str_eq(jb, ja, "%s: to_json changed at byte %zu:\n  before: ...%.120s\n  after:  ...%.120s", what, k,
                     ja + from, jb + from);
    ck_free(ja);
    ck_free(jb);
}

static ck_model *reload(const char *what, const char *path)
{
    ck_model *m = NULL;
    ck_status st = ck_model_load(path, &m);
    cr_assert_eq(st, CK_OK, "%s: reloading %s: %s", what, path, ck_last_error());
    return m;
}

static void round_trip(const real_file *rf, ck_model *m)
{
    char what[512];
    snprintf(what, sizeof what, "%s/%s", rf->folder, rf->file);
    ck_tensor *in[MAX_IO] = {NULL}, *want[MAX_IO] = {NULL};
    int n_in = ck_model_input_count(m), n_out = ck_model_output_count(m);
    make_inputs(m, in);
    predict_all(m, in, want);

    /* model.save("x.h5") and model.save("x.keras") */
    const char *exts[] = {"rt.h5", "rt.keras"};
    for (int e = 0; e < 2; e++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", ck_test_tmp(exts[e]));
        cr_assert_eq(ck_model_save(m, path), CK_OK, "%s: saving %s: %s", what, path, ck_last_error());
        ck_model *r = reload(what, path);
        expect_identical(what, r, in, want);
        expect_same_json(what, m, r);
        ck_model_free(r);
        remove(path);
    }
    /* to_json + save_weights, in the tf.keras 2.x and the Keras 3 weights
     * layouts */
    char *json = NULL;
    cr_assert_eq(ck_model_to_json(m, &json), CK_OK, "%s", ck_last_error());
    const char *wexts[] = {"rt_weights.h5", "rt.weights.h5"};
    for (int e = 0; e < 2; e++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", ck_test_tmp(wexts[e]));
        cr_assert_eq(ck_model_save_weights(m, path), CK_OK, "%s: save_weights %s: %s", what, path, ck_last_error());
        ck_model *r = NULL;
        cr_assert_eq(ck_model_from_json(json, &r), CK_OK, "%s: from_json: %s", what, ck_last_error());
        cr_assert_eq(ck_model_load_weights(r, path, 0), CK_OK, "%s: load_weights %s: %s", what, path,
                     ck_last_error());
        expect_identical(what, r, in, want);
        ck_model_free(r);
        remove(path);
    }
    /* model.save("x.json") is to_json */
    char jpath[4096];
    snprintf(jpath, sizeof jpath, "%s", ck_test_tmp("rt.json"));
    cr_assert_eq(ck_model_save(m, jpath), CK_OK, "%s: %s", what, ck_last_error());
    ck_model *r = reload(what, jpath);
    expect_same_json(what, m, r);
    ck_model_free(r);
    remove(jpath);
    ck_free(json);
    for (int i = 0; i < n_in; i++) ck_tensor_free(in[i]);
    for (int o = 0; o < n_out; o++) ck_tensor_free(want[o]);
}

Test(real_save, every_loadable_file_round_trips_bit_exactly)
{
    int done = 0;
    for (int i = 0; i < N_FILES; i++) {
        const real_file *rf = &FILES[i];
        if (rf->status != CK_OK) continue;
        ck_model *m = NULL;
        int missing = 0;
        ck_status st = real_load(rf->folder, rf->file, rf->weights, &m, &missing);
        if (missing || st != CK_OK) continue; /* reported by every_file_loads_or_names_the_missing_class */
        round_trip(rf, m);
        ck_model_free(m);
        done++;
    }
    cr_log_info("round trips: %d models", done);
    cr_expect_geq(done, 40);
}

/* TF.js layers models (tests/data/tfjs/models) saved by ckeras as .h5 /
 * .keras / JSON + weights reload and predict bit-identically too. */
Test(real_save, tfjs_models_round_trip_bit_exactly)
{
    json_t *manifest = ck_test_load_json(ck_test_data("tfjs/models/manifest.json"));
    json_t *models = json_object_get(manifest, "models");
    cr_assert_geq(json_array_size(models), 6);
    for (size_t i = 0; i < json_array_size(models); i++) {
        json_t *e = json_array_get(models, i);
        char rel[1024];
        snprintf(rel, sizeof rel, "tfjs/models/%s/%s", json_string_value(json_object_get(e, "dir")),
                 json_string_value(json_object_get(e, "model_json")));
        ck_model *m = NULL;
        cr_assert_eq(ck_model_load(ck_test_data(rel), &m), CK_OK, "%s: %s", rel, ck_last_error());
        real_file rf = {"tfjs/models", rel + strlen("tfjs/models/"), NULL, CK_OK, NULL};
        round_trip(&rf, m);
        ck_model_free(m);
    }
    json_decref(manifest);
}

/* ---- the HDF5 layout against real tf.keras files -------------------------- */

/* text without the lines starting with one of `drop` (malloc'ed). */
static char *drop_lines(const char *text, const char *const *drop)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1), *o = out;
    cr_assert_not_null(out);
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p + 1) : strlen(p);
        int keep = 1;
        for (int k = 0; drop[k]; k++)
            if (strncmp(p, drop[k], strlen(drop[k])) == 0) keep = 0;
        if (keep) {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
    }
    *o = '\0';
    return out;
}

/* Compares two describe texts line by line, naming the first difference. */
static void expect_same_lines(const char *what, const char *want, const char *got)
{
    int line = 1;
    const char *a = want, *b = got;
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || strncmp(a, b, la) != 0) {
            cr_expect_fail("%s: line %d differs:\n  tf.keras: %.*s\n  ckeras:   %.*s", what, line, (int)la, a, (int)lb,
                           b);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
        line++;
    }
}

/* Loads a real tf.keras 2.x full-model file, saves it with ckeras and
 * compares the two files attribute by attribute with ck_h5_describe.  The
 * model loads compiled with its optimizer state, so training_config (its
 * text too) and optimizer_weights must come back as tf.keras wrote them.
 * The describe text omits the model_config and keras_version values; the
 * model_config text is compared separately. */
static void layout_matches(const char *folder, const char *file, int same_config_text)
{
    char buf[4096];
    const char *real = real_path(buf, folder, file);
    if (!real) cr_skip_test("../shared/testdata absent");
    ck_model *m = real_model(folder, file, NULL);
    char out[4096];
    snprintf(out, sizeof out, "%s", ck_test_tmp("layout.h5"));
    cr_assert_eq(ck_model_save(m, out), CK_OK, "%s", ck_last_error());
    char *a = NULL, *b = NULL;
    cr_assert_eq(ck_h5_describe(real, &a), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_h5_describe(out, &b), CK_OK, "%s", ck_last_error());
    static const char *const drop[] = {NULL};
    cr_expect(strstr(a, "attr /@training_config") != NULL && strstr(a, "group /optimizer_weights") != NULL,
              "%s/%s was expected to be a compiled model", folder, file);
    char *want = drop_lines(a, drop);
    expect_same_lines(file, want, b);
    cr_expect(strstr(b, "attr /@keras_version string vlen nullterm utf8 scalar") != NULL, "%s", b);
    cr_expect(strstr(b, "attr /@model_config string vlen nullterm ascii scalar") != NULL, "%s", b);

    char *ca = NULL, *cb = NULL;
    cr_assert_eq(ck_h5_read_model_config(real, &ca), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_h5_read_model_config(out, &cb), CK_OK, "%s", ck_last_error());
    if (same_config_text) {
        cr_expect_str_eq(cb, ca, "%s: model_config text differs", file);
    } else {
        json_error_t err;
        json_t *ja = json_loads(ca, 0, &err), *jb = json_loads(cb, 0, &err);
        cr_assert(ja && jb);
        /* tf.keras 2.13 adds the model's "trainable" and the new-form
         * "module" / "registered_name" keys of nested initializers; ckeras
         * writes the TF2.4-2.12 form (keras-spec.md 6.1).  Same otherwise. */
        json_t *cfg = json_object_get(ja, "config");
        json_object_del(cfg, "trainable");
        json_t *layers = json_object_get(cfg, "layers");
        for (size_t i = 0; i < json_array_size(layers); i++) {
            json_t *lc = json_object_get(json_array_get(layers, i), "config");
            const char *key;
            json_t *v;
            json_object_foreach(lc, key, v) {
                if (!json_is_object(v)) continue;
                json_object_del(v, "module");
                json_object_del(v, "registered_name");
            }
        }
        cr_expect(json_equal(ja, jb), "%s: model_config differs:\n%s\n%s", file, ca, cb);
        json_decref(ja);
        json_decref(jb);
    }
    ck_free(ca);
    ck_free(cb);
    free(want);
    ck_free(a);
    ck_free(b);
    ck_model_free(m);
    remove(out);
}

Test(real_save, h5_layout_matches_tf_keras_2_11)
{
    layout_matches("two-tower-concat-keras2_11", "two_tower_model.h5", 1);
}

Test(real_save, h5_layout_matches_tf_keras_2_13)
{
    layout_matches("recsys-dot-keras2_13", "recommender_model.h5", 0);
}

/* ---- minimal reproductions of what the real files showed ------------------ */

/* Keras 1.x-2.2 write a Sequential config as the bare layer list
 * ({"class_name": "Sequential", "config": [...]}), as in every full-model
 * file of dl4j-legacy-formats. */
Test(real_minimal, sequential_config_as_a_bare_list)
{
    const char *json = "{\"class_name\": \"Sequential\", \"config\": [{\"class_name\": \"Dense\", \"config\": "
                       "{\"name\": \"d\", \"units\": 2, \"batch_input_shape\": [null, 3]}}]}";
    ck_model *m = NULL;
    ck_status st = ck_model_from_json(json, &m);
    cr_expect_eq(st, CK_OK, "%s: %s", ck_status_name(st), ck_last_error());
    if (m) cr_expect_eq(ck_model_layer_count(m), 2);
    ck_model_free(m);
}

/* The bare list of a class ckeras lacks names that class. */
Test(real_minimal, bare_list_with_a_missing_class_names_it)
{
    const char *json = "{\"class_name\": \"Sequential\", \"config\": [{\"class_name\": \"LocallyConnected1D\", "
                       "\"config\": {\"name\": \"c\", \"filters\": 2, \"kernel_size\": [3], \"batch_input_shape\": "
                       "[null, 8, 1]}}]}";
    ck_model *m = NULL;
    cr_expect_eq(ck_model_from_json(json, &m), CK_NOT_IMPLEMENTED, "%s", ck_last_error());
    cr_expect(strstr(ck_last_error(), "LocallyConnected1D") != NULL, "%s", ck_last_error());
    ck_model_free(m);
}

/* Keras 1 layer configs carry input_dtype next to batch_input_shape
 * (dense_tensorflow_1.h5: Dense with output_dim, init, bias, input_dtype). */
Test(real_minimal, keras1_dense_config_with_input_dtype)
{
    const char *json = "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"trainable\": true, "
                       "\"batch_input_shape\": [null, 4], \"input_dtype\": \"float32\", \"output_dim\": 6, "
                       "\"init\": \"glorot_uniform\", \"activation\": \"linear\", \"W_regularizer\": null, "
                       "\"b_regularizer\": null, \"activity_regularizer\": null, \"W_constraint\": null, "
                       "\"b_constraint\": null, \"bias\": true, \"input_dim\": 4}}";
    ck_layer *l = NULL;
    ck_status st = ck_layer_from_config(json, &l);
    cr_expect_eq(st, CK_OK, "%s: %s", ck_status_name(st), ck_last_error());
    ck_layer_free(l);
}

/* tf.keras names a Sequential's implicit input "<first layer>_input"
 * (Sequential.add), and keeps the name of an explicit InputLayer entry;
 * with an automatic name, a model saved and reloaded in one process gets
 * another input name ("input_1", then "input_2"), so to_json changes. */
Test(real_minimal, sequential_input_names)
{
    ck_clear_session();
    const char *implicit = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": "
                           "[{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2, "
                           "\"batch_input_shape\": [null, 3]}}]}}";
    const char *explicit = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": "
                           "[{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 3], "
                           "\"dtype\": \"float32\", \"sparse\": false, \"ragged\": false, \"name\": \"my_in\"}}, "
                           "{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": 2}}]}}";
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(implicit, &m), CK_OK, "%s", ck_last_error());
    const char *got = ck_layer_name(ck_tensor_layer(ck_model_input(m, 0)));
    cr_expect_str_eq(got, "d_input", "implicit input named \"%s\"", got);
    ck_model_free(m);
    cr_assert_eq(ck_model_from_json(explicit, &m), CK_OK, "%s", ck_last_error());
    got = ck_layer_name(ck_tensor_layer(ck_model_input(m, 0)));
    cr_expect_str_eq(got, "my_in", "explicit InputLayer renamed \"%s\"", got);
    ck_model_free(m);

    ck_layer *d = NULL;
    cr_assert_eq(ck_dense(&d, &(ck_dense_opts){.units = 2, .name = "d"}), CK_OK);
    ck_shape in = CK_TEST_SHAPE(3);
    cr_assert_eq(ck_sequential(&m, 1, &d, &in, "s"), CK_OK, "%s", ck_last_error());
    got = ck_layer_name(ck_tensor_layer(ck_model_input(m, 0)));
    cr_expect_str_eq(got, "d_input", "ck_sequential input named \"%s\"", got);
    ck_model_free(m);
    ck_layer_free(d);
}
