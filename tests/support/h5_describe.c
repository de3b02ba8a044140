/* ck_h5_describe: a canonical text listing of an HDF5 file's structure and
 * attribute types, so tests can compare a ckeras-written file with a real
 * Keras file line by line.  Format documented in h5_oracle.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/h5_oracle.h"


enum { MAX_DEPTH = 64, MAX_SHOWN_NUMBERS = 16 };

static const char *order_name(hid_t type)
{
    H5T_order_t o = H5Tget_order(type);
    return o == H5T_ORDER_BE ? "be" : o == H5T_ORDER_LE ? "le" : "none";
}

static void add_type(ck_h5u_text *t, hid_t type)
{
    size_t size = H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_STRING: {
        H5T_str_t pad = H5Tget_strpad(type);
        const char *pads = pad == H5T_STR_NULLTERM ? "nullterm"
                           : pad == H5T_STR_NULLPAD ? "nullpad"
                           : pad == H5T_STR_SPACEPAD ? "spacepad" : "pad?";
        const char *cset = H5Tget_cset(type) == H5T_CSET_UTF8 ? "utf8" : "ascii";
        if (H5Tis_variable_str(type) > 0) ck_h5u_text_add(t, "string vlen %s %s", pads, cset);
        else ck_h5u_text_add(t, "string fixed(%zu) %s %s", size, pads, cset);
        break;
    }
    case H5T_INTEGER:
        ck_h5u_text_add(t, "%s %zu %s", H5Tget_sign(type) == H5T_SGN_2 ? "integer" : "uint", size,
                        order_name(type));
        break;
    case H5T_FLOAT: ck_h5u_text_add(t, "float %zu %s", size, order_name(type)); break;
    case H5T_ENUM: {
        hid_t base = H5Tget_super(type);
        ck_h5u_text_add(t, "enum(");
        if (base >= 0) add_type(t, base);
        ck_h5u_text_add(t, ")");
        ck_h5o_close(base);
        break;
    }
    case H5T_ARRAY: {
        int nd = H5Tget_array_ndims(type);
        hsize_t dims[32];
        ck_h5u_text_add(t, "array(");
        if (nd > 0 && nd <= 32 && H5Tget_array_dims2(type, dims) >= 0)
            for (int i = 0; i < nd; i++) ck_h5u_text_add(t, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
        ck_h5u_text_add(t, ") of ");
        hid_t base = H5Tget_super(type);
        if (base >= 0) add_type(t, base);
        ck_h5o_close(base);
        break;
    }
    case H5T_VLEN: {
        ck_h5u_text_add(t, "vlen of ");
        hid_t base = H5Tget_super(type);
        if (base >= 0) add_type(t, base);
        ck_h5o_close(base);
        break;
    }
    case H5T_COMPOUND:
        ck_h5u_text_add(t, "compound(%d members) %zu", H5Tget_nmembers(type), size);
        break;
    case H5T_OPAQUE: ck_h5u_text_add(t, "opaque %zu", size); break;
    case H5T_BITFIELD: ck_h5u_text_add(t, "bitfield %zu %s", size, order_name(type)); break;
    case H5T_REFERENCE: ck_h5u_text_add(t, "reference %zu", size); break;
    case H5T_TIME: ck_h5u_text_add(t, "time %zu", size); break;
    default: ck_h5u_text_add(t, "class? %zu", size); break;
    }
}

static void add_space(ck_h5u_text *t, hid_t space)
{
    H5S_class_t c = H5Sget_simple_extent_type(space);
    if (c == H5S_SCALAR) {
        ck_h5u_text_add(t, "scalar");
        return;
    }
    if (c == H5S_NULL) {
        ck_h5u_text_add(t, "null");
        return;
    }
    int nd = H5Sget_simple_extent_ndims(space);
    hsize_t dims[H5S_MAX_RANK], maxd[H5S_MAX_RANK];
    if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, maxd) < 0) {
        ck_h5u_text_add(t, "simple(?)");
        return;
    }
    ck_h5u_text_add(t, "simple(");
    int same = 1;
    for (int i = 0; i < nd; i++) {
        ck_h5u_text_add(t, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
        if (maxd[i] != dims[i]) same = 0;
    }
    ck_h5u_text_add(t, ")");
    if (!same) {
        ck_h5u_text_add(t, "/(");
        for (int i = 0; i < nd; i++) {
            if (maxd[i] == H5S_UNLIMITED) ck_h5u_text_add(t, "%sinf", i ? ", " : "");
            else ck_h5u_text_add(t, "%s%llu", i ? ", " : "", (unsigned long long)maxd[i]);
        }
        ck_h5u_text_add(t, ")");
    }
}

/* " = ..." for a string attribute (scalar: "x", list: ["a", "b"]). */
static ck_status add_string_value(ck_h5u_text *t, hid_t obj, const char *name, hid_t space,
                                  const char *file, const char *where)
{
    H5S_class_t c = H5Sget_simple_extent_type(space);
    if (c == H5S_SIMPLE && H5Sget_simple_extent_ndims(space) != 1) return CK_OK;
    char **items = NULL;
    size_t n = 0;
    CK_TRY(ck_h5o_read_strings(obj, name, file, where, &items, &n, NULL));
    ck_h5u_text_add(t, " = ");
    if (c == H5S_SCALAR && n == 1) {
        ck_h5u_text_quoted(t, items[0], strlen(items[0]));
    } else {
        ck_h5u_text_add(t, "[");
        for (size_t i = 0; i < n; i++) {
            if (i) ck_h5u_text_add(t, ", ");
            ck_h5u_text_quoted(t, items[i], strlen(items[i]));
        }
        ck_h5u_text_add(t, "]");
    }
    ck_h5o_free_strings(items, n);
    return CK_OK;
}

static ck_status add_number_value(ck_h5u_text *t, hid_t aid, hid_t type, hid_t space,
                                  const char *file, const char *what)
{
    H5T_class_t cls = H5Tget_class(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) return CK_OK;
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n < 0 || n > MAX_SHOWN_NUMBERS) return CK_OK;
    if (H5Sget_simple_extent_type(space) == H5S_NULL) n = 0;
    double d[MAX_SHOWN_NUMBERS];
    long long q[MAX_SHOWN_NUMBERS];
    int is_int = cls == H5T_INTEGER;
    if (n > 0 && H5Aread(aid, is_int ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, is_int ? (void *)q : (void *)d) < 0)
        return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read %s", what);
    int scalar = H5Sget_simple_extent_type(space) == H5S_SCALAR;
    ck_h5u_text_add(t, scalar ? " = " : " = [");
    for (hssize_t i = 0; i < n; i++) {
        if (i) ck_h5u_text_add(t, ", ");
        if (is_int) ck_h5u_text_add(t, "%lld", q[i]);
        else ck_h5u_text_add(t, "%.17g", d[i]);
    }
    if (!scalar) ck_h5u_text_add(t, "]");
    return CK_OK;
}

typedef struct name_list {
    char **names;
    size_t n, cap;
    int oom;
} name_list;

static herr_t collect_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
    (void)loc;
    (void)info;
    name_list *l = data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        char **g = ck_realloc(l->names, cap * sizeof *g);
        if (!g) {
            l->oom = 1;
            return -1;
        }
        l->names = g;
        l->cap = cap;
    }
    l->names[l->n] = ck_strdup(name);
    if (!l->names[l->n]) {
        l->oom = 1;
        return -1;
    }
    l->n++;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ck_status add_attributes(ck_h5u_text *t, hid_t obj, const char *path, const char *file)
{
    name_list l = {0};
    hsize_t idx = 0;
    herr_t r = H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr, &l);
    ck_status st = CK_OK;
    if (l.oom) {
        H5Eclear2(H5E_DEFAULT);
        st = ck_oom("a list of attribute names");
    } else if (r < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot list the attributes of %s", path);
    }
    if (st == CK_OK && l.n > 1) qsort(l.names, l.n, sizeof *l.names, cmp_names);
    for (size_t i = 0; st == CK_OK && i < l.n; i++) {
        const char *name = l.names[i];
        char what[512];
        snprintf(what, sizeof what, "attribute '%s' of %s", name, path);
        hid_t aid = H5Aopen(obj, name, H5P_DEFAULT);
        if (aid < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot open %s", what);
            break;
        }
        hid_t type = H5Aget_type(aid), space = H5Aget_space(aid);
        if (type < 0 || space < 0) {
            st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the type of %s", what);
        } else {
            ck_h5u_text_add(t, "attr %s@%s ", path, name);
            add_type(t, type);
            ck_h5u_text_add(t, " ");
            add_space(t, space);
            if (H5Tget_class(type) == H5T_STRING) {
                if (strcmp(name, "model_config") != 0 && strcmp(name, "keras_version") != 0)
                    st = add_string_value(t, obj, name, space, file, path);
            } else {
                st = add_number_value(t, aid, type, space, file, what);
            }
            ck_h5u_text_add(t, "\n");
        }
        ck_h5o_close(space);
        ck_h5o_close(type);
        H5Aclose(aid);
    }
    for (size_t i = 0; i < l.n; i++) ck_free(l.names[i]);
    ck_free(l.names);
    return st;
}

static ck_status add_dataset(ck_h5u_text *t, hid_t did, const char *path, const char *file,
                             hsize_t fsize)
{
    hid_t type = H5Dget_type(did), space = H5Dget_space(did), dcpl = H5Dget_create_plist(did);
    ck_status st = CK_OK;
    if (type < 0 || space < 0 || dcpl < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read dataset %s", path);
    } else {
        ck_h5u_text_add(t, "dataset %s ", path);
        add_type(t, type);
        ck_h5u_text_add(t, " ");
        add_space(t, space);
        H5D_layout_t layout = H5Pget_layout(dcpl);
        ck_h5u_text_add(t, " %s", layout == H5D_CONTIGUOUS ? "contiguous"
                                  : layout == H5D_CHUNKED  ? "chunked"
                                  : layout == H5D_COMPACT  ? "compact" : "layout?");
        int nf = H5Pget_nfilters(dcpl);
        if (nf > 0) ck_h5u_text_add(t, " filters=%d", nf);
        ck_h5u_text_add(t, "\n");
        hssize_t n = H5Sget_simple_extent_npoints(space);
        if (n < 0) st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read the shape of %s", path);
        else st = ck_h5o_check_storage(did, (int64_t)n, file, path, fsize, 1);
        if (st == CK_OK) st = add_attributes(t, did, path, file);
    }
    ck_h5o_close(dcpl);
    ck_h5o_close(space);
    ck_h5o_close(type);
    return st;
}

static ck_status walk(ck_h5u_text *t, hid_t g, const char *path, const char *file, hsize_t fsize,
                     int depth)
{
    if (depth > MAX_DEPTH)
        return ck_error(CK_FORMAT_ERROR, "%s: groups nested deeper than %d at %s (a cycle?)", file,
                        MAX_DEPTH, path);
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0) return ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot read group %s", path);
    ck_h5u_text_add(t, "group %s links=%s\n", path,
                    gi.storage_type == H5G_STORAGE_TYPE_SYMBOL_TABLE ? "symtab"
                    : gi.storage_type == H5G_STORAGE_TYPE_COMPACT    ? "compact"
                    : gi.storage_type == H5G_STORAGE_TYPE_DENSE      ? "dense" : "?");
    CK_TRY(add_attributes(t, g, path, file));
    ck_h5o_child *c = NULL;
    size_t n = 0;
    CK_TRY(ck_h5o_list_children(g, file, path, &c, &n));
    ck_status st = CK_OK;
    for (size_t i = 0; st == CK_OK && i < n; i++) {
        char *cpath = ck_h5u_join(path, c[i].name, 1);
        if (!cpath) {
            st = ck_oom("a path");
            break;
        }
        if (c[i].kind == CK_H5O_GROUP) {
            hid_t sub = H5Gopen2(g, c[i].name, H5P_DEFAULT);
            if (sub < 0) st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot open group %s", cpath);
            else {
                st = walk(t, sub, cpath, file, fsize, depth + 1);
                H5Gclose(sub);
            }
        } else if (c[i].kind == CK_H5O_DATASET) {
            hid_t did = H5Dopen2(g, c[i].name, H5P_DEFAULT);
            if (did < 0) st = ck_h5o_fail(CK_FORMAT_ERROR, file, "cannot open dataset %s", cpath);
            else {
                st = add_dataset(t, did, cpath, file, fsize);
                H5Dclose(did);
            }
        } else {
            H5L_info_t li;
            const char *kind = "other";
            if (H5Lget_info(g, c[i].name, &li, H5P_DEFAULT) >= 0) {
                if (li.type == H5L_TYPE_SOFT) kind = "soft";
                else if (li.type == H5L_TYPE_EXTERNAL) kind = "external";
            } else {
                H5Eclear2(H5E_DEFAULT);
            }
            ck_h5u_text_add(t, "link %s %s\n", cpath, kind);
        }
        ck_free(cpath);
    }
    ck_h5o_free_children(c, n);
    return st;
}

static ck_status describe_impl(const char *path, char **text)
{
    hid_t fid = -1, root = -1;
    ck_h5u_text t = {0};
    hsize_t fsize = 0;
    ck_status st = ck_h5o_open(path, &fid, &fsize);
    if (st != CK_OK) return st;
    H5F_info2_t fi;
    if (H5Fget_info2(fid, &fi) < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, path, "cannot read the superblock");
        goto done;
    }
    ck_h5u_text_add(&t, "file superblock=%u\n", fi.super.version);
    root = H5Gopen2(fid, "/", H5P_DEFAULT);
    if (root < 0) {
        st = ck_h5o_fail(CK_FORMAT_ERROR, path, "cannot open the root group");
        goto done;
    }
    st = walk(&t, root, "/", path, fsize, 0);
    if (st == CK_OK && t.oom) st = ck_oom("a file description");
done:
    ck_h5o_close(root);
    ck_h5o_close(fid);
    if (st != CK_OK) {
        ck_free(t.data);
        return st;
    }
    *text = t.data;
    return CK_OK;
}

ck_status ck_h5_describe(const char *path, char **text)
{
    if (!path || !text)
        return ck_error(CK_VALUE_ERROR, "ck_h5_describe: path and text must not be NULL");
    ck_h5o_quiet q;
    ck_h5o_quiet_begin(&q);
    ck_status st = describe_impl(path, text);
    ck_h5o_quiet_end(&q);
    return st;
}
