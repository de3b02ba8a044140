/* Initializers, second half: filling tensors with the distributions of
 * tf.keras 2.x (the configs are read and written in initializers.c). */
#include <math.h>
#include <string.h>

#include "params/initializer_impl.h"
#include "params/util.h"

/* ---- Filling ------------------------------------------------------------ */

void ck_compute_fans(int rank, const int64_t *shape, double *fan_in, double *fan_out)
{
    CK_NEED_VOID(fan_in);
    CK_NEED_VOID(fan_out);
    if (rank > 0 && !shape) {
        ck_null_arg(__func__, "shape");
        *fan_in = *fan_out = 1;
        return;
    }
    if (rank < 1) {
        *fan_in = *fan_out = 1;
    } else if (rank == 1) {
        *fan_in = *fan_out = (double)shape[0];
    } else {
        double rf = 1;
        for (int i = 0; i < rank - 2; i++) rf *= (double)shape[i];
        *fan_in = (double)shape[rank - 2] * rf;
        *fan_out = (double)shape[rank - 1] * rf;
    }
}

static inline void put(ck_tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case CK_FLOAT32: ((float *)t->data)[i] = (float)v; break;
    case CK_FLOAT64: ((double *)t->data)[i] = v; break;
    case CK_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case CK_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    }
}

/* Normal with redraws beyond 2 standard deviations. */
static double truncated(ck_rng *rng)
{
    double z;
    do z = ck_rng_normal(rng);
    while (fabs(z) > 2.0);
    return z;
}

static void flatten_values(const json_t *v, ck_tensor *t, int64_t *i)
{
    if (json_is_array(v)) {
        for (size_t k = 0; k < json_array_size(v); k++) flatten_values(json_array_get(v, k), t, i);
        return;
    }
    put(t, (*i)++, json_is_integer(v) ? (double)json_integer_value(v)
                   : json_is_real(v)  ? json_real_value(v)
                                      : (json_is_true(v) ? 1.0 : 0.0));
}

/* Q of a thin Householder QR of a normal (n x m) matrix, n >= m, columns
 * flipped by sign(diag(R)), written as (rows, cols) times gain. */
static ck_status orthogonal(const ck_initializer *in, ck_rng *rng, ck_tensor *t, int64_t rows,
                            int64_t cols)
{
    int64_t n = rows > cols ? rows : cols, m = rows > cols ? cols : rows;
    double *a = ck_malloc((size_t)(n * m) * sizeof(double));      /* column-major */
    double *q = ck_malloc((size_t)(n * m) * sizeof(double));
    double *aux = ck_malloc((size_t)(2 * m) * sizeof(double));    /* rdiag, beta */
    if (!a || !q || !aux) {
        ck_free(a);
        ck_free(q);
        ck_free(aux);
        return ck_oom("the Orthogonal initializer's scratch matrix");
    }
    double *rdiag = aux, *beta = aux + m;
    /* Drawn row by row like a (n, m) row-major normal matrix. */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < m; j++) a[j * n + i] = ck_rng_normal(rng);
    for (int64_t k = 0; k < m; k++) {
        double *v = a + k * n;
        double norm = 0;
        for (int64_t i = k; i < n; i++) norm += v[i] * v[i];
        norm = sqrt(norm);
        if (norm == 0) {
            rdiag[k] = 0;
            beta[k] = 0;
            continue;
        }
        double alpha = v[k] >= 0 ? -norm : norm;
        v[k] -= alpha;
        double vv = 0;
        for (int64_t i = k; i < n; i++) vv += v[i] * v[i];
        rdiag[k] = alpha;
        beta[k] = 2.0 / vv;
        for (int64_t j = k + 1; j < m; j++) {
            double *c = a + j * n, s = 0;
            for (int64_t i = k; i < n; i++) s += v[i] * c[i];
            s *= beta[k];
            for (int64_t i = k; i < n; i++) c[i] -= s * v[i];
        }
    }
    /* Q = H_0 ... H_{m-1} applied to the first m columns of I. */
    memset(q, 0, (size_t)(n * m) * sizeof(double));
    for (int64_t j = 0; j < m; j++) q[j * n + j] = 1.0;
    for (int64_t k = m - 1; k >= 0; k--) {
        if (beta[k] == 0) continue;
        const double *v = a + k * n;
        for (int64_t j = k; j < m; j++) {
            double *c = q + j * n, s = 0;
            for (int64_t i = k; i < n; i++) s += v[i] * c[i];
            s *= beta[k];
            for (int64_t i = k; i < n; i++) c[i] -= s * v[i];
        }
    }
    double gain = in->p[0];
    for (int64_t j = 0; j < m; j++) {
        double sg = rdiag[j] > 0 ? gain : (rdiag[j] < 0 ? -gain : 0.0);
        for (int64_t i = 0; i < n; i++) {
            double v = q[j * n + i] * sg;
            /* rows >= cols: out[i][j] = Q[i][j]; else out = Q^T. */
            if (rows >= cols) put(t, i * cols + j, v);
            else put(t, j * cols + i, v);
        }
    }
    ck_free(a);
    ck_free(q);
    ck_free(aux);
    return CK_OK;
}

ck_status ck_initializer_fill(const ck_initializer *in, ck_tensor *t)
{
    CK_NEED(in);
    CK_NEED(t);
    const char *cls = ck_init_class_names[in->kind];
    char sb[96];
    int is_float = ck_dtype_is_floating(t->dtype);
    int int_ok = in->kind == I_ZEROS || in->kind == I_ONES || in->kind == I_CONSTANT ||
                 in->kind == I_RANDOM_UNIFORM;
    if (!is_float && !(int_ok && (t->dtype == CK_INT32 || t->dtype == CK_INT64)))
        return ck_error(CK_VALUE_ERROR, "%s: Expected floating point type, got %s.", cls,
                        ck_dtype_name(t->dtype));
    if (t->size > 0 && !t->data)
        return ck_error(CK_VALUE_ERROR, "%s: the tensor has no data (symbolic?)", cls);
    int64_t n = t->size;
    ck_rng rng;
    switch (in->kind) {
    case I_ZEROS:
    case I_ONES:
        for (int64_t i = 0; i < n; i++) put(t, i, in->kind == I_ONES);
        return CK_OK;
    case I_CONSTANT:
        if (in->value) {
            int64_t count = 0, i = 0;
            ck_init_count_numbers(in->value, &count);
            if (count == 1) {
                flatten_values(in->value, t, &i);
                for (i = 1; i < n; i++) put(t, i, ck_tensor_get(t, 0));
            } else if (count == n) {
                flatten_values(in->value, t, &i);
            } else {
                return ck_error(CK_VALUE_ERROR, "Constant: %lld values do not fit the shape %s "
                                "(%lld elements)", (long long)count,
                                ck_shape_str(sb, sizeof sb, t->rank, t->shape), (long long)n);
            }
            return CK_OK;
        }
        for (int64_t i = 0; i < n; i++) put(t, i, in->p[0]);
        return CK_OK;
    case I_IDENTITY:
        if (t->rank != 2)
            return ck_error(CK_VALUE_ERROR, "Identity matrix initializer can only be used for 2D "
                            "matrices. Received: shape=%s of rank %d.",
                            ck_shape_str(sb, sizeof sb, t->rank, t->shape), t->rank);
        for (int64_t i = 0; i < t->shape[0]; i++)
            for (int64_t j = 0; j < t->shape[1]; j++)
                put(t, i * t->shape[1] + j, i == j ? in->p[0] : 0.0);
        return CK_OK;
    case I_ORTHOGONAL: {
        if (t->rank < 2)
            return ck_error(CK_VALUE_ERROR, "The tensor to initialize must be at least "
                            "two-dimensional. Received: shape=%s of rank %d.",
                            ck_shape_str(sb, sizeof sb, t->rank, t->shape), t->rank);
        int64_t cols = t->shape[t->rank - 1];
        if (n == 0) return CK_OK;
        ck_rng_for_call(&rng, in->has_seed, in->seed);
        return orthogonal(in, &rng, t, n / cols, cols);
    }
    default: break;
    }

    if (in->kind == I_RANDOM_UNIFORM && !is_float) {
        double lo = trunc(in->p[0]), hi = trunc(in->p[1]);
        if (!(hi > lo))
            return ck_error(CK_VALUE_ERROR, "RandomUniform: Need minval < maxval for an integer "
                            "dtype, got minval=%g maxval=%g", lo, hi);
        ck_rng_for_call(&rng, in->has_seed, in->seed);
        double range = hi - lo;
        for (int64_t i = 0; i < n; i++) {
            double v = lo + floor(ck_rng_uniform(&rng) * range);
            put(t, i, v < hi ? v : hi - 1);
        }
        return CK_OK;
    }

    /* The random float families: mean + stddev * z or a uniform range. */
    double scale = in->p[0];
    int mode = in->mode, dist = in->dist;
    double mean = 0, stddev = 0, lo = 0, hi = 0;
    int family; /* 0 normal, 1 truncated, 2 uniform */
    switch (in->kind) {
    case I_RANDOM_NORMAL: family = 0; mean = in->p[0]; stddev = in->p[1]; break;
    case I_TRUNCATED_NORMAL: family = 1; mean = in->p[0]; stddev = in->p[1]; break;
    case I_RANDOM_UNIFORM: family = 2; lo = in->p[0]; hi = in->p[1]; break;
    default: {
        if (in->kind != I_VARIANCE_SCALING) ck_init_variant(in->kind, &scale, &mode, &dist);
        double fan_in, fan_out, f;
        ck_compute_fans(t->rank, t->shape, &fan_in, &fan_out);
        if (in->n_axes[0] && in->n_axes[1]) {
            /* Keras 3.15+: the fans are the products of the given axes. */
            double fans[2] = {1, 1};
            for (int k = 0; k < 2; k++)
                for (int i = 0; i < in->n_axes[k]; i++) {
                    int a = in->axes[k][i] < 0 ? in->axes[k][i] + t->rank : in->axes[k][i];
                    if (a < 0 || a >= t->rank)
                        return ck_error(CK_VALUE_ERROR, "%s: axis %d of %s is out of range for a rank-%d "
                                        "weight", ck_init_class_names[in->kind], in->axes[k][i],
                                        k ? "output_axes" : "input_axes", t->rank);
                    fans[k] *= (double)t->shape[a];
                }
            fan_in = fans[0];
            fan_out = fans[1];
        }
        f = mode == MODE_FAN_IN ? fan_in : mode == MODE_FAN_OUT ? fan_out : (fan_in + fan_out) / 2;
        double s = scale / (f > 1 ? f : 1);
        if (dist == DIST_TRUNCATED) {
            family = 1;
            stddev = sqrt(s) / 0.87962566103423978; /* std of N(0,1) cut at +-2 */
        } else if (dist == DIST_UNTRUNCATED) {
            family = 0;
            stddev = sqrt(s);
        } else {
            family = 2;
            hi = sqrt(3.0 * s);
            lo = -hi;
        }
    }
    }
    ck_rng_for_call(&rng, in->has_seed, in->seed);
    for (int64_t i = 0; i < n; i++) {
        double v = family == 0   ? mean + stddev * ck_rng_normal(&rng)
                   : family == 1 ? mean + stddev * truncated(&rng)
                                 : lo + (hi - lo) * ck_rng_uniform(&rng);
        put(t, i, v);
    }
    return CK_OK;
}
