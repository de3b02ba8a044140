/* TF ops that move, combine or reduce elements (reshape, expand_dims,
 * squeeze, identity, concat, stack, transpose, matmul, reductions,
 * softmax, cast) for TFOpLambda: output shapes, forward and backward.
 * Shapes may hold -1 (unknown batch) when the layer is applied
 * symbolically. */
#include <math.h>
#include <string.h>

#include "layers/tf_op.h"

ck_status tf_reduce_mask(const tf_op_layer *t, int rank, int *mask)
{
    for (int d = 0; d < rank; d++) mask[d] = !t->has_axis;
    for (int i = 0; i < t->n_axis; i++) {
        int a;
        CK_TRY(tf_axis(&t->base, t->axis[i], rank, &a));
        mask[a] = 1;
    }
    return CK_OK;
}

/* The permutation of a transpose for `rank` dims (reverse when none). */
static ck_status full_perm(const tf_op_layer *t, int rank, int *perm)
{
    if (t->n_perm == 0) {
        for (int d = 0; d < rank; d++) perm[d] = rank - 1 - d;
        return CK_OK;
    }
    int seen[CK_MAX_RANK] = {0};
    if (t->n_perm != rank)
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": transpose expects a vector of size %d. But input(1) is a "
                        "vector of size %d", t->base.name, rank, t->n_perm);
    for (int d = 0; d < rank; d++) {
        int p;
        CK_TRY(tf_axis(&t->base, t->perm[d], rank, &p));
        if (seen[p]) return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": %d is duplicated in perm", t->base.name, p);
        seen[p] = 1;
        perm[d] = p;
    }
    return CK_OK;
}

static ck_status reshape_output(const tf_op_layer *t, const ck_shape *in, ck_shape *out)
{
    int64_t known = 1, total = 1;
    int unknown_at = -1, total_known = 1;
    for (int d = 0; d < in->rank; d++) {
        if (in->dims[d] < 0) total_known = 0;
        else total *= in->dims[d];
    }
    *out = (ck_shape){t->shape_rank, {0}};
    for (int d = 0; d < t->shape_rank; d++) {
        out->dims[d] = t->shape[d];
        if (t->shape[d] == -1) {
            if (unknown_at >= 0)
                return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": only one input size may be -1", t->base.name);
            unknown_at = d;
        } else if (t->shape[d] < 0) {
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": size %d must be non-negative, not %lld", t->base.name,
                            d, (long long)t->shape[d]);
        } else {
            known *= t->shape[d];
        }
    }
    char buf[96];
    if (unknown_at >= 0) {
        if (total_known && (known == 0 || total % known != 0))
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": cannot reshape a tensor of shape %s into the "
                            "requested shape", t->base.name, ck_shape_fmt(buf, sizeof buf, in));
        out->dims[unknown_at] = total_known ? total / known : -1;
    } else if (total_known && total != known) {
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": cannot reshape a tensor of %lld elements (shape %s) into "
                        "one of %lld", t->base.name, (long long)total, ck_shape_fmt(buf, sizeof buf, in),
                        (long long)known);
    }
    return CK_OK;
}

static ck_status matmul_output(const tf_op_layer *t, const ck_shape *a, const ck_shape *b, ck_shape *out)
{
    char sa[96], sb[96];
    if (a->rank < 2 || b->rank < 2)
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": matmul needs rank >= 2 operands, got %s and %s",
                        t->base.name, ck_shape_fmt(sa, sizeof sa, a), ck_shape_fmt(sb, sizeof sb, b));
    int ra = a->rank, rb = b->rank;
    int64_t m = a->dims[ra - (t->transpose_a ? 1 : 2)], ka = a->dims[ra - (t->transpose_a ? 2 : 1)];
    int64_t kb = b->dims[rb - (t->transpose_b ? 1 : 2)], n = b->dims[rb - (t->transpose_b ? 2 : 1)];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": Matrix size-incompatible: In[0]: %s, In[1]: %s",
                        t->base.name, ck_shape_fmt(sa, sizeof sa, a), ck_shape_fmt(sb, sizeof sb, b));
    ck_shape ba = {ra - 2, {0}}, bb = {rb - 2, {0}};
    memcpy(ba.dims, a->dims, sizeof(int64_t) * (size_t)(ra - 2));
    memcpy(bb.dims, b->dims, sizeof(int64_t) * (size_t)(rb - 2));
    CK_TRY(tf_broadcast_shape(&t->base, &ba, &bb, out));
    if (out->rank + 2 > CK_MAX_RANK) return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": rank too high", t->base.name);
    out->dims[out->rank++] = m;
    out->dims[out->rank++] = n;
    return CK_OK;
}

ck_status tf_shape_output(const tf_op_layer *t, int n, const ck_shape *in, ck_shape *out)
{
    const ck_shape *x = &in[0];
    char buf[96];
    switch (t->op->kind) {
    case TF_REDUCE: {
        int mask[CK_MAX_RANK];
        CK_TRY(tf_reduce_mask(t, x->rank, mask));
        *out = (ck_shape){0, {0}};
        for (int d = 0; d < x->rank; d++) {
            if (!mask[d]) out->dims[out->rank++] = x->dims[d];
            else if (t->keepdims) out->dims[out->rank++] = 1;
        }
        return CK_OK;
    }
    case TF_RESHAPE: return reshape_output(t, x, out);
    case TF_EXPAND_DIMS: {
        if (x->rank + 1 > CK_MAX_RANK) return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": rank too high", t->base.name);
        int a;
        CK_TRY(tf_axis(&t->base, t->axis[0], x->rank + 1, &a));
        *out = (ck_shape){x->rank + 1, {0}};
        for (int d = 0, s = 0; d < out->rank; d++) out->dims[d] = d == a ? 1 : x->dims[s++];
        return CK_OK;
    }
    case TF_SQUEEZE: {
        int mask[CK_MAX_RANK] = {0};
        for (int i = 0; i < t->n_axis; i++) {
            int a;
            CK_TRY(tf_axis(&t->base, t->axis[i], x->rank, &a));
            if (x->dims[a] != 1 && x->dims[a] >= 0)
                return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": Can not squeeze dim[%d], expected a dimension of "
                                "1, got %lld for shape %s", t->base.name, a, (long long)x->dims[a],
                                ck_shape_fmt(buf, sizeof buf, x));
            mask[a] = 1;
        }
        *out = (ck_shape){0, {0}};
        for (int d = 0; d < x->rank; d++)
            if (!(t->has_axis ? mask[d] : x->dims[d] == 1)) out->dims[out->rank++] = x->dims[d];
        return CK_OK;
    }
    case TF_TILE:
        if (t->n_multiples != x->rank)
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": Expected multiples argument to be a vector of length "
                            "%d but got length %d", t->base.name, x->rank, t->n_multiples);
        *out = *x;
        for (int d = 0; d < x->rank; d++) {
            if (t->multiples[d] < 0)
                return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": Expected multiples[%d] >= 0, but got %lld",
                                t->base.name, d, (long long)t->multiples[d]);
            out->dims[d] = x->dims[d] < 0 ? -1 : x->dims[d] * t->multiples[d];
        }
        return CK_OK;
    case TF_NORMALIZE:
        for (int i = 0; i < t->n_axis; i++) {
            int a;
            CK_TRY(tf_axis(&t->base, t->axis[i], x->rank, &a));
        }
        *out = *x;
        return CK_OK;
    case TF_CLIP:
    case TF_FILL:
    case TF_IDENTITY:
    case TF_SOFTMAX:
    case TF_CAST:
        if (t->op->kind == TF_SOFTMAX) {
            int a;
            CK_TRY(tf_axis(&t->base, t->axis[0], x->rank, &a));
        }
        *out = *x;
        return CK_OK;
    case TF_CONCAT:
    case TF_STACK: {
        int stack = t->op->kind == TF_STACK, a;
        if (stack && x->rank + 1 > CK_MAX_RANK) return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": rank too high", t->base.name);
        CK_TRY(tf_axis(&t->base, t->axis[0], x->rank + stack, &a));
        for (int i = 1; i < n; i++) {
            int same = in[i].rank == x->rank;
            for (int d = 0; same && d < x->rank; d++)
                same = (d == a && !stack) || in[i].dims[d] == x->dims[d] || in[i].dims[d] < 0 || x->dims[d] < 0;
            if (!same) {
                char b2[96];
                return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\": %s needs matching shapes%s, got %s and %s",
                                t->base.name, t->function, stack ? "" : " except in the concat axis",
                                ck_shape_fmt(buf, sizeof buf, x), ck_shape_fmt(b2, sizeof b2, &in[i]));
            }
        }
        if (stack) {
            *out = (ck_shape){x->rank + 1, {0}};
            for (int d = 0, s = 0; d < out->rank; d++) out->dims[d] = d == a ? n : x->dims[s++];
            return CK_OK;
        }
        *out = *x;
        for (int i = 1; i < n; i++)
            out->dims[a] = out->dims[a] < 0 || in[i].dims[a] < 0 ? -1 : out->dims[a] + in[i].dims[a];
        return CK_OK;
    }
    case TF_TRANSPOSE: {
        int perm[CK_MAX_RANK];
        CK_TRY(full_perm(t, x->rank, perm));
        *out = (ck_shape){x->rank, {0}};
        for (int d = 0; d < x->rank; d++) out->dims[d] = x->dims[perm[d]];
        return CK_OK;
    }
    case TF_MATMUL: return matmul_output(t, &in[t->x.input], &in[t->y.input], out);
    default: break;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": no shape rule for %s", t->base.name, t->function);
}

/* ---- forward and backward --------------------------------------------------- */

static void copy_elements(const ck_tensor *src, ck_tensor *dst)
{
    /* same element count; dtypes may differ only for cast */
    if (src->dtype == dst->dtype) {
        memcpy(dst->data, src->data, (size_t)src->size * ck_dtype_size(src->dtype));
        return;
    }
    for (int64_t i = 0; i < src->size; i++) tf_store(dst->data, dst->dtype, i, tf_load(src->data, src->dtype, i));
}

/* outer x axis x inner decomposition of a shape around axis a. */
static void around(const int64_t *dims, int rank, int a, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < a; d++) *outer *= dims[d];
    for (int d = a + 1; d < rank; d++) *inner *= dims[d];
}

/* Concat (and stack, along a new axis of the output) forward when
 * `back` is 0, else the split of dout into din. */
static ck_status concat_run(const tf_op_layer *t, int n, const ck_tensor *const *in, const ck_tensor *out,
                            ck_tensor *const *din, int back)
{
    int a;
    CK_TRY(tf_axis(&t->base, t->axis[0], out->rank, &a));
    int64_t outer, inner;
    around(out->shape, out->rank, a, &outer, &inner);
    const size_t es = ck_dtype_size(out->dtype);
    size_t row = (size_t)(out->shape[a] * inner) * es, at = 0;
    for (int i = 0; i < n; i++) {
        size_t chunk = (size_t)(t->op->kind == TF_STACK ? inner : in[i]->shape[a] * inner) * es;
        if (!back || din[i])
            for (int64_t o = 0; o < outer; o++) {
                char *slab = (char *)out->data + (size_t)o * row + at;
                if (back) memcpy((char *)din[i]->data + (size_t)o * chunk, slab, chunk);
                else memcpy(slab, (const char *)in[i]->data + (size_t)o * chunk, chunk);
            }
        at += chunk;
    }
    return CK_OK;
}

/* y = transpose(x, perm), or x = transpose^-1(y) with `inverse`. */
static void permute(const ck_tensor *src, ck_tensor *dst, const int *perm, int inverse)
{
    tf_walk w;
    memset(&w, 0, sizeof w);
    w.rank = dst->rank;
    w.k = 1;
    int64_t s = 1, sstride[CK_MAX_RANK];
    for (int d = src->rank - 1; d >= 0; d--) {
        sstride[d] = s;
        s *= src->shape[d];
    }
    for (int d = 0; d < dst->rank; d++) {
        w.shape[d] = dst->shape[d];
        if (inverse) w.stride[0][perm[d]] = sstride[d];
        else w.stride[0][d] = sstride[perm[d]];
    }
    const size_t es = ck_dtype_size(src->dtype);
    for (int64_t i = 0; i < dst->size; i++, tf_walk_next(&w))
        memcpy((char *)dst->data + (size_t)i * es, (const char *)src->data + (size_t)w.off[0] * es, es);
}

/* c[.., m, n] (+)= sum_k A[.., m, k] B[.., k, n] with A, B read through
 * strides, batch dims broadcast. */
typedef struct mat_view {
    const void *data;
    ck_dtype dtype;
    int64_t rs, cs;   /* row and column strides of the matrix */
} mat_view;

static void matmul_batched(const ck_tensor *c, const tf_walk *batch0, int64_t bstride_c, mat_view A, mat_view B,
                           int64_t M, int64_t N, int64_t K, void *cdata, int accumulate)
{
    tf_walk w = *batch0;
    int64_t nb = 1;
    for (int d = 0; d < w.rank; d++) nb *= w.shape[d];
    for (int64_t bi = 0; bi < nb; bi++, tf_walk_next(&w)) {
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += tf_load(A.data, A.dtype, w.off[0] + m * A.rs + k * A.cs) *
                         tf_load(B.data, B.dtype, w.off[1] + k * B.rs + n * B.cs);
                int64_t at = w.off[2] + bi * bstride_c * 0 + m * N + n;
                if (accumulate) s += tf_load(cdata, c->dtype, at);
                tf_store(cdata, c->dtype, at, s);
            }
    }
}

/* The walk over batch dims of `shape_c` with operand a, b (batch dims of
 * their shapes) and the output c (contiguous) as offsets 0, 1, 2. */
static void batch_walk(tf_walk *w, const ck_tensor *c, const ck_tensor *a, const ck_tensor *b)
{
    memset(w, 0, sizeof *w);
    w->rank = c->rank - 2;
    w->k = 3;
    for (int d = 0; d < w->rank; d++) w->shape[d] = c->shape[d];
    const ck_tensor *ops[3] = {a, b, c};
    for (int j = 0; j < 3; j++) {
        int64_t mat = ops[j]->shape[ops[j]->rank - 1] * ops[j]->shape[ops[j]->rank - 2];
        int rb = ops[j]->rank - 2;
        int64_t s = mat;
        for (int d = w->rank - 1; d >= 0; d--) {
            int od = d - (w->rank - rb);
            w->stride[j][d] = od < 0 || (ops[j]->shape[od] == 1 && j < 2) ? 0 : s;
            if (od >= 0) s *= ops[j]->shape[od];
        }
    }
}

static mat_view view(const ck_tensor *t, int transposed)
{
    int64_t cols = t->shape[t->rank - 1];
    return transposed ? (mat_view){t->data, t->dtype, 1, cols} : (mat_view){t->data, t->dtype, cols, 1};
}

/* g (+)= L R over the batch of `out`, where L and R are read through
 * view(); g's batch offsets are those of operand `which` (0: a, 1: b),
 * so broadcast batch dims sum. */
static void grad_product(const ck_tensor *out, ck_tensor *g, int which, const ck_tensor *a, const ck_tensor *b,
                         const ck_tensor *L, int tl, const ck_tensor *R, int tr, int64_t rows, int64_t cols,
                         int64_t inner)
{
    tf_walk w, ref;
    batch_walk(&w, out, L, R);
    batch_walk(&ref, out, a, b);
    for (int d = 0; d < w.rank; d++) w.stride[2][d] = ref.stride[which][d];
    memset(g->data, 0, (size_t)g->size * ck_dtype_size(g->dtype));
    matmul_batched(g, &w, 0, view(L, tl), view(R, tr), rows, cols, inner, g->data, 1);
}

static ck_status matmul_run(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out,
                            const ck_tensor *dout, ck_tensor *const *din)
{
    const ck_tensor *a = in[t->x.input], *b = in[t->y.input];
    int ta = t->transpose_a, tb = t->transpose_b;
    int64_t M = out->shape[out->rank - 2], N = out->shape[out->rank - 1];
    int64_t K = a->shape[a->rank - (ta ? 2 : 1)];
    tf_walk w;
    if (!dout) {
        batch_walk(&w, out, a, b);
        matmul_batched(out, &w, 0, view(a, ta), view(b, tb), M, N, K, out->data, 0);
        return CK_OK;
    }
    /* dA = dC op(B)^T (transposed back if A was), dB = op(A)^T dC; summed
     * over broadcast batch dims by accumulating into zeroed gradients. */
    ck_tensor *da = din[t->x.input], *db = din[t->y.input];
    if (da) {
        int64_t r = a->shape[a->rank - 2], c = a->shape[a->rank - 1];
        if (!ta) /* dA[m,k] = sum_n dC[m,n] op(B)[k,n] */
            grad_product(out, da, 0, a, b, dout, 0, b, !tb, r, c, N);
        else /* dA[k,m] = sum_n op(B)[k,n] dC[m,n] */
            grad_product(out, da, 0, a, b, b, tb, dout, 1, r, c, N);
    }
    if (db) {
        int64_t r = b->shape[b->rank - 2], c = b->shape[b->rank - 1];
        if (!tb) /* dB[k,n] = sum_m op(A)[m,k] dC[m,n] */
            grad_product(out, db, 1, a, b, a, !ta, dout, 0, r, c, M);
        else /* dB[n,k] = sum_m dC[m,n] op(A)[m,k] */
            grad_product(out, db, 1, a, b, dout, 1, a, ta, r, c, M);
    }
    return CK_OK;
}

static ck_status softmax_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                             ck_tensor *dx)
{
    int a;
    CK_TRY(tf_axis(&t->base, t->axis[0], x->rank, &a));
    int64_t outer, inner, n = x->shape[a];
    around(x->shape, x->rank, a, &outer, &inner);
    const int log_sm = t->op->reduce;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            int64_t base = o * n * inner + in;
#define AT(j) (base + (j) * inner)
            if (!dout) {
                double mx = -INFINITY, sum = 0;
                for (int64_t j = 0; j < n; j++) mx = fmax(mx, tf_load(x->data, x->dtype, AT(j)));
                for (int64_t j = 0; j < n; j++) sum += exp(tf_load(x->data, x->dtype, AT(j)) - mx);
                for (int64_t j = 0; j < n; j++) {
                    double z = tf_load(x->data, x->dtype, AT(j)) - mx;
                    tf_store(out->data, out->dtype, AT(j), log_sm ? z - log(sum) : exp(z) / sum);
                }
            } else if (dx) {
                /* softmax: dx = y (dy - sum(dy y)); log_softmax: dx = dy - exp(y) sum(dy) */
                double s = 0;
                for (int64_t j = 0; j < n; j++) {
                    double g = tf_load(dout->data, dout->dtype, AT(j)), y = tf_load(out->data, out->dtype, AT(j));
                    s += log_sm ? g : g * y;
                }
                for (int64_t j = 0; j < n; j++) {
                    double g = tf_load(dout->data, dout->dtype, AT(j)), y = tf_load(out->data, out->dtype, AT(j));
                    tf_store(dx->data, dx->dtype, AT(j), log_sm ? g - exp(y) * s : y * (g - s));
                }
            }
#undef AT
        }
    return CK_OK;
}

/* tile forward (dout NULL: out[i] = x[i mod dims]) or backward (dx
 * summed over the copies). */
static void tile_run(const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout, ck_tensor *dx)
{
    if (dx) memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
    if (dout && !dx) return;
    int64_t xstride[CK_MAX_RANK], s = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        xstride[d] = s;
        s *= x->shape[d];
    }
    for (int64_t i = 0; i < out->size; i++) {
        int64_t rem = i, at = 0;
        for (int d = out->rank - 1; d >= 0; d--) {
            at += (rem % out->shape[d]) % x->shape[d] * xstride[d];
            rem /= out->shape[d];
        }
        if (!dout) tf_store(out->data, out->dtype, i, tf_load(x->data, x->dtype, at));
        else tf_store(dx->data, dx->dtype, at, tf_load(dx->data, dx->dtype, at) + tf_load(dout->data, dout->dtype, i));
    }
}

ck_status tf_shape_call(const tf_op_layer *t, int n, const ck_tensor *const *in, ck_tensor *out)
{
    const ck_tensor *x = in[0];
    switch (t->op->kind) {
    case TF_NORMALIZE: return tf_group_call(t, x, out);
    case TF_CLIP:
    case TF_FILL: return tf_clip_fill_run(t, x, out, NULL, NULL);
    case TF_TILE: tile_run(x, out, NULL, NULL); return CK_OK;
    case TF_REDUCE: return tf_reduce_run(t, x, out, NULL, NULL);
    case TF_RESHAPE:
    case TF_EXPAND_DIMS:
    case TF_SQUEEZE:
    case TF_IDENTITY:
    case TF_CAST: copy_elements(x, out); return CK_OK;
    case TF_CONCAT:
    case TF_STACK: return concat_run(t, n, in, out, NULL, 0);
    case TF_TRANSPOSE: {
        int perm[CK_MAX_RANK];
        CK_TRY(full_perm(t, x->rank, perm));
        if (out->size) permute(x, out, perm, 0);
        return CK_OK;
    }
    case TF_MATMUL: return matmul_run(t, in, out, NULL, NULL);
    case TF_SOFTMAX: return softmax_run(t, x, out, NULL, NULL);
    default: break;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": no forward for %s", t->base.name, t->function);
}

ck_status tf_shape_backward(const tf_op_layer *t, int n, const ck_tensor *const *in, const ck_tensor *out,
                            const ck_tensor *dout, ck_tensor *const *din)
{
    const ck_tensor *x = in[0];
    ck_tensor *dx = din[0];
    switch (t->op->kind) {
    case TF_NORMALIZE: return tf_group_backward(t, x, out, dout, dx);
    case TF_CLIP:
    case TF_FILL: return tf_clip_fill_run(t, x, out, dout, dx);
    case TF_TILE: tile_run(x, dout, dout, dx); return CK_OK;
    case TF_REDUCE: return tf_reduce_run(t, x, out, dout, dx);
    case TF_RESHAPE:
    case TF_EXPAND_DIMS:
    case TF_SQUEEZE:
    case TF_IDENTITY:
        if (dx) copy_elements(dout, dx);
        return CK_OK;
    case TF_CAST:
        /* TF: no gradient through a cast from or to an integer type */
        if (!dx) return CK_OK;
        if (ck_dtype_is_floating(t->cast_to)) copy_elements(dout, dx);
        else memset(dx->data, 0, (size_t)dx->size * ck_dtype_size(dx->dtype));
        return CK_OK;
    case TF_CONCAT:
    case TF_STACK: return concat_run(t, n, in, dout, din, 1);
    case TF_TRANSPOSE: {
        int perm[CK_MAX_RANK];
        CK_TRY(full_perm(t, x->rank, perm));
        if (dx && dx->size) permute(dout, dx, perm, 1);
        return CK_OK;
    }
    case TF_MATMUL: return matmul_run(t, in, out, dout, din);
    case TF_SOFTMAX: return softmax_run(t, x, out, dout, dx);
    default: break;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": no gradient for %s", t->base.name, t->function);
}
