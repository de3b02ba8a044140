/* batch_dot: Keras' checks and output shape, the public entry points, and
 * the dispatch to the per-dtype kernels. */
#include <string.h>

#include "ops/ops.h"

#define SHAPE_BUF 256

/* Both shapes in Keras form, for error messages. */
typedef struct shape_pair {
    char x[SHAPE_BUF], y[SHAPE_BUF];
} shape_pair;

static void describe(shape_pair *s, int xr, const int64_t *xs, int yr,
                     const int64_t *ys)
{
    ck_shape_str(s->x, sizeof s->x, xr > 0 && xs ? xr : 0, xs);
    ck_shape_str(s->y, sizeof s->y, yr > 0 && ys ? yr : 0, ys);
}

ck_status ck_batch_dot_shape(int xr, const int64_t *xs, int yr,
                             const int64_t *ys, ck_axes axes,
                             int resolved[2], int *out_rank,
                             int64_t out_shape[CK_MAX_RANK])
{
    CK_NEED(xs);
    CK_NEED(ys);
    CK_NEED(out_rank);
    CK_NEED(out_shape);
    shape_pair s;
    if ((xr > 0 && !xs) || (yr > 0 && !ys))
        return ck_error(CK_VALUE_ERROR, "batch_dot: a shape pointer is NULL");
    /* shapes are formatted only on error: this runs on every call */
#define FAIL(...) return (describe(&s, xr, xs, yr, ys), ck_error(CK_VALUE_ERROR, __VA_ARGS__))

    /* 1. ranks */
    if (xr < 2 || yr < 2)
        FAIL("Cannot do batch_dot on inputs with rank < 2. Received "
             "inputs with shapes %s and %s.", s.x, s.y);
    if (xr > CK_MAX_RANK || yr > CK_MAX_RANK)
        FAIL("batch_dot: inputs may have rank 2 to %d. Received "
             "inputs with shapes %s and %s.", CK_MAX_RANK, s.x, s.y);

    /* 2. batch sizes, only when both are known */
    if (xs[0] >= 0 && ys[0] >= 0 && xs[0] != ys[0])
        FAIL("Cannot do batch_dot on inputs with different batch "
             "sizes. Received inputs with shapes %s and %s.", s.x, s.y);

    /* 3.-5. the axes form */
    int a[2];
    if (axes.count == 0) {
        a[0] = xr - 1;
        a[1] = yr == 2 ? yr - 1 : yr - 2;
    } else if (axes.count == 1) {
        a[0] = a[1] = axes.axes[0];
    } else if (axes.count == 2) {
        a[0] = axes.axes[0];
        a[1] = axes.axes[1];
    } else {
        FAIL("Multiple target dimensions are not supported. "
             "Expected: None, int, (int, int); provided %d axes "
             "(ck_axes.count), for inputs with shapes %s and %s.",
             axes.count, s.x, s.y);
    }
    const int given[2] = {a[0], a[1]};

    /* 6. negative axes are wrapped once, as Keras does */
    if (a[0] < 0) a[0] += xr;
    if (a[1] < 0) a[1] += yr;

    /* 7. the batch axis cannot be contracted */
    if (a[0] == 0 || a[1] == 0)
        FAIL("Cannot perform batch_dot over axis 0. If your inputs "
             "are not batched, add a dummy batch dimension to your "
             "inputs using K.expand_dims(x, 0). Received inputs with "
             "shapes %s and %s and axes (%d, %d).",
             s.x, s.y, given[0], given[1]);

    /* Keras would fail here with an IndexError; ckeras checks explicitly. */
    if (a[0] < 0 || a[0] >= xr || a[1] < 0 || a[1] >= yr) {
        int bad = (a[0] < 0 || a[0] >= xr) ? 0 : 1;
        FAIL("batch_dot: axis %d of %s is out of range for its "
             "shape %s (rank %d). Received inputs with shapes %s "
             "and %s and axes (%d, %d).",
             given[bad], bad ? "y" : "x", bad ? s.y : s.x,
             bad ? yr : xr, s.x, s.y, given[0], given[1]);
    }

    /* 9. the contracted dims, only when both are known */
    int64_t d1 = xs[a[0]], d2 = ys[a[1]];
    if (d1 >= 0 && d2 >= 0 && d1 != d2)
        FAIL("Cannot do batch_dot on inputs with shapes %s and %s "
             "with axes=(%d, %d). x.shape[%d] != y.shape[%d] "
             "(%lld != %lld).", s.x, s.y, a[0], a[1], a[0], a[1],
             (long long)d1, (long long)d2);

    int rank = xr + yr - 3;
    if (rank < 2) rank = 2;
    if (rank > CK_MAX_RANK)
        FAIL("batch_dot: inputs of shapes %s and %s with axes "
             "(%d, %d) give a result of rank %d, more than the "
             "supported %d.", s.x, s.y, a[0], a[1], rank, CK_MAX_RANK);

    int64_t shape[CK_MAX_RANK];
    int n = 0;
    shape[n++] = xs[0] >= 0 ? xs[0] : ys[0];
    for (int i = 1; i < xr; i++)
        if (i != a[0]) shape[n++] = xs[i];
    for (int j = 1; j < yr; j++)
        if (j != a[1]) shape[n++] = ys[j];
    if (n == 1) shape[n++] = 1;

    if (resolved) {
        resolved[0] = a[0];
        resolved[1] = a[1];
    }
    if (out_rank) *out_rank = n;
    if (out_shape) {
        for (int i = 0; i < CK_MAX_RANK; i++) out_shape[i] = i < n ? shape[i] : 0;
    }
    return CK_OK;
#undef FAIL
}

/* Everything ck_batch_dot and ck_batch_dot_into check before touching
 * memory: Keras' shape checks, then the dtypes, then the data. */
static ck_status prepare(const ck_tensor *x, const ck_tensor *y, ck_axes axes,
                         ck_bd_plan *plan, int *rank, int64_t shape[CK_MAX_RANK])
{
    if (!x || !y) return ck_error(CK_VALUE_ERROR, "batch_dot: an input tensor is NULL");
    int a[2];
    CK_TRY(ck_batch_dot_shape(x->rank, x->shape, y->rank, y->shape, axes, a,
                              rank, shape));
    if (ck_dtype_size(x->dtype) == 0 || ck_dtype_size(y->dtype) == 0)
        return ck_error(CK_TYPE_ERROR, "batch_dot: invalid dtype (%d, %d)",
                        (int)x->dtype, (int)y->dtype);
    if (x->dtype != y->dtype)
        return ck_error(CK_TYPE_ERROR,
                        "batch_dot: x and y must have the same dtype; got %s "
                        "and %s", ck_dtype_name(x->dtype), ck_dtype_name(y->dtype));
    int unknown = !x->data || !y->data;
    for (int i = 0; i < x->rank; i++) unknown |= x->shape[i] < 0;
    for (int i = 0; i < y->rank; i++) unknown |= y->shape[i] < 0;
    if (unknown) {
        shape_pair s;
        describe(&s, x->rank, x->shape, y->rank, y->shape);
        return ck_error(CK_VALUE_ERROR,
                        "batch_dot: inputs of shapes %s and %s must hold data "
                        "and have known dims (symbolic tensors cannot be "
                        "computed)", s.x, s.y);
    }
    ck_bd_plan_make(plan, x->shape, x->rank, a[0], y->shape, y->rank, a[1]);
    return CK_OK;
}

/* The permuted copies' bytes: x's (64-aligned) then y's. */
static size_t perm_bytes(const ck_bd_plan *p, const ck_tensor *x, const ck_tensor *y, size_t *x_part)
{
    size_t esize = ck_dtype_size(x->dtype);
    int work = p->batch > 0 && p->M > 0 && p->N > 0 && p->K > 0;
    size_t bx = work && p->perm_x ? ((size_t)x->size * esize + 63) / 64 * 64 : 0;
    size_t by = work && p->perm_y ? (size_t)y->size * esize : 0;
    *x_part = bx;
    return bx + by;
}

/* `scratch` (NULL: allocate here) holds the permuted copies. */
static ck_status compute(const ck_bd_plan *p, const ck_tensor *x,
                         const ck_tensor *y, ck_tensor *out, void *scratch)
{
    size_t esize = ck_dtype_size(x->dtype);
    const void *a = x->data, *b = y->data;
    void *sx = NULL, *sy = NULL;
    int work = p->batch > 0 && p->M > 0 && p->N > 0 && p->K > 0;

    if (scratch && work && (p->perm_x || p->perm_y)) {
        size_t x_part;
        perm_bytes(p, x, y, &x_part);
        if (p->perm_x) {
            ck_bd_permute_x(p, esize, x->data, scratch);
            a = scratch;
        }
        if (p->perm_y) {
            ck_bd_permute_y(p, esize, y->data, (char *)scratch + x_part);
            b = (char *)scratch + x_part;
        }
        work = 0; /* copies made: nothing to allocate below */
    }
    if (work && p->perm_x) {
        sx = ck_malloc((size_t)x->size * esize);
        if (!sx) return ck_oom("batch_dot: permuted copy of x");
        ck_bd_permute_x(p, esize, x->data, sx);
        a = sx;
    }
    if (work && p->perm_y) {
        sy = ck_malloc((size_t)y->size * esize);
        if (!sy) {
            ck_free(sx);
            return ck_oom("batch_dot: permuted copy of y");
        }
        ck_bd_permute_y(p, esize, y->data, sy);
        b = sy;
    }
    switch (x->dtype) {
    case CK_FLOAT32: ck_bd_run_f32(p, a, b, out->data); break;
    case CK_FLOAT64: ck_bd_run_f64(p, a, b, out->data); break;
    case CK_INT32: ck_bd_run_i32(p, a, b, out->data); break;
    case CK_INT64: ck_bd_run_i64(p, a, b, out->data); break;
    }
    ck_free(sx);
    ck_free(sy);
    return CK_OK;
}

ck_status ck_batch_dot(const ck_tensor *x, const ck_tensor *y, ck_axes axes,
                       ck_tensor **out)
{
    CK_NEED(x);
    CK_NEED(y);
    CK_NEED(out);
    ck_bd_plan plan;
    int rank;
    int64_t shape[CK_MAX_RANK];
    if (!out) return ck_error(CK_VALUE_ERROR, "batch_dot: out is NULL");
    CK_TRY(prepare(x, y, axes, &plan, &rank, shape));
    ck_tensor *t = NULL;
    CK_TRY(ck_tensor_new_uninit(&t, x->dtype, rank, shape));
    ck_status st = compute(&plan, x, y, t, NULL);
    if (st != CK_OK) {
        ck_tensor_free(t);
        return st;
    }
    *out = t;
    return CK_OK;
}

ck_status ck_batch_dot_into(const ck_tensor *x, const ck_tensor *y,
                            ck_axes axes, ck_tensor *out)
{
    return ck_batch_dot_into_scratch(x, y, axes, out, NULL);
}

size_t ck_batch_dot_scratch_bytes(const ck_tensor *x, const ck_tensor *y, ck_axes axes)
{
    ck_bd_plan plan;
    int rank, a[2];
    int64_t shape[CK_MAX_RANK];
    size_t x_part;
    if (ck_batch_dot_shape(x->rank, x->shape, y->rank, y->shape, axes, a, &rank, shape) != CK_OK) return 0;
    for (int i = 0; i < x->rank; i++)
        if (x->shape[i] < 0) return 0;
    for (int i = 0; i < y->rank; i++)
        if (y->shape[i] < 0) return 0;
    ck_bd_plan_make(&plan, x->shape, x->rank, a[0], y->shape, y->rank, a[1]);
    return perm_bytes(&plan, x, y, &x_part);
}

ck_status ck_batch_dot_into_scratch(const ck_tensor *x, const ck_tensor *y, ck_axes axes, ck_tensor *out,
                                    void *scratch)
{
    CK_NEED(x);
    CK_NEED(y);
    CK_NEED(out);
    ck_bd_plan plan;
    int rank;
    int64_t shape[CK_MAX_RANK];
    if (!out) return ck_error(CK_VALUE_ERROR, "batch_dot: out is NULL");
    CK_TRY(prepare(x, y, axes, &plan, &rank, shape));
    int same = out->rank == rank;
    for (int i = 0; same && i < rank; i++) same = out->shape[i] == shape[i];
    if (!same || out->dtype != x->dtype) {
        char want[SHAPE_BUF], got[SHAPE_BUF];
        ck_shape_str(want, sizeof want, rank, shape);
        ck_shape_str(got, sizeof got,
                     out->rank >= 0 && out->rank <= CK_MAX_RANK ? out->rank : 0,
                     out->shape);
        return ck_error(CK_VALUE_ERROR,
                        "batch_dot: the output tensor is %s %s; expected %s %s",
                        ck_dtype_name(out->dtype), got, ck_dtype_name(x->dtype), want);
    }
    if (!out->data)
        return ck_error(CK_VALUE_ERROR, "batch_dot: the output tensor has no data");
    if (out->data == x->data || out->data == y->data)
        return ck_error(CK_VALUE_ERROR,
                        "batch_dot: the output must not share memory with an input");
    return compute(&plan, x, y, out, scratch);
}
