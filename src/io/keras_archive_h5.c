/* The HDF5 part of Keras 3 files: model.weights.h5 inside `.keras`
 * archives and `.weights.h5` files on their own, read through ckeras' own
 * HDF5 reader and built with its writer (the zip side is keras_archive.c).
 * See keras_archive.h. */
#include "io/keras_archive.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_util.h"

enum { MAX_DEPTH = 64 };

/* ======================================================================== */
/* path order                                                                */
/* ======================================================================== */

static int all_digits(const char *s, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int cmp_raw(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    if (c) return c;
    return la < lb ? -1 : la > lb;
}

static int cmp_component(const char *a, size_t la, const char *b, size_t lb)
{
    int da = all_digits(a, la), db = all_digits(b, lb);
    if (da != db) return da ? -1 : 1;
    if (da) {
        /* Numbers of any length: skip leading zeros, longer is larger. */
        const char *x = a, *y = b;
        size_t lx = la, ly = lb;
        while (lx > 1 && *x == '0') x++, lx--;
        while (ly > 1 && *y == '0') y++, ly--;
        if (lx != ly) return lx < ly ? -1 : 1;
        int c = memcmp(x, y, lx);
        if (c) return c;
    }
    return cmp_raw(a, la, b, lb);
}

/* Component-wise path order of keras_archive.h ("vars/2" < "vars/10"). */
static int cmp_path(const char *a, const char *b)
{
    for (;;) {
        const char *ea = strchr(a, '/'), *eb = strchr(b, '/');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        int c = cmp_component(a, la, b, lb);
        if (c) return c;
        if (!ea || !eb) return (ea ? 1 : 0) - (eb ? 1 : 0);
        a = ea + 1;
        b = eb + 1;
    }
}

static int cmp_var(const void *x, const void *y)
{
    return cmp_path(((const ck_keras_var *)x)->path, ((const ck_keras_var *)y)->path);
}

static int cmp_group(const void *x, const void *y)
{
    return cmp_path(((const ck_keras_vars_group *)x)->path,
                    ((const ck_keras_vars_group *)y)->path);
}

/* ======================================================================== */
/* reading the HDF5 part                                                     */
/* ======================================================================== */

typedef struct collect {
    ck_keras_archive *a;
    size_t cap_vars, cap_groups;
    ck_h5r *f;
    const char *file;
    /* Hard links may share or loop back to groups: ancestors are refused
     * (a cycle) and the whole walk is capped (a shared-group bomb). */
    uint64_t ancestors[MAX_DEPTH + 2];
    size_t visits;
} collect;

enum { MAX_VISITS = 1 << 20 };

static ck_status add_var(collect *c, char *path, ck_tensor *t)
{
    ck_keras_archive *a = c->a;
    if (a->n_vars == c->cap_vars) {
        size_t cap = c->cap_vars ? 2 * c->cap_vars : 16;
        ck_keras_var *g = ck_realloc(a->vars, cap * sizeof *g);
        if (!g) return ck_oom("the variable list");
        a->vars = g;
        c->cap_vars = cap;
    }
    a->vars[a->n_vars].path = path;
    a->vars[a->n_vars].value = t;
    a->n_vars++;
    return CK_OK;
}

static ck_status add_group(collect *c, char *path, char *name)
{
    ck_keras_archive *a = c->a;
    if (a->n_groups == c->cap_groups) {
        size_t cap = c->cap_groups ? 2 * c->cap_groups : 16;
        ck_keras_vars_group *g = ck_realloc(a->groups, cap * sizeof *g);
        if (!g) return ck_oom("the vars group list");
        a->groups = g;
        c->cap_groups = cap;
    }
    a->groups[a->n_groups].path = path;
    a->groups[a->n_groups].name = name;
    a->n_groups++;
    return CK_OK;
}

static ck_status walk(collect *c, uint64_t g, const char *path, int depth)
{
    if (depth > MAX_DEPTH)
        return ck_error(CK_FORMAT_ERROR, "%s: groups nested deeper than %d at /%s", c->file,
                        MAX_DEPTH, path);
    for (int d = 0; d < depth; d++)
        if (c->ancestors[d] == g)
            return ck_error(CK_FORMAT_ERROR, "%s: group /%s links back to a group above it (a cycle)",
                            c->file, path);
    c->ancestors[depth] = g;
    ck_h5u_child *ch = NULL;
    size_t n = 0;
    CK_TRY(ck_h5u_list_children(c->f, g, path[0] ? path : "/", &ch, &n));
    ck_status st = CK_OK;
    for (size_t i = 0; st == CK_OK && i < n; i++) {
        if (ch[i].kind == CK_H5U_OTHER) continue;
        if (++c->visits > MAX_VISITS) {
            st = ck_error(CK_FORMAT_ERROR, "%s: more than %d objects to visit (shared groups?)",
                          c->file, MAX_VISITS);
            break;
        }
        char *cpath = ck_h5u_join(path, ch[i].name, 0);
        if (!cpath) {
            st = ck_oom("a path");
            break;
        }
        /* Keras 3.0 built these paths with os.path.join, so on Windows one
         * group is named e.g. "layers\\embedding"; Keras reads such files
         * back under the '/' names, and so do we. */
        for (char *q = cpath; *q; q++)
            if (*q == '\\') *q = '/';
        if (ch[i].kind == CK_H5U_DATASET) {
            char where[1024];
            snprintf(where, sizeof where, "dataset /%s", cpath);
            ck_tensor *t = NULL;
            st = ck_h5u_read_dataset(c->f, g, ch[i].name, where, &t);
            if (st == CK_OK) {
                st = add_var(c, cpath, t);
                if (st != CK_OK) ck_tensor_free(t);
                else cpath = NULL;
            }
        } else {
            if (strcmp(ch[i].name, "vars") == 0) {
                char *name = NULL;
                char where[1024];
                snprintf(where, sizeof where, "group /%s", cpath);
                st = ck_h5u_read_string(c->f, ch[i].addr, "name", where, &name);
                char *gpath = st == CK_OK ? ck_strdup(cpath) : NULL;
                if (st == CK_OK && !gpath) st = ck_oom("a path");
                if (st == CK_OK) st = add_group(c, gpath, name);
                if (st != CK_OK) {
                    ck_free(gpath);
                    ck_free(name);
                }
            }
            if (st == CK_OK) st = walk(c, ch[i].addr, cpath, depth + 1);
        }
        ck_free(cpath);
    }
    ck_h5u_free_children(ch, n);
    return st;
}

ck_status ck_keras_h5_part_read(ck_h5r *f, ck_keras_archive *a)
{
    collect *c = ck_calloc(1, sizeof *c);
    if (!c) return ck_oom("an HDF5 walk");
    c->a = a;
    c->f = f;
    c->file = ck_h5r_name(f);
    ck_status st = walk(c, ck_h5r_root(f), "", 0);
    ck_free(c);
    if (st != CK_OK) return st;
    if (a->n_vars) qsort(a->vars, a->n_vars, sizeof *a->vars, cmp_var);
    if (a->n_groups) qsort(a->groups, a->n_groups, sizeof *a->groups, cmp_group);
    return CK_OK;
}

static ck_status weights_h5_read_impl(const char *path, ck_keras_archive **out)
{
    ck_h5r *f = NULL;
    ck_keras_archive *a = ck_calloc(1, sizeof *a);
    if (!a) return ck_oom("a Keras weights file");
    ck_status st = ck_h5u_open(path, &f);
    if (st != CK_OK) goto done;
    uint64_t root = ck_h5r_root(f);
    int legacy = ck_h5u_attr_exists(f, root, "layer_names", "/");
    if (legacy < 0) {
        st = ck_last_status();
        goto done;
    }
    ck_h5u_kind mw = legacy ? CK_H5U_OTHER : ck_h5u_kind_of(f, root, "model_weights", NULL);
    if (mw == CK_H5U_BROKEN) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot look up /model_weights");
        goto done;
    }
    if (legacy || mw != CK_H5U_OTHER) {
        st = ck_error(CK_FORMAT_ERROR,
                      "%s: a legacy Keras 2 HDF5 file (layer_names / model_weights), not a Keras "
                      "3 .weights.h5 file: read it with ck_h5_read",
                      path);
        goto done;
    }
    st = ck_keras_h5_part_read(f, a);
done:
    ck_h5r_close(f);
    if (st != CK_OK) {
        ck_keras_archive_free(a);
        return st;
    }
    *out = a;
    return CK_OK;
}

ck_status ck_keras_weights_h5_read(const char *path, ck_keras_archive **out)
{
    if (!path || !out)
        return ck_error(CK_VALUE_ERROR, "ck_keras_weights_h5_read: path and out must not be NULL");
    return weights_h5_read_impl(path, out);
}

/* ======================================================================== */
/* writing                                                                   */
/* ======================================================================== */

static ck_status check_path(const char *p, const char *what)
{
    if (!p || !p[0]) return ck_error(CK_VALUE_ERROR, "%s has no path", what);
    if (p[0] == '/') return ck_error(CK_VALUE_ERROR, "%s path '%s' must be relative", what, p);
    for (const char *c = p;;) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return ck_error(CK_VALUE_ERROR,
                            "%s path '%s' has an empty, '.' or '..' component", what, p);
        if (!slash) break;
        c = slash + 1;
    }
    return CK_OK;
}

/* Order where '/' sorts before every other byte, so that the descendants of
 * a path directly follow it. */
static int cmp_tree(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x == y) {
            if (!x) return 0;
            continue;
        }
        if (!x || !y) return x ? 1 : -1;
        if (x == '/') return -1;
        if (y == '/') return 1;
        return x < y ? -1 : 1;
    }
}

typedef struct tree_item {
    const char *path;
    int is_var;
} tree_item;

static int cmp_tree_item(const void *x, const void *y)
{
    const tree_item *a = x, *b = y;
    int c = cmp_tree(a->path, b->path);
    return c ? c : a->is_var - b->is_var;
}

static int is_under(const char *p, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

ck_status ck_keras_archive_validate(const ck_keras_archive *a, const char *fn)
{
    if (a->n_vars > 0 && !a->vars)
        return ck_error(CK_VALUE_ERROR, "%s: %zu variables but no array", fn, a->n_vars);
    if (a->n_groups > 0 && !a->groups)
        return ck_error(CK_VALUE_ERROR, "%s: %zu groups but no array", fn, a->n_groups);
    char what[600];
    for (size_t i = 0; i < a->n_vars; i++) {
        snprintf(what, sizeof what, "%s: variable %zu", fn, i);
        CK_TRY(check_path(a->vars[i].path, what));
        snprintf(what, sizeof what, "%s: variable '%s'", fn, a->vars[i].path);
        CK_TRY(ck_h5u_check_tensor(a->vars[i].value, what));
    }
    for (size_t i = 0; i < a->n_groups; i++) {
        snprintf(what, sizeof what, "%s: group %zu", fn, i);
        CK_TRY(check_path(a->groups[i].path, what));
    }
    size_t n = a->n_vars + a->n_groups;
    if (n < 2) return CK_OK;
    tree_item *items = ck_malloc(n * sizeof *items);
    if (!items) return ck_oom("a path list");
    for (size_t i = 0; i < a->n_vars; i++) items[i] = (tree_item){a->vars[i].path, 1};
    for (size_t i = 0; i < a->n_groups; i++) items[a->n_vars + i] = (tree_item){a->groups[i].path, 0};
    qsort(items, n, sizeof *items, cmp_tree_item);
    ck_status st = CK_OK;
    /* A variable is a dataset: nothing may sit at or below its path. */
    for (size_t i = 0; i + 1 < n && st == CK_OK; i++) {
        if (items[i].is_var && is_under(items[i + 1].path, items[i].path))
            st = ck_error(CK_VALUE_ERROR, "%s: '%s' is a variable and cannot also be %s '%s'", fn,
                          items[i].path, items[i + 1].is_var ? "the variable" : "the group",
                          items[i + 1].path);
        else if (!items[i].is_var && items[i + 1].is_var && strcmp(items[i].path, items[i + 1].path) == 0)
            st = ck_error(CK_VALUE_ERROR, "%s: '%s' is both a group and a variable", fn,
                          items[i].path);
    }
    ck_free(items);
    return st;
}

/* The HDF5 part as Keras' saving_lib writes it: first the groups (with
 * their `name` attributes), then each variable at its path. */
static ck_status build_h5(const ck_keras_archive *a, const char *file, ck_h5w **out)
{
    ck_h5w *w = NULL;
    CK_TRY(ck_h5w_new(&w));
    ck_h5w_obj *root = ck_h5w_root(w);
    ck_status st = CK_OK;
    for (size_t i = 0; st == CK_OK && i < a->n_groups; i++) {
        const ck_keras_vars_group *g = &a->groups[i];
        char where[1024];
        snprintf(where, sizeof where, "group /%s", g->path);
        ck_h5w_obj *gobj = NULL;
        st = ck_h5w_group(w, root, g->path, &gobj);
        if (st != CK_OK && st != CK_OUT_OF_MEMORY) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", ck_last_error());
            st = ck_error(st, "%s: cannot create %s: %s", file, where, msg);
        }
        if (st == CK_OK && g->name && !ck_h5w_has_attr(gobj, "name"))
            st = ck_h5u_write_vlen_string(w, gobj, "name", g->name, CK_H5W_UTF8, file, where);
    }
    for (size_t i = 0; st == CK_OK && i < a->n_vars; i++) {
        st = ck_h5w_dataset(w, root, a->vars[i].path, a->vars[i].value);
        if (st != CK_OK && st != CK_OUT_OF_MEMORY) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", ck_last_error());
            st = ck_error(st, "%s: cannot create dataset /%s: %s", file, a->vars[i].path, msg);
        }
    }
    if (st != CK_OK) {
        ck_h5w_free(w);
        return st;
    }
    *out = w;
    return CK_OK;
}

ck_status ck_keras_weights_h5_write(const char *path, const ck_keras_archive *a)
{
    if (!path || !a)
        return ck_error(CK_VALUE_ERROR, "ck_keras_weights_h5_write: path and a must not be NULL");
    CK_TRY(ck_keras_archive_validate(a, "ck_keras_weights_h5_write"));
    ck_h5w *w = NULL;
    CK_TRY(build_h5(a, path, &w));
    ck_status st = ck_h5u_save(w, path);
    ck_h5w_free(w);
    return st;
}

ck_status ck_keras_h5_part_image(const ck_keras_archive *a, const char *what, void **buf,
                                 size_t *len)
{
    ck_h5w *w = NULL;
    CK_TRY(build_h5(a, what, &w));
    ck_status st = ck_h5w_image(w, buf, len);
    ck_h5w_free(w);
    return st;
}
