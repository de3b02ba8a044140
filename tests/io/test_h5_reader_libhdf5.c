/* ckeras' own HDF5 reader (src/io/h5/) against libhdf5, the oracle:
 * every real .h5/.hdf5 of tests/data and ../shared/testdata/keras, and
 * files written through libhdf5 with the newer structures (superblock 3,
 * v2 object headers, dense links and attributes, every chunk index the
 * reader knows, filters: support/h5_test_files.c), give the same canonical
 * dump (ck_h5r_dump vs a libhdf5 walker below).  Hostile input:
 * test_h5_reader_hostile.c. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5/h5.h"
#include "io/h5_util.h"
#include "support/h5_oracle.h"
#include "support/h5_test_files.h"
#include "support/support.h"

/* ------------------------------------------------------------------------ */
/* the libhdf5 walker: the same text as ck_h5r_dump                          */
/* ------------------------------------------------------------------------ */

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void quoted(ck_h5u_text *t, const char *s)
{
    ck_h5u_text_add(t, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') ck_h5u_text_add(t, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f) ck_h5u_text_add(t, "\\x%02x", c);
        else ck_h5u_text_add(t, "%c", c);
    }
    ck_h5u_text_add(t, "\"");
}

typedef struct oracle {
    const char *file;
    hsize_t size;
    ck_h5u_text t;
    haddr_t seen[4096];
    size_t n_seen;
} oracle;

static int seen_before(oracle *o, haddr_t a)
{
    for (size_t i = 0; i < o->n_seen; i++)
        if (o->seen[i] == a) return 1;
    if (o->n_seen < 4096) o->seen[o->n_seen++] = a;
    return 0;
}

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)loc;
    (void)info;
    char ***v = data;
    size_t n = 0;
    while ((*v)[n]) n++;
    *v = realloc(*v, (n + 2) * sizeof **v);
    (*v)[n] = strdup(name);
    (*v)[n + 1] = NULL;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void oracle_attr(oracle *o, hid_t obj, const char *path, const char *name)
{
    ck_h5u_text *t = &o->t;
    ck_h5u_text_add(t, "attr %s@", path);
    quoted(t, name);
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t type = a >= 0 ? H5Aget_type(a) : -1, space = a >= 0 ? H5Aget_space(a) : -1;
    if (type < 0 || space < 0) {
        ck_h5u_text_add(t, " error\n");
    } else {
        H5T_class_t cls = H5Tget_class(type);
        hssize_t n = H5Sget_simple_extent_npoints(space);
        if (H5Sget_simple_extent_type(space) == H5S_NULL) n = 0;
        if (cls == H5T_STRING) {
            char **items = NULL;
            size_t k = 0;
            int vlen = 0;
            if (ck_h5o_read_strings(obj, name, o->file, path, &items, &k, &vlen) != CK_OK) {
                ck_h5u_text_add(t, " error\n");
            } else {
                ck_h5u_text_add(t, " %s [", vlen ? "vstrings" : "strings");
                for (size_t i = 0; i < k; i++) {
                    if (i) ck_h5u_text_add(t, ", ");
                    quoted(t, items[i]);
                }
                ck_h5u_text_add(t, "]\n");
                ck_h5o_free_strings(items, k);
            }
        } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
            int is_int = cls == H5T_INTEGER;
            void *buf = malloc((size_t)(n > 0 ? n : 1) * 8);
            if (n > 0 && H5Aread(a, is_int ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, buf) < 0) {
                ck_h5u_text_add(t, " error\n");
            } else {
                ck_h5u_text_add(t, " numbers %lld [", (long long)n);
                for (hssize_t i = 0; i < n && i < 16; i++) {
                    if (i) ck_h5u_text_add(t, ", ");
                    if (is_int) ck_h5u_text_add(t, "%lld", ((long long *)buf)[i]);
                    else ck_h5u_text_add(t, "%.17g", ((double *)buf)[i]);
                }
                ck_h5u_text_add(t, "]\n");
            }
            free(buf);
        } else {
            ck_h5u_text_add(t, " class %d count %lld\n", (int)cls, (long long)n);
        }
    }
    ck_h5o_close(space);
    ck_h5o_close(type);
    ck_h5o_close(a);
    H5Eclear2(H5E_DEFAULT);
}

static void oracle_attrs(oracle *o, hid_t obj, const char *path)
{
    char **names = calloc(1, sizeof *names);
    hsize_t idx = 0;
    if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &names) < 0) {
        ck_h5u_text_add(&o->t, "attrs %s error\n", path);
        H5Eclear2(H5E_DEFAULT);
    } else {
        size_t n = 0;
        while (names[n]) n++;
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n; i++) oracle_attr(o, obj, path, names[i]);
    }
    for (size_t i = 0; names[i]; i++) free(names[i]);
    free(names);
}

static void oracle_group(oracle *o, hid_t g, const char *path)
{
    ck_h5u_text *t = &o->t;
    ck_h5u_text_add(t, "group %s\n", path);
    oracle_attrs(o, g, path);
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0) {
        ck_h5u_text_add(t, "links %s error\n", path);
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    char **names = calloc(gi.nlinks + 1, sizeof *names);
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char buf[4096];
        buf[0] = 0;
        H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT);
        names[i] = strdup(buf);
    }
    qsort(names, gi.nlinks, sizeof *names, cmp_str);
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char child[8192];
        snprintf(child, sizeof child, "%s%s%s", path, strcmp(path, "/") == 0 ? "" : "/", names[i]);
        H5L_info_t li;
        H5O_info_t oi;
        if (H5Lget_info(g, names[i], &li, H5P_DEFAULT) < 0) {
            ck_h5u_text_add(t, "object %s error\n", child);
        } else if (li.type == H5L_TYPE_SOFT) {
            ck_h5u_text_add(t, "softlink %s\n", child);
        } else if (li.type != H5L_TYPE_HARD) {
            ck_h5u_text_add(t, "extlink %s\n", child);
        } else if (H5Oget_info_by_name(g, names[i], &oi, H5P_DEFAULT) < 0) {
            ck_h5u_text_add(t, "object %s error\n", child);
        } else if (seen_before(o, oi.addr)) {
            ck_h5u_text_add(t, "hardlink %s\n", child);
        } else if (oi.type == H5O_TYPE_GROUP) {
            hid_t c = H5Gopen2(g, names[i], H5P_DEFAULT);
            oracle_group(o, c, child);
            ck_h5o_close(c);
        } else if (oi.type == H5O_TYPE_DATASET) {
            ck_tensor *x = NULL;
            if (ck_h5o_read_dataset(g, names[i], o->file, child, o->size, &x) != CK_OK) {
                ck_h5u_text_add(t, "dataset %s error\n", child);
            } else {
                ck_h5u_text_add(t, "dataset %s %s (", child, ck_dtype_name(x->dtype));
                for (int k = 0; k < x->rank; k++)
                    ck_h5u_text_add(t, "%s%lld", k ? ", " : "", (long long)x->shape[k]);
                ck_h5u_text_add(t, ") fnv=%016llx\n",
                                (unsigned long long)fnv(x->data, (size_t)x->size * ck_dtype_size(x->dtype)));
                ck_tensor_free(x);
            }
            hid_t d = H5Oopen(g, names[i], H5P_DEFAULT);
            oracle_attrs(o, d, child);
            ck_h5o_close(d);
        } else {
            ck_h5u_text_add(t, "object %s\n", child);
        }
        H5Eclear2(H5E_DEFAULT);
        free(names[i]);
    }
    free(names);
}

static char *oracle_dump(const char *path)
{
    ck_h5o_quiet q;
    ck_h5o_quiet_begin(&q);
    oracle o;
    memset(&o, 0, sizeof o);
    o.file = path;
    hid_t f = -1;
    char *out = NULL;
    if (ck_h5o_open(path, &f, &o.size) == CK_OK) {
        hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
        H5O_info_t oi;
        if (H5Oget_info(root, &oi) >= 0) seen_before(&o, oi.addr);
        oracle_group(&o, root, "/");
        ck_h5o_close(root);
        ck_h5o_close(f);
        out = o.t.data;
    }
    ck_h5o_quiet_end(&q);
    return out;
}

/* ------------------------------------------------------------------------ */
/* comparing                                                                 */
/* ------------------------------------------------------------------------ */

static char *reader_dump(const char *path)
{
    ck_h5r *f = NULL;
    ck_status st = ck_h5r_open_file(&f, path, 0);
    cr_expect_eq(st, CK_OK, "%s: open: %s", path, ck_last_error());
    if (st != CK_OK) return NULL;
    char *text = NULL;
    st = ck_h5r_dump(f, &text);
    cr_expect_eq(st, CK_OK, "%s: dump: %s", path, ck_last_error());
    ck_h5r_close(f);
    return text;
}

/* 1 if the dumps agree; else reports the first differing line. */
static int same_dump(const char *path)
{
    char *want = oracle_dump(path);
    if (!want) return -1;       /* libhdf5 cannot open it either */
    char *got = reader_dump(path);
    int same = got && strcmp(got, want) == 0;
    if (!same && got) {
        const char *a = got, *b = want;
        while (*a && *a == *b) a++, b++;
        while (a > got && a[-1] != '\n') a--, b--;
        cr_expect(0, "%s: first difference:\n  reader: %.200s\n  libhdf5: %.200s", path, a, b);
    }
    ck_free(got);
    ck_free(want);
    return same;
}

typedef struct tally {
    int files, same, skipped;
} tally;

/* Files newer than the libhdf5 (1.10) the comparison runs: layout message
 * version 5 comes from libhdf5 2.0 (tests/io/test_h5_earray.c checks
 * those files against h5py's values instead). */
static int newer_than_oracle(const char *path)
{
    size_t l = strlen(path);
    return l >= 13 && strcmp(path + l - 13, "/layout_v5.h5") == 0;
}

static void compare_one(const char *path, void *ctx)
{
    tally *t = ctx;
    if (newer_than_oracle(path)) {
        t->skipped++;
        return;
    }
    int r = same_dump(path);
    if (r < 0) t->skipped++;
    else {
        t->files++;
        t->same += r;
    }
}

Test(h5_reader, real_files_match_libhdf5)
{
    tally t = {0, 0, 0};
    ck_test_walk_dir(ck_test_data(""), ck_test_is_h5_name, compare_one, &t);
    const char *shared = ck_test_shared("keras");
    if (shared) ck_test_walk_dir(shared, ck_test_is_h5_name, compare_one, &t);
    cr_log_info("h5 reader: %d of %d real files read as libhdf5 reads them (%d not HDF5 to libhdf5 either)",
                t.same, t.files, t.skipped);
    cr_expect_eq(t.same, t.files);
    cr_expect_gt(t.files, 20);
}

Test(h5_reader, written_files_match_libhdf5)
{
    const char *paths[2] = {ck_test_tmp("h5r_earliest.h5"), NULL};
    char earliest[1024];
    snprintf(earliest, sizeof earliest, "%s", paths[0]);
    ck_test_h5_write_newer(earliest, 0);
    cr_expect_eq(same_dump(earliest), 1);
    const char *latest = ck_test_tmp("h5r_latest.h5");
    ck_test_h5_write_newer(latest, 1);
    cr_expect_eq(same_dump(latest), 1);
    ck_h5r *f = NULL;
    cr_assert_eq(ck_h5r_open_file(&f, latest, 0), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_h5r_superblock_version(f), 3);
    uint64_t obj = 0;
    int found = 0;
    cr_assert_eq(ck_h5r_find(f, ck_h5r_root(f), "/data/chunk_all", &obj, &found), CK_OK);
    cr_expect_eq(found, 1);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_h5r_read_dataset(f, obj, &t), CK_OK, "%s", ck_last_error());
    cr_expect_eq(t->rank, 2);
    cr_expect_eq(((float *)t->data)[24], 24 * 0.5f - 17.0f);
    ck_tensor_free(t);
    cr_assert_eq(ck_h5r_find(f, ck_h5r_root(f), "many/nope", &obj, &found), CK_OK);
    cr_expect_eq(found, 0);
    ck_h5r_close(f);
}
