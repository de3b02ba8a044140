/* Training for keras.layers.Dot.  Per sample b, with x's non-contracted
 * dims flattened to m, y's to n and the contracted axis k:
 *     out[b, m, n] = sum_k X[b, m, k] Y[b, k, n]
 *     dX[b, m, k]  = sum_n dout[b, m, n] Y[b, k, n]
 *     dY[b, k, n]  = sum_m X[b, m, k] dout[b, m, n]
 * addressed through offset tables (the contracted axis may sit anywhere),
 * so no input is permuted.  With normalize=True, X and Y are the
 * l2-normalised copies the training forward keeps in `saved`, and the
 * gradient goes back through l2_normalize:
 *     dx = inv * (dnx - nx * sum_k(dnx * nx)),  inv = rsqrt(max(sum x^2, eps))
 * (TF's maximum gives the gradient to sum x^2 on a tie; below eps only
 * the direct product remains: dx = inv * dnx).
 *
 * saved = [nx][ny] (normalize only, each rounded to 64 bytes)
 *         [x offsets: M int64][y offsets: N int64] */
#include <math.h>
#include <string.h>

#include "layers/dot.h"
#include "params/groups.h"

#define DOT_EPS 1e-12

static size_t round64(size_t b) { return (b + 63) / 64 * 64; }

/* Offsets (in elements) of every position of the dims of `shape` other
 * than 0 and `skip`, in row-major order; returns their count. */
static int64_t other_offsets(int rank, const int64_t *shape, int skip, int64_t *offs)
{
    int64_t stride[CK_MAX_RANK], step = 1;
    for (int d = rank - 1; d >= 0; d--) {
        stride[d] = step;
        step *= shape[d];
    }
    int dims[CK_MAX_RANK], nd = 0;
    for (int d = 1; d < rank; d++)
        if (d != skip) dims[nd++] = d;
    int64_t count = 1;
    for (int i = 0; i < nd; i++) count *= shape[dims[i]];
    if (!offs) return count;
    int64_t idx[CK_MAX_RANK] = {0}, off = 0;
    for (int64_t m = 0; m < count; m++) {
        offs[m] = off;
        for (int i = nd - 1; i >= 0; i--) {
            int d = dims[i];
            idx[d]++;
            off += stride[d];
            if (idx[d] < shape[d]) break;
            off -= stride[d] * shape[d];
            idx[d] = 0;
        }
    }
    return count;
}

static int64_t axis_stride(const ck_tensor *t, int axis)
{
    int64_t s = 1;
    for (int d = t->rank - 1; d > axis; d--) s *= t->shape[d];
    return s;
}

static int axes_ok(ck_axes ax, int xr, int yr)
{
    return ax.axes[0] >= 1 && ax.axes[0] < xr && ax.axes[1] >= 1 && ax.axes[1] < yr;
}

size_t ck_dot_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    (void)out;
    if (n != 2) return 0;
    ck_axes ax = ck_dot_call_axes(d, in[0].rank, in[1].rank);
    if (!axes_ok(ax, in[0].rank, in[1].rank)) return 0;
    size_t bytes = (size_t)(other_offsets(in[0].rank, in[0].dims, ax.axes[0], NULL) +
                            other_offsets(in[1].rank, in[1].dims, ax.axes[1], NULL)) * sizeof(int64_t);
    if (d->normalize) {
        size_t es = ck_dtype_size(layer->dtype);
        for (int i = 0; i < 2; i++) {
            size_t count = 1;
            for (int k = 0; k < in[i].rank; k++) count *= (size_t)in[i].dims[k];
            bytes += round64(count * es);
        }
    }
    return bytes;
}

/* A tensor of t's dtype and shape over borrowed memory (no allocation). */
static ck_tensor view_of(const ck_tensor *t, void *data)
{
    ck_tensor v = *t;
    v.data = data;
    v.owns_data = 0;
    v.keras_history = NULL;
    return v;
}

ck_status ck_dot_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    const ck_tensor *x = in[0], *y = in[1];
    (void)ctx, (void)n;
    ck_axes ax = ck_dot_call_axes(d, x->rank, y->rank);
    if (!d->normalize || !axes_ok(ax, x->rank, y->rank)) return layer->cls->call(layer, n, in, out);
    if (!ck_dtype_is_floating(x->dtype) || !ck_dtype_is_floating(y->dtype))
        return ck_error(CK_TYPE_ERROR, "Dot layer \"%s\": normalize=True needs floating inputs, got %s and %s",
                        layer->name, ck_dtype_name(x->dtype), ck_dtype_name(y->dtype));
    size_t xb = round64((size_t)x->size * ck_dtype_size(x->dtype));
    ck_tensor nx = view_of(x, saved), ny = view_of(y, (char *)saved + xb);
    CK_TRY(ck_l2_normalize_into(x, ax.axes[0], DOT_EPS, &nx));
    CK_TRY(ck_l2_normalize_into(y, ax.axes[1], DOT_EPS, &ny));
    return ck_batch_dot_into(&nx, &ny, ax, out[0]);
}

typedef struct dot_geom {
    int64_t batch, M, N, K, xk, yk, xbs, ybs;
    const int64_t *xoff, *yoff;
} dot_geom;

#define DEFINE_DOT_GRAD(SUFFIX, T)                                                          \
    static void grad_x_##SUFFIX(const dot_geom *g, const T *dout, const T *Y, T *dx)        \
    {                                                                                       \
        for (int64_t b = 0; b < g->batch; b++) {                                            \
            const T *go = dout + b * g->M * g->N, *yb = Y + b * g->ybs;                     \
            T *xb = dx + b * g->xbs;                                                        \
            for (int64_t m = 0; m < g->M; m++)                                              \
                for (int64_t k = 0; k < g->K; k++) {                                        \
                    T acc = 0;                                                              \
                    const T *yk = yb + k * g->yk;                                           \
                    for (int64_t j = 0; j < g->N; j++) acc += go[m * g->N + j] * yk[g->yoff[j]]; \
                    xb[g->xoff[m] + k * g->xk] = acc;                                       \
                }                                                                           \
        }                                                                                   \
    }                                                                                       \
    static void grad_y_##SUFFIX(const dot_geom *g, const T *dout, const T *X, T *dy)        \
    {                                                                                       \
        for (int64_t b = 0; b < g->batch; b++) {                                            \
            const T *go = dout + b * g->M * g->N, *xb = X + b * g->xbs;                     \
            T *yb = dy + b * g->ybs;                                                        \
            for (int64_t j = 0; j < g->N; j++)                                              \
                for (int64_t k = 0; k < g->K; k++) {                                        \
                    T acc = 0;                                                              \
                    const T *xk = xb + k * g->xk;                                           \
                    for (int64_t m = 0; m < g->M; m++) acc += xk[g->xoff[m]] * go[m * g->N + j]; \
                    yb[g->yoff[j] + k * g->yk] = acc;                                       \
                }                                                                           \
        }                                                                                   \
    }                                                                                       \
    /* din holds dnx on entry, dx on return (groups along the axis). */                     \
    static void unnormalize_##SUFFIX(const ck_groups *gr, const T *x, const T *nx, T *din)   \
    {                                                                                       \
        for (int64_t k = 0; k < gr->ngroups; k++) {                                         \
            int64_t base = ck_groups_base(gr, k);                                           \
            double ss = 0, dot = 0;                                                         \
            for (int64_t j = 0; j < gr->gsize; j++) {                                       \
                int64_t o = base + ck_groups_at(gr, j);                                     \
                ss += (double)x[o] * (double)x[o];                                          \
                dot += (double)din[o] * (double)nx[o];                                      \
            }                                                                               \
            int through = ss >= DOT_EPS;                                                    \
            double inv = 1.0 / sqrt(through ? ss : DOT_EPS);                                \
            for (int64_t j = 0; j < gr->gsize; j++) {                                       \
                int64_t o = base + ck_groups_at(gr, j);                                     \
                double v = (double)din[o] - (through ? (double)nx[o] * dot : 0.0);          \
                din[o] = (T)(inv * v);                                                      \
            }                                                                               \
        }                                                                                   \
    }

DEFINE_DOT_GRAD(f32, float)
DEFINE_DOT_GRAD(f64, double)

ck_status ck_dot_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const ck_dot_layer *d = (const ck_dot_layer *)layer;
    const ck_tensor *x = in[0], *y = in[1];
    (void)ctx, (void)n, (void)out;
    ck_tensor *dx = din ? din[0] : NULL, *dy = din ? din[1] : NULL;
    if (!dx && !dy) return CK_OK;
    if (!ck_dtype_is_floating(dout->dtype) || x->dtype != dout->dtype || y->dtype != dout->dtype)
        return ck_error(CK_TYPE_ERROR, "Dot layer \"%s\": gradients need floating inputs of the output's dtype",
                        layer->name);
    ck_axes ax = ck_dot_call_axes(d, x->rank, y->rank);
    if (!axes_ok(ax, x->rank, y->rank))
        return ck_error(CK_VALUE_ERROR, "Dot layer \"%s\": bad axes for a backward pass", layer->name);
    int a0 = ax.axes[0], a1 = ax.axes[1];
    size_t es = ck_dtype_size(x->dtype);
    const void *X = x->data, *Y = y->data;
    char *p = saved;
    if (d->normalize) {
        X = p;
        p += round64((size_t)x->size * es);
        Y = p;
        p += round64((size_t)y->size * es);
    }
    int64_t *xoff = (int64_t *)(void *)p;
    dot_geom g = {.batch = x->shape[0], .K = x->shape[a0], .xk = axis_stride(x, a0), .yk = axis_stride(y, a1)};
    g.M = other_offsets(x->rank, x->shape, a0, xoff);
    int64_t *yoff = xoff + g.M;
    g.N = other_offsets(y->rank, y->shape, a1, yoff);
    g.xoff = xoff;
    g.yoff = yoff;
    g.xbs = g.batch ? x->size / g.batch : 0;
    g.ybs = g.batch ? y->size / g.batch : 0;
    if (x->dtype == CK_FLOAT32) {
        if (dx) grad_x_f32(&g, dout->data, Y, dx->data);
        if (dy) grad_y_f32(&g, dout->data, X, dy->data);
    } else {
        if (dx) grad_x_f64(&g, dout->data, Y, dx->data);
        if (dy) grad_y_f64(&g, dout->data, X, dy->data);
    }
    if (!d->normalize) return CK_OK;
    for (int i = 0; i < 2; i++) {
        ck_tensor *t = i ? dy : dx;
        const ck_tensor *src = i ? y : x;
        if (!t) continue;
        ck_groups gr;
        int axis = i ? a1 : a0;
        CK_TRY(ck_groups_init(&gr, src->rank, src->shape, &axis, 1, "Dot"));
        if (x->dtype == CK_FLOAT32) unnormalize_f32(&gr, src->data, i ? Y : X, t->data);
        else unnormalize_f64(&gr, src->data, i ? Y : X, t->data);
    }
    return CK_OK;
}
