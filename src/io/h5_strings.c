/* Keras' string attributes in every form h5py and Keras have written:
 * fixed or variable length, ASCII or UTF-8, scalar or arrays, chunked lists. */

#include "io/h5_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


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
                          what, ck_h5u_type_class_name(cls));
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

