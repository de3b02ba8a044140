/* Legacy Keras HDF5 files (model.save / save_weights to .h5) <-> plain data.
 * See keras_h5.h for the layout and the dialects. */
#include "model/model_limits.h"
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
    CK_TRY(ck_config_check_size(strlen(text), label));
    return ck_json_check_object(text, strlen(text), label);
}

/* Reads the group `gname` of `parent` (path `ppath`) as a layer: its
 * weight_names and one dataset per name. */
static ck_status read_layer(ck_h5r *f, uint64_t parent, const char *ppath, const char *gname,
                            ck_h5_layer *out)
{
    const char *file = ck_h5r_name(f);
    char *where = ck_h5u_join(ppath, gname, 1);
    if (!where) return ck_oom("a group path");
    uint64_t g = 0;
    ck_h5u_kind kind = ck_h5u_kind_of(f, parent, gname, &g);
    if (kind != CK_H5U_GROUP) {
        ck_status st = kind == CK_H5U_BROKEN
                           ? ck_h5u_fail(CK_FORMAT_ERROR, file,
                                         "the group of layer '%s' (%s) cannot be read (damaged or truncated file)",
                                         gname, where)
                           : ck_error(CK_FORMAT_ERROR,
                                      "%s: layer '%s' is listed in layer_names but %s is not a group",
                                      file, gname, where);
        ck_free(where);
        return st;
    }
    char **names = NULL;
    size_t n = 0;
    ck_h5_weight *w = NULL;
    char *name_copy = NULL;
    ck_status st = ck_h5u_read_name_list(f, g, "weight_names", where, &names, &n, NULL, NULL);
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
        st = ck_h5u_read_dataset(f, g, names[i], desc, &w[i].value);
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
    ck_free(where);
    return st;
}

static ck_status read_impl(const char *path, ck_keras_h5 **out)
{
    ck_h5r *h = NULL;
    char **lnames = NULL;
    size_t nl = 0;
    ck_keras_h5 *f = ck_calloc(1, sizeof *f);
    if (!f) return ck_oom("a Keras HDF5 file");
    ck_status st = ck_h5u_open(path, &h);
    if (st != CK_OK) goto done;
    uint64_t root = ck_h5r_root(h), wg = root;
    if ((st = ck_h5u_read_string(h, root, "model_config", "/", &f->model_config)) != CK_OK ||
        (st = ck_h5u_read_string(h, root, "training_config", "/", &f->training_config)) != CK_OK ||
        (st = ck_h5u_read_string(h, root, "keras_version", "/", &f->keras_version)) != CK_OK ||
        (st = ck_h5u_read_string(h, root, "backend", "/", &f->backend)) != CK_OK)
        goto done;

    /* Keras' own rule (load_weights): the root holds the weights if it has
     * layer_names, else model_weights does. */
    int at_root = ck_h5u_attr_exists(h, root, "layer_names", "/");
    if (at_root == 0) at_root = ck_h5u_attr_exists(h, root, "layer_names0", "/");
    if (at_root < 0) {
        st = ck_last_status();
        goto done;
    }
    const char *wpath = "/";
    ck_h5u_kind mw = at_root ? CK_H5U_OTHER : ck_h5u_kind_of(h, root, "model_weights", &wg);
    if (at_root) {
        wg = root;
    } else if (mw == CK_H5U_BROKEN) {
        st = ck_h5u_fail(CK_FORMAT_ERROR, path, "group /model_weights cannot be read (damaged or truncated file)");
        goto done;
    } else if (mw == CK_H5U_GROUP) {
        wpath = "/model_weights";
        f->is_model = 1;
    } else {
        st = ck_error(CK_FORMAT_ERROR,
                      "%s: not a Keras HDF5 model or weights file: no layer_names attribute at "
                      "the root and no model_weights group",
                      path);
        goto done;
    }
    if (!f->keras_version &&
        (st = ck_h5u_read_string(h, wg, "keras_version", wpath, &f->keras_version)) != CK_OK)
        goto done;
    if (!f->backend && (st = ck_h5u_read_string(h, wg, "backend", wpath, &f->backend)) != CK_OK)
        goto done;

    int present = 0, vlen = 0;
    st = ck_h5u_read_name_list(h, wg, "layer_names", wpath, &lnames, &nl, &present, &vlen);
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
        st = read_layer(h, wg, wpath, lnames[i], &f->layers[i]);
        if (st != CK_OK) goto done;
        f->n_layers = i + 1;
    }
    ck_h5u_kind top = ck_h5u_kind_of(h, wg, TOP_LEVEL_GROUP, NULL);
    if (top == CK_H5U_GROUP || top == CK_H5U_BROKEN) {
        st = read_layer(h, wg, wpath, TOP_LEVEL_GROUP, &f->top_level);
        if (st != CK_OK) goto done;
        f->has_top_level = 1;
    }
    ck_h5u_kind ow = ck_h5u_kind_of(h, root, OPTIMIZER_GROUP, NULL);
    /* Only a full model's optimizer state means anything to a loader, and
     * a damaged one only costs the state (Keras warns and starts a fresh
     * optimizer), never the model. */
    if (f->is_model && ow == CK_H5U_GROUP &&
        read_layer(h, root, "/", OPTIMIZER_GROUP, &f->optimizer) != CK_OK) {
        free_layer_contents(&f->optimizer);
        ck_clear_error();
    }
    f->has_optimizer_weights = ow == CK_H5U_GROUP;
    f->dialect = vlen ? CK_H5_DIALECT_H5PY3 : CK_H5_DIALECT_H5PY2;
    if (f->model_config) st = check_json(f->model_config, path, "the model_config attribute");
done:
    ck_h5u_free_strings(lnames, nl);
    ck_h5r_close(h);
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
    return read_impl(path, out);
}

ck_status ck_h5_read_model_config(const char *path, char **json)
{
    if (!path || !json)
        return ck_error(CK_VALUE_ERROR, "ck_h5_read_model_config: path and json must not be NULL");
    ck_h5r *h = NULL;
    char *text = NULL;
    CK_TRY(ck_h5u_open(path, &h));
    ck_status st = ck_h5u_read_string(h, ck_h5r_root(h), "model_config", "/", &text);
    if (st == CK_OK && !text)
        st = ck_error(CK_FORMAT_ERROR,
                      "%s: no model_config attribute (a weights-only file from save_weights?)",
                      path);
    if (st == CK_OK) st = check_json(text, path, "the model_config attribute");
    ck_h5r_close(h);
    if (st != CK_OK) {
        ck_free(text);
        return st;
    }
    *json = text;
    return CK_OK;
}

/* ======================================================================== */
/* writing                                                                   */
/* ======================================================================== */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
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
static ck_status write_layer(ck_h5w *w, ck_h5w_obj *wg, const char *wpath, const char *gname,
                             const ck_h5_layer *l, int vlen, const char *file)
{
    char *where = ck_h5u_join(wpath, gname, 1);
    const char **names = ck_malloc((l->n_weights ? l->n_weights : 1) * sizeof *names);
    if (!where || !names) {
        ck_free(where);
        ck_free(names);
        return ck_oom("a layer group");
    }
    ck_h5w_obj *g = NULL;
    ck_status st = ck_h5w_group(w, wg, gname, &g);
    for (size_t i = 0; i < l->n_weights; i++) names[i] = l->weights[i].name;
    if (st == CK_OK)
        st = ck_h5u_write_name_list(w, g, "weight_names", names, l->n_weights, vlen, file, where);
    for (size_t i = 0; st == CK_OK && i < l->n_weights; i++) {
        st = ck_h5w_dataset(w, g, l->weights[i].name, l->weights[i].value);
        if (st != CK_OK && st != CK_OUT_OF_MEMORY) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", ck_last_error());
            st = ck_error(st, "%s: %s/%s: %s", file, where, l->weights[i].name, msg);
        }
    }
    ck_free(names);
    ck_free(where);
    return st;
}

/* What save_weights_to_hdf5_group writes into `wg`. */
static ck_status write_weights_group(ck_h5w *w, ck_h5w_obj *wg, const char *wpath,
                                     const ck_keras_h5 *f, ck_h5_dialect d, const char *kv,
                                     const char *be, const char *file)
{
    int vlen = d == CK_H5_DIALECT_H5PY3;
    size_t n = f->n_layers;
    const char **names = ck_malloc((n ? n : 1) * sizeof *names);
    ck_status st = CK_OK;
    if (!names) return ck_oom("the layer list");
    for (size_t i = 0; i < n; i++) names[i] = f->layers[i].name;
    st = ck_h5u_write_name_list(w, wg, "layer_names", names, n, vlen, file, wpath);
    if (st == CK_OK) st = ck_h5u_write_vlen_string(w, wg, "backend", be, CK_H5W_ASCII, file, wpath);
    if (st == CK_OK)
        st = ck_h5u_write_vlen_string(w, wg, "keras_version", kv, CK_H5W_ASCII, file, wpath);
    /* The groups' order on disk is the symbol table's (by name), as Keras'
     * own name-ordered creation gives. */
    for (size_t i = 0; i < n && st == CK_OK; i++)
        st = write_layer(w, wg, wpath, f->layers[i].name, &f->layers[i], vlen, file);
    if (st == CK_OK && f->has_top_level)
        st = write_layer(w, wg, wpath, TOP_LEVEL_GROUP, &f->top_level, vlen, file);
    ck_free(names);
    return st;
}

static ck_status write_impl(const char *path, const ck_keras_h5 *f, ck_h5_dialect d)
{
    const char *kv = f->keras_version ? f->keras_version
                     : d == CK_H5_DIALECT_H5PY3 ? CK_H5_DEFAULT_KERAS_VERSION_H5PY3
                                                 : CK_H5_DEFAULT_KERAS_VERSION_H5PY2;
    const char *be = f->backend ? f->backend : "tensorflow";
    ck_h5w *w = NULL;
    CK_TRY(ck_h5w_new(&w));
    ck_h5w_obj *root = ck_h5w_root(w), *wg = root;
    const char *wpath = "/";
    ck_status st = CK_OK;
    if (f->is_model) {
        /* save_model_to_hdf5: keras_version and backend are Python str
         * (UTF-8), the configs are json.dumps(...).encode (ASCII). */
        st = ck_h5u_write_vlen_string(w, root, "keras_version", kv, CK_H5W_UTF8, path, "/");
        if (st == CK_OK) st = ck_h5u_write_vlen_string(w, root, "backend", be, CK_H5W_UTF8, path, "/");
        if (st == CK_OK)
            st = ck_h5u_write_vlen_string(w, root, "model_config", f->model_config, CK_H5W_ASCII,
                                          path, "/");
        if (st == CK_OK && f->training_config)
            st = ck_h5u_write_vlen_string(w, root, "training_config", f->training_config,
                                          CK_H5W_ASCII, path, "/");
        if (st == CK_OK) st = ck_h5w_group(w, root, "model_weights", &wg);
        wpath = "/model_weights";
    }
    if (st == CK_OK) st = write_weights_group(w, wg, wpath, f, d, kv, be, path);
    /* save_model_to_hdf5 writes the optimizer after the model's weights. */
    if (st == CK_OK && f->is_model && f->optimizer.n_weights > 0)
        st = write_layer(w, root, "/", OPTIMIZER_GROUP, &f->optimizer, d == CK_H5_DIALECT_H5PY3,
                         path);
    if (st == CK_OK) st = ck_h5u_save(w, path);
    ck_h5w_free(w);
    return st;
}

ck_status ck_h5_write(const char *path, const ck_keras_h5 *f)
{
    if (!path || !f) return ck_error(CK_VALUE_ERROR, "ck_h5_write: path and f must not be NULL");
    ck_h5_dialect d = f->dialect == CK_H5_DIALECT_DEFAULT ? CK_H5_DIALECT_H5PY2 : f->dialect;
    CK_TRY(validate(f, d));
    return write_impl(path, f, d);
}
