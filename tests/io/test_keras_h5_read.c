/* Reading legacy Keras HDF5 files: every real file of shared/testdata/keras
 * against golden facts read with h5py (tools/gen_h5_facts.py -> tests/data/
 * h5/facts.json), the dialect fixtures, broken and truncated files.
 * Writing: test_keras_h5_write.c. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/json_check.h"
#include "io/keras_h5.h"
#include "support/h5_oracle.h"
#include "support/support.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static json_t *load_facts(void)
{
    json_error_t e;
    json_t *j = json_load_file(ck_test_data("h5/facts.json"), 0, &e);
    cr_assert_not_null(j, "facts.json: %s (line %d)", e.text, e.line);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jbool(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) != 0);
}

static void expect_str_or_null(const char *got, const char *want, const char *what)
{
    if (!want) cr_expect_null(got, "%s: expected none, got '%s'", what, got ? got : "");
    else cr_expect(got && strcmp(got, want) == 0, "%s: got '%s', expected '%s'", what,
                   got ? got : "(null)", want);
}

static void expect_elem(const ck_tensor *t, int64_t i, json_t *v, const char *what)
{
    if (t->dtype == CK_INT64)
        cr_expect_eq(((const int64_t *)t->data)[i], (int64_t)json_integer_value(v),
                     "%s[%lld]", what, (long long)i);
    else if (t->dtype == CK_INT32)
        cr_expect_eq(((const int32_t *)t->data)[i], (int32_t)json_integer_value(v),
                     "%s[%lld]", what, (long long)i);
    else
        cr_expect_eq(ck_tensor_get(t, i), json_number_value(v), "%s[%lld]: %.17g vs %.17g", what,
                     (long long)i, ck_tensor_get(t, i), json_number_value(v));
}

/* dtype, shape, first values, last value and sum against h5py's facts. */
static void expect_values(const ck_tensor *t, json_t *vf, const char *what)
{
    cr_assert_not_null(t, "%s: no tensor", what);
    cr_expect_str_eq(ck_dtype_name(t->dtype), jstr(vf, "dtype"), "%s: dtype", what);
    json_t *shape = json_object_get(vf, "shape");
    cr_assert_eq((size_t)t->rank, json_array_size(shape), "%s: rank %d", what, t->rank);
    for (int i = 0; i < t->rank; i++)
        cr_expect_eq(t->shape[i], json_integer_value(json_array_get(shape, (size_t)i)),
                     "%s: dim %d", what, i);
    json_t *head = json_object_get(vf, "head");
    for (size_t i = 0; i < json_array_size(head); i++) expect_elem(t, (int64_t)i, json_array_get(head, i), what);
    json_t *tail = json_object_get(vf, "tail");
    if (tail) expect_elem(t, t->size - 1, tail, what);
    double sum = 0, want = json_number_value(json_object_get(vf, "sum"));
    for (int64_t i = 0; i < t->size; i++) sum += ck_tensor_get(t, i);
    cr_expect(fabs(sum - want) <= 1e-6 * (1 + fabs(want)), "%s: sum %.17g vs %.17g", what, sum,
              want);
}

static void expect_layer(const ck_h5_layer *l, json_t *lf, const char *file)
{
    char what[512];
    json_t *ws = json_object_get(lf, "weights");
    cr_assert_eq(l->n_weights, json_array_size(ws), "%s: layer %s has %zu weights", file, l->name,
                 l->n_weights);
    for (size_t k = 0; k < l->n_weights; k++) {
        json_t *wf = json_array_get(ws, k);
        cr_expect_str_eq(l->weights[k].name, jstr(wf, "name"), "%s: layer %s weight %zu", file,
                         l->name, k);
        snprintf(what, sizeof what, "%s: %s/%s", file, l->name, l->weights[k].name);
        expect_values(l->weights[k].value, wf, what);
    }
}

/* Everything facts.json knows about a legacy file. */
static void expect_legacy(const ck_keras_h5 *f, json_t *ff, const char *file)
{
    cr_expect_eq(f->is_model, (int)json_integer_value(json_object_get(ff, "is_model")), "%s: is_model", file);
    const char *dialect = jstr(ff, "dialect");
    cr_expect_eq(f->dialect, strcmp(dialect, "h5py3") == 0 ? CK_H5_DIALECT_H5PY3 : CK_H5_DIALECT_H5PY2,
                 "%s: dialect", file);
    expect_str_or_null(f->keras_version, jstr(ff, "keras_version"), file);
    expect_str_or_null(f->backend, jstr(ff, "backend"), file);
    json_t *mcb = json_object_get(ff, "model_config_bytes");
    if (json_is_null(mcb)) {
        cr_expect_null(f->model_config, "%s: model_config", file);
    } else {
        cr_assert_not_null(f->model_config, "%s: model_config missing", file);
        cr_expect_eq(strlen(f->model_config), (size_t)json_integer_value(mcb), "%s: model_config length", file);
        json_t *cfg = json_loads(f->model_config, 0, NULL);
        cr_assert_not_null(cfg, "%s: model_config does not parse", file);
        cr_expect_str_eq(jstr(cfg, "class_name"), jstr(ff, "model_config_class"), "%s: class", file);
        json_decref(cfg);
    }
    cr_expect_eq(f->training_config != NULL, jbool(ff, "has_training_config"), "%s: training_config", file);
    cr_expect_eq(f->has_optimizer_weights, jbool(ff, "has_optimizer_weights"), "%s: optimizer", file);
    cr_expect_eq(f->has_top_level, jbool(ff, "has_top_level"), "%s: top level", file);
    json_t *layers = json_object_get(ff, "layers");
    cr_assert_eq(f->n_layers, json_array_size(layers), "%s: %zu layers", file, f->n_layers);
    for (size_t i = 0; i < f->n_layers; i++) {
        json_t *lf = json_array_get(layers, i);
        cr_expect_str_eq(f->layers[i].name, jstr(lf, "name"), "%s: layer %zu", file, i);
        expect_layer(&f->layers[i], lf, file);
    }
    json_t *top = json_object_get(ff, "top_level");
    if (top) {
        json_t *wrap = json_pack("{s:O}", "weights", top);
        expect_layer(&f->top_level, wrap, file);
        json_decref(wrap);
    }
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void copy_prefix(const char *src, const char *dst, long n)
{
    FILE *in = fopen(src, "rb");
    FILE *out = fopen(dst, "wb");
    cr_assert(in && out, "cannot copy %s to %s", src, dst);
    char buf[65536];
    long left = n;
    while (left > 0) {
        size_t r = fread(buf, 1, left < (long)sizeof buf ? (size_t)left : sizeof buf, in);
        if (r == 0) break;
        fwrite(buf, 1, r, out);
        left -= (long)r;
    }
    fclose(in);
    fclose(out);
}

/* ------------------------------------------------------------------------ */
/* real files                                                                */
/* ------------------------------------------------------------------------ */

Test(keras_h5_shared, every_real_file_matches_h5py_facts)
{
    if (!ck_test_shared_keras("dl4j-tfkeras-dense/mlp_0.h5")) cr_skip_test("shared testdata absent");
    json_t *facts = load_facts();
    json_t *shared = json_object_get(facts, "shared");
    int legacy = 0, other = 0;
    for (size_t i = 0; i < json_array_size(shared); i++) {
        json_t *ff = json_array_get(shared, i);
        const char *kind = jstr(ff, "kind");
        if (strcmp(kind, "archive") == 0) continue;
        const char *path = ck_test_shared_keras(jstr(ff, "path"));
        cr_assert_not_null(path, "%s missing from shared", jstr(ff, "path"));
        ck_keras_h5 *f = NULL;
        ck_status st = ck_h5_read(path, &f);
        if (strcmp(kind, "not_keras") == 0) {
            cr_expect_eq(st, CK_FORMAT_ERROR, "%s: %s", path, ck_status_name(st));
            cr_expect(strstr(ck_last_error(), path) && strstr(ck_last_error(), "not a Keras"),
                      "%s", ck_last_error());
            cr_expect_null(f);
            other++;
            continue;
        }
        cr_assert_eq(st, CK_OK, "%s: %s", path, ck_last_error());
        expect_legacy(f, ff, jstr(ff, "path"));
        ck_keras_h5_free(f);
        legacy++;
    }
    cr_expect_geq(legacy, 55, "only %d legacy files checked", legacy);
    cr_expect_eq(other, 9, "%d data files", other);
    json_decref(facts);
}

/* Facts from the PROVENANCE.md files, asserted on their own. */
Test(keras_h5_shared, keras1_and_theano_analytic_weights)
{
    const char *files[] = {"dl4j-legacy-formats/dense_tensorflow_1.h5", "dl4j-legacy-formats/dense_theano_1.h5",
                           "dl4j-legacy-formats/dense_tensorflow_2.h5", "dl4j-legacy-formats/dense_theano_2.h5"};
    const char *kernel[] = {"dense_1_W:0", "dense_1_W", "dense_1/kernel:0", "dense_1/kernel"};
    const char *bias[] = {"dense_1_b:0", "dense_1_b", "dense_1/bias:0", "dense_1/bias"};
    const char *version[] = {"1.2.2", "1.2.2", "2.1.3", "2.1.3"};
    const char *backend[] = {NULL, NULL, "tensorflow", "theano"};
    for (int k = 0; k < 4; k++) {
        const char *path = ck_test_shared_keras(files[k]);
        if (!path) cr_skip_test("shared testdata absent");
        ck_keras_h5 *f = NULL;
        cr_assert_eq(ck_h5_read(path, &f), CK_OK, "%s", ck_last_error());
        cr_assert_eq(f->n_layers, 1);
        const ck_h5_layer *l = ck_keras_h5_find_layer(f, "dense_1");
        cr_assert_not_null(l);
        cr_assert_eq(l->n_weights, 2);
        cr_expect_str_eq(l->weights[0].name, kernel[k]);
        cr_expect_str_eq(l->weights[1].name, bias[k]);
        expect_str_or_null(f->keras_version, version[k], files[k]);
        expect_str_or_null(f->backend, backend[k], files[k]);
        /* kernel = arange(24).reshape(4, 6), bias = arange(6) */
        const ck_tensor *w = l->weights[0].value, *b = l->weights[1].value;
        cr_assert(w->rank == 2 && w->shape[0] == 4 && w->shape[1] == 6 && w->dtype == CK_FLOAT32);
        for (int i = 0; i < 24; i++) cr_expect_eq(((float *)w->data)[i], (float)i);
        cr_assert(b->rank == 1 && b->shape[0] == 6);
        for (int i = 0; i < 6; i++) cr_expect_eq(((float *)b->data)[i], (float)i);
        cr_expect(f->is_model && f->model_config && f->training_config);
        ck_keras_h5_free(f);
    }
}

Test(keras_h5_shared, tf_variable_scopes_and_nested_model)
{
    const char *scope = ck_test_shared_keras("dl4j-legacy-formats/tfscope_model.h5");
    const char *siamese = ck_test_shared_keras("siamese-cosine-dot-keras2_4/testmodel.hdf5");
    if (!scope || !siamese) cr_skip_test("shared testdata absent");
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(scope, &f), CK_OK, "%s", ck_last_error());
    cr_assert_eq(f->n_layers, 3);
    cr_expect_str_eq(f->layers[0].name, "input_1");
    cr_expect_eq(f->layers[0].n_weights, 0);
    cr_expect_str_eq(f->layers[1].weights[0].name, "global/shared/dense_1_W:0");
    cr_expect_eq(f->layers[1].weights[0].value->shape[0], 70);
    cr_expect_eq(f->layers[1].weights[0].value->shape[1], 256);
    cr_expect_str_eq(f->layers[2].weights[1].name, "global/policy_net/dense_2_b:0");
    cr_expect_eq(f->layers[2].weights[1].value->shape[0], 2);
    ck_keras_h5_free(f);

    cr_assert_eq(ck_h5_read(siamese, &f), CK_OK, "%s", ck_last_error());
    const char *names[] = {"input_a", "input_b", "base", "cosine_similarity"};
    cr_assert_eq(f->n_layers, 4);
    for (int i = 0; i < 4; i++) cr_expect_str_eq(f->layers[i].name, names[i]);
    const ck_h5_layer *base = &f->layers[2];
    cr_assert_eq(base->n_weights, 20);
    /* weight_names order (trainable first, then the BatchNorm moving stats),
     * not alphabetical */
    cr_expect_str_eq(base->weights[0].name, "dense1/kernel:0");
    cr_expect_str_eq(base->weights[1].name, "dense1/bias:0");
    cr_expect_str_eq(base->weights[2].name, "normalization1/gamma:0");
    cr_expect_str_eq(base->weights[14].name, "normalization1/moving_mean:0");
    cr_expect_eq(base->weights[0].value->shape[0], 339);
    cr_expect_eq(base->weights[0].value->shape[1], 200);
    cr_expect(f->has_optimizer_weights && !f->has_top_level);
    ck_keras_h5_free(f);
}

Test(keras_h5_shared, keras3_h5_and_top_level_weights)
{
    const char *wide = ck_test_shared_keras("keras3-wide-deep/my_model.h5");
    const char *recsys = ck_test_shared_keras("recsys-dot-keras3/recommender_model.h5");
    const char *tower = ck_test_shared_keras("two-tower-concat-keras2_11/two_tower_model.h5");
    if (!wide || !recsys || !tower) cr_skip_test("shared testdata absent");
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(wide, &f), CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(f->keras_version, "3.6.0");
    const ck_h5_layer *n = ck_keras_h5_find_layer(f, "normalization_4");
    cr_assert(n && n->n_weights == 3);
    cr_expect_str_eq(n->weights[2].name, "normalization_4/count");
    cr_expect_eq(n->weights[2].value->rank, 0);
    cr_expect_eq(n->weights[2].value->dtype, CK_INT64);
    cr_expect(f->has_top_level && f->top_level.n_weights == 0);
    cr_expect_eq(f->dialect, CK_H5_DIALECT_H5PY3);
    ck_keras_h5_free(f);

    cr_assert_eq(ck_h5_read(recsys, &f), CK_OK, "%s", ck_last_error());
    const ck_h5_layer *e = ck_keras_h5_find_layer(f, "Embedded_Movies");
    cr_assert(e && e->n_weights == 1);
    cr_expect_str_eq(e->weights[0].name, "Embedded_Movies/embeddings");
    cr_expect_eq(e->weights[0].value->shape[0], 9067);
    cr_expect_eq(e->weights[0].value->shape[1], 5);
    ck_keras_h5_free(f);

    cr_assert_eq(ck_h5_read(tower, &f), CK_OK, "%s", ck_last_error());
    cr_expect_eq(f->n_layers, 8);
    cr_expect_str_eq(f->layers[6].name, "concatenate_15");
    cr_expect(f->has_top_level && f->top_level.n_weights == 0);
    ck_keras_h5_free(f);
}

Test(keras_h5_shared, full_model_and_weights_only_saves_agree)
{
    /* PROVENANCE: keras_3layer.h5 (2.3.1 save) holds the same arrays as
     * KERAS_3layer_weights.h5 (2.0.0 save_weights). */
    const char *a = ck_test_shared_keras("hls4ml-mlp/keras_3layer.h5");
    const char *b = ck_test_shared_keras("hls4ml-mlp/KERAS_3layer_weights.h5");
    if (!a || !b) cr_skip_test("shared testdata absent");
    ck_keras_h5 *fa = NULL, *fb = NULL;
    cr_assert_eq(ck_h5_read(a, &fa), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_h5_read(b, &fb), CK_OK, "%s", ck_last_error());
    cr_expect(fa->is_model && !fb->is_model);
    cr_expect_null(fb->model_config);
    cr_assert_eq(fa->n_layers, fb->n_layers);
    for (size_t i = 0; i < fa->n_layers; i++) {
        cr_expect_str_eq(fa->layers[i].name, fb->layers[i].name);
        cr_assert_eq(fa->layers[i].n_weights, fb->layers[i].n_weights);
        for (size_t k = 0; k < fa->layers[i].n_weights; k++)
            cr_expect_eq(ck_test_max_abs_diff(fa->layers[i].weights[k].value, fb->layers[i].weights[k].value), 0.0);
    }
    ck_keras_h5_free(fa);
    ck_keras_h5_free(fb);
}

Test(keras_h5_shared, read_model_config_only)
{
    const char *mlp = ck_test_shared_keras("dl4j-tfkeras-dense/mlp_0.h5");
    const char *w = ck_test_shared_keras("hls4ml-mlp/KERAS_1layer_weights.h5");
    if (!mlp || !w) cr_skip_test("shared testdata absent");
    char *json = NULL;
    cr_assert_eq(ck_h5_read_model_config(mlp, &json), CK_OK, "%s", ck_last_error());
    cr_expect(strncmp(json, "{\"class_name\": \"Model\"", 22) == 0, "%s", json);
    ck_free(json);
    json = (char *)0x1;
    cr_expect_eq(ck_h5_read_model_config(w, &json), CK_FORMAT_ERROR);
    cr_expect(strstr(ck_last_error(), "no model_config"), "%s", ck_last_error());
    cr_expect_eq(json, (char *)0x1, "output untouched on error");
}

/* ------------------------------------------------------------------------ */
/* fixtures                                                                  */
/* ------------------------------------------------------------------------ */

Test(keras_h5_fixtures, dialects_and_dtypes)
{
    json_t *facts = load_facts();
    json_t *fx = json_object_get(facts, "fixtures");
    int n = 0;
    for (size_t i = 0; i < json_array_size(fx); i++) {
        json_t *ff = json_array_get(fx, i);
        if (strcmp(jstr(ff, "kind"), "legacy") != 0) continue;
        char rel[256];
        snprintf(rel, sizeof rel, "h5/%s", jstr(ff, "path"));
        ck_keras_h5 *f = NULL;
        cr_assert_eq(ck_h5_read(ck_test_fixture(rel), &f), CK_OK, "%s: %s", rel, ck_last_error());
        expect_legacy(f, ff, rel);
        ck_keras_h5_free(f);
        n++;
    }
    cr_expect_eq(n, 5);
    json_decref(facts);
}

Test(keras_h5_fixtures, conversions_in_detail)
{
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(ck_test_fixture("h5/dtypes.h5"), &f), CK_OK, "%s", ck_last_error());
    const ck_h5_layer *l = ck_keras_h5_find_layer(f, "d");
    cr_assert_not_null(l);
    const ck_tensor *u64 = NULL, *b = NULL, *i64 = NULL, *f16 = NULL;
    for (size_t k = 0; k < l->n_weights; k++) {
        if (!strcmp(l->weights[k].name, "u64")) u64 = l->weights[k].value;
        if (!strcmp(l->weights[k].name, "b")) b = l->weights[k].value;
        if (!strcmp(l->weights[k].name, "i64")) i64 = l->weights[k].value;
        if (!strcmp(l->weights[k].name, "f16")) f16 = l->weights[k].value;
    }
    cr_assert(u64 && b && i64 && f16);
    cr_expect_eq(((int64_t *)u64->data)[0], INT64_MAX, "uint64 saturates");
    cr_expect_eq(b->dtype, CK_INT32);
    cr_expect_eq(((int32_t *)b->data)[1], 0);
    cr_expect_eq(i64->rank, 0);
    cr_expect_eq(i64->size, 1);
    cr_expect_eq(((int64_t *)i64->data)[0], 1234567890123LL);
    cr_expect_eq(((float *)f16->data)[3], 65504.0f);
    ck_keras_h5_free(f);
}

Test(keras_h5_fixtures, broken_files_are_format_errors)
{
    json_t *facts = load_facts();
    json_t *fx = json_object_get(facts, "fixtures");
    int n = 0;
    for (size_t i = 0; i < json_array_size(fx); i++) {
        json_t *ff = json_array_get(fx, i);
        if (strcmp(jstr(ff, "kind"), "bad") != 0 || strcmp(jstr(ff, "reader"), "h5") != 0) continue;
        char rel[256];
        snprintf(rel, sizeof rel, "h5/%s", jstr(ff, "path"));
        const char *path = ck_test_fixture(rel);
        ck_keras_h5 *f = (ck_keras_h5 *)0x1;
        ck_status st = ck_h5_read(path, &f);
        cr_expect_str_eq(ck_status_name(st), jstr(ff, "status"), "%s: %s", rel, ck_last_error());
        cr_expect(strstr(ck_last_error(), path) != NULL, "message names the file: %s", ck_last_error());
        cr_expect(strstr(ck_last_error(), jstr(ff, "fragment")) != NULL, "%s: '%s' not in: %s", rel,
                  jstr(ff, "fragment"), ck_last_error());
        cr_expect_eq(f, (ck_keras_h5 *)0x1, "output untouched on error");
        n++;
    }
    cr_expect_geq(n, 15);
    json_decref(facts);
}

Test(keras_h5_fixtures, missing_file_and_directory_are_io_errors)
{
    ck_keras_h5 *f = NULL;
    cr_expect_eq(ck_h5_read(ck_test_tmp("no_such_file.h5"), &f), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), "no_such_file.h5"), "%s", ck_last_error());
    cr_expect_eq(ck_h5_read(ck_test_data("h5"), &f), CK_IO_ERROR, "%s", ck_last_error());
    char *t = NULL;
    cr_expect_eq(ck_h5_describe(ck_test_tmp("no_such_file.h5"), &t), CK_IO_ERROR);
    cr_expect_eq(ck_h5_read(NULL, &f), CK_VALUE_ERROR);
}

static void truncations(const char *src, const char *label)
{
    long size = file_size(src);
    cr_assert_gt(size, 0, "%s", src);
    long cuts[] = {0, 1, 7, 8, 100, 512, 1024, 2048, 4096, size / 4, size / 2, (size * 3) / 4, size - 100, size - 1};
    const char *tmp = ck_test_tmp(label);
    char path[1024];
    snprintf(path, sizeof path, "%s", tmp);
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] < 0 || cuts[i] >= size) continue;
        copy_prefix(src, path, cuts[i]);
        ck_keras_h5 *f = NULL;
        ck_status st = ck_h5_read(path, &f);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s cut at %ld of %ld: %s %s", label, cuts[i], size,
                     ck_status_name(st), ck_last_error());
        cr_expect(strstr(ck_last_error(), path) != NULL, "%s", ck_last_error());
        if (st == CK_OK) ck_keras_h5_free(f);
        char *t = NULL;
        st = ck_h5_describe(path, &t);
        cr_expect_eq(st, CK_FORMAT_ERROR, "describe %s cut at %ld: %s", label, cuts[i], ck_last_error());
        if (st == CK_OK) ck_free(t);
    }
    remove(path);
}

Test(keras_h5_fixtures, truncated_copies_are_format_errors)
{
    truncations(ck_test_fixture("h5/dialects_fixed.h5"), "trunc_fixed.h5");
    truncations(ck_test_fixture("h5/dtypes.h5"), "trunc_dtypes.h5");
    const char *mlp = ck_test_shared_keras("dl4j-tfkeras-dense/mlp_0.h5");
    const char *tower = ck_test_shared_keras("two-tower-concat-keras2_11/two_tower_model.h5");
    const char *wide = ck_test_shared_keras("keras3-wide-deep/my_model.h5");
    if (mlp) truncations(mlp, "trunc_mlp0.h5");
    if (tower) truncations(tower, "trunc_tower.h5");
    if (wide) truncations(wide, "trunc_wide.h5");
}

/* libhdf5 refuses a plain truncated copy at open (its superblock records the
 * end of file).  With that record patched to the cut length the file opens
 * and the damage is met later, inside the readers' own error paths. */
static void patched_truncations(const char *src, const char *label, long step)
{
    long size = file_size(src);
    FILE *in = fopen(src, "rb");
    unsigned char *buf = malloc((size_t)size);
    cr_assert(in && buf && fread(buf, 1, (size_t)size, in) == (size_t)size);
    fclose(in);
    char path[1024];
    snprintf(path, sizeof path, "%s", ck_test_tmp(label));
    int n = 0;
    for (long cut = 96; cut < size; cut += step) {
        /* superblock v0: the end-of-file address is the 8 bytes at 40 */
        uint64_t eof = (uint64_t)cut;
        unsigned char saved[8];
        memcpy(saved, buf + 40, 8);
        memcpy(buf + 40, &eof, 8);
        FILE *out = fopen(path, "wb");
        fwrite(buf, 1, (size_t)cut, out);
        fclose(out);
        memcpy(buf + 40, saved, 8);
        ck_keras_h5 *f = NULL;
        ck_status st = ck_h5_read(path, &f);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s cut at %ld with patched EOF: %s %s", label, cut,
                     ck_status_name(st), ck_last_error());
        if (st == CK_OK) ck_keras_h5_free(f);
        char *t = NULL;
        st = ck_h5_describe(path, &t);
        cr_expect_eq(st, CK_FORMAT_ERROR, "describe %s cut at %ld: %s", label, cut, ck_last_error());
        if (st == CK_OK) ck_free(t);
        n++;
    }
    cr_expect_gt(n, 10);
    free(buf);
    remove(path);
}

Test(keras_h5_fixtures, truncated_with_patched_eof_are_format_errors)
{
#if defined(__SANITIZE_ADDRESS__)
    /* libhdf5 1.10 itself leaks when H5Fopen/H5Oopen fail on a damaged
     * object header (reproduced with a bare H5Oopen), which LeakSanitizer
     * reports; the plain build runs this test. */
    cr_skip_test("libhdf5 leaks on damaged object headers under LeakSanitizer");
#endif
    patched_truncations(ck_test_fixture("h5/dialects_fixed.h5"), "ptrunc_fixed.h5", 53);
    patched_truncations(ck_test_fixture("h5/dtypes.h5"), "ptrunc_dtypes.h5", 53);
    patched_truncations(ck_test_fixture("h5/scalar_names.h5"), "ptrunc_scalar.h5", 41);
    const char *mlp = ck_test_shared_keras("dl4j-tfkeras-dense/mlp_0.h5");
    if (mlp) patched_truncations(mlp, "ptrunc_mlp0.h5", 47);
}

