/* Optimizer configs: reading tf.keras 2.11+ configs (and legacy Keras 1/2,
 * TF 2.x legacy-optimizer and Keras 3 ones) into an optimizer, and writing
 * the config tf.keras 2.15 writes. */
#include <math.h>
#include <string.h>

#include "core/json.h"
#include "params/params.h"
#include "train/optimizers/opt_impl.h"

/* Common keys written back as given (else their default). */
static const char *const kept_keys[] = {"weight_decay", "clipnorm", "global_clipnorm", "clipvalue",
                                        "ema_momentum", "ema_overwrite_frequency", NULL};
/* Other keys read (and then dropped, or handled by hand). */
static const char *const other_keys[] = {
    "name", "use_ema", "jit_compile", "is_legacy_optimizer", "learning_rate", "lr", "decay",
    "loss_scale_factor", "gradient_accumulation_steps", "gradient_aggregator",
    "gradient_transformers", "schedule_decay", "mesh", NULL};

static int in_list(const char *k, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(k, *list) == 0) return 1;
    return 0;
}

static int hyper_index(const opt_class *cls, const char *key)
{
    for (int i = 0; i < cls->n_hyper; i++)
        if (strcmp(cls->hyper[i].key, key) == 0) return i;
    return -1;
}

/* Reads a number (booleans count as 0/1, as in Python); null or absent keeps
 * *v.  Anything else: CK_TYPE_ERROR. */
static ck_status read_num(const json_t *cfg, const char *cls, const char *key, double *v, int *given)
{
    const json_t *j = cfg ? json_object_get(cfg, key) : NULL;
    if (given) *given = 0;
    if (!j || json_is_null(j)) return CK_OK;
    if (json_is_number(j)) *v = json_number_value(j);
    else if (json_is_boolean(j)) *v = json_is_true(j);
    else
        return ck_error(CK_TYPE_ERROR, "%s: '%s' must be a number, got %s", cls, key,
                        json_is_string(j) ? json_string_value(j) : "a non-number");
    if (given) *given = 1;
    return CK_OK;
}

static ck_status not_null_unsupported(const json_t *cfg, const char *cls, const char *key)
{
    const json_t *j = json_object_get(cfg, key);
    if (j && !json_is_null(j) && !json_is_false(j))
        return ck_error(CK_NOT_IMPLEMENTED, "%s: '%s' is not supported by ckeras", cls, key);
    return CK_OK;
}

/* Everything but the learning rate and the name. */
static ck_status read_options(ck_optimizer *o, const json_t *cfg)
{
    const opt_class *c = o->cls;
    const char *cls = c->name;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        if (hyper_index(c, key) >= 0 || in_list(key, kept_keys) || in_list(key, other_keys))
            continue;
        return ck_error(CK_TYPE_ERROR, "%s is not a valid argument, kwargs should be empty for "
                        "`optimizer_experimental.Optimizer` (%s).", key, cls);
    }
    static const char *const unsupported[] = {"use_ema", "loss_scale_factor",
                                              "gradient_accumulation_steps",
                                              "gradient_aggregator", "gradient_transformers",
                                              "mesh", NULL};
    for (int i = 0; unsupported[i]; i++) CK_TRY(not_null_unsupported(cfg, cls, unsupported[i]));

    int given;
    CK_TRY(read_num(cfg, cls, "clipnorm", &o->clipnorm, NULL));
    CK_TRY(read_num(cfg, cls, "global_clipnorm", &o->global_clipnorm, NULL));
    CK_TRY(read_num(cfg, cls, "clipvalue", &o->clipvalue, NULL));
    if (!json_is_null(json_object_get(cfg, "clipnorm")) && json_object_get(cfg, "clipnorm") &&
        !json_is_null(json_object_get(cfg, "global_clipnorm")) &&
        json_object_get(cfg, "global_clipnorm"))
        return ck_error(CK_VALUE_ERROR, "At most one of `clipnorm` and `global_clipnorm` can be "
                        "set. Received: clipnorm=%g, global_clipnorm=%g.", o->clipnorm,
                        o->global_clipnorm);
    double ema = 0.99, freq = 0;
    CK_TRY(read_num(cfg, cls, "ema_momentum", &ema, NULL));
    CK_TRY(read_num(cfg, cls, "ema_overwrite_frequency", &freq, NULL));
    CK_TRY(read_num(cfg, cls, "weight_decay", &o->weight_decay, &given));
    o->has_weight_decay = given;
    if (c->kind == OPT_ADAMW) {
        const json_t *wd = json_object_get(cfg, "weight_decay");
        if (wd && json_is_null(wd))
            return ck_error(CK_VALUE_ERROR, "Missing value of `weight_decay` which is required "
                            "and must be a float value.");
        if (!given) {
            o->weight_decay = 0.004;
            o->has_weight_decay = 1;
        }
    }

    for (int i = 0; i < c->n_hyper; i++) {
        o->h[i] = c->hyper[i].def;
        CK_TRY(read_num(cfg, cls, c->hyper[i].key, &o->h[i], NULL));
    }
    if (c->kind == OPT_SGD && (o->h[H_SGD_MOMENTUM] < 0 || o->h[H_SGD_MOMENTUM] > 1))
        return ck_error(CK_VALUE_ERROR, "`momentum` must be between [0, 1].");
    if (c->kind == OPT_FTRL) {
        static const struct {
            int h;
            const char *what;
        } checks[] = {{H_FTRL_INIT, "initial_accumulator_value"},
                      {H_FTRL_L1, "l1_regularization_strength"},
                      {H_FTRL_L2, "l2_regularization_strength"},
                      {H_FTRL_SHRINK, "l2_shrinkage_regularization_strength"}};
        for (int i = 0; i < 4; i++)
            if (o->h[checks[i].h] < 0)
                return ck_error(CK_VALUE_ERROR, "`%s` needs to be positive or zero. Received: "
                                "%s=%g.", checks[i].what, checks[i].what, o->h[checks[i].h]);
        if (o->h[H_FTRL_POWER] > 0)
            return ck_error(CK_VALUE_ERROR, "`learning_rate_power` needs to be negative or zero. "
                            "Received: learning_rate_power=%g.", o->h[H_FTRL_POWER]);
    }

    /* Slots this configuration creates. */
    for (int s = 0; s < OPT_MAX_SLOTS; s++) o->slot_present[s] = c->slots[s].name != NULL;
    if (c->kind == OPT_ADAM || c->kind == OPT_ADAMW) o->slot_present[2] = o->h[H_ADAM_AMSGRAD] != 0;
    if (c->kind == OPT_RMSPROP) {
        o->slot_present[1] = o->h[H_RMS_MOMENTUM] > 0;
        o->slot_present[2] = o->h[H_RMS_CENTERED] != 0;
    }

    /* Values written back as given. */
    json_object_foreach((json_t *)cfg, key, v) {
        int hi = hyper_index(c, key);
        if (hi >= 0 ? json_is_null(v) : !in_list(key, kept_keys)) continue;
        json_t *copy = json_deep_copy(v);
        if (!copy || json_object_set_new(o->given, key, copy) != 0) return ck_oom("an optimizer");
    }
    return CK_OK;
}

static ck_status read_learning_rate(ck_optimizer *o, const json_t *cfg)
{
    const char *cls = o->cls->name;
    const json_t *lr = cfg ? json_object_get(cfg, "learning_rate") : NULL;
    if (!lr || json_is_null(lr)) lr = cfg ? json_object_get(cfg, "lr") : NULL;
    double decay = 0;
    CK_TRY(read_num(cfg, cls, "decay", &decay, NULL));
    if (decay < 0 || isnan(decay))
        return ck_error(CK_VALUE_ERROR, "decay cannot be less than 0. Received: decay=%g.", decay);
    o->lr = (float)o->cls->default_lr;
    if (json_is_object(lr)) {
        if (decay > 0)
            return ck_error(CK_NOT_IMPLEMENTED, "%s: a legacy `decay` together with a learning "
                            "rate schedule is not supported", cls);
        return ck_lr_schedule_from_json(lr, &o->schedule);
    }
    double v = o->cls->default_lr;
    if (lr && !json_is_null(lr)) {
        if (!json_is_number(lr))
            return ck_error(CK_TYPE_ERROR, "%s: learning_rate must be a float or a "
                            "LearningRateSchedule", cls);
        v = json_number_value(lr);
    }
    o->lr = (float)v;
    if (decay > 0) {
        /* The legacy optimizers' lr / (1 + decay * iterations). */
        json_t *init = json_real((double)o->lr);
        if (!init) return ck_oom("an optimizer");
        ck_status st = ck_lr_schedule_inverse_time(init, decay, &o->schedule);
        json_decref(init);
        return st;
    }
    return CK_OK;
}

void ck_optimizer_free(ck_optimizer *o)
{
    if (!o) return;
    if (o->slots)
        for (int i = 0; i < o->n_vars * OPT_MAX_SLOTS; i++) ck_tensor_free(o->slots[i]);
    ck_free(o->slots);
    ck_free(o->scratch);
    ck_lr_schedule_free(o->schedule);
    json_decref(o->given);
    ck_free(o->name);
    ck_free(o);
}

ck_status ck_opt_from_json(const json_t *value, ck_optimizer **out)
{
    const char *name = NULL;
    const json_t *cfg = NULL;
    if (json_is_string(value)) {
        name = json_string_value(value);
    } else if (json_is_object(value)) {
        const json_t *cn = json_object_get(value, "class_name");
        if (json_is_string(cn)) {
            name = json_string_value(cn);
            cfg = json_object_get(value, "config");
            if (json_is_null(cfg)) cfg = NULL;
        } else if (!cn && json_is_string(json_object_get(value, "name"))) {
            name = json_string_value(json_object_get(value, "name")); /* Keras 1 */
            cfg = value;
        }
    }
    if (!name)
        return ck_error(CK_VALUE_ERROR, "Could not interpret optimizer identifier: expected a "
                        "name or {\"class_name\": ..., \"config\": {...}}");
    const opt_class *c = ck_opt_class_find(name);
    if (!c)
        return ck_error(CK_VALUE_ERROR, "Unknown optimizer: '%s'. Please ensure you are using a "
                        "`keras.utils.custom_object_scope` and that this object is included in "
                        "the scope.", name);
    if (cfg && !json_is_object(cfg))
        return ck_error(CK_TYPE_ERROR, "%s: config must be a dict", c->name);
    ck_optimizer *o = ck_calloc(1, sizeof *o);
    if (!o) return ck_oom("an optimizer");
    o->cls = c;
    o->given = json_object();
    const json_t *nm = cfg ? json_object_get(cfg, "name") : NULL;
    /* A Keras 1 config's "name" is the class; tf.keras names the optimizer. */
    o->name = ck_strdup(json_is_string(nm) && cfg != value ? json_string_value(nm) : c->name);
    ck_status st = o->given && o->name ? CK_OK : ck_oom("an optimizer");
    json_t *empty = NULL;
    if (st == CK_OK && !cfg) {
        empty = json_object();
        cfg = empty;
        if (!empty) st = ck_oom("an optimizer");
    }
    if (st == CK_OK) st = read_options(o, cfg);
    if (st == CK_OK) st = read_learning_rate(o, cfg);
    json_decref(empty);
    ck_opt_nadam_reset(o);
    if (st != CK_OK) {
        ck_optimizer_free(o);
        return st;
    }
    *out = o;
    return CK_OK;
}

ck_status ck_optimizer_from_json(const json_t *value, ck_optimizer **out)
{
    return ck_opt_from_json(value, out);
}

ck_status ck_optimizer_new(ck_optimizer **out, const char *name_or_json)
{
    CK_NEED(out);
    CK_NEED(name_or_json);
    if (!out || !name_or_json) return ck_error(CK_VALUE_ERROR, "ck_optimizer_new: NULL argument");
    const char *s = name_or_json;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    json_t *j;
    if (*s == '{' || *s == '"') {
        CK_TRY(ck_json_parse(name_or_json, strlen(name_or_json), "malformed optimizer config JSON",
                             &j));
    } else {
        j = json_string(name_or_json);
        if (!j) return ck_oom("an optimizer name");
    }
    ck_optimizer *o = NULL;
    ck_status st = ck_opt_from_json(j, &o);
    json_decref(j);
    if (st == CK_OK) *out = o;
    return st;
}

/* Adds key -> value (stolen); nonzero on OOM. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return !value || json_object_set_new(obj, key, value) != 0;
}

static json_t *given_or(const ck_optimizer *o, const char *key, json_t *def)
{
    const json_t *g = json_object_get(o->given, key);
    if (!g) return def;
    json_decref(def);
    return json_deep_copy(g);
}

json_t *ck_optimizer_to_json(const ck_optimizer *o)
{
    const opt_class *c = o->cls;
    json_t *cfg = json_object();
    if (!cfg) return NULL;
    int bad = put(cfg, "name", json_string(o->name));
    bad |= put(cfg, "weight_decay", given_or(o, "weight_decay", c->kind == OPT_ADAMW
                                                                   ? json_real(0.004)
                                                                   : json_null()));
    bad |= put(cfg, "clipnorm", given_or(o, "clipnorm", json_null()));
    bad |= put(cfg, "global_clipnorm", given_or(o, "global_clipnorm", json_null()));
    bad |= put(cfg, "clipvalue", given_or(o, "clipvalue", json_null()));
    bad |= put(cfg, "use_ema", json_false());
    bad |= put(cfg, "ema_momentum", given_or(o, "ema_momentum", json_real(0.99)));
    bad |= put(cfg, "ema_overwrite_frequency",
               given_or(o, "ema_overwrite_frequency",
                        c->kind == OPT_RMSPROP ? json_integer(100) : json_null()));
    /* tf.keras turns jit_compile off where XLA cannot run (as on CPU). */
    bad |= put(cfg, "jit_compile", json_false());
    bad |= put(cfg, "is_legacy_optimizer", json_false());
    bad |= put(cfg, "learning_rate", o->schedule ? ck_lr_schedule_to_json(o->schedule)
                                                 : json_real((double)o->lr));
    for (int i = 0; i < c->n_hyper; i++) {
        const opt_hyper_def *h = &c->hyper[i];
        json_t *def = h->type == HYP_BOOL ? json_false() : json_real(h->def);
        bad |= put(cfg, h->key, given_or(o, h->key, def));
    }
    json_t *wrap = json_object();
    if (bad || !wrap || put(wrap, "class_name", json_string(c->name))) {
        json_decref(cfg);
        json_decref(wrap);
        return NULL;
    }
    if (put(wrap, "config", cfg)) {
        json_decref(wrap);
        return NULL;
    }
    return wrap;
}

ck_status ck_optimizer_get_config(const ck_optimizer *opt, char **out)
{
    CK_NEED(opt);
    CK_NEED(out);
    json_t *j = ck_optimizer_to_json(opt);
    char *s = j ? ck_json_dumps_python(j) : NULL;
    json_decref(j);
    if (!s) return ck_oom("an optimizer config");
    *out = s;
    return CK_OK;
}
