/* ckeras' own HDF5 writer (src/io/h5/h5_write*.c): every file it builds is
 * read back through libhdf5 (the oracle, tests/support/h5_oracle.h) and
 * through ckeras' own reader, value by value: groups of every size (one
 * symbol table node, one B-tree node, two and three B-tree levels), empty
 * groups, variable-length strings (empty, UTF-8, scalars and arrays, more
 * than one global heap collection), fixed-length string arrays, the empty
 * float64 array, datasets of every dtype and rank 0..8, empty datasets;
 * in-memory images and files alike; and every allocation failure. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5/h5.h"
#include "io/h5/h5_write.h"
#include "io/h5_util.h"
#include "support/h5_oracle.h"
#include "support/support.h"

static ck_tensor *tensor(ck_dtype dt, int rank, const int64_t *shape, int seed)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new_uninit(&t, dt, rank, shape), CK_OK, "%s", ck_last_error());
    for (int64_t i = 0; i < t->size; i++) {
        double v = (double)((i * 7919 + seed * 31) % 1000) / 8.0 - 60.0;
        switch (dt) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)v; break;
        case CK_FLOAT64: ((double *)t->data)[i] = v / 3.0; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)(v * 8); break;
        default: ((int64_t *)t->data)[i] = (int64_t)(v * 8) * 1000000007LL; break;
        }
    }
    return t;
}

static int same_tensor(const ck_tensor *a, const ck_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->size != b->size) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return a->size == 0 || memcmp(a->data, b->data, (size_t)a->size * ck_dtype_size(a->dtype)) == 0;
}

/* Reads dataset `path` through libhdf5 and through ckeras' reader and
 * checks both against `want`. */
static void check_dataset(const char *file, hid_t fid, ck_h5r *r, const char *path, const ck_tensor *want)
{
    ck_tensor *got = NULL;
    cr_assert_eq(ck_h5o_read_dataset(fid, path, file, path, (hsize_t)1 << 40, &got), CK_OK,
                 "libhdf5 %s: %s", path, ck_last_error());
    cr_expect(same_tensor(got, want), "libhdf5 reads %s differently", path);
    ck_tensor_free(got);
    got = NULL;
    cr_assert_eq(ck_h5u_read_dataset(r, ck_h5r_root(r), path, path, &got), CK_OK, "own %s: %s", path,
                 ck_last_error());
    cr_expect(same_tensor(got, want), "ckeras reads %s differently", path);
    ck_tensor_free(got);
}

static void check_strings(const char *file, hid_t obj, ck_h5r *r, uint64_t robj, const char *name,
                          const char *const *want, size_t n, int want_vlen)
{
    char **items = NULL;
    size_t k = 0;
    int vlen = -1;
    cr_assert_eq(ck_h5o_read_strings(obj, name, file, name, &items, &k, &vlen), CK_OK, "libhdf5 @%s: %s",
                 name, ck_last_error());
    cr_assert_eq(k, n, "libhdf5 @%s: %zu strings", name, k);
    cr_expect_eq(vlen, want_vlen, "@%s", name);
    for (size_t i = 0; i < n; i++) cr_expect_str_eq(items[i], want[i], "libhdf5 @%s[%zu]", name, i);
    ck_h5o_free_strings(items, k);
    items = NULL;
    cr_assert_eq(ck_h5u_read_strings(r, robj, name, name, &items, &k, &vlen), CK_OK, "own @%s: %s", name,
                 ck_last_error());
    cr_assert_eq(k, n);
    for (size_t i = 0; i < n; i++) cr_expect_str_eq(items[i], want[i], "own @%s[%zu]", name, i);
    ck_h5u_free_strings(items, k);
}

/* A group with `n` datasets named d00000, d00001, ... (scalars). */
static void group_of(size_t n, const char *label)
{
    ck_h5w *w = NULL;
    cr_assert_eq(ck_h5w_new(&w), CK_OK);
    ck_h5w_obj *g = NULL;
    cr_assert_eq(ck_h5w_group(w, ck_h5w_root(w), "g", &g), CK_OK);
    ck_tensor **ts = calloc(n ? n : 1, sizeof *ts);
    /* Created in reverse: the file's order must be the name order anyway. */
    for (size_t i = n; i-- > 0;) {
        char name[32];
        snprintf(name, sizeof name, "d%05zu", i);
        ts[i] = tensor(i % 2 ? CK_INT64 : CK_FLOAT32, 0, NULL, (int)i);
        cr_assert_eq(ck_h5w_dataset(w, g, name, ts[i]), CK_OK, "%s", ck_last_error());
    }
    const char *path = ck_test_tmp(label);
    cr_assert_eq(ck_h5u_save(w, path), CK_OK, "%s", ck_last_error());
    ck_h5w_free(w);

    ck_h5o_quiet q;
    ck_h5o_quiet_begin(&q);
    hid_t fid = -1;
    cr_assert_eq(ck_h5o_open(path, &fid, NULL), CK_OK, "%s", ck_last_error());
    hid_t gid = H5Gopen2(fid, "g", H5P_DEFAULT);
    cr_assert_geq(gid, 0);
    ck_h5o_child *c = NULL;
    size_t k = 0;
    cr_assert_eq(ck_h5o_list_children(gid, path, "/g", &c, &k), CK_OK, "%s", ck_last_error());
    cr_assert_eq(k, n, "%s: libhdf5 lists %zu links of %zu", label, k, n);
    ck_h5r *r = NULL;
    cr_assert_eq(ck_h5r_open_file(&r, path, 0), CK_OK, "%s", ck_last_error());
    /* Every name looked up by libhdf5 (through the B-tree keys) and ours. */
    for (size_t i = 0; i < n; i++) {
        char name[32], full[40];
        snprintf(name, sizeof name, "d%05zu", i);
        snprintf(full, sizeof full, "g/%s", name);
        cr_expect_str_eq(c[i].name, name);
        cr_expect_eq(c[i].kind, CK_H5O_DATASET);
        if (i % 97 == 0 || i + 1 == n) check_dataset(path, fid, r, full, ts[i]);
    }
    char *dump = NULL;
    cr_expect_eq(ck_h5r_dump(r, &dump), CK_OK, "%s", ck_last_error());
    ck_free(dump);
    ck_h5r_close(r);
    ck_h5o_free_children(c, k);
    H5Gclose(gid);
    H5Fclose(fid);
    ck_h5o_quiet_end(&q);
    for (size_t i = 0; i < n; i++) ck_tensor_free(ts[i]);
    free(ts);
    remove(path);
}

Test(h5_writer, groups_of_every_size)
{
    size_t sizes[] = {0, 1, 7, 8, 9, 255, 256, 257, 1000, 8193};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "h5w_group_%zu.h5", sizes[i]);
        group_of(sizes[i], label);
    }
}

Test(h5_writer, attributes_and_datasets_round_trip)
{
    ck_h5w *w = NULL;
    cr_assert_eq(ck_h5w_new(&w), CK_OK);
    ck_h5w_obj *root = ck_h5w_root(w), *a = NULL, *deep = NULL, *strs = NULL;
    cr_assert_eq(ck_h5w_group(w, root, "strings", &strs), CK_OK);
    cr_assert_eq(ck_h5w_group(w, root, "a/b/c", &deep), CK_OK);
    cr_assert_eq(ck_h5w_group(w, root, "a", &a), CK_OK, "an existing group is reused");
    cr_expect_eq(ck_h5w_group(w, root, "a/b/c", &a), CK_OK);
    cr_expect_eq(a, deep);
    cr_assert_eq(ck_h5w_group(w, root, "empty", &a), CK_OK);
    const char *utf8 = "d\xc3\xa9j\xc3\xa0 vu";
    const char *one[] = {"tensorflow"};
    const char *names[] = {"input_1", "", "dense_with_a_long_name", "x"};
    cr_assert_eq(ck_h5w_attr_vlen(w, root, "backend", one, 1, 1, CK_H5W_UTF8), CK_OK);
    cr_assert_eq(ck_h5w_attr_vlen(w, root, "utf8", &utf8, 1, 1, CK_H5W_UTF8), CK_OK);
    cr_assert_eq(ck_h5w_attr_vlen(w, root, "vnames", names, 4, 0, CK_H5W_ASCII), CK_OK);
    cr_assert_eq(ck_h5w_attr_fixed(w, root, "fnames", names, 4, 22), CK_OK);
    cr_assert_eq(ck_h5w_attr_empty_f64(w, deep, "weight_names"), CK_OK);
    cr_expect_eq(ck_h5w_attr_empty_f64(w, deep, "weight_names"), CK_VALUE_ERROR, "duplicate attribute");
    cr_expect_eq(ck_h5w_attr_fixed(w, root, "short", names, 4, 3), CK_VALUE_ERROR, "item too long");
    /* More strings than one global heap collection can index (65535). */
    enum { NA = 20, PER = 4000 };
    char **many = malloc(NA * PER * sizeof *many);
    for (int i = 0; i < NA * PER; i++) {
        many[i] = malloc(16);
        snprintf(many[i], 16, "s%d", i);
    }
    for (int k = 0; k < NA; k++) {
        char an[32];
        snprintf(an, sizeof an, "many%02d", k);
        cr_assert_eq(ck_h5w_attr_vlen(w, strs, an, (const char *const *)many + k * PER, PER, 0, CK_H5W_ASCII),
                     CK_OK, "%s", ck_last_error());
    }
    ck_dtype dts[] = {CK_FLOAT32, CK_FLOAT64, CK_INT32, CK_INT64};
    ck_tensor *ts[4 * 9 + 1] = {0};
    char tpath[4 * 9 + 1][64];
    int nt = 0;
    for (int d = 0; d < 4; d++) {
        for (int rank = 0; rank <= CK_MAX_RANK; rank++) {
            int64_t shape[CK_MAX_RANK];
            for (int i = 0; i < rank; i++) shape[i] = 1 + (i + d) % 3;
            ts[nt] = tensor(dts[d], rank, shape, nt);
            snprintf(tpath[nt], sizeof tpath[nt], "data/%s/r%d:0", ck_dtype_name(dts[d]), rank);
            cr_assert_eq(ck_h5w_dataset(w, root, tpath[nt], ts[nt]), CK_OK, "%s", ck_last_error());
            nt++;
        }
    }
    int64_t zero[2] = {0, 5};
    ts[nt] = tensor(CK_FLOAT32, 2, zero, 0);
    snprintf(tpath[nt], sizeof tpath[nt], "a/b/empty");
    cr_assert_eq(ck_h5w_dataset(w, root, tpath[nt], ts[nt]), CK_OK);
    nt++;
    cr_expect_eq(ck_h5w_dataset(w, root, "a/b/empty", ts[0]), CK_VALUE_ERROR, "name taken");
    cr_expect_eq(ck_h5w_dataset(w, root, "a/b/empty/x", ts[0]), CK_VALUE_ERROR, "dataset in the way");
    cr_expect_eq(ck_h5w_group(w, root, "a//x", &a), CK_VALUE_ERROR, "empty component");

    /* The same tree as a file and as an image. */
    const char *path = ck_test_tmp("h5w_round_trip.h5");
    cr_assert_eq(ck_h5u_save(w, path), CK_OK, "%s", ck_last_error());
    void *img = NULL;
    size_t img_len = 0;
    cr_assert_eq(ck_h5w_image(w, &img, &img_len), CK_OK);
    FILE *fp = fopen(path, "rb");
    cr_assert(fp);
    fseek(fp, 0, SEEK_END);
    cr_expect_eq((size_t)ftell(fp), img_len, "file and image have the same bytes");
    fclose(fp);

    ck_h5o_quiet q;
    ck_h5o_quiet_begin(&q);
    hid_t fid = -1;
    cr_assert_eq(ck_h5o_open(path, &fid, NULL), CK_OK, "%s", ck_last_error());
    ck_h5r *r = NULL;
    cr_assert_eq(ck_h5r_open_memory(&r, img, img_len, "image"), CK_OK, "%s", ck_last_error());
    hid_t root_id = H5Gopen2(fid, "/", H5P_DEFAULT);
    check_strings(path, root_id, r, ck_h5r_root(r), "backend", one, 1, 1);
    check_strings(path, root_id, r, ck_h5r_root(r), "utf8", &utf8, 1, 1);
    check_strings(path, root_id, r, ck_h5r_root(r), "vnames", names, 4, 1);
    check_strings(path, root_id, r, ck_h5r_root(r), "fnames", names, 4, 0);
    hid_t deep_id = H5Gopen2(fid, "a/b/c", H5P_DEFAULT);
    uint64_t deep_addr = 0;
    int found = 0;
    cr_assert_eq(ck_h5r_find(r, ck_h5r_root(r), "a/b/c", &deep_addr, &found), CK_OK);
    cr_assert(found);
    check_strings(path, deep_id, r, deep_addr, "weight_names", NULL, 0, 0);
    hid_t empty_id = H5Gopen2(fid, "empty", H5P_DEFAULT);
    ck_h5o_child *ch = NULL;
    size_t nch = 9;
    cr_expect_eq(ck_h5o_list_children(empty_id, path, "/empty", &ch, &nch), CK_OK);
    cr_expect_eq(nch, 0);
    ck_h5o_free_children(ch, nch);
    hid_t strs_id = H5Gopen2(fid, "strings", H5P_DEFAULT);
    uint64_t strs_addr = 0;
    cr_assert_eq(ck_h5r_find(r, ck_h5r_root(r), "strings", &strs_addr, &found), CK_OK);
    for (int k = 0; k < NA; k += 3) {
        char an[32];
        snprintf(an, sizeof an, "many%02d", k);
        check_strings(path, strs_id, r, strs_addr, an, (const char *const *)many + k * PER, PER, 1);
    }
    H5Gclose(strs_id);
    for (int i = 0; i < nt; i++) check_dataset(path, fid, r, tpath[i], ts[i]);
    char *described = NULL;
    cr_assert_eq(ck_h5_describe(path, &described), CK_OK, "%s", ck_last_error());
    cr_expect(strstr(described, "file superblock=0\ngroup / links=symtab\n"), "%s", described);
    cr_expect(strstr(described, "attr /@fnames string fixed(22) nullpad ascii simple(4) = [\"input_1\", \"\", "),
              "%s", described);
    cr_expect(strstr(described, "attr /@utf8 string vlen nullterm utf8 scalar"), "%s", described);
    cr_expect(strstr(described, "attr /a/b/c@weight_names float 8 le simple(0) = []"), "%s", described);
    cr_expect(strstr(described, "dataset /data/int64/r0:0 integer 8 le scalar contiguous"), "%s", described);
    cr_expect(strstr(described, "dataset /data/float32/r2:0 float 4 le simple(1, 2) contiguous"), "%s", described);
    ck_free(described);
    H5Gclose(empty_id);
    H5Gclose(deep_id);
    H5Gclose(root_id);
    H5Fclose(fid);
    ck_h5o_quiet_end(&q);
    ck_h5r_close(r);
    ck_free(img);
    ck_h5w_free(w);
    for (int i = 0; i < nt; i++) ck_tensor_free(ts[i]);
    for (int i = 0; i < NA * PER; i++) free(many[i]);
    free(many);
    remove(path);
}

typedef struct alloc_ctx {
    ck_tensor *t;
    void *img;
} alloc_ctx;

static ck_status build_and_lay_out(void *p)
{
    alloc_ctx *c = p;
    ck_h5w *w = NULL;
    CK_TRY(ck_h5w_new(&w));
    const char *s[] = {"a", "bb"};
    ck_h5w_obj *g = NULL;
    size_t len = 0;
    ck_status st = ck_h5w_group(w, ck_h5w_root(w), "x/y", &g);
    if (st == CK_OK) st = ck_h5w_attr_vlen(w, g, "v", s, 2, 0, CK_H5W_ASCII);
    if (st == CK_OK) st = ck_h5w_attr_fixed(w, g, "f", s, 2, 2);
    for (int i = 0; st == CK_OK && i < 20; i++) {
        char name[16];
        snprintf(name, sizeof name, "d%d", i);
        st = ck_h5w_dataset(w, g, name, c->t);
    }
    if (st == CK_OK) st = ck_h5w_image(w, &c->img, &len);
    ck_h5w_free(w);
    return st;
}

static void free_img(void *p)
{
    alloc_ctx *c = p;
    ck_free(c->img);
    c->img = NULL;
}

Test(h5_writer, every_allocation_failure)
{
    int64_t shape[] = {3};
    alloc_ctx c = {tensor(CK_FLOAT32, 1, shape, 1), NULL};
    long n = ck_test_every_allocation_fails(build_and_lay_out, free_img, &c);
    cr_expect_gt(n, 10);
    ck_tensor_free(c.t);
}
