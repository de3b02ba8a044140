/* The checksums of HDF5's version 2 structures (src/io/h5/h5_checksum.c)
 * on a file h5py wrote with libver='latest' (tools/gen_h5_v2_fixtures.py:
 * superblock v3, object headers v2, a dense group of 300 links and 40
 * attributes in fractal heaps and v2 B-trees).  The file reads whole, as
 * h5py wrote it; then, for each checksummed structure, one byte inside it
 * is changed and the reader must refuse the file with a format error
 * naming that structure.  The lookup3 hash itself is checked against the
 * values of Bob Jenkins' reference driver. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5/h5.h"
#include "io/h5/h5_internal.h"
#include "support/support.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    cr_assert(buf && fread(buf, 1, (size_t)n, fp) == (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

Test(h5_checksums, lookup3_reference_values)
{
    /* lookup3.c's driver5: hashlittle("", 0, 0) and of "Four score and
     * seven years ago" with initval 0 and 1 */
    cr_expect_eq(h5r_lookup3((const uint8_t *)"", 0, 0), 0xdeadbeefu);
    const char *s = "Four score and seven years ago";
    cr_expect_eq(h5r_lookup3((const uint8_t *)s, 30, 0), 0x17770551u, "%08x", h5r_lookup3((const uint8_t *)s, 30, 0));
    cr_expect_eq(h5r_lookup3((const uint8_t *)s, 30, 1), 0xcd628161u, "%08x", h5r_lookup3((const uint8_t *)s, 30, 1));
}

/* Everything of the file, as h5py wrote it. */
Test(h5_checksums, the_latest_format_reads_whole)
{
    size_t len = 0;
    uint8_t *buf = slurp(ck_test_data("h5v2/latest.h5"), &len);
    ck_h5r *f = NULL;
    cr_assert_eq(ck_h5r_open_memory(&f, buf, len, "latest.h5"), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_h5r_superblock_version(f), 3);
    uint64_t g = 0, d = 0;
    int found = 0;
    cr_assert_eq(ck_h5r_find(f, ck_h5r_root(f), "g", &g, &found), CK_OK, "%s", ck_last_error());
    cr_assert(found);
    ck_h5r_link *links = NULL;
    size_t n = 0;
    cr_assert_eq(ck_h5r_links(f, g, &links, &n), CK_OK, "%s", ck_last_error());
    cr_expect_eq(n, 300);
    cr_expect_str_eq(links[299].name, "l299");
    ck_h5r_free_links(links, n);
    char **names = NULL;
    cr_assert_eq(ck_h5r_attr_names(f, g, &names, &n), CK_OK, "%s", ck_last_error());
    cr_expect_eq(n, 40);
    ck_h5r_free_strings(names, n);
    cr_assert_eq(ck_h5r_find(f, ck_h5r_root(f), "g/l123", &d, &found), CK_OK, "%s", ck_last_error());
    cr_assert(found);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_h5r_read_dataset(f, d, &t), CK_OK, "%s", ck_last_error());
    cr_expect_eq(t->size, 12);
    cr_expect_float_eq(((float *)t->data)[11], 11.0f / 8, 0);
    ck_tensor_free(t);
    char *text = NULL;
    cr_expect_eq(ck_h5r_dump(f, &text), CK_OK, "%s", ck_last_error());
    ck_free(text);
    ck_h5r_close(f);
    free(buf);
}

/* The checksum of the structure whose signature is at `sig`: the first
 * place p where the 4 bytes hold lookup3 of [sig, p). */
static size_t checksum_at(const uint8_t *buf, size_t len, size_t sig)
{
    for (size_t p = sig + 8; p + 4 <= len && p < sig + 8192; p++) {
        uint32_t stored = (uint32_t)buf[p] | (uint32_t)buf[p + 1] << 8 | (uint32_t)buf[p + 2] << 16 |
                          (uint32_t)buf[p + 3] << 24;
        if (stored == h5r_lookup3(buf + sig, p - sig, 0)) return p;
    }
    return 0;
}

/* Opens the damaged image and reads what the fixture holds: the group's
 * links and attributes (through their heaps and name indexes) and a
 * dataset through one of the links.  (ck_h5r_dump would note a failure in
 * its text and go on.) */
static ck_status open_and_read(const uint8_t *buf, size_t len)
{
    ck_h5r *f = NULL;
    CK_TRY(ck_h5r_open_memory(&f, buf, len, "damaged.h5"));
    uint64_t g = 0, d = 0;
    int found = 0;
    ck_h5r_link *links = NULL;
    char **names = NULL;
    size_t n = 0, na = 0;
    ck_tensor *t = NULL;
    ck_status st = ck_h5r_find(f, ck_h5r_root(f), "g", &g, &found);
    if (st == CK_OK && !found) st = ck_error(CK_FORMAT_ERROR, "g not found");
    if (st == CK_OK) st = ck_h5r_links(f, g, &links, &n);
    if (st == CK_OK) st = ck_h5r_attr_names(f, g, &names, &na);
    if (st == CK_OK) st = ck_h5r_find(f, ck_h5r_root(f), "g/l123", &d, &found);
    if (st == CK_OK && !found) st = ck_error(CK_FORMAT_ERROR, "g/l123 not found");
    if (st == CK_OK) st = ck_h5r_read_dataset(f, d, &t);
    ck_tensor_free(t);
    if (links) ck_h5r_free_links(links, n);
    if (names) ck_h5r_free_strings(names, na);
    ck_h5r_close(f);
    return st;
}

Test(h5_checksums, a_changed_byte_is_refused_naming_the_structure)
{
    static const struct {
        const char *sig, *named;
    } kinds[] = {
        {"\x89HDF", "the superblock"}, {"OHDR", "object header (OHDR)"},
        {"FRHP", "fractal heap header (FRHP)"}, {"FHIB", "fractal heap indirect block (FHIB)"},
        {"BTHD", "v2 B-tree header (BTHD)"}, {"BTIN", "v2 B-tree internal node (BTIN)"},
        {"BTLF", "v2 B-tree leaf node (BTLF)"},
    };
    size_t len = 0;
    uint8_t *orig = slurp(ck_test_data("h5v2/latest.h5"), &len);
    uint8_t *buf = malloc(len);
    cr_assert(buf);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        int seen = 0;
        for (size_t s = 0; s + 4 <= len; s++) {
            if (memcmp(orig + s, kinds[k].sig, 4) != 0) continue;
            size_t p = checksum_at(orig, len, s);
            if (!p) continue; /* the same 4 bytes inside data, not a structure */
            seen++;
            /* the last checksummed byte: every field before it was read */
            memcpy(buf, orig, len);
            buf[p - 1] ^= 0x10;
            ck_status st = open_and_read(buf, len);
            cr_expect_eq(st, CK_FORMAT_ERROR, "%s at %zu, byte %zu changed: status %d", kinds[k].sig + (k == 0), s,
                         p - 1, st);
            cr_expect(strstr(ck_last_error(), "checksum mismatch") && strstr(ck_last_error(), kinds[k].named),
                      "%s at %zu, byte %zu changed: '%s'", kinds[k].sig + (k == 0), s, p - 1, ck_last_error());
        }
        cr_expect(seen > 0, "no %s structure in the fixture", kinds[k].sig + (k == 0));
    }
    free(buf);
    free(orig);
}
