/* Building the tree of a file to write (see h5_write.h); the layout on disk
 * is in h5_write_file.c. */
#include <string.h>

#include "io/h5/h5_write_internal.h"

static void free_attr(w_attr *a)
{
    for (size_t i = 0; a->items && i < a->n; i++) ck_free(a->items[i]);
    ck_free(a->items);
    ck_free(a->heap_coll);
    ck_free(a->heap_idx);
    ck_free(a->name);
}

static void free_obj(ck_h5w_obj *o)
{
    for (size_t i = 0; i < o->n_kids; i++) {
        free_obj(o->kids[i]);
        ck_free(o->kids[i]);
    }
    ck_free(o->kids);
    for (size_t i = 0; i < o->n_attrs; i++) free_attr(&o->attrs[i]);
    ck_free(o->attrs);
    ck_free(o->name);
}

ck_status ck_h5w_new(ck_h5w **out)
{
    ck_h5w *w = ck_calloc(1, sizeof *w);
    if (!w) return ck_oom("an HDF5 writer");
    w->root.is_group = 1;
    *out = w;
    return CK_OK;
}

void ck_h5w_free(ck_h5w *w)
{
    if (!w) return;
    free_obj(&w->root);
    ck_free(w);
}

ck_h5w_obj *ck_h5w_root(ck_h5w *w) { return &w->root; }

static ck_h5w_obj *find_kid(const ck_h5w_obj *g, const char *name, size_t len)
{
    for (size_t i = 0; i < g->n_kids; i++)
        if (strlen(g->kids[i]->name) == len && memcmp(g->kids[i]->name, name, len) == 0)
            return g->kids[i];
    return NULL;
}

static ck_status add_kid(ck_h5w_obj *g, const char *name, size_t len, int is_group,
                         ck_h5w_obj **out)
{
    if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: an empty, '.' or '..' path component");
    if (g->n_kids == g->cap_kids) {
        size_t cap = g->cap_kids ? 2 * g->cap_kids : 8;
        ck_h5w_obj **k = ck_realloc(g->kids, cap * sizeof *k);
        if (!k) return ck_oom("an HDF5 group");
        g->kids = k;
        g->cap_kids = cap;
    }
    ck_h5w_obj *o = ck_calloc(1, sizeof *o);
    char *n = ck_malloc(len + 1);
    if (!o || !n) {
        ck_free(o);
        ck_free(n);
        return ck_oom("an HDF5 object");
    }
    memcpy(n, name, len);
    n[len] = '\0';
    o->name = n;
    o->is_group = is_group;
    g->kids[g->n_kids++] = o;
    *out = o;
    return CK_OK;
}

/* Walks `path` from `parent`, creating groups; the last component is
 * returned in *last / *last_len without being created. */
static ck_status walk_parents(ck_h5w_obj *parent, const char *path, ck_h5w_obj **dir,
                              const char **last, size_t *last_len)
{
    if (!parent || !parent->is_group || !path)
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: bad parent or path");
    ck_h5w_obj *g = parent;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) break;
        size_t len = (size_t)(slash - p);
        ck_h5w_obj *k = find_kid(g, p, len);
        if (k && !k->is_group)
            return ck_error(CK_VALUE_ERROR, "HDF5 writer: '%.*s' of '%s' is a dataset, not a group",
                            (int)len, p, path);
        if (!k) CK_TRY(add_kid(g, p, len, 1, &k));
        g = k;
        p = slash + 1;
    }
    *dir = g;
    *last = p;
    *last_len = strlen(p);
    return CK_OK;
}

ck_status ck_h5w_group(ck_h5w *w, ck_h5w_obj *parent, const char *path, ck_h5w_obj **out)
{
    (void)w;
    ck_h5w_obj *g = NULL, *k = NULL;
    const char *last = NULL;
    size_t len = 0;
    CK_TRY(walk_parents(parent, path, &g, &last, &len));
    k = find_kid(g, last, len);
    if (k && !k->is_group)
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: '%s' is a dataset, not a group", path);
    if (!k) CK_TRY(add_kid(g, last, len, 1, &k));
    *out = k;
    return CK_OK;
}

ck_status ck_h5w_dataset(ck_h5w *w, ck_h5w_obj *parent, const char *path, const ck_tensor *t)
{
    (void)w;
    if (!t) return ck_error(CK_VALUE_ERROR, "HDF5 writer: dataset '%s' has no tensor", path);
    if (t->dtype < CK_FLOAT32 || t->dtype > CK_INT64)
        return ck_error(CK_TYPE_ERROR, "HDF5 writer: dataset '%s' has an invalid dtype %d", path,
                        (int)t->dtype);
    ck_h5w_obj *g = NULL, *k = NULL;
    const char *last = NULL;
    size_t len = 0;
    CK_TRY(walk_parents(parent, path, &g, &last, &len));
    if (find_kid(g, last, len))
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: '%s' already exists", path);
    CK_TRY(add_kid(g, last, len, 0, &k));
    k->t = t;
    return CK_OK;
}

int ck_h5w_has_attr(const ck_h5w_obj *o, const char *name)
{
    for (size_t i = 0; o && i < o->n_attrs; i++)
        if (strcmp(o->attrs[i].name, name) == 0) return 1;
    return 0;
}

/* Appends an attribute with copies of `items`; the caller sets the kind. */
static ck_status add_attr(ck_h5w_obj *o, const char *name, const char *const *items, size_t n,
                          w_attr **out)
{
    if (!o || !name || !name[0]) return ck_error(CK_VALUE_ERROR, "HDF5 writer: bad attribute");
    if (ck_h5w_has_attr(o, name))
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: attribute '%s' already exists", name);
    if (o->n_attrs == o->cap_attrs) {
        size_t cap = o->cap_attrs ? 2 * o->cap_attrs : 4;
        w_attr *a = ck_realloc(o->attrs, cap * sizeof *a);
        if (!a) return ck_oom("an HDF5 attribute");
        o->attrs = a;
        o->cap_attrs = cap;
    }
    w_attr a;
    memset(&a, 0, sizeof a);
    a.name = ck_strdup(name);
    a.items = ck_calloc(n ? n : 1, sizeof *a.items);
    a.n = n;
    int oom = !a.name || !a.items;
    for (size_t i = 0; !oom && i < n; i++) {
        a.items[i] = ck_strdup(items[i] ? items[i] : "");
        oom = !a.items[i];
    }
    if (oom) {
        free_attr(&a);
        return ck_oom("an HDF5 attribute");
    }
    o->attrs[o->n_attrs] = a;
    *out = &o->attrs[o->n_attrs++];
    return CK_OK;
}

ck_status ck_h5w_attr_vlen(ck_h5w *w, ck_h5w_obj *o, const char *name, const char *const *items,
                           size_t n, int scalar, ck_h5w_cset cset)
{
    (void)w;
    if (scalar && n != 1) return ck_error(CK_VALUE_ERROR, "HDF5 writer: a scalar holds one string");
    if (n > CK_H5W_MAX_ATTR_BYTES / 16)
        return ck_error(CK_VALUE_ERROR, "HDF5 writer: attribute '%s' has too many strings (%zu)",
                        name, n);
    w_attr *a = NULL;
    CK_TRY(add_attr(o, name, items, n, &a));
    a->kind = W_VLEN;
    a->scalar = scalar;
    a->cset = cset;
    return CK_OK;
}

ck_status ck_h5w_attr_fixed(ck_h5w *w, ck_h5w_obj *o, const char *name, const char *const *items,
                            size_t n, size_t itemsize)
{
    (void)w;
    if (itemsize == 0 || (n && itemsize > CK_H5W_MAX_ATTR_BYTES / n))
        return ck_error(CK_VALUE_ERROR,
                        "HDF5 writer: attribute '%s' (%zu strings of %zu bytes) does not fit in an "
                        "object header",
                        name, n, itemsize);
    for (size_t i = 0; i < n; i++)
        if (strlen(items[i]) > itemsize)
            return ck_error(CK_VALUE_ERROR, "HDF5 writer: string %zu of '%s' is longer than %zu",
                            i, name, itemsize);
    w_attr *a = NULL;
    CK_TRY(add_attr(o, name, items, n, &a));
    a->kind = W_FIXED;
    a->itemsize = itemsize;
    return CK_OK;
}

ck_status ck_h5w_attr_empty_f64(ck_h5w *w, ck_h5w_obj *o, const char *name)
{
    (void)w;
    w_attr *a = NULL;
    CK_TRY(add_attr(o, name, NULL, 0, &a));
    a->kind = W_EMPTY_F64;
    return CK_OK;
}
