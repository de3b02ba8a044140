/* libhdf5 helpers for the tests' oracle (ck_h5_describe and the libhdf5
 * cross-checks): opening, errors, the object tree, string attributes,
 * dataset storage checks.  These were the library's own before it got its
 * own HDF5 reader and writer (src/io/h5/); they stay here so that tests can
 * compare ckeras' files with what libhdf5 itself sees.  See h5_oracle.h. */
#include "support/h5_oracle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* errors                                                                    */
/* ======================================================================== */

void ck_h5o_quiet_begin(ck_h5o_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ck_h5o_quiet_end(const ck_h5o_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct detail_buf {
    char text[256];
} detail_buf;

static herr_t innermost_error(unsigned n, const H5E_error2_t *err, void *data)
{
    detail_buf *d = data;
    if (n == 0 && err && err->desc) snprintf(d->text, sizeof d->text, "%s", err->desc);
    return 0;
}

ck_status ck_h5o_fail(ck_status status, const char *file, const char *fmt, ...)
{
    char msg[640];
    detail_buf d;
    d.text[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &d);
    H5Eclear2(H5E_DEFAULT);
    if (d.text[0]) return ck_error(status, "%s: %s (libhdf5: %s)", file, msg, d.text);
    return ck_error(status, "%s: %s", file, msg);
}

void ck_h5o_close(hid_t id)
{
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

const char *ck_h5o_type_class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "vlen";
    case H5T_ARRAY: return "array";
    default: return "unknown";
    }
}

/* ======================================================================== */
/* opening                                                                   */
/* ======================================================================== */

static const unsigned char h5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

ck_status ck_h5o_open(const char *path, hid_t *fid, hsize_t *size)
{
    if (!path) return ck_error(CK_VALUE_ERROR, "HDF5 file path is NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp) return ck_error(CK_IO_ERROR, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[8];
    size_t got = fread(head, 1, sizeof head, fp);
    int read_error = ferror(fp), err = errno;
    fclose(fp);
    if (read_error) return ck_error(CK_IO_ERROR, "%s: cannot read: %s", path, strerror(err));
    int has_signature = got == sizeof head && memcmp(head, h5_signature, sizeof head) == 0;

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        if (!has_signature) {
            H5Eclear2(H5E_DEFAULT);
            return ck_error(CK_FORMAT_ERROR, "%s: not an HDF5 file (no HDF5 signature)", path);
        }
        return ck_h5o_fail(CK_FORMAT_ERROR, path, "damaged or truncated HDF5 file");
    }
    hsize_t sz = 0;
    if (H5Fget_filesize(f, &sz) < 0) {
        ck_status st = ck_h5o_fail(CK_FORMAT_ERROR, path, "cannot get the file size");
        H5Fclose(f);
        return st;
    }
    *fid = f;
    if (size) *size = sz;
    return CK_OK;
}





/* ======================================================================== */
/* tree                                                                      */
/* ======================================================================== */

ck_h5o_kind ck_h5o_kind_of(hid_t loc, const char *name)
{
    /* H5Lexists fails (rather than saying no) when an intermediate group of
     * a path is missing; both mean "not there". */
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    if (ex <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5O_OTHER;
    }
    H5L_info_t li;
    if (H5Lget_info(loc, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5O_OTHER;
    }
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5O_BROKEN;
    }
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t == H5I_GROUP ? CK_H5O_GROUP : t == H5I_DATASET ? CK_H5O_DATASET : CK_H5O_OTHER;
}

void ck_h5o_free_children(ck_h5o_child *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) ck_free(c[i].name);
    ck_free(c);
}

static int child_cmp(const void *a, const void *b)
{
    return strcmp(((const ck_h5o_child *)a)->name, ((const ck_h5o_child *)b)->name);
}

ck_status ck_h5o_list_children(hid_t g, const char *file, const char *where,
                               ck_h5o_child **out, size_t *n_out)
{
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0)
        return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot list group %s", where);
    if (gi.nlinks > CK_H5O_MAX_STRINGS)
        return ck_error(CK_FORMAT_ERROR, "%s: group %s claims %llu links", file, where,
                        (unsigned long long)gi.nlinks);
    size_t n = (size_t)gi.nlinks;
    ck_h5o_child *c = ck_calloc(n ? n : 1, sizeof *c);
    if (!c) return ck_oom("a list of HDF5 links");
    ck_status st = CK_OK;
    for (size_t i = 0; i < n; i++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, NULL, 0,
                                         H5P_DEFAULT);
        if (len < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read link %zu of group %s", i, where);
            break;
        }
        c[i].name = ck_malloc((size_t)len + 1);
        if (!c[i].name) {
            st = ck_oom("an HDF5 link name");
            break;
        }
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, c[i].name,
                               (size_t)len + 1, H5P_DEFAULT) < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read link %zu of group %s", i, where);
            break;
        }
        c[i].kind = ck_h5o_kind_of(g, c[i].name);
        if (c[i].kind == CK_H5O_BROKEN) {
            st = ck_error(CK_FORMAT_ERROR, "%s: object %s/%s cannot be read (damaged or truncated file)",
                          file, strcmp(where, "/") == 0 ? "" : where, c[i].name);
            break;
        }
    }
    if (st != CK_OK) {
        ck_h5o_free_children(c, n);
        return st;
    }
    qsort(c, n, sizeof *c, child_cmp);
    *out = c;
    *n_out = n;
    return CK_OK;
}

/* ======================================================================== */
/* string attributes                                                         */
/* ======================================================================== */

int ck_h5o_attr_exists(hid_t obj, const char *name, const char *file, const char *where)
{
    htri_t r = H5Aexists(obj, name);
    if (r < 0) {
        ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot look up attribute '%s' of %s", name, where);
        return -1;
    }
    return r > 0;
}

void ck_h5o_free_strings(char **items, size_t n)
{
    if (!items) return;
    for (size_t i = 0; i < n; i++) ck_free(items[i]);
    ck_free(items);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = ck_malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Number of elements of an attribute's dataspace: scalar 1, null 0, 1-d n;
 * more dims are refused (a Keras list is never 2-d). */
static ck_status attr_count(hid_t space, const char *file, const char *what, size_t *n)
{
    H5S_class_t cls = H5Sget_simple_extent_type(space);
    if (cls == H5S_NULL) {
        *n = 0;
        return CK_OK;
    }
    if (cls == H5S_SCALAR) {
        *n = 1;
        return CK_OK;
    }
    if (cls != H5S_SIMPLE) return ck_h5o_fail(CK_FORMAT_ERROR, file, "%s has a bad dataspace", what);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank != 1)
        return ck_error(CK_FORMAT_ERROR, "%s: %s is a %d-d array; expected a string or a 1-d list",
                        file, what, rank);
    hsize_t dim = 0;
    if (H5Sget_simple_extent_dims(space, &dim, NULL) < 0)
        return ck_h5o_fail(CK_FORMAT_ERROR, file, "%s has a bad dataspace", what);
    if (dim > CK_H5O_MAX_STRINGS)
        return ck_error(CK_FORMAT_ERROR, "%s: %s claims %llu entries", file, what,
                        (unsigned long long)dim);
    *n = (size_t)dim;
    return CK_OK;
}

static ck_status read_fixed_strings(hid_t aid, hid_t ftype, size_t n, const char *file,
                                    const char *what, char **items)
{
    size_t size = H5Tget_size(ftype);
    if (size == 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "%s has a bad string size", what);
    if ((hsize_t)n * size / size != n || (hsize_t)n * size > CK_H5O_MAX_FIXED_BYTES)
        return ck_error(CK_FORMAT_ERROR, "%s: %s claims %zu strings of %zu bytes", file, what, n,
                        size);
    H5T_str_t pad = H5Tget_strpad(ftype);
    hid_t mtype = H5Tcopy(ftype);
    if (mtype < 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
    char *buf = ck_malloc(n * size);
    if (!buf) {
        H5Tclose(mtype);
        return ck_oom("a string attribute");
    }
    ck_status st = CK_OK;
    if (H5Aread(aid, mtype, buf) < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *s = buf + i * size;
            size_t len = 0;
            while (len < size && s[len] != '\0') len++;
            if (pad == H5T_STR_SPACEPAD)
                while (len > 0 && s[len - 1] == ' ') len--;
            items[i] = dup_n(s, len);
            if (!items[i]) {
                st = ck_oom("a string");
                break;
            }
        }
    }
    ck_free(buf);
    H5Tclose(mtype);
    return st;
}

static ck_status read_vlen_strings(hid_t aid, hid_t ftype, size_t n, const char *file,
                                   const char *what, char **items)
{
    hid_t mtype = H5Tcopy(H5T_C_S1);
    if (mtype < 0 || H5Tset_size(mtype, H5T_VARIABLE) < 0 ||
        H5Tset_cset(mtype, H5Tget_cset(ftype)) < 0) {
        ck_status st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
        ck_h5o_close(mtype);
        return st;
    }
    char **ptrs = ck_calloc(n, sizeof *ptrs);
    if (!ptrs) {
        H5Tclose(mtype);
        return ck_oom("a string attribute");
    }
    ck_status st = CK_OK;
    if (H5Aread(aid, mtype, ptrs) < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
    } else {
        for (size_t i = 0; i < n && st == CK_OK; i++) {
            const char *s = ptrs[i] ? ptrs[i] : "";
            items[i] = dup_n(s, strlen(s));
            if (!items[i]) st = ck_oom("a string");
        }
        for (size_t i = 0; i < n; i++)
            if (ptrs[i]) H5free_memory(ptrs[i]);
    }
    ck_free(ptrs);
    H5Tclose(mtype);
    return st;
}

ck_status ck_h5o_read_strings(hid_t obj, const char *name, const char *file, const char *where,
                              char ***items_out, size_t *n_out, int *is_vlen)
{
    char what[512];
    snprintf(what, sizeof what, "attribute '%s' of %s", name, where);
    hid_t aid = H5Aopen(obj, name, H5P_DEFAULT);
    if (aid < 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot open %s", what);
    hid_t ftype = H5Aget_type(aid), space = H5Aget_space(aid);
    char **items = NULL;
    size_t n = 0;
    int vlen = 0;
    ck_status st = CK_OK;
    if (ftype < 0 || space < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", what);
        goto done;
    }
    st = attr_count(space, file, what, &n);
    if (st != CK_OK) goto done;
    H5T_class_t cls = H5Tget_class(ftype);
    if (cls != H5T_STRING) {
        if (n != 0)
            st = ck_error(CK_FORMAT_ERROR, "%s: %s is not a string (HDF5 type class %s)", file,
                          what, ck_h5o_type_class_name(cls));
        goto done;
    }
    htri_t v = H5Tis_variable_str(ftype);
    if (v < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", what);
        goto done;
    }
    vlen = v > 0;
    items = ck_calloc(n ? n : 1, sizeof *items);
    if (!items) {
        st = ck_oom("a list of strings");
        goto done;
    }
    if (n) {
        st = vlen ? read_vlen_strings(aid, ftype, n, file, what, items)
                  : read_fixed_strings(aid, ftype, n, file, what, items);
    }
done:
    ck_h5o_close(space);
    ck_h5o_close(ftype);
    H5Aclose(aid);
    if (st != CK_OK) {
        ck_h5o_free_strings(items, n);
        return st;
    }
    if (!items) {
        items = ck_calloc(1, sizeof *items);
        if (!items) return ck_oom("a list of strings");
        n = 0;
    }
    *items_out = items;
    *n_out = n;
    if (is_vlen) *is_vlen = vlen;
    return CK_OK;
}

ck_status ck_h5o_read_name_list(hid_t obj, const char *name, const char *file, const char *where,
                                char ***items_out, size_t *n_out, int *present, int *is_vlen)
{
    int ex = ck_h5o_attr_exists(obj, name, file, where);
    if (ex < 0) return ck_last_status();
    if (ex) {
        CK_TRY(ck_h5o_read_strings(obj, name, file, where, items_out, n_out, is_vlen));
        if (present) *present = 1;
        return CK_OK;
    }
    char **all = ck_calloc(1, sizeof *all);
    if (!all) return ck_oom("a list of strings");
    size_t total = 0;
    int found = 0, vlen = 0;
    for (unsigned chunk = 0;; chunk++) {
        char cname[256];
        snprintf(cname, sizeof cname, "%s%u", name, chunk);
        ex = ck_h5o_attr_exists(obj, cname, file, where);
        if (ex < 0) {
            ck_h5o_free_strings(all, total);
            return ck_last_status();
        }
        if (!ex) break;
        found = 1;
        char **part = NULL;
        size_t np = 0;
        int pv = 0;
        ck_status st = ck_h5o_read_strings(obj, cname, file, where, &part, &np, &pv);
        if (st != CK_OK) {
            ck_h5o_free_strings(all, total);
            return st;
        }
        vlen |= pv;
        char **grown = np ? ck_realloc(all, (total + np) * sizeof *all) : all;
        if (!grown) {
            ck_h5o_free_strings(part, np);
            ck_h5o_free_strings(all, total);
            return ck_oom("a list of strings");
        }
        all = grown;
        memcpy(all + total, part, np * sizeof *part);
        total += np;
        ck_free(part);
    }
    *items_out = all;
    *n_out = total;
    if (present) *present = found;
    if (is_vlen) *is_vlen = vlen;
    return CK_OK;
}

ck_status ck_h5o_read_string(hid_t obj, const char *name, const char *file, const char *where,
                             char **out)
{
    int ex = ck_h5o_attr_exists(obj, name, file, where);
    if (ex < 0) return ck_last_status();
    if (!ex) {
        *out = NULL;
        return CK_OK;
    }
    char **items = NULL;
    size_t n = 0;
    CK_TRY(ck_h5o_read_strings(obj, name, file, where, &items, &n, NULL));
    if (n != 1) {
        ck_h5o_free_strings(items, n);
        return ck_error(CK_FORMAT_ERROR,
                        "%s: attribute '%s' of %s holds %zu strings; expected one string", file,
                        name, where, n);
    }
    *out = items[0];
    ck_free(items);
    return CK_OK;
}

ck_status ck_h5o_check_storage(hid_t did, int64_t count, const char *file, const char *where,
                               hsize_t file_size, int allow_unwritten)
{
    if (count == 0) return CK_OK;
    hid_t dcpl = H5Dget_create_plist(did);
    hid_t ftype = H5Dget_type(did);
    if (dcpl < 0 || ftype < 0) {
        ck_status st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the layout of %s", where);
        ck_h5o_close(dcpl);
        ck_h5o_close(ftype);
        return st;
    }
    H5D_layout_t layout = H5Pget_layout(dcpl);
    size_t esize = H5Tget_size(ftype);
    H5Pclose(dcpl);
    H5Tclose(ftype);
    if (layout != H5D_CONTIGUOUS) return CK_OK;
    haddr_t off = H5Dget_offset(did);
    if (off == HADDR_UNDEF) {
        H5Eclear2(H5E_DEFAULT);
        if (allow_unwritten) return CK_OK;
        return ck_error(CK_FORMAT_ERROR, "%s: %s has no data stored", file, where);
    }
    hsize_t bytes = (hsize_t)count * esize;
    if (off > file_size || bytes > file_size - off)
        return ck_error(CK_FORMAT_ERROR,
                        "%s: the data of %s (%llu bytes at offset %llu) lies past the end of the "
                        "file (%llu bytes): truncated file?",
                        file, where, (unsigned long long)bytes, (unsigned long long)off,
                        (unsigned long long)file_size);
    return CK_OK;
}
