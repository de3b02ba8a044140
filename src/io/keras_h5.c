/* Legacy Keras HDF5 files (model.save / save_weights to .h5) <-> plain data.
 * See keras_h5.h for the layout and the dialects. */
#include "io/keras_h5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5_util.h"
#include "io/json_check.h"

#define TOP_LEVEL_GROUP "top_level_model_weights"
#define OPTIMIZER_GROUP "optimizer_weights"

/* ======================================================================== */
/* freeing and lookup                                                        */
/* ======================================================================== */

static void free_layer_contents(ck_h5_layer *l)
{
    ck_free(l->name);
    for (size_t i = 0; l->weights && i < l->n_weights; i++) {
        ck_free(l->weights[i].name);
        ck_tensor_free(l->weights[i].value);
    }
    ck_free(l->weights);
    memset(l, 0, sizeof *l);
}

void ck_keras_h5_free(ck_keras_h5 *f)
{
    if (!f) return;
    ck_free(f->model_config);
    ck_free(f->training_config);
    ck_free(f->keras_version);
    ck_free(f->backend);
    for (size_t i = 0; f->layers && i < f->n_layers; i++) free_layer_contents(&f->layers[i]);
    ck_free(f->layers);
    free_layer_contents(&f->top_level);
    free_layer_contents(&f->optimizer);
    ck_free(f);
}

const ck_h5_layer *ck_keras_h5_find_layer(const ck_keras_h5 *f, const char *name)
{
    if (!f || !name) return NULL;
    for (size_t i = 0; i < f->n_layers; i++)
        if (f->layers[i].name && strcmp(f->layers[i].name, name) == 0) return &f->layers[i];
    return NULL;
}

/* ======================================================================== */
/* reading                                                                   */
/* ======================================================================== */

static ck_status check_json(const char *text, const char *file, const char *what)
{
    char label[1024];
    snprintf(label, sizeof label, "%s: %s", file, what);
    return ck_json_check_object(text, strlen(text), label);
}

/* Reads the group `gname` of `parent` (path `ppath`) as a layer: its
 * weight_names and one dataset per name. */
static ck_status read_layer(hid_t parent, const char *ppath, const char *gname, const char *file,
                            hsize_t fsize, ck_h5_layer *out)
{
    char *where = ck_h5u_join(ppath, gname, 1);
    if (!where) return ck_oom("a group path");
    ck_h5u_kind kind = ck_h5u_kind_of(parent, gname);
    if (kind != CK_H5U_GROUP) {
        ck_status st = ck_error(CK_FORMAT_ERROR,
                                kind == CK_H5U_BROKEN
                                    ? "%s: the group of layer '%s' (%s) cannot be read (damaged or truncated file)"
                                    : "%s: layer '%s' is listed in layer_names but %s is not a group",
                                file, gname, where);
        ck_free(where);
        return st;
    }
    hid_t g = H5Gopen2(parent, gname, H5P_DEFAULT);
    if (g < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot open group %s", where);
        ck_free(where);
        return st;
    }
    char **names = NULL;
    size_t n = 0;
    ck_h5_weight *w = NULL;
    char *name_copy = NULL;
    ck_status st = ck_h5u_read_name_list(g, "weight_names", file, where, &names, &n, NULL, NULL);
    if (st != CK_OK) goto done;
    w = ck_calloc(n ? n : 1, sizeof *w);
    name_copy = ck_strdup(gname);
    if (!w || !name_copy) {
        st = ck_oom("a layer");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        char desc[1024];
        snprintf(desc, sizeof desc, "weight '%s' of layer '%s' (dataset %s/%s)", names[i], gname,
                 where, names[i]);
        st = ck_h5u_read_dataset(g, names[i], file, desc, fsize, &w[i].value);
        if (st != CK_OK) goto done;
    }
    for (size_t i = 0; i < n; i++) {
        w[i].name = names[i];
        names[i] = NULL;
    }
    out->name = name_copy;
    out->n_weights = n;
    out->weights = w;
    name_copy = NULL;
    w = NULL;
done:
    if (w)
        for (size_t i = 0; i < n; i++) ck_tensor_free(w[i].value);
    ck_free(w);
    ck_free(name_copy);
    ck_h5u_free_strings(names, n);
    H5Gclose(g);
    ck_free(where);
    return st;
}

static ck_status read_impl(const char *path, ck_keras_h5 **out)
{
    hid_t fid = -1, root = -1, wg = -1;
    hsize_t fsize = 0;
    char **lnames = NULL;
    size_t nl = 0;
    ck_keras_h5 *f = ck_calloc(1, sizeof *f);
    if (!f) return ck_oom("a Keras HDF5 file");
    ck_status st = ck_h5u_open(path, &fid, &fsize);
    if (st != CK_OK) goto done;
    root = H5Gopen2(fid, "/", H5P_DEFAULT);
    if (root < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot open the root group");
        goto done;
    }
    if ((st = ck_h5u_read_string(root, "model_config", path, "/", &f->model_config)) != CK_OK ||
        (st = ck_h5u_read_string(root, "training_config", path, "/", &f->training_config)) != CK_OK ||
        (st = ck_h5u_read_string(root, "keras_version", path, "/", &f->keras_version)) != CK_OK ||
        (st = ck_h5u_read_string(root, "backend", path, "/", &f->backend)) != CK_OK)
        goto done;

    /* Keras' own rule (load_weights): the root holds the weights if it has
     * layer_names, else model_weights does. */
    int at_root = ck_h5u_attr_exists(root, "layer_names", path, "/");
    if (at_root == 0) at_root = ck_h5u_attr_exists(root, "layer_names0", path, "/");
    if (at_root < 0) {
        st = ck_last_status();
        goto done;
    }
    const char *wpath = "/";
    ck_h5u_kind mw = at_root ? CK_H5U_OTHER : ck_h5u_kind_of(root, "model_weights");
    if (at_root) {
        wg = H5Gopen2(fid, "/", H5P_DEFAULT);
    } else if (mw == CK_H5U_BROKEN) {
        st = ck_error(CK_FORMAT_ERROR, "%s: group /model_weights cannot be read (damaged or truncated file)", path);
        goto done;
    } else if (mw == CK_H5U_GROUP) {
        wg = H5Gopen2(root, "model_weights", H5P_DEFAULT);
        wpath = "/model_weights";
        f->is_model = 1;
    } else {
        st = ck_error(CK_FORMAT_ERROR,
                      "%s: not a Keras HDF5 model or weights file: no layer_names attribute at "
                      "the root and no model_weights group",
                      path);
        goto done;
    }
    if (wg < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot open group %s", wpath);
        goto done;
    }
    if (!f->keras_version &&
        (st = ck_h5u_read_string(wg, "keras_version", path, wpath, &f->keras_version)) != CK_OK)
        goto done;
    if (!f->backend && (st = ck_h5u_read_string(wg, "backend", path, wpath, &f->backend)) != CK_OK)
        goto done;

    int present = 0, vlen = 0;
    st = ck_h5u_read_name_list(wg, "layer_names", path, wpath, &lnames, &nl, &present, &vlen);
    if (st != CK_OK) goto done;
    if (!present) {
        st = ck_error(CK_FORMAT_ERROR, "%s: group %s has no layer_names attribute", path, wpath);
        goto done;
    }
    f->layers = ck_calloc(nl ? nl : 1, sizeof *f->layers);
    if (!f->layers) {
        st = ck_oom("the layer list");
        goto done;
    }
    for (size_t i = 0; i < nl; i++) {
        st = read_layer(wg, wpath, lnames[i], path, fsize, &f->layers[i]);
        if (st != CK_OK) goto done;
        f->n_layers = i + 1;
    }
    ck_h5u_kind top = ck_h5u_kind_of(wg, TOP_LEVEL_GROUP);
    if (top == CK_H5U_GROUP || top == CK_H5U_BROKEN) {
        st = read_layer(wg, wpath, TOP_LEVEL_GROUP, path, fsize, &f->top_level);
        if (st != CK_OK) goto done;
        f->has_top_level = 1;
    }
    ck_h5u_kind ow = ck_h5u_kind_of(root, OPTIMIZER_GROUP);
    /* Only a full model's optimizer state means anything to a loader, and
     * a damaged one only costs the state (Keras warns and starts a fresh
     * optimizer), never the model. */
    if (f->is_model && ow == CK_H5U_GROUP &&
        read_layer(root, "/", OPTIMIZER_GROUP, path, fsize, &f->optimizer) != CK_OK) {
        free_layer_contents(&f->optimizer);
        ck_clear_error();
    }
    f->has_optimizer_weights = ow == CK_H5U_GROUP;
    f->dialect = vlen ? CK_H5_DIALECT_H5PY3 : CK_H5_DIALECT_H5PY2;
    if (f->model_config) st = check_json(f->model_config, path, "the model_config attribute");
done:
    ck_h5u_free_strings(lnames, nl);
    ck_h5u_close(wg);
    ck_h5u_close(root);
    ck_h5u_close(fid);
    if (st != CK_OK) {
        ck_keras_h5_free(f);
        return st;
    }
    *out = f;
    return CK_OK;
}

ck_status ck_h5_read(const char *path, ck_keras_h5 **out)
{
    if (!path || !out) return ck_error(CK_VALUE_ERROR, "ck_h5_read: path and out must not be NULL");
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = read_impl(path, out);
    ck_h5u_quiet_end(&q);
    return st;
}

static ck_status read_config_impl(const char *path, char **json)
{
    hid_t fid = -1, root = -1;
    char *text = NULL;
    ck_status st = ck_h5u_open(path, &fid, NULL);
    if (st != CK_OK) return st;
    root = H5Gopen2(fid, "/", H5P_DEFAULT);
    if (root < 0) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot open the root group");
        goto done;
    }
    st = ck_h5u_read_string(root, "model_config", path, "/", &text);
    if (st != CK_OK) goto done;
    if (!text) {
        st = ck_error(CK_FORMAT_ERROR,
                      "%s: no model_config attribute (a weights-only file from save_weights?)",
                      path);
        goto done;
    }
    st = check_json(text, path, "the model_config attribute");
done:
    ck_h5u_close(root);
    ck_h5u_close(fid);
    if (st != CK_OK) {
        ck_free(text);
        return st;
    }
    *json = text;
    return CK_OK;
}

ck_status ck_h5_read_model_config(const char *path, char **json)
{
    if (!path || !json)
        return ck_error(CK_VALUE_ERROR, "ck_h5_read_model_config: path and json must not be NULL");
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = read_config_impl(path, json);
    ck_h5u_quiet_end(&q);
    return st;
}

/* ======================================================================== */
/* writing                                                                   */
/* ======================================================================== */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_layer_ptr(const void *a, const void *b)
{
    const ck_h5_layer *x = *(const ck_h5_layer *const *)a, *y = *(const ck_h5_layer *const *)b;
    return strcmp(x->name, y->name);
}

/* 1 if weight path `a` is `b` or a group on the way to it ("x" vs "x/y"). */
static int path_clash(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > lb) return path_clash(b, a);
    return strncmp(a, b, la) == 0 && (la == lb || b[la] == '/');
}

static ck_status check_weight_name(const char *name, const char *layer)
{
    if (!name || !name[0])
        return ck_error(CK_VALUE_ERROR, "ck_h5_write: layer '%s' has a weight with no name", layer);
    if (name[0] == '/')
        return ck_error(CK_VALUE_ERROR,
                        "ck_h5_write: weight '%s' of layer '%s' must be a relative path", name,
                        layer);
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return ck_error(CK_VALUE_ERROR,
                            "ck_h5_write: weight '%s' of layer '%s' has an empty, '.' or '..' "
                            "path component",
                            name, layer);
        if (!slash) break;
        p = slash + 1;
    }
    if (strlen(name) > CK_H5U_HEADER_LIMIT)
        return ck_error(CK_VALUE_ERROR, "ck_h5_write: a weight name of layer '%s' is longer than %d bytes",
                        layer, CK_H5U_HEADER_LIMIT);
    return CK_OK;
}

static ck_status check_layer(const ck_h5_layer *l, const char *label)
{
    if (l->n_weights > 0 && !l->weights)
        return ck_error(CK_VALUE_ERROR, "ck_h5_write: layer '%s' has %zu weights but no array",
                        label, l->n_weights);
    for (size_t i = 0; i < l->n_weights; i++) {
        const ck_h5_weight *w = &l->weights[i];
        CK_TRY(check_weight_name(w->name, label));
        for (size_t j = 0; j < i; j++)
            if (path_clash(w->name, l->weights[j].name))
                return ck_error(CK_VALUE_ERROR,
                                "ck_h5_write: weights '%s' and '%s' of layer '%s' would need the "
                                "same HDF5 path",
                                l->weights[j].name, w->name, label);
        char what[512];
        snprintf(what, sizeof what, "ck_h5_write: weight '%s' of layer '%s'", w->name, label);
        CK_TRY(ck_h5u_check_tensor(w->value, what));
    }
    return CK_OK;
}

static ck_status validate(const ck_keras_h5 *f, ck_h5_dialect d)
{
    if (d != CK_H5_DIALECT_H5PY2 && d != CK_H5_DIALECT_H5PY3)
        return ck_error(CK_VALUE_ERROR, "ck_h5_write: unknown dialect %d", (int)f->dialect);
    if (f->is_model && !f->model_config)
        return ck_error(CK_VALUE_ERROR, "ck_h5_write: a full model needs a model_config");
    if (f->n_layers > 0 && !f->layers)
        return ck_error(CK_VALUE_ERROR, "ck_h5_write: %zu layers but no layer array", f->n_layers);
    for (size_t i = 0; i < f->n_layers; i++) {
        const char *name = f->layers[i].name;
        if (!name || !name[0])
            return ck_error(CK_VALUE_ERROR, "ck_h5_write: layer %zu has no name", i);
        if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            return ck_error(CK_VALUE_ERROR,
                            "ck_h5_write: layer name '%s' cannot be an HDF5 group name "
                            "(contains '/' or is '.' or '..')",
                            name);
        if (f->has_top_level && strcmp(name, TOP_LEVEL_GROUP) == 0)
            return ck_error(CK_VALUE_ERROR,
                            "ck_h5_write: a layer named '%s' clashes with the group of the model's "
                            "own weights",
                            name);
        if (strlen(name) > CK_H5U_HEADER_LIMIT)
            return ck_error(CK_VALUE_ERROR, "ck_h5_write: layer %zu has a name longer than %d bytes",
                            i, CK_H5U_HEADER_LIMIT);
        CK_TRY(check_layer(&f->layers[i], name));
    }
    if (f->top_level.n_weights > 0 && !f->has_top_level)
        return ck_error(CK_VALUE_ERROR,
                        "ck_h5_write: top-level model weights need has_top_level (the tf.keras "
                        "2.7+ top_level_model_weights group)");
    CK_TRY(check_layer(&f->top_level, TOP_LEVEL_GROUP));
    CK_TRY(check_layer(&f->optimizer, OPTIMIZER_GROUP));
    if (f->n_layers > 1) {
        const char **names = ck_malloc(f->n_layers * sizeof *names);
        if (!names) return ck_oom("a list of layer names");
        for (size_t i = 0; i < f->n_layers; i++) names[i] = f->layers[i].name;
        qsort(names, f->n_layers, sizeof *names, cmp_str_ptr);
        for (size_t i = 1; i < f->n_layers; i++) {
            if (strcmp(names[i - 1], names[i]) == 0) {
                ck_status st = ck_error(CK_VALUE_ERROR,
                                        "ck_h5_write: two layers are named '%s'", names[i]);
                ck_free(names);
                return st;
            }
        }
        ck_free(names);
    }
    return CK_OK;
}

/* One layer group: weight_names, then the datasets in that order. */
static ck_status write_layer(hid_t wg, const char *wpath, const char *gname, const ck_h5_layer *l,
                             int vlen, const char *file)
{
    char *where = ck_h5u_join(wpath, gname, 1);
    const char **names = ck_malloc((l->n_weights ? l->n_weights : 1) * sizeof *names);
    if (!where || !names) {
        ck_free(where);
        ck_free(names);
        return ck_oom("a layer group");
    }
    ck_status st = CK_OK;
    hid_t g = H5Gcreate2(wg, gname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, file, "cannot create group %s", where);
        goto done;
    }
    for (size_t i = 0; i < l->n_weights; i++) names[i] = l->weights[i].name;
    st = ck_h5u_write_name_list(g, "weight_names", names, l->n_weights, vlen, file, where);
    for (size_t i = 0; st == CK_OK && i < l->n_weights; i++) {
        char desc[1024];
        snprintf(desc, sizeof desc, "%s/%s", where, l->weights[i].name);
        st = ck_h5u_write_dataset(g, l->weights[i].name, l->weights[i].value, file, desc);
    }
    if (H5Gclose(g) < 0 && st == CK_OK)
        st = ck_h5u_fail(CK_IO_ERROR, file, "cannot write group %s", where);
done:
    ck_free(names);
    ck_free(where);
    return st;
}

/* What save_weights_to_hdf5_group writes into `wg`. */
static ck_status write_weights_group(hid_t wg, const char *wpath, const ck_keras_h5 *f,
                                     ck_h5_dialect d, const char *kv, const char *be,
                                     const char *file)
{
    int vlen = d == CK_H5_DIALECT_H5PY3;
    size_t n = f->n_layers;
    const char **names = ck_malloc((n ? n : 1) * sizeof *names);
    const ck_h5_layer **sorted = ck_malloc((n ? n : 1) * sizeof *sorted);
    ck_status st = CK_OK;
    if (!names || !sorted) {
        st = ck_oom("the layer list");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        names[i] = f->layers[i].name;
        sorted[i] = &f->layers[i];
    }
    st = ck_h5u_write_name_list(wg, "layer_names", names, n, vlen, file, wpath);
    if (st == CK_OK) st = ck_h5u_write_vlen_string(wg, "backend", be, H5T_CSET_ASCII, file, wpath);
    if (st == CK_OK)
        st = ck_h5u_write_vlen_string(wg, "keras_version", kv, H5T_CSET_ASCII, file, wpath);
    if (st != CK_OK) goto done;
    /* Keras creates the groups in name order "to avoid prefix issues". */
    qsort(sorted, n, sizeof *sorted, cmp_layer_ptr);
    for (size_t i = 0; i < n && st == CK_OK; i++)
        st = write_layer(wg, wpath, sorted[i]->name, sorted[i], vlen, file);
    if (st == CK_OK && f->has_top_level)
        st = write_layer(wg, wpath, TOP_LEVEL_GROUP, &f->top_level, vlen, file);
done:
    ck_free(names);
    ck_free(sorted);
    return st;
}

static ck_status write_impl(const char *path, const ck_keras_h5 *f, ck_h5_dialect d)
{
    const char *kv = f->keras_version ? f->keras_version
                     : d == CK_H5_DIALECT_H5PY3 ? CK_H5_DEFAULT_KERAS_VERSION_H5PY3
                                                 : CK_H5_DEFAULT_KERAS_VERSION_H5PY2;
    const char *be = f->backend ? f->backend : "tensorflow";
    char *tmp = NULL;
    CK_TRY(ck_h5u_temp_reserve(path, &tmp));
    hid_t fid = -1, wg = -1;
    ck_status st = CK_OK;
    fid = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (fid < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, path, "cannot create the HDF5 file %s", tmp);
        goto done;
    }
    const char *wpath = "/";
    if (f->is_model) {
        hid_t root = H5Gopen2(fid, "/", H5P_DEFAULT);
        if (root < 0) {
            st = ck_h5u_fail(CK_IO_ERROR, path, "cannot open the root group");
            goto done;
        }
        /* save_model_to_hdf5: keras_version and backend are Python str
         * (UTF-8), the configs are json.dumps(...).encode (ASCII). */
        st = ck_h5u_write_vlen_string(root, "keras_version", kv, H5T_CSET_UTF8, path, "/");
        if (st == CK_OK) st = ck_h5u_write_vlen_string(root, "backend", be, H5T_CSET_UTF8, path, "/");
        if (st == CK_OK)
            st = ck_h5u_write_vlen_string(root, "model_config", f->model_config, H5T_CSET_ASCII,
                                          path, "/");
        if (st == CK_OK && f->training_config)
            st = ck_h5u_write_vlen_string(root, "training_config", f->training_config,
                                          H5T_CSET_ASCII, path, "/");
        H5Gclose(root);
        if (st != CK_OK) goto done;
        wg = H5Gcreate2(fid, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        wpath = "/model_weights";
    } else {
        wg = H5Gopen2(fid, "/", H5P_DEFAULT);
    }
    if (wg < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, path, "cannot create group %s", wpath);
        goto done;
    }
    st = write_weights_group(wg, wpath, f, d, kv, be, path);
    if (st != CK_OK) goto done;
    if (H5Gclose(wg) < 0) {
        wg = -1;
        st = ck_h5u_fail(CK_IO_ERROR, path, "cannot write group %s", wpath);
        goto done;
    }
    wg = -1;
    /* save_model_to_hdf5 writes the optimizer after the model's weights. */
    if (f->is_model && f->optimizer.n_weights > 0) {
        hid_t root = H5Gopen2(fid, "/", H5P_DEFAULT);
        if (root < 0) {
            st = ck_h5u_fail(CK_IO_ERROR, path, "cannot open the root group");
            goto done;
        }
        st = write_layer(root, "/", OPTIMIZER_GROUP, &f->optimizer, d == CK_H5_DIALECT_H5PY3, path);
        H5Gclose(root);
        if (st != CK_OK) goto done;
    }
    herr_t closed = H5Fclose(fid);
    fid = -1;
    if (closed < 0) {
        st = ck_h5u_fail(CK_IO_ERROR, path, "cannot finish writing %s", tmp);
        goto done;
    }
    st = ck_h5u_temp_commit(tmp, path);
    ck_free(tmp);
    return st;
done:
    ck_h5u_close(wg);
    ck_h5u_close(fid);
    remove(tmp);
    ck_free(tmp);
    return st;
}

ck_status ck_h5_write(const char *path, const ck_keras_h5 *f)
{
    if (!path || !f) return ck_error(CK_VALUE_ERROR, "ck_h5_write: path and f must not be NULL");
    ck_h5_dialect d = f->dialect == CK_H5_DIALECT_DEFAULT ? CK_H5_DIALECT_H5PY2 : f->dialect;
    CK_TRY(validate(f, d));
    ck_h5u_quiet q;
    ck_h5u_quiet_begin(&q);
    ck_status st = write_impl(path, f, d);
    ck_h5u_quiet_end(&q);
    return st;
}
