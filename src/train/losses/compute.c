/* The loss driver: shape checks, sample_weight broadcasting as Keras'
 * losses_utils does it, the reductions, and the two entry points
 * ck_loss_compute (Loss.__call__) and ck_loss_value_grad (the training
 * step's loss and its gradient; allocates nothing). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/losses/loss_impl.h"

/* ---- shapes -------------------------------------------------------------- */

static bool has_axis(ck_loss_kind k)
{
    return k == CK_LOSS_BCE || k == CK_LOSS_BFCE || k == CK_LOSS_CCE || k == CK_LOSS_SCCE ||
           k == CK_LOSS_COSINE;
}

static bool dim_ok(int64_t a, int64_t b) { return a < 0 || b < 0 || a == b; }

static ck_status shape_error(const ck_loss *loss, int tr, const int64_t *td, int pr, const int64_t *pd,
                             const char *why)
{
    char a[128], b[128];
    return ck_error(CK_VALUE_ERROR, "%s: y_true shape %s and y_pred shape %s are incompatible%s",
                    ck_loss_canonical(loss), ck_shape_str(a, sizeof a, tr, td),
                    ck_shape_str(b, sizeof b, pr, pd), why);
}

/* Checks y_true against y_pred and gives the reduced axis of y_pred.
 * Dense losses: the same shape, or one that differs by a trailing dim of 1
 * (y_true (batch,) for y_pred (batch, 1) is expanded as Keras' compile
 * does); sparse: y_pred's shape without the axis, with or without a
 * trailing 1. */
static ck_status fit(const ck_loss *loss, int tr, const int64_t *td, int pr, const int64_t *pd, int *axis)
{
    if (pr < 1) return shape_error(loss, tr, td, pr, pd, ": y_pred needs a rank of at least 1");
    int a = pr - 1;
    if (has_axis(loss->kind)) CK_TRY(ck_normalize_axis(loss->axis, pr, ck_loss_canonical(loss), &a));
    if (loss->kind == CK_LOSS_SCCE) {
        int64_t want[CK_MAX_RANK + 1];
        int n = 0;
        for (int d = 0; d < pr; d++)
            if (d != a) want[n++] = pd[d];
        bool ok = tr == n || (tr == n + 1 && dim_ok(td[n], 1));
        for (int d = 0; ok && d < n; d++) ok = dim_ok(td[d], want[d]);
        if (!ok) {
            char w[128];
            char why[300];
            ck_shape_str(w, sizeof w, n, want);
            snprintf(why, sizeof why, " (expected integer labels of shape %s)", w);
            return shape_error(loss, tr, td, pr, pd, why);
        }
        *axis = a;
        return CK_OK;
    }
    bool ok = false;
    if (tr == pr) {
        ok = true;
        for (int d = 0; ok && d < pr; d++) ok = dim_ok(td[d], pd[d]);
    } else if (tr == pr - 1 || tr == pr + 1) {
        int lo = tr < pr ? tr : pr;
        const int64_t *longer = tr < pr ? pd : td;
        ok = dim_ok(longer[lo], 1);
        for (int d = 0; ok && d < lo; d++) ok = dim_ok(td[d], pd[d]);
    }
    if (!ok) return shape_error(loss, tr, td, pr, pd, "");
    *axis = a;
    return CK_OK;
}

ck_status ck_loss_check_shapes(const ck_loss *loss, const ck_shape *y_true, const ck_shape *y_pred)
{
    int axis;
    return fit(loss, y_true->rank, y_true->dims, y_pred->rank, y_pred->dims, &axis);
}

/* ---- the plan of one call ---------------------------------------------------- */

typedef struct plan {
    ck_loss_ctx c;
    ck_loss_kernel kernel;
    int64_t outer, inner;      /* rows = outer * inner */
    int lrank;                 /* the per-sample losses: y_pred without the axis */
    int64_t ldims[CK_MAX_RANK];
    const ck_tensor *sw;       /* NULL: weight 1 */
    int64_t wstride[CK_MAX_RANK]; /* sample_weight offsets per losses dim (0: broadcast) */
    double mask_scale;         /* ignore_class: total / valid for sum_over_batch_size */
} plan;

static ck_loss_kernel kernel_for(ck_loss_kind k)
{
    ck_loss_kernel f = ck_loss_regression_kernel(k);
    if (!f) f = ck_loss_crossentropy_kernel(k);
    if (!f) f = ck_loss_other_kernel(k);
    return f;
}

/* sample_weight against the losses' shape, as squeeze_or_expand_dimensions
 * then broadcasting: a scalar; one more dim (of 1) is squeezed, one fewer
 * gets a trailing 1; the rest must broadcast to the losses' shape. */
static ck_status plan_weights(plan *pl, const ck_tensor *sw)
{
    memset(pl->wstride, 0, sizeof pl->wstride);
    pl->sw = sw;
    if (!sw || sw->rank == 0) return CK_OK;
    char a[128], b[128];
    if (!ck_dtype_is_floating(sw->dtype) && sw->dtype != CK_INT32 && sw->dtype != CK_INT64)
        return ck_error(CK_TYPE_ERROR, "%s: sample_weight has an invalid dtype", ck_loss_canonical(pl->c.loss));
    if (sw->size > 0 && !sw->data)
        return ck_error(CK_VALUE_ERROR, "%s: sample_weight has no data (symbolic?)", ck_loss_canonical(pl->c.loss));
    int64_t dims[CK_MAX_RANK + 1];
    int r = sw->rank;
    memcpy(dims, sw->shape, sizeof(int64_t) * (size_t)r);
    if (r - pl->lrank == 1) {
        if (dims[r - 1] != 1)
            return ck_error(CK_VALUE_ERROR, "%s: sample_weight shape %s does not broadcast to the losses' "
                            "shape %s", ck_loss_canonical(pl->c.loss), ck_shape_str(a, sizeof a, sw->rank, sw->shape),
                            ck_shape_str(b, sizeof b, pl->lrank, pl->ldims));
        r--;
    } else if (pl->lrank - r == 1) {
        dims[r++] = 1;
    }
    bool ok = r <= pl->lrank;
    int64_t stride = 1;
    for (int d = r - 1; ok && d >= 0; d--) {
        int ld = pl->lrank - r + d;
        if (dims[d] == pl->ldims[ld])
            pl->wstride[ld] = dims[d] == 1 ? 0 : stride;
        else if (dims[d] != 1)
            ok = false;
        stride *= dims[d];
    }
    if (!ok)
        return ck_error(CK_VALUE_ERROR, "%s: sample_weight shape %s does not broadcast to the losses' shape %s",
                        ck_loss_canonical(pl->c.loss), ck_shape_str(a, sizeof a, sw->rank, sw->shape),
                        ck_shape_str(b, sizeof b, pl->lrank, pl->ldims));
    return CK_OK;
}

static ck_status make_plan(plan *pl, const ck_loss *loss, const ck_tensor *y_true, const ck_tensor *y_pred,
                           const ck_tensor *sw, ck_reduction red)
{
    const char *who = ck_loss_canonical(loss);
    if (!y_true || !y_pred) return ck_error(CK_VALUE_ERROR, "%s: y_true and y_pred are required", who);
    if (!ck_dtype_is_floating(y_pred->dtype))
        return ck_error(CK_TYPE_ERROR, "%s: y_pred must be float32 or float64, got %s", who,
                        ck_dtype_name(y_pred->dtype));
    if (!ck_dtype_is_floating(y_true->dtype) && y_true->dtype != CK_INT32 && y_true->dtype != CK_INT64)
        return ck_error(CK_TYPE_ERROR, "%s: y_true has an invalid dtype", who);
    if ((y_pred->size > 0 && !y_pred->data) || (y_true->size > 0 && !y_true->data))
        return ck_error(CK_VALUE_ERROR, "%s: y_true and y_pred need data (symbolic tensors given?)", who);
    int axis;
    CK_TRY(fit(loss, y_true->rank, y_true->shape, y_pred->rank, y_pred->shape, &axis));
    memset(pl, 0, sizeof *pl);
    ck_loss_ctx *c = &pl->c;
    c->loss = loss;
    c->f32 = y_pred->dtype == CK_FLOAT32;
    c->eps = c->f32 ? (double)(float)1e-7 : 1e-7;
    c->one_m_eps = c->f32 ? (double)(1.0f - (float)1e-7) : 1.0 - 1e-7;
    c->ls = c->f32 ? (double)(float)loss->label_smoothing : loss->label_smoothing;
    c->alpha = c->f32 ? (double)(float)loss->alpha : loss->alpha;
    c->gamma = c->f32 ? (double)(float)loss->gamma : loss->gamma;
    c->delta = c->f32 ? (double)(float)loss->delta : loss->delta;
    c->yt = y_true->data;
    c->yt_dtype = y_true->dtype;
    c->yp = y_pred->data;
    c->yp_dtype = y_pred->dtype;
    c->K = y_pred->shape[axis];
    pl->outer = 1;
    pl->inner = 1;
    for (int d = 0; d < axis; d++) pl->outer *= y_pred->shape[d];
    for (int d = axis + 1; d < y_pred->rank; d++) pl->inner *= y_pred->shape[d];
    c->stride = pl->inner;
    pl->lrank = 0;
    for (int d = 0; d < y_pred->rank; d++)
        if (d != axis) pl->ldims[pl->lrank++] = y_pred->shape[d];
    pl->kernel = kernel_for(loss->kind);
    pl->mask_scale = 1.0;
    if (loss->kind == CK_LOSS_HINGE || loss->kind == CK_LOSS_SQUARED_HINGE) {
        c->hinge_binary = true;
        for (int64_t i = 0; i < y_true->size && c->hinge_binary; i++) {
            double t = ck_loss_true(c, i);
            c->hinge_binary = t == 0.0 || t == 1.0;
        }
    }
    if (loss->kind == CK_LOSS_SCCE) {
        int64_t valid;
        CK_TRY(ck_loss_sparse_labels(loss, y_true, c->K, &valid));
        if (loss->has_ignore_class && red != CK_REDUCTION_NONE && red != CK_REDUCTION_SUM)
            pl->mask_scale = (double)y_true->size / (double)valid; /* apply_valid_mask */
    }
    return plan_weights(pl, sw);
}

/* Runs every row: out (NULL, or the per-sample weighted losses in y_pred's
 * dtype), the weighted sum into *total; gradient coefficients are
 * scale * weight * mask / divisor, with `divisor` the reduction's. */
static void run(const plan *pl, ck_reduction red, double scale, void *dy, void *out, double *total)
{
    ck_loss_ctx c = pl->c;
    c.dy = dy;
    int64_t n = pl->outer * pl->inner;
    double div = red == CK_REDUCTION_SUM || red == CK_REDUCTION_NONE ? 1.0 : (double)n;
    bool sparse = pl->c.loss->kind == CK_LOSS_SCCE;
    int64_t idx[CK_MAX_RANK] = {0}, woff = 0;
    double wscalar = 1.0;
    if (pl->sw && pl->sw->rank == 0) wscalar = ck_tensor_get(pl->sw, 0);
    double sum = 0.0;
    for (int64_t o = 0, li = 0; o < pl->outer; o++) {
        for (int64_t i = 0; i < pl->inner; i++, li++) {
            double w = pl->sw && pl->sw->rank > 0 ? ck_tensor_get(pl->sw, woff) : wscalar;
            if (c.f32) w = (double)(float)w;
            if (sparse && pl->c.loss->has_ignore_class) {
                bool ignored = (int64_t)ck_loss_get(c.yt, c.yt_dtype, li) == pl->c.loss->ignore_class;
                w *= (ignored ? 0.0 : 1.0) * pl->mask_scale;
            }
            ck_loss_row r = {o * c.K * pl->inner + i, sparse ? li : o * c.K * pl->inner + i, 0.0};
            r.coef = div == 0.0 ? 0.0 : scale * w / div;
            double l = pl->kernel(&c, &r);
            double wl = l * w;
            if (out) ck_loss_put(out, c.yp_dtype, li, wl);
            sum += wl;
            for (int d = pl->lrank - 1; d >= 0; d--) {
                woff += pl->wstride[d];
                if (++idx[d] < pl->ldims[d]) break;
                woff -= pl->wstride[d] * pl->ldims[d];
                idx[d] = 0;
            }
        }
    }
    if (red == CK_REDUCTION_SUM || red == CK_REDUCTION_NONE)
        *total = sum;
    else
        *total = n == 0 ? 0.0 : sum / (double)n; /* divide_no_nan */
}

static ck_reduction effective(ck_reduction r) { return r == CK_REDUCTION_AUTO ? CK_REDUCTION_SUM_OVER_BATCH_SIZE : r; }

ck_status ck_loss_compute(const ck_loss *loss, const ck_tensor *y_true, const ck_tensor *y_pred,
                          const ck_tensor *sample_weight, ck_tensor **out)
{
    CK_NEED(loss);
    CK_NEED(y_true);
    CK_NEED(y_pred);
    CK_NEED(out);
    if (!loss || !out) return ck_error(CK_VALUE_ERROR, "ck_loss_compute: loss and out are required");
    ck_reduction red = effective(loss->reduction);
    plan pl;
    CK_TRY(make_plan(&pl, loss, y_true, y_pred, sample_weight, red));
    ck_tensor *t = NULL;
    if (red == CK_REDUCTION_NONE)
        CK_TRY(ck_tensor_new_uninit(&t, y_pred->dtype, pl.lrank, pl.ldims));
    else
        CK_TRY(ck_tensor_new_uninit(&t, y_pred->dtype, 0, NULL));
    double total;
    run(&pl, red, 1.0, NULL, red == CK_REDUCTION_NONE ? t->data : NULL, &total);
    if (red != CK_REDUCTION_NONE) ck_loss_put(t->data, t->dtype, 0, total);
    *out = t;
    return CK_OK;
}

ck_status ck_loss_value_grad(const ck_loss *loss, const ck_tensor *y_true, const ck_tensor *y_pred,
                             const ck_tensor *sample_weight, double scale, double *value, ck_tensor *dy)
{
    if (!loss || !value) return ck_error(CK_VALUE_ERROR, "ck_loss_value_grad: loss and value are required");
    ck_reduction red = effective(loss->reduction);
    if (red == CK_REDUCTION_NONE) red = CK_REDUCTION_SUM_OVER_BATCH_SIZE;
    plan pl;
    CK_TRY(make_plan(&pl, loss, y_true, y_pred, sample_weight, red));
    if (dy) {
        bool ok = dy->dtype == y_pred->dtype && dy->rank == y_pred->rank && (dy->data || dy->size == 0);
        for (int d = 0; ok && d < dy->rank; d++) ok = dy->shape[d] == y_pred->shape[d];
        if (!ok) {
            char a[128], b[128];
            return ck_error(CK_VALUE_ERROR, "%s: the gradient tensor (%s %s) must have y_pred's dtype and shape "
                            "(%s %s)", ck_loss_canonical(loss), ck_dtype_name(dy->dtype),
                            ck_shape_str(a, sizeof a, dy->rank, dy->shape), ck_dtype_name(y_pred->dtype),
                            ck_shape_str(b, sizeof b, y_pred->rank, y_pred->shape));
        }
    }
    double total;
    run(&pl, red, scale, dy ? dy->data : NULL, NULL, &total);
    *value = scale * total;
    return CK_OK;
}
