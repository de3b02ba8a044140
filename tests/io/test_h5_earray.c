/* The extensible array chunk index (src/io/h5/h5_earray.c) and the
 * checksums of the chunk indexes, on files h5py wrote with libver='latest'
 * (tools/gen_h5_chunk_index_fixtures.py, tests/data/h5v2/earray*.h5,
 * fixed_array.h5, layout_v5.h5).
 * Every value read is compared with what h5py read (the .npy files of
 * tests/data/h5v2/earray_expected/); the weights file loads into the
 * fuzz_h5_weights model and predicts what tf.keras 2.15 predicted.  Then,
 * for each checksummed structure (EAHD, EAIB, EASB, EADB and its pages,
 * FHDB, FAHD, FADB), one changed byte must be refused with a format error
 * naming the structure. */
#include <criterion/criterion.h>
#include <math.h>
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

static ck_tensor *expected(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "h5v2/earray_expected/%s.npy", name);
    ck_tensor *t = NULL;
    cr_assert_eq(ck_npy_load(ck_test_data(rel), &t), CK_OK, "%s: %s", rel, ck_last_error());
    return t;
}

/* Element i of a tensor as a double (the dtypes the reader gives). */
static double at(const ck_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case CK_FLOAT32: return ((const float *)t->data)[i];
    case CK_FLOAT64: return ((const double *)t->data)[i];
    case CK_INT32: return ((const int32_t *)t->data)[i];
    case CK_INT64: return (double)((const int64_t *)t->data)[i];
    default: break;
    }
    /* narrow integers of the .npy files */
    size_t es = ck_dtype_size(t->dtype);
    if (es == 1) return ((const int8_t *)t->data)[i];
    if (es == 2) return ((const int16_t *)t->data)[i];
    cr_assert_fail("dtype %d", t->dtype);
    return 0;
}

static ck_status read_named(ck_h5r *f, const char *name, ck_tensor **out)
{
    uint64_t d = 0;
    int found = 0;
    CK_TRY(ck_h5r_find(f, ck_h5r_root(f), name, &d, &found));
    if (!found) return ck_error(CK_FORMAT_ERROR, "%s not found", name);
    return ck_h5r_read_dataset(f, d, out);
}

static void expect_same(const ck_tensor *got, const ck_tensor *want, const char *name)
{
    cr_assert_eq(got->rank, want->rank, "%s: rank %d, h5py %d", name, got->rank, want->rank);
    for (int d = 0; d < got->rank; d++)
        cr_assert_eq(got->shape[d], want->shape[d], "%s: dim %d is %lld, h5py %lld", name, d,
                     (long long)got->shape[d], (long long)want->shape[d]);
    cr_assert_eq(got->size, want->size);
    int64_t bad = 0;
    for (int64_t i = 0; i < got->size; i++)
        if (at(got, i) != at(want, i) && bad++ < 5)
            cr_expect_fail("%s[%lld] = %g, h5py %g", name, (long long)i, at(got, i), at(want, i));
    cr_expect_eq(bad, 0, "%s: %lld values differ", name, (long long)bad);
}

Test(h5_earray, every_dataset_reads_as_h5py_reads_it)
{
    static const char *names[] = {"f32", "i32_2d", "f64_gzip", "i16_fill", "empty"};
    size_t len = 0;
    uint8_t *buf = slurp(ck_test_data("h5v2/earray.h5"), &len);
    ck_h5r *f = NULL;
    cr_assert_eq(ck_h5r_open_memory(&f, buf, len, "earray.h5"), CK_OK, "%s", ck_last_error());
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        ck_tensor *got = NULL, *want = expected(names[k]);
        cr_assert_eq(read_named(f, names[k], &got), CK_OK, "%s: %s", names[k], ck_last_error());
        expect_same(got, want, names[k]);
        ck_tensor_free(got);
        ck_tensor_free(want);
    }
    ck_h5r_close(f);
    free(buf);
}

/* The fixed array index (fixed shapes), paged from 1024 chunks on. */
Test(h5_earray, fixed_array_datasets_read_as_h5py_reads_them)
{
    static const char *names[] = {"fixed", "fixed_gzip", "fixed_paged"};
    size_t len = 0;
    uint8_t *buf = slurp(ck_test_data("h5v2/fixed_array.h5"), &len);
    ck_h5r *f = NULL;
    cr_assert_eq(ck_h5r_open_memory(&f, buf, len, "fixed_array.h5"), CK_OK, "%s", ck_last_error());
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        ck_tensor *got = NULL, *want = expected(names[k]);
        cr_assert_eq(read_named(f, names[k], &got), CK_OK, "%s: %s", names[k], ck_last_error());
        expect_same(got, want, names[k]);
        ck_tensor_free(got);
        ck_tensor_free(want);
    }
    ck_h5r_close(f);
    free(buf);
}

/* libhdf5 2.0's layout message version 5 (filtered chunk sizes in fields
 * of the size of lengths), extensible and fixed array. */
Test(h5_earray, layout_version_5_reads_as_h5py_reads_it)
{
    static const char *names[] = {"ea_gzip", "fa_gzip"};
    size_t len = 0;
    uint8_t *buf = slurp(ck_test_data("h5v2/layout_v5.h5"), &len);
    ck_h5r *f = NULL;
    cr_assert_eq(ck_h5r_open_memory(&f, buf, len, "layout_v5.h5"), CK_OK, "%s", ck_last_error());
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        ck_tensor *got = NULL, *want = expected(names[k]);
        cr_assert_eq(read_named(f, names[k], &got), CK_OK, "%s: %s", names[k], ck_last_error());
        expect_same(got, want, names[k]);
        ck_tensor_free(got);
        ck_tensor_free(want);
    }
    ck_h5r_close(f);
    free(buf);
}

/* Data block pages: one page of one data block of secondary block 13
 * written, everything else never written (the fill value). */
Test(h5_earray, paged_data_blocks_and_unwritten_pages)
{
    size_t len = 0;
    uint8_t *buf = slurp(ck_test_data("h5v2/earray_paged.h5"), &len);
    ck_h5r *f = NULL;
    cr_assert_eq(ck_h5r_open_memory(&f, buf, len, "earray_paged.h5"), CK_OK, "%s", ck_last_error());
    ck_tensor *got = NULL, *where = expected("i8_paged_where"), *values = expected("i8_paged_values");
    ck_tensor *fill = expected("i8_paged_fill");
    cr_assert_eq(read_named(f, "i8_paged", &got), CK_OK, "%s", ck_last_error());
    cr_assert_eq(got->rank, 1);
    cr_assert_eq(got->shape[0], 131100);
    cr_assert_eq(where->size, values->size);
    int64_t k = 0, bad = 0;
    for (int64_t i = 0; i < got->size; i++) {
        double want = at(fill, 0);
        if (k < where->size && at(where, k) == (double)i) want = at(values, k++);
        if (at(got, i) != want && bad++ < 5)
            cr_expect_fail("i8_paged[%lld] = %g, h5py %g", (long long)i, at(got, i), want);
    }
    cr_expect_eq(k, where->size);
    cr_expect_eq(bad, 0);
    ck_tensor_free(got);
    ck_tensor_free(where);
    ck_tensor_free(values);
    ck_tensor_free(fill);
    ck_h5r_close(f);
    free(buf);
}

/* The fuzz_h5_weights model (tests/fuzz/fuzz_h5_weights.c). */
static const char FIXED_MODEL_JSON[] =
    "{\"class_name\":\"Functional\",\"config\":{\"name\":\"fixed\",\"layers\":["
    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,4],\"dtype\":\"float32\","
    "\"name\":\"x\"},\"name\":\"x\",\"inbound_nodes\":[]},"
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":8,\"activation\":\"relu\"},"
    "\"name\":\"dense\",\"inbound_nodes\":[[[\"x\",0,0,{}]]]},"
    "{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":\"bn\",\"axis\":[1]},"
    "\"name\":\"bn\",\"inbound_nodes\":[[[\"dense\",0,0,{}]]]},"
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":3},"
    "\"name\":\"out\",\"inbound_nodes\":[[[\"bn\",0,0,{}]]]}],"
    "\"input_layers\":[[\"x\",0,0]],\"output_layers\":[[\"out\",0,0]]}}";

Test(h5_earray, keras_weights_in_extensible_arrays_load_and_predict)
{
    ck_tensor *flat = expected("weights"), *x = expected("x"), *y = expected("y");
    for (int by_name = 0; by_name <= 1; by_name++) {
        ck_model *m = NULL;
        cr_assert_eq(ck_model_from_json(FIXED_MODEL_JSON, &m), CK_OK, "%s", ck_last_error());
        cr_assert_eq(ck_model_load_weights(m, ck_test_data("h5v2/earray_weights.h5"), by_name), CK_OK, "%s",
                     ck_last_error());
        /* every weight, layer by layer in Keras' order, as h5py read it */
        static const char *layers[] = {"dense", "bn", "out"};
        int64_t k = 0;
        for (int li = 0; li < 3; li++) {
            ck_layer *l = NULL;
            cr_assert_eq(ck_model_get_layer(m, layers[li], &l), CK_OK, "%s", ck_last_error());
            for (int w = 0; w < ck_layer_weight_count(l); w++) {
                const ck_tensor *t = ck_weight_value(ck_layer_weight(l, w));
                for (int64_t e = 0; e < t->size; e++, k++) {
                    cr_assert_lt(k, flat->size);
                    float got = ((const float *)t->data)[e], want = ((const float *)flat->data)[k];
                    cr_expect_eq(got, want, "%s weight %d [%lld]: %g, h5py %g", layers[li], w, (long long)e, got, want);
                }
            }
        }
        cr_expect_eq(k, flat->size);
        ck_tensor *out = NULL;
        cr_assert_eq(ck_model_predict(m, 1, &x, &out, 0), CK_OK, "%s", ck_last_error());
        cr_assert_eq(out->size, y->size);
        for (int64_t i = 0; i < y->size; i++)
            cr_expect(fabsf(((float *)out->data)[i] - ((float *)y->data)[i]) <= 1e-5f, "y[%lld] = %g, tf.keras %g",
                      (long long)i, ((float *)out->data)[i], ((float *)y->data)[i]);
        ck_tensor_free(out);
        ck_model_free(m);
    }
    ck_tensor_free(flat);
    ck_tensor_free(x);
    ck_tensor_free(y);
}

/* ======================================================================== */
/* checksums                                                                 */
/* ======================================================================== */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The checksum of the structure whose signature is at `sig`: the first
 * place p where the 4 bytes hold lookup3 of [sig, p).  (A fractal heap
 * direct block sums the whole block with its checksum field zeroed; the
 * test finds that field by trying each place after the fixed fields.) */
static size_t checksum_at(const uint8_t *buf, size_t len, size_t sig)
{
    for (size_t p = sig + 8; p + 4 <= len && p < sig + 20000; p++)
        if (le32(buf + p) == h5r_lookup3(buf + sig, p - sig, 0)) return p;
    return 0;
}

/* A fractal heap direct block's checksum field (offsets of 8 bytes: after
 * the signature, version, heap address and a block offset of 1..8 bytes)
 * whose sum over a whole block of 2^k bytes, the field read as zeros, is
 * stored there; *size receives the block size. */
static size_t fhdb_checksum_at(const uint8_t *buf, size_t len, size_t sig, size_t *size)
{
    for (size_t ob = 1; ob <= 8; ob++) {
        size_t p = sig + 13 + ob;
        for (size_t n = 64; n <= 65536 && sig + n <= len; n *= 2)
            if (p + 4 <= sig + n && le32(buf + p) == h5r_lookup3_hole(buf + sig, n, 0, p - sig)) {
                *size = n;
                return p;
            }
    }
    return 0;
}

/* A data block page's checksum: `page` bytes of elements at p, then the sum. */
static int page_sum_ok(const uint8_t *buf, size_t len, size_t p, size_t page)
{
    return p + page + 4 <= len && le32(buf + p + page) == h5r_lookup3(buf + p, page, 0);
}

typedef struct damage_case {
    const char *file;
    const char *names[6];
    size_t n_names;
    const char *attrs_of;           /* a group whose attributes are read too */
} damage_case;

/* Reads every dataset of the file (and for the weights file loads it into
 * the model), so that every structure is visited. */
static ck_status read_everything(const uint8_t *buf, size_t len, const damage_case *dc)
{
    const char *const *names = dc->names;
    size_t n = dc->n_names;
    ck_h5r *f = NULL;
    CK_TRY(ck_h5r_open_memory(&f, buf, len, "damaged.h5"));
    ck_status st = CK_OK;
    if (dc->attrs_of) {
        uint64_t g = 0;
        int found = 0;
        char **attrs = NULL;
        size_t na = 0;
        st = ck_h5r_find(f, ck_h5r_root(f), dc->attrs_of, &g, &found);
        if (st == CK_OK && !found) st = ck_error(CK_FORMAT_ERROR, "%s not found", dc->attrs_of);
        if (st == CK_OK) st = ck_h5r_attr_names(f, g, &attrs, &na);
        if (attrs) ck_h5r_free_strings(attrs, na);
    }
    for (size_t k = 0; k < n && st == CK_OK; k++) {
        ck_tensor *t = NULL;
        st = read_named(f, names[k], &t);
        ck_tensor_free(t);
    }
    ck_h5r_close(f);
    return st;
}

/* Flips the last checksummed byte of every structure `sig` (or of the
 * pages after an EADB/FADB prefix when `pages` is set, of `page_bytes`
 * each) and expects the error to name `named`.  Returns how many were
 * found. */
static int flip_each(const damage_case *dc, const char *sig, const char *named, size_t page_bytes)
{
    size_t len = 0;
    uint8_t *orig = slurp(ck_test_data(dc->file), &len);
    uint8_t *buf = malloc(len);
    cr_assert(buf);
    int seen = 0;
    for (size_t s = 0; s + 4 <= len; s++) {
        if (memcmp(orig + s, sig, 4) != 0) continue;
        size_t fh_size = 0;
        int fhdb = !memcmp(sig, "FHDB", 4);
        size_t p = fhdb ? fhdb_checksum_at(orig, len, s, &fh_size) : checksum_at(orig, len, s);
        if (!p) continue;                   /* the same 4 bytes inside data */
        size_t target = fhdb ? s + fh_size - 1 : p - 1;     /* a direct block's last byte */
        if (page_bytes) {                   /* the first written page after the prefix */
            size_t q = p + 4;
            int found = 0;
            for (int k = 0; k < 4 && !found; k++, q += page_bytes + 4)
                if (page_sum_ok(orig, len, q, page_bytes)) found = 1;
            if (!found) continue;
            target = q - 4 - 1;             /* its last element byte */
        }
        seen++;
        memcpy(buf, orig, len);
        buf[target] ^= 0x10;
        ck_status st = read_everything(buf, len, dc);
        cr_expect_eq(st, CK_FORMAT_ERROR, "%s: %s at %zu, byte %zu changed: status %d", dc->file, sig, s, target, st);
        cr_expect(strstr(ck_last_error(), "checksum mismatch") && strstr(ck_last_error(), named),
                  "%s: %s at %zu, byte %zu changed: '%s'", dc->file, sig, s, target, ck_last_error());
    }
    free(buf);
    free(orig);
    return seen;
}

static const damage_case EARRAY = {"h5v2/earray.h5", {"f32", "i32_2d", "f64_gzip", "i16_fill", "empty"}, 5, NULL};
static const damage_case PAGED = {"h5v2/earray_paged.h5", {"i8_paged"}, 1, NULL};

Test(h5_earray, a_changed_byte_in_each_extensible_array_structure_is_refused)
{
    cr_expect_gt(flip_each(&EARRAY, "EAHD", "extensible array header (EAHD)", 0), 0);
    cr_expect_gt(flip_each(&EARRAY, "EAIB", "extensible array index block (EAIB)", 0), 0);
    cr_expect_gt(flip_each(&EARRAY, "EASB", "extensible array secondary block (EASB)", 0), 0);
    cr_expect_gt(flip_each(&EARRAY, "EADB", "extensible array data block (EADB)", 0), 0);
    cr_expect_gt(flip_each(&PAGED, "EASB", "extensible array secondary block (EASB)", 0), 0);
    cr_expect_gt(flip_each(&PAGED, "EADB", "extensible array data block (EADB)", 0), 0);
    /* pages of 1024 addresses of 8 bytes */
    cr_expect_gt(flip_each(&PAGED, "EADB", "extensible array data block page (EADB)", 1024 * 8), 0);
}

/* The fixed array index (a chunked dataset of fixed shape) and the
 * fractal heap direct blocks of the dense group in latest.h5. */
Test(h5_earray, a_changed_byte_in_fixed_arrays_and_heap_direct_blocks_is_refused)
{
    static const damage_case FIXED = {"h5v2/fixed_array.h5", {"fixed", "fixed_gzip", "fixed_paged"}, 3, NULL};
    static const damage_case LATEST = {"h5v2/latest.h5", {"g/l000", "g/l123", "g/l299"}, 3, "g"};
    cr_expect_gt(flip_each(&FIXED, "FAHD", "fixed array header (FAHD)", 0), 0);
    cr_expect_gt(flip_each(&FIXED, "FADB", "fixed array data block (FADB)", 0), 0);
    /* pages of 1024 addresses of 8 bytes */
    cr_expect_gt(flip_each(&FIXED, "FADB", "fixed array data block page (FADB)", 1024 * 8), 0);
    cr_expect_gt(flip_each(&LATEST, "FHDB", "fractal heap direct block (FHDB)", 0), 0);
}

/* Header fields that cannot be right, behind a valid checksum (recomputed
 * after the change): refused naming what is wrong. */
Test(h5_earray, impossible_header_fields_are_refused)
{
    static const struct {
        size_t field;                   /* offset from the EAHD signature */
        uint8_t value;
        const char *named;
    } cases[] = {
        {4, 1, "extensible array header of version 1"},
        {5, 1, "for client 1 (the dataset is not filtered)"},
        {6, 9, "extensible array with elements of 9 bytes"},
        {7, 0, "impossible parameters (0 bits"},
        {9, 12, "blocks of 12 elements"},
        {10, 3, "3 pointers"},
        {11, 40, "pages of 2^40"},
    };
    size_t len = 0;
    uint8_t *orig = slurp(ck_test_data("h5v2/earray.h5"), &len);
    uint8_t *buf = malloc(len);
    cr_assert(buf);
    size_t s = 0;
    while (s + 4 <= len && memcmp(orig + s, "EAHD", 4) != 0) s++;
    cr_assert(s + 4 <= len);
    size_t p = checksum_at(orig, len, s);
    cr_assert(p);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        memcpy(buf, orig, len);
        buf[s + cases[k].field] = cases[k].value;
        uint32_t sum = h5r_lookup3(buf + s, p - s, 0);
        for (int b = 0; b < 4; b++) buf[p + (size_t)b] = (uint8_t)(sum >> (8 * b));
        ck_status st = read_everything(buf, len, &EARRAY);
        cr_expect_eq(st, CK_FORMAT_ERROR, "field %zu = %u: status %d", cases[k].field, cases[k].value, st);
        cr_expect(strstr(ck_last_error(), cases[k].named), "field %zu = %u: '%s'", cases[k].field, cases[k].value,
                  ck_last_error());
    }
    free(buf);
    free(orig);
}
