/* Activation derivatives for training: dz = dy * f'(z), with TensorFlow's
 * choice at every kink (the gradient TF's registered op gradients give, so
 * that training matches tf.keras step for step). */
#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "params/activation_impl.h"
#include "params/groups.h"
#include "params/params.h"

#define GELU_C 0.7978845608028654          /* sqrt(2/pi) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */

int ck_activation_is_linear(const ck_activation *a) { return !a || a->kind == A_LINEAR; }

static int relu_is_plain(const ck_activation *a)
{
    return a->alpha == 0 && !a->has_max_value && a->threshold == 0;
}

int ck_activation_is_plain_relu(const ck_activation *a) { return a && a->kind == A_RELU && relu_is_plain(a); }

int ck_activation_fused_gate_kind(const ck_activation *a)
{
    return !a ? 0 : a->kind == A_SIGMOID ? 1 : a->kind == A_HARD_SIGMOID ? 2 : 0;
}

int ck_activation_grad_needs_input(const ck_activation *a)
{
    if (!a) return 0;
    switch (a->kind) {
    case A_LINEAR:
    case A_SIGMOID:
    case A_EXPONENTIAL:
    case A_TANH:
    case A_SOFTMAX:
    case A_LOG_SOFTMAX:
    case A_SELU:
    case A_RELU6: /* 0 < y < 6 exactly when 0 < z < 6 */
        return 0;
    case A_RELU: return !relu_is_plain(a);
    /* y > 0 exactly when z > 0 only for a positive slope / scale. */
    case A_ELU: return a->alpha < 0;
    case A_LEAKY_RELU: return a->alpha <= 0;
    default: return 1;
    }
}

static inline double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static inline double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Keras' relu(x, alpha, max_value, threshold) is a composition of TF ops
 * (see relu_full in activations.c); this is the chain rule through them:
 * relu / relu6 / leaky_relu grads are strict at their kinks, the
 * x * (x > threshold) mask is constant, clip_by_value (minimum then
 * maximum) passes the gradient at ties. */
static inline double relu_full_grad(const ck_activation *a, double x)
{
    if (a->alpha != 0 && !a->has_max_value && a->threshold == 0) return x > 0 ? 1.0 : a->alpha;
    double v, dv;
    int clip_max = a->has_max_value;
    if (a->threshold != 0) {
        v = x > a->threshold ? x : 0.0;
        dv = x > a->threshold;
    } else if (a->has_max_value && a->max_value == 6) {
        v = x;
        dv = x > 0 && x < 6;
        clip_max = 0;
    } else {
        v = x > 0 ? x : 0.0;
        dv = x > 0;
    }
    if (clip_max) {
        /* backend.clip raises max_value to min_value (0) when below it. */
        double m = a->max_value < 0 ? 0.0 : a->max_value;
        if (!(v <= m && fmin(v, m) >= 0)) dv = 0;
    }
    /* x -= alpha * relu(threshold - x): relu' is 1 where threshold - x > 0. */
    if (a->alpha != 0 && x < a->threshold) dv += a->alpha;
    return dv;
}

/* f'(x) for the elementwise activations; x or y may be garbage when the
 * activation does not need it (see ck_activation_grad_needs_input). */
static inline double deriv(const ck_activation *a, double x, double y)
{
    switch (a->kind) {
    case A_LINEAR: return 1.0;
    case A_RELU: return relu_is_plain(a) ? (y > 0) : relu_full_grad(a, x);
    case A_ELU:
        /* tf.where(x > 0, elu, alpha * elu); EluGrad is (y + 1) off the
         * positive side, so alpha * exp(x) = y + alpha, alpha at 0. */
        if (a->alpha < 0) return x > 0 ? 1.0 : a->alpha * exp(x);
        return y > 0 ? 1.0 : y + a->alpha;
    case A_SELU: return y < 0 ? y + CK_SELU_SCALE * CK_SELU_ALPHA : CK_SELU_SCALE;
    case A_SOFTPLUS: return sigmoid(x);
    case A_SOFTSIGN: {
        double d = 1.0 + fabs(x);
        return 1.0 / (d * d);
    }
    case A_SIGMOID: return y * (1.0 - y);
    case A_HARD_SIGMOID: {
        /* clip(0.2 x + 0.5, 0, 1): clip_by_value passes ties. */
        double v = 0.2 * x + 0.5;
        return v >= 0 && v <= 1 ? 0.2 : 0.0;
    }
    case A_HARD_SIGMOID_K3: {
        /* relu6(x + 3) / 6; Relu6Grad is strict at 0 and 6. */
        double u = x + 3.0;
        return u > 0 && u < 6 ? 1.0 / 6.0 : 0.0;
    }
    case A_EXPONENTIAL: return y;
    case A_TANH: return 1.0 - y * y;
    case A_SWISH:
    case A_SILU: {
        double s = sigmoid(x);
        return s * (1.0 + x * (1.0 - s));
    }
    case A_GELU:
        if (a->approximate) {
            double t = tanh(GELU_C * (x + 0.044715 * x * x * x));
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_C * (1.0 + 3 * 0.044715 * x * x);
        }
        return 0.5 * (1.0 + erf(x * 0.70710678118654752440)) + x * INV_SQRT_2PI * exp(-0.5 * x * x);
    case A_RELU6: return y > 0 && y < 6;
    case A_LEAKY_RELU:
        if (a->alpha <= 0) return x > 0 ? 1.0 : a->alpha;
        return y > 0 ? 1.0 : a->alpha;
    case A_MISH: {
        double t = tanh(softplus(x));
        return t + x * (1.0 - t * t) * sigmoid(x);
    }
    case A_HARD_SILU: {
        /* x * relu6(x + 3) / 6; Relu6Grad is strict at 0 and 6. */
        double u = x + 3.0;
        double r = u < 0 ? 0.0 : (u > 6 ? 6.0 : u);
        return r / 6.0 + (u > 0 && u < 6 ? x / 6.0 : 0.0);
    }
    case A_HARD_TANH: return x >= -1 && x <= 1;
    case A_LOG_SIGMOID: return sigmoid(-x);
    case A_CELU: return x > 0 ? 1.0 : exp(x / a->alpha);
    case A_SOFTMAX:
    case A_LOG_SOFTMAX: break;
    }
    return 0.0;
}

/* Every element of dz is written after its own z, y, dy are read, so dz
 * may alias any of them. */
#define EW_GRAD(T)                                                           \
    do {                                                                     \
        const T *zz = z, *yy = y, *gy = dy;                                  \
        T *gz = dz;                                                          \
        for (int64_t i = 0; i < n; i++) {                                    \
            double xv = zz ? (double)zz[i] : 0.0, yv = yy ? (double)yy[i] : 0.0; \
            gz[i] = (T)((double)gy[i] * deriv(a, xv, yv));                   \
        }                                                                    \
    } while (0)

/* softmax: dz = y * (dy - sum(dy * y)); log_softmax: dz = dy - exp(y) *
 * sum(dy); sums over each group of the configured axes.  The group sum is
 * taken before any element of the group is written, so dz may alias. */
#define SOFTMAX_GRAD(T)                                                      \
    do {                                                                     \
        const T *yy = y, *gy = dy;                                           \
        T *gz = dz;                                                          \
        for (int64_t k = 0; k < g->ngroups; k++) {                           \
            int64_t base = ck_groups_base(g, k);                             \
            double s = 0;                                                    \
            for (int64_t j = 0; j < g->gsize; j++) {                         \
                int64_t o = base + ck_groups_at(g, j);                       \
                s += log_ ? (double)gy[o] : (double)gy[o] * (double)yy[o];   \
            }                                                                \
            for (int64_t j = 0; j < g->gsize; j++) {                         \
                int64_t o = base + ck_groups_at(g, j);                       \
                double yo = (double)yy[o], go = (double)gy[o];               \
                gz[o] = (T)(log_ ? go - exp(yo) * s : yo * (go - s));        \
            }                                                                \
        }                                                                    \
    } while (0)

/* relu'(z) is y > 0 for y = relu(z): positive, neither zero nor NaN.  The
 * test is done on the bits (a positive sign bit-pattern no greater than
 * +inf's) because a float comparison may trap on NaN, which keeps the
 * compiler from vectorising it; dy * 1 or dy * 0 keeps the product's
 * -0 and NaN as the generic path gives them. */
/* The clones are static: GCC exports a non-static target_clones function
 * (its ifunc and resolver) from a shared library whatever its visibility,
 * and only the public API may leave libckeras.so. */
CK_TARGET_CLONES static void relu_grad_f32(int64_t n, const float *y, const float *dy, float *dz)
{
    for (int64_t i = 0; i < n; i++) {
        int32_t b;
        memcpy(&b, &y[i], sizeof b);
        dz[i] = dy[i] * (float)((b > 0) & (b <= 0x7f800000));
    }
}

CK_TARGET_CLONES static void relu_grad_f64(int64_t n, const double *y, const double *dy, double *dz)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t b;
        memcpy(&b, &y[i], sizeof b);
        dz[i] = dy[i] * (double)((b > 0) & (b <= INT64_C(0x7ff0000000000000)));
    }
}

void ck_relu_grad_f32(int64_t n, const float *y, const float *dy, float *dz) { relu_grad_f32(n, y, dy, dz); }

CK_TARGET_CLONES static void relu_grad_bias_f32(int64_t rows, int64_t cols, const float *y, const float *dy,
                                                float *dz, float *restrict bg)
{
    for (int64_t r = 0; r < rows; r++, y += cols, dy += cols, dz += cols)
        for (int64_t c = 0; c < cols; c++) {
            int32_t b;
            memcpy(&b, &y[c], sizeof b);
            dz[c] = dy[c] * (float)((b > 0) & (b <= 0x7f800000));
            bg[c] += dz[c];
        }
}

void ck_relu_grad_bias_f32(int64_t rows, int64_t cols, const float *y, const float *dy, float *dz, float *bg)
{
    relu_grad_bias_f32(rows, cols, y, dy, dz, bg);
}

void ck_relu_grad_f64(int64_t n, const double *y, const double *dy, double *dz) { relu_grad_f64(n, y, dy, dz); }

static ck_status grad_view(const ck_activation *a, ck_dtype dtype, int rank, const int64_t *shape,
                           int64_t n, const void *z, const void *y, const void *dy, void *dz)
{
    if (dtype != CK_FLOAT32 && dtype != CK_FLOAT64)
        return ck_error(CK_TYPE_ERROR, "activation '%s' gradient needs float32 or float64, got %s",
                        a->name, ck_dtype_name(dtype));
    if (n == 0) return CK_OK;
    if (!dy || !dz) return ck_error(CK_VALUE_ERROR, "activation '%s' gradient: dy or dz is NULL", a->name);
    if (a->kind == A_LINEAR) {
        if (dz != dy) memmove(dz, dy, (size_t)n * ck_dtype_size(dtype));
        return CK_OK;
    }
    int need_z = ck_activation_grad_needs_input(a);
    if (need_z && !z)
        return ck_error(CK_VALUE_ERROR, "activation '%s' gradient needs its input", a->name);
    if (!need_z && !y)
        return ck_error(CK_VALUE_ERROR, "activation '%s' gradient needs its output", a->name);
    if (a->kind == A_SOFTMAX || a->kind == A_LOG_SOFTMAX) {
        ck_groups gr;
        const ck_groups *g = &gr;
        CK_TRY(ck_groups_init(&gr, rank, shape, a->axes, a->naxes, a->name));
        int log_ = a->kind == A_LOG_SOFTMAX;
        if (dtype == CK_FLOAT32) SOFTMAX_GRAD(float);
        else SOFTMAX_GRAD(double);
        return CK_OK;
    }
    if (!need_z) z = NULL;
    if (need_z) y = NULL; /* every input-based derivative ignores y */
    if (ck_activation_is_plain_relu(a)) {
        /* The commonest case without the per-element switch and the trip
         * through double, so that it vectorises: dy * 1 or dy * 0 (the
         * product kept: -0 for a negative dy, NaN for an infinite one). */
        if (dtype == CK_FLOAT32) ck_relu_grad_f32(n, y, dy, dz);
        else ck_relu_grad_f64(n, y, dy, dz);
        return CK_OK;
    }
    if (dtype == CK_FLOAT32) EW_GRAD(float);
    else EW_GRAD(double);
    return CK_OK;
}

ck_status ck_activation_grad_rows(const ck_activation *a, ck_dtype dtype, const void *z, const void *y,
                                  const void *dy, void *dz, int64_t rows, int64_t cols)
{
    int64_t shape[2] = {rows, cols};
    return grad_view(a, dtype, 2, shape, rows * cols, z, y, dy, dz);
}

static int same_shape(const ck_tensor *a, const ck_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

ck_status ck_activation_grad(const ck_activation *a, const ck_tensor *z, const ck_tensor *y, const ck_tensor *dy,
                             ck_tensor *dz)
{
    if ((z && !same_shape(z, dy)) || (y && !same_shape(y, dy)) || !same_shape(dz, dy))
        return ck_error(CK_VALUE_ERROR, "activation '%s' gradient: tensors of different shapes or dtypes",
                        a->name);
    if (a->kind == A_SOFTMAX && dy->rank <= 1)
        return ck_error(CK_VALUE_ERROR, "Cannot apply softmax to a tensor that is 1D.");
    return grad_view(a, dy->dtype, dy->rank, dy->shape, dy->size, z ? z->data : NULL, y ? y->data : NULL,
                     dy->data, dz->data);
}
