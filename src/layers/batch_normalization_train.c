/* BatchNormalization in training calls and its backward pass.
 *
 * Training mode (ctx->training on a trainable layer) normalises with the
 * batch statistics over every axis but the normalised ones (biased
 * variance, as tf.nn.moments) and updates the moving statistics in place,
 * as tf.keras 2.15 does:
 *  - the non-fused path (any rank but a single-axis 4-D / 5-D float32 input)
 *    runs _assign_moving_average: moving -= (moving - batch_stat) * (1 - momentum),
 *    the biased variance for moving_variance;
 *  - the fused path (FusedBatchNormV3 with exponential_avg_factor f = 1 -
 *    momentum) computes (1 - f) * moving + f * batch_stat, and for the
 *    variance uses the Bessel-corrected batch variance n / (n - 1) while
 *    normalising with the biased one.
 * A frozen layer (trainable 0) runs in inference mode even in training
 * (tf.keras 2.x) and updates nothing.  The updates are therefore the
 * moving_mean / moving_variance weights, changed by ck_bn_train_call.
 *
 * saved = mean, rstd, and two per-parameter sums for backward, all double
 * (n_params each): batch statistics in training mode, the moving ones in
 * inference mode. */
#include <math.h>
#include <string.h>

#include "layers/batch_normalization.h"

/* Whether this call uses the batch statistics (Keras' training flag, which
 * a frozen layer overrides to False). */
static int batch_mode(const ck_layer *layer, const ck_train_ctx *ctx)
{
    return ctx && ctx->training && layer->trainable;
}

/* tf.keras 2.15's choice of FusedBatchNormV3 (build and __init__): fused
 * not False, one axis that is 1 or the last of a rank-4 / rank-5 input, and a
 * float32 compute dtype (the op has no float64 kernel). */
static int uses_fused(const ck_bn_layer *b)
{
    if (b->fused == 0 || b->naxes != 1 || b->base.dtype != CK_FLOAT32) return 0;
    if (b->rank != 4 && b->rank != 5) return 0;
    return b->axes[0] == 1 || b->axes[0] == b->rank - 1;
}

size_t ck_bn_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_bn_layer *b = (const ck_bn_layer *)layer;
    (void)n, (void)out;
    size_t count = 1;
    for (int i = 0; i < b->naxes; i++) {
        int d = b->axes[i] < 0 ? b->axes[i] + in[0].rank : b->axes[i];
        if (d >= 0 && d < in[0].rank && in[0].dims[d] > 0) count *= (size_t)in[0].dims[d];
    }
    return 4 * count * sizeof(double);
}

/* How elements map to parameters: with one axis, blocks of outer x chans x
 * inner; otherwise an odometer over the dims with the build's strides. */
typedef struct bn_view {
    int single;
    int64_t outer, chans, inner;
} bn_view;

static bn_view view_of(const ck_bn_layer *b, const ck_tensor *x)
{
    bn_view v = {.single = b->naxes == 1, .outer = 1, .chans = 1, .inner = 1};
    if (!v.single) return v;
    int axis = 0;
    for (int d = 0; d < x->rank; d++)
        if (b->axis_dims[d] >= 0) axis = d;
    for (int d = 0; d < axis; d++) v.outer *= x->shape[d];
    v.chans = x->shape[axis];
    for (int d = axis + 1; d < x->rank; d++) v.inner *= x->shape[d];
    return v;
}

/* Runs BODY for every element i of x with p its parameter index. */
#define BN_EACH(b, v, x, BODY)                                                  \
    do {                                                                        \
        if ((v).single) {                                                       \
            int64_t i = 0;                                                      \
            for (int64_t o_ = 0; o_ < (v).outer; o_++)                          \
                for (int64_t p = 0; p < (v).chans; p++)                         \
                    for (int64_t k_ = 0; k_ < (v).inner; k_++, i++) { BODY; }   \
        } else {                                                                \
            int64_t idx_[CK_MAX_RANK] = {0}, p = 0;                             \
            for (int64_t i = 0; i < (x)->size; i++) {                           \
                BODY;                                                           \
                for (int d_ = (x)->rank - 1; d_ >= 0; d_--) {                   \
                    idx_[d_]++;                                                 \
                    p += (b)->pstride[d_];                                      \
                    if (idx_[d_] < (x)->shape[d_]) break;                       \
                    p -= (b)->pstride[d_] * (x)->shape[d_];                     \
                    idx_[d_] = 0;                                               \
                }                                                               \
            }                                                                   \
        }                                                                       \
    } while (0)

/* Batch mean and biased variance (two passes, double sums) into mean and
 * var; count = elements per parameter. */
#define BN_MOMENTS(T)                                                           \
    do {                                                                        \
        const T *xs = x->data;                                                  \
        memset(mean, 0, (size_t)P * sizeof *mean);                              \
        memset(var, 0, (size_t)P * sizeof *var);                                \
        BN_EACH(b, v, x, mean[p] += xs[i]);                                     \
        for (int64_t k = 0; k < P; k++) mean[k] /= (double)count;               \
        BN_EACH(b, v, x, double d = xs[i] - mean[p]; var[p] += d * d);          \
        for (int64_t k = 0; k < P; k++) var[k] /= (double)count;                \
    } while (0)

/* tf.nn.batch_normalization with the batch statistics, in T:
 * inv = rsqrt(var + eps) * gamma, y = x * inv + (beta - mean * inv). */
#define BN_NORMALISE(T, SQRT)                                                   \
    do {                                                                        \
        T *inv = b->inv, *off = b->offset, *ys = out->data;                     \
        const T *xs = x->data;                                                  \
        const T *gamma = b->gamma ? b->gamma->value->data : NULL;               \
        const T *beta = b->beta ? b->beta->value->data : NULL;                  \
        for (int64_t k = 0; k < P; k++) {                                       \
            T m = (T)mean[k], s = (T)1 / SQRT((T)var[k] + (T)b->epsilon);       \
            rstd[k] = 1.0 / sqrt(var[k] + b->epsilon);                          \
            if (gamma) s *= gamma[k];                                           \
            inv[k] = s;                                                         \
            off[k] = beta ? beta[k] - m * s : -m * s;                           \
        }                                                                       \
        BN_EACH(b, v, x, ys[i] = xs[i] * inv[p] + off[p]);                      \
    } while (0)

/* The moving statistics' updates (see the top of the file). */
#define BN_UPDATE(T)                                                            \
    do {                                                                        \
        T *mm = b->moving_mean->value->data, *mv = b->moving_variance->value->data; \
        T f = (T)(float)(1.0 - b->momentum); /* TF: a float32 constant, cast */ \
        if (uses_fused(b)) {                                                    \
            T keep = (T)1 - f;                                                  \
            T adjust = (T)count / (T)(count > 1 ? count - 1 : 1);               \
            for (int64_t k = 0; k < P; k++) {                                   \
                mm[k] = keep * mm[k] + f * (T)mean[k];                          \
                mv[k] = keep * mv[k] + (f * adjust) * (T)var[k];                \
            }                                                                   \
        } else {                                                                \
            for (int64_t k = 0; k < P; k++) {                                   \
                mm[k] -= (mm[k] - (T)mean[k]) * f;                              \
                mv[k] -= (mv[k] - (T)var[k]) * f;                               \
            }                                                                   \
        }                                                                       \
    } while (0)

ck_status ck_bn_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                           ck_tensor *const *outs, void *saved)
{
    ck_bn_layer *b = (ck_bn_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *out = outs[0];
    const int64_t P = b->n_params;
    double *mean = saved, *rstd = mean + P, *var = rstd + P;
    if (!batch_mode(layer, ctx) || x->size == 0) {
        /* Inference mode: the moving statistics, kept for backward.  (An
         * empty batch has no statistics; TF would write NaN into the moving
         * ones.) */
        CK_TRY(ck_batch_normalization_class.call_scratch(layer, n, in, outs, b->inv));
        for (int64_t k = 0; k < P; k++) {
            double mm = ck_tensor_get(b->moving_mean->value, k), mv = ck_tensor_get(b->moving_variance->value, k);
            mean[k] = mm;
            rstd[k] = 1.0 / sqrt(mv + b->epsilon);
        }
        return CK_OK;
    }
    const int64_t count = x->size / P;
    bn_view v = view_of(b, x);
    if (layer->dtype == CK_FLOAT32) {
        BN_MOMENTS(float);
        BN_NORMALISE(float, sqrtf);
        BN_UPDATE(float);
    } else {
        BN_MOMENTS(double);
        BN_NORMALISE(double, sqrt);
        BN_UPDATE(double);
    }
    return CK_OK;
}

/* With xhat = (x - mean) * rstd and g = gamma (1 without scale):
 *   dbeta = sum dy, dgamma = sum dy * xhat;
 *   training mode (mean and variance depend on x):
 *     dx = g * rstd * (dy - dbeta / n - xhat * dgamma / n);
 *   inference mode: dx = g * rstd * dy. */
#define BN_BACKWARD(T)                                                                            \
    do {                                                                                          \
        const T *xs = x->data, *dys = dout->data;                                                 \
        const T *gamma = b->gamma ? b->gamma->value->data : NULL;                                 \
        memset(s1, 0, (size_t)P * sizeof *s1);                                                    \
        memset(s2, 0, (size_t)P * sizeof *s2);                                                    \
        BN_EACH(b, v, x, s1[p] += dys[i]; s2[p] += dys[i] * (xs[i] - mean[p]) * rstd[p]);         \
        if (b->gamma && b->gamma->grad) {                                                         \
            T *g = b->gamma->grad->data;                                                          \
            for (int64_t k = 0; k < P; k++) g[k] += (T)s2[k];                                     \
        }                                                                                         \
        if (b->beta && b->beta->grad) {                                                           \
            T *g = b->beta->grad->data;                                                           \
            for (int64_t k = 0; k < P; k++) g[k] += (T)s1[k];                                     \
        }                                                                                         \
        if (dx) {                                                                                 \
            T *dxs = dx->data;                                                                    \
            if (training) {                                                                       \
                const double inv_n = 1.0 / (double)count;                                         \
                BN_EACH(b, v, x,                                                                  \
                        double xhat = (xs[i] - mean[p]) * rstd[p];                                \
                        double gs = (gamma ? gamma[p] : 1.0) * rstd[p];                           \
                        dxs[i] = (T)(gs * (dys[i] - s1[p] * inv_n - xhat * s2[p] * inv_n)));      \
            } else {                                                                              \
                BN_EACH(b, v, x, dxs[i] = (T)((gamma ? gamma[p] : 1.0) * rstd[p] * dys[i]));      \
            }                                                                                     \
        }                                                                                         \
    } while (0)

ck_status ck_bn_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                         const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    ck_bn_layer *b = (ck_bn_layer *)layer;
    const ck_tensor *x = in[0];
    ck_tensor *dx = din ? din[0] : NULL;
    const int64_t P = b->n_params;
    double *mean = saved, *rstd = mean + P, *s1 = rstd + P, *s2 = s1 + P;
    (void)n, (void)out;
    if (x->size == 0) return CK_OK;
    const int training = batch_mode(layer, ctx);
    const int64_t count = x->size / P;
    bn_view v = view_of(b, x);
    if (layer->dtype == CK_FLOAT32) BN_BACKWARD(float);
    else BN_BACKWARD(double);
    return CK_OK;
}
