/* Writing legacy Keras HDF5 files: the attribute-by-attribute layout of
 * written files against real tf.keras files (ck_h5_describe), write-read
 * round trips, chunked name lists, bad structs, and reading and writing
 * under failing allocations.  Reading: test_keras_h5_read.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_check.h"
#include "io/keras_h5.h"
#include "support/h5_oracle.h"
#include "support/support.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

static void expect_str_or_null(const char *got, const char *want, const char *what)
{
    if (!want) cr_expect_null(got, "%s: expected none, got '%s'", what, got ? got : "");
    else cr_expect(got && strcmp(got, want) == 0, "%s: got '%s', expected '%s'", what,
                   got ? got : "(null)", want);
}

/* Number of entries of directory `dir` whose name starts with `prefix`. */
static int count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
    closedir(d);
    return n;
}

/* Removes the lines that start with any of `drop` (NULL-terminated list). */
static char *filter_lines(const char *text, const char *const *drop)
{
    char *out = malloc(strlen(text) + 1);
    size_t o = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        int keep = 1;
        for (const char *const *d = drop; *d; d++)
            if (strncmp(p, *d, strlen(*d)) == 0) keep = 0;
        if (keep) {
            memcpy(out + o, p, len);
            o += len;
        }
        p += len;
    }
    out[o] = '\0';
    return out;
}

static char *describe(const char *path)
{
    char *t = NULL;
    ck_status st = ck_h5_describe(path, &t);
    cr_assert_eq(st, CK_OK, "describe %s: %s", path, ck_last_error());
    return t;
}

/* ------------------------------------------------------------------------ */
/* writing                                                                   */
/* ------------------------------------------------------------------------ */

static ck_tensor *tensor_f32(int rank, const int64_t *shape, float start)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, rank, shape), CK_OK);
    for (int64_t i = 0; i < t->size; i++) ((float *)t->data)[i] = start + 0.5f * (float)i;
    return t;
}

/* A 4-layer model in the shape of dl4j-tfkeras-dense/mlp_0.h5. */
typedef struct mlp0 {
    ck_h5_layer layers[4];
    ck_h5_weight dense_w[2];
    ck_keras_h5 f;
} mlp0;

static void make_mlp0(mlp0 *m)
{
    memset(m, 0, sizeof *m);
    int64_t ks[] = {3, 6}, bs[] = {6};
    m->dense_w[0] = (ck_h5_weight){"dense/kernel:0", tensor_f32(2, ks, -1.0f)};
    m->dense_w[1] = (ck_h5_weight){"dense/bias:0", tensor_f32(1, bs, 0.25f)};
    m->layers[0] = (ck_h5_layer){"input_1", 0, NULL};
    m->layers[1] = (ck_h5_layer){"dense", 2, m->dense_w};
    m->layers[2] = (ck_h5_layer){"activation", 0, NULL};
    m->layers[3] = (ck_h5_layer){"dropout", 0, NULL};
    m->f.model_config = "{\"class_name\": \"Model\", \"config\": {\"name\": \"model\", \"layers\": []}}";
    m->f.keras_version = "2.2.4-tf";
    m->f.backend = "tensorflow";
    m->f.is_model = 1;
    m->f.n_layers = 4;
    m->f.layers = m->layers;
}

static void free_mlp0(mlp0 *m)
{
    ck_tensor_free(m->dense_w[0].value);
    ck_tensor_free(m->dense_w[1].value);
}

Test(keras_h5_write, layout_matches_real_tfkeras_2_2_file)
{
    const char *real = ck_test_shared_keras("dl4j-tfkeras-dense/mlp_0.h5");
    if (!real) cr_skip_test("shared testdata absent");
    mlp0 m;
    make_mlp0(&m);
    const char *out = ck_test_tmp("mlp0_written.h5");
    cr_assert_eq(ck_h5_write(out, &m.f), CK_OK, "%s", ck_last_error());
    char *want = describe(real), *got = describe(out);
    cr_expect_str_eq(got, want);
    ck_free(want);
    ck_free(got);
    remove(out);
    free_mlp0(&m);
}

Test(keras_h5_write, layout_matches_real_tfkeras_2_13_file)
{
    const char *real = ck_test_shared_keras("recsys-dot-keras2_13/recommender_model.h5");
    if (!real) cr_skip_test("shared testdata absent");
    int64_t e0[] = {1281, 30}, e1[] = {71, 30};
    ck_h5_weight w0 = {"embedding/embeddings:0", tensor_f32(2, e0, 0)};
    ck_h5_weight w1 = {"embedding_1/embeddings:0", tensor_f32(2, e1, 0)};
    ck_h5_layer layers[] = {{"input_1", 0, NULL}, {"input_2", 0, NULL}, {"embedding", 1, &w0},
                            {"embedding_1", 1, &w1}, {"flatten", 0, NULL}, {"flatten_1", 0, NULL},
                            {"dot", 0, NULL}};
    ck_keras_h5 f = {0};
    f.model_config = "{\"class_name\": \"Functional\", \"config\": {}}";
    f.keras_version = "2.13.1";
    f.is_model = 1;
    f.dialect = CK_H5_DIALECT_H5PY3;
    f.has_top_level = 1;
    f.n_layers = 7;
    f.layers = layers;
    const char *out = ck_test_tmp("recsys_written.h5");
    cr_assert_eq(ck_h5_write(out, &f), CK_OK, "%s", ck_last_error());
    /* The real file was also compiled: drop its optimizer state and
     * training_config, which this struct does not have. */
    const char *drop[] = {"group /optimizer_weights", "attr /optimizer_weights", "dataset /optimizer_weights",
                          "attr /@training_config", NULL};
    char *real_text = describe(real), *got = describe(out);
    char *want = filter_lines(real_text, drop);
    cr_expect(strstr(real_text, "attr /@training_config string vlen nullterm ascii scalar") != NULL);
    cr_expect_str_eq(got, want);
    free(want);
    ck_free(real_text);
    ck_free(got);
    remove(out);
    ck_tensor_free(w0.value);
    ck_tensor_free(w1.value);
}

/* read -> write -> describe gives the same listing as the original, the
 * optimizer state included, in the original's dialect. */
static void rewrite_matches(const char *real, const char *label)
{
    ck_keras_h5 *f = NULL, *g = NULL;
    cr_assert_eq(ck_h5_read(real, &f), CK_OK, "%s", ck_last_error());
    const char *out = ck_test_tmp(label);
    cr_assert_eq(ck_h5_write(out, f), CK_OK, "%s", ck_last_error());
    const char *drop[] = {"attr /@spectrum_binner", NULL};
    char *a = describe(real), *b = describe(out);
    char *want = filter_lines(a, drop);
    cr_expect_str_eq(b, want, "%s", label);
    cr_assert_eq(ck_h5_read(out, &g), CK_OK, "%s", ck_last_error());
    cr_assert_eq(g->n_layers, f->n_layers);
    for (size_t i = 0; i < f->n_layers; i++)
        for (size_t k = 0; k < f->layers[i].n_weights; k++)
            cr_expect_eq(ck_test_max_abs_diff(f->layers[i].weights[k].value, g->layers[i].weights[k].value), 0.0);
    expect_str_or_null(g->model_config, f->model_config, label);
    expect_str_or_null(g->training_config, f->training_config, label);
    free(want);
    ck_free(a);
    ck_free(b);
    ck_keras_h5_free(f);
    ck_keras_h5_free(g);
    remove(out);
}

Test(keras_h5_write, rewriting_real_files_keeps_their_layout)
{
    const char *files[] = {"dl4j-tfkeras-dense/mlp_100.h5", "two-tower-concat-keras2_11/two_tower_model.h5",
                           "siamese-cosine-dot-keras2_4/testmodel.hdf5", "dl4j-legacy-formats/flatten_3d.hdf5",
                           "keras3-wide-deep/my_model.h5", "recsys-dot-keras3/recommender_model.h5",
                           "hls4ml-mlp/KERAS_3layer_weights.h5"};
    for (int i = 0; i < 7; i++) {
        const char *p = ck_test_shared_keras(files[i]);
        if (!p) cr_skip_test("shared testdata absent");
        char label[64];
        snprintf(label, sizeof label, "rewrite_%d.h5", i);
        rewrite_matches(p, label);
    }
}

static void expect_same_file(const ck_keras_h5 *a, const ck_keras_h5 *b)
{
    cr_assert_eq(a->n_layers, b->n_layers);
    for (size_t i = 0; i < a->n_layers; i++) {
        cr_expect_str_eq(a->layers[i].name, b->layers[i].name);
        cr_assert_eq(a->layers[i].n_weights, b->layers[i].n_weights, "layer %s", a->layers[i].name);
        for (size_t k = 0; k < a->layers[i].n_weights; k++) {
            const ck_tensor *x = a->layers[i].weights[k].value, *y = b->layers[i].weights[k].value;
            cr_expect_str_eq(a->layers[i].weights[k].name, b->layers[i].weights[k].name);
            cr_expect_eq(x->dtype, y->dtype);
            cr_expect_eq(x->rank, y->rank);
            cr_expect_eq(x->size, y->size);
            if (x->size == y->size && x->dtype == y->dtype && x->size)
                cr_expect(memcmp(x->data, y->data, (size_t)x->size * ck_dtype_size(x->dtype)) == 0);
        }
    }
}

Test(keras_h5_write, round_trip_both_dialects)
{
    int64_t s2[] = {2, 3}, s0[1] = {0}, s3[] = {0, 4};
    ck_tensor *k = tensor_f32(2, s2, -3.0f), *empty = tensor_f32(2, s3, 0), *d = NULL, *i = NULL, *c = NULL;
    cr_assert_eq(ck_tensor_new(&d, CK_FLOAT64, 1, (int64_t[]){3}), CK_OK);
    ((double *)d->data)[0] = 0.1;
    ((double *)d->data)[2] = -1e300;
    cr_assert_eq(ck_tensor_new(&i, CK_INT32, 1, (int64_t[]){2}), CK_OK);
    ((int32_t *)i->data)[1] = -7;
    cr_assert_eq(ck_tensor_new(&c, CK_INT64, 0, s0), CK_OK);
    ((int64_t *)c->data)[0] = INT64_MIN + 1;
    ck_h5_weight w1[] = {{"dense/kernel:0", k}, {"dense/bias:0", d}};
    ck_h5_weight w2[] = {{"z/last", i}, {"a/first/deep", c}, {"a/second", empty}};
    ck_h5_weight top[] = {{"model/scale:0", c}};
    ck_h5_layer layers[] = {{"zeta", 0, NULL}, {"dense", 2, w1}, {"Alpha", 3, w2}};
    for (int dialect = CK_H5_DIALECT_DEFAULT; dialect <= CK_H5_DIALECT_H5PY3; dialect++) {
        for (int is_model = 0; is_model <= 1; is_model++) {
            ck_keras_h5 f = {0};
            f.is_model = is_model;
            f.model_config = "{\"class_name\": \"Sequential\", \"config\": {}}";
            f.training_config = "{\"loss\": \"mse\"}";
            f.dialect = (ck_h5_dialect)dialect;
            f.n_layers = 3;
            f.layers = layers;
            if (dialect == CK_H5_DIALECT_H5PY3) {
                f.has_top_level = 1;
                f.top_level = (ck_h5_layer){NULL, 1, top};
            }
            const char *out = ck_test_tmp("roundtrip.h5");
            cr_assert_eq(ck_h5_write(out, &f), CK_OK, "%s", ck_last_error());
            ck_keras_h5 *g = NULL;
            cr_assert_eq(ck_h5_read(out, &g), CK_OK, "%s", ck_last_error());
            expect_same_file(&f, g);
            cr_expect_eq(g->is_model, is_model);
            cr_expect_eq(g->dialect, dialect == CK_H5_DIALECT_H5PY3 ? CK_H5_DIALECT_H5PY3 : CK_H5_DIALECT_H5PY2);
            cr_expect_str_eq(g->keras_version, dialect == CK_H5_DIALECT_H5PY3 ? CK_H5_DEFAULT_KERAS_VERSION_H5PY3
                                                                                : CK_H5_DEFAULT_KERAS_VERSION_H5PY2);
            cr_expect_str_eq(g->backend, "tensorflow");
            if (is_model) {
                cr_expect_str_eq(g->model_config, f.model_config);
                cr_expect_str_eq(g->training_config, f.training_config);
            } else {
                cr_expect_null(g->model_config);
                cr_expect_null(g->training_config);
            }
            cr_expect_eq(g->has_top_level, dialect == CK_H5_DIALECT_H5PY3);
            if (dialect == CK_H5_DIALECT_H5PY3) {
                cr_assert_eq(g->top_level.n_weights, 1);
                cr_expect_eq(((int64_t *)g->top_level.weights[0].value->data)[0], INT64_MIN + 1);
            }
            ck_keras_h5_free(g);
            remove(out);
        }
    }
    ck_tensor_free(k);
    ck_tensor_free(empty);
    ck_tensor_free(d);
    ck_tensor_free(i);
    ck_tensor_free(c);
}

Test(keras_h5_write, fixture_round_trips_keep_values)
{
    const char *names[] = {"h5/dialects_fixed.h5", "h5/dialects_vlen_utf8.h5", "h5/dtypes.h5", "h5/chunked_names.h5",
                           "h5/scalar_names.h5"};
    for (int n = 0; n < 5; n++) {
        ck_keras_h5 *f = NULL, *g = NULL;
        cr_assert_eq(ck_h5_read(ck_test_fixture(names[n]), &f), CK_OK, "%s", ck_last_error());
        const char *out = ck_test_tmp("fixture_rt.h5");
        cr_assert_eq(ck_h5_write(out, f), CK_OK, "%s: %s", names[n], ck_last_error());
        cr_assert_eq(ck_h5_read(out, &g), CK_OK, "%s", ck_last_error());
        expect_same_file(f, g);
        cr_expect_eq(g->dialect, f->dialect);
        ck_keras_h5_free(f);
        ck_keras_h5_free(g);
        remove(out);
    }
}

Test(keras_h5_write, long_name_lists_are_chunked_like_keras)
{
    /* 801 names of 100 bytes = 80100 bytes > 64512: numpy.array_split into
     * 2 chunks, 401 + 400 names (40100 bytes each at most) -> layer_names0,
     * layer_names1. */
    enum { N = 801, LEN = 100 };
    ck_h5_layer *layers = calloc(N, sizeof *layers);
    char (*names)[LEN + 1] = calloc(N, sizeof *names);
    for (int i = 0; i < N; i++) {
        memset(names[i], 'x', LEN);
        char head[16];
        snprintf(head, sizeof head, "layer_%05d", i);
        memcpy(names[i], head, strlen(head));
        layers[i].name = names[i];
    }
    ck_keras_h5 f = {0};
    f.n_layers = N;
    f.layers = layers;
    const char *out = ck_test_tmp("chunked.h5");
    cr_assert_eq(ck_h5_write(out, &f), CK_OK, "%s", ck_last_error());
    char *text = describe(out);
    cr_expect(strstr(text, "attr /@layer_names0 string fixed(100) nullpad ascii simple(401) = [\"layer_00000x"), "chunk 0");
    cr_expect(strstr(text, "attr /@layer_names1 string fixed(100) nullpad ascii simple(400) = [\"layer_00401x"), "chunk 1");
    cr_expect_null(strstr(text, "attr /@layer_names "));
    cr_expect_null(strstr(text, "layer_names2"));
    ck_free(text);
    ck_keras_h5 *g = NULL;
    cr_assert_eq(ck_h5_read(out, &g), CK_OK, "%s", ck_last_error());
    cr_assert_eq(g->n_layers, N);
    cr_expect_str_eq(g->layers[N - 1].name, names[N - 1]);
    cr_expect_str_eq(g->layers[401].name, names[401]);
    ck_keras_h5_free(g);
    remove(out);

    /* A single name above the limit cannot be saved (Keras: RuntimeError). */
    char *huge = malloc(70000);
    memset(huge, 'x', 69999);
    huge[69999] = '\0';
    layers[0].name = huge;
    f.n_layers = 1;
    cr_expect_eq(ck_h5_write(out, &f), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "64512"), "%s", ck_last_error());
    free(huge);
    free(names);
    free(layers);
}

Test(keras_h5_write, bad_structs_are_value_errors_and_leave_the_target)
{
    const char *out = ck_test_tmp("keep_me.h5");
    FILE *fp = fopen(out, "wb");
    fputs("previous content", fp);
    fclose(fp);
    int64_t s[] = {2};
    ck_tensor *t = tensor_f32(1, s, 0);
    ck_h5_weight ok[] = {{"a/b", t}};
    ck_h5_weight clash[] = {{"a/b", t}, {"a/b/c", t}};
    ck_h5_weight dup[] = {{"w", t}, {"w", t}};
    ck_h5_weight abs_[] = {{"/w", t}};
    ck_h5_weight dots[] = {{"a/../w", t}};
    ck_h5_weight empty_comp[] = {{"a//w", t}};
    ck_h5_weight no_tensor[] = {{"w", NULL}};
    struct {
        ck_h5_layer layers[2];
        size_t n;
        int is_model;
        int dialect;
        int top;
        const char *frag;
    } cases[] = {
        {{{"d", 2, clash}}, 1, 0, 0, 0, "same HDF5 path"},
        {{{"d", 2, dup}}, 1, 0, 0, 0, "same HDF5 path"},
        {{{"d", 1, abs_}}, 1, 0, 0, 0, "relative"},
        {{{"d", 1, dots}}, 1, 0, 0, 0, "'..'"},
        {{{"d", 1, empty_comp}}, 1, 0, 0, 0, "empty"},
        {{{"d", 1, no_tensor}}, 1, 0, 0, 0, "no tensor"},
        {{{"a/b", 1, ok}}, 1, 0, 0, 0, "contains '/'"},
        {{{"", 1, ok}}, 1, 0, 0, 0, "no name"},
        {{{"same", 1, ok}, {"same", 0, NULL}}, 2, 0, 0, 0, "two layers are named 'same'"},
        {{{"d", 1, ok}}, 1, 1, 0, 0, "model_config"},
        {{{"d", 1, ok}}, 1, 0, CK_H5_DIALECT_H5PY3, 1, "has_top_level"},
        {{{"top_level_model_weights", 1, ok}}, 1, 0, CK_H5_DIALECT_H5PY2, 2, "clashes"},
        {{{"d", 1, ok}}, 1, 0, 7, 0, "dialect"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_keras_h5 f = {0};
        f.layers = cases[i].layers;
        f.n_layers = cases[i].n;
        f.is_model = cases[i].is_model;
        f.dialect = (ck_h5_dialect)cases[i].dialect;
        if (cases[i].top == 1) f.top_level = (ck_h5_layer){NULL, 1, ok};
        if (cases[i].top == 2) f.has_top_level = 1;
        cr_expect_eq(ck_h5_write(out, &f), CK_VALUE_ERROR, "case %zu: %s", i, ck_last_error());
        cr_expect(strstr(ck_last_error(), cases[i].frag), "case %zu: '%s' not in %s", i, cases[i].frag,
                  ck_last_error());
    }
    t->dtype = (ck_dtype)9;
    ck_keras_h5 f = {0};
    ck_h5_layer l = {"d", 1, ok};
    f.layers = &l;
    f.n_layers = 1;
    cr_expect_eq(ck_h5_write(out, &f), CK_TYPE_ERROR);
    t->dtype = CK_FLOAT32;
    fp = fopen(out, "rb");
    char buf[64] = {0};
    fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    cr_expect_str_eq(buf, "previous content");
    /* An unwritable place is an IO error. */
    cr_expect_eq(ck_h5_write("/nonexistent-dir/x.h5", &f), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), "/nonexistent-dir/x.h5"), "%s", ck_last_error());
    ck_tensor_free(t);
    remove(out);
}

/* ------------------------------------------------------------------------ */
/* allocation failures                                                       */
/* ------------------------------------------------------------------------ */

typedef struct read_ctx {
    const char *path;
    ck_keras_h5 *f;
    char *text;
} read_ctx;

static ck_status do_read(void *p)
{
    read_ctx *c = p;
    return ck_h5_read(c->path, &c->f);
}

static void undo_read(void *p)
{
    read_ctx *c = p;
    ck_keras_h5_free(c->f);
    c->f = NULL;
}

static ck_status do_describe(void *p)
{
    read_ctx *c = p;
    return ck_h5_describe(c->path, &c->text);
}

static void undo_describe(void *p)
{
    read_ctx *c = p;
    ck_free(c->text);
    c->text = NULL;
}

Test(keras_h5_alloc, every_allocation_failure_while_reading)
{
    const char *files[] = {"h5/dialects_fixed.h5", "h5/dialects_vlen_utf8.h5", "h5/chunked_names.h5", "h5/dtypes.h5"};
    for (int i = 0; i < 4; i++) {
        read_ctx c = {ck_test_fixture(files[i]), NULL, NULL};
        cr_expect_gt(ck_test_every_allocation_fails(do_read, undo_read, &c), 5);
        cr_expect_gt(ck_test_every_allocation_fails(do_describe, undo_describe, &c), 5);
    }
}

typedef struct write_ctx {
    const ck_keras_h5 *f;
    const char *path;
    const char *dir;
    const char *base;
} write_ctx;

static void put_original(const char *path)
{
    FILE *fp = fopen(path, "wb");
    fputs("original", fp);
    fclose(fp);
}

static ck_status do_write(void *p)
{
    write_ctx *c = p;
    put_original(c->path);
    ck_status st = ck_h5_write(c->path, c->f);
    if (st != CK_OK) {
        /* The failed write left neither a temporary file nor a new target. */
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s.tmp-", c->base);
        cr_expect_eq(count_prefixed(c->dir, prefix), 0, "temporary file left behind");
        FILE *fp = fopen(c->path, "rb");
        char buf[16] = {0};
        if (fp) {
            fread(buf, 1, 8, fp);
            fclose(fp);
        }
        cr_expect_str_eq(buf, "original", "target changed by a failed write");
    }
    return st;
}

static void undo_write(void *p) { (void)p; }

Test(keras_h5_alloc, every_allocation_failure_while_writing)
{
    ck_keras_h5 *f = NULL;
    cr_assert_eq(ck_h5_read(ck_test_fixture("h5/dialects_vlen_utf8.h5"), &f), CK_OK, "%s", ck_last_error());
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s", ck_test_tmp("alloc_write.h5"));
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    write_ctx c = {f, path, dir, strrchr(path, '/') + 1};
    cr_expect_gt(ck_test_every_allocation_fails(do_write, undo_write, &c), 3);
    ck_keras_h5 *g = NULL;
    cr_assert_eq(ck_h5_read(path, &g), CK_OK, "%s", ck_last_error());
    expect_same_file(f, g);
    ck_keras_h5_free(f);
    ck_keras_h5_free(g);
    remove(path);
}
