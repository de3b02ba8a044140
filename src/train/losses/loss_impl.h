/* Private to train/losses/: the loss object, the table of kinds, and the
 * per-row kernels the driver (compute.c) runs.
 *
 * Every loss reduces one axis of y_pred (the last one, or `axis`): y_pred is
 * seen as (outer, K, inner) and each (outer, inner) pair is a "row" of K
 * elements `stride` (= inner) apart, giving one per-sample loss.  A kernel
 * returns the row's loss and, when asked, writes coef * d(row loss)/d y_pred
 * into the row's elements of dy (each y_pred element belongs to exactly one
 * row, so kernels overwrite, never accumulate).  Arithmetic is in double;
 * constants that tf.keras builds in y_pred's dtype (epsilon, 1 - epsilon,
 * label_smoothing, ...) are rounded to that dtype first. */
#ifndef CK_TRAIN_LOSS_IMPL_H
#define CK_TRAIN_LOSS_IMPL_H

#include <stdbool.h>

#include "train/losses/loss.h"

typedef enum ck_loss_kind {
    CK_LOSS_MSE,
    CK_LOSS_MAE,
    CK_LOSS_MAPE,
    CK_LOSS_MSLE,
    CK_LOSS_BCE,
    CK_LOSS_CCE,
    CK_LOSS_SCCE,
    CK_LOSS_BFCE,
    CK_LOSS_HINGE,
    CK_LOSS_SQUARED_HINGE,
    CK_LOSS_CATEGORICAL_HINGE,
    CK_LOSS_KLD,
    CK_LOSS_POISSON,
    CK_LOSS_LOG_COSH,
    CK_LOSS_HUBER,
    CK_LOSS_COSINE,
    CK_LOSS_KIND_COUNT
} ck_loss_kind;

struct ck_loss {
    ck_loss_kind kind;
    ck_reduction reduction;
    bool from_function;   /* made from a function name ("mse") */
    char *given;          /* ck_loss_name: the class name or the function name as given */
    char *name;           /* config "name" (NULL: None) */
    /* class options (those a kind does not have keep their defaults) */
    bool from_logits;
    bool apply_class_balancing;
    int axis;
    bool has_ignore_class;
    int64_t ignore_class;
    double label_smoothing, alpha, gamma, delta;
    bool ls_is_int, alpha_is_int, gamma_is_int, delta_is_int; /* as JSON wrote them */
};

/* Per-call constants. */
typedef struct ck_loss_ctx {
    const ck_loss *loss;
    bool f32;            /* y_pred is float32: round constants and y_true to float */
    double eps, one_m_eps; /* backend.epsilon() and 1 - epsilon in y_pred's dtype */
    double ls;           /* label_smoothing in y_pred's dtype */
    double alpha, gamma, delta;
    bool hinge_binary;   /* hinge losses: every y_true is 0 or 1 (mapped to -1/+1) */
    const void *yt;      /* y_true data and dtype */
    ck_dtype yt_dtype;
    const void *yp;      /* y_pred data and dtype */
    ck_dtype yp_dtype;
    void *dy;            /* gradient (y_pred's dtype) or NULL */
    int64_t K, stride;   /* row length along the axis, distance between its elements */
} ck_loss_ctx;

/* One row: its first element in y_pred (and in y_true for the dense
 * losses; for the sparse one, `t0` is the label's index), and the factor of
 * its loss in the total (the gradient is scaled by it; unused without dy). */
typedef struct ck_loss_row {
    int64_t p0, t0;
    double coef;
} ck_loss_row;

typedef double (*ck_loss_kernel)(const ck_loss_ctx *c, const ck_loss_row *r);

/* Element access in any dtype. */
static inline double ck_loss_get(const void *data, ck_dtype dt, int64_t i)
{
    switch (dt) {
    case CK_FLOAT32: return (double)((const float *)data)[i];
    case CK_FLOAT64: return ((const double *)data)[i];
    case CK_INT32: return (double)((const int32_t *)data)[i];
    case CK_INT64: return (double)((const int64_t *)data)[i];
    }
    return 0.0;
}

static inline void ck_loss_put(void *data, ck_dtype dt, int64_t i, double v)
{
    if (dt == CK_FLOAT32)
        ((float *)data)[i] = (float)v;
    else
        ((double *)data)[i] = v;
}

/* y_true element i cast to y_pred's dtype, as tf.keras' losses do. */
static inline double ck_loss_true(const ck_loss_ctx *c, int64_t i)
{
    double t = ck_loss_get(c->yt, c->yt_dtype, i);
    return c->f32 ? (double)(float)t : t;
}

static inline double ck_loss_pred(const ck_loss_ctx *c, int64_t i)
{
    return ck_loss_get(c->yp, c->yp_dtype, i);
}

/* The kernel for a kind (regression.c, crossentropy.c, hinge.c). */
ck_loss_kernel ck_loss_regression_kernel(ck_loss_kind kind);
ck_loss_kernel ck_loss_crossentropy_kernel(ck_loss_kind kind);
ck_loss_kernel ck_loss_other_kernel(ck_loss_kind kind);

/* Sparse crossentropy: checks every label (except ignore_class) is in
 * [0, K); CK_VALUE_ERROR as TF's op words it otherwise.  Counts the labels
 * that are not ignore_class into *valid. */
ck_status ck_loss_sparse_labels(const ck_loss *loss, const ck_tensor *y_true, int64_t K, int64_t *valid);

/* Whether the sparse label at flat index i is ignore_class. */
bool ck_loss_sparse_ignored(const ck_loss *loss, const ck_tensor *y_true, int64_t i);

#endif
