/* ck_npy_save: round trips of every dtype and rank, the same bytes as
 * numpy.save (tools/gen_npy_fixtures.py), replacing files, no file left
 * behind on failure, and load and save under failing allocations. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckeras.h"
#include "support/file_bytes.h"
#include "support/support.h"

static const char *npy(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "npy/%s", name);
    return ck_test_data(buf);
}

/* ---- save ------------------------------------------------------------------------ */

static ck_tensor *make_tensor(ck_dtype dtype, int rank, const int64_t *shape)
{
    ck_tensor *t = NULL;
    cr_assert_eq(ck_tensor_new(&t, dtype, rank, shape), CK_OK, "%s", ck_last_error());
    for (int64_t i = 0; i < t->size; i++) {
        switch (dtype) {
        case CK_FLOAT32: ((float *)t->data)[i] = (float)i * 0.75f - 3.0f; break;
        case CK_FLOAT64: ((double *)t->data)[i] = (double)i / 7.0 - 1e10; break;
        case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)(i * 1000003 - 5000000); break;
        case CK_INT64: ((int64_t *)t->data)[i] = i * ((int64_t)1 << 40) - 77; break;
        }
    }
    return t;
}

static void expect_same_tensor(const ck_tensor *a, const ck_tensor *b, const char *what)
{
    cr_assert_eq(a->dtype, b->dtype, "%s: dtype", what);
    cr_assert_eq(a->rank, b->rank, "%s: rank", what);
    for (int i = 0; i < a->rank; i++) cr_assert_eq(a->shape[i], b->shape[i], "%s: dim %d", what, i);
    cr_assert_eq(a->size, b->size, "%s: size", what);
    cr_expect(memcmp(a->data, b->data, (size_t)a->size * ck_dtype_size(a->dtype)) == 0,
              "%s: data differ", what);
}

static void round_trip(ck_dtype dtype, int rank, const int64_t *shape)
{
    char what[160], s[128];
    snprintf(what, sizeof what, "%s %s", ck_dtype_name(dtype), ck_shape_str(s, sizeof s, rank, shape));
    ck_tensor *t = make_tensor(dtype, rank, shape), *back = NULL;
    const char *path = ck_test_tmp("round_trip.npy");
    cr_assert_eq(ck_npy_save(path, t), CK_OK, "%s: %s", what, ck_last_error());

    size_t len;
    unsigned char *raw = ck_test_file_bytes(path, &len);
    size_t hend = 10 + (raw[8] | raw[9] << 8);
    cr_expect_eq(raw[6], 1, "%s: version 1.0", what);
    cr_expect_eq(hend % 64, 0, "%s: header is 64-aligned", what);
    cr_expect_eq(raw[hend - 1], '\n', "%s: header ends in a newline", what);
    cr_expect_eq(len, hend + (size_t)t->size * ck_dtype_size(dtype), "%s: file size", what);
    free(raw);

    cr_assert_eq(ck_npy_load(path, &back), CK_OK, "%s: %s", what, ck_last_error());
    expect_same_tensor(t, back, what);
    ck_tensor_free(back);
    ck_tensor_free(t);
    remove(path);
}

Test(npy_save, round_trip_every_dtype_and_rank)
{
    static const int64_t dims[CK_MAX_RANK] = {2, 3, 1, 2, 4, 1, 2, 3};
    static const ck_dtype dtypes[] = {CK_FLOAT32, CK_FLOAT64, CK_INT32, CK_INT64};
    for (size_t d = 0; d < 4; d++)
        for (int rank = 0; rank <= CK_MAX_RANK; rank++) round_trip(dtypes[d], rank, dims);
}

Test(npy_save, round_trip_empty_arrays)
{
    round_trip(CK_FLOAT32, 1, (int64_t[]){0});
    round_trip(CK_FLOAT64, 2, (int64_t[]){0, 3});
    round_trip(CK_INT32, 3, (int64_t[]){2, 0, 4});
    round_trip(CK_INT64, 2, (int64_t[]){5, 0});
}

/* ck_npy_save writes the very bytes np.save writes for the same array. */
static void expect_same_bytes_as_numpy(const char *fixture, const ck_tensor *t)
{
    const char *path = ck_test_tmp("same_bytes.npy");
    cr_assert_eq(ck_npy_save(path, t), CK_OK, "%s", ck_last_error());
    size_t a_len, b_len;
    unsigned char *a = ck_test_file_bytes(path, &a_len), *b = ck_test_file_bytes(npy(fixture), &b_len);
    cr_expect_eq(a_len, b_len, "%s: %zu bytes, numpy wrote %zu", fixture, a_len, b_len);
    cr_expect(a_len == b_len && memcmp(a, b, a_len) == 0, "%s: bytes differ from numpy's",
              fixture);
    free(a);
    free(b);
    remove(path);
}

Test(npy_save, same_bytes_as_numpy)
{
    ck_tensor *t = NULL;
    float f[6];
    for (int i = 0; i < 6; i++) f[i] = i * 0.5f - 1;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT32, 2, (int64_t[]){2, 3}, f), CK_OK);
    expect_same_bytes_as_numpy("save_f4_2x3.npy", t);
    ck_tensor_free(t);

    double s = 3.5;
    cr_assert_eq(ck_tensor_from_data(&t, CK_FLOAT64, 0, NULL, &s), CK_OK);
    expect_same_bytes_as_numpy("save_f8_scalar.npy", t);
    ck_tensor_free(t);

    cr_assert_eq(ck_tensor_new(&t, CK_INT32, 2, (int64_t[]){0, 3}), CK_OK);
    expect_same_bytes_as_numpy("save_i4_0x3.npy", t);
    ck_tensor_free(t);

    int64_t r8[8];
    for (int i = 0; i < 8; i++) r8[i] = i * ((int64_t)1 << 40) - 3;
    cr_assert_eq(ck_tensor_from_data(&t, CK_INT64, 8, (int64_t[]){1, 2, 1, 2, 1, 1, 2, 1}, r8),
                 CK_OK);
    expect_same_bytes_as_numpy("save_i8_rank8.npy", t);
    ck_tensor_free(t);

    int32_t c[6];
    for (int i = 0; i < 6; i++) c[i] = i - 3;
    cr_assert_eq(ck_tensor_from_data(&t, CK_INT32, 2, (int64_t[]){6, 1}, c), CK_OK);
    expect_same_bytes_as_numpy("save_i4_6x1.npy", t);
    ck_tensor_free(t);
}

Test(npy_save, replaces_an_existing_file)
{
    const char *path = ck_test_tmp("replace.npy");
    ck_tensor *a = make_tensor(CK_FLOAT64, 2, (int64_t[]){4, 5});
    ck_tensor *b = make_tensor(CK_INT32, 1, (int64_t[]){3}), *back = NULL;
    cr_assert_eq(ck_npy_save(path, a), CK_OK);
    cr_assert_eq(ck_npy_save(path, b), CK_OK);
    cr_assert_eq(ck_npy_load(path, &back), CK_OK);
    expect_same_tensor(b, back, "replaced");
    ck_tensor_free(a);
    ck_tensor_free(b);
    ck_tensor_free(back);
    remove(path);
}

/* Number of entries in the directory of `path` whose name starts with the
 * basename of `path`. */
static int count_siblings(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    cr_assert(slash);
    *slash = '\0';
    const char *base = strrchr(path, '/') + 1;
    DIR *d = opendir(dir);
    cr_assert(d, "opendir %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, base, strlen(base)) == 0) n++;
    closedir(d);
    return n;
}

Test(npy_save, failures_leave_no_file_behind)
{
    ck_tensor *t = make_tensor(CK_FLOAT32, 2, (int64_t[]){2, 2});

    /* the directory does not exist */
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.npy", ck_test_tmp("nodir"));
    cr_expect_eq(ck_npy_save(missing, t), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), missing) != NULL, "%s", ck_last_error());
    cr_expect_eq(access(missing, F_OK), -1);

    /* the target is a directory: the temporary file is written, the rename
     * fails, and the temporary file must go */
    const char *dirpath = ck_test_tmp("is_a_dir.npy");
    cr_assert_eq(mkdir(dirpath, 0755), 0);
    cr_expect_eq(ck_npy_save(dirpath, t), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), "rename") != NULL, "%s", ck_last_error());
    cr_expect_eq(count_siblings(dirpath), 1, "only the directory itself remains");
    rmdir(dirpath);

    /* a tensor that cannot be saved: no file at all */
    const char *path = ck_test_tmp("symbolic.npy");
    ck_tensor sym = {.dtype = CK_FLOAT32, .rank = 2, .shape = {-1, 3}, .size = 0, .data = NULL};
    cr_expect_eq(ck_npy_save(path, &sym), CK_VALUE_ERROR);
    sym.shape[0] = 2;
    sym.size = 6;
    cr_expect_eq(ck_npy_save(path, &sym), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "no data") != NULL, "%s", ck_last_error());
    cr_expect_eq(count_siblings(path), 0);
    ck_tensor bad_dtype = *t;
    bad_dtype.dtype = (ck_dtype)0;
    cr_expect_eq(ck_npy_save(path, &bad_dtype), CK_TYPE_ERROR);
    cr_expect_eq(count_siblings(path), 0);
    ck_tensor_free(t);
}

/* ---- failing allocations ------------------------------------------------------------ */

typedef struct {
    const char *path;
    const unsigned char *buf;
    size_t len;
    const ck_tensor *src;
    ck_tensor *out;
} alloc_ctx;

static ck_status do_load(void *p)
{
    alloc_ctx *c = p;
    return ck_npy_load(c->path, &c->out);
}

static ck_status do_load_buffer(void *p)
{
    alloc_ctx *c = p;
    return ck_npy_load_buffer(c->buf, c->len, &c->out);
}

static ck_status do_save(void *p)
{
    alloc_ctx *c = p;
    return ck_npy_save(c->path, c->src);
}

static void free_out(void *p)
{
    alloc_ctx *c = p;
    ck_tensor_free(c->out);
    c->out = NULL;
}

static void nothing(void *p) { (void)p; }

Test(npy_alloc, load_and_save_under_failing_allocations)
{
    const char *files[] = {"fortran_be_i2_3d.npy", "scalar_f8.npy", "empty_f4_0x3.npy"};
    for (int i = 0; i < 3; i++) {
        alloc_ctx c = {.path = npy(files[i])};
        long n = ck_test_every_allocation_fails(do_load, free_out, &c);
        cr_expect_geq(n, 2, "%s: the file buffer and the tensor (one block with its data)", files[i]);

        size_t len;
        unsigned char *raw = ck_test_file_bytes(c.path, &len);
        c.buf = raw;
        c.len = len;
        n = ck_test_every_allocation_fails(do_load_buffer, free_out, &c);
        cr_expect_geq(n, 1, "%s: the tensor (one block with its data)", files[i]);
        free(raw);
    }

    ck_tensor *t = make_tensor(CK_FLOAT64, 3, (int64_t[]){2, 3, 4});
    alloc_ctx c = {.path = ck_test_tmp("alloc_save.npy"), .src = t};
    remove(c.path);
    long n = ck_test_every_allocation_fails(do_save, nothing, &c);
    cr_expect_geq(n, 1);
    ck_tensor *back = NULL;
    cr_assert_eq(ck_npy_load(c.path, &back), CK_OK);
    expect_same_tensor(t, back, "saved under failing allocations");
    ck_tensor_free(back);
    ck_tensor_free(t);
    remove(c.path);
}

Test(npy_alloc, failed_save_leaves_no_file)
{
    ck_tensor *t = make_tensor(CK_INT64, 1, (int64_t[]){4});
    const char *path = ck_test_tmp("oom_save.npy");
    remove(path);
    ck_test_fail_after(0);
    ck_status st = ck_npy_save(path, t);
    ck_test_alloc_reset();
    cr_expect_eq(st, CK_OUT_OF_MEMORY);
    cr_expect_eq(count_siblings(path), 0);
    ck_tensor_free(t);
}
