/* ck_npy_load / ck_npy_load_buffer / ck_npy_save against files written by
 * numpy (tools/gen_npy_fixtures.py, which also holds the expected values
 * checked here). */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckeras.h"
#include "support/support.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *npy(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "npy/%s", name);
    return ck_test_data(buf);
}

/* Reads a whole file with plain stdio (independent of the code under test). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            cr_assert(buf);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static ck_tensor *load_ok(const char *name)
{
    ck_tensor *t = NULL;
    ck_status st = ck_npy_load(npy(name), &t);
    cr_assert_eq(st, CK_OK, "%s: %s %s", name, ck_status_name(st), ck_last_error());
    cr_assert(t && t->data);
    return t;
}

static void expect_shape(const ck_tensor *t, ck_dtype dtype, int rank, const int64_t *shape,
                         const char *name)
{
    cr_expect_eq(t->dtype, dtype, "%s: dtype %s", name, ck_dtype_name(t->dtype));
    cr_assert_eq(t->rank, rank, "%s: rank %d", name, t->rank);
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        cr_expect_eq(t->shape[i], shape[i], "%s: dim %d is %lld", name, i,
                     (long long)t->shape[i]);
        n *= shape[i];
    }
    cr_expect_eq(t->size, n, "%s: size", name);
}

static void expect_i32(const char *name, const int32_t *want, int64_t n)
{
    ck_tensor *t = load_ok(name);
    expect_shape(t, CK_INT32, 1, &n, name);
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(((int32_t *)t->data)[i], want[i], "%s[%lld] = %d, want %d", name,
                     (long long)i, ((int32_t *)t->data)[i], want[i]);
    ck_tensor_free(t);
}

static void expect_i64(const char *name, const int64_t *want, int64_t n)
{
    ck_tensor *t = load_ok(name);
    expect_shape(t, CK_INT64, 1, &n, name);
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(((int64_t *)t->data)[i], want[i], "%s[%lld] = %lld, want %lld", name,
                     (long long)i, (long long)((int64_t *)t->data)[i], (long long)want[i]);
    ck_tensor_free(t);
}

/* float results compared bit for bit (so -0 and NaN are checked too) */
static void expect_f32(const char *name, const float *want, int rank, const int64_t *shape)
{
    ck_tensor *t = load_ok(name);
    expect_shape(t, CK_FLOAT32, rank, shape, name);
    for (int64_t i = 0; i < t->size; i++) {
        float got = ((float *)t->data)[i];
        if (isnan(want[i])) {
            cr_expect(isnan(got), "%s[%lld] = %g, want nan", name, (long long)i, got);
        } else {
            cr_expect(memcmp(&got, &want[i], sizeof got) == 0, "%s[%lld] = %a, want %a", name,
                      (long long)i, got, want[i]);
        }
    }
    ck_tensor_free(t);
}

static void expect_f64(const char *name, const double *want, int rank, const int64_t *shape)
{
    ck_tensor *t = load_ok(name);
    expect_shape(t, CK_FLOAT64, rank, shape, name);
    for (int64_t i = 0; i < t->size; i++)
        cr_expect(memcmp(&((double *)t->data)[i], &want[i], sizeof(double)) == 0,
                  "%s[%lld] = %a, want %a", name, (long long)i, ((double *)t->data)[i],
                  want[i]);
    ck_tensor_free(t);
}

/* ---- widened dtypes --------------------------------------------------------- */

Test(npy_widen, bool_and_small_ints_become_int32)
{
    expect_i32("bool.npy", (int32_t[]){1, 0, 1, 1, 0}, 5);
    expect_i32("i1.npy", (int32_t[]){-128, -1, 0, 1, 127}, 5);
    expect_i32("u1.npy", (int32_t[]){0, 1, 127, 128, 255}, 5);
    expect_i32("i2.npy", (int32_t[]){-32768, -1, 0, 1, 32767}, 5);
    expect_i32("u2.npy", (int32_t[]){0, 1, 32768, 65535}, 4);
}

Test(npy_widen, uint32_becomes_int64)
{
    expect_i64("u4.npy", (int64_t[]){0, 1, 2147483648LL, 4294967295LL}, 4);
}

Test(npy_widen, float16_becomes_float32_exactly)
{
    float want[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 0x1p-14f, 0x1p-24f, 1023 * 0x1p-24f,
                    INFINITY, -INFINITY, NAN};
    expect_f32("f2.npy", want, 1, (int64_t[]){11});
    ck_tensor *t = load_ok("f2.npy");
    cr_expect(signbit(((float *)t->data)[1]), "-0 keeps its sign");
    ck_tensor_free(t);
}

/* ---- byte order ----------------------------------------------------------- */

Test(npy_order, little_endian_kept_dtype)
{
    float want[6];
    for (int i = 0; i < 6; i++) want[i] = i * 0.5f - 1;
    expect_f32("f4.npy", want, 2, (int64_t[]){2, 3});
}

Test(npy_order, big_endian_every_dtype)
{
    float f4[6];
    for (int i = 0; i < 6; i++) f4[i] = i * 0.5f - 1;
    expect_f32("be_f4.npy", f4, 2, (int64_t[]){2, 3});
    expect_f64("be_f8.npy", (double[]){1.5, -2.25, 1e300, -1e-300, 0.0}, 1, (int64_t[]){5});
    expect_i32("be_i4.npy", (int32_t[]){INT32_MIN, -1, 0, 1, INT32_MAX}, 5);
    expect_i64("be_i8.npy", (int64_t[]){INT64_MIN, -1, 0, 1, INT64_MAX, (1LL << 40) + 3}, 6);
    expect_i32("be_i2.npy", (int32_t[]){-32768, -1, 0, 1, 32767}, 5);
    expect_i32("be_u2.npy", (int32_t[]){0, 1, 32768, 65535}, 4);
    expect_i64("be_u4.npy", (int64_t[]){0, 1, 2147483648LL, 4294967295LL}, 4);
    expect_f32("be_f2.npy", (float[]){1.0f, -2.5f, 0x1p-24f, INFINITY}, 1, (int64_t[]){4});
}

Test(npy_order, native_byte_order_mark)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    if (first != 1) cr_skip_test("the fixture's '=f4' data is little-endian");
    expect_f32("hdr_native_order.npy", (float[]){1.5f, -2.0f, 3.25f}, 1, (int64_t[]){3});
}

/* ---- Fortran order ---------------------------------------------------------- */

Test(npy_fortran, rank2_and_rank3_become_c_order)
{
    float f[6];
    for (int i = 0; i < 6; i++) f[i] = (float)i;
    expect_f32("fortran_f4_2d.npy", f, 2, (int64_t[]){2, 3});

    ck_tensor *t = load_ok("fortran_i8_3d.npy");
    expect_shape(t, CK_INT64, 3, (int64_t[]){2, 3, 4}, "fortran_i8_3d.npy");
    for (int i = 0; i < 24; i++) cr_expect_eq(((int64_t *)t->data)[i], i, "[%d]", i);
    ck_tensor_free(t);

    t = load_ok("fortran_be_i2_3d.npy");
    expect_shape(t, CK_INT32, 3, (int64_t[]){4, 3, 2}, "fortran_be_i2_3d.npy");
    for (int i = 0; i < 24; i++) cr_expect_eq(((int32_t *)t->data)[i], i - 12, "[%d]", i);
    ck_tensor_free(t);
}

/* ---- versions, scalars, empty arrays ------------------------------------------- */

Test(npy_versions, v1_v2_v3_read_the_same)
{
    const char *names[] = {"v1.npy", "v2.npy", "v3.npy"};
    for (int v = 0; v < 3; v++) {
        size_t len;
        unsigned char *raw = slurp(npy(names[v]), &len);
        cr_expect_eq(raw[6], v + 1, "%s is version %d.0", names[v], v + 1);
        free(raw);
        ck_tensor *t = load_ok(names[v]);
        expect_shape(t, CK_INT32, 2, (int64_t[]){3, 4}, names[v]);
        for (int i = 0; i < 12; i++)
            cr_expect_eq(((int32_t *)t->data)[i], i, "%s[%d]", names[v], i);
        ck_tensor_free(t);
    }
}

Test(npy_shapes, scalars)
{
    expect_f64("scalar_f8.npy", (double[]){3.5}, 0, NULL);
    ck_tensor *t = load_ok("scalar_i8.npy");
    expect_shape(t, CK_INT64, 0, NULL, "scalar_i8.npy");
    cr_expect_eq(((int64_t *)t->data)[0], -7);
    ck_tensor_free(t);
}

Test(npy_shapes, empty_arrays)
{
    ck_tensor *t = load_ok("empty_f4_0x3.npy");
    expect_shape(t, CK_FLOAT32, 2, (int64_t[]){0, 3}, "empty_f4_0x3.npy");
    ck_tensor_free(t);
    t = load_ok("empty_i8_2x0x4.npy");
    expect_shape(t, CK_INT64, 3, (int64_t[]){2, 0, 4}, "empty_i8_2x0x4.npy");
    ck_tensor_free(t);
}

/* ---- headers numpy accepts ---------------------------------------------------- */

Test(npy_header, quotes_order_spacing_and_python2)
{
    float f3[] = {1.5f, -2.0f, 3.25f};
    expect_f32("hdr_double_quotes.npy", f3, 1, (int64_t[]){3});
    expect_f32("hdr_duplicate_key.npy", f3, 1, (int64_t[]){3}); /* the last 'shape' wins */
    expect_f32("trailing_bytes.npy", f3, 1, (int64_t[]){3});

    ck_tensor *t = load_ok("hdr_reordered.npy");
    expect_shape(t, CK_INT32, 2, (int64_t[]){2, 2}, "hdr_reordered.npy");
    int32_t r[] = {7, -8, 9, -10};
    for (int i = 0; i < 4; i++) cr_expect_eq(((int32_t *)t->data)[i], r[i]);
    ck_tensor_free(t);

    /* Fortran data 0..5 of shape (2, 3): C order [[0, 2, 4], [1, 3, 5]] */
    expect_f64("hdr_whitespace.npy", (double[]){0, 2, 4, 1, 3, 5}, 2, (int64_t[]){2, 3});

    t = load_ok("hdr_py2_long.npy");
    expect_shape(t, CK_INT64, 2, (int64_t[]){2, 3}, "hdr_py2_long.npy");
    for (int i = 0; i < 6; i++) cr_expect_eq(((int64_t *)t->data)[i], i);
    ck_tensor_free(t);

    expect_i32("hdr_no_padding.npy", (int32_t[]){-1, 2, -3}, 3);
}

/* More header texts, built in memory: each `ok` verdict is what Python's
 * ast.literal_eval and numpy's key checks give for the same text. */
static ck_status load_with_header(int version, const char *header, ck_tensor **out)
{
    static const unsigned char data[12] = {1, 0, 0, 0, 2, 0, 0, 0, 0xfd, 0xff, 0xff, 0xff};
    size_t hl = strlen(header), prefix = version == 1 ? 10 : 12, len = prefix + hl + sizeof data;
    unsigned char *buf = malloc(len);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++) buf[8 + i] = (unsigned char)(hl >> (8 * i));
    memcpy(buf + prefix, header, hl);
    memcpy(buf + prefix + hl, data, sizeof data);
    ck_status st = ck_npy_load_buffer(buf, len, out);
    free(buf);
    return st;
}

Test(npy_header, python_literal_details)
{
    static const struct {
        int version, ok;
        const char *header;
    } cases[] = {
        {1, 1, "{'descr':'<i4','fortran_order':False,'shape':((3,)),}"},
        {3, 1, "{u'descr': u'<i4', 'fortran_order': False, 'shape': (3,)} # comment\n"},
        {2, 1, "{'descr': '<i4',\\\n 'fortran_order': False, 'shape': (+3,)}\n"},
        {1, 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L,)}"},
        {3, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L,)}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,),,}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (,)}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': None, 'shape': (3,)}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,)} }"},
        {1, 0, "{'descr': '<i4', 'fortran_order': false, 'shape': (3,)}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3 4)}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False 'shape': (3,)}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), 5: 1}"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,)"},
        {1, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,)}"}, /* 12 bytes only */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_tensor *t = NULL;
        ck_status st = load_with_header(cases[i].version, cases[i].header, &t);
        if (cases[i].ok) {
            cr_expect_eq(st, CK_OK, "%s: %s", cases[i].header, ck_last_error());
            if (st != CK_OK) continue;
            expect_shape(t, CK_INT32, 1, (int64_t[]){3}, cases[i].header);
            cr_expect_eq(((int32_t *)t->data)[2], -3);
            ck_tensor_free(t);
        } else {
            cr_expect_eq(st, CK_FORMAT_ERROR, "%s gave %s", cases[i].header,
                         ck_status_name(st));
        }
    }
}

/* ---- malformed files ------------------------------------------------------------ */

static const struct {
    const char *file;
    const char *says;
} bad_files[] = {
    {"bad_empty_file.npy", "magic"},
    {"bad_magic.npy", "magic"},
    {"bad_version.npy", "version 4.0"},
    {"bad_minor_version.npy", "version 1.1"},
    {"bad_header_len.npy", "header length 65535"},
    {"bad_truncated_header.npy", "beyond the end"},
    {"bad_empty_header.npy", "end of the header"},
    {"bad_missing_key.npy", "no 'fortran_order' key"},
    {"bad_extra_key.npy", "unexpected key 'foo'"},
    {"bad_unparsable.npy", "cannot parse the header dict: expected a value, found '}'"},
    {"bad_not_dict.npy", "not a dict"},
    {"bad_unterminated_string.npy", "cannot parse the header dict"},
    {"bad_trailing_text.npy", "nothing after the dict"},
    {"bad_shape_list.npy", "'shape' is a list"},
    {"bad_shape_int.npy", "'shape' is an int"},
    {"bad_shape_float.npy", "not an int"},
    {"bad_fortran_not_bool.npy", "'fortran_order' is an int"},
    {"bad_negative_dim.npy", "shape (2, -1) has a negative dim"},
    {"bad_descr_not_str.npy", "'descr' is an int"},
    {"bad_deep_nesting.npy", "nested more than"},
    {"bad_v3_utf8.npy", "UTF-8"},
    {"bad_truncated_data.npy", "truncated data: shape (2, 3) of '<f8' needs 48 bytes, only 45"},
    {"bad_dtype_complex.npy", "unsupported dtype '<c8'"},
    {"bad_dtype_unicode.npy", "unsupported dtype '<U5'"},
    {"bad_dtype_void.npy", "unsupported dtype '|V8'"},
    {"bad_dtype_datetime.npy", "unsupported dtype '<M8[ns]'"},
    {"bad_dtype_bytes.npy", "unsupported dtype '|S3'"},
    {"bad_dtype_u8.npy", "unsupported dtype '<u8'"},
    {"bad_dtype_structured.npy", "structured"},
    {"bad_object.npy", "object arrays"},
    {"bad_rank9.npy", "rank 9"},
    {"bad_count_overflow.npy", "too many elements"},
    {"bad_huge_dim.npy", "too large for int64"},
};

Test(npy_errors, every_malformed_file_is_a_format_error)
{
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        const char *path = npy(bad_files[i].file);
        ck_tensor *t = (ck_tensor *)0x1;
        ck_status st = ck_npy_load(path, &t);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s gave %s: %s", bad_files[i].file,
                     ck_status_name(st), ck_last_error());
        cr_expect_eq(t, (ck_tensor *)0x1, "%s: output untouched", bad_files[i].file);
        cr_expect(strstr(ck_last_error(), bad_files[i].file) != NULL,
                  "message names the file: %s", ck_last_error());
        cr_expect(strstr(ck_last_error(), bad_files[i].says) != NULL,
                  "%s: message '%s' should say '%s'", bad_files[i].file, ck_last_error(),
                  bad_files[i].says);

        /* the same from a buffer of exactly the file's size */
        size_t len;
        unsigned char *raw = slurp(path, &len);
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, raw, len);
        st = ck_npy_load_buffer(exact, len, &t);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s (buffer) gave %s", bad_files[i].file,
                     ck_status_name(st));
        cr_expect(strstr(ck_last_error(), "npy buffer") != NULL, "%s", ck_last_error());
        free(exact);
        free(raw);
    }
}

Test(npy_errors, missing_file_and_directory_are_io_errors)
{
    ck_tensor *t = (ck_tensor *)0x1;
    cr_expect_eq(ck_npy_load(npy("no_such_file.npy"), &t), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), "no_such_file.npy") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_npy_load(ck_test_data("npy"), &t), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), "directory") != NULL, "%s", ck_last_error());
    cr_expect_eq(t, (ck_tensor *)0x1);
}

Test(npy_errors, null_arguments)
{
    ck_tensor *t = NULL;
    cr_expect_eq(ck_npy_load(NULL, &t), CK_VALUE_ERROR);
    cr_expect_eq(ck_npy_load(npy("f4.npy"), NULL), CK_VALUE_ERROR);
    cr_expect_eq(ck_npy_load_buffer(NULL, 10, &t), CK_VALUE_ERROR);
    cr_expect_eq(ck_npy_load_buffer("x", 1, NULL), CK_VALUE_ERROR);
    cr_expect_eq(ck_npy_load_buffer(NULL, 0, &t), CK_FORMAT_ERROR);
    cr_expect_eq(ck_npy_save(NULL, t), CK_VALUE_ERROR);
    cr_expect_eq(ck_npy_save(ck_test_tmp("null.npy"), NULL), CK_VALUE_ERROR);
    cr_expect_eq(t, NULL);
}

/* Every proper prefix of a valid file is an error, never an overread: the
 * prefix sits in a heap block of exactly its size so that ASan sees any
 * read past it. */
static void truncation_sweep(const char *name)
{
    size_t len;
    unsigned char *raw = slurp(npy(name), &len);
    for (size_t n = 0; n < len; n++) {
        unsigned char *prefix = malloc(n ? n : 1);
        memcpy(prefix, raw, n);
        ck_tensor *t = NULL;
        ck_status st = ck_npy_load_buffer(prefix, n, &t);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s cut to %zu of %zu bytes gave %s", name, n, len,
                     ck_status_name(st));
        cr_expect_eq(t, NULL);
        free(prefix);
    }
    unsigned char *whole = malloc(len);
    memcpy(whole, raw, len);
    ck_tensor *t = NULL;
    cr_expect_eq(ck_npy_load_buffer(whole, len, &t), CK_OK, "%s whole: %s", name,
                 ck_last_error());
    ck_tensor_free(t);
    free(whole);
    free(raw);
}

Test(npy_errors, truncation_sweep)
{
    truncation_sweep("f4.npy");
    truncation_sweep("v3.npy");
    truncation_sweep("fortran_be_i2_3d.npy");
    truncation_sweep("scalar_f8.npy");
}

/* Overwrites each header byte with characters that matter to the parser:
 * the result must be a tensor or a format error, never a crash. */
Test(npy_errors, corrupted_header_bytes)
{
    static const char *const names[] = {"hdr_whitespace.npy", "v2.npy", "f2.npy"};
    static const unsigned char subst[] = {0, 0xff, 0x80, '(', ')', '[', ']', '{', '}', '\'',
                                          '"', ',', ':', '-', '9', 'L', ' ', '\n', '\\', '#'};
    long ok = 0, failed = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t len;
        unsigned char *raw = slurp(npy(names[k]), &len);
        size_t hend = raw[6] == 1 ? 10 + (raw[8] | raw[9] << 8) : 12 + (raw[8] | raw[9] << 8);
        unsigned char *buf = malloc(len);
        for (size_t pos = 0; pos < hend && pos < len; pos++) {
            for (size_t s = 0; s < sizeof subst; s++) {
                memcpy(buf, raw, len);
                buf[pos] = subst[s];
                ck_tensor *t = NULL;
                ck_status st = ck_npy_load_buffer(buf, len, &t);
                cr_expect(st == CK_OK || st == CK_FORMAT_ERROR, "%s byte %zu = 0x%02x gave %s",
                          names[k], pos, subst[s], ck_status_name(st));
                if (st == CK_OK) ok++;
                else failed++;
                ck_tensor_free(t);
            }
        }
        free(buf);
        free(raw);
    }
    cr_expect(ok > 0 && failed > 0);
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
    unsigned char *raw = slurp(path, &len);
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
    unsigned char *a = slurp(path, &a_len), *b = slurp(npy(fixture), &b_len);
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
        unsigned char *raw = slurp(c.path, &len);
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
