/* model.compile: the loss of each output, the optimizer, the metrics, and
 * reading Keras' training_config (compile_config.c writes it). */
#include <string.h>

#include "core/json.h"
#include "train/trainer.h"

static void trainer_free(void *p)
{
    ck_trainer *t = p;
    if (!t) return;
    ck_optimizer_free(t->optimizer);
    for (int o = 0; t->losses && o < t->n_outputs; o++) ck_loss_free(t->losses[o]);
    for (int i = 0; t->metrics && i < t->n_outputs * t->n_metrics; i++) ck_metric_free(t->metrics[i]);
    for (int i = 0; t->grads && i < t->n_vars; i++) ck_tensor_free(t->grads[i]);
    for (int o = 0; t->dy && o < t->n_outputs; o++) ck_tensor_free(t->dy[o]);
    ck_free(t->losses);
    ck_free(t->loss_weights);
    ck_free(t->metrics);
    ck_free(t->vars);
    ck_free(t->var_values);
    ck_free(t->grads);
    ck_free(t->dy);
    ck_free(t->out_loss_sum);
    ck_free(t->block_raw);
    json_decref(t->loss_json);
    json_decref(t->metrics_json);
    json_decref(t->loss_weights_json);
    ck_free(t);
}

ck_status ck_trainer_of(ck_model *m, ck_trainer **out)
{
    if (!m) return ck_error(CK_VALUE_ERROR, "model is NULL");
    if (!m->trainer)
        return ck_error(CK_RUNTIME_ERROR, "You must compile your model before training/testing. Use "
                        "`model.compile(optimizer, loss)`. (model \"%s\")", m->base.name);
    *out = m->trainer;
    return CK_OK;
}

ck_status ck_trainer_collect_vars(ck_model *m, ck_trainer *t)
{
    ck_layer *L = &m->base;
    int n = ck_layer_trainable_weight_count(L);
    /* Detach the old gradients first: a weight keeps none between fits. */
    for (int i = 0; i < t->n_vars; i++) {
        if (t->vars[i]->grad == t->grads[i]) t->vars[i]->grad = NULL;
        ck_tensor_free(t->grads[i]);
    }
    ck_free(t->vars);
    ck_free(t->var_values);
    ck_free(t->grads);
    t->vars = NULL;
    t->var_values = t->grads = NULL;
    t->n_vars = 0;
    t->vars = ck_calloc((size_t)(n ? n : 1), sizeof *t->vars);
    t->var_values = ck_calloc((size_t)(n ? n : 1), sizeof *t->var_values);
    t->grads = ck_calloc((size_t)(n ? n : 1), sizeof *t->grads);
    if (!t->vars || !t->var_values || !t->grads) return ck_oom("the trainable variables");
    for (int i = 0; i < n; i++) {
        ck_weight *w = ck_layer_trainable_weight(L, i);
        t->vars[i] = w;
        t->var_values[i] = w->value;
        CK_TRY(ck_tensor_new(&t->grads[i], w->value->dtype, w->value->rank, w->value->shape));
        t->n_vars = i + 1;
        w->grad = t->grads[i];
    }
    return CK_OK;
}

/* A loss spec (string or object) to a loss, or NULL for JSON null. */
static ck_status loss_from(const json_t *spec, ck_loss **out)
{
    *out = NULL;
    if (!spec || json_is_null(spec)) return CK_OK;
    return ck_loss_from_json(spec, out);
}

/* Reads the per-output losses from Keras' forms: one loss for all, a list
 * in output order, or a dict keyed by output layer name. */
static ck_status losses_from(const ck_model *m, const json_t *spec, ck_loss **losses)
{
    int n = m->n_outputs;
    if (json_is_array(spec)) {
        if ((int)json_array_size(spec) != n)
            return ck_error(CK_VALUE_ERROR, "When passing a list as loss, it should have one entry per model "
                            "outputs. The model has %d outputs, but you passed loss=%d entries", n,
                            (int)json_array_size(spec));
        for (int o = 0; o < n; o++) CK_TRY(loss_from(json_array_get(spec, (size_t)o), &losses[o]));
        return CK_OK;
    }
    if (json_is_object(spec) && !json_object_get(spec, "class_name")) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)spec, key, v) {
            int found = 0;
            for (int o = 0; o < n; o++) {
                const ck_keras_history *h = ck_tensor_history(m->outputs[o]);
                if (h && strcmp(h->layer->name, key) == 0) found = 1;
            }
            if (!found)
                return ck_error(CK_VALUE_ERROR, "Unknown entry in loss dictionary: \"%s\". Only expected the "
                                "following keys: the output layer names of model \"%s\"", key, m->base.name);
        }
        for (int o = 0; o < n; o++) {
            const ck_keras_history *h = ck_tensor_history(m->outputs[o]);
            CK_TRY(loss_from(h ? json_object_get(spec, h->layer->name) : NULL, &losses[o]));
        }
        return CK_OK;
    }
    for (int o = 0; o < n; o++) CK_TRY(loss_from(spec, &losses[o]));
    return CK_OK;
}

static ck_status weights_from(const ck_model *m, const json_t *spec, double *w)
{
    for (int o = 0; o < m->n_outputs; o++) w[o] = 1.0;
    if (!spec || json_is_null(spec)) return CK_OK;
    if (json_is_array(spec)) {
        if ((int)json_array_size(spec) != m->n_outputs)
            return ck_error(CK_VALUE_ERROR, "When passing a list as loss_weights, it should have one entry per "
                            "model output. The model has %d outputs, but you passed loss_weights=%d entries",
                            m->n_outputs, (int)json_array_size(spec));
        for (int o = 0; o < m->n_outputs; o++) {
            const json_t *v = json_array_get(spec, (size_t)o);
            if (!json_is_number(v)) return ck_error(CK_TYPE_ERROR, "loss_weights must be numbers");
            w[o] = json_number_value(v);
        }
        return CK_OK;
    }
    if (json_is_object(spec)) {
        for (int o = 0; o < m->n_outputs; o++) {
            const ck_keras_history *h = ck_tensor_history(m->outputs[o]);
            const json_t *v = h ? json_object_get(spec, h->layer->name) : NULL;
            if (v && !json_is_number(v)) return ck_error(CK_TYPE_ERROR, "loss_weights must be numbers");
            if (v) w[o] = json_number_value(v);
        }
        return CK_OK;
    }
    if (json_is_number(spec)) {
        for (int o = 0; o < m->n_outputs; o++) w[o] = json_number_value(spec);
        return CK_OK;
    }
    return ck_error(CK_TYPE_ERROR, "loss_weights must be a list, a dict or a number");
}

/* The metric specs for every output: a list (the same for all outputs), or
 * a dict keyed by output name (Keras' per-output form: the first list seen
 * is used for all outputs here). */
static const json_t *metric_list(const json_t *spec)
{
    if (json_is_object(spec) && !json_object_get(spec, "class_name")) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)spec, key, v) return v;
        return NULL;
    }
    return spec;
}

/* tf.keras 2.x training_config writes metrics as MeanMetricWrapper
 * configs {"name": "accuracy", "fn": "categorical_accuracy"}: the name is
 * what the user gave (and what the logs show), so read it as that name. */
static ck_status metric_from_spec(const json_t *spec, const char *output_name, ck_metric **out)
{
    const json_t *cls = json_object_get(spec, "class_name");
    if (json_is_string(cls) && strcmp(json_string_value(cls), "MeanMetricWrapper") == 0) {
        const json_t *cfg = json_object_get(spec, "config");
        const json_t *name = json_object_get(cfg, "name"), *fn = json_object_get(cfg, "fn");
        const char *nm = json_is_string(name) ? json_string_value(name) : "";
        /* Several outputs: Keras saves "cls_accuracy" for output "cls". */
        size_t on = strlen(output_name);
        if (on && strncmp(nm, output_name, on) == 0 && nm[on] == '_') nm += on + 1;
        /* An "accuracy" the user named is resolved on the first batch (the
         * fn a file holds may have been resolved without targets). */
        if (strcmp(nm, "accuracy") == 0 || strcmp(nm, "acc") == 0) {
            json_t *plain = json_string(nm);
            ck_status st = plain ? ck_metric_from_json(plain, out) : ck_oom("compile");
            json_decref(plain);
            return st;
        }
        if (json_is_string(fn) && json_is_string(name)) {
            /* The wrapper itself first, so that saving writes back what
             * tf.keras wrote (it keeps a MeanMetricWrapper). */
            json_t *w = json_deep_copy(spec);
            if (!w || json_object_set_new(json_object_get(w, "config"), "name", json_string(nm))) {
                json_decref(w);
                return ck_oom("compile");
            }
            ck_status ws = ck_metric_from_json(w, out);
            json_decref(w);
            if (ws == CK_OK) return CK_OK;
            ck_clear_error();
            /* The function Keras resolved, as its class, under the name
             * the user gave: sparse_categorical_accuracy ->
             * {"class_name": "SparseCategoricalAccuracy", "config":
             * {"name": "accuracy"}}. */
            char camel[128];
            size_t n = 0;
            int up = 1;
            for (const char *p = json_string_value(fn); *p && n + 1 < sizeof camel; p++) {
                if (*p == '_') {
                    up = 1;
                    continue;
                }
                camel[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
                up = 0;
            }
            camel[n] = 0;
            json_t *c = json_pack("{s:s, s:{s:s}}", "class_name", camel, "config", "name", nm);
            if (!c) return ck_oom("compile");
            ck_status st = ck_metric_from_json(c, out);
            json_decref(c);
            if (st == CK_OK) return CK_OK;
            ck_clear_error();
        }
        if (json_is_string(name) && ck_metric_from_json(name, out) == CK_OK) return CK_OK;
        if (json_is_string(fn)) return ck_metric_from_json(fn, out);
    }
    return ck_metric_from_json(spec, out);
}

/* "Custom>Adam": how tf.keras 2.11+ names its new optimizers in
 * training_config; the class is the plain name. */
static ck_status optimizer_from_spec(const json_t *spec, ck_optimizer **out)
{
    const json_t *cls = json_object_get(spec, "class_name");
    if (json_is_string(cls) && strncmp(json_string_value(cls), "Custom>", 7) == 0) {
        json_t *copy = json_deep_copy(spec);
        if (!copy || json_object_set_new(copy, "class_name", json_string(json_string_value(cls) + 7))) {
            json_decref(copy);
            return ck_oom("compile");
        }
        ck_status st = ck_optimizer_from_json(copy, out);
        json_decref(copy);
        return st;
    }
    return ck_optimizer_from_json(spec, out);
}

/* Builds the whole trainer from parsed specs, then swaps it in. */
static ck_status compile_from(ck_model *m, const json_t *optimizer, const json_t *loss, const json_t *metrics,
                              const json_t *loss_weights)
{
    unsigned long before = ck_alloc_failures(); /* jansson hides some failures */
    int n = m->n_outputs;
    if (!ck_layer_can_train(&m->base)) {
        for (int i = 0; i < m->n_layers; i++)
            if (!ck_layer_can_train(m->layers[i]))
                return ck_error(CK_NOT_IMPLEMENTED, "model \"%s\" cannot be trained yet: layer \"%s\" (%s) has no "
                                "backward pass", m->base.name, m->layers[i]->name, m->layers[i]->cls->class_name);
    }
    ck_trainer *t = ck_calloc(1, sizeof *t);
    if (!t) return ck_oom("compile");
    ck_status st = CK_OK;
    t->n_outputs = n;
    t->losses = ck_calloc((size_t)n, sizeof *t->losses);
    t->loss_weights = ck_calloc((size_t)n, sizeof *t->loss_weights);
    t->dy = ck_calloc((size_t)n, sizeof *t->dy);
    t->out_loss_sum = ck_calloc((size_t)n, sizeof *t->out_loss_sum);
    if (!t->losses || !t->loss_weights || !t->dy || !t->out_loss_sum) st = ck_oom("compile");
    if (st == CK_OK) {
        json_t *rms = json_string("rmsprop");
        st = rms ? optimizer_from_spec(optimizer && !json_is_null(optimizer) ? optimizer : rms, &t->optimizer)
                 : ck_oom("compile");
        json_decref(rms);
    }
    if (st == CK_OK) st = losses_from(m, loss, t->losses);
    if (st == CK_OK) {
        int any = 0;
        for (int o = 0; o < n; o++) any |= t->losses[o] != NULL;
        if (!any) st = ck_error(CK_VALUE_ERROR, "No loss to compute. Provide a `loss` argument in `compile()` "
                                "(model \"%s\")", m->base.name);
    }
    if (st == CK_OK) st = weights_from(m, loss_weights, t->loss_weights);
    const json_t *mlist = metric_list(metrics);
    int per_output = json_is_array(mlist) && json_array_size(mlist) > 0 && json_is_array(json_array_get(mlist, 0));
    if (st == CK_OK && mlist && !json_is_null(mlist)) {
        t->n_metrics = json_is_array(mlist) ? (int)json_array_size(mlist) : 1;
        if (per_output) {
            t->n_metrics = 0;
            for (size_t i = 0; i < json_array_size(mlist); i++) {
                int k = (int)json_array_size(json_array_get(mlist, i));
                if (k > t->n_metrics) t->n_metrics = k;
            }
        }
        if (t->n_metrics > CK_MAX_METRICS) st = ck_error(CK_VALUE_ERROR, "compile: at most %d metrics", CK_MAX_METRICS);
        if (st == CK_OK) {
            t->metrics = ck_calloc((size_t)(n * t->n_metrics + 1), sizeof *t->metrics);
            if (!t->metrics) st = ck_oom("compile");
        }
        for (int o = 0; st == CK_OK && o < n; o++)
            for (int k = 0; st == CK_OK && k < t->n_metrics; k++) {
                const json_t *spec = json_is_array(mlist) ? json_array_get(mlist, (size_t)k) : mlist;
                /* Keras' per-output form: a list of lists. */
                if (per_output) {
                    const json_t *mine = json_array_get(mlist, (size_t)o);
                    spec = json_is_array(mine) ? json_array_get(mine, (size_t)k) : NULL;
                }
                ck_metric **slot = &t->metrics[o * t->n_metrics + k];
                if (!spec) continue;
                const ck_keras_history *oh = ck_tensor_history(m->outputs[o]);
                st = metric_from_spec(spec, n > 1 && oh ? oh->layer->name : "", slot);
                /* "accuracy" stays unresolved until the first batch, where
                 * Keras picks binary / sparse / categorical from the shapes
                 * of the targets it is given. */
            }
    }
    if (st == CK_OK) {
        t->loss_json = json_deep_copy(loss);
        t->metrics_json = metrics ? json_deep_copy(metrics) : json_null();
        t->loss_weights_json = loss_weights ? json_deep_copy(loss_weights) : json_null();
        if (!t->loss_json || !t->metrics_json || !t->loss_weights_json) st = ck_oom("compile");
    }
    if (st == CK_OK) {
        uint64_t seed = 0;
        ck_rng global;
        ck_rng_for_call(&global, 0, 0);
        seed = ck_rng_next(&global);
        ck_rng_seed(&t->rng, seed);
    }
    if (st == CK_OK) st = ck_trainer_collect_vars(m, t);
    st = ck_alloc_verdict(before, st, "compile");
    if (st != CK_OK) {
        for (int i = 0; i < t->n_vars; i++) t->vars[i]->grad = NULL;
        trainer_free(t);
        return st;
    }
    /* collect_vars already pointed the weights at the new gradients. */
    if (m->trainer_free) m->trainer_free(m->trainer);
    m->trainer = t;
    m->trainer_free = trainer_free;
    return CK_OK;
}

/* A Keras name or JSON text to a JSON value (a string stays a string). */
static ck_status spec_json(const char *text, json_t **out)
{
    *out = NULL;
    if (!text) return CK_OK;
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    if (*p == '{' || *p == '[' || *p == '"') {
        json_error_t err;
        *out = json_loads(text, JSON_DECODE_ANY, &err);
        if (!*out) return ck_error(CK_FORMAT_ERROR, "not valid JSON: %s (line %d)", err.text, err.line);
        return CK_OK;
    }
    *out = json_string(text);
    return *out ? CK_OK : ck_oom("compile");
}

ck_status ck_model_compile(ck_model *m, const ck_compile_opts *o)
{
    CK_NEED(m);
    if (!m || !o) return ck_error(CK_VALUE_ERROR, "compile: model and options are required");
    unsigned long before = ck_alloc_failures();
    json_t *opt = NULL, *loss = NULL, *metrics = NULL, *weights = NULL;
    ck_status st = spec_json(o->optimizer, &opt);
    if (st == CK_OK && o->loss) st = spec_json(o->loss, &loss);
    else if (st == CK_OK && o->losses) {
        loss = json_array();
        if (!loss) st = ck_oom("compile");
        for (int i = 0; st == CK_OK && i < m->n_outputs; i++) {
            json_t *one = NULL;
            st = o->losses[i] ? spec_json(o->losses[i], &one) : CK_OK;
            if (st == CK_OK && json_array_append_new(loss, one ? one : json_null())) st = ck_oom("compile");
        }
    } else if (st == CK_OK) loss = json_null();
    if (st == CK_OK && o->n_metrics > 0) {
        metrics = json_array();
        if (!metrics) st = ck_oom("compile");
        for (int i = 0; st == CK_OK && i < o->n_metrics; i++) {
            json_t *one = NULL;
            st = spec_json(o->metrics[i], &one);
            if (st == CK_OK && (!one || json_array_append_new(metrics, one))) st = ck_oom("compile");
        }
    }
    if (st == CK_OK && o->loss_weights) {
        weights = json_array();
        if (!weights) st = ck_oom("compile");
        for (int i = 0; st == CK_OK && i < m->n_outputs; i++)
            if (json_array_append_new(weights, json_real(o->loss_weights[i]))) st = ck_oom("compile");
    }
    /* a builder whose failure went unnoticed gives a wrong config */
    if (st == CK_OK) st = ck_alloc_verdict(before, st, "compile");
    if (st == CK_OK) st = compile_from(m, opt, loss, metrics, weights);
    json_decref(opt);
    json_decref(loss);
    json_decref(metrics);
    json_decref(weights);
    return ck_alloc_verdict(before, st, "compile");
}

ck_status ck_model_compile_json(ck_model *m, const char *text)
{
    CK_NEED(m);
    CK_NEED(text);
    if (!m || !text) return ck_error(CK_VALUE_ERROR, "compile: model and config are required");
    json_t *c = NULL;
    CK_TRY(ck_json_parse(text, strlen(text), "training config is not valid JSON", &c));
    if (!json_is_object(c)) {
        json_decref(c);
        return ck_error(CK_FORMAT_ERROR, "training config must be a JSON object");
    }
    /* .h5 training_config: optimizer_config; .keras compile_config:
     * optimizer. */
    const json_t *opt = json_object_get(c, "optimizer_config");
    if (!opt) opt = json_object_get(c, "optimizer");
    const json_t *metrics = json_object_get(c, "metrics");
    const json_t *wm = json_object_get(c, "weighted_metrics");
    if ((!metrics || json_is_null(metrics)) && wm && !json_is_null(wm)) metrics = wm;
    ck_status st = compile_from(m, opt, json_object_get(c, "loss"), metrics, json_object_get(c, "loss_weights"));
    json_decref(c);
    return st;
}

int ck_model_compiled(const ck_model *m) {
    CK_NEED_OR(m, 0);
    return m && m->trainer != NULL;
}

ck_optimizer *ck_model_optimizer(ck_model *m)
{
    CK_NEED_OR(m, NULL);
    return m && m->trainer ? ((ck_trainer *)m->trainer)->optimizer : NULL;
}
