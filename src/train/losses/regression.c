/* The regression losses: mean over the last axis of an elementwise term.
 * mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
 * mean_squared_logarithmic_error, poisson, log_cosh, huber -- each term and
 * its derivative in y_pred, following tf.keras 2.x's formulas and TF's
 * gradients (max(x, c) passes the gradient where x >= c; |x|' = sign(x),
 * 0 at 0). */
#include <math.h>

#include "train/losses/loss_impl.h"

typedef double (*elem_fn)(const ck_loss_ctx *c, double t, double p, double *g);

static double sign(double x) { return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0; }

/* (p - t)^2 */
static double mse(const ck_loss_ctx *c, double t, double p, double *g)
{
    (void)c;
    double e = p - t;
    *g = 2.0 * e;
    return e * e;
}

/* |p - t| */
static double mae(const ck_loss_ctx *c, double t, double p, double *g)
{
    (void)c;
    *g = sign(p - t);
    return fabs(p - t);
}

/* 100 |(t - p) / max(|t|, eps)|  (the 100 is applied after the mean in
 * Keras; it is a constant factor either way) */
static double mape(const ck_loss_ctx *c, double t, double p, double *g)
{
    double d = fmax(fabs(t), c->eps);
    double q = (t - p) / d;
    *g = -100.0 * sign(q) / d;
    return 100.0 * fabs(q);
}

/* (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2 */
static double msle(const ck_loss_ctx *c, double t, double p, double *g)
{
    double pm = fmax(p, c->eps);
    double a = log(pm + 1.0), b = log(fmax(t, c->eps) + 1.0);
    *g = p >= c->eps ? 2.0 * (a - b) / (pm + 1.0) : 0.0;
    return (a - b) * (a - b);
}

/* p - t log(p + eps) */
static double poisson(const ck_loss_ctx *c, double t, double p, double *g)
{
    *g = 1.0 - t / (p + c->eps);
    return p - t * log(p + c->eps);
}

static double softplus(double z) { return fmax(z, 0.0) + log1p(exp(-fabs(z))); }

/* x + softplus(-2x) - log(2), x = p - t */
static double log_cosh(const ck_loss_ctx *c, double t, double p, double *g)
{
    double x = p - t;
    (void)c;
    /* tf.cast(tf.math.log(2.0), x.dtype): log(2) is computed in float32 */
    const double ln2 = (double)(float)0.69314718055994530942;
    *g = 1.0 - 2.0 / (1.0 + exp(2.0 * x)); /* 1 - 2 sigmoid(-2x) */
    return x + softplus(-2.0 * x) - ln2;
}

/* 0.5 e^2 where |e| <= delta, else delta |e| - 0.5 delta^2; e = p - t */
static double huber(const ck_loss_ctx *c, double t, double p, double *g)
{
    double e = p - t, a = fabs(e), d = c->delta;
    if (a <= d) {
        *g = e;
        return 0.5 * e * e;
    }
    *g = d * sign(e);
    return d * a - 0.5 * d * d;
}

static double mean_row(const ck_loss_ctx *c, const ck_loss_row *r, elem_fn f)
{
    double s = 0.0, g, k = (double)c->K;
    for (int64_t j = 0; j < c->K; j++) {
        int64_t ip = r->p0 + j * c->stride, it = r->t0 + j * c->stride;
        s += f(c, ck_loss_true(c, it), ck_loss_pred(c, ip), &g);
        if (c->dy) ck_loss_put(c->dy, c->yp_dtype, ip, r->coef * g / k);
    }
    return s / k;
}

static double row_mse(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, mse); }
static double row_mae(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, mae); }
static double row_mape(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, mape); }
static double row_msle(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, msle); }
static double row_poisson(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, poisson); }
static double row_log_cosh(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, log_cosh); }
static double row_huber(const ck_loss_ctx *c, const ck_loss_row *r) { return mean_row(c, r, huber); }

ck_loss_kernel ck_loss_regression_kernel(ck_loss_kind kind)
{
    switch (kind) {
    case CK_LOSS_MSE: return row_mse;
    case CK_LOSS_MAE: return row_mae;
    case CK_LOSS_MAPE: return row_mape;
    case CK_LOSS_MSLE: return row_msle;
    case CK_LOSS_POISSON: return row_poisson;
    case CK_LOSS_LOG_COSH: return row_log_cosh;
    case CK_LOSS_HUBER: return row_huber;
    default: return NULL;
    }
}
