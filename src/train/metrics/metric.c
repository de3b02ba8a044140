/* The public metric API: names and configs to metric objects, update,
 * result, reset, configs. */
#include <math.h>
#include <ctype.h>
#include <string.h>

#include "core/json.h"
#include "params/params.h"
#include "train/losses/loss.h"
#include "train/metrics/metric_impl.h"

/* Function names compile accepts as strings (MeanMetricWrapper named by the
 * string). */
static const struct {
    const char *name;
    metric_fn fn;
} fn_ids[] = {
    {"binary_accuracy", MF_BINARY_ACC},
    {"categorical_accuracy", MF_CAT_ACC},
    {"sparse_categorical_accuracy", MF_SPARSE_CAT_ACC},
    {"top_k_categorical_accuracy", MF_TOPK},
    {"sparse_top_k_categorical_accuracy", MF_SPARSE_TOPK},
    {"mse", MF_MSE}, {"MSE", MF_MSE}, {"mean_squared_error", MF_MSE},
    {"mae", MF_MAE}, {"MAE", MF_MAE}, {"mean_absolute_error", MF_MAE},
};

/* Lower-case spellings of classes (Keras 3 accepts them). */
static const struct {
    const char *name, *class_name;
} class_aliases[] = {{"auc", "AUC"}, {"precision", "Precision"}, {"recall", "Recall"}};

static int is_accuracy_id(const char *s)
{
    char low[16];
    size_t n = strlen(s);
    if (n >= sizeof low) return 0;
    for (size_t i = 0; i <= n; i++) low[i] = (char)tolower((unsigned char)s[i]);
    return strcmp(low, "accuracy") == 0 || strcmp(low, "acc") == 0;
}

static ck_status from_string(const char *s, ck_metric **out)
{
    ck_metric *m = NULL;
    metric_fn fn = MF_COUNT;
    if (is_accuracy_id(s)) fn = MF_UNRESOLVED;
    for (size_t i = 0; fn == MF_COUNT && i < sizeof fn_ids / sizeof fn_ids[0]; i++)
        if (strcmp(s, fn_ids[i].name) == 0) fn = fn_ids[i].fn;
    if (fn != MF_COUNT) {
        m = ck_metric_alloc(MK_MEAN);
        if (!m) return ck_oom("a metric");
        m->fn = fn;
        m->wrapper = 1;
        m->name = ck_strdup(s);
    } else {
        const char *cls = s;
        for (size_t i = 0; i < sizeof class_aliases / sizeof class_aliases[0]; i++)
            if (strcmp(s, class_aliases[i].name) == 0) cls = class_aliases[i].class_name;
        ck_status st = ck_metric_from_class(cls, NULL, &m);
        if (st != CK_OK) {
            if (ck_last_status() == CK_VALUE_ERROR && strcmp(cls, s) == 0 &&
                strstr(ck_last_error(), "Unknown metric function"))
                return ck_error(CK_VALUE_ERROR, "Unknown metric function: '%s'. Please ensure "
                                "you are using a `keras.utils.custom_object_scope` and that this "
                                "object is included in the scope.", s);
            return st;
        }
    }
    m->given = ck_strdup(s);
    if (!m->name || !m->given) {
        ck_metric_free(m);
        return ck_oom("a metric name");
    }
    *out = m;
    return CK_OK;
}

ck_status ck_metric_from_json(const json_t *value, ck_metric **out)
{
    if (!out) return ck_error(CK_VALUE_ERROR, "ck_metric_from_json: out is NULL");
    if (json_is_string(value)) return from_string(json_string_value(value), out);
    if (!json_is_object(value))
        return ck_error(CK_VALUE_ERROR, "Could not interpret metric identifier: expected a name "
                        "or a {\"class_name\", \"config\"} object");
    const json_t *cls = json_object_get(value, "class_name");
    if (!json_is_string(cls))
        return ck_error(CK_VALUE_ERROR, "Could not interpret metric identifier: the object has "
                        "no \"class_name\" string");
    const json_t *cfg = json_object_get(value, "config");
    if (json_is_null(cfg)) cfg = NULL;
    return ck_metric_from_class(json_string_value(cls), cfg, out);
}

ck_status ck_metric_new(ck_metric **out, const char *name_or_json)
{
    CK_NEED(out);
    CK_NEED(name_or_json);
    if (!out) return ck_error(CK_VALUE_ERROR, "ck_metric_new: out is NULL");
    if (!name_or_json) return ck_error(CK_VALUE_ERROR, "Could not interpret metric identifier: None");
    const char *s = name_or_json;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
    if (*s != '{' && *s != '"') return from_string(name_or_json, out);
    json_t *j = NULL;
    CK_TRY(ck_json_parse(name_or_json, strlen(name_or_json), "malformed metric config JSON", &j));
    ck_status st = ck_metric_from_json(j, out);
    json_decref(j);
    return st;
}

ck_status ck_metric_resolve(ck_metric *m, const ck_loss *loss, const ck_shape *y_true,
                            const ck_shape *y_pred)
{
    CK_NEED(m);
    if (!m) return ck_error(CK_VALUE_ERROR, "ck_metric_resolve: metric is NULL");
    if (m->kind != MK_MEAN || m->fn != MF_UNRESOLVED) return CK_OK;
    ck_metric_pick_accuracy(m, loss ? ck_loss_canonical(loss) : NULL, y_true, y_pred);
    return CK_OK;
}

const char *ck_metric_name(const ck_metric *m) {
    CK_NEED_OR(m, NULL);
    return m ? m->name : "";
}

ck_status ck_metric_update(ck_metric *m, const ck_tensor *y_true, const ck_tensor *y_pred,
                           const ck_tensor *sample_weight)
{
    CK_NEED(m);
    CK_NEED(y_true);
    CK_NEED(y_pred);
    if (!m) return ck_error(CK_VALUE_ERROR, "ck_metric_update: metric is NULL");
    const ck_tensor *ts[3] = {y_true, y_pred, sample_weight};
    static const char *const what[3] = {"y_true", "y_pred", "sample_weight"};
    for (int i = 0; i < 3; i++) {
        if (!ts[i]) {
            if (i == 2) continue;
            return ck_error(CK_VALUE_ERROR, "%s: %s is NULL", m->name, what[i]);
        }
        if (ts[i]->size > 0 && !ts[i]->data)
            return ck_error(CK_VALUE_ERROR, "%s: %s has no data (symbolic?)", m->name, what[i]);
        if (ck_dtype_size(ts[i]->dtype) == 0)
            return ck_error(CK_TYPE_ERROR, "%s: %s has an invalid dtype", m->name, what[i]);
    }
    if (m->kind == MK_MEAN) return ck_metric_mean_update(m, y_true, y_pred, sample_weight);
    return ck_metric_confusion_update(m, y_true, y_pred, sample_weight);
}

int ck_metric_result_values(const ck_metric *m, double *out, int max)
{
    if (!m) return 0;
    if (m->kind != MK_MEAN) return ck_metric_confusion_results(m, out, max);
    if (max > 0) out[0] = m->count == 0 ? 0.0 : metric_rnd(m, m->total / m->count);
    return 1;
}

double ck_metric_result(const ck_metric *m)
{
    CK_NEED_OR(m, NAN);
    double v[1] = {0};
    ck_metric_result_values(m, v, 1);
    return v[0];
}

void ck_metric_reset(ck_metric *m)
{
    CK_NEED_VOID(m);
    if (!m) return;
    m->total = m->count = 0;
    if (m->tp) memset(m->tp, 0, 4 * (size_t)m->n_thr * sizeof(double));
}

json_t *ck_metric_to_json(const ck_metric *m)
{
    if (m->given) return json_string(m->given);
    return ck_metric_config_json(m);
}

ck_status ck_metric_get_config(const ck_metric *m, char **out)
{
    CK_NEED(m);
    CK_NEED(out);
    if (!m || !out) return ck_error(CK_VALUE_ERROR, "ck_metric_get_config: NULL argument");
    json_t *j = m->kind == MK_MEAN && m->fn == MF_UNRESOLVED ? json_string(m->given ? m->given : m->name)
                                                           : ck_metric_config_json(m);
    if (!j) return ck_oom("a metric config");
    char *s = ck_json_dumps_python(j);
    json_decref(j);
    if (!s) return ck_oom("a metric config");
    *out = s;
    return CK_OK;
}

void ck_metric_free(ck_metric *m)
{
    if (!m) return;
    ck_free(m->name);
    ck_free(m->given);
    ck_free(m->thr);
    ck_free(m->tp);
    ck_free(m->user_thr);
    json_decref(m->init_thresholds);
    ck_free(m);
}
