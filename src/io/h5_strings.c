/* Keras' string attributes in every form h5py and Keras have written:
 * fixed or variable length, ASCII or UTF-8, scalar or arrays, chunked
 * lists; read through ckeras' own HDF5 reader, written through its writer. */
#include "io/h5_util.h"

#include <stdio.h>
#include <string.h>

/* ======================================================================== */
/* reading                                                                   */
/* ======================================================================== */

int ck_h5u_attr_exists(ck_h5r *f, uint64_t obj, const char *name, const char *where)
{
    ck_h5r_attr *a = NULL;
    if (ck_h5r_attr_find(f, obj, name, &a) != CK_OK) {
        ck_h5u_fail(CK_FORMAT_ERROR, ck_h5r_name(f), "cannot look up attribute '%s' of %s", name,
                    where);
        return -1;
    }
    int found = a != NULL;
    ck_h5r_attr_free(a);
    return found;
}

void ck_h5u_free_strings(char **items, size_t n)
{
    ck_h5r_free_strings(items, n);
}

ck_status ck_h5u_read_strings(ck_h5r *f, uint64_t obj, const char *name, const char *where,
                              char ***items_out, size_t *n_out, int *is_vlen)
{
    const char *file = ck_h5r_name(f);
    ck_h5r_attr *a = NULL;
    if (ck_h5r_attr_find(f, obj, name, &a) != CK_OK)
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read attribute '%s' of %s", name, where);
    if (!a)
        return ck_error(CK_FORMAT_ERROR, "%s: %s has no attribute '%s'", file, where, name);
    char **items = NULL;
    size_t n = 0;
    int vlen = 0;
    ck_status st = ck_h5r_attr_strings(f, a, &items, &n, &vlen);
    ck_h5r_attr_free(a);
    if (st != CK_OK) return ck_h5u_fail(st, file, "attribute '%s' of %s", name, where);
    *items_out = items;
    *n_out = n;
    if (is_vlen) *is_vlen = vlen;
    return CK_OK;
}

ck_status ck_h5u_read_name_list(ck_h5r *f, uint64_t obj, const char *name, const char *where,
                                char ***items_out, size_t *n_out, int *present, int *is_vlen)
{
    int ex = ck_h5u_attr_exists(f, obj, name, where);
    if (ex < 0) return ck_last_status();
    if (ex) {
        CK_TRY(ck_h5u_read_strings(f, obj, name, where, items_out, n_out, is_vlen));
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
        ex = ck_h5u_attr_exists(f, obj, cname, where);
        if (ex < 0) {
            ck_h5u_free_strings(all, total);
            return ck_last_status();
        }
        if (!ex) break;
        found = 1;
        char **part = NULL;
        size_t np = 0;
        int pv = 0;
        ck_status st = ck_h5u_read_strings(f, obj, cname, where, &part, &np, &pv);
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

ck_status ck_h5u_read_string(ck_h5r *f, uint64_t obj, const char *name, const char *where,
                             char **out)
{
    int ex = ck_h5u_attr_exists(f, obj, name, where);
    if (ex < 0) return ck_last_status();
    if (!ex) {
        *out = NULL;
        return CK_OK;
    }
    char **items = NULL;
    size_t n = 0;
    CK_TRY(ck_h5u_read_strings(f, obj, name, where, &items, &n, NULL));
    if (n != 1) {
        ck_h5u_free_strings(items, n);
        return ck_error(CK_FORMAT_ERROR,
                        "%s: attribute '%s' of %s holds %zu strings; expected one string",
                        ck_h5r_name(f), name, where, n);
    }
    *out = items[0];
    ck_free(items);
    return CK_OK;
}

/* ======================================================================== */
/* writing                                                                   */
/* ======================================================================== */

/* Adds "<file>: <where>: " in front of a writer's message. */
static ck_status located(ck_status st, const char *file, const char *where)
{
    if (st == CK_OK || st == CK_OUT_OF_MEMORY) return st;
    char msg[640];
    snprintf(msg, sizeof msg, "%s", ck_last_error());
    return ck_error(st, "%s: %s: %s", file, where, msg);
}

ck_status ck_h5u_write_vlen_string(ck_h5w *w, ck_h5w_obj *obj, const char *name,
                                   const char *value, ck_h5w_cset cset, const char *file,
                                   const char *where)
{
    return located(ck_h5w_attr_vlen(w, obj, name, &value, 1, 1, cset), file, where);
}

/* One chunk [first, first+count) of a name list as attribute `aname`. */
static ck_status write_name_chunk(ck_h5w *w, ck_h5w_obj *obj, const char *aname,
                                  const char *const *items, size_t count, int vlen,
                                  size_t itemsize, const char *file, const char *where)
{
    ck_status st = vlen ? ck_h5w_attr_vlen(w, obj, aname, items, count, 0, CK_H5W_ASCII)
                        : ck_h5w_attr_fixed(w, obj, aname, items, count, itemsize);
    return located(st, file, where);
}

ck_status ck_h5u_write_name_list(ck_h5w *w, ck_h5w_obj *obj, const char *name,
                                 const char *const *items, size_t n, int vlen, const char *file,
                                 const char *where)
{
    /* Keras passes [] through numpy: an empty float64 array. */
    if (n == 0) return located(ck_h5w_attr_empty_f64(w, obj, name), file, where);
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
    if (chunks == 1) return write_name_chunk(w, obj, name, items, n, vlen, itemsize, file, where);
    /* numpy.array_split: the first n % chunks parts get one extra entry. */
    size_t first = 0;
    for (size_t c = 0; c < chunks; c++) {
        size_t count = n / chunks + (c < n % chunks ? 1 : 0);
        char cname[256];
        snprintf(cname, sizeof cname, "%s%zu", name, c);
        CK_TRY(write_name_chunk(w, obj, cname, items + first, count, vlen, itemsize, file, where));
        first += count;
    }
    return CK_OK;
}
