/* ck_npy_load against files written by numpy (tools/gen_npy_fixtures.py,
 * which also holds the expected values checked here): widened dtypes, byte
 * order, Fortran order, versions, scalars, empty arrays and the headers
 * numpy accepts.  Malformed files: test_npy_errors.c; saving:
 * test_npy_save.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/file_bytes.h"
#include "support/support.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *npy(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "npy/%s", name);
    return ck_test_data(buf);
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
        unsigned char *raw = ck_test_file_bytes(npy(names[v]), &len);
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

