/* Loss names and configs <-> ck_loss objects: tf.keras 2.x function names
 * and aliases, class names, {"class_name", "config"} in the legacy,
 * tf.keras 2.13+ and Keras 3 forms; get_config with tf.keras 2.x keys. */
#include <math.h>
#include <string.h>

#include "params/params.h"
#include "params/util.h"
#include "train/losses/loss_impl.h"

enum {
    O_LOGITS = 1 << 0,
    O_LS = 1 << 1,
    O_AXIS = 1 << 2,
    O_IGNORE = 1 << 3,
    O_BAL = 1 << 4,   /* apply_class_balancing, alpha, gamma */
    O_DELTA = 1 << 5
};

static const struct kind_info {
    const char *cls;  /* Keras class */
    const char *fn;   /* the function's __name__ */
    const char *dflt; /* the class' default instance name */
    unsigned opts;
} kinds[CK_LOSS_KIND_COUNT] = {
    [CK_LOSS_MSE] = {"MeanSquaredError", "mean_squared_error", "mean_squared_error", 0},
    [CK_LOSS_MAE] = {"MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error", 0},
    [CK_LOSS_MAPE] = {"MeanAbsolutePercentageError", "mean_absolute_percentage_error",
                      "mean_absolute_percentage_error", 0},
    [CK_LOSS_MSLE] = {"MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
                      "mean_squared_logarithmic_error", 0},
    [CK_LOSS_BCE] = {"BinaryCrossentropy", "binary_crossentropy", "binary_crossentropy", O_LOGITS | O_LS | O_AXIS},
    [CK_LOSS_CCE] = {"CategoricalCrossentropy", "categorical_crossentropy", "categorical_crossentropy",
                     O_LOGITS | O_LS | O_AXIS},
    [CK_LOSS_SCCE] = {"SparseCategoricalCrossentropy", "sparse_categorical_crossentropy",
                      "sparse_categorical_crossentropy", O_LOGITS | O_IGNORE},
    [CK_LOSS_BFCE] = {"BinaryFocalCrossentropy", "binary_focal_crossentropy", "binary_focal_crossentropy",
                      O_BAL | O_LOGITS | O_LS | O_AXIS},
    [CK_LOSS_HINGE] = {"Hinge", "hinge", "hinge", 0},
    [CK_LOSS_SQUARED_HINGE] = {"SquaredHinge", "squared_hinge", "squared_hinge", 0},
    [CK_LOSS_CATEGORICAL_HINGE] = {"CategoricalHinge", "categorical_hinge", "categorical_hinge", 0},
    [CK_LOSS_KLD] = {"KLDivergence", "kl_divergence", "kl_divergence", 0},
    [CK_LOSS_POISSON] = {"Poisson", "poisson", "poisson", 0},
    [CK_LOSS_LOG_COSH] = {"LogCosh", "log_cosh", "log_cosh", 0},
    [CK_LOSS_HUBER] = {"Huber", "huber", "huber_loss", O_DELTA},
    [CK_LOSS_COSINE] = {"CosineSimilarity", "cosine_similarity", "cosine_similarity", O_AXIS},
};

/* Function names and their aliases (tf.keras.losses module globals). */
static const struct {
    const char *name;
    ck_loss_kind kind;
} fn_names[] = {
    {"mean_squared_error", CK_LOSS_MSE}, {"mse", CK_LOSS_MSE}, {"MSE", CK_LOSS_MSE},
    {"mean_absolute_error", CK_LOSS_MAE}, {"mae", CK_LOSS_MAE}, {"MAE", CK_LOSS_MAE},
    {"mean_absolute_percentage_error", CK_LOSS_MAPE}, {"mape", CK_LOSS_MAPE}, {"MAPE", CK_LOSS_MAPE},
    {"mean_squared_logarithmic_error", CK_LOSS_MSLE}, {"msle", CK_LOSS_MSLE}, {"MSLE", CK_LOSS_MSLE},
    {"binary_crossentropy", CK_LOSS_BCE}, {"bce", CK_LOSS_BCE}, {"BCE", CK_LOSS_BCE},
    {"categorical_crossentropy", CK_LOSS_CCE},
    {"sparse_categorical_crossentropy", CK_LOSS_SCCE},
    {"binary_focal_crossentropy", CK_LOSS_BFCE},
    {"hinge", CK_LOSS_HINGE}, {"squared_hinge", CK_LOSS_SQUARED_HINGE},
    {"categorical_hinge", CK_LOSS_CATEGORICAL_HINGE},
    {"kl_divergence", CK_LOSS_KLD}, {"kld", CK_LOSS_KLD}, {"KLD", CK_LOSS_KLD},
    {"kullback_leibler_divergence", CK_LOSS_KLD},
    {"poisson", CK_LOSS_POISSON},
    {"log_cosh", CK_LOSS_LOG_COSH}, {"logcosh", CK_LOSS_LOG_COSH},
    {"huber", CK_LOSS_HUBER}, {"huber_loss", CK_LOSS_HUBER},
    {"cosine_similarity", CK_LOSS_COSINE},
    /* tf.compat.v1 / Keras 2.0-2.3 names of the same function */
    {"cosine_proximity", CK_LOSS_COSINE}, {"cosine", CK_LOSS_COSINE},
};

static const char *const reduction_names[] = {"auto", "sum_over_batch_size", "sum", "none"};

static ck_status unknown(const char *name)
{
    return ck_error(CK_VALUE_ERROR, "Unknown loss function: '%s'. Please ensure you are using a "
                    "`keras.utils.custom_object_scope` and that this object is included in the scope. See "
                    "https://www.tensorflow.org/guide/keras/save_and_serialize"
                    "#registering_the_custom_object for details.", name);
}

static int find_fn(const char *name)
{
    for (size_t i = 0; i < sizeof fn_names / sizeof fn_names[0]; i++)
        if (strcmp(name, fn_names[i].name) == 0) return (int)fn_names[i].kind;
    return -1;
}

static int find_cls(const char *name)
{
    for (int k = 0; k < CK_LOSS_KIND_COUNT; k++)
        if (strcmp(name, kinds[k].cls) == 0) return k;
    return -1;
}

static void defaults(ck_loss *l, ck_loss_kind kind)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->reduction = CK_REDUCTION_AUTO;
    l->axis = -1;
    l->alpha = 0.25;
    l->gamma = 2.0;
    l->delta = 1.0;
}

void ck_loss_free(ck_loss *loss)
{
    if (!loss) return;
    ck_free(loss->given);
    ck_free(loss->name);
    ck_free(loss);
}

/* Moves the parsed `tmp` into a new heap object with its two strings. */
static ck_status finish(const ck_loss *tmp, const char *given, const char *name, ck_loss **out)
{
    ck_loss *l = ck_malloc(sizeof *l);
    if (!l) return ck_oom("a loss");
    *l = *tmp;
    l->given = ck_strdup(given);
    l->name = name ? ck_strdup(name) : NULL;
    if (!l->given || (name && !l->name)) {
        ck_loss_free(l);
        return ck_oom("a loss");
    }
    *out = l;
    return CK_OK;
}

/* ---- reading a config ---------------------------------------------------------- */

static ck_status read_reduction(const json_t *cfg, const char *cls, ck_reduction *out)
{
    const json_t *j = json_object_get(cfg, "reduction");
    if (!j) return CK_OK;
    if (json_is_null(j)) { /* Keras 3: None means no reduction */
        *out = CK_REDUCTION_NONE;
        return CK_OK;
    }
    const char *s = json_string_value(j);
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, reduction_names[i]) == 0) {
            *out = (ck_reduction)i;
            return CK_OK;
        }
    if (s && strcmp(s, "mean") == 0) { /* Keras 3's name for sum_over_batch_size */
        *out = CK_REDUCTION_SUM_OVER_BATCH_SIZE;
        return CK_OK;
    }
    if (s && strcmp(s, "mean_with_sample_weight") == 0)
        return ck_error(CK_NOT_IMPLEMENTED, "%s: reduction 'mean_with_sample_weight' (Keras 3) is not supported",
                        cls);
    return ck_error(CK_VALUE_ERROR, "Invalid Reduction Key: %s. Expected keys are \"('auto', 'none', 'sum', "
                    "'sum_over_batch_size')\"", s ? s : ck_params_describe(j));
}

static ck_status read_bool(const json_t *cfg, const char *cls, const char *key, bool *v)
{
    const json_t *j = json_object_get(cfg, key);
    if (!j) return CK_OK;
    if (json_is_boolean(j))
        *v = json_is_true(j);
    else if (json_is_integer(j))
        *v = json_integer_value(j) != 0;
    else
        return ck_error(CK_VALUE_ERROR, "%s: '%s' must be a boolean, got %s", cls, key, ck_params_describe(j));
    return CK_OK;
}

static ck_status read_int(const json_t *cfg, const char *cls, const char *key, int64_t *v, bool *is_null)
{
    const json_t *j = json_object_get(cfg, key);
    if (!j) return CK_OK;
    if (is_null && json_is_null(j)) {
        *is_null = true;
        return CK_OK;
    }
    if (!json_is_integer(j))
        return ck_error(CK_VALUE_ERROR, "%s: `%s` must be of type `int`. Received: %s=%s", cls, key, key,
                        ck_params_describe(j));
    *v = json_integer_value(j);
    if (is_null) *is_null = false;
    return CK_OK;
}

static ck_status read_options(const json_t *cfg, ck_loss *l)
{
    const char *cls = kinds[l->kind].cls;
    unsigned o = kinds[l->kind].opts;
    int is_int;
    if (o & O_LOGITS) CK_TRY(read_bool(cfg, cls, "from_logits", &l->from_logits));
    if (o & O_LS) {
        is_int = 0;
        CK_TRY(ck_params_number(cfg, cls, "label_smoothing", 0, &l->label_smoothing, &is_int));
        l->ls_is_int = is_int;
    }
    if (o & O_BAL) {
        CK_TRY(read_bool(cfg, cls, "apply_class_balancing", &l->apply_class_balancing));
        is_int = 0;
        CK_TRY(ck_params_number(cfg, cls, "alpha", 0, &l->alpha, &is_int));
        l->alpha_is_int = is_int;
        is_int = 0;
        CK_TRY(ck_params_number(cfg, cls, "gamma", 0, &l->gamma, &is_int));
        l->gamma_is_int = is_int;
    }
    if (o & O_DELTA) {
        is_int = 0;
        CK_TRY(ck_params_number(cfg, cls, "delta", 0, &l->delta, &is_int));
        l->delta_is_int = is_int;
    }
    if ((o & O_AXIS) || l->kind == CK_LOSS_SCCE) {
        int64_t a = l->axis;
        CK_TRY(read_int(cfg, cls, "axis", &a, NULL));
        if (a < -CK_MAX_RANK - 1 || a > CK_MAX_RANK)
            return ck_error(CK_VALUE_ERROR, "%s: axis %lld is out of range", cls, (long long)a);
        l->axis = (int)a;
    }
    if (o & O_IGNORE) {
        bool none = !l->has_ignore_class;
        CK_TRY(read_int(cfg, cls, "ignore_class", &l->ignore_class, &none));
        l->has_ignore_class = !none;
    }
    return CK_OK;
}

/* reduction, name and at most 8 options, then NULL */
enum { MAX_KEYS = 11 };
/* "fn": tf.keras 2.13+ v3 saving; "dtype": Keras 3. */
static const char *const ignored_keys[] = {"fn", "dtype", NULL};

/* The keys a class accepts: reduction, name and its own options. */
static void class_keys(ck_loss_kind kind, const char **keys)
{
    unsigned o = kinds[kind].opts;
    int n = 0;
    keys[n++] = "reduction";
    keys[n++] = "name";
    if (o & O_LOGITS) keys[n++] = "from_logits";
    if (o & O_LS) keys[n++] = "label_smoothing";
    if ((o & O_AXIS) || kind == CK_LOSS_SCCE) keys[n++] = "axis";
    if (o & O_IGNORE) keys[n++] = "ignore_class";
    if (o & O_BAL) {
        keys[n++] = "apply_class_balancing";
        keys[n++] = "alpha";
        keys[n++] = "gamma";
    }
    if (o & O_DELTA) keys[n++] = "delta";
    keys[n] = NULL;
}

/* A class config (cfg may be NULL). */
static ck_status from_class(ck_loss_kind kind, const char *cls_name, const json_t *cfg, ck_loss **out)
{
    ck_loss l;
    defaults(&l, kind);
    const char *keys[MAX_KEYS];
    class_keys(kind, keys);
    CK_TRY(ck_params_check_keys(cfg, cls_name, keys, ignored_keys));
    const char *name = kinds[kind].dflt;
    if (cfg) {
        CK_TRY(read_reduction(cfg, cls_name, &l.reduction));
        const json_t *jn = json_object_get(cfg, "name");
        if (jn && json_is_null(jn))
            name = NULL;
        else if (jn && !json_is_string(jn))
            return ck_error(CK_VALUE_ERROR, "%s: 'name' must be a string, got %s", cls_name,
                            ck_params_describe(jn));
        else if (jn)
            name = json_string_value(jn);
        CK_TRY(read_options(cfg, &l));
    }
    return finish(&l, kinds[kind].cls, name, out);
}

static ck_status from_function(const char *fname, ck_loss **out)
{
    int k = find_fn(fname);
    if (k < 0) return unknown(fname);
    ck_loss l;
    defaults(&l, (ck_loss_kind)k);
    l.from_function = true;
    return finish(&l, fname, kinds[k].fn, out);
}

/* tf.keras' LossFunctionWrapper config: the function in "fn" (a name or a
 * serialized function), reduction, name and the function's keywords. */
static ck_status from_wrapper(const json_t *cfg, ck_loss **out)
{
    const json_t *fn = cfg ? json_object_get(cfg, "fn") : NULL;
    if (json_is_object(fn)) fn = json_object_get(fn, "config");
    if (!json_is_string(fn))
        return ck_error(CK_VALUE_ERROR, "LossFunctionWrapper: 'fn' must name a loss function, got %s",
                        ck_params_describe(fn));
    int k = find_fn(json_string_value(fn));
    if (k < 0) return unknown(json_string_value(fn));
    ck_loss *l = NULL;
    CK_TRY(from_class((ck_loss_kind)k, "LossFunctionWrapper", cfg, &l));
    *out = l;
    return CK_OK;
}

ck_status ck_loss_from_json(const json_t *value, ck_loss **out)
{
    if (!value || json_is_null(value))
        return ck_error(CK_VALUE_ERROR, "Could not interpret loss function identifier: None");
    if (!out) return ck_error(CK_VALUE_ERROR, "ck_loss_from_json: out is NULL");
    const char *name;
    const json_t *cfg;
    CK_TRY(ck_params_unwrap(value, "loss function", &name, &cfg));
    if (json_is_string(value)) {
        int k = find_cls(name);
        if (k >= 0) return from_class((ck_loss_kind)k, name, NULL, out);
        return from_function(name, out);
    }
    if (strcmp(name, "function") == 0) { /* {"class_name": "function", "config": "mse", ...} */
        const json_t *c = json_object_get(value, "config");
        if (!json_is_string(c))
            return ck_error(CK_VALUE_ERROR, "Could not interpret loss function identifier: %s",
                            ck_params_describe(value));
        return from_function(json_string_value(c), out);
    }
    if (strcmp(name, "LossFunctionWrapper") == 0) return from_wrapper(cfg, out);
    int k = find_cls(name);
    if (k < 0) {
        /* {"name": "mse"} (Keras 1-style wrapper) or an unknown class */
        if (cfg == value && find_fn(name) >= 0 && json_object_size(value) == 1) return from_function(name, out);
        return unknown(name);
    }
    return from_class((ck_loss_kind)k, name, cfg, out);
}

ck_status ck_loss_new(ck_loss **out, const char *name_or_json)
{
    CK_NEED(out);
    CK_NEED(name_or_json);
    if (!out) return ck_error(CK_VALUE_ERROR, "ck_loss_new: out is NULL");
    if (!name_or_json) return ck_error(CK_VALUE_ERROR, "Could not interpret loss function identifier: None");
    const char *s = name_or_json;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s == '{' || *s == '"') {
        json_t *j;
        CK_TRY(ck_params_parse(name_or_json, "loss", &j));
        ck_status st = ck_loss_from_json(j, out);
        json_decref(j);
        return st;
    }
    int k = find_cls(name_or_json);
    if (k >= 0) return from_class((ck_loss_kind)k, name_or_json, NULL, out);
    return from_function(name_or_json, out);
}

/* ---- writing a config -------------------------------------------------------------- */

const char *ck_loss_name(const ck_loss *loss) {
    CK_NEED_OR(loss, NULL);
    return loss->given;
}

const char *ck_loss_canonical(const ck_loss *loss) { return kinds[loss->kind].fn; }

json_t *ck_loss_to_json(const ck_loss *loss)
{
    unsigned o = kinds[loss->kind].opts;
    json_t *c = json_object();
    int bad = 0;
    bad |= ck_params_set(c, "reduction", json_string(reduction_names[loss->reduction]));
    bad |= ck_params_set(c, "name", loss->name ? json_string(loss->name) : json_null());
    if (o & O_BAL) {
        bad |= ck_params_set(c, "apply_class_balancing", json_boolean(loss->apply_class_balancing));
        bad |= ck_params_set(c, "alpha", ck_params_num_json(loss->alpha, loss->alpha_is_int));
        bad |= ck_params_set(c, "gamma", ck_params_num_json(loss->gamma, loss->gamma_is_int));
    }
    if (o & O_LOGITS) bad |= ck_params_set(c, "from_logits", json_boolean(loss->from_logits));
    if (o & O_LS)
        bad |= ck_params_set(c, "label_smoothing", ck_params_num_json(loss->label_smoothing, loss->ls_is_int));
    if (o & O_IGNORE)
        bad |= ck_params_set(c, "ignore_class", loss->has_ignore_class ? json_integer(loss->ignore_class)
                                                                       : json_null());
    if ((o & O_AXIS) || (loss->kind == CK_LOSS_SCCE && loss->axis != -1))
        bad |= ck_params_set(c, "axis", json_integer(loss->axis));
    if (o & O_DELTA) bad |= ck_params_set(c, "delta", ck_params_num_json(loss->delta, loss->delta_is_int));
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return ck_params_wrap(kinds[loss->kind].cls, c);
}

ck_status ck_loss_get_config(const ck_loss *loss, char **out)
{
    CK_NEED(loss);
    CK_NEED(out);
    if (!loss || !out) return ck_error(CK_VALUE_ERROR, "ck_loss_get_config: loss and out are required");
    json_t *j = ck_loss_to_json(loss);
    if (!j) return ck_oom("a loss config");
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    if (!s) return ck_oom("a loss config");
    *out = s;
    return CK_OK;
}
