/* Private to src/train/metrics: the metric object and the helpers its files
 * share.  Values are kept as doubles; when the metric's dtype is float32
 * (the default) every stored value and every step that TF computes in
 * float32 is rounded to float32 (metric_rnd), so totals, counts and the
 * confusion matrices follow Keras' float32 variables. */
#ifndef CK_TRAIN_METRIC_IMPL_H
#define CK_TRAIN_METRIC_IMPL_H

#include <jansson.h>

#include "train/metrics/metric.h"

typedef enum metric_kind { MK_MEAN, MK_PRECISION, MK_RECALL, MK_AUC } metric_kind;

/* The function of a mean metric (MeanMetricWrapper and its subclasses). */
typedef enum metric_fn {
    MF_UNRESOLVED, /* "accuracy" / "acc" before ck_metric_resolve */
    MF_ACCURACY,   /* element-wise equality (tf.keras.metrics.Accuracy) */
    MF_BINARY_ACC,
    MF_CAT_ACC,
    MF_SPARSE_CAT_ACC,
    MF_TOPK,
    MF_SPARSE_TOPK,
    MF_MSE,
    MF_MAE,
    MF_COUNT
} metric_fn;

/* Keras' names of a metric function and its class. */
typedef struct metric_fn_info {
    const char *fn_name;    /* "binary_accuracy" (also the class' default name) */
    const char *class_name; /* "BinaryAccuracy" */
} metric_fn_info;
extern const metric_fn_info ck_metric_fns[MF_COUNT];

enum { AUC_INTERPOLATION, AUC_MINORING, AUC_MAJORING };

struct ck_metric {
    metric_kind kind;
    char *name;    /* the name Keras shows */
    char *given;   /* the string it was made from (compile keeps it), or NULL */
    int f64;       /* dtype float64 (else float32) */
    int wrapper;   /* a function given by name: class MeanMetricWrapper */

    /* mean metrics */
    metric_fn fn;
    double threshold; /* binary_accuracy (as given; compared in float32) */
    int k;            /* top-k accuracies */
    double total, count;

    /* confusion metrics (Precision, Recall, AUC) */
    int n_thr;
    double *thr;      /* thresholds in the variables' dtype */
    int evenly;       /* evenly spaced: the bucketed update */
    int with_eps;     /* first/last thresholds outside [0, 1] */
    double *tp, *fp, *tn, *fn_;
    double *btp, *bfp; /* per-update bucket scratch (n_thr each) */
    int top_k;        /* 0: none */
    int class_id;     /* -1: none */
    json_t *init_thresholds; /* Precision / Recall: as given (config) */
    /* AUC */
    int curve_pr, summation, from_logits;
    int n_user;       /* thresholds given: their count (config), else -1 */
    double *user_thr; /* sorted, as given */
};

/* Rounds to the metric's dtype. */
static inline double metric_rnd(const ck_metric *m, double x)
{
    return m->f64 ? x : (double)(float)x;
}

/* ---- metric_shapes.c */

/* The shape of a tensor. */
ck_shape ck_metric_shape_of(const ck_tensor *t);

/* Keras' squeeze_or_expand_dimensions(y_pred, y_true): drops a trailing 1
 * of whichever has one more dim. */
void ck_metric_squeeze_pair(ck_shape *y_pred, ck_shape *y_true);

/* Keras' squeeze_or_expand_dimensions for the weights: with one more dim
 * than `rank`, the last (which must be 1) is dropped; with one fewer, a
 * trailing 1 is added.  CK_VALUE_ERROR naming the metric otherwise. */
ck_status ck_metric_adjust_weights(const ck_metric *m, ck_shape *w, int rank);

/* 1 if `w` broadcasts to `v` as tf.__internal__.ops.broadcast_weights
 * allows (rank 0, or same rank with each dim equal or 1). */
int ck_metric_weights_broadcast(const ck_shape *w, const ck_shape *v);

/* Flat index into `w` of element j of `v` when w broadcasts to v (w's
 * rank <= v's; w's dims are aligned with v's leading dims). */
int64_t ck_metric_bcast_index(const ck_shape *w, const ck_shape *v, int64_t j);

/* "(2, 3)" for messages (static buffer per call site index 0/1). */
const char *ck_metric_shape_str(const ck_shape *s, int which);

/* Element i of a tensor as a value of the metric's dtype. */
static inline double metric_get(const ck_metric *m, const ck_tensor *t, int64_t i)
{
    return metric_rnd(m, ck_tensor_get(t, i));
}

/* ---- mean_metrics.c */
ck_status ck_metric_mean_update(ck_metric *m, const ck_tensor *y_true, const ck_tensor *y_pred,
                                const ck_tensor *sample_weight);
/* Picks the accuracy function for an unresolved "accuracy" / "acc". */
void ck_metric_pick_accuracy(ck_metric *m, const char *loss, const ck_shape *y_true,
                             const ck_shape *y_pred);

/* ---- confusion.c */
ck_status ck_metric_confusion_update(ck_metric *m, const ck_tensor *y_true,
                                     const ck_tensor *y_pred, const ck_tensor *sample_weight);
/* Result values: Precision / Recall give one per threshold, AUC one. */
int ck_metric_confusion_results(const ck_metric *m, double *out, int max);
/* Allocates the confusion variables for m->n_thr thresholds (zeroed). */
ck_status ck_metric_confusion_alloc(ck_metric *m);
/* Decides the bucketed update (Keras' is_evenly_distributed_thresholds). */
int ck_metric_evenly_distributed(const double *thr, int n);

/* ---- metric_config.c */
/* Builds a metric from a class name and its config (config may be NULL). */
ck_status ck_metric_from_class(const char *class_name, const json_t *config, ck_metric **out);
/* The {"class_name", "config"} object (NULL on OOM). */
json_t *ck_metric_config_json(const ck_metric *m);
/* A new empty metric of `kind` with dtype float32 (NULL on OOM). */
ck_metric *ck_metric_alloc(metric_kind kind);

#endif
