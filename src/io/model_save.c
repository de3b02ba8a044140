/* Saving models: the tf.keras 2.x HDF5 layout (full model or weights
 * only), the .keras archive as tf.keras 2.13-2.15 write it, and JSON. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "io/atomic_file.h"
#include "io/model_io.h"
#include "layers/custom_layer.h"

#define CK_SAVED_KERAS_VERSION "2.15.0"

static int visible_layer(const ck_model *m, const ck_layer *l)
{
    return !(m->sequential && l->cls == &ck_input_layer_class);
}

/* The plain-data form of a model's weights, borrowing names and tensors. */
static ck_status fill_h5(const ck_model *m, ck_keras_h5 *f)
{
    memset(f, 0, sizeof *f);
    f->layers = ck_calloc((size_t)m->n_layers, sizeof *f->layers);
    if (!f->layers) return ck_oom("saving");
    for (int k = 0; k < m->n_layers; k++) {
        ck_layer *l = m->layers[k];
        if (!visible_layer(m, l)) continue;
        ck_h5_layer *hl = &f->layers[f->n_layers++];
        hl->name = (char *)ck_layer_name(l);
        int nw = ck_layer_weight_count(l);
        hl->n_weights = (size_t)nw;
        hl->weights = ck_calloc((size_t)(nw ? nw : 1), sizeof *hl->weights);
        if (!hl->weights) return ck_oom("saving");
        for (int i = 0; i < nw; i++) {
            ck_weight *w = ck_layer_weight(l, i);
            hl->weights[i] = (ck_h5_weight){(char *)ck_weight_name(w), ck_weight_value(w)};
        }
    }
    /* tf.keras 2.7-2.15 with h5py 3. */
    f->dialect = CK_H5_DIALECT_H5PY3;
    f->has_top_level = 1;
    f->keras_version = CK_SAVED_KERAS_VERSION;
    f->backend = "tensorflow";
    return CK_OK;
}

static void free_filled(ck_keras_h5 *f)
{
    for (size_t i = 0; f->layers && i < f->n_layers; i++) ck_free(f->layers[i].weights);
    ck_free(f->layers);
}

static ck_status save_h5(ck_model *m, const char *path, int full, const ck_saved_training *tr)
{
    ck_keras_h5 f;
    json_t *wrapper = NULL;
    char *config = NULL;
    ck_status st = fill_h5(m, &f);
    if (st == CK_OK && full) {
        /* model_config: {"class_name", "config"}, no versions inside. */
        st = ck_model_wrapper_json(m, 0, &wrapper);
        if (st == CK_OK && !(config = ck_json_dumps_python(wrapper))) st = ck_oom("saving");
        f.model_config = config;
        f.is_model = 1;
    }
    ck_h5_weight *ow = NULL;
    if (st == CK_OK && full && tr) {
        /* A compiled model: training_config and optimizer_weights, as
         * save_model_to_hdf5 writes them (borrowed from tr). */
        f.training_config = tr->training_config;
        if (tr->n_opt > 0) {
            ow = ck_calloc((size_t)tr->n_opt, sizeof *ow);
            if (!ow) st = ck_oom("saving");
            for (int i = 0; ow && i < tr->n_opt; i++) ow[i] = (ck_h5_weight){tr->opt_names[i], tr->opt_values[i]};
            f.optimizer = (ck_h5_layer){(char *)"optimizer_weights", (size_t)tr->n_opt, ow};
        }
    }
    if (st == CK_OK) st = ck_h5_write(path, &f);
    ck_free(ow);
    json_decref(wrapper);
    ck_free(config);
    free_filled(&f);
    return st;
}

/* ---- .keras (the tf.keras 2.13-2.15 writer) ------------------------------- */

/* Nested initializers, regularizers and constraints in the new form. */
static ck_status new_form_params(json_t *config)
{
    const char *key;
    json_t *v;
    json_object_foreach(config, key, v) {
        if (!json_is_object(v) || !json_object_get(v, "class_name") || !json_object_get(v, "config")) continue;
        const char *module = strstr(key, "initializer") ? "keras.initializers"
                             : strstr(key, "regularizer") ? "keras.regularizers"
                             : strstr(key, "constraint") ? "keras.constraints" : NULL;
        if (!module) continue;
        json_t *fresh = json_object();
        if (!fresh || json_object_set_new(fresh, "module", json_string(module)) ||
            json_object_set(fresh, "class_name", json_object_get(v, "class_name")) ||
            json_object_set(fresh, "config", json_object_get(v, "config")) ||
            json_object_set_new(fresh, "registered_name", json_null()) || json_object_set_new(config, key, fresh)) {
            json_decref(fresh);
            return ck_oom("saving");
        }
    }
    return CK_OK;
}

/* The layer's {"input_shape": ...}, or *out = NULL if it was never built.
 * An allocation failure is an error, not a missing build_config: a .keras
 * file without it loads into an unbuilt layer. */
static ck_status build_config_of(const ck_layer *l, json_t **out)
{
    *out = NULL;
    if (l->n_build_shapes == 0) return CK_OK;
    json_t *bc = json_object(), *shape;
    int bad = 0;
    if (l->n_build_shapes == 1) {
        shape = ck_shape_to_json(&l->build_shapes[0]);
    } else {
        shape = json_array();
        for (int i = 0; shape && !bad && i < l->n_build_shapes; i++)
            bad = json_array_append_new(shape, ck_shape_to_json(&l->build_shapes[i]));
    }
    if (bad || !bc || !shape) {
        json_decref(shape);
        json_decref(bc);
        return ck_oom("saving a build_config");
    }
    if (json_object_set_new(bc, "input_shape", shape)) { /* consumes shape */
        json_decref(bc);
        return ck_oom("saving a build_config");
    }
    *out = bc;
    return CK_OK;
}

/* Rewrites each layer entry of a model config in the new form:
 * {"module", "class_name", "config", "registered_name", ["build_config"],
 * "name", "inbound_nodes"}. */
static ck_status new_form_layers(const ck_model *m, json_t *model_config)
{
    json_t *layers = json_object_get(model_config, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *e = json_array_get(layers, i);
        const char *name = json_string_value(json_object_get(e, "name"));
        ck_layer *l = NULL;
        if (!name) name = json_string_value(json_object_get(json_object_get(e, "config"), "name"));
        if (ck_model_get_layer(m, name, &l) != CK_OK) return ck_last_status();
        json_t *fresh = json_object();
        ck_model *nested = ck_layer_as_model(l);
        const char *module = nested ? "keras.src.engine.functional" : "keras.layers";
        int bad = !fresh || json_object_set_new(fresh, "module", json_string(module)) ||
                  json_object_set(fresh, "class_name", json_object_get(e, "class_name")) ||
                  json_object_set(fresh, "config", json_object_get(e, "config")) ||
                  json_object_set_new(fresh, "registered_name", nested ? json_string("Functional") : json_null());
        if (!bad) bad = ck_custom_layer_archive_ids(l, fresh) != CK_OK; /* a user class' own ids */
        if (!bad && l->cls != &ck_input_layer_class && !nested) {
            json_t *bc = NULL;
            if (build_config_of(l, &bc) != CK_OK) bad = 1;
            else if (bc) bad = json_object_set_new(fresh, "build_config", bc);
        }
        if (!bad && json_object_get(e, "name")) bad = json_object_set(fresh, "name", json_object_get(e, "name"));
        if (!bad && json_object_get(e, "inbound_nodes"))
            bad = json_object_set(fresh, "inbound_nodes", json_object_get(e, "inbound_nodes"));
        if (bad) {
            json_decref(fresh);
            return ck_oom("saving");
        }
        ck_status st = new_form_params(json_object_get(fresh, "config"));
        if (st == CK_OK && nested) st = new_form_layers(nested, json_object_get(fresh, "config"));
        if (st != CK_OK) {
            json_decref(fresh);
            return st;
        }
        if (json_array_set_new(layers, i, fresh)) return ck_oom("saving"); /* consumes fresh */
    }
    return CK_OK;
}

static ck_status archive_config(const ck_model *m, const char *compile_config, char **out)
{
    json_t *c = NULL, *root = json_object();
    if (!root) return ck_oom("saving");
    ck_status st = ck_model_config_json(m, &c);
    if (st == CK_OK) st = new_form_layers(m, c);
    if (st == CK_OK) st = ck_json_set(root, "module", json_string(m->sequential ? "keras.src.engine.sequential"
                                                                                  : "keras.src.engine.functional"));
    if (st == CK_OK) st = ck_json_set(root, "class_name", json_string(ck_model_class_name(m)));
    if (st == CK_OK) {
        st = ck_json_set(root, "config", c);
        c = NULL;
    }
    if (st == CK_OK) st = ck_json_set(root, "registered_name", json_string(ck_model_class_name(m)));
    if (st == CK_OK && m->n_inputs == 1) {
        json_t *bc = json_object();
        ck_shape s = ck_tensor_shape(m->inputs[0]);
        if (!bc || json_object_set_new(bc, "input_shape", ck_shape_to_json(&s))) {
            json_decref(bc);
            st = ck_oom("saving");
        } else {
            st = ck_json_set(root, "build_config", bc);
        }
    }
    json_t *cc = json_null();
    if (st == CK_OK && compile_config) {
        json_decref(cc);
        cc = NULL;
        st = ck_json_parse(compile_config, strlen(compile_config), "saving: the compile config is not valid JSON",
                           &cc);
    }
    if (st == CK_OK) st = ck_json_set(root, "compile_config", cc);
    else json_decref(cc);
    char *text = st == CK_OK ? ck_json_dumps_python(root) : NULL;
    if (st == CK_OK && !text) st = ck_oom("saving");
    json_decref(c);
    json_decref(root);
    if (st == CK_OK) *out = text;
    return st;
}

/* Variables by tracking path: layers/<snake>[_k]/vars/<i> in model.layers
 * order, a vars group (with the layer's name) for every layer. */
typedef struct archive_builder {
    ck_keras_archive a;
    size_t cap_vars, cap_groups;
    char **owned;
    size_t n_owned, cap_owned;
} archive_builder;

static char *keep(archive_builder *b, const char *s)
{
    if (b->n_owned == b->cap_owned) {
        size_t cap = b->cap_owned * 2 + 16;
        char **grown = ck_realloc(b->owned, cap * sizeof *grown);
        if (!grown) return NULL;
        b->owned = grown;
        b->cap_owned = cap;
    }
    char *c = ck_strdup(s);
    if (c) b->owned[b->n_owned++] = c;
    return c;
}

static ck_status add_group(archive_builder *b, const char *path, const char *name)
{
    if (b->a.n_groups == b->cap_groups) {
        size_t cap = b->cap_groups * 2 + 16;
        ck_keras_vars_group *grown = ck_realloc(b->a.groups, cap * sizeof *grown);
        if (!grown) return ck_oom("saving");
        b->a.groups = grown;
        b->cap_groups = cap;
    }
    char *p = keep(b, path);
    if (!p) return ck_oom("saving");
    b->a.groups[b->a.n_groups++] = (ck_keras_vars_group){p, (char *)name};
    return CK_OK;
}

static ck_status add_var(archive_builder *b, const char *path, ck_tensor *value)
{
    if (b->a.n_vars == b->cap_vars) {
        size_t cap = b->cap_vars * 2 + 16;
        ck_keras_var *grown = ck_realloc(b->a.vars, cap * sizeof *grown);
        if (!grown) return ck_oom("saving");
        b->a.vars = grown;
        b->cap_vars = cap;
    }
    char *p = keep(b, path);
    if (!p) return ck_oom("saving");
    b->a.vars[b->a.n_vars++] = (ck_keras_var){p, value};
    return CK_OK;
}

static ck_status add_model_vars(archive_builder *b, const ck_model *m, const char *prefix)
{
    char path[1024], vpath[1100];
    for (int k = 0; k < m->n_layers; k++) {
        const ck_layer *l = m->layers[k];
        int has = ck_model_archive_layer_path(m, k, prefix, path, sizeof path);
        if (has == 0) continue;
        if (has < 0) return ck_error(CK_VALUE_ERROR, "layer \"%s\": its .keras path is too long", l->name);
        snprintf(vpath, sizeof vpath, "%s/vars", path);
        CK_TRY(add_group(b, vpath, l->name));
        ck_model *nested = ck_layer_as_model((ck_layer *)l);
        if (nested) {
            snprintf(vpath, sizeof vpath, "%s/", path);
            CK_TRY(add_model_vars(b, nested, vpath));
            continue;
        }
        /* A wrapped model's whole tree below the wrapper (at the paths its
         * archive_var names for loading). */
        const char *wgroup = NULL;
        ck_model *wrapped = ck_model_archive_wrapped(l, &wgroup);
        if (wrapped) {
            snprintf(vpath, sizeof vpath, "%s/%s/vars", path, wgroup);
            CK_TRY(add_group(b, vpath, wrapped->base.name));
            snprintf(vpath, sizeof vpath, "%s/%s/", path, wgroup);
            CK_TRY(add_model_vars(b, wrapped, vpath));
            continue;
        }
        int nw = ck_layer_weight_count(l);
        const char *sub = l->cls->archive_vars_path; /* "cell": a recurrent layer's weights are its cell's */
        if (sub) {
            snprintf(vpath, sizeof vpath, "%s/%s/vars", path, sub);
            CK_TRY(add_group(b, vpath, NULL));
        }
        for (int i = 0; i < nw; i++) {
            int k = i;
            if (l->cls->archive_var) { /* the wrappers' weights sit in several groups */
                char group[512];
                if ((k = l->cls->archive_var(l, i, group, sizeof group)) < 0) return ck_last_status();
                int len = snprintf(vpath, sizeof vpath, "%s/%s/vars", path, group);
                if (group[0] && k == 0 && len > 0 && (size_t)len < sizeof vpath) CK_TRY(add_group(b, vpath, NULL));
                len = group[0] ? snprintf(vpath, sizeof vpath, "%s/%s/vars/%d", path, group, k)
                               : snprintf(vpath, sizeof vpath, "%s/vars/%d", path, k);
                if (len < 0 || (size_t)len >= sizeof vpath)
                    return ck_error(CK_VALUE_ERROR, "layer \"%s\": its .keras variable path is too long", l->name);
            } else {
                snprintf(vpath, sizeof vpath, "%s/%s%svars/%d", path, sub ? sub : "", sub ? "/" : "", i);
            }
            CK_TRY(add_var(b, vpath, ck_weight_value(ck_layer_weight(l, i))));
        }
    }
    return CK_OK;
}

/* optimizer/vars/<i>: the optimizer's variables in its own order, as
 * Optimizer.save_own_variables stores them. */
static ck_status add_optimizer_vars(archive_builder *b, const ck_saved_training *tr, const char *opt_name)
{
    if (!tr || tr->n_opt == 0) return CK_OK;
    CK_TRY(add_group(b, "optimizer/vars", opt_name));
    char vpath[64];
    for (int i = 0; i < tr->n_opt; i++) {
        snprintf(vpath, sizeof vpath, "optimizer/vars/%d", i);
        CK_TRY(add_var(b, vpath, tr->opt_values[i]));
    }
    return CK_OK;
}

/* The optimizer's config name ("Adam"): the first component of a slot
 * name "Adam/m/dense/kernel:0" (NULL when there are no slots). */
static const char *optimizer_name(const ck_saved_training *tr, char *buf, size_t n)
{
    if (!tr || tr->n_opt < 2) return NULL;
    const char *slash = strchr(tr->opt_names[1], '/');
    if (!slash) return NULL;
    snprintf(buf, n, "%.*s", (int)(slash - tr->opt_names[1]), tr->opt_names[1]);
    return buf;
}

static ck_status save_archive(ck_model *m, const char *path, int weights_only, const ck_saved_training *tr)
{
    archive_builder b;
    memset(&b, 0, sizeof b);
    char meta[160];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    snprintf(meta, sizeof meta, "{\"keras_version\": \"%s\", \"date_saved\": \"%04d-%02d-%02d@%02d:%02d:%02d\"}",
             CK_SAVED_KERAS_VERSION, tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min,
             tmv.tm_sec);
    char *config = NULL;
    char oname[128];
    ck_status st = add_model_vars(&b, m, "");
    if (st == CK_OK) st = add_optimizer_vars(&b, tr, optimizer_name(tr, oname, sizeof oname));
    if (st == CK_OK) st = add_group(&b, "vars", m->base.name);
    if (st == CK_OK && !weights_only) st = archive_config(m, tr ? tr->compile_config : NULL, &config);
    if (st == CK_OK) {
        b.a.metadata_json = meta;
        b.a.config_json = config;
        st = weights_only ? ck_keras_weights_h5_write(path, &b.a) : ck_keras_archive_write(path, &b.a);
    }
    ck_free(config);
    for (size_t i = 0; i < b.n_owned; i++) ck_free(b.owned[i]);
    ck_free(b.owned);
    ck_free(b.a.vars);
    ck_free(b.a.groups);
    return st;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static ck_status save_text(const char *path, const char *text)
{
    return ck_atomic_write(path, text, strlen(text));
}

ck_status ck_io_model_save(ck_model *m, const char *path, const ck_saved_training *tr)
{
    if (!m || !path) return ck_error(CK_VALUE_ERROR, "ck_model_save: NULL argument");
    if (ends_with(path, ".keras")) return save_archive(m, path, 0, tr);
    if (ends_with(path, ".json")) {
        char *text = NULL;
        CK_TRY(ck_model_to_json(m, &text));
        ck_status st = save_text(path, text);
        ck_free(text);
        return st;
    }
    if (ends_with(path, ".h5") || ends_with(path, ".hdf5") || ends_with(path, ".keras_h5")) return save_h5(m, path, 1, tr);
    return ck_error(CK_VALUE_ERROR, "cannot tell the format of '%s': use .h5, .keras or .json", path);
}

ck_status ck_io_model_save_weights(ck_model *m, const char *path, const ck_saved_training *tr)
{
    if (!m || !path) return ck_error(CK_VALUE_ERROR, "ck_model_save_weights: NULL argument");
    if (ends_with(path, ".weights.h5")) return save_archive(m, path, 1, tr);
    return save_h5(m, path, 0, NULL);
}
