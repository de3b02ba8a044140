/* HDF5 inputs of the reader tests: see h5_test_files.h. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support/h5_test_files.h"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

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

void ck_test_h5_write_newer(const char *path, int latest)
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

int ck_test_is_h5_name(const char *n)
{
    size_t l = strlen(n);
    return (l > 3 && strcmp(n + l - 3, ".h5") == 0) || (l > 5 && strcmp(n + l - 5, ".hdf5") == 0);
}

void ck_test_walk_dir(const char *dir, int (*want)(const char *), ck_test_file_fn fn, void *ctx)
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
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) ck_test_walk_dir(p, want, fn, ctx);
        else if (want(names[i])) fn(p, ctx);
        free(names[i]);
    }
    free(names);
}
