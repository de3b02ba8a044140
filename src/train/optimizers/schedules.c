/* Learning-rate schedules (tf.keras.optimizers.schedules): configs <-> C
 * objects, and their values computed in float32 as tf.keras 2.15 does. */
#include <math.h>
#include <string.h>

#include "params/params.h"
#include "train/optimizers/opt_impl.h"

/* tf.constant(math.pi, float32) */
#define PI_F32 3.14159265358979323846f

typedef enum sched_kind { S_EXP, S_PIECEWISE, S_INVTIME, S_POLY, S_COSINE } sched_kind;

/* Config keys in the order tf.keras 2.15 writes them; `req` marks the
 * required arguments; `def` is the default as JSON text. */
typedef struct sched_key {
    const char *key;
    int req;
    const char *def;
} sched_key;

static const struct {
    const char *name;
    sched_key keys[6];
} sched_classes[] = {
    [S_EXP] = {"ExponentialDecay",
               {{"initial_learning_rate", 1, NULL}, {"decay_steps", 1, NULL},
                {"decay_rate", 1, NULL}, {"staircase", 0, "false"}, {"name", 0, "null"}}},
    [S_PIECEWISE] = {"PiecewiseConstantDecay",
                     {{"boundaries", 1, NULL}, {"values", 1, NULL}, {"name", 0, "null"}}},
    [S_INVTIME] = {"InverseTimeDecay",
                   {{"initial_learning_rate", 1, NULL}, {"decay_steps", 1, NULL},
                    {"decay_rate", 1, NULL}, {"staircase", 0, "false"}, {"name", 0, "null"}}},
    [S_POLY] = {"PolynomialDecay",
                {{"initial_learning_rate", 1, NULL}, {"decay_steps", 1, NULL},
                 {"end_learning_rate", 0, "0.0001"}, {"power", 0, "1.0"},
                 {"cycle", 0, "false"}, {"name", 0, "null"}}},
    [S_COSINE] = {"CosineDecay",
                  {{"initial_learning_rate", 1, NULL}, {"decay_steps", 1, NULL},
                   {"alpha", 0, "0.0"}, {"name", 0, "null"}, {"warmup_target", 0, "null"},
                   {"warmup_steps", 0, "0"}}},
};
#define N_SCHED ((int)(sizeof sched_classes / sizeof sched_classes[0]))

struct ck_lr_schedule {
    sched_kind kind;
    json_t *config;        /* the config in tf.keras' key order (owned) */
    double initial, decay_steps, decay_rate, end_lr, power, alpha;
    double warmup_target, warmup_steps;
    int staircase, cycle, has_warmup_target;
    int n_values;
    int64_t *boundaries;   /* n_values - 1 */
    float *values;         /* n_values     */
};

void ck_lr_schedule_free(ck_lr_schedule *s)
{
    if (!s) return;
    json_decref(s->config);
    ck_free(s->boundaries);
    ck_free(s->values);
    ck_free(s);
}

static ck_status number(const ck_lr_schedule *s, const char *key, double *v)
{
    const json_t *j = json_object_get(s->config, key);
    if (json_is_number(j)) *v = json_number_value(j);
    else if (json_is_boolean(j)) *v = json_is_true(j);
    else if (!json_is_null(j))
        return ck_error(CK_TYPE_ERROR, "%s: '%s' must be a number", sched_classes[s->kind].name,
                        key);
    return CK_OK;
}

static ck_status flag(const ck_lr_schedule *s, const char *key, int *v)
{
    const json_t *j = json_object_get(s->config, key);
    if (json_is_boolean(j)) *v = json_is_true(j);
    else if (json_is_number(j)) *v = json_number_value(j) != 0;
    else if (!json_is_null(j))
        return ck_error(CK_TYPE_ERROR, "%s: '%s' must be a boolean",
                        sched_classes[s->kind].name, key);
    return CK_OK;
}

static ck_status read_piecewise(ck_lr_schedule *s)
{
    const json_t *b = json_object_get(s->config, "boundaries");
    const json_t *v = json_object_get(s->config, "values");
    if (!json_is_array(b) || !json_is_array(v))
        return ck_error(CK_TYPE_ERROR, "PiecewiseConstantDecay: 'boundaries' and 'values' must "
                        "be lists");
    size_t nb = json_array_size(b), nv = json_array_size(v);
    if (nb + 1 != nv)
        return ck_error(CK_VALUE_ERROR, "The length of boundaries should be 1 less than the "
                        "length of values");
    if (nv > 1000000) return ck_error(CK_VALUE_ERROR, "PiecewiseConstantDecay: too many values");
    s->n_values = (int)nv;
    s->values = ck_malloc(nv * sizeof *s->values);
    s->boundaries = ck_malloc((nb ? nb : 1) * sizeof *s->boundaries);
    if (!s->values || !s->boundaries) return ck_oom("a PiecewiseConstantDecay schedule");
    for (size_t i = 0; i < nv; i++) {
        const json_t *x = json_array_get(v, i);
        if (!json_is_number(x))
            return ck_error(CK_TYPE_ERROR, "PiecewiseConstantDecay: values must be numbers");
        s->values[i] = (float)json_number_value(x);
    }
    for (size_t i = 0; i < nb; i++) {
        const json_t *x = json_array_get(b, i);
        if (!json_is_number(x))
            return ck_error(CK_TYPE_ERROR, "PiecewiseConstantDecay: boundaries must be numbers");
        /* A float boundary becomes a float32 tensor cast to the step's int64. */
        if (json_is_integer(x)) s->boundaries[i] = json_integer_value(x);
        else {
            float f = (float)json_real_value(x);
            if (!(fabsf(f) < 9.2e18f))
                return ck_error(CK_VALUE_ERROR, "PiecewiseConstantDecay: bad boundary");
            s->boundaries[i] = (int64_t)f;
        }
    }
    return CK_OK;
}

static ck_status read_fields(ck_lr_schedule *s)
{
    switch (s->kind) {
    case S_PIECEWISE: return read_piecewise(s);
    case S_EXP:
    case S_INVTIME:
        CK_TRY(number(s, "decay_rate", &s->decay_rate));
        CK_TRY(flag(s, "staircase", &s->staircase));
        break;
    case S_POLY:
        CK_TRY(number(s, "end_learning_rate", &s->end_lr));
        CK_TRY(number(s, "power", &s->power));
        CK_TRY(flag(s, "cycle", &s->cycle));
        break;
    case S_COSINE:
        CK_TRY(number(s, "alpha", &s->alpha));
        CK_TRY(number(s, "warmup_steps", &s->warmup_steps));
        s->has_warmup_target = !json_is_null(json_object_get(s->config, "warmup_target"));
        CK_TRY(number(s, "warmup_target", &s->warmup_target));
        break;
    }
    CK_TRY(number(s, "initial_learning_rate", &s->initial));
    CK_TRY(number(s, "decay_steps", &s->decay_steps));
    return CK_OK;
}

/* Builds the ordered config from `cfg` (an object) for class k. */
static ck_status make(int k, const json_t *cfg, ck_lr_schedule **out)
{
    const char *cls = sched_classes[k].name;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)cfg, key, value) {
        int known = 0;
        for (int i = 0; i < 6 && sched_classes[k].keys[i].key; i++)
            known |= strcmp(key, sched_classes[k].keys[i].key) == 0;
        if (!known)
            return ck_error(CK_TYPE_ERROR, "%s.__init__() got an unexpected keyword argument '%s'",
                            cls, key);
    }
    ck_lr_schedule *s = ck_calloc(1, sizeof *s);
    if (!s) return ck_oom("a learning-rate schedule");
    s->kind = (sched_kind)k;
    s->power = 1.0;
    s->end_lr = 0.0001;
    s->config = json_object();
    ck_status st = s->config ? CK_OK : ck_oom("a schedule config");
    for (int i = 0; st == CK_OK && i < 6 && sched_classes[k].keys[i].key; i++) {
        const sched_key *sk = &sched_classes[k].keys[i];
        const json_t *given = json_object_get(cfg, sk->key);
        json_t *v;
        if (!given && sk->req) {
            st = ck_error(CK_TYPE_ERROR, "%s.__init__() missing 1 required positional argument: "
                          "'%s'", cls, sk->key);
            break;
        }
        v = given ? json_deep_copy(given) : json_loads(sk->def, JSON_DECODE_ANY, NULL);
        if (!v || json_object_set_new(s->config, sk->key, v) != 0) st = ck_oom("a schedule config");
    }
    if (st == CK_OK) st = read_fields(s);
    if (st == CK_OK && s->kind != S_PIECEWISE && s->decay_steps == 0 && s->kind != S_COSINE)
        st = ck_error(CK_VALUE_ERROR, "%s: decay_steps must not be 0", cls);
    if (st != CK_OK) {
        ck_lr_schedule_free(s);
        return st;
    }
    *out = s;
    return CK_OK;
}

ck_status ck_lr_schedule_from_json(const json_t *j, ck_lr_schedule **out)
{
    const json_t *cls = json_object_get(j, "class_name");
    if (!json_is_string(cls))
        return ck_error(CK_VALUE_ERROR, "Could not interpret learning rate schedule: %s",
                        "expected {\"class_name\": ..., \"config\": {...}}");
    const char *name = json_string_value(cls);
    if (strncmp(name, "Custom>", 7) == 0) name += 7;
    int k = 0;
    while (k < N_SCHED && strcmp(name, sched_classes[k].name) != 0) k++;
    if (k == N_SCHED)
        return ck_error(CK_VALUE_ERROR, "Unknown learning rate schedule: '%s'. Please ensure "
                        "you are using a `keras.utils.custom_object_scope` and that this object "
                        "is included in the scope.", name);
    const json_t *cfg = json_object_get(j, "config");
    if (!json_is_object(cfg))
        return ck_error(CK_TYPE_ERROR, "%s: config must be a dict", name);
    return make(k, cfg, out);
}

ck_status ck_lr_schedule_inverse_time(const json_t *lr, double decay, ck_lr_schedule **out)
{
    json_t *cfg = json_pack("{sOsisf}", "initial_learning_rate", (json_t *)lr, "decay_steps", 1,
                            "decay_rate", decay);
    if (!cfg) return ck_oom("a schedule config");
    ck_status st = make(S_INVTIME, cfg, out);
    json_decref(cfg);
    return st;
}

float ck_lr_schedule_eval(const ck_lr_schedule *s, int64_t step)
{
    const float init = (float)s->initial, x = (float)step;
    switch (s->kind) {
    case S_EXP: {
        float p = x / (float)s->decay_steps;
        if (s->staircase) p = floorf(p);
        return init * powf((float)s->decay_rate, p);
    }
    case S_INVTIME: {
        float p = x / (float)s->decay_steps;
        if (s->staircase) p = floorf(p);
        return init / (1.0f + (float)s->decay_rate * p);
    }
    case S_PIECEWISE: {
        int nb = s->n_values - 1;
        if (nb == 0 || step <= s->boundaries[0]) return s->values[0];
        for (int i = 1; i < nb; i++)
            if (step > s->boundaries[i - 1] && step <= s->boundaries[i]) return s->values[i];
        return s->values[nb];
    }
    case S_POLY: {
        float ds = (float)s->decay_steps;
        float gs = x;
        if (s->cycle) {
            float mult = gs == 0 ? 1.0f : ceilf(gs / (float)s->decay_steps);
            ds = ds * mult;
        } else if (gs > ds) {
            gs = ds;
        }
        float p = gs / ds;
        float end = (float)s->end_lr;
        return (init - end) * powf(1.0f - p, (float)s->power) + end;
    }
    case S_COSINE: {
        float ds = (float)s->decay_steps, gs = x, from = init;
        if (s->has_warmup_target) {
            float target = (float)s->warmup_target, ws = (float)s->warmup_steps;
            if (gs > ds + ws) gs = ds + ws;
            if (gs < ws) return (target - init) * (gs / ws) + init;
            gs = gs - ws;
            from = target;
        } else if (gs > ds) {
            gs = ds;
        }
        float frac = gs / ds;
        float c = 0.5f * (1.0f + cosf(PI_F32 * frac));
        float decayed = (float)(1 - s->alpha) * c + (float)s->alpha;
        return from * decayed;
    }
    }
    return 0.0f;
}

json_t *ck_lr_schedule_to_json(const ck_lr_schedule *s)
{
    json_t *cfg = json_deep_copy(s->config);
    json_t *j = json_object();
    if (!cfg || !j || json_object_set_new(j, "module", json_string("keras.optimizers.schedules")) ||
        json_object_set_new(j, "class_name", json_string(sched_classes[s->kind].name)) ||
        json_object_set(j, "config", cfg) ||
        json_object_set_new(j, "registered_name", json_null())) {
        json_decref(cfg);
        json_decref(j);
        return NULL;
    }
    json_decref(cfg);
    return j;
}
