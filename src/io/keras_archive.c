/* Keras 3 `.keras` archives (libzip) and `.weights.h5` files <-> plain
 * data.  See keras_archive.h. */
#include "io/keras_archive.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>

#include "io/h5_util.h"
#include "io/json_check.h"

enum { MAX_DEPTH = 64 };

static const char *const ENTRY_METADATA = "metadata.json";
static const char *const ENTRY_CONFIG = "config.json";
static const char *const ENTRY_WEIGHTS = "model.weights.h5";

/* ======================================================================== */
/* freeing, lookup, path order                                               */
/* ======================================================================== */

void ck_keras_archive_free(ck_keras_archive *a)
{
    if (!a) return;
    ck_free(a->metadata_json);
    ck_free(a->config_json);
    for (size_t i = 0; a->vars && i < a->n_vars; i++) {
        ck_free(a->vars[i].path);
        ck_tensor_free(a->vars[i].value);
    }
    ck_free(a->vars);
    for (size_t i = 0; a->groups && i < a->n_groups; i++) {
        ck_free(a->groups[i].path);
        ck_free(a->groups[i].name);
    }
    ck_free(a->groups);
    ck_free(a);
}

const ck_tensor *ck_keras_archive_find(const ck_keras_archive *a, const char *path)
{
    if (!a || !path) return NULL;
    for (size_t i = 0; i < a->n_vars; i++)
        if (a->vars[i].path && strcmp(a->vars[i].path, path) == 0) return a->vars[i].value;
    return NULL;
}

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
    const char *file;
    hsize_t fsize;
} collect;

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

static ck_status walk(collect *c, hid_t g, const char *path, int depth)
{
    if (depth > MAX_DEPTH)
        return ck_error(CK_FORMAT_ERROR, "%s: groups nested deeper than %d at /%s", c->file,
                        MAX_DEPTH, path);
    ck_h5u_child *ch = NULL;
    size_t n = 0;
    CK_TRY(ck_h5u_list_children(g, c->file, path[0] ? path : "/", &ch, &n));
    ck_status st = CK_OK;
    for (size_t i = 0; st == CK_OK && i < n; i++) {
        if (ch[i].kind == CK_H5U_OTHER) continue;
        char *cpath = ck_h5u_join(path, ch[i].name, 0);
        if (!cpath) {
            st = ck_oom("a path");
            break;
        }
        if (ch[i].kind == CK_H5U_DATASET) {
            char where[1024];
            snprintf(where, sizeof where, "dataset /%s", cpath);
            ck_tensor *t = NULL;
            st = ck_h5u_read_dataset(g, ch[i].name, c->file, where, c->fsize, &t);
            if (st == CK_OK) {
                st = add_var(c, cpath, t);
                if (st != CK_OK) ck_tensor_free(t);
                else cpath = NULL;
            }
        } else {
            hid_t sub = H5Gopen2(g, ch[i].name, H5P_DEFAULT);
            if (sub < 0) {
                st = ck_h5u_fail(CK_FORMAT_ERROR, c->file, "cannot open group /%s", cpath);
            } else {
                if (strcmp(ch[i].name, "vars") == 0) {
                    char *name = NULL;
                    char where[1024];
                    snprintf(where, sizeof where, "group /%s", cpath);
                    st = ck_h5u_read_string(sub, "name", c->file, where, &name);
                    char *gpath = st == CK_OK ? ck_strdup(cpath) : NULL;
                    if (st == CK_OK && !gpath) st = ck_oom("a path");
                    if (st == CK_OK) st = add_group(c, gpath, name);
                    if (st != CK_OK) {
                        ck_free(gpath);
                        ck_free(name);
                    }
                }
                if (st == CK_OK) st = walk(c, sub, cpath, depth + 1);
                H5Gclose(sub);
            }
        }
        ck_free(cpath);
    }
    ck_h5u_free_children(ch, n);
    return st;
}

static ck_status read_h5_part(hid_t fid, hsize_t fsize, const char *file, ck_keras_archive *a)
{
    hid_t root = H5Gopen2(fid, "/", H5P_DEFAULT);
    if (root < 0) return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot open the root group");
    collect c = {a, 0, 0, file, fsize};
    ck_status st = walk(&c, root, "", 0);
    H5Gclose(root);
    if (st != CK_OK) return st;
    if (a->n_vars) qsort(a->vars, a->n_vars, sizeof *a->vars, cmp_var);
    if (a->n_groups) qsort(a->groups, a->n_groups, sizeof *a->groups, cmp_group);
    return CK_OK;
}

static ck_status weights_h5_read_impl(const char *path, ck_keras_archive **out)
{
    hid_t fid = -1, root = -1;
    hsize_t fsize = 0;
    ck_keras_archive *a = ck_calloc(1, sizeof *a);
    if (!a) return ck_oom("a Keras weights file");
    ck_status st = ck_h5u_open(path, &fid, &fsize);
    if (st != CK_OK) goto done;
    root = H5Gopen2(fid, "/", H5P_DEFAULT);
    if (root < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot open the root group");
        goto done;
    }
    int legacy = ck_h5u_attr_exists(root, "layer_names", path, "/");
    if (legacy < 0) {
        st = ck_last_status();
        goto done;
    }
    if (legacy || ck_h5u_kind_of(root, "model_weights") != CK_H5U_OTHER) {
        st = ck_error(CK_FORMAT_ERROR,
                      "%s: a legacy Keras 2 HDF5 file (layer_names / model_weights), not a Keras "
                      "3 .weights.h5 file: read it with ck_h5_read",
                      path);
        goto done;
    }
    st = read_h5_part(fid, fsize, path, a);
done:
    ck_h5u_close(root);
    ck_h5u_close(fid);
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
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = weights_h5_read_impl(path, out);
    ck_h5u_quiet_end(&q);
    return st;
}

/* ======================================================================== */
/* reading the archive                                                       */
/* ======================================================================== */

static ck_status zip_open_error(const char *path, int code)
{
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", zip_error_strerror(&e));
    zip_error_fini(&e);
    switch (code) {
    case ZIP_ER_MEMORY: return ck_error(CK_OUT_OF_MEMORY, "%s: out of memory opening the archive", path);
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return ck_error(CK_IO_ERROR, "%s: cannot open the archive: %s", path, msg);
    default:
        return ck_error(CK_FORMAT_ERROR, "%s: not a valid .keras (zip) archive: %s", path, msg);
    }
}

/* Reads entry `name` whole into a NUL-terminated ck_malloc'ed buffer;
 * *data = NULL if the entry is absent. */
static ck_status read_entry(zip_t *za, const char *path, const char *name, char **data,
                            size_t *len)
{
    *data = NULL;
    *len = 0;
    zip_int64_t idx = zip_name_locate(za, name, 0);
    if (idx < 0) return CK_OK;
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
        return ck_error(CK_FORMAT_ERROR, "%s: cannot read the size of entry %s: %s", path, name,
                        zip_strerror(za));
    if (zs.size >= (zip_uint64_t)SIZE_MAX || zs.size > ((zip_uint64_t)1 << 40))
        return ck_error(CK_FORMAT_ERROR, "%s: entry %s claims %llu bytes", path, name,
                        (unsigned long long)zs.size);
    size_t size = (size_t)zs.size;
    char *buf = ck_malloc(size + 1);
    if (!buf) return ck_oom("an archive entry");
    zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!zf) {
        ck_status st = ck_error(CK_FORMAT_ERROR, "%s: cannot open entry %s: %s", path, name,
                                zip_strerror(za));
        ck_free(buf);
        return st;
    }
    ck_status st = CK_OK;
    size_t got = 0;
    while (got < size) {
        zip_int64_t r = zip_fread(zf, buf + got, size - got);
        if (r <= 0) {
            st = ck_error(CK_FORMAT_ERROR, "%s: entry %s is damaged or truncated (%zu of %zu bytes read%s%s)",
                          path, name, got, size, r < 0 ? ": " : "", r < 0 ? zip_file_strerror(zf) : "");
            break;
        }
        got += (size_t)r;
    }
    if (st == CK_OK) {
        /* Reading past the end makes libzip check the CRC. */
        char extra;
        zip_int64_t r = zip_fread(zf, &extra, 1);
        if (r != 0)
            st = ck_error(CK_FORMAT_ERROR, "%s: entry %s is damaged (%s)", path, name,
                          r < 0 ? zip_file_strerror(zf) : "longer than its declared size");
    }
    int closed = zip_fclose(zf);
    if (st == CK_OK && closed != 0) {
        zip_error_t e;
        zip_error_init_with_code(&e, closed);
        st = ck_error(CK_FORMAT_ERROR, "%s: entry %s is damaged (%s)", path, name,
                      zip_error_strerror(&e));
        zip_error_fini(&e);
    }
    if (st != CK_OK) {
        ck_free(buf);
        return st;
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return CK_OK;
}

static ck_status check_json_text(const char *text, size_t len, const char *path, const char *entry)
{
    if (strlen(text) != len)
        return ck_error(CK_FORMAT_ERROR, "%s: %s contains a NUL byte", path, entry);
    char label[1200];
    snprintf(label, sizeof label, "%s: %s", path, entry);
    return ck_json_check_object(text, len, label);
}

static ck_status archive_read_impl(const char *path, ck_keras_archive **out)
{
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za) return zip_open_error(path, err);
    ck_keras_archive *a = ck_calloc(1, sizeof *a);
    char *h5 = NULL;
    size_t len = 0, h5len = 0;
    char what[1200];
    hid_t fid = -1;
    hsize_t fsize = 0;
    ck_status st = CK_OK;
    if (!a) {
        st = ck_oom("a Keras archive");
        goto done;
    }
    st = read_entry(za, path, ENTRY_METADATA, &a->metadata_json, &len);
    if (st == CK_OK && a->metadata_json) st = check_json_text(a->metadata_json, len, path, ENTRY_METADATA);
    if (st != CK_OK) goto done;
    st = read_entry(za, path, ENTRY_CONFIG, &a->config_json, &len);
    if (st != CK_OK) goto done;
    if (!a->config_json) {
        st = ck_error(CK_FORMAT_ERROR, "%s: no %s in the archive (not a Keras model archive?)", path,
                      ENTRY_CONFIG);
        goto done;
    }
    st = check_json_text(a->config_json, len, path, ENTRY_CONFIG);
    if (st != CK_OK) goto done;
    st = read_entry(za, path, ENTRY_WEIGHTS, &h5, &h5len);
    if (st != CK_OK) goto done;
    if (!h5) {
        if (zip_name_locate(za, "model.weights.npz", 0) >= 0)
            st = ck_error(CK_NOT_IMPLEMENTED,
                          "%s: weights stored as model.weights.npz are not supported yet", path);
        else
            st = ck_error(CK_FORMAT_ERROR, "%s: no %s in the archive (sharded weights are not "
                          "supported)", path, ENTRY_WEIGHTS);
        goto done;
    }
    snprintf(what, sizeof what, "%s (entry %s)", path, ENTRY_WEIGHTS);
    st = ck_h5u_open_image(h5, h5len, what, &fid, &fsize);
    ck_free(h5);
    h5 = NULL;
    if (st != CK_OK) goto done;
    st = read_h5_part(fid, fsize, what, a);
done:
    ck_h5u_close(fid);
    ck_free(h5);
    zip_discard(za);
    if (st != CK_OK) {
        ck_keras_archive_free(a);
        return st;
    }
    *out = a;
    return CK_OK;
}

ck_status ck_keras_archive_read(const char *path, ck_keras_archive **out)
{
    if (!path || !out)
        return ck_error(CK_VALUE_ERROR, "ck_keras_archive_read: path and out must not be NULL");
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = archive_read_impl(path, out);
    ck_h5u_quiet_end(&q);
    return st;
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

static ck_status validate(const ck_keras_archive *a, const char *fn)
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

static ck_status write_h5_part(hid_t fid, const ck_keras_archive *a, const char *file)
{
    hid_t root = H5Gopen2(fid, "/", H5P_DEFAULT);
    if (root < 0) return ck_h5u_fail(CK_IO_ERROR, file, "cannot open the root group");
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    ck_status st = CK_OK;
    if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        st = ck_h5u_fail(CK_RUNTIME_ERROR, file, "cannot make a link creation list");
        goto done;
    }
    for (size_t i = 0; st == CK_OK && i < a->n_groups; i++) {
        const ck_keras_vars_group *g = &a->groups[i];
        char where[1024];
        snprintf(where, sizeof where, "group /%s", g->path);
        hid_t gid = ck_h5u_kind_of(root, g->path) == CK_H5U_GROUP
                        ? H5Gopen2(root, g->path, H5P_DEFAULT)
                        : H5Gcreate2(root, g->path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        if (gid < 0) {
            st = ck_h5u_fail(CK_IO_ERROR, file, "cannot create %s", where);
            break;
        }
        if (g->name) {
            int ex = ck_h5u_attr_exists(gid, "name", file, where);
            if (ex < 0) st = ck_last_status();
            else if (!ex)
                st = ck_h5u_write_vlen_string(gid, "name", g->name, H5T_CSET_UTF8, file, where);
        }
        H5Gclose(gid);
    }
    for (size_t i = 0; st == CK_OK && i < a->n_vars; i++) {
        char where[1024];
        snprintf(where, sizeof where, "/%s", a->vars[i].path);
        st = ck_h5u_write_dataset(root, a->vars[i].path, a->vars[i].value, file, where);
    }
done:
    ck_h5u_close(lcpl);
    H5Gclose(root);
    return st;
}

static ck_status weights_h5_write_impl(const char *path, const ck_keras_archive *a)
{
    char *tmp = NULL;
    CK_TRY(ck_h5u_temp_reserve(path, &tmp));
    ck_status st = CK_OK;
    hid_t fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (fid < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, path, "cannot create the HDF5 file %s", tmp);
    } else {
        st = write_h5_part(fid, a, path);
        herr_t closed = H5Fclose(fid);
        if (st == CK_OK && closed < 0)
            st = ck_h5u_fail(CK_IO_ERROR, path, "cannot finish writing %s", tmp);
    }
    if (st == CK_OK) st = ck_h5u_temp_commit(tmp, path);
    else remove(tmp);
    ck_free(tmp);
    return st;
}

ck_status ck_keras_weights_h5_write(const char *path, const ck_keras_archive *a)
{
    if (!path || !a)
        return ck_error(CK_VALUE_ERROR, "ck_keras_weights_h5_write: path and a must not be NULL");
    CK_TRY(validate(a, "ck_keras_weights_h5_write"));
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = weights_h5_write_impl(path, a);
    ck_h5u_quiet_end(&q);
    return st;
}

static ck_status build_h5_image(const ck_keras_archive *a, const char *what, void **buf,
                                size_t *len)
{
    hid_t fid = -1;
    CK_TRY(ck_h5u_create_image(what, &fid));
    ck_status st = write_h5_part(fid, a, what);
    if (st == CK_OK) st = ck_h5u_image_bytes(fid, what, buf, len);
    H5Fclose(fid);
    return st;
}

static ck_status add_entry(zip_t *za, const char *path, const char *name, const void *data,
                           size_t len, time_t mtime)
{
    zip_source_t *src = zip_source_buffer(za, len ? data : "", len, 0);
    if (!src) return ck_error(CK_IO_ERROR, "%s: cannot add %s: %s", path, name, zip_strerror(za));
    zip_int64_t idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        ck_status st = ck_error(CK_IO_ERROR, "%s: cannot add %s: %s", path, name, zip_strerror(za));
        zip_source_free(src);
        return st;
    }
    /* As Python's ZipFile in Keras: stored, Unix, mode 0600, no file type. */
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0 ||
        zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                         (zip_uint32_t)0600 << 16) != 0)
        return ck_error(CK_IO_ERROR, "%s: cannot set the attributes of %s: %s", path, name,
                        zip_strerror(za));
    return CK_OK;
}

static ck_status archive_write_impl(const char *path, const ck_keras_archive *a)
{
    void *h5 = NULL;
    size_t h5len = 0;
    char what[1200];
    snprintf(what, sizeof what, "%s (entry %s)", path, ENTRY_WEIGHTS);
    CK_TRY(build_h5_image(a, what, &h5, &h5len));
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!za) {
        ck_free(h5);
        return zip_open_error(path, err);
    }
    struct tm epoch = {0};
    epoch.tm_year = 80;
    epoch.tm_mday = 1;
    epoch.tm_isdst = -1;
    time_t t1980 = mktime(&epoch);
    ck_status st = add_entry(za, path, ENTRY_METADATA, a->metadata_json, strlen(a->metadata_json), t1980);
    if (st == CK_OK)
        st = add_entry(za, path, ENTRY_CONFIG, a->config_json, strlen(a->config_json), t1980);
    if (st == CK_OK) st = add_entry(za, path, ENTRY_WEIGHTS, h5, h5len, time(NULL));
    if (st == CK_OK && zip_close(za) != 0) {
        st = ck_error(CK_IO_ERROR, "%s: cannot write the archive: %s", path, zip_strerror(za));
        zip_discard(za);
    } else if (st != CK_OK) {
        zip_discard(za);
    }
    ck_free(h5);
    return st;
}

ck_status ck_keras_archive_write(const char *path, const ck_keras_archive *a)
{
    if (!path || !a)
        return ck_error(CK_VALUE_ERROR, "ck_keras_archive_write: path and a must not be NULL");
    if (!a->metadata_json || !a->config_json)
        return ck_error(CK_VALUE_ERROR,
                        "ck_keras_archive_write: metadata_json and config_json are required");
    CK_TRY(validate(a, "ck_keras_archive_write"));
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = archive_write_impl(path, a);
    ck_h5u_quiet_end(&q);
    return st;
}
