/* Weights files paired with a model's layers (model_io.h): the values of
 * an HDF5 file's layers (by topology or by name) and of a Keras 3
 * archive's variable paths, converted from legacy layouts, checked for
 * every layer before any is assigned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/keras_archive.h"
#include "io/keras_h5.h"
#include "io/model_io.h"
#include "model/model.h"
#include "model/wrapper_util.h" /* ck_convert_file_weights */

/* ---- pairing weights with layers ---------------------------------------- */

/* A planned assignment: a layer and the values for its weights. */
typedef struct weight_plan {
    ck_layer *layer;
    int n;
    const ck_tensor **values;
    ck_tensor **converted; /* values converted from a legacy layout (owned) */
    int n_converted;
} weight_plan;

static ck_status check_layer_values(const char *file, ck_layer *layer, int n, const ck_tensor *const *values)
{
    char a[128], b[128];
    int expected = ck_layer_weight_count(layer);
    if (n != expected)
        return ck_error(CK_VALUE_ERROR, "%s: layer \"%s\" expects %d weights, but the saved weights have %d "
                        "elements", file, ck_layer_name(layer), expected, n);
    for (int i = 0; i < n; i++) {
        const ck_tensor *ref = ck_weight_value(ck_layer_weight(layer, i)), *v = values[i];
        int same = v->rank == ref->rank;
        for (int d = 0; same && d < v->rank; d++) same = v->shape[d] == ref->shape[d];
        if (!same)
            return ck_error(CK_VALUE_ERROR, "%s: layer \"%s\" weight %d (%s) has shape %s in the model but %s in "
                            "the file", file, ck_layer_name(layer), i, ck_weight_name(ck_layer_weight(layer, i)),
                            ck_shape_str(a, sizeof a, ref->rank, ref->shape), ck_shape_str(b, sizeof b, v->rank, v->shape));
    }
    return CK_OK;
}

/* Checks every planned layer, then assigns them all. */
static ck_status apply_plans(const char *file, weight_plan *plans, int n)
{
    for (int i = 0; i < n; i++) CK_TRY(check_layer_values(file, plans[i].layer, plans[i].n, plans[i].values));
    /* set_weights copies the values; the file keeps them. */
    for (int i = 0; i < n; i++)
        CK_TRY(ck_layer_set_weights(plans[i].layer, plans[i].n, (ck_tensor *const *)(void *)plans[i].values));
    return CK_OK;
}

static void free_plans(weight_plan *plans, int n)
{
    for (int i = 0; plans && i < n; i++) {
        ck_free(plans[i].values);
        ck_tensors_free(plans[i].converted, plans[i].n_converted);
    }
    ck_free(plans);
}

/* Layers as Keras lists them in model.layers (a Sequential hides its
 * InputLayer). */
static int visible_layer(const ck_model *m, const ck_layer *l)
{
    return !(m->sequential && l->cls == &ck_input_layer_class);
}

static ck_status plan_from_h5_layer(weight_plan *p, ck_layer *layer, const ck_h5_layer *hl)
{
    p->layer = layer;
    p->n = (int)hl->n_weights;
    p->values = ck_calloc(hl->n_weights ? hl->n_weights : 1, sizeof *p->values);
    if (!p->values) return ck_oom("weight loading");
    for (size_t k = 0; k < hl->n_weights; k++) p->values[k] = hl->weights[k].value;
    /* Keras 1 recurrent gates and CuDNN layouts, as Keras' legacy loader. */
    CK_TRY(ck_convert_file_weights(layer, p->n, p->values, &p->converted, &p->n_converted));
    if (p->converted) {
        p->n = p->n_converted;
        for (int k = 0; k < p->n; k++) p->values[k] = p->converted[k];
    }
    return CK_OK;
}

ck_status ck_model_assign_h5_weights(ck_model *m, const ck_keras_h5 *f, const char *file, int by_name)
{
    weight_plan *plans = ck_calloc((size_t)(m->n_layers + 1), sizeof *plans);
    if (!plans) return ck_oom("weight loading");
    int np = 0;
    ck_status st = CK_OK;
    if (by_name) {
        /* Keras load_weights(by_name=True): layers of the file that the
         * model has, matched by name; others are skipped. */
        for (size_t i = 0; st == CK_OK && i < f->n_layers; i++) {
            const ck_h5_layer *hl = &f->layers[i];
            if (hl->n_weights == 0) continue;
            ck_layer *l = NULL;
            for (int k = 0; k < m->n_layers && !l; k++)
                if (strcmp(ck_layer_name(m->layers[k]), hl->name) == 0) l = m->layers[k];
            if (l) st = plan_from_h5_layer(&plans[np++], l, hl);
        }
    } else {
        /* By topology: the file's layers with weights, in order, against the
         * model's layers with weights, in model.layers order. */
        int n_file = 0, n_model = 0;
        for (size_t i = 0; i < f->n_layers; i++) n_file += f->layers[i].n_weights > 0;
        for (int k = 0; k < m->n_layers; k++)
            n_model += visible_layer(m, m->layers[k]) && ck_layer_weight_count(m->layers[k]) > 0;
        if (n_file != n_model)
            st = ck_error(CK_VALUE_ERROR, "%s: Layer count mismatch when loading weights from file. Model expected %d "
                          "layers, found %d saved layers.", file, n_model, n_file);
        size_t fi = 0;
        for (int k = 0; st == CK_OK && k < m->n_layers; k++) {
            ck_layer *l = m->layers[k];
            if (!visible_layer(m, l) || ck_layer_weight_count(l) == 0) continue;
            while (f->layers[fi].n_weights == 0) fi++;
            st = plan_from_h5_layer(&plans[np++], l, &f->layers[fi++]);
        }
    }
    if (st == CK_OK) st = apply_plans(file, plans, np);
    free_plans(plans, np);
    return st;
}

/* For a group path base + ("" | "_<n>") + "/...": 1 and n (0 for none). */
static int deps_suffix(const char *p, const char *base, size_t bn, long *suffix)
{
    if (strncmp(p, base, bn) != 0) return 0;
    p += bn;
    if (*p == '/') {
        *suffix = 0;
        return 1;
    }
    if (*p != '_' || p[1] < '0' || p[1] > '9') return 0;
    char *end;
    long v = strtol(p + 1, &end, 10);
    if (*end != '/' || v <= 0) return 0;
    *suffix = v;
    return 1;
}

/* tf.keras 2.13-2.14 saved some models' layers through the tracked dict
 * `_layer_checkpoint_dependencies`, which its saver walked before the
 * `layers` list.  Its groups are named like Keras 3's (snake-case class,
 * then _1, _2, ...), but that dict can list a layer twice (once as
 * "layer_with_weights-k", once as "layer-i"), and the second visit still
 * takes a number: the suffixes skip.  Their order is still the layers'
 * order, so the k-th layer of a class is the class' k-th group by suffix.
 * 1 and the path in `path` when the archive has that layout. */
static int cmp_long(const void *x, const void *y)
{
    long a = *(const long *)x, b = *(const long *)y;
    return (a > b) - (a < b);
}

static int deps_path(const ck_keras_archive *a, const char *prefix, const char *snake, int k, char *path, size_t n)
{
    char base[512];
    int bn = snprintf(base, sizeof base, "%s_layer_checkpoint_dependencies/%s", prefix, snake);
    if (bn <= 0 || (size_t)bn >= sizeof base) return 0;
    size_t count = 0;
    long suffix;
    for (size_t g = 0; g < a->n_groups; g++) count += deps_suffix(a->groups[g].path, base, (size_t)bn, &suffix);
    if (count == 0) return 0;
    long *s = ck_malloc(count * sizeof *s);
    if (!s) return 0; /* the usual path then fails to find the vars */
    size_t m = 0;
    for (size_t g = 0; g < a->n_groups; g++)
        if (deps_suffix(a->groups[g].path, base, (size_t)bn, &suffix)) s[m++] = suffix;
    qsort(s, m, sizeof *s, cmp_long);
    size_t distinct = 0; /* dedupe in place */
    for (size_t i = 0; i < m; i++)
        if (distinct == 0 || s[distinct - 1] != s[i]) s[distinct++] = s[i];
    int ok = (size_t)k < distinct;
    if (ok && s[k] == 0) snprintf(path, n, "%s", base);
    else if (ok) snprintf(path, n, "%s_%ld", base, s[k]);
    ck_free(s);
    return ok;
}

/* Keras 3 archives: layers/<snake_case class>[_k]/vars/<i>, k counting
 * earlier layers of the same class in the config's layer order; a vars
 * group's `name` attribute (Keras >= 3.6), when present, names the layer
 * directly. */
static ck_status k3_layer_path(const ck_keras_archive *a, const char *prefix, const json_t *layers, int index,
                               char *path, size_t n)
{
    const json_t *entry = json_array_get(layers, (size_t)index);
    const char *cls = json_string_value(json_object_get(entry, "class_name"));
    const char *name = json_string_value(json_object_get(entry, "name"));
    if (!name) name = json_string_value(json_object_get(json_object_get(entry, "config"), "name"));
    if (!cls || !name) return ck_error(CK_FORMAT_ERROR, "config.json: a layer without class_name or name");
    size_t plen = strlen(prefix);
    for (size_t g = 0; g < a->n_groups; g++) {
        const ck_keras_vars_group *grp = &a->groups[g];
        size_t len = strlen(grp->path);
        /* A direct child: prefix + "layers/<x>/vars". */
        /* prefix + "layers/" + at least one character + "/vars" */
        if (grp->name && strcmp(grp->name, name) == 0 && len >= plen + 13 && strncmp(grp->path, prefix, plen) == 0 &&
            strncmp(grp->path + plen, "layers/", 7) == 0 && strcmp(grp->path + len - 5, "/vars") == 0 &&
            memchr(grp->path + plen + 7, '/', len - plen - 12) == NULL) {
            snprintf(path, n, "%.*s", (int)(len - 5), grp->path);
            return CK_OK;
        }
    }
    int k = 0;
    for (int i = 0; i < index; i++) {
        const char *c = json_string_value(json_object_get(json_array_get(layers, (size_t)i), "class_name"));
        k += c && strcmp(c, cls) == 0;
    }
    char snake[128];
    ck_snake_case(cls, snake, sizeof snake);
    if (deps_path(a, prefix, snake, k, path, n)) return CK_OK;
    if (k == 0) snprintf(path, n, "%slayers/%s", prefix, snake);
    else snprintf(path, n, "%slayers/%s_%d", prefix, snake, k);
    return CK_OK;
}

static ck_status plan_k3(const ck_keras_archive *a, const char *file, ck_model *m, const json_t *model_config,
                         const char *prefix, weight_plan **plans, int *np, int *cap)
{
    const json_t *layers = json_object_get(model_config, "layers");
    for (int i = 0; i < (int)json_array_size(layers); i++) {
        const json_t *entry = json_array_get(layers, (size_t)i);
        const char *name = json_string_value(json_object_get(entry, "name"));
        if (!name) name = json_string_value(json_object_get(json_object_get(entry, "config"), "name"));
        ck_layer *l = NULL;
        if (!name || ck_model_get_layer(m, name, &l) != CK_OK) {
            ck_clear_error();
            continue;
        }
        char path[1024];
        CK_TRY(k3_layer_path(a, prefix, layers, i, path, sizeof path));
        ck_model *nested = ck_layer_as_model(l);
        if (nested) {
            char sub[1040];
            snprintf(sub, sizeof sub, "%s/", path);
            CK_TRY(plan_k3(a, file, nested, json_object_get(entry, "config"), sub, plans, np, cap));
            continue;
        }
        int nw = ck_layer_weight_count(l);
        if (nw == 0) continue;
        if (*np == *cap) {
            int ncap = *cap * 2 + 8;
            weight_plan *grown = ck_realloc(*plans, (size_t)ncap * sizeof *grown);
            if (!grown) return ck_oom("weight loading");
            *plans = grown;
            *cap = ncap;
        }
        weight_plan *p = &(*plans)[(*np)++];
        *p = (weight_plan){0};
        p->layer = l;
        p->n = nw;
        p->values = ck_calloc((size_t)nw, sizeof *p->values);
        if (!p->values) return ck_oom("weight loading");
        for (int w = 0; w < nw; w++) {
            char vpath[1100], group[512];
            const char *sub = l->cls->archive_vars_path; /* "cell" for the recurrent layers */
            int k = w;
            if (l->cls->archive_var) { /* the wrappers' weights sit in several groups */
                if ((k = l->cls->archive_var(l, w, group, sizeof group)) < 0) return ck_last_status();
                sub = group[0] ? group : NULL;
            }
            int len = snprintf(vpath, sizeof vpath, "%s/%s%svars/%d", path, sub ? sub : "", sub ? "/" : "", k);
            if (len < 0 || (size_t)len >= sizeof vpath)
                return ck_error(CK_FORMAT_ERROR, "%s: the variable path of layer \"%s\" is too long", file, name);
            p->values[w] = ck_keras_archive_find(a, vpath);
            if (!p->values[w] && sub) { /* "_query_dense" (tf.keras 2.13+) or "query_dense" (Keras 3) */
                len = sub[0] == '_' ? snprintf(vpath, sizeof vpath, "%s/%s/vars/%d", path, sub + 1, k)
                                    : snprintf(vpath, sizeof vpath, "%s/_%s/vars/%d", path, sub, k);
                if (len > 0 && (size_t)len < sizeof vpath) p->values[w] = ck_keras_archive_find(a, vpath);
            }
            if (!p->values[w])
                return ck_error(CK_FORMAT_ERROR, "%s: no variable %s for weight %d of layer \"%s\"", file, vpath, w,
                                name);
        }
    }
    return CK_OK;
}

ck_status ck_model_assign_archive_weights(ck_model *m, const ck_keras_archive *a, const json_t *model_config,
                                          const char *file)
{
    weight_plan *plans = NULL;
    int np = 0, cap = 0;
    ck_status st = plan_k3(a, file, m, model_config, "", &plans, &np, &cap);
    if (st == CK_OK) st = apply_plans(file, plans, np);
    free_plans(plans, np);
    return st;
}
