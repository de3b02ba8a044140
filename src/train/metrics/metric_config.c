/* Metric classes <-> configs: reading tf.keras / Keras 3 configs and
 * writing them as tf.keras 2.x does ({"name", "dtype", class keys}). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params/params.h"
#include "train/metrics/metric_impl.h"

/* Adds key -> value (stolen); 1 on failure. */
static int set(json_t *obj, const char *key, json_t *value)
{
    return !value || json_object_set_new(obj, key, value) != 0;
}

/* A short description of a JSON value for messages. */
static const char *describe(const json_t *j)
{
    static _Thread_local char buf[64];
    if (!j) return "nothing";
    if (json_is_string(j)) {
        snprintf(buf, sizeof buf, "'%.50s'", json_string_value(j));
        return buf;
    }
    if (json_is_number(j)) {
        char r[32];
        snprintf(buf, sizeof buf, "%s", ck_float_repr(json_number_value(j), r, sizeof r));
        return buf;
    }
    return json_is_null(j) ? "None" : json_is_boolean(j) ? (json_is_true(j) ? "True" : "False")
           : json_is_array(j) ? "a list" : "a dict";
}

ck_metric *ck_metric_alloc(metric_kind kind)
{
    ck_metric *m = ck_calloc(1, sizeof *m);
    if (!m) return NULL;
    m->kind = kind;
    m->class_id = -1;
    m->n_user = -1;
    m->threshold = 0.5;
    m->k = 5;
    return m;
}

static const struct {
    const char *class_name;
    metric_kind kind;
    metric_fn fn;
    const char *default_name;
} classes[] = {
    {"Accuracy", MK_MEAN, MF_ACCURACY, "accuracy"},
    {"BinaryAccuracy", MK_MEAN, MF_BINARY_ACC, "binary_accuracy"},
    {"CategoricalAccuracy", MK_MEAN, MF_CAT_ACC, "categorical_accuracy"},
    {"SparseCategoricalAccuracy", MK_MEAN, MF_SPARSE_CAT_ACC, "sparse_categorical_accuracy"},
    {"TopKCategoricalAccuracy", MK_MEAN, MF_TOPK, "top_k_categorical_accuracy"},
    {"SparseTopKCategoricalAccuracy", MK_MEAN, MF_SPARSE_TOPK,
     "sparse_top_k_categorical_accuracy"},
    {"MeanSquaredError", MK_MEAN, MF_MSE, "mean_squared_error"},
    {"MeanAbsoluteError", MK_MEAN, MF_MAE, "mean_absolute_error"},
    {"Precision", MK_PRECISION, MF_COUNT, "precision"},
    {"Recall", MK_RECALL, MF_COUNT, "recall"},
    {"AUC", MK_AUC, MF_COUNT, "auc"},
};
#define N_CLASSES (sizeof classes / sizeof classes[0])

/* The function names a MeanMetricWrapper's "fn" may give. */
static int fn_from_name(const char *s, metric_fn *out)
{
    static const struct { const char *name; metric_fn fn; } fns[] = {
        {"accuracy", MF_ACCURACY}, {"binary_accuracy", MF_BINARY_ACC},
        {"categorical_accuracy", MF_CAT_ACC}, {"sparse_categorical_accuracy", MF_SPARSE_CAT_ACC},
        {"top_k_categorical_accuracy", MF_TOPK},
        {"sparse_top_k_categorical_accuracy", MF_SPARSE_TOPK},
        {"mean_squared_error", MF_MSE}, {"mse", MF_MSE}, {"MSE", MF_MSE},
        {"mean_absolute_error", MF_MAE}, {"mae", MF_MAE}, {"MAE", MF_MAE},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(s, fns[i].name) == 0) {
            *out = fns[i].fn;
            return 1;
        }
    return 0;
}

static ck_status unexpected_keys(const json_t *cfg, const char *cls, const char *const *allowed)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cfg, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, key) == 0;
        if (!ok)
            return ck_error(CK_TYPE_ERROR, "%s.__init__() got an unexpected keyword argument "
                            "'%s'", cls, key);
    }
    return CK_OK;
}

/* An optional int (absent or null keeps *v). */
static ck_status read_int(const json_t *cfg, const char *cls, const char *key, int *v, int lo)
{
    const json_t *j = json_object_get(cfg, key);
    if (!j || json_is_null(j)) return CK_OK;
    double d = json_is_integer(j) ? (double)json_integer_value(j)
               : json_is_real(j) ? json_real_value(j) : NAN;
    if (!(d == floor(d)) || d < lo || d > 1e9)
        return ck_error(CK_VALUE_ERROR, "%s: '%s' must be an integer >= %d", cls, key, lo);
    *v = (int)d;
    return CK_OK;
}

static ck_status read_bool(const json_t *cfg, const char *cls, const char *key, int *v)
{
    const json_t *j = json_object_get(cfg, key);
    if (!j || json_is_null(j)) return CK_OK;
    if (!json_is_boolean(j))
        return ck_error(CK_VALUE_ERROR, "%s: '%s' must be a boolean", cls, key);
    *v = json_is_true(j);
    return CK_OK;
}

static ck_status read_common(ck_metric *m, const json_t *cfg, const char *cls,
                             const char *default_name)
{
    const json_t *n = json_object_get(cfg, "name");
    const char *name = default_name;
    if (n && !json_is_null(n)) {
        if (!json_is_string(n)) return ck_error(CK_VALUE_ERROR, "%s: 'name' must be a string", cls);
        name = json_string_value(n);
    }
    m->name = ck_strdup(name);
    if (!m->name) return ck_oom("a metric name");
    const json_t *d = json_object_get(cfg, "dtype");
    if (json_is_object(d)) /* Keras 3: a DTypePolicy */
        d = json_object_get(json_object_get(d, "config"), "name");
    if (d && !json_is_null(d)) {
        const char *s = json_string_value(d);
        if (s && strcmp(s, "float64") == 0)
            m->f64 = 1;
        else if (!s || strcmp(s, "float32") != 0)
            return ck_error(CK_VALUE_ERROR, "%s: dtype %s is not supported (float32 or float64)",
                            cls, s ? s : "of a non-string");
    }
    return CK_OK;
}

/* Precision / Recall thresholds: null, a number, or a list of numbers in
 * [0, 1]. */
static ck_status read_pr(ck_metric *m, const json_t *cfg, const char *cls)
{
    CK_TRY(read_int(cfg, cls, "top_k", &m->top_k, 1));
    CK_TRY(read_int(cfg, cls, "class_id", &m->class_id, 0));
    const json_t *t = json_object_get(cfg, "thresholds");
    if (t && !json_is_null(t)) {
        m->init_thresholds = json_deep_copy(t);
        if (!m->init_thresholds) return ck_oom("metric thresholds");
    }
    int n = !t || json_is_null(t) ? 1 : json_is_array(t) ? (int)json_array_size(t) : 1;
    if (n == 0) return ck_error(CK_VALUE_ERROR, "%s: 'thresholds' is empty", cls);
    m->n_thr = n;
    m->thr = ck_malloc((size_t)n * sizeof(double));
    if (!m->thr) return ck_oom("metric thresholds");
    for (int i = 0; i < n; i++) {
        const json_t *v = !t || json_is_null(t) ? NULL : json_is_array(t) ? json_array_get(t, i) : t;
        double d = !v ? (m->top_k > 0 ? -1e10 : 0.5) : json_is_number(v) ? json_number_value(v) : NAN;
        if (v && !(d >= 0 && d <= 1))
            return ck_error(CK_VALUE_ERROR, "Threshold values must be in [0, 1]. Received: [%s]",
                            describe(v));
        m->thr[i] = d;
    }
    m->evenly = ck_metric_evenly_distributed(m->thr, n);
    m->with_eps = m->evenly && (m->thr[0] < 0 || m->thr[n - 1] > 1);
    for (int i = 0; i < n; i++) m->thr[i] = metric_rnd(m, m->thr[i]);
    return ck_metric_confusion_alloc(m);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ck_status read_auc(ck_metric *m, const json_t *cfg)
{
    int n = 200, multi = 0;
    CK_TRY(read_int(cfg, "AUC", "num_thresholds", &n, -1000000));
    const json_t *c = json_object_get(cfg, "curve");
    if (c && !json_is_null(c)) {
        const char *s = json_string_value(c);
        if (s && (strcmp(s, "PR") == 0 || strcmp(s, "pr") == 0)) m->curve_pr = 1;
        else if (!s || (strcmp(s, "ROC") != 0 && strcmp(s, "roc") != 0))
            return ck_error(CK_VALUE_ERROR, "Invalid AUC curve value: \"%s\". Expected values "
                            "are [\"PR\", \"ROC\"]", s ? s : describe(c));
    }
    const json_t *sm = json_object_get(cfg, "summation_method");
    if (sm && !json_is_null(sm)) {
        const char *s = json_string_value(sm);
        if (s && (!strcmp(s, "interpolation") || !strcmp(s, "Interpolation"))) m->summation = AUC_INTERPOLATION;
        else if (s && (!strcmp(s, "minoring") || !strcmp(s, "Minoring"))) m->summation = AUC_MINORING;
        else if (s && (!strcmp(s, "majoring") || !strcmp(s, "Majoring"))) m->summation = AUC_MAJORING;
        else
            return ck_error(CK_VALUE_ERROR, "Invalid AUC summation method value: \"%s\". Expected "
                            "values are [\"interpolation\", \"majoring\", \"minoring\"]",
                            s ? s : describe(sm));
    }
    CK_TRY(read_bool(cfg, "AUC", "multi_label", &multi));
    CK_TRY(read_bool(cfg, "AUC", "from_logits", &m->from_logits));
    const json_t *nl = json_object_get(cfg, "num_labels");
    const json_t *lw = json_object_get(cfg, "label_weights");
    if (multi)
        return ck_error(CK_NOT_IMPLEMENTED, "%s: AUC with multi_label=True is not supported",
                        m->name);
    if (nl && !json_is_null(nl) && !(json_is_integer(nl) && json_integer_value(nl) == 0))
        return ck_error(CK_VALUE_ERROR, "`num_labels` is needed only when `multi_label` is True.");
    if (lw && !json_is_null(lw))
        return ck_error(CK_NOT_IMPLEMENTED, "%s: AUC label_weights are not supported", m->name);
    const json_t *t = json_object_get(cfg, "thresholds");
    if (t && !json_is_null(t)) {
        if (!json_is_array(t)) return ck_error(CK_VALUE_ERROR, "AUC: 'thresholds' must be a list");
        int nu = (int)json_array_size(t);
        m->n_user = nu;
        m->user_thr = ck_malloc((size_t)(nu ? nu : 1) * sizeof(double));
        if (!m->user_thr) return ck_oom("AUC thresholds");
        for (int i = 0; i < nu; i++) {
            const json_t *v = json_array_get(t, i);
            if (!json_is_number(v))
                return ck_error(CK_VALUE_ERROR, "AUC: thresholds must be numbers, got %s",
                                describe(v));
            m->user_thr[i] = json_number_value(v);
        }
        qsort(m->user_thr, (size_t)nu, sizeof(double), cmp_double);
        n = nu + 2;
    } else if (n <= 1) {
        return ck_error(CK_VALUE_ERROR, "Argument `num_thresholds` must be an integer > 1. "
                        "Received: num_thresholds=%d", n);
    }
    m->n_thr = n;
    m->thr = ck_malloc((size_t)n * sizeof(double));
    if (!m->thr) return ck_oom("AUC thresholds");
    m->thr[0] = 0.0;
    m->thr[n - 1] = 1.0;
    for (int i = 1; i + 1 < n; i++)
        m->thr[i] = m->n_user >= 0 ? m->user_thr[i - 1] : (double)i * 1.0 / (double)(n - 1);
    m->evenly = m->n_user < 0 || ck_metric_evenly_distributed(m->thr, n);
    m->with_eps = 1;
    m->thr[0] = 0.0 - 1e-7;
    m->thr[n - 1] = 1.0 + 1e-7;
    for (int i = 0; i < n; i++) m->thr[i] = metric_rnd(m, m->thr[i]);
    return ck_metric_confusion_alloc(m);
}

ck_status ck_metric_from_class(const char *cls, const json_t *cfg, ck_metric **out)
{
    static const char *const k_mean[] = {"name", "dtype", NULL};
    static const char *const k_bin[] = {"name", "dtype", "threshold", NULL};
    static const char *const k_topk[] = {"name", "dtype", "k", NULL};
    static const char *const k_wrap[] = {"name", "dtype", "fn", NULL};
    static const char *const k_pr[] = {"name", "dtype", "thresholds", "top_k", "class_id", NULL};
    static const char *const k_auc[] = {"name", "dtype", "num_thresholds", "curve",
                                        "summation_method", "thresholds", "multi_label",
                                        "num_labels", "label_weights", "from_logits", NULL};
    if (cfg && !json_is_object(cfg))
        return ck_error(CK_TYPE_ERROR, "%s: the config must be a JSON object, got %s", cls,
                        describe(cfg));
    json_t *empty = NULL;
    if (!cfg) {
        cfg = empty = json_object();
        if (!empty) return ck_oom("a metric config");
    }
    ck_metric *m = NULL;
    ck_status st = CK_OK;
    size_t i = 0;
    while (i < N_CLASSES && strcmp(cls, classes[i].class_name) != 0) i++;
    if (strcmp(cls, "MeanMetricWrapper") == 0) {
        const json_t *fn = json_object_get(cfg, "fn");
        if (json_is_object(fn)) fn = json_object_get(fn, "config"); /* a serialised function */
        metric_fn f = MF_COUNT;
        if (!json_is_string(fn) || !fn_from_name(json_string_value(fn), &f)) {
            st = ck_error(CK_VALUE_ERROR, "Unknown metric function: '%s'. Please ensure you are "
                          "using a `keras.utils.custom_object_scope` and that this object is "
                          "included in the scope.", json_is_string(fn) ? json_string_value(fn)
                          : describe(fn));
            goto done;
        }
        if (!(m = ck_metric_alloc(MK_MEAN))) goto oom;
        m->fn = f;
        m->wrapper = 1;
        st = unexpected_keys(cfg, cls, k_wrap);
        if (st == CK_OK) st = read_common(m, cfg, cls, ck_metric_fns[f].fn_name);
        goto done;
    }
    if (i == N_CLASSES) {
        st = ck_error(CK_VALUE_ERROR, "Unknown metric function: '%s'. Please ensure you are using "
                      "a `keras.utils.custom_object_scope` and that this object is included in "
                      "the scope.", cls);
        goto done;
    }
    if (!(m = ck_metric_alloc(classes[i].kind))) goto oom;
    m->fn = classes[i].fn;
    const char *const *keys = m->kind == MK_AUC ? k_auc
                              : m->kind != MK_MEAN ? k_pr
                              : m->fn == MF_BINARY_ACC ? k_bin
                              : (m->fn == MF_TOPK || m->fn == MF_SPARSE_TOPK) ? k_topk : k_mean;
    st = unexpected_keys(cfg, cls, keys);
    if (st == CK_OK) st = read_common(m, cfg, cls, classes[i].default_name);
    if (st != CK_OK) goto done;
    if (m->fn == MF_BINARY_ACC) {
        const json_t *t = json_object_get(cfg, "threshold");
        if (t && !json_is_null(t)) {
            if (!json_is_number(t)) {
                st = ck_error(CK_VALUE_ERROR, "BinaryAccuracy: 'threshold' must be a number");
                goto done;
            }
            m->threshold = json_number_value(t);
        }
    } else if (m->fn == MF_TOPK || m->fn == MF_SPARSE_TOPK) {
        st = read_int(cfg, cls, "k", &m->k, 0);
    } else if (m->kind == MK_AUC) {
        st = read_auc(m, cfg);
    } else if (m->kind != MK_MEAN) {
        st = read_pr(m, cfg, cls);
    }
    goto done;
oom:
    st = ck_oom("a metric");
done:
    json_decref(empty);
    if (st != CK_OK) {
        ck_metric_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}

static json_t *num_or_null(int v, int is_null) { return is_null ? json_null() : json_integer(v); }

json_t *ck_metric_config_json(const ck_metric *m)
{
    json_t *c = json_object();
    if (!c) return NULL;
    int bad = set(c, "name", json_string(m->name));
    bad |= set(c, "dtype", json_string(m->f64 ? "float64" : "float32"));
    const char *cls;
    if (m->kind == MK_MEAN) {
        cls = m->wrapper ? "MeanMetricWrapper" : ck_metric_fns[m->fn].class_name;
        if (m->wrapper)
            bad |= set(c, "fn", json_string(ck_metric_fns[m->fn].fn_name));
        else if (m->fn == MF_BINARY_ACC)
            bad |= set(c, "threshold", json_real(m->threshold));
        else if (m->fn == MF_TOPK || m->fn == MF_SPARSE_TOPK)
            bad |= set(c, "k", json_integer(m->k));
    } else if (m->kind == MK_AUC) {
        cls = "AUC";
        static const char *const sums[] = {"interpolation", "minoring", "majoring"};
        bad |= set(c, "num_thresholds", json_integer(m->n_thr));
        bad |= set(c, "curve", json_string(m->curve_pr ? "PR" : "ROC"));
        bad |= set(c, "summation_method", json_string(sums[m->summation]));
        bad |= set(c, "multi_label", json_false());
        bad |= set(c, "num_labels", json_null());
        bad |= set(c, "label_weights", json_null());
        bad |= set(c, "from_logits", json_boolean(m->from_logits));
        if (m->n_user >= 0) {
            json_t *a = json_array();
            for (int i = 0; a && i < m->n_user; i++)
                if (json_array_append_new(a, json_real(m->user_thr[i]))) bad = 1;
            bad |= set(c, "thresholds", a);
        }
    } else {
        cls = m->kind == MK_PRECISION ? "Precision" : "Recall";
        bad |= set(c, "thresholds", m->init_thresholds ? json_deep_copy(m->init_thresholds)
                                                                 : json_null());
        bad |= set(c, "top_k", num_or_null(m->top_k, m->top_k <= 0));
        bad |= set(c, "class_id", num_or_null(m->class_id, m->class_id < 0));
    }
    if (bad) {
        json_decref(c);
        return NULL;
    }
    json_t *w = json_object();
    if (!w || set(w, "class_name", json_string(cls))) {
        json_decref(w);
        json_decref(c);
        return NULL;
    }
    if (set(w, "config", c)) { /* c was released */
        json_decref(w);
        return NULL;
    }
    return w;
}
