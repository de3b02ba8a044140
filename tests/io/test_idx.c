/* IDX files: every element type decoded from big-endian bytes written here
 * by hand, plain and gzip'd; every malformed file a clean CK_FORMAT_ERROR;
 * and the real Fashion-MNIST files of Debian's dataset-fashion-mnist when
 * they are installed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ckeras.h"
#include "support/support.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static void write_plain(const char *path, const unsigned char *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(bytes, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const unsigned char *bytes, size_t n)
{
    gzFile g = gzopen(path, "wb");
    cr_assert_not_null(g);
    cr_assert_eq(gzwrite(g, bytes, (unsigned)n), (int)n);
    cr_assert_eq(gzclose(g), Z_OK);
}

/* The file's bytes (for cutting and corrupting them). */
static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* A 2x3x2 uint8 file: the values 0, 1, ..., 10, 255. */
static size_t make_u8(unsigned char *b)
{
    size_t n = 0;
    const unsigned char head[] = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 2};
    memcpy(b, head, sizeof head);
    n = sizeof head;
    for (int i = 0; i < 11; i++) b[n++] = (unsigned char)i;
    b[n++] = 255;
    return n;
}

static void expect_u8(const ck_tensor *t)
{
    cr_assert_eq(t->dtype, CK_INT32);
    cr_assert_eq(t->rank, 3);
    cr_expect(t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 2);
    for (int i = 0; i < 11; i++) cr_expect_eq(((int32_t *)t->data)[i], i);
    cr_expect_eq(((int32_t *)t->data)[11], 255);
}

Test(idx, uint8_plain_and_gzip)
{
    unsigned char b[64];
    size_t n = make_u8(b);
    const char *plain = ck_test_tmp("u8.idx"), *gz = NULL;
    char gz_path[4096];
    write_plain(plain, b, n);
    snprintf(gz_path, sizeof gz_path, "%s", ck_test_tmp("u8.idx.gz"));
    gz = gz_path;
    write_gz(gz, b, n);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_idx_load(ck_test_tmp("u8.idx"), &t), CK_OK, "%s", ck_last_error());
    expect_u8(t);
    ck_tensor_free(t);
    t = NULL;
    cr_assert_eq(ck_idx_load(gz, &t), CK_OK, "%s", ck_last_error());
    expect_u8(t);
    ck_tensor_free(t);
    unlink(ck_test_tmp("u8.idx"));
    unlink(gz);
}

Test(idx, every_element_type_big_endian)
{
    const char *path = ck_test_tmp("types.idx");
    ck_tensor *t = NULL;
    /* int8: -1, 127, -128 */
    const unsigned char s8[] = {0, 0, 0x09, 1, 0, 0, 0, 3, 0xff, 0x7f, 0x80};
    write_plain(path, s8, sizeof s8);
    cr_assert_eq(ck_idx_load(path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->dtype == CK_INT32 && t->shape[0] == 3);
    cr_expect(ck_tensor_get(t, 0) == -1 && ck_tensor_get(t, 1) == 127 && ck_tensor_get(t, 2) == -128);
    ck_tensor_free(t);
    /* int16: 0x0102 = 258, 0xfffe = -2 */
    const unsigned char s16[] = {0, 0, 0x0B, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe};
    write_plain(path, s16, sizeof s16);
    cr_assert_eq(ck_idx_load(path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->dtype == CK_INT32 && ck_tensor_get(t, 0) == 258 && ck_tensor_get(t, 1) == -2);
    ck_tensor_free(t);
    /* int32: 0x01020304, -5 */
    const unsigned char s32[] = {0, 0, 0x0C, 1, 0, 0, 0, 2, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xfb};
    write_plain(path, s32, sizeof s32);
    cr_assert_eq(ck_idx_load(path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->dtype == CK_INT32 && ck_tensor_get(t, 0) == 0x01020304 && ck_tensor_get(t, 1) == -5);
    ck_tensor_free(t);
    /* float32: 1.5 = 0x3fc00000, -2 = 0xc0000000; shape (1, 2) */
    const unsigned char f32[] = {0, 0, 0x0D, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0};
    write_plain(path, f32, sizeof f32);
    cr_assert_eq(ck_idx_load(path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->dtype == CK_FLOAT32 && t->rank == 2 && t->shape[1] == 2);
    cr_expect(ck_tensor_get(t, 0) == 1.5 && ck_tensor_get(t, 1) == -2.0);
    ck_tensor_free(t);
    /* float64: 0.25 = 0x3fd0000000000000 */
    const unsigned char f64[] = {0, 0, 0x0E, 1, 0, 0, 0, 1, 0x3f, 0xd0, 0, 0, 0, 0, 0, 0};
    write_plain(path, f64, sizeof f64);
    cr_assert_eq(ck_idx_load(path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->dtype == CK_FLOAT64 && ck_tensor_get(t, 0) == 0.25);
    ck_tensor_free(t);
    /* a zero dim: an empty tensor of the announced shape */
    const unsigned char empty[] = {0, 0, 0x08, 2, 0, 0, 0, 0, 0, 0, 0, 5};
    write_plain(path, empty, sizeof empty);
    cr_assert_eq(ck_idx_load(path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->size == 0 && t->shape[1] == 5);
    ck_tensor_free(t);
    unlink(path);
}

static void expect_format_error(const char *path, const char *needle)
{
    ck_tensor *t = (ck_tensor *)0x1;
    cr_expect_eq(ck_idx_load(path, &t), CK_FORMAT_ERROR, "%s: %s", needle, ck_last_error());
    cr_expect(t == (ck_tensor *)0x1, "out untouched on error");
    cr_expect(strstr(ck_last_error(), needle) != NULL, "'%s' not in: %s", needle, ck_last_error());
    cr_expect(strstr(ck_last_error(), "idx file '") != NULL, "names the file: %s", ck_last_error());
}

Test(idx, malformed_plain_files_are_format_errors)
{
    unsigned char good[64], b[64];
    size_t n = make_u8(good);
    const char *path = ck_test_tmp("bad.idx");
    /* cut anywhere: inside the magic, the dims, the data */
    for (size_t cut = 0; cut < n; cut++) {
        write_plain(path, good, cut);
        expect_format_error(path, "truncated");
    }
    memcpy(b, good, n);
    b[n] = 7;
    write_plain(path, b, n + 1);
    expect_format_error(path, "bytes after");
    memcpy(b, good, n);
    b[1] = 8;
    write_plain(path, b, n);
    expect_format_error(path, "bad magic");
    memcpy(b, good, n);
    b[2] = 0x0A;
    write_plain(path, b, n);
    expect_format_error(path, "unknown element type 0x0a");
    memcpy(b, good, n);
    b[3] = 0;
    write_plain(path, b, n);
    expect_format_error(path, "rank 0");
    b[3] = 9;
    write_plain(path, b, n);
    expect_format_error(path, "rank 9");
    /* a header announcing 4e9 x 4e9 x 4e9 elements: no such allocation */
    const unsigned char huge[] = {0, 0, 0x08, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2};
    write_plain(path, huge, sizeof huge);
    expect_format_error(path, "dims too large");
    /* 60000 x 28 x 28 announced, 3 bytes present */
    const unsigned char big[] = {0, 0, 0x08, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3};
    write_plain(path, big, sizeof big);
    expect_format_error(path, "truncated data");
    unlink(path);
}

Test(idx, damaged_gzip_files_are_format_errors)
{
    /* Enough data for a real deflate stream (not stored) to damage. */
    static unsigned char raw[16 + 4000], gz[8192], b[8192];
    const unsigned char head[] = {0, 0, 0x08, 2, 0, 0, 0, 40, 0, 0, 0, 100};
    memcpy(raw, head, sizeof head);
    for (int i = 0; i < 4000; i++) raw[sizeof head + (size_t)i] = (unsigned char)(i * 7 % 251);
    size_t n_raw = sizeof head + 4000;
    char gz_path[4096];
    snprintf(gz_path, sizeof gz_path, "%s", ck_test_tmp("good.idx.gz"));
    write_gz(gz_path, raw, n_raw);
    size_t n = slurp(gz_path, gz, sizeof gz);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_idx_load(gz_path, &t), CK_OK, "%s", ck_last_error());
    cr_expect(t->shape[0] == 40 && t->shape[1] == 100 && ck_tensor_get(t, 3999) == 3999 * 7 % 251);
    ck_tensor_free(t);
    const char *path = ck_test_tmp("bad.idx.gz");
    /* cut-off streams: inside the deflate data, and inside the 8-byte trailer */
    size_t cuts[] = {n / 2, n - 6, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        write_plain(path, gz, cuts[i]);
        t = (ck_tensor *)0x1;
        cr_expect_eq(ck_idx_load(path, &t), CK_FORMAT_ERROR, "cut at %zu of %zu: %s", cuts[i], n, ck_last_error());
        cr_expect(t == (ck_tensor *)0x1);
    }
    /* a wrong CRC (the trailer's first byte) */
    memcpy(b, gz, n);
    b[n - 8] ^= 0x55;
    write_plain(path, b, n);
    expect_format_error(path, "corrupt gzip data");
    /* flipped bits in the deflate data */
    memcpy(b, gz, n);
    for (size_t i = 20; i < 40; i++) b[i] ^= 0xa5;
    write_plain(path, b, n);
    t = (ck_tensor *)0x1;
    cr_expect_eq(ck_idx_load(path, &t), CK_FORMAT_ERROR, "%s", ck_last_error());
    cr_expect(t == (ck_tensor *)0x1);
    unlink(path);
    unlink(gz_path);
}

Test(idx, missing_file_is_an_io_error)
{
    ck_tensor *t = NULL;
    cr_expect_eq(ck_idx_load(ck_test_tmp("no-such-file.idx.gz"), &t), CK_IO_ERROR);
    cr_expect(strstr(ck_last_error(), "no-such-file") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_idx_load(NULL, &t), CK_VALUE_ERROR);
    cr_expect_null(t);
}

static ck_status load_small(void *ctx)
{
    return ck_idx_load(ck_test_tmp("oom.idx"), (ck_tensor **)ctx);
}

static void free_small(void *ctx)
{
    ck_tensor **t = ctx;
    ck_tensor_free(*t);
    *t = NULL;
}

Test(idx, every_allocation_failure_is_clean)
{
    unsigned char b[64];
    write_plain(ck_test_tmp("oom.idx"), b, make_u8(b));
    ck_tensor *t = NULL;
    cr_expect_geq(ck_test_every_allocation_fails(load_small, free_small, &t), 2);
    unlink(ck_test_tmp("oom.idx"));
}

/* The real files: shapes, label counts (6000 / 1000 per class) and pixel
 * range, as the dataset's README states them. */
static void check_fashion(const char *images, const char *labels, int64_t n)
{
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/%s", FASHION_DIR, images);
    snprintf(lp, sizeof lp, "%s/%s", FASHION_DIR, labels);
    if (access(ip, R_OK) != 0 || access(lp, R_OK) != 0) cr_skip_test("dataset-fashion-mnist is not installed");
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_idx_load(ip, &x), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_idx_load(lp, &y), CK_OK, "%s", ck_last_error());
    cr_expect(x->dtype == CK_INT32 && x->rank == 3 && x->shape[0] == n && x->shape[1] == 28 && x->shape[2] == 28);
    cr_expect(y->dtype == CK_INT32 && y->rank == 1 && y->shape[0] == n);
    int32_t lo = 255, hi = 0;
    for (int64_t i = 0; i < x->size; i++) {
        int32_t v = ((int32_t *)x->data)[i];
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    cr_expect(lo == 0 && hi == 255, "pixels in [%d, %d]", lo, hi);
    int64_t count[10] = {0};
    for (int64_t i = 0; i < n; i++) {
        int32_t c = ((int32_t *)y->data)[i];
        cr_assert(c >= 0 && c < 10, "label %d", c);
        count[c]++;
    }
    for (int c = 0; c < 10; c++) cr_expect_eq(count[c], n / 10, "class %d: %lld", c, (long long)count[c]);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

Test(idx, fashion_mnist_train, .timeout = 60)
{
    check_fashion("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60000);
}

Test(idx, fashion_mnist_test, .timeout = 60)
{
    check_fashion("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10000);
}
