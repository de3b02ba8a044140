/* The compile information as model files keep it: the .h5
 * training_config (ck_model_training_config) and the .keras compile_config
 * (ck_trainer_compile_config), each exactly as tf.keras 2.15 writes it, so
 * that tf.keras loads ckeras' files compiled and ckeras' files compare
 * attribute by attribute with tf.keras' own. */
#include <stdio.h>
#include <string.h>

#include "train/trainer.h"

/* A loss spec in a file's form: strings and nulls as given, a loss object
 * as {"class_name", "config"} (.h5) or with Keras' "module" and
 * "registered_name" around it (.keras); lists and per-output dicts item by
 * item.  NULL on OOM. */
static json_t *loss_form(const json_t *spec, int keras_form)
{
    if (!spec) return json_null();
    if (json_is_array(spec)) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < json_array_size(spec); i++)
            if (json_array_append_new(a, loss_form(json_array_get(spec, i), keras_form))) {
                json_decref(a);
                a = NULL;
            }
        return a;
    }
    if (json_is_object(spec) && !json_object_get(spec, "class_name")) {
        json_t *d = json_object();
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)spec, key, v) if (d && json_object_set_new(d, key, loss_form(v, keras_form))) {
            json_decref(d);
            d = NULL;
        }
        return d;
    }
    if (!json_is_object(spec)) return json_deep_copy(spec);
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = keras_form && json_object_set_new(o, "module", json_string("keras.losses"));
    bad = bad || json_object_set(o, "class_name", json_object_get(spec, "class_name")) ||
          json_object_set(o, "config", json_object_get(spec, "config") ? json_object_get(spec, "config")
                                                                       : json_object());
    if (!bad && keras_form) bad = json_object_set_new(o, "registered_name", json_null());
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The metrics of a .h5 training_config: tf.keras saves the compiled metric
 * objects (one list per output, {"class_name": "MeanMetricWrapper",
 * "config": {"name": "accuracy", "dtype": "float32", "fn":
 * "categorical_accuracy"}}, named "<output>_accuracy" with several outputs)
 * once they are built by a first batch, and the user's list before. */
static json_t *metrics_h5_form(const ck_model *m, const ck_trainer *t)
{
    if (!t->metrics || t->n_metrics == 0 || json_is_null(t->metrics_json)) return json_deep_copy(t->metrics_json);
    json_t *all = json_array();
    int built = all != NULL;
    for (int o = 0; built && o < t->n_outputs; o++) {
        json_t *one = json_array();
        const ck_keras_history *h = ck_tensor_history(m->outputs[o]);
        built = one && !json_array_append_new(all, one);
        for (int k = 0; built && k < t->n_metrics; k++) {
            const ck_metric *mt = t->metrics[o * t->n_metrics + k];
            char *text = NULL;
            if (!mt) continue;
            json_t *c = ck_metric_get_config(mt, &text) == CK_OK ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
            ck_free(text);
            /* An unresolved "accuracy" comes back as a string: not built. */
            built = json_is_object(c);
            json_t *cfg = json_object_get(c, "config");
            const char *name = json_string_value(json_object_get(cfg, "name"));
            if (built && t->n_outputs > 1 && h && name) {
                char full[256];
                snprintf(full, sizeof full, "%s_%s", h->layer->name, name);
                built = !json_object_set_new(cfg, "name", json_string(full));
            }
            if (built) built = !json_array_append(one, c);
            json_decref(c);
        }
    }
    if (built) return all;
    json_decref(all);
    ck_clear_error();
    return json_deep_copy(t->metrics_json);
}

ck_status ck_model_training_config(const ck_model *m, char **out)
{
    CK_NEED(m);
    CK_NEED(out);
    if (!m || !out) return ck_error(CK_VALUE_ERROR, "training_config: model and out are required");
    const ck_trainer *t = m->trainer;
    if (!t) return ck_error(CK_RUNTIME_ERROR, "model \"%s\" is not compiled", m->base.name);
    json_t *c = json_object();
    json_t *opt = ck_optimizer_to_json(t->optimizer);
    int bad = !c || !opt;
    /* tf.keras 2.11+ optimizers are registered as "Custom>Adam", which is
     * what save_model_to_hdf5 writes as the optimizer's class_name. */
    if (!bad) {
        char cls[96];
        snprintf(cls, sizeof cls, "Custom>%s", ck_optimizer_name(t->optimizer));
        bad = json_object_set_new(opt, "class_name", json_string(cls));
    }
    /* tf.keras 2.x's keys and order. */
    bad = bad || json_object_set_new(c, "loss", loss_form(t->loss_json, 0)) ||
          json_object_set_new(c, "metrics", metrics_h5_form(m, t)) ||
          json_object_set_new(c, "weighted_metrics", json_null()) ||
          json_object_set(c, "loss_weights", t->loss_weights_json);
    /* json_object_set_new consumes opt even when it fails */
    if (!bad) {
        bad = json_object_set_new(c, "optimizer_config", opt);
        opt = NULL;
    }
    char *text = bad ? NULL : ck_json_dumps_python(c);
    json_decref(c);
    json_decref(opt);
    if (!text) return ck_oom("training_config");
    *out = text;
    return CK_OK;
}

/* The metrics of a .keras compile_config: what the user gave compile, as
 * strings or serialized objects.  A model compiled from an .h5 file holds
 * the built form (MeanMetricWrapper configs, which tf.keras' deserializer
 * does not know by name): each wrapper goes back to the string the user
 * gave, its name without the output prefix; other metric objects get
 * Keras' "module" and "registered_name". */
static json_t *metrics_keras_form(const ck_model *m, const json_t *spec, int output)
{
    if (!spec || json_is_null(spec) || json_is_string(spec)) return spec ? json_deep_copy(spec) : json_null();
    if (json_is_array(spec)) {
        json_t *a = json_array();
        int nested = json_array_size(spec) > 0 && json_is_array(json_array_get(spec, 0));
        for (size_t i = 0; a && i < json_array_size(spec); i++)
            if (json_array_append_new(a, metrics_keras_form(m, json_array_get(spec, i), nested ? (int)i : output))) {
                json_decref(a);
                a = NULL;
            }
        /* One output: [[...]] is the built form of [...]. */
        if (a && nested && json_array_size(a) == 1 && m->n_outputs == 1) {
            json_t *inner = json_incref(json_array_get(a, 0));
            json_decref(a);
            a = inner;
        }
        return a;
    }
    const char *cls = json_string_value(json_object_get(spec, "class_name"));
    const json_t *cfg = json_object_get(spec, "config");
    if (!cls) return json_deep_copy(spec);
    if (strcmp(cls, "MeanMetricWrapper") == 0 && json_is_string(json_object_get(cfg, "name"))) {
        const char *nm = json_string_value(json_object_get(cfg, "name"));
        const ck_keras_history *h = m->n_outputs > 1 && output < m->n_outputs ? ck_tensor_history(m->outputs[output])
                                                                            : NULL;
        size_t on = h ? strlen(h->layer->name) : 0;
        if (on && strncmp(nm, h->layer->name, on) == 0 && nm[on] == '_') nm += on + 1;
        return json_string(nm);
    }
    if (json_object_get(spec, "module")) return json_deep_copy(spec);
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "module", json_string("keras.metrics")) ||
        json_object_set_new(o, "class_name", json_string(cls)) ||
        json_object_set(o, "config", cfg ? (json_t *)cfg : json_object()) ||
        json_object_set_new(o, "registered_name", json_null())) {
        json_decref(o);
        return NULL;
    }
    return o;
}

ck_status ck_trainer_compile_config(const ck_model *m, char **out)
{
    const ck_trainer *t = m->trainer;
    if (!t) return ck_error(CK_RUNTIME_ERROR, "model \"%s\" is not compiled", m->base.name);
    json_t *c = json_object(), *opt = json_object();
    json_t *cfg = ck_optimizer_to_json(t->optimizer);
    const char *name = ck_optimizer_name(t->optimizer);
    /* serialize_keras_object names the module the class is exported from
     * first: keras.optimizers for Adam and AdamW, the experimental
     * namespace for the others (tf.keras 2.15). */
    const char *module = strcmp(name, "Adam") == 0 || strcmp(name, "AdamW") == 0 ? "keras.optimizers"
                                                                                 : "keras.optimizers.experimental";
    int bad = !c || !opt || !cfg || json_object_set_new(opt, "module", json_string(module)) ||
              json_object_set_new(opt, "class_name", json_string(name)) ||
              json_object_set(opt, "config", json_object_get(cfg, "config")) ||
              json_object_set_new(opt, "registered_name", json_null());
    /* Model.get_compile_config: the compile arguments as the user gave them. */
    bad = bad || json_object_set(c, "optimizer", opt) || json_object_set_new(c, "loss", loss_form(t->loss_json, 1)) ||
          json_object_set_new(c, "metrics", metrics_keras_form(m, t->metrics_json, 0)) ||
          json_object_set(c, "loss_weights", t->loss_weights_json) ||
          json_object_set_new(c, "weighted_metrics", json_null()) || json_object_set_new(c, "run_eagerly", json_null()) ||
          json_object_set_new(c, "steps_per_execution", json_null()) ||
          json_object_set_new(c, "jit_compile", json_null());
    char *text = bad ? NULL : ck_json_dumps_python(c);
    json_decref(c);
    json_decref(opt);
    json_decref(cfg);
    if (!text) return ck_oom("compile_config");
    *out = text;
    return CK_OK;
}
