/* ckeras' own HDF5 reader (src/io/h5/) against libhdf5, the oracle:
 * every real .h5/.hdf5 of tests/data and ../shared/testdata/keras, and
 * files written here through libhdf5 with the newer structures (superblock
 * 3, v2 object headers, dense links and attributes, every chunk index the
 * reader knows, filters), give the same canonical dump (ck_h5r_dump vs a
 * libhdf5 walker below).  Every hostile file (hostile/h5, the h5 inside
 * hostile/keras archives), truncations and byte mutations of real files end
 * in CK_OK or CK_FORMAT_ERROR within a second each, under the sanitizers. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zip.h>

#include "io/h5/h5.h"
#include "io/h5_util.h"
#include "support/h5_oracle.h"
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

static int is_h5_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 3 && strcmp(n + l - 3, ".h5") == 0) || (l > 5 && strcmp(n + l - 5, ".hdf5") == 0);
}

typedef void (*file_fn)(const char *path, void *ctx);

static void walk_dir(const char *dir, int (*want)(const char *), file_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) walk_dir(p, want, fn, ctx);
        else if (want(names[i])) fn(p, ctx);
        free(names[i]);
    }
    free(names);
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
    walk_dir(ck_test_data(""), is_h5_name, compare_one, &t);
    const char *shared = ck_test_shared("keras");
    if (shared) walk_dir(shared, is_h5_name, compare_one, &t);
    cr_log_info("h5 reader: %d of %d real files read as libhdf5 reads them (%d not HDF5 to libhdf5 either)",
                t.same, t.files, t.skipped);
    cr_expect_eq(t.same, t.files);
    cr_expect_gt(t.files, 20);
}

/* ------------------------------------------------------------------------ */
/* files written here with the newer structures                              */
/* ------------------------------------------------------------------------ */

static void put_attr_str(hid_t obj, const char *name, const char *value, int vlen, H5T_str_t pad)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (vlen) H5Tset_size(t, H5T_VARIABLE);
    else H5Tset_size(t, strlen(value) + 3);
    H5Tset_strpad(t, pad);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    if (vlen) {
        H5Awrite(a, t, &value);
    } else {
        char buf[256] = {0};
        memset(buf, pad == H5T_STR_SPACEPAD ? ' ' : 0, strlen(value) + 3);
        memcpy(buf, value, strlen(value));
        H5Awrite(a, t, buf);
    }
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

static void put_attr_num(hid_t obj, const char *name, hid_t ftype, hid_t mtype, hsize_t n, const void *v)
{
    hid_t s = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, mtype, v);
    H5Aclose(a);
    H5Sclose(s);
}

/* A dataset of n floats 0, 1, 2, ... with the given creation list. */
static void put_dataset(hid_t loc, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                        const hsize_t *maxdims, hid_t dcpl)
{
    hid_t s = H5Screate_simple(rank, dims, maxdims);
    hsize_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    double *v = malloc(n * sizeof *v);
    for (hsize_t i = 0; i < n; i++) v[i] = (double)(i % 1000) * 0.5 - 17.0;
    hid_t d = H5Dcreate2(loc, name, ftype, s, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    cr_assert_geq(d, 0, "cannot create %s", name);
    H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(s);
    free(v);
}

static hid_t chunked(int rank, const hsize_t *chunk, int deflate, int shuffle, int fletcher)
{
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(p, rank, chunk);
    if (shuffle) H5Pset_shuffle(p);
    if (deflate) H5Pset_deflate(p, 6);
    if (fletcher) H5Pset_fletcher32(p);
    return p;
}

static void write_file(const char *path, int latest)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    if (latest) {
        H5Pset_link_creation_order(fcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED);
        H5Pset_attr_phase_change(fcpl, 0, 0);       /* dense attributes at once */
    }
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    cr_assert_geq(f, 0);
    /* attributes of every kind, on the root */
    put_attr_str(f, "vlen", "tensorflow", 1, H5T_STR_NULLTERM);
    put_attr_str(f, "fixed_nullpad", "abc", 0, H5T_STR_NULLPAD);
    put_attr_str(f, "fixed_space", "abc", 0, H5T_STR_SPACEPAD);
    int64_t iv[5] = {-3, 0, 7, INT64_MAX, INT64_MIN};
    put_attr_num(f, "i64be", H5T_STD_I64BE, H5T_NATIVE_INT64, 5, iv);
    uint64_t uv[3] = {1, UINT64_MAX, 5};
    put_attr_num(f, "u64", H5T_STD_U64LE, H5T_NATIVE_UINT64, 3, uv);
    int16_t sv[2] = {-2, 300};
    put_attr_num(f, "i16be", H5T_STD_I16BE, H5T_NATIVE_INT16, 2, sv);
    double dv = 0.1;
    put_attr_num(f, "f64", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 0, &dv);
    float fv[3] = {1.5f, -2.25f, 3e-5f};
    put_attr_num(f, "f32", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 3, fv);
    /* a big attribute: 80 KB of text (a huge heap object in dense storage) */
    if (latest) {
        char *big = malloc(80001);
        for (int i = 0; i < 80000; i++) big[i] = (char)('a' + i % 26);
        big[80000] = 0;
        put_attr_str(f, "big", big, 1, H5T_STR_NULLTERM);
        free(big);
    }
    /* a vlen string list and an empty float64 list (Keras' "no names") */
    const char *names[3] = {"dense/kernel:0", "dense/bias:0", ""};
    hid_t vt = H5Tcopy(H5T_C_S1);
    H5Tset_size(vt, H5T_VARIABLE);
    put_attr_num(f, "names", vt, vt, 3, names);
    H5Tclose(vt);
    hsize_t zero = 0;
    hid_t zs = H5Screate_simple(1, &zero, NULL);
    hid_t za = H5Acreate2(f, "empty", H5T_IEEE_F64LE, zs, H5P_DEFAULT, H5P_DEFAULT);
    H5Aclose(za);
    H5Sclose(zs);
    /* a group with many links (dense links when latest; a deep symbol table
     * B-tree otherwise) */
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (latest) {
        H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED);
        H5Pset_link_phase_change(gcpl, 0, 0);
    }
    hid_t g = H5Gcreate2(f, "many", H5P_DEFAULT, gcpl, H5P_DEFAULT);
    for (int i = 0; i < 300; i++) {
        char n[32];
        snprintf(n, sizeof n, "g%03d", (i * 37) % 300);
        hid_t c = H5Gcreate2(g, n, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (i % 50 == 0) put_attr_num(c, "i", H5T_STD_I32LE, H5T_NATIVE_INT, 0, &i);
        H5Gclose(c);
    }
    H5Lcreate_soft("/many/g001", g, "soft", H5P_DEFAULT, H5P_DEFAULT);
    H5Lcreate_hard(g, "g002", g, "hard_again", H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Pclose(gcpl);
    /* datasets: contiguous, compact, chunked with each index and filter */
    hid_t d = H5Gcreate2(f, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t d2[2] = {37, 23}, c2[2] = {8, 5}, one[1] = {100}, big2[2] = {40, 40}, c11[2] = {1, 1};
    put_dataset(d, "contig_f32", H5T_IEEE_F32LE, 2, d2, NULL, H5P_DEFAULT);
    put_dataset(d, "contig_f64be", H5T_IEEE_F64BE, 2, d2, NULL, H5P_DEFAULT);
    put_dataset(d, "contig_i16be", H5T_STD_I16BE, 1, one, NULL, H5P_DEFAULT);
    put_dataset(d, "contig_u8", H5T_STD_U8LE, 1, one, NULL, H5P_DEFAULT);
    put_dataset(d, "contig_u32", H5T_STD_U32BE, 1, one, NULL, H5P_DEFAULT);
    put_dataset(d, "contig_i64", H5T_STD_I64LE, 1, one, NULL, H5P_DEFAULT);
    hid_t half = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(half, 15, 10, 5, 0, 10);
    H5Tset_size(half, 2);
    H5Tset_ebias(half, 15);
    put_dataset(d, "half", half, 2, d2, NULL, H5P_DEFAULT);
    H5Tclose(half);
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(p, H5D_COMPACT);
    put_dataset(d, "compact", H5T_IEEE_F32LE, 1, one, NULL, p);
    H5Pclose(p);
    hsize_t s0 = 0;
    hid_t ss = H5Screate(H5S_SCALAR);
    hid_t sd = H5Dcreate2(d, "scalar", H5T_IEEE_F64LE, ss, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double sval = 42.5;
    H5Dwrite(sd, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &sval);
    H5Dclose(sd);
    H5Sclose(ss);
    (void)s0;
    const char *combos[] = {"plain", "deflate", "shuffle_deflate", "all", "fletcher"};
    int flags[][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {1, 1, 1}, {0, 0, 1}};
    for (int k = 0; k < 5; k++) {
        char n[64];
        p = chunked(2, c2, flags[k][0], flags[k][1], flags[k][2]);
        snprintf(n, sizeof n, "chunk_%s", combos[k]);                /* fixed array / v1 B-tree */
        put_dataset(d, n, H5T_IEEE_F32LE, 2, d2, NULL, p);
        snprintf(n, sizeof n, "chunk_i16be_%s", combos[k]);
        put_dataset(d, n, H5T_STD_I16BE, 2, d2, NULL, p);
        H5Pclose(p);
        p = chunked(2, d2, flags[k][0], flags[k][1], flags[k][2]);   /* single chunk */
        snprintf(n, sizeof n, "single_%s", combos[k]);
        put_dataset(d, n, H5T_IEEE_F64LE, 2, d2, NULL, p);
        H5Pclose(p);
        hsize_t unl[2] = {H5S_UNLIMITED, H5S_UNLIMITED};
        p = chunked(2, c2, flags[k][0], flags[k][1], flags[k][2]);   /* v2 B-tree */
        snprintf(n, sizeof n, "btree2_%s", combos[k]);
        put_dataset(d, n, H5T_IEEE_F32LE, 2, d2, unl, p);
        H5Pclose(p);
    }
    p = chunked(2, c11, 1, 1, 0);                                   /* many chunks: paged / deep */
    put_dataset(d, "many_chunks", H5T_IEEE_F32LE, 2, big2, NULL, p);
    H5Pclose(p);
    p = chunked(2, c2, 0, 0, 0);
    H5Pset_alloc_time(p, H5D_ALLOC_TIME_LATE);
    double fill = 3.25;
    H5Pset_fill_value(p, H5T_NATIVE_DOUBLE, &fill);
    hid_t es = H5Screate_simple(2, d2, NULL);
    hid_t ed = H5Dcreate2(d, "unwritten_fill", H5T_IEEE_F32LE, es, H5P_DEFAULT, p, H5P_DEFAULT);
    H5Dclose(ed);
    H5Sclose(es);
    H5Pclose(p);
    H5Gclose(d);
    H5Fclose(f);
    H5Pclose(fcpl);
    H5Pclose(fapl);
}

Test(h5_reader, written_files_match_libhdf5)
{
    const char *paths[2] = {ck_test_tmp("h5r_earliest.h5"), NULL};
    char earliest[1024];
    snprintf(earliest, sizeof earliest, "%s", paths[0]);
    write_file(earliest, 0);
    cr_expect_eq(same_dump(earliest), 1);
    const char *latest = ck_test_tmp("h5r_latest.h5");
    write_file(latest, 1);
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

/* ------------------------------------------------------------------------ */
/* hostile input                                                             */
/* ------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct hostile {
    int files, ok, refused;
    double worst;
} hostile;

/* Opens and walks an image: CK_OK or CK_FORMAT_ERROR, never anything else,
 * within a second. */
static void run_image(hostile *h, const void *buf, size_t len, const char *what)
{
    double t0 = now();
    ck_h5r *f = NULL;
    char *text = NULL;
    ck_status st = ck_h5r_open_memory(&f, buf, len, what);
    if (st == CK_OK) st = ck_h5r_dump(f, &text);
    ck_free(text);
    ck_h5r_close(f);
    double dt = now() - t0;
    cr_expect(st == CK_OK || st == CK_FORMAT_ERROR, "%s: %s: %s", what, ck_status_name(st), ck_last_error());
    cr_expect_lt(dt, 1.0, "%s took %.2f s", what, dt);
    h->files++;
    if (st == CK_OK) h->ok++;
    else h->refused++;
    if (dt > h->worst) h->worst = dt;
}

static void *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)(n > 0 ? n : 0), fp);
    fclose(fp);
    return b;
}

static int any_name(const char *n) { (void)n; return 1; }
static int is_keras_name(const char *n)
{
    size_t l = strlen(n);
    return l > 6 && strcmp(n + l - 6, ".keras") == 0;
}

static void hostile_h5(const char *path, void *ctx)
{
    size_t len = 0;
    void *b = slurp(path, &len);
    run_image(ctx, b, len, path);
    free(b);
}

static void hostile_keras(const char *path, void *ctx)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    if (!z) return;
    zip_int64_t n = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name || !is_h5_name(name)) continue;
        zip_stat_t zs;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || zs.size > ((zip_uint64_t)64 << 20)) continue;
        zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)i, 0);
        if (!zf) continue;
        void *b = malloc(zs.size ? zs.size : 1);
        zip_int64_t got = zip_fread(zf, b, zs.size);
        zip_fclose(zf);
        if (got >= 0) {
            char what[4096];
            snprintf(what, sizeof what, "%s:%s", path, name);
            run_image(ctx, b, (size_t)got, what);
        }
        free(b);
    }
    zip_close(z);
}

Test(h5_reader, hostile_files_end_cleanly)
{
    const char *h5 = ck_test_shared("hostile/h5");
    if (!h5) cr_skip_test("../shared is absent");
    hostile h = {0, 0, 0, 0};
    walk_dir(h5, any_name, hostile_h5, &h);
    hostile k = {0, 0, 0, 0};
    walk_dir(ck_test_shared("hostile/keras"), is_keras_name, hostile_keras, &k);
    hostile_h5(ck_test_shared("hostile/stack_overflow_nested_seq_500.h5"), &h);
    cr_log_info("hostile h5: %d files, %d read, %d refused, slowest %.3f s; inside .keras: %d h5, %d read, "
                "%d refused, slowest %.3f s", h.files, h.ok, h.refused, h.worst, k.files, k.ok,
                k.refused, k.worst);
    cr_expect_geq(h.files, 93);
    cr_expect_gt(k.files, 0);
}

/* Every prefix of a real file (in steps), and random byte changes. */
Test(h5_reader, truncated_and_mutated_files_end_cleanly)
{
    char *files[2] = {NULL, NULL};
    files[0] = strdup(ck_test_tmp("h5r_latest_m.h5"));
    write_file(files[0], 1);
    files[1] = strdup(ck_test_tmp("h5r_earliest_m.h5"));
    write_file(files[1], 0);
    hostile h = {0, 0, 0, 0};
    unsigned seed = 12345;
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        unsigned char *b = slurp(files[k], &len);
        for (size_t cut = 0; cut < len; cut += 1 + len / 300) run_image(&h, b, cut, "a truncated file");
        unsigned char *m = malloc(len);
        for (int iter = 0; iter < 300; iter++) {
            memcpy(m, b, len);
            int flips = 1 + (int)(rand_r(&seed) % 8);
            for (int j = 0; j < flips; j++) {
                size_t at = (size_t)rand_r(&seed) % len;
                /* mostly the metadata near structures, sometimes anywhere */
                m[at] = (unsigned char)(rand_r(&seed) % 3 == 0 ? 0xff : rand_r(&seed));
            }
            run_image(&h, m, len, "a mutated file");
        }
        free(m);
        free(b);
        free(files[k]);
    }
    cr_log_info("truncated/mutated: %d images, %d read, %d refused, slowest %.3f s", h.files, h.ok,
                h.refused, h.worst);
}
