/* tf.math.l2_normalize along one axis.
 *
 * out = x * rsqrt(max(sum(x^2), epsilon)).  Sums of squares and the scale
 * are computed in double for both float32 and float64, then each product
 * is rounded once to the input type; TensorFlow sums in the input type, so
 * float32 results may differ from TF's by an ulp or so.  A NaN sum stays
 * NaN (like tf.maximum), so NaNs propagate. */
#include <math.h>

#include "ops/ops.h"

/* Columns (positions after the axis) normalised together when the axis is
 * not the last one: their sums live on the stack. */
#define CHUNK 256

static double inv_norm(double sum, double eps)
{
    return 1.0 / sqrt(sum < eps ? eps : sum);
}

#define L2_NORMALIZE(T)                                                       \
    do {                                                                      \
        const T *src = x->data;                                               \
        T *dst = out->data;                                                   \
        for (int64_t o = 0; o < outer; o++) {                                 \
            const T *xs = src + o * n * inner;                                \
            T *ys = dst + o * n * inner;                                      \
            if (inner == 1) {                                                 \
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                        \
                int64_t i = 0;                                                \
                for (; i + 4 <= n; i += 4) {                                  \
                    s0 += (double)xs[i] * xs[i];                              \
                    s1 += (double)xs[i + 1] * xs[i + 1];                      \
                    s2 += (double)xs[i + 2] * xs[i + 2];                      \
                    s3 += (double)xs[i + 3] * xs[i + 3];                      \
                }                                                             \
                for (; i < n; i++) s0 += (double)xs[i] * xs[i];               \
                double r = inv_norm((s0 + s1) + (s2 + s3), epsilon);          \
                for (i = 0; i < n; i++) ys[i] = (T)(xs[i] * r);               \
                continue;                                                     \
            }                                                                 \
            for (int64_t j0 = 0; j0 < inner; j0 += CHUNK) {                   \
                int64_t w = inner - j0 < CHUNK ? inner - j0 : CHUNK;          \
                double acc[CHUNK];                                            \
                for (int64_t j = 0; j < w; j++) acc[j] = 0;                   \
                for (int64_t i = 0; i < n; i++) {                             \
                    const T *row = xs + i * inner + j0;                       \
                    for (int64_t j = 0; j < w; j++)                           \
                        acc[j] += (double)row[j] * row[j];                    \
                }                                                             \
                for (int64_t j = 0; j < w; j++) acc[j] = inv_norm(acc[j], epsilon); \
                for (int64_t i = 0; i < n; i++) {                             \
                    const T *row = xs + i * inner + j0;                       \
                    T *orow = ys + i * inner + j0;                            \
                    for (int64_t j = 0; j < w; j++) orow[j] = (T)(row[j] * acc[j]); \
                }                                                             \
            }                                                                 \
        }                                                                     \
    } while (0)

static ck_status check_input(const ck_tensor *x, int axis, int *ax)
{
    if (!x) return ck_error(CK_VALUE_ERROR, "l2_normalize: the input tensor is NULL");
    if (!ck_dtype_is_floating(x->dtype))
        return ck_error(CK_TYPE_ERROR,
                        "l2_normalize: expected a float32 or float64 tensor, got %s",
                        ck_dtype_name(x->dtype));
    CK_TRY(ck_normalize_axis(axis, x->rank, "l2_normalize", ax));
    if (!x->data)
        return ck_error(CK_VALUE_ERROR,
                        "l2_normalize: the input tensor has no data (symbolic)");
    return CK_OK;
}

static void compute(const ck_tensor *x, int ax, double epsilon, ck_tensor *out)
{
    int64_t outer = 1, inner = 1, n = x->shape[ax];
    for (int i = 0; i < ax; i++) outer *= x->shape[i];
    for (int i = ax + 1; i < x->rank; i++) inner *= x->shape[i];
    if (x->dtype == CK_FLOAT32) L2_NORMALIZE(float);
    else L2_NORMALIZE(double);
}

ck_status ck_l2_normalize(const ck_tensor *x, int axis, double epsilon,
                          ck_tensor **out)
{
    CK_NEED(x);
    CK_NEED(out);
    int ax;
    if (!out) return ck_error(CK_VALUE_ERROR, "l2_normalize: out is NULL");
    CK_TRY(check_input(x, axis, &ax));
    ck_tensor *t = NULL;
    CK_TRY(ck_tensor_new_uninit(&t, x->dtype, x->rank, x->shape));
    compute(x, ax, epsilon, t);
    *out = t;
    return CK_OK;
}

ck_status ck_l2_normalize_into(const ck_tensor *x, int axis, double epsilon,
                               ck_tensor *out)
{
    CK_NEED(x);
    CK_NEED(out);
    int ax;
    if (!out) return ck_error(CK_VALUE_ERROR, "l2_normalize: out is NULL");
    CK_TRY(check_input(x, axis, &ax));
    int same = out->dtype == x->dtype && out->rank == x->rank;
    for (int i = 0; same && i < x->rank; i++) same = out->shape[i] == x->shape[i];
    if (!same) {
        char want[256], got[256];
        ck_shape_str(want, sizeof want, x->rank, x->shape);
        ck_shape_str(got, sizeof got,
                     out->rank >= 0 && out->rank <= CK_MAX_RANK ? out->rank : 0,
                     out->shape);
        return ck_error(CK_VALUE_ERROR,
                        "l2_normalize: the output tensor is %s %s; expected %s %s",
                        ck_dtype_name(out->dtype), got, ck_dtype_name(x->dtype), want);
    }
    if (!out->data)
        return ck_error(CK_VALUE_ERROR, "l2_normalize: the output tensor has no data");
    compute(x, ax, epsilon, out);
    return CK_OK;
}

/* Cosine of row pairs: the sums of squares and the cross sum in double,
 * four partial sums each (as above). */
#define COSINE_ROWS(T)                                                                  \
    do {                                                                                \
        const T *xs = x->data, *ys = y->data;                                           \
        T *o = out->data;                                                               \
        for (int64_t r = 0; r < rows; r++, xs += n, ys += n) {                          \
            double xx[4] = {0}, yy[4] = {0}, xy[4] = {0};                               \
            int64_t i = 0;                                                              \
            for (; i + 4 <= n; i += 4)                                                  \
                for (int l = 0; l < 4; l++) {                                           \
                    double a = xs[i + l], b = ys[i + l];                                \
                    xx[l] += a * a, yy[l] += b * b, xy[l] += a * b;                     \
                }                                                                       \
            for (; i < n; i++) {                                                        \
                double a = xs[i], b = ys[i];                                            \
                xx[0] += a * a, yy[0] += b * b, xy[0] += a * b;                         \
            }                                                                           \
            double sx = (xx[0] + xx[1]) + (xx[2] + xx[3]), sy = (yy[0] + yy[1]) + (yy[2] + yy[3]); \
            double sxy = (xy[0] + xy[1]) + (xy[2] + xy[3]);                             \
            o[r] = (T)(sxy * inv_norm(sx, epsilon) * inv_norm(sy, epsilon));            \
        }                                                                               \
    } while (0)

/* float32 rows, 16 partial sums of each kind in double: the lanes are
 * explicit, so the vector copies (ops.h, CK_TARGET_CLONES) give the same
 * bits as the baseline one; 4 sums ran the siamese model's (256, 200)
 * rows at SSE width, 2% of its predict. */
enum { COS_LANES = 16 };

/* The lanes summed pairwise, in place. */
static double sum_lanes(double *v)
{
    for (int w = COS_LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) v[l] += v[l + w];
    return v[0];
}

CK_TARGET_CLONES static void cosine_rows_f32(const float *xs, const float *ys, int64_t rows, int64_t n,
                                             double epsilon, float *o)
{
    for (int64_t r = 0; r < rows; r++, xs += n, ys += n) {
        double xx[COS_LANES] = {0}, yy[COS_LANES] = {0}, xy[COS_LANES] = {0};
        int64_t i = 0;
        for (; i + COS_LANES <= n; i += COS_LANES)
            for (int l = 0; l < COS_LANES; l++) {
                const double a = xs[i + l], b = ys[i + l];
                xx[l] += a * a, yy[l] += b * b, xy[l] += a * b;
            }
        for (int l = 0; i < n; i++, l++) {
            const double a = xs[i], b = ys[i];
            xx[l] += a * a, yy[l] += b * b, xy[l] += a * b;
        }
        o[r] = (float)(sum_lanes(xy) * inv_norm(sum_lanes(xx), epsilon) * inv_norm(sum_lanes(yy), epsilon));
    }
}

int ck_cosine_rows_into(const ck_tensor *x, const ck_tensor *y, double epsilon, ck_tensor *out)
{
    if (x->rank != 2 || y->rank != 2 || x->shape[0] != y->shape[0] || x->shape[1] != y->shape[1] ||
        x->dtype != y->dtype || out->dtype != x->dtype || (x->dtype != CK_FLOAT32 && x->dtype != CK_FLOAT64) ||
        out->size != x->shape[0] || !x->data || !y->data || !out->data)
        return 0;
    int64_t rows = x->shape[0], n = x->shape[1];
    if (x->dtype == CK_FLOAT32) cosine_rows_f32(x->data, y->data, rows, n, epsilon, out->data);
    else COSINE_ROWS(double);
    return 1;
}
