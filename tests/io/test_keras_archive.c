/* Keras 3 `.keras` archives and `.weights.h5` files: the real archive of
 * shared/testdata/keras and the fixtures against golden facts read with
 * h5py/zipfile (tests/data/h5/facts.json), broken and truncated archives,
 * and write-read round trips (entry order and storage checked with libzip). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "io/keras_archive.h"
#include "io/keras_h5.h"
#include "support/h5_oracle.h"
#include "support/support.h"

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

static void expect_elem(const ck_tensor *t, int64_t i, json_t *v, const char *what)
{
    if (t->dtype == CK_INT64)
        cr_expect_eq(((const int64_t *)t->data)[i], (int64_t)json_integer_value(v), "%s[%lld]", what, (long long)i);
    else if (t->dtype == CK_INT32)
        cr_expect_eq(((const int32_t *)t->data)[i], (int32_t)json_integer_value(v), "%s[%lld]", what, (long long)i);
    else
        cr_expect_eq(ck_tensor_get(t, i), json_number_value(v), "%s[%lld]", what, (long long)i);
}

static void expect_values(const ck_tensor *t, json_t *vf, const char *what)
{
    cr_assert_not_null(t, "%s: no tensor", what);
    cr_expect_str_eq(ck_dtype_name(t->dtype), jstr(vf, "dtype"), "%s: dtype", what);
    json_t *shape = json_object_get(vf, "shape");
    cr_assert_eq((size_t)t->rank, json_array_size(shape), "%s: rank", what);
    for (int i = 0; i < t->rank; i++)
        cr_expect_eq(t->shape[i], json_integer_value(json_array_get(shape, (size_t)i)), "%s: dim %d", what, i);
    json_t *head = json_object_get(vf, "head");
    for (size_t i = 0; i < json_array_size(head); i++) expect_elem(t, (int64_t)i, json_array_get(head, i), what);
    json_t *tail = json_object_get(vf, "tail");
    if (tail) expect_elem(t, t->size - 1, tail, what);
    double sum = 0, want = json_number_value(json_object_get(vf, "sum"));
    for (int64_t i = 0; i < t->size; i++) sum += ck_tensor_get(t, i);
    cr_expect(sum - want <= 1e-6 * (1 + (want < 0 ? -want : want)) && want - sum <= 1e-6 * (1 + (want < 0 ? -want : want)),
              "%s: sum %.17g vs %.17g", what, sum, want);
}

/* vars (in order) and vars groups (in order) against the facts. */
static void expect_vars(const ck_keras_archive *a, json_t *ff, const char *file)
{
    json_t *vars = json_object_get(ff, "vars"), *groups = json_object_get(ff, "groups");
    cr_assert_eq(a->n_vars, json_array_size(vars), "%s: %zu vars", file, a->n_vars);
    for (size_t i = 0; i < a->n_vars; i++) {
        json_t *vf = json_array_get(vars, i);
        cr_expect_str_eq(a->vars[i].path, jstr(vf, "path"), "%s: var %zu", file, i);
        char what[512];
        snprintf(what, sizeof what, "%s: %s", file, a->vars[i].path);
        expect_values(a->vars[i].value, vf, what);
    }
    cr_assert_eq(a->n_groups, json_array_size(groups), "%s: %zu groups", file, a->n_groups);
    for (size_t i = 0; i < a->n_groups; i++) {
        json_t *gf = json_array_get(groups, i);
        cr_expect_str_eq(a->groups[i].path, jstr(gf, "path"), "%s: group %zu", file, i);
        const char *name = jstr(gf, "name");
        if (name) cr_expect(a->groups[i].name && !strcmp(a->groups[i].name, name), "%s: group %s name", file, a->groups[i].path);
        else cr_expect_null(a->groups[i].name, "%s: group %s name", file, a->groups[i].path);
    }
}

static void expect_archive(const ck_keras_archive *a, json_t *ff, const char *file)
{
    const char *meta = jstr(ff, "metadata_json");
    if (meta) cr_expect_str_eq(a->metadata_json, meta, "%s: metadata", file);
    else cr_expect_null(a->metadata_json);
    cr_assert_not_null(a->config_json);
    cr_expect_eq(strlen(a->config_json), (size_t)json_integer_value(json_object_get(ff, "config_bytes")), "%s: config length", file);
    json_t *cfg = json_loads(a->config_json, 0, NULL);
    cr_assert_not_null(cfg);
    cr_expect_str_eq(jstr(cfg, "class_name"), jstr(ff, "config_class"));
    json_decref(cfg);
    expect_vars(a, ff, file);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void copy_prefix(const char *src, const char *dst, long n)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    cr_assert(in && out);
    char buf[65536];
    while (n > 0) {
        size_t r = fread(buf, 1, n < (long)sizeof buf ? (size_t)n : sizeof buf, in);
        if (r == 0) break;
        fwrite(buf, 1, r, out);
        n -= (long)r;
    }
    fclose(in);
    fclose(out);
}

/* ------------------------------------------------------------------------ */
/* reading                                                                   */
/* ------------------------------------------------------------------------ */

Test(keras_archive, real_keras3_archive_matches_facts)
{
    const char *path = ck_test_shared_keras("keras3-wide-deep/my_model.keras");
    if (!path) cr_skip_test("shared testdata absent");
    json_t *facts = load_facts();
    json_t *shared = json_object_get(facts, "shared");
    int n = 0;
    for (size_t i = 0; i < json_array_size(shared); i++) {
        json_t *ff = json_array_get(shared, i);
        if (strcmp(jstr(ff, "kind"), "archive") != 0) continue;
        const char *p = ck_test_shared_keras(jstr(ff, "path"));
        ck_keras_archive *a = NULL;
        cr_assert_eq(ck_keras_archive_read(p, &a), CK_OK, "%s: %s", p, ck_last_error());
        expect_archive(a, ff, jstr(ff, "path"));
        ck_keras_archive_free(a);
        n++;
    }
    cr_expect_eq(n, 1);
    json_decref(facts);
}

Test(keras_archive, real_archive_provenance_facts)
{
    const char *path = ck_test_shared_keras("keras3-wide-deep/my_model.keras");
    if (!path) cr_skip_test("shared testdata absent");
    ck_keras_archive *a = NULL;
    cr_assert_eq(ck_keras_archive_read(path, &a), CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(a->metadata_json, "{\"keras_version\": \"3.6.0\", \"date_saved\": \"2024-11-03@12:44:27\"}");
    const ck_tensor *k = ck_keras_archive_find(a, "layers/dense/vars/0");
    cr_assert_not_null(k);
    cr_expect(k->rank == 2 && k->shape[0] == 6 && k->shape[1] == 30);
    const ck_tensor *count = ck_keras_archive_find(a, "layers/normalization_1/vars/2");
    cr_assert_not_null(count);
    cr_expect(count->rank == 0 && count->dtype == CK_INT64);
    cr_expect_null(ck_keras_archive_find(a, "layers/dense/vars/2"));
    /* the only link from a tracking path back to a config name */
    int found = 0;
    for (size_t i = 0; i < a->n_groups; i++) {
        if (!strcmp(a->groups[i].path, "layers/dense/vars")) {
            cr_expect_str_eq(a->groups[i].name, "dense_10");
            found++;
        }
        if (!strcmp(a->groups[i].path, "layers/input_layer/vars")) {
            cr_expect_str_eq(a->groups[i].name, "input_layer_4");
            found++;
        }
    }
    cr_expect_eq(found, 2);
    /* optimizer/vars/10 comes after optimizer/vars/9 */
    size_t i9 = 0, i10 = 0;
    for (size_t i = 0; i < a->n_vars; i++) {
        if (!strcmp(a->vars[i].path, "optimizer/vars/9")) i9 = i;
        if (!strcmp(a->vars[i].path, "optimizer/vars/10")) i10 = i;
    }
    cr_expect(i9 > 0 && i10 == i9 + 1);
    ck_keras_archive_free(a);
}

Test(keras_archive, fixtures_match_facts)
{
    json_t *facts = load_facts();
    json_t *fx = json_object_get(facts, "fixtures");
    int n = 0;
    for (size_t i = 0; i < json_array_size(fx); i++) {
        json_t *ff = json_array_get(fx, i);
        const char *kind = jstr(ff, "kind");
        char rel[256];
        snprintf(rel, sizeof rel, "h5/%s", jstr(ff, "path"));
        ck_keras_archive *a = NULL;
        if (!strcmp(kind, "archive")) {
            cr_assert_eq(ck_keras_archive_read(ck_test_fixture(rel), &a), CK_OK, "%s: %s", rel, ck_last_error());
            expect_archive(a, ff, rel);
        } else if (!strcmp(kind, "weights_h5")) {
            cr_assert_eq(ck_keras_weights_h5_read(ck_test_fixture(rel), &a), CK_OK, "%s: %s", rel, ck_last_error());
            cr_expect_null(a->metadata_json);
            cr_expect_null(a->config_json);
            expect_vars(a, ff, rel);
        } else {
            continue;
        }
        /* numeric order of the indices: vars/2 before vars/10 */
        const char *order[] = {"layers/many/vars/1", "layers/many/vars/2", "layers/many/vars/10", "layers/many/vars/11"};
        size_t pos[4] = {0};
        for (size_t v = 0; v < a->n_vars; v++)
            for (int k = 0; k < 4; k++)
                if (!strcmp(a->vars[v].path, order[k])) pos[k] = v + 1;
        cr_expect(pos[0] && pos[0] < pos[1] && pos[1] < pos[2] && pos[2] < pos[3], "%s: numeric order", rel);
        ck_keras_archive_free(a);
        n++;
    }
    cr_expect_eq(n, 2);
    json_decref(facts);
}

Test(keras_archive, broken_archives_are_errors)
{
    json_t *facts = load_facts();
    json_t *fx = json_object_get(facts, "fixtures");
    int n = 0;
    for (size_t i = 0; i < json_array_size(fx); i++) {
        json_t *ff = json_array_get(fx, i);
        if (strcmp(jstr(ff, "kind"), "bad") != 0) continue;
        const char *reader = jstr(ff, "reader");
        char rel[256];
        snprintf(rel, sizeof rel, "h5/%s", jstr(ff, "path"));
        const char *path = ck_test_fixture(rel);
        ck_keras_archive *a = (ck_keras_archive *)0x1;
        ck_status st;
        if (!strcmp(reader, "archive")) st = ck_keras_archive_read(path, &a);
        else if (!strcmp(reader, "weights_h5")) st = ck_keras_weights_h5_read(path, &a);
        else continue;
        cr_expect_str_eq(ck_status_name(st), jstr(ff, "status"), "%s: %s", rel, ck_last_error());
        cr_expect(strstr(ck_last_error(), path) != NULL, "names the file: %s", ck_last_error());
        cr_expect(strstr(ck_last_error(), jstr(ff, "fragment")) != NULL, "%s: '%s' not in: %s", rel,
                  jstr(ff, "fragment"), ck_last_error());
        cr_expect_eq(a, (ck_keras_archive *)0x1, "output untouched on error");
        n++;
    }
    cr_expect_eq(n, 7);
    ck_keras_archive *a = NULL;
    cr_expect_eq(ck_keras_archive_read(ck_test_tmp("no_such.keras"), &a), CK_IO_ERROR, "%s", ck_last_error());
    cr_expect(strstr(ck_last_error(), "no_such.keras"), "%s", ck_last_error());
    cr_expect_eq(ck_keras_weights_h5_read(ck_test_tmp("no_such.weights.h5"), &a), CK_IO_ERROR);
    /* a legacy file is refused by the Keras 3 reader and vice versa */
    cr_expect_eq(ck_keras_archive_read(ck_test_fixture("h5/dtypes.h5"), &a), CK_FORMAT_ERROR);
    ck_keras_h5 *f = NULL;
    cr_expect_eq(ck_h5_read(ck_test_fixture("h5/tiny.weights.h5"), &f), CK_FORMAT_ERROR);
    json_decref(facts);
}

static void truncations(const char *src, const char *label)
{
    long size = file_size(src);
    long cuts[] = {0, 1, 4, 22, 100, 1000, size / 3, size / 2, size - 200, size - 22, size - 1};
    char path[1024];
    snprintf(path, sizeof path, "%s", ck_test_tmp(label));
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        if (cuts[i] < 0 || cuts[i] >= size) continue;
        copy_prefix(src, path, cuts[i]);
        ck_keras_archive *a = NULL;
        ck_status st = ck_keras_archive_read(path, &a);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s cut at %ld of %ld: %s %s", label, cuts[i], size, ck_status_name(st),
                     ck_last_error());
        if (st == CK_OK) ck_keras_archive_free(a);
    }
    remove(path);
}

Test(keras_archive, truncated_archives_are_format_errors)
{
    truncations(ck_test_fixture("h5/tiny.keras"), "trunc_tiny.keras");
    const char *real = ck_test_shared_keras("keras3-wide-deep/my_model.keras");
    if (real) truncations(real, "trunc_real.keras");
    /* the HDF5 part alone, cut */
    long size = file_size(ck_test_fixture("h5/tiny.weights.h5"));
    char path[1024];
    snprintf(path, sizeof path, "%s", ck_test_tmp("trunc_tiny.weights.h5"));
    for (long cut = 0; cut < size; cut += 997) {
        copy_prefix(ck_test_fixture("h5/tiny.weights.h5"), path, cut);
        ck_keras_archive *a = NULL;
        ck_status st = ck_keras_weights_h5_read(path, &a);
        cr_expect_eq(st, CK_FORMAT_ERROR, "cut at %ld: %s", cut, ck_last_error());
        if (st == CK_OK) ck_keras_archive_free(a);
    }
    remove(path);
}

/* ------------------------------------------------------------------------ */
/* writing                                                                   */
/* ------------------------------------------------------------------------ */

static void expect_same(const ck_keras_archive *a, const ck_keras_archive *b)
{
    cr_assert_eq(a->n_vars, b->n_vars);
    for (size_t i = 0; i < a->n_vars; i++) {
        cr_expect_str_eq(a->vars[i].path, b->vars[i].path);
        const ck_tensor *x = a->vars[i].value, *y = b->vars[i].value;
        cr_assert(x->dtype == y->dtype && x->rank == y->rank && x->size == y->size, "%s", a->vars[i].path);
        for (int d = 0; d < x->rank; d++) cr_expect_eq(x->shape[d], y->shape[d]);
        if (x->size) cr_expect(memcmp(x->data, y->data, (size_t)x->size * ck_dtype_size(x->dtype)) == 0, "%s", a->vars[i].path);
    }
    cr_assert_eq(a->n_groups, b->n_groups);
    for (size_t i = 0; i < a->n_groups; i++) {
        cr_expect_str_eq(a->groups[i].path, b->groups[i].path);
        if (a->groups[i].name) cr_expect_str_eq(a->groups[i].name, b->groups[i].name ? b->groups[i].name : "(null)");
        else cr_expect_null(b->groups[i].name);
    }
}

/* Copies entry `name` of zip `path` into file `out`. */
static void extract_entry(const char *path, const char *name, const char *out)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    cr_assert_not_null(z);
    zip_stat_t st;
    cr_assert_eq(zip_stat(z, name, 0, &st), 0);
    zip_file_t *zf = zip_fopen(z, name, 0);
    cr_assert_not_null(zf);
    char *buf = malloc(st.size);
    cr_assert_eq(zip_fread(zf, buf, st.size), (zip_int64_t)st.size);
    zip_fclose(zf);
    zip_discard(z);
    FILE *fp = fopen(out, "wb");
    fwrite(buf, 1, st.size, fp);
    fclose(fp);
    free(buf);
}

/* The entries Keras writes, in its order, stored. */
static void expect_zip_layout(const char *path)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    cr_assert_not_null(z, "zip_open %s: %d", path, err);
    cr_assert_eq(zip_get_num_entries(z, 0), 3);
    const char *names[] = {"metadata.json", "config.json", "model.weights.h5"};
    for (int i = 0; i < 3; i++) {
        cr_expect_str_eq(zip_get_name(z, (zip_uint64_t)i, 0), names[i]);
        zip_stat_t st;
        cr_assert_eq(zip_stat_index(z, (zip_uint64_t)i, 0, &st), 0);
        cr_expect_eq(st.comp_method, ZIP_CM_STORE, "%s stored", names[i]);
        cr_expect_eq(st.size, st.comp_size);
    }
    zip_discard(z);
}

Test(keras_archive, rewriting_the_real_archive_round_trips)
{
    const char *path = ck_test_shared_keras("keras3-wide-deep/my_model.keras");
    if (!path) cr_skip_test("shared testdata absent");
    ck_keras_archive *a = NULL, *b = NULL;
    cr_assert_eq(ck_keras_archive_read(path, &a), CK_OK, "%s", ck_last_error());
    const char *out = ck_test_tmp("rewritten.keras");
    cr_assert_eq(ck_keras_archive_write(out, a), CK_OK, "%s", ck_last_error());
    expect_zip_layout(out);
    cr_assert_eq(ck_keras_archive_read(out, &b), CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(b->metadata_json, a->metadata_json);
    cr_expect_str_eq(b->config_json, a->config_json);
    expect_same(a, b);
    ck_keras_archive_free(b);
    const char *wout = ck_test_tmp("rewritten.weights.h5");
    cr_assert_eq(ck_keras_weights_h5_write(wout, a), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_keras_weights_h5_read(wout, &b), CK_OK, "%s", ck_last_error());
    expect_same(a, b);
    /* the same structure and attribute types as the HDF5 part Keras 3.6
     * wrote, group by group and attribute by attribute */
    const char *real_h5 = ck_test_tmp("real_model.weights.h5");
    extract_entry(path, "model.weights.h5", real_h5);
    char *want = NULL, *got = NULL;
    cr_assert_eq(ck_h5_describe(real_h5, &want), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_h5_describe(wout, &got), CK_OK, "%s", ck_last_error());
    cr_expect(strstr(got, "attr /layers/dense/vars@name string vlen nullterm utf8 scalar = \"dense_10\""), "%s", got);
    cr_expect(strstr(got, "dataset /layers/normalization/vars/2 integer 8 le scalar contiguous"), "%s", got);
    cr_expect_str_eq(got, want);
    ck_free(want);
    ck_free(got);
    remove(real_h5);
    ck_keras_archive_free(a);
    ck_keras_archive_free(b);
    remove(out);
    remove(wout);
}

Test(keras_archive, hand_built_archive_round_trips_and_matches_keras_layout)
{
    ck_keras_archive *ref = NULL;
    cr_assert_eq(ck_keras_weights_h5_read(ck_test_fixture("h5/tiny.weights.h5"), &ref), CK_OK, "%s", ck_last_error());
    /* the fixture's own content, re-listed by hand in another order */
    ck_keras_var vars[64];
    ck_keras_vars_group groups[16];
    cr_assert_leq(ref->n_vars, 64);
    cr_assert_leq(ref->n_groups, 16);
    for (size_t i = 0; i < ref->n_vars; i++) vars[i] = ref->vars[ref->n_vars - 1 - i];
    for (size_t i = 0; i < ref->n_groups; i++) groups[i] = ref->groups[ref->n_groups - 1 - i];
    ck_keras_archive a = {0};
    a.metadata_json = "{\"keras_version\": \"3.6.0\", \"date_saved\": \"2025-01-01@00:00:00\"}";
    a.config_json = "{\"module\": \"keras\", \"class_name\": \"Functional\", \"config\": {}}";
    a.vars = vars;
    a.n_vars = ref->n_vars;
    a.groups = groups;
    a.n_groups = ref->n_groups;
    const char *out = ck_test_tmp("hand.keras");
    cr_assert_eq(ck_keras_archive_write(out, &a), CK_OK, "%s", ck_last_error());
    expect_zip_layout(out);
    ck_keras_archive *b = NULL;
    cr_assert_eq(ck_keras_archive_read(out, &b), CK_OK, "%s", ck_last_error());
    cr_expect_str_eq(b->metadata_json, a.metadata_json);
    cr_expect_str_eq(b->config_json, a.config_json);
    expect_same(ref, b);
    ck_keras_archive_free(b);
    /* the standalone file describes like the h5py-written fixture */
    const char *wout = ck_test_tmp("hand.weights.h5");
    cr_assert_eq(ck_keras_weights_h5_write(wout, &a), CK_OK, "%s", ck_last_error());
    char *want = NULL, *got = NULL;
    cr_assert_eq(ck_h5_describe(ck_test_fixture("h5/tiny.weights.h5"), &want), CK_OK);
    cr_assert_eq(ck_h5_describe(wout, &got), CK_OK);
    cr_expect_str_eq(got, want);
    ck_free(want);
    ck_free(got);
    ck_keras_archive_free(ref);
    remove(out);
    remove(wout);
}

Test(keras_archive, bad_structs_are_value_errors)
{
    int64_t s[] = {2};
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, CK_FLOAT32, 1, s), CK_OK);
    struct {
        ck_keras_var vars[2];
        size_t nv;
        ck_keras_vars_group group;
        size_t ng;
        const char *frag;
    } cases[] = {
        {{{"a/b", t}, {"a/b/c", t}}, 2, {NULL, NULL}, 0, "is a variable"},
        {{{"a/b", t}, {"a/b", t}}, 2, {NULL, NULL}, 0, "is a variable"},
        {{{"a/b", t}}, 1, {"a/b", NULL}, 1, "both a group and a variable"},
        {{{"a/b", t}}, 1, {"a/b/vars", NULL}, 1, "is a variable"},
        {{{"/a", t}}, 1, {NULL, NULL}, 0, "relative"},
        {{{"a//b", t}}, 1, {NULL, NULL}, 0, "empty"},
        {{{"a/./b", t}}, 1, {NULL, NULL}, 0, "'.'"},
        {{{"", t}}, 1, {NULL, NULL}, 0, "no path"},
        {{{"a", NULL}}, 1, {NULL, NULL}, 0, "no tensor"},
        {{{"a", t}}, 1, {"", NULL}, 1, "no path"},
    };
    const char *out = ck_test_tmp("bad.keras");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_keras_archive a = {0};
        a.metadata_json = "{}";
        a.config_json = "{}";
        a.vars = cases[i].vars;
        a.n_vars = cases[i].nv;
        a.groups = &cases[i].group;
        a.n_groups = cases[i].ng;
        cr_expect_eq(ck_keras_archive_write(out, &a), CK_VALUE_ERROR, "case %zu: %s", i, ck_last_error());
        cr_expect(strstr(ck_last_error(), cases[i].frag), "case %zu: '%s' not in %s", i, cases[i].frag, ck_last_error());
        cr_expect_eq(ck_keras_weights_h5_write(out, &a), CK_VALUE_ERROR, "case %zu", i);
    }
    ck_keras_archive a = {0};
    a.config_json = "{}";
    cr_expect_eq(ck_keras_archive_write(out, &a), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "metadata_json"), "%s", ck_last_error());
    a.metadata_json = "{}";
    cr_expect_eq(ck_keras_archive_write("/nonexistent-dir/x.keras", &a), CK_IO_ERROR, "%s", ck_last_error());
    cr_expect_eq(ck_keras_weights_h5_write("/nonexistent-dir/x.weights.h5", &a), CK_IO_ERROR, "%s", ck_last_error());
    struct stat st;
    cr_expect_neq(stat(out, &st), 0, "nothing written");
    ck_tensor_free(t);
}

/* ------------------------------------------------------------------------ */
/* allocation failures                                                       */
/* ------------------------------------------------------------------------ */

typedef struct ctx {
    const char *path;
    const char *out;
    ck_keras_archive *a;
    const ck_keras_archive *src;
} ctx;

static ck_status do_read(void *p)
{
    ctx *c = p;
    return ck_keras_archive_read(c->path, &c->a);
}

static ck_status do_read_weights(void *p)
{
    ctx *c = p;
    return ck_keras_weights_h5_read(c->path, &c->a);
}

static void undo_read(void *p)
{
    ctx *c = p;
    ck_keras_archive_free(c->a);
    c->a = NULL;
}

static ck_status do_write(void *p)
{
    ctx *c = p;
    return ck_keras_archive_write(c->out, c->src);
}

static ck_status do_write_weights(void *p)
{
    ctx *c = p;
    return ck_keras_weights_h5_write(c->out, c->src);
}

static void noop(void *p) { (void)p; }

Test(keras_archive_alloc, every_allocation_failure)
{
    ctx c = {ck_test_fixture("h5/tiny.keras"), NULL, NULL, NULL};
    cr_expect_gt(ck_test_every_allocation_fails(do_read, undo_read, &c), 10);
    c.path = ck_test_fixture("h5/tiny.weights.h5");
    cr_expect_gt(ck_test_every_allocation_fails(do_read_weights, undo_read, &c), 10);
    ck_keras_archive *a = NULL;
    cr_assert_eq(ck_keras_archive_read(ck_test_fixture("h5/tiny.keras"), &a), CK_OK, "%s", ck_last_error());
    c.src = a;
    c.out = ck_test_tmp("alloc.keras");
    cr_expect_geq(ck_test_every_allocation_fails(do_write, noop, &c), 2);
    c.out = ck_test_tmp("alloc.weights.h5");
    cr_expect_geq(ck_test_every_allocation_fails(do_write_weights, noop, &c), 2);
    ck_keras_archive *b = NULL;
    cr_assert_eq(ck_keras_weights_h5_read(c.out, &b), CK_OK, "%s", ck_last_error());
    expect_same(a, b);
    ck_keras_archive_free(a);
    ck_keras_archive_free(b);
    remove(ck_test_tmp("alloc.keras"));
    remove(ck_test_tmp("alloc.weights.h5"));
}
