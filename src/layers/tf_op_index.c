/* TF ops that select or count along an axis, for TFOpLambda: where
 * (condition, x, y with numpy broadcasting), cumsum (exclusive, reverse),
 * gather (batch_dims 0, indices a constant or an int tensor), one_hot and
 * split (one output per part): binding of their arguments, output shapes
 * and dtypes, forward and backward.  Bool tensors (where's condition) are
 * int32 0 / 1 in ckeras. */
#include <stdio.h>
#include <string.h>

#include "layers/tf_op.h"

/* ---- binding ------------------------------------------------------------------ */

static int flag(const json_t *j) { return json_is_true(j) || (json_is_integer(j) && json_integer_value(j) != 0); }

/* An optional int keyword (null or absent: `def`). */
static ck_status int_kw(tf_op_layer *t, const json_t *j, const char *param, int64_t def, int64_t *out)
{
    j = j ? tf_constant_of(j) : NULL;
    *out = def;
    if (!j || json_is_null(j)) return CK_OK;
    if (!json_is_integer(j)) {
        char what[96];
        snprintf(what, sizeof what, "a `%s` that is not an int", param);
        return tf_unsupported(t, what);
    }
    *out = json_integer_value(j);
    return CK_OK;
}

static ck_status bind_split(tf_op_layer *t, const json_t *kwargs)
{
    const json_t *n = tf_constant_of(json_object_get(kwargs, "num_or_size_splits"));
    if (json_object_get(kwargs, "num") && !json_is_null(json_object_get(kwargs, "num")))
        return tf_unsupported(t, "`num`");
    if (json_is_integer(n)) {
        if (json_integer_value(n) < 1 || json_integer_value(n) > CK_MAX_LAYER_OUTPUTS) {
            char what[96];
            snprintf(what, sizeof what, "num_or_size_splits=%lld (ckeras: 1 to %d parts)",
                     (long long)json_integer_value(n), CK_MAX_LAYER_OUTPUTS);
            return tf_unsupported(t, what);
        }
        t->n_splits = (int)json_integer_value(n);
        return CK_OK;
    }
    if (!json_is_array(n) || json_array_size(n) < 1 || json_array_size(n) > CK_MAX_LAYER_OUTPUTS)
        return tf_unsupported(t, "a `num_or_size_splits` that is not an int or a list of 1 to 64 ints");
    int unknown = 0;
    for (size_t i = 0; i < json_array_size(n); i++) {
        const json_t *v = json_array_get(n, i);
        if (!json_is_integer(v)) return tf_unsupported(t, "a size split that is not an int");
        int64_t s = json_integer_value(v);
        if (s < -1 || (s == -1 && unknown++))
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\" (split): size splits must be >= 0 with at most one "
                            "-1, got %lld", t->base.name, (long long)s);
        t->split_sizes[i] = s;
    }
    t->n_splits = (int)json_array_size(n);
    t->given_sizes = 1;
    return CK_OK;
}

ck_status tf_index_bind(tf_op_layer *t, const json_t *args, const json_t *kwargs)
{
#define KW(name) json_object_get(kwargs, name)
    int64_t v;
    switch (t->op->kind) {
    case TF_WHERE:
        CK_TRY(tf_bind_operand(t, args, "condition", &t->x));
        if (!KW("x") || json_is_null(KW("x")) || !KW("y") || json_is_null(KW("y")))
            return tf_unsupported(t, "where without `x` and `y` (the coordinates of true elements have a "
                                     "data-dependent shape)");
        CK_TRY(tf_bind_operand(t, KW("x"), "x", &t->y));
        CK_TRY(tf_bind_operand(t, KW("y"), "y", &t->z));
        if (t->x.input < 0 && t->y.input < 0 && t->z.input < 0) return tf_unsupported(t, "a call on constants only");
        return CK_OK;
    case TF_CUMSUM:
        CK_TRY(tf_bind_tensor(t, args, "x", &t->x));
        CK_TRY(int_kw(t, KW("axis"), "axis", 0, &v));
        t->has_axis = t->n_axis = 1;
        t->axis[0] = (int)v;
        t->exclusive = flag(KW("exclusive"));
        t->reverse = flag(KW("reverse"));
        return CK_OK;
    case TF_GATHER:
        CK_TRY(tf_bind_operand(t, args, "params", &t->x));
        if (!KW("indices")) return tf_unsupported(t, "gather without `indices`");
        CK_TRY(tf_bind_operand(t, KW("indices"), "indices", &t->y));
        if (t->x.input < 0 && t->y.input < 0) return tf_unsupported(t, "a call on constants only");
        CK_TRY(int_kw(t, KW("batch_dims"), "batch_dims", 0, &v));
        if (v != 0) return tf_unsupported(t, "batch_dims other than 0");
        CK_TRY(int_kw(t, KW("axis"), "axis", 0, &v));
        t->has_axis = t->n_axis = 1;
        t->axis[0] = (int)v;
        return CK_OK;
    case TF_ONE_HOT: {
        CK_TRY(tf_bind_tensor(t, args, "indices", &t->x));
        CK_TRY(int_kw(t, KW("depth"), "depth", -1, &t->depth));
        if (t->depth < 0) return tf_unsupported(t, "one_hot without a non-negative int `depth`");
        CK_TRY(int_kw(t, KW("axis"), "axis", -1, &v));
        t->has_axis = t->n_axis = 1;
        t->axis[0] = (int)v;
        const json_t *on = tf_constant_of(KW("on_value")), *off = tf_constant_of(KW("off_value"));
        if ((on && !json_is_null(on) && !json_is_number(on)) || (off && !json_is_null(off) && !json_is_number(off)))
            return tf_unsupported(t, "on_value / off_value that are not numbers");
        t->param = json_is_number(on) ? json_number_value(on) : 1;
        t->param2 = json_is_number(off) ? json_number_value(off) : 0;
        /* TF: the dtype asked for, else the values' (Python ints make
         * int32), else float32 */
        t->cast_to = json_is_integer(on) || json_is_integer(off) ? CK_INT32 : CK_FLOAT32;
        const char *dt = json_string_value(KW("dtype"));
        if (dt && ck_dtype_from_name(dt, &t->cast_to) != CK_OK) {
            ck_clear_error();
            return tf_unsupported(t, "a one_hot dtype other than float32, float64, int32, int64");
        }
        return CK_OK;
    }
    case TF_SPLIT:
        CK_TRY(tf_bind_tensor(t, args, "value", &t->x));
        CK_TRY(int_kw(t, KW("axis"), "axis", 0, &v));
        t->has_axis = t->n_axis = 1;
        t->axis[0] = (int)v;
        return bind_split(t, kwargs);
    default: break;
    }
#undef KW
    return tf_unsupported(t, "this function");
}

/* ---- shapes and dtypes ---------------------------------------------------------- */

int tf_index_output_count(const tf_op_layer *t)
{
    return t->op && t->op->kind == TF_SPLIT && t->n_splits > 0 ? t->n_splits : 1;
}

ck_dtype tf_index_output_dtype(const tf_op_layer *t, const ck_dtype *in)
{
    switch (t->op->kind) {
    case TF_WHERE:
        if (t->y.input >= 0) return in[t->y.input];
        if (t->z.input >= 0) return in[t->z.input];
        return CK_FLOAT32; /* two Python floats */
    case TF_GATHER: return t->x.input >= 0 ? in[t->x.input] : CK_FLOAT32;
    case TF_ONE_HOT: return t->cast_to;
    default: return in[0];
    }
}

/* The sizes of the split parts along an axis of `dim` elements (-1:
 * unknown). */
static ck_status split_sizes(const tf_op_layer *t, const ck_shape *x, int a, int64_t *sizes)
{
    const int64_t dim = x->dims[a];
    char buf[96];
    if (!t->given_sizes) {
        if (dim >= 0 && dim % t->n_splits != 0)
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\" (split): Dimension size must be evenly divisible by "
                            "%d but is %lld for input shape %s", t->base.name, t->n_splits, (long long)dim,
                            ck_shape_fmt(buf, sizeof buf, x));
        for (int i = 0; i < t->n_splits; i++) sizes[i] = dim < 0 ? -1 : dim / t->n_splits;
        return CK_OK;
    }
    int64_t known = 0;
    int unknown_at = -1;
    for (int i = 0; i < t->n_splits; i++) {
        sizes[i] = t->split_sizes[i];
        if (sizes[i] < 0) unknown_at = i;
        else known += sizes[i];
    }
    if (dim < 0) return CK_OK;
    if (unknown_at >= 0 ? known > dim : known != dim)
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\" (split): Determined shape must either match input shape "
                        "along split_dim exactly if fully specified, or be less than the size of the input along "
                        "split_dim if not fully specified.  Got: %lld along axis %d of input shape %s", t->base.name,
                        (long long)known, a, ck_shape_fmt(buf, sizeof buf, x));
    if (unknown_at >= 0) sizes[unknown_at] = dim - known;
    return CK_OK;
}

ck_status tf_index_output(const tf_op_layer *t, const ck_shape *in, ck_shape *out)
{
    const ck_shape x = tf_operand_shape(&t->x, in);
    int a;
    switch (t->op->kind) {
    case TF_WHERE: {
        ck_shape v = tf_operand_shape(&t->y, in), w = tf_operand_shape(&t->z, in), vw;
        CK_TRY(tf_broadcast_shape(&t->base, &v, &w, &vw));
        return tf_broadcast_shape(&t->base, &x, &vw, out);
    }
    case TF_CUMSUM:
        CK_TRY(tf_axis(&t->base, t->axis[0], x.rank, &a));
        *out = x;
        return CK_OK;
    case TF_GATHER: {
        ck_shape ind = tf_operand_shape(&t->y, in);
        CK_TRY(tf_axis(&t->base, t->axis[0], x.rank, &a));
        if (x.rank - 1 + ind.rank > CK_MAX_RANK)
            return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\" (gather): the output would have rank %d (ckeras: "
                            "at most %d)", t->base.name, x.rank - 1 + ind.rank, CK_MAX_RANK);
        *out = (ck_shape){0, {0}};
        for (int d = 0; d < a; d++) out->dims[out->rank++] = x.dims[d];
        for (int d = 0; d < ind.rank; d++) out->dims[out->rank++] = ind.dims[d];
        for (int d = a + 1; d < x.rank; d++) out->dims[out->rank++] = x.dims[d];
        return CK_OK;
    }
    case TF_ONE_HOT:
        if (x.rank + 1 > CK_MAX_RANK)
            return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": rank too high", t->base.name);
        if (t->axis[0] < -1 || t->axis[0] > x.rank)
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\" (one_hot): Expected axis to be -1 or between [0, %d). "
                            " But received: %d", t->base.name, x.rank + 1, t->axis[0]);
        a = t->axis[0] < 0 ? x.rank : t->axis[0];
        *out = (ck_shape){x.rank + 1, {0}};
        for (int d = 0, s = 0; d < out->rank; d++) out->dims[d] = d == a ? t->depth : x.dims[s++];
        return CK_OK;
    case TF_SPLIT: {
        CK_TRY(tf_axis(&t->base, t->axis[0], x.rank, &a));
        int64_t sizes[CK_MAX_LAYER_OUTPUTS];
        CK_TRY(split_sizes(t, &x, a, sizes));
        for (int i = 0; i < t->n_splits; i++) {
            out[i] = x;
            out[i].dims[a] = sizes[i];
        }
        return CK_OK;
    }
    default: break;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": no shape rule for %s", t->base.name, t->function);
}

/* ---- forward and backward ---------------------------------------------------- */

/* An operand's data at run time (a constant: its float64 values). */
typedef struct operand_data {
    const void *data;
    ck_dtype dtype;
    ck_shape shape;
} operand_data;

static operand_data data_of(const tf_operand *o, const ck_tensor *const *in)
{
    if (o->input >= 0) return (operand_data){in[o->input]->data, in[o->input]->dtype, ck_tensor_shape(in[o->input])};
    return (operand_data){o->values, CK_FLOAT64, o->shape};
}

static int64_t count_of(const ck_shape *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->rank; d++) n *= s->dims[d];
    return n;
}

static void zero(ck_tensor *t)
{
    if (t) memset(t->data, 0, (size_t)t->size * ck_dtype_size(t->dtype));
}

/* outer x n x inner around axis a of `shape`. */
static void around(const ck_shape *s, int a, int64_t *outer, int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < a; d++) *outer *= s->dims[d];
    for (int d = a + 1; d < s->rank; d++) *inner *= s->dims[d];
}

/* where: forward, or (dout given) the gradients of the two values: dout
 * where the condition picks them, summed over broadcast axes. */
static void where_run(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out, const ck_tensor *dout,
                      ck_tensor *const *din)
{
    operand_data c = data_of(&t->x, in), v = data_of(&t->y, in), w = data_of(&t->z, in);
    ck_tensor *dv = dout && t->y.input >= 0 ? din[t->y.input] : NULL;
    ck_tensor *dw = dout && t->z.input >= 0 ? din[t->z.input] : NULL;
    if (dv == dw) dw = NULL; /* where(c, x, x): one gradient, summed below */
    zero(dv);
    zero(dw);
    tf_walk k;
    memset(&k, 0, sizeof k);
    k.rank = out->rank;
    k.k = 3;
    for (int d = 0; d < out->rank; d++) k.shape[d] = out->shape[d];
    tf_walk_strides(&k, 0, c.shape.rank, c.shape.dims);
    tf_walk_strides(&k, 1, v.shape.rank, v.shape.dims);
    tf_walk_strides(&k, 2, w.shape.rank, w.shape.dims);
    const int same = dout && t->y.input >= 0 && t->y.input == t->z.input;
    for (int64_t i = 0; i < out->size; i++, tf_walk_next(&k)) {
        int pick = tf_load(c.data, c.dtype, k.off[0]) != 0;
        if (!dout) {
            tf_store(out->data, out->dtype, i, pick ? tf_load(v.data, v.dtype, k.off[1]) : tf_load(w.data, w.dtype, k.off[2]));
            continue;
        }
        double g = tf_load(dout->data, dout->dtype, i);
        ck_tensor *dst = pick || same ? dv : dw;
        int64_t at = pick ? k.off[1] : k.off[2];
        if (dst) tf_store(dst->data, dst->dtype, at, tf_load(dst->data, dst->dtype, at) + g);
    }
}

/* cumsum of src into dst along axis a; exclusive shifts by one, reverse
 * sums from the end.  The backward is the same with reverse flipped. */
static void cumsum_run(const ck_tensor *src, ck_tensor *dst, int a, int exclusive, int reverse)
{
    ck_shape s = ck_tensor_shape(src);
    int64_t outer, inner, n = s.dims[a];
    around(&s, a, &outer, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double sum = 0;
            for (int64_t j = 0; j < n; j++) {
                int64_t at = (o * n + (reverse ? n - 1 - j : j)) * inner + i;
                double v = tf_load(src->data, src->dtype, at);
                if (!exclusive) sum += v;
                tf_store(dst->data, dst->dtype, at, sum);
                if (exclusive) sum += v;
            }
        }
}

/* gather: out[o, k, i] = params[o, indices[k], i] (dout given: the
 * scatter-add of dout into dparams). */
static ck_status gather_run(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out,
                            const ck_tensor *dout, ck_tensor *dx)
{
    operand_data p = data_of(&t->x, in), ind = data_of(&t->y, in);
    int a;
    CK_TRY(tf_axis(&t->base, t->axis[0], p.shape.rank, &a));
    int64_t outer, inner, n = p.shape.dims[a], count = count_of(&ind.shape);
    around(&p.shape, a, &outer, &inner);
    for (int64_t k = 0; k < count; k++) {
        double v = tf_load(ind.data, ind.dtype, k);
        if (!(v >= 0 && v < (double)n))
            return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\" (gather): indices[%lld] = %lld is not in [0, %lld)",
                            t->base.name, (long long)k, (long long)v, (long long)n);
    }
    if (dout) {
        if (!dx) return CK_OK;
        zero(dx);
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < count; k++) {
            int64_t src = (o * n + (int64_t)tf_load(ind.data, ind.dtype, k)) * inner, dst = (o * count + k) * inner;
            for (int64_t i = 0; i < inner; i++) {
                if (!dout)
                    tf_store(out->data, out->dtype, dst + i, tf_load(p.data, p.dtype, src + i));
                else
                    tf_store(dx->data, dx->dtype, src + i,
                             tf_load(dx->data, dx->dtype, src + i) + tf_load(dout->data, dout->dtype, dst + i));
            }
        }
    return CK_OK;
}

/* one_hot: on_value where the index equals the position along the new
 * axis, off_value elsewhere (and for indices out of [0, depth)). */
static void one_hot_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out)
{
    int a = t->axis[0] < 0 ? x->rank : t->axis[0];
    ck_shape s = ck_tensor_shape(out);
    int64_t outer, inner, depth = t->depth;
    around(&s, a, &outer, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t d = 0; d < depth; d++)
            for (int64_t i = 0; i < inner; i++) {
                double v = tf_load(x->data, x->dtype, o * inner + i);
                tf_store(out->data, out->dtype, (o * depth + d) * inner + i, v == (double)d ? t->param : t->param2);
            }
}

/* split: out[k] = the k-th part along the axis (dout given: the parts of
 * dout joined into dx). */
static ck_status split_run(const tf_op_layer *t, const ck_tensor *x, const ck_tensor *out, const ck_tensor *dout,
                           ck_tensor *dx)
{
    int a;
    CK_TRY(tf_axis(&t->base, t->axis[0], x->rank, &a));
    if (dout && !dx) return CK_OK;
    ck_shape s = ck_tensor_shape(x);
    int64_t outer, inner, n = s.dims[a], at = 0;
    around(&s, a, &outer, &inner);
    const size_t es = ck_dtype_size(x->dtype);
    const ck_tensor *parts = dout ? dout : out;
    for (int k = 0; k < t->n_splits; k++) {
        int64_t len = parts[k].shape[a];
        size_t chunk = (size_t)(len * inner) * es;
        for (int64_t o = 0; o < outer; o++) {
            char *whole = (char *)(dout ? dx->data : x->data) + (size_t)((o * n + at) * inner) * es;
            char *part = (char *)parts[k].data + (size_t)o * chunk;
            if (dout) memcpy(whole, part, chunk);
            else memcpy(part, whole, chunk);
        }
        at += len;
    }
    return CK_OK;
}

ck_status tf_index_call(const tf_op_layer *t, const ck_tensor *const *in, ck_tensor *const *out)
{
    switch (t->op->kind) {
    case TF_WHERE: where_run(t, in, out[0], NULL, NULL); return CK_OK;
    case TF_CUMSUM: {
        int a;
        CK_TRY(tf_axis(&t->base, t->axis[0], in[0]->rank, &a));
        cumsum_run(in[0], out[0], a, t->exclusive, t->reverse);
        return CK_OK;
    }
    case TF_GATHER: return gather_run(t, in, out[0], NULL, NULL);
    case TF_ONE_HOT: one_hot_run(t, in[0], out[0]); return CK_OK;
    case TF_SPLIT: {
        /* the parts as one array of tensors, as the backward gets them */
        ck_tensor parts[CK_MAX_LAYER_OUTPUTS];
        for (int k = 0; k < t->n_splits; k++) parts[k] = *out[k];
        return split_run(t, in[0], parts, NULL, NULL);
    }
    default: break;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": no forward for %s", t->base.name, t->function);
}

ck_status tf_index_backward(const tf_op_layer *t, const ck_tensor *const *in, const ck_tensor *out,
                            const ck_tensor *dout, ck_tensor *const *din)
{
    switch (t->op->kind) {
    case TF_WHERE:
        /* the condition has no gradient (an int32 0 / 1 tensor) */
        if (t->x.input >= 0) zero(din[t->x.input]);
        where_run(t, in, out, dout, din);
        return CK_OK;
    case TF_CUMSUM: {
        int a;
        CK_TRY(tf_axis(&t->base, t->axis[0], in[0]->rank, &a));
        if (din[0]) cumsum_run(dout, din[0], a, t->exclusive, !t->reverse);
        return CK_OK;
    }
    case TF_GATHER:
        if (t->y.input >= 0) zero(din[t->y.input]);
        return gather_run(t, in, out, dout, t->x.input >= 0 ? din[t->x.input] : NULL);
    case TF_ONE_HOT: zero(din[0]); return CK_OK;
    case TF_SPLIT: return split_run(t, in[0], out, dout, din[0]);
    default: break;
    }
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\": no gradient for %s", t->base.name, t->function);
}
