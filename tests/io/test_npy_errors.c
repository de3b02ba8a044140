/* ck_npy_load / ck_npy_load_buffer on malformed npy files (written by
 * tools/gen_npy_fixtures.py), missing files, NULL arguments, truncated
 * copies and corrupted header bytes: format errors, never a crash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "support/file_bytes.h"
#include "support/support.h"

static const char *npy(const char *name)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "npy/%s", name);
    return ck_test_data(buf);
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
        unsigned char *raw = ck_test_file_bytes(path, &len);
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
    unsigned char *raw = ck_test_file_bytes(npy(name), &len);
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
        unsigned char *raw = ck_test_file_bytes(npy(names[k]), &len);
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

