/* libhdf5 helpers for the Keras file floor: errors, opening, strings,
 * datasets, atomic replacement.  See h5_util.h. */
#include "io/h5_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sanity bounds on what a file may claim, checked before allocating, so a
 * corrupt header gives CK_FORMAT_ERROR rather than a huge allocation. */
enum { CK_H5U_MAX_STRINGS = 1 << 24 };
#define CK_H5U_MAX_FIXED_BYTES ((hsize_t)1 << 28)

/* ======================================================================== */
/* errors                                                                    */
/* ======================================================================== */

void ck_h5u_quiet_begin(ck_h5u_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ck_h5u_quiet_end(const ck_h5u_quiet *q)
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

ck_status ck_h5u_fail(ck_status status, const char *file, const char *fmt, ...)
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

void ck_h5u_close(hid_t id)
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

/* ======================================================================== */
/* opening                                                                   */
/* ======================================================================== */

static const unsigned char h5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

ck_status ck_h5u_open(const char *path, hid_t *fid, hsize_t *size)
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
        return ck_h5u_fail(CK_FORMAT_ERROR, path, "damaged or truncated HDF5 file");
    }
    hsize_t sz = 0;
    if (H5Fget_filesize(f, &sz) < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot get the file size");
        H5Fclose(f);
        return st;
    }
    *fid = f;
    if (size) *size = sz;
    return CK_OK;
}

static void image_name(char *buf, size_t n)
{
    /* The core driver keys open files by name: keep each image's distinct. */
    static unsigned long counter;
    snprintf(buf, n, "ckeras-image-%ld-%lu.h5", (long)getpid(), ++counter);
}

ck_status ck_h5u_open_image(const void *buf, size_t len, const char *what,
                            hid_t *fid, hsize_t *size)
{
    if (len < sizeof h5_signature || memcmp(buf, h5_signature, sizeof h5_signature) != 0)
        return ck_error(CK_FORMAT_ERROR, "%s: not an HDF5 file (no HDF5 signature)", what);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return ck_h5u_fail(CK_RUNTIME_ERROR, what, "cannot create a file access list");
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, (void *)buf, len) < 0) {
        ck_status st = ck_h5u_fail(CK_OUT_OF_MEMORY, what, "cannot load the HDF5 image into memory");
        H5Pclose(fapl);
        return st;
    }
    char name[96];
    image_name(name, sizeof name);
    hid_t f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, what, "damaged or truncated HDF5 file");
        H5Pclose(fapl);
        return st;
    }
    H5Pclose(fapl);
    hsize_t sz = 0;
    if (H5Fget_filesize(f, &sz) < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, what, "cannot get the file size");
        H5Fclose(f);
        return st;
    }
    *fid = f;
    if (size) *size = sz;
    return CK_OK;
}

ck_status ck_h5u_create_image(const char *what, hid_t *fid)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return ck_h5u_fail(CK_RUNTIME_ERROR, what, "cannot create a file access list");
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0) {
        ck_status st = ck_h5u_fail(CK_RUNTIME_ERROR, what, "cannot select the in-memory driver");
        H5Pclose(fapl);
        return st;
    }
    char name[96];
    image_name(name, sizeof name);
    hid_t f = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0) {
        ck_status st = ck_h5u_fail(CK_IO_ERROR, what, "cannot create an in-memory HDF5 file");
        H5Pclose(fapl);
        return st;
    }
    H5Pclose(fapl);
    *fid = f;
    return CK_OK;
}

ck_status ck_h5u_image_bytes(hid_t fid, const char *what, void **buf, size_t *len)
{
    if (H5Fflush(fid, H5F_SCOPE_LOCAL) < 0)
        return ck_h5u_fail(CK_IO_ERROR, what, "cannot flush the in-memory HDF5 file");
    ssize_t n = H5Fget_file_image(fid, NULL, 0);
    if (n <= 0) return ck_h5u_fail(CK_IO_ERROR, what, "cannot get the in-memory HDF5 image");
    void *b = ck_malloc((size_t)n);
    if (!b) return ck_oom("an HDF5 file image");
    if (H5Fget_file_image(fid, b, (size_t)n) != n) {
        ck_free(b);
        return ck_h5u_fail(CK_IO_ERROR, what, "cannot copy the in-memory HDF5 image");
    }
    *buf = b;
    *len = (size_t)n;
    return CK_OK;
}

/* ======================================================================== */
/* tree                                                                      */
/* ======================================================================== */

ck_h5u_kind ck_h5u_kind_of(hid_t loc, const char *name)
{
    /* H5Lexists fails (rather than saying no) when an intermediate group of
     * a path is missing; both mean "not there". */
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    if (ex <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5U_OTHER;
    }
    H5L_info_t li;
    if (H5Lget_info(loc, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5U_OTHER;
    }
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5U_BROKEN;
    }
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t == H5I_GROUP ? CK_H5U_GROUP : t == H5I_DATASET ? CK_H5U_DATASET : CK_H5U_OTHER;
}

void ck_h5u_free_children(ck_h5u_child *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) ck_free(c[i].name);
    ck_free(c);
}

static int child_cmp(const void *a, const void *b)
{
    return strcmp(((const ck_h5u_child *)a)->name, ((const ck_h5u_child *)b)->name);
}

ck_status ck_h5u_list_children(hid_t g, const char *file, const char *where,
                               ck_h5u_child **out, size_t *n_out)
{
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0)
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot list group %s", where);
    if (gi.nlinks > CK_H5U_MAX_STRINGS)
        return ck_error(CK_FORMAT_ERROR, "%s: group %s claims %llu links", file, where,
                        (unsigned long long)gi.nlinks);
    size_t n = (size_t)gi.nlinks;
    ck_h5u_child *c = ck_calloc(n ? n : 1, sizeof *c);
    if (!c) return ck_oom("a list of HDF5 links");
    ck_status st = CK_OK;
    for (size_t i = 0; i < n; i++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, NULL, 0,
                                         H5P_DEFAULT);
        if (len < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read link %zu of group %s", i, where);
            break;
        }
        c[i].name = ck_malloc((size_t)len + 1);
        if (!c[i].name) {
            st = ck_oom("an HDF5 link name");
            break;
        }
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, c[i].name,
                               (size_t)len + 1, H5P_DEFAULT) < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read link %zu of group %s", i, where);
            break;
        }
        c[i].kind = ck_h5u_kind_of(g, c[i].name);
        if (c[i].kind == CK_H5U_BROKEN) {
            st = ck_error(CK_FORMAT_ERROR, "%s: object %s/%s cannot be read (damaged or truncated file)",
                          file, strcmp(where, "/") == 0 ? "" : where, c[i].name);
            break;
        }
    }
    if (st != CK_OK) {
        ck_h5u_free_children(c, n);
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

int ck_h5u_attr_exists(hid_t obj, const char *name, const char *file, const char *where)
{
    htri_t r = H5Aexists(obj, name);
    if (r < 0) {
        ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot look up attribute '%s' of %s", name, where);
        return -1;
    }
    return r > 0;
}

void ck_h5u_free_strings(char **items, size_t n)
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
    if (cls != H5S_SIMPLE) return ck_h5u_fail(CK_FORMAT_ERROR, file, "%s has a bad dataspace", what);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank != 1)
        return ck_error(CK_FORMAT_ERROR, "%s: %s is a %d-d array; expected a string or a 1-d list",
                        file, what, rank);
    hsize_t dim = 0;
    if (H5Sget_simple_extent_dims(space, &dim, NULL) < 0)
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "%s has a bad dataspace", what);
    if (dim > CK_H5U_MAX_STRINGS)
        return ck_error(CK_FORMAT_ERROR, "%s: %s claims %llu entries", file, what,
                        (unsigned long long)dim);
    *n = (size_t)dim;
    return CK_OK;
}

static const char *type_class_name(H5T_class_t c)
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

static ck_status read_fixed_strings(hid_t aid, hid_t ftype, size_t n, const char *file,
                                    const char *what, char **items)
{
    size_t size = H5Tget_size(ftype);
    if (size == 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "%s has a bad string size", what);
    if ((hsize_t)n * size / size != n || (hsize_t)n * size > CK_H5U_MAX_FIXED_BYTES)
        return ck_error(CK_FORMAT_ERROR, "%s: %s claims %zu strings of %zu bytes", file, what, n,
                        size);
    H5T_str_t pad = H5Tget_strpad(ftype);
    hid_t mtype = H5Tcopy(ftype);
    if (mtype < 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
    char *buf = ck_malloc(n * size);
    if (!buf) {
        H5Tclose(mtype);
        return ck_oom("a string attribute");
    }
    ck_status st = CK_OK;
    if (H5Aread(aid, mtype, buf) < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
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
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
        ck_h5u_close(mtype);
        return st;
    }
    char **ptrs = ck_calloc(n, sizeof *ptrs);
    if (!ptrs) {
        H5Tclose(mtype);
        return ck_oom("a string attribute");
    }
    ck_status st = CK_OK;
    if (H5Aread(aid, mtype, ptrs) < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
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

ck_status ck_h5u_read_strings(hid_t obj, const char *name, const char *file, const char *where,
                              char ***items_out, size_t *n_out, int *is_vlen)
{
    char what[512];
    snprintf(what, sizeof what, "attribute '%s' of %s", name, where);
    hid_t aid = H5Aopen(obj, name, H5P_DEFAULT);
    if (aid < 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot open %s", what);
    hid_t ftype = H5Aget_type(aid), space = H5Aget_space(aid);
    char **items = NULL;
    size_t n = 0;
    int vlen = 0;
    ck_status st = CK_OK;
    if (ftype < 0 || space < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", what);
        goto done;
    }
    st = attr_count(space, file, what, &n);
    if (st != CK_OK) goto done;
    H5T_class_t cls = H5Tget_class(ftype);
    if (cls != H5T_STRING) {
        if (n != 0)
            st = ck_error(CK_FORMAT_ERROR, "%s: %s is not a string (HDF5 type class %s)", file,
                          what, type_class_name(cls));
        goto done;
    }
    htri_t v = H5Tis_variable_str(ftype);
    if (v < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", what);
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
    ck_h5u_close(space);
    ck_h5u_close(ftype);
    H5Aclose(aid);
    if (st != CK_OK) {
        ck_h5u_free_strings(items, n);
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

ck_status ck_h5u_read_name_list(hid_t obj, const char *name, const char *file, const char *where,
                                char ***items_out, size_t *n_out, int *present, int *is_vlen)
{
    int ex = ck_h5u_attr_exists(obj, name, file, where);
    if (ex < 0) return ck_last_status();
    if (ex) {
        CK_TRY(ck_h5u_read_strings(obj, name, file, where, items_out, n_out, is_vlen));
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
        ex = ck_h5u_attr_exists(obj, cname, file, where);
        if (ex < 0) {
            ck_h5u_free_strings(all, total);
            return ck_last_status();
        }
        if (!ex) break;
        found = 1;
        char **part = NULL;
        size_t np = 0;
        int pv = 0;
        ck_status st = ck_h5u_read_strings(obj, cname, file, where, &part, &np, &pv);
        if (st != CK_OK) {
            ck_h5u_free_strings(all, total);
            return st;
        }
        vlen |= pv;
        char **grown = np ? ck_realloc(all, (total + np) * sizeof *all) : all;
        if (!grown) {
            ck_h5u_free_strings(part, np);
            ck_h5u_free_strings(all, total);
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

ck_status ck_h5u_read_string(hid_t obj, const char *name, const char *file, const char *where,
                             char **out)
{
    int ex = ck_h5u_attr_exists(obj, name, file, where);
    if (ex < 0) return ck_last_status();
    if (!ex) {
        *out = NULL;
        return CK_OK;
    }
    char **items = NULL;
    size_t n = 0;
    CK_TRY(ck_h5u_read_strings(obj, name, file, where, &items, &n, NULL));
    if (n != 1) {
        ck_h5u_free_strings(items, n);
        return ck_error(CK_FORMAT_ERROR,
                        "%s: attribute '%s' of %s holds %zu strings; expected one string", file,
                        name, where, n);
    }
    *out = items[0];
    ck_free(items);
    return CK_OK;
}

/* ---- writing ------------------------------------------------------------ */

static ck_status write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *buf,
                            const char *file, const char *where)
{
    hid_t aid = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (aid < 0)
        return ck_h5u_fail(CK_IO_ERROR, file, "cannot create attribute '%s' of %s", name, where);
    if (buf && H5Awrite(aid, type, buf) < 0) {
        ck_status st = ck_h5u_fail(CK_IO_ERROR, file, "cannot write attribute '%s' of %s", name,
                                   where);
        H5Aclose(aid);
        return st;
    }
    if (H5Aclose(aid) < 0)
        return ck_h5u_fail(CK_IO_ERROR, file, "cannot write attribute '%s' of %s", name, where);
    return CK_OK;
}

static hid_t vlen_string_type(H5T_cset_t cset)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, cset) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

ck_status ck_h5u_write_vlen_string(hid_t obj, const char *name, const char *value,
                                   H5T_cset_t cset, const char *file, const char *where)
{
    hid_t t = vlen_string_type(cset);
    hid_t s = H5Screate(H5S_SCALAR);
    ck_status st;
    if (t < 0 || s < 0) {
        st = ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot make a string type");
    } else {
        const char *p = value;
        st = write_attr(obj, name, t, s, &p, file, where);
    }
    ck_h5u_close(s);
    ck_h5u_close(t);
    return st;
}

/* One chunk [first, first+count) of a name list as attribute `aname`. */
static ck_status write_name_chunk(hid_t obj, const char *aname, const char *const *items,
                                  size_t first, size_t count, int vlen, size_t itemsize,
                                  const char *file, const char *where)
{
    hsize_t dim = count;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    hid_t t = -1;
    ck_status st = CK_OK;
    char *buf = NULL;
    if (s < 0) {
        st = ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot make a dataspace");
        goto done;
    }
    if (vlen) {
        t = vlen_string_type(H5T_CSET_ASCII);
        if (t < 0) {
            st = ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot make a string type");
            goto done;
        }
        st = write_attr(obj, aname, t, s, items + first, file, where);
    } else {
        t = H5Tcopy(H5T_C_S1);
        if (t < 0 || H5Tset_size(t, itemsize) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
            H5Tset_cset(t, H5T_CSET_ASCII) < 0) {
            st = ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot make a string type");
            goto done;
        }
        buf = ck_calloc(count ? count : 1, itemsize);
        if (!buf) {
            st = ck_oom("a name list attribute");
            goto done;
        }
        for (size_t i = 0; i < count; i++)
            memcpy(buf + i * itemsize, items[first + i], strlen(items[first + i]));
        st = write_attr(obj, aname, t, s, buf, file, where);
    }
done:
    ck_free(buf);
    ck_h5u_close(t);
    ck_h5u_close(s);
    return st;
}

ck_status ck_h5u_write_name_list(hid_t obj, const char *name, const char *const *items, size_t n,
                                 int vlen, const char *file, const char *where)
{
    if (n == 0) {
        /* Keras passes [] through numpy: an empty float64 array. */
        hsize_t zero = 0;
        hid_t s = H5Screate_simple(1, &zero, NULL);
        if (s < 0) return ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot make a dataspace");
        ck_status st = write_attr(obj, name, H5T_IEEE_F64LE, s, NULL, file, where);
        H5Sclose(s);
        return st;
    }
    size_t longest = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (len > CK_H5U_HEADER_LIMIT)
            return ck_error(CK_VALUE_ERROR,
                            "%s: entry %zu of '%s' of %s is %zu bytes long; HDF5 attributes "
                            "cannot hold entries longer than %d bytes",
                            file, i, name, where, len, CK_H5U_HEADER_LIMIT);
        if (len > longest) longest = len;
    }
    /* numpy's "S" itemsize is the longest entry (at least 1).  A vlen entry
     * takes 16 bytes in the attribute message (length + global heap id). */
    size_t itemsize = vlen ? 16 : (longest ? longest : 1);
    size_t chunks = 1;
    for (;;) {
        size_t biggest = n / chunks + (n % chunks ? 1 : 0);
        if (biggest * itemsize <= CK_H5U_HEADER_LIMIT) break;
        chunks++;
    }
    if (chunks == 1) return write_name_chunk(obj, name, items, 0, n, vlen, itemsize, file, where);
    /* numpy.array_split: the first n % chunks parts get one extra entry. */
    size_t first = 0;
    for (size_t c = 0; c < chunks; c++) {
        size_t count = n / chunks + (c < n % chunks ? 1 : 0);
        char cname[256];
        snprintf(cname, sizeof cname, "%s%zu", name, c);
        CK_TRY(write_name_chunk(obj, cname, items, first, count, vlen, itemsize, file, where));
        first += count;
    }
    return CK_OK;
}

/* ======================================================================== */
/* datasets                                                                  */
/* ======================================================================== */

/* How a file element type maps onto a ck dtype. */
typedef struct elem_plan {
    ck_dtype dtype;
    hid_t mem;          /* memory type to read with (owned if own_mem)      */
    int own_mem;
    int enum_size;      /* > 0: read raw enum values of this size, widen    */
    int enum_signed;
} elem_plan;

static ck_status plan_element(hid_t ftype, const char *file, const char *where, elem_plan *p)
{
    memset(p, 0, sizeof *p);
    p->mem = -1;
    H5T_class_t cls = H5Tget_class(ftype);
    size_t size = H5Tget_size(ftype);
    if (cls == H5T_FLOAT) {
        if (size <= 4) {
            p->dtype = CK_FLOAT32;
            p->mem = H5T_NATIVE_FLOAT;
        } else {
            p->dtype = CK_FLOAT64;
            p->mem = H5T_NATIVE_DOUBLE;
        }
        return CK_OK;
    }
    if (cls == H5T_INTEGER) {
        int is_signed = H5Tget_sign(ftype) == H5T_SGN_2;
        if (size > 8)
            return ck_error(CK_FORMAT_ERROR, "%s: %s has %zu-byte integers; not supported", file,
                            where, size);
        if (size <= 2 || (size == 4 && is_signed)) {
            p->dtype = CK_INT32;
            p->mem = H5T_NATIVE_INT32;
        } else {
            p->dtype = CK_INT64;
            p->mem = H5T_NATIVE_INT64;
        }
        return CK_OK;
    }
    if (cls == H5T_ENUM) {
        /* h5py stores numpy bool as an int8 enum {FALSE, TRUE}; libhdf5 does
         * not convert enums to integers, so read the raw values. */
        hid_t base = H5Tget_super(ftype);
        if (base < 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
        int ok = H5Tget_class(base) == H5T_INTEGER && H5Tget_size(base) <= 8;
        int is_signed = H5Tget_sign(base) == H5T_SGN_2;
        size_t bsize = H5Tget_size(base);
        H5Tclose(base);
        if (!ok)
            return ck_error(CK_FORMAT_ERROR, "%s: %s is an enum of a non-integer type", file, where);
        hid_t mem = H5Tget_native_type(ftype, H5T_DIR_DEFAULT);
        if (mem < 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
        p->mem = mem;
        p->own_mem = 1;
        p->enum_size = (int)bsize;
        p->enum_signed = is_signed;
        p->dtype = (bsize <= 2 || (bsize == 4 && is_signed)) ? CK_INT32 : CK_INT64;
        return CK_OK;
    }
    return ck_error(CK_FORMAT_ERROR,
                    "%s: %s has elements of HDF5 type class %s; expected float or integer", file,
                    where, type_class_name(cls));
}

static int64_t raw_int(const unsigned char *p, int size, int is_signed)
{
    switch (size) {
    case 1: { int8_t s; uint8_t u; memcpy(&s, p, 1); memcpy(&u, p, 1); return is_signed ? s : u; }
    case 2: { int16_t s; uint16_t u; memcpy(&s, p, 2); memcpy(&u, p, 2); return is_signed ? s : u; }
    case 4: { int32_t s; uint32_t u; memcpy(&s, p, 4); memcpy(&u, p, 4); return is_signed ? (int64_t)s : (int64_t)u; }
    default: {
        int64_t s; uint64_t u;
        memcpy(&s, p, 8);
        memcpy(&u, p, 8);
        return is_signed ? s : (u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u);
    }
    }
}

static ck_status read_enum_values(hid_t did, const elem_plan *p, ck_tensor *t, const char *file,
                                  const char *where)
{
    size_t bytes = (size_t)t->size * (size_t)p->enum_size;
    unsigned char *raw = ck_malloc(bytes ? bytes : 1);
    if (!raw) return ck_oom("an enum dataset");
    if (H5Dread(did, p->mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        ck_free(raw);
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read %s", where);
    }
    for (int64_t i = 0; i < t->size; i++) {
        int64_t v = raw_int(raw + (size_t)i * (size_t)p->enum_size, p->enum_size, p->enum_signed);
        if (t->dtype == CK_INT32) ((int32_t *)t->data)[i] = (int32_t)v;
        else ((int64_t *)t->data)[i] = v;
    }
    ck_free(raw);
    return CK_OK;
}

ck_status ck_h5u_check_storage(hid_t did, int64_t count, const char *file, const char *where,
                               hsize_t file_size, int allow_unwritten)
{
    if (count == 0) return CK_OK;
    hid_t dcpl = H5Dget_create_plist(did);
    hid_t ftype = H5Dget_type(did);
    if (dcpl < 0 || ftype < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the layout of %s", where);
        ck_h5u_close(dcpl);
        ck_h5u_close(ftype);
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

ck_status ck_h5u_read_dataset(hid_t loc, const char *name, const char *file, const char *where,
                              hsize_t file_size, ck_tensor **out)
{
    hid_t did = H5Dopen2(loc, name, H5P_DEFAULT);
    if (did < 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "%s is missing or not a dataset", where);
    hid_t ftype = H5Dget_type(did), space = H5Dget_space(did);
    elem_plan plan = {0};
    plan.mem = -1;
    ck_tensor *t = NULL;
    ck_status st = CK_OK;
    if (ftype < 0 || space < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", where);
        goto done;
    }
    int rank = 0;
    int64_t shape[CK_MAX_RANK] = {0};
    H5S_class_t scls = H5Sget_simple_extent_type(space);
    if (scls == H5S_SIMPLE) {
        int r = H5Sget_simple_extent_ndims(space);
        if (r < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the shape of %s", where);
            goto done;
        }
        if (r > CK_MAX_RANK) {
            st = ck_error(CK_FORMAT_ERROR, "%s: %s has rank %d; at most %d is supported", file,
                          where, r, CK_MAX_RANK);
            goto done;
        }
        hsize_t dims[CK_MAX_RANK];
        if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read the shape of %s", where);
            goto done;
        }
        rank = r;
        for (int i = 0; i < r; i++) {
            if (dims[i] > (hsize_t)INT64_MAX) {
                st = ck_error(CK_FORMAT_ERROR, "%s: %s has a dim too large", file, where);
                goto done;
            }
            shape[i] = (int64_t)dims[i];
        }
    } else if (scls != H5S_SCALAR) {
        st = ck_error(CK_FORMAT_ERROR, "%s: %s has no dataspace (a null dataset)", file, where);
        goto done;
    }
    st = plan_element(ftype, file, where, &plan);
    if (st != CK_OK) goto done;
    int64_t count = 0;
    if (ck_shape_count(plan.dtype, rank, shape, &count) != CK_OK) {
        char s[160];
        st = ck_error(CK_FORMAT_ERROR, "%s: %s has an impossible shape %s", file, where,
                      ck_shape_str(s, sizeof s, rank, shape));
        goto done;
    }
    st = ck_h5u_check_storage(did, count, file, where, file_size, 0);
    if (st != CK_OK) goto done;
    st = ck_tensor_new_uninit(&t, plan.dtype, rank, shape);
    if (st != CK_OK) goto done;
    if (count > 0) {
        if (plan.enum_size) {
            st = read_enum_values(did, &plan, t, file, where);
        } else if (H5Dread(did, plan.mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read %s", where);
        }
    }
done:
    if (plan.own_mem) ck_h5u_close(plan.mem);
    ck_h5u_close(space);
    ck_h5u_close(ftype);
    H5Dclose(did);
    if (st != CK_OK) {
        ck_tensor_free(t);
        return st;
    }
    *out = t;
    return CK_OK;
}

ck_status ck_h5u_check_tensor(const ck_tensor *t, const char *what)
{
    if (!t) return ck_error(CK_VALUE_ERROR, "%s has no tensor", what);
    if (ck_dtype_size(t->dtype) == 0)
        return ck_error(CK_TYPE_ERROR, "%s has an invalid dtype %d", what, (int)t->dtype);
    int64_t count = 0;
    if (ck_shape_count(t->dtype, t->rank, t->shape, &count) != CK_OK) {
        char s[160];
        return ck_error(CK_VALUE_ERROR, "%s has a bad shape %s", what,
                        ck_shape_str(s, sizeof s, t->rank < 0 ? 0 : t->rank > CK_MAX_RANK ? CK_MAX_RANK : t->rank, t->shape));
    }
    if (count != t->size)
        return ck_error(CK_VALUE_ERROR, "%s: size %lld does not match its shape (%lld elements)",
                        what, (long long)t->size, (long long)count);
    if (count > 0 && !t->data) return ck_error(CK_VALUE_ERROR, "%s has no data", what);
    return CK_OK;
}

ck_status ck_h5u_write_dataset(hid_t loc, const char *name, const ck_tensor *t, const char *file,
                               const char *where)
{
    hid_t ftype, mtype;
    switch (t->dtype) {
    case CK_FLOAT32: ftype = H5T_IEEE_F32LE; mtype = H5T_NATIVE_FLOAT; break;
    case CK_FLOAT64: ftype = H5T_IEEE_F64LE; mtype = H5T_NATIVE_DOUBLE; break;
    case CK_INT32: ftype = H5T_STD_I32LE; mtype = H5T_NATIVE_INT32; break;
    case CK_INT64: ftype = H5T_STD_I64LE; mtype = H5T_NATIVE_INT64; break;
    default: return ck_error(CK_TYPE_ERROR, "%s has an invalid dtype", where);
    }
    hsize_t dims[CK_MAX_RANK];
    for (int i = 0; i < t->rank; i++) dims[i] = (hsize_t)t->shape[i];
    hid_t space = t->rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(t->rank, dims, NULL);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    hid_t did = -1;
    ck_status st = CK_OK;
    if (space < 0 || lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot prepare %s", where);
        goto done;
    }
    did = H5Dcreate2(loc, name, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (did < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, file, "cannot create dataset %s", where);
        goto done;
    }
    if (t->size > 0 && H5Dwrite(did, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, t->data) < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, file, "cannot write dataset %s", where);
        goto done;
    }
done:
    if (did >= 0 && H5Dclose(did) < 0 && st == CK_OK)
        st = ck_h5u_fail(CK_IO_ERROR, file, "cannot write dataset %s", where);
    ck_h5u_close(lcpl);
    ck_h5u_close(space);
    return st;
}

/* ======================================================================== */
/* atomic replacement                                                        */
/* ======================================================================== */

ck_status ck_h5u_temp_reserve(const char *path, char **tmp_out)
{
    static unsigned long counter;
    size_t n = strlen(path) + 64;
    char *tmp = ck_malloc(n);
    if (!tmp) return ck_oom("a temporary file name");
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, n, "%s.tmp-%ld-%lu", path, (long)getpid(), ++counter);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            close(fd);
            *tmp_out = tmp;
            return CK_OK;
        }
        if (errno != EEXIST) {
            ck_status st = ck_error(CK_IO_ERROR, "%s: cannot create a temporary file %s: %s",
                                    path, tmp, strerror(errno));
            ck_free(tmp);
            return st;
        }
    }
    ck_free(tmp);
    return ck_error(CK_IO_ERROR, "%s: cannot find a free temporary file name", path);
}

ck_status ck_h5u_temp_commit(const char *tmp, const char *path)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        ck_status st = ck_error(CK_IO_ERROR, "%s: cannot flush %s to disk: %s", path, tmp,
                                strerror(errno));
        if (fd >= 0) close(fd);
        remove(tmp);
        return st;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        ck_status st = ck_error(CK_IO_ERROR, "%s: cannot replace the file with %s: %s", path, tmp,
                                strerror(errno));
        remove(tmp);
        return st;
    }
    return CK_OK;
}

/* ======================================================================== */
/* text                                                                      */
/* ======================================================================== */

void ck_h5u_text_add(ck_h5u_text *t, const char *fmt, ...)
{
    if (t->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + (size_t)need + 1 > cap) cap *= 2;
        char *d = ck_realloc(t->data, cap);
        if (!d) {
            t->oom = 1;
            return;
        }
        t->data = d;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

void ck_h5u_text_quoted(ck_h5u_text *t, const char *s, size_t n)
{
    ck_h5u_text_add(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') ck_h5u_text_add(t, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) ck_h5u_text_add(t, "\\x%02x", c);
        else ck_h5u_text_add(t, "%c", c);
    }
    ck_h5u_text_add(t, "\"");
}

char *ck_h5u_join(const char *dir, const char *name, int leading_slash)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int root = dl == 0 || (dl == 1 && dir[0] == '/');
    char *p = ck_malloc(dl + nl + 3);
    if (!p) return NULL;
    if (root) snprintf(p, dl + nl + 3, "%s%s", leading_slash ? "/" : "", name);
    else snprintf(p, dl + nl + 3, "%s/%s", dir, name);
    return p;
}
