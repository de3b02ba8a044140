/* Models and files: load and save full models (.h5, .keras, .json),
 * weights files (.h5 by topology or by name, Keras 3 .weights.h5), and
 * TF.js model.json + weight files.  This floor joins the plain-data
 * readers (keras_h5, keras_archive) to the model floor; weights are checked
 * for every layer before any is assigned (weight_pairing.c pairs them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io/keras_archive.h"
#include "io/keras_h5.h"
#include "core/json.h"
#include "core/limits.h"
#include "io/model_io.h"
#include "layers/conv_layer.h"
#include "model/model.h"
#include "model/wrapper_util.h" /* ck_convert_file_weights */
#include "model/model_limits.h"
#include "params/dialect.h"

/* ---- file kinds ------------------------------------------------------------ */

typedef enum file_kind { KIND_UNKNOWN, KIND_HDF5, KIND_ZIP, KIND_JSON } file_kind;

static ck_status sniff(const char *path, file_kind *kind)
{
    unsigned char head[64] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return ck_error(CK_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    size_t first = 0; /* JSON may start with white space */
    while (first < n && (head[first] == ' ' || head[first] == '\n' || head[first] == '\r' || head[first] == '\t'))
        first++;
    const char *dot = strrchr(path, '.');
    if (n >= 8 && memcmp(head, "\x89HDF\r\n\x1a\n", 8) == 0) *kind = KIND_HDF5;
    else if (n >= 4 && memcmp(head, "PK\x03\x04", 4) == 0) *kind = KIND_ZIP;
    /* '"': a JSON string holding the model JSON (json.dump(model.to_json())). */
    else if (first < n && (head[first] == '{' || head[first] == '[' || head[first] == '"')) *kind = KIND_JSON;
    /* An HDF5 file may start with a user block; libhdf5 finds it. */
    else if (dot && (!strcmp(dot, ".h5") || !strcmp(dot, ".hdf5"))) *kind = KIND_HDF5;
    else return ck_error(CK_FORMAT_ERROR, "'%s' is neither an HDF5 file, a .keras archive nor a JSON file", path);
    return CK_OK;
}

/* `keras_version` (NULL: the file has none) says which Keras wrote the
 * config, for the names whose meaning changed in Keras 3 (dialect.h). */
static ck_status model_from_text(const char *text, const char *file, const char *keras_version, json_t **root,
                                 ck_model **out)
{
    /* the nesting depth and the other limits of the config itself are
     * checked by ck_model_from_json_value */
    CK_TRY(ck_config_check_size(strlen(text), file));
    json_error_t err;
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);
    if (!j) return ck_error(CK_FORMAT_ERROR, "%s: the model config is not valid JSON: %s (line %d)", file, err.text, err.line);
    ck_dialect outer = ck_dialect_begin(ck_dialect_of_version(keras_version));
    ck_status st = ck_model_from_json_value(j, out);
    ck_dialect_end(outer);
    if (st != CK_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", ck_last_error());
        json_decref(j);
        return ck_error(st, "%s: %s", file, msg);
    }
    if (root) *root = j;
    else json_decref(j);
    return CK_OK;
}

/* ---- the training pieces of a file --------------------------------------- */

void ck_saved_training_clear(ck_saved_training *t)
{
    if (!t) return;
    ck_free(t->training_config);
    ck_free(t->compile_config);
    for (int i = 0; i < t->n_opt; i++) {
        if (t->opt_names) ck_free(t->opt_names[i]);
        if (t->opt_values) ck_tensor_free(t->opt_values[i]);
    }
    ck_free(t->opt_names);
    ck_free(t->opt_values);
    memset(t, 0, sizeof *t);
}

static ck_status opt_reserve(ck_saved_training *t, int n)
{
    t->opt_names = ck_calloc((size_t)(n ? n : 1), sizeof *t->opt_names);
    t->opt_values = ck_calloc((size_t)(n ? n : 1), sizeof *t->opt_values);
    if (!t->opt_names || !t->opt_values) return ck_oom("the optimizer variables");
    return CK_OK;
}

static int keras3_version(const char *v) { return v && v[0] == '3' && v[1] == '.'; }

/* Moves the training_config and optimizer_weights out of a read file. */
static ck_status take_h5_training(ck_keras_h5 *f, ck_saved_training *t)
{
    t->keras3 = keras3_version(f->keras_version);
    t->training_config = f->training_config;
    f->training_config = NULL;
    ck_h5_layer *o = &f->optimizer;
    if (o->n_weights == 0) return CK_OK;
    CK_TRY(opt_reserve(t, (int)o->n_weights));
    for (size_t i = 0; i < o->n_weights; i++) {
        t->opt_names[i] = o->weights[i].name;
        t->opt_values[i] = o->weights[i].value;
        o->weights[i].name = NULL;
        o->weights[i].value = NULL;
        t->n_opt = (int)i + 1;
    }
    return CK_OK;
}

/* The compile_config of config.json and the optimizer/vars/<i> variables
 * (the archive lists them in numeric order already). */
static ck_status take_archive_training(ck_keras_archive *a, const json_t *root, ck_saved_training *t)
{
    const json_t *cc = json_object_get(root, "compile_config");
    if (json_is_object(cc)) {
        t->compile_config = ck_json_dumps_python(cc);
        if (!t->compile_config) return ck_oom("the compile config");
    }
    json_error_t err;
    json_t *meta = a->metadata_json ? json_loads(a->metadata_json, JSON_ALLOW_NUL, &err) : NULL;
    t->keras3 = keras3_version(json_string_value(json_object_get(meta, "keras_version")));
    json_decref(meta);
    static const char prefix[] = "optimizer/vars/";
    int n = 0;
    for (size_t i = 0; i < a->n_vars; i++) n += strncmp(a->vars[i].path, prefix, sizeof prefix - 1) == 0;
    if (n == 0) return CK_OK;
    CK_TRY(opt_reserve(t, n));
    for (size_t i = 0; i < a->n_vars; i++) {
        if (strncmp(a->vars[i].path, prefix, sizeof prefix - 1) != 0) continue;
        t->opt_names[t->n_opt] = a->vars[i].path;
        t->opt_values[t->n_opt++] = a->vars[i].value;
        a->vars[i].path = NULL;
        a->vars[i].value = NULL;
    }
    return CK_OK;
}

/* Keras 1 files (no keras_version attribute, or 1.x) keep convolution
 * kernels in Keras 1's layouts: each is converted for the model layer of
 * its name (layers/conv_keras1.c says how). */
static ck_status convert_keras1_kernels(ck_model *m, ck_keras_h5 *f)
{
    if (f->keras_version && f->keras_version[0] != '1') return CK_OK;
    const int theano = f->backend && strcmp(f->backend, "theano") == 0;
    for (size_t i = 0; i < f->n_layers; i++) {
        ck_h5_layer *hl = &f->layers[i];
        if (hl->n_weights == 0) continue;
        for (int k = 0; k < m->n_layers; k++)
            if (strcmp(ck_layer_name(m->layers[k]), hl->name) == 0)
                CK_TRY(ck_conv_keras1_kernel(m->layers[k], theano, &hl->weights[0].value));
    }
    return CK_OK;
}

static ck_status load_hdf5(const char *path, ck_model **out, ck_saved_training *tr)
{
    ck_keras_h5 *f = NULL;
    CK_TRY(ck_h5_read(path, &f));
    ck_status st = CK_OK;
    ck_model *m = NULL;
    if (!f->model_config)
        st = ck_error(CK_FORMAT_ERROR, "%s is a weights-only file (no model_config): load an architecture JSON and "
                      "give this file as its weights", path);
    if (st == CK_OK) st = model_from_text(f->model_config, path, f->keras_version, NULL, &m);
    /* The config and the weights come from one file, so the layers pair by
     * name, which is what Keras' by-position pairing amounts to here. */
    if (st == CK_OK) st = convert_keras1_kernels(m, f);
    if (st == CK_OK) st = ck_model_assign_h5_weights(m, f, path, 1);
    if (st == CK_OK && tr) st = take_h5_training(f, tr);
    ck_keras_h5_free(f);
    if (st != CK_OK) {
        ck_model_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}

static ck_status load_archive(const char *path, ck_model **out, ck_saved_training *tr)
{
    ck_keras_archive *a = NULL;
    CK_TRY(ck_keras_archive_read(path, &a));
    json_t *root = NULL;
    ck_model *m = NULL;
    json_error_t err;
    json_t *meta = a->metadata_json ? json_loads(a->metadata_json, JSON_ALLOW_NUL, &err) : NULL;
    ck_status st = model_from_text(a->config_json, path, json_string_value(json_object_get(meta, "keras_version")),
                                   &root, &m);
    json_decref(meta);
    if (st == CK_OK) st = ck_model_assign_archive_weights(m, a, json_object_get(root, "config"), path);
    if (st == CK_OK && tr) st = take_archive_training(a, root, tr);
    json_decref(root);
    ck_keras_archive_free(a);
    if (st != CK_OK) {
        ck_model_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}

char *ck_read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        ck_error(CK_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = ck_malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1) break;
        char *grown = ck_realloc(buf, cap * 2);
        if (!grown) {
            ck_free(buf);
            buf = NULL;
        } else {
            buf = grown;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        ck_oom("a text file");
        return NULL;
    }
    if (bad) {
        ck_free(buf);
        ck_error(CK_IO_ERROR, "cannot read '%s'", path);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* A common habit writes an architecture file with json.dump(model.to_json()),
 * which stores the model JSON as one JSON string; Keras users read it back
 * with json.load then model_from_json, so one level of wrapping is undone
 * here.  `*text` is replaced by the inner text. */
static ck_status unwrap_json_string(char **text, const char *path)
{
    const char *p = *text;
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
    if (*p != '"') return CK_OK;
    json_error_t err;
    json_t *j = json_loads(*text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!j) return ck_error(CK_FORMAT_ERROR, "%s: the model config is not valid JSON: %s (line %d)", path, err.text, err.line);
    char *inner = ck_malloc(json_string_length(j) + 1);
    if (!inner) {
        json_decref(j);
        return ck_oom("a model JSON");
    }
    memcpy(inner, json_string_value(j), json_string_length(j) + 1);
    json_decref(j);
    ck_free(*text);
    *text = inner;
    return CK_OK;
}

static ck_status load_json(const char *path, ck_model **out)
{
    char *text = ck_read_text_file(path);
    if (!text) return ck_last_status();
    ck_status wst = unwrap_json_string(&text, path);
    if (wst != CK_OK) {
        ck_free(text);
        return wst;
    }
    json_t *root = NULL;
    ck_model *m = NULL;
    ck_status st = model_from_text(text, path, NULL, &root, &m);
    ck_free(text);
    if (st == CK_OK && json_object_get(root, "weightsManifest")) st = ck_model_assign_tfjs_weights(m, root, path);
    json_decref(root);
    if (st != CK_OK) {
        ck_model_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}

ck_status ck_io_model_load(const char *path, ck_model **out, ck_saved_training *tr)
{
    file_kind kind;
    if (!path || !out) return ck_error(CK_VALUE_ERROR, "ck_model_load: NULL argument");
    CK_TRY(sniff(path, &kind));
    ck_status st;
    /* CK_LIMIT_WEIGHT_BYTES counts what this whole load allocates */
    int scope = ck_load_scope_begin();
    switch (kind) {
    case KIND_HDF5: st = load_hdf5(path, out, tr); break;
    case KIND_ZIP: st = load_archive(path, out, tr); break;
    case KIND_JSON: st = load_json(path, out); break;
    default: st = ck_error(CK_FORMAT_ERROR, "%s: unknown file kind", path); break;
    }
    ck_load_scope_end(scope);
    /* Nothing half-taken survives a failed load. */
    if (st != CK_OK) ck_saved_training_clear(tr);
    return st;
}

static ck_status load_weights_impl(ck_model *m, const char *path, int by_name)
{
    CK_NEED(m);
    CK_NEED(path);
    file_kind kind;
    if (!m || !path) return ck_error(CK_VALUE_ERROR, "ck_model_load_weights: NULL argument");
    CK_TRY(sniff(path, &kind));
    if (kind == KIND_ZIP) {
        ck_keras_archive *a = NULL;
        CK_TRY(ck_keras_archive_read(path, &a));
        json_t *root = NULL;
        json_error_t err;
        ck_status st = CK_OK;
        root = json_loads(a->config_json, JSON_ALLOW_NUL, &err);
        if (!root) st = ck_error(CK_FORMAT_ERROR, "%s: config.json is not valid JSON", path);
        if (st == CK_OK) st = ck_model_assign_archive_weights(m, a, json_object_get(root, "config"), path);
        json_decref(root);
        ck_keras_archive_free(a);
        return st;
    }
    if (kind != KIND_HDF5) return ck_error(CK_FORMAT_ERROR, "%s: a weights file must be HDF5 or a .keras archive", path);
    ck_keras_h5 *f = NULL;
    ck_status st = ck_h5_read(path, &f);
    if (st == CK_FORMAT_ERROR) {
        /* A Keras 3 .weights.h5 (layers/<name>/vars/<i>) has no layer_names. */
        char first[1024];
        snprintf(first, sizeof first, "%s", ck_last_error());
        ck_keras_archive *a = NULL;
        if (ck_keras_weights_h5_read(path, &a) != CK_OK) return ck_error(CK_FORMAT_ERROR, "%s", first);
        json_t *config = NULL;
        st = ck_model_config_json(m, &config);
        if (st == CK_OK) st = ck_model_assign_archive_weights(m, a, config, path);
        json_decref(config);
        ck_keras_archive_free(a);
        return st;
    }
    if (st != CK_OK) return st;
    st = convert_keras1_kernels(m, f);
    if (st == CK_OK) st = ck_model_assign_h5_weights(m, f, path, by_name);
    ck_keras_h5_free(f);
    return st;
}

ck_status ck_model_load_weights(ck_model *m, const char *path, int by_name)
{
    CK_NEED(m);
    CK_NEED(path);
    /* a failure jansson hid becomes CK_OUT_OF_MEMORY, not a wrong error */
    unsigned long before = ck_alloc_failures();
    int scope = ck_load_scope_begin(); /* CK_LIMIT_WEIGHT_BYTES */
    ck_status st = load_weights_impl(m, path, by_name);
    ck_load_scope_end(scope);
    return ck_alloc_verdict(before, st, "loading weights");
}
