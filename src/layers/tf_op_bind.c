/* Binding a TFOpLambda call: the node's first argument and keyword
 * arguments (the normalised form of the node_call hook, tensors as
 * {"__ck_input__": k}) become the layer's operands and options.  Anything
 * the function takes that ckeras does not (a tensor where a constant is
 * expected, an unknown keyword) is CK_NOT_IMPLEMENTED naming the layer. */
#include <stdio.h>
#include <string.h>

#include "layers/tf_op.h"

static int input_marker(const json_t *j)
{
    const json_t *v = json_object_size(j) == 1 ? json_object_get(j, "__ck_input__") : NULL;
    return json_is_integer(v) ? (int)json_integer_value(v) : -1;
}

static const json_t *constant_of(const json_t *j)
{
    const json_t *v = json_object_size(j) == 1 ? json_object_get(j, "__ck_constant__") : NULL;
    return v ? v : j;
}

static ck_status unsupported(const tf_op_layer *t, const char *what)
{
    return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\" (%s): %s is not supported by ckeras", t->base.name,
                    t->function, what);
}

/* Shape of a nested list of numbers (a scalar: rank 0); 0 if ragged or
 * not numbers. */
static int const_shape(const json_t *j, int depth, ck_shape *s)
{
    if (json_is_number(j) || json_is_boolean(j)) {
        if (s->rank < 0) s->rank = depth;
        return s->rank == depth;
    }
    if (!json_is_array(j) || depth >= CK_MAX_RANK) return 0;
    int64_t n = (int64_t)json_array_size(j);
    if (s->dims[depth] < 0) s->dims[depth] = n;
    if (s->dims[depth] != n || n == 0) return 0;
    for (size_t i = 0; i < json_array_size(j); i++)
        if (!const_shape(json_array_get(j, i), depth + 1, s)) return 0;
    return 1;
}

static void const_values(const json_t *j, double *out, int64_t *at)
{
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++) const_values(json_array_get(j, i), out, at);
        return;
    }
    out[(*at)++] = json_is_boolean(j) ? (json_is_true(j) ? 1 : 0) : json_number_value(j);
}

/* An operand: a layer input or a numeric constant. */
static ck_status operand(tf_op_layer *t, const json_t *j, const char *param, tf_operand *o)
{
    o->input = input_marker(j);
    if (o->input >= 0) return CK_OK;
    const json_t *c = constant_of(j);
    ck_shape s = {-1, {0}};
    for (int d = 0; d < CK_MAX_RANK; d++) s.dims[d] = -1;
    if (!const_shape(c, 0, &s)) {
        char what[96];
        snprintf(what, sizeof what, "the value given for `%s` (not a tensor or numbers)", param);
        return unsupported(t, what);
    }
    for (int d = s.rank; d < CK_MAX_RANK; d++) s.dims[d] = 0;
    int64_t count = 1;
    for (int d = 0; d < s.rank; d++) count *= s.dims[d];
    o->values = ck_malloc((size_t)count * sizeof(double));
    if (!o->values) return ck_oom("a TFOpLambda constant");
    int64_t at = 0;
    const_values(c, o->values, &at);
    o->shape = s;
    return CK_OK;
}

static ck_status tensor_operand(tf_op_layer *t, const json_t *j, const char *param, tf_operand *o)
{
    o->input = input_marker(j);
    if (o->input < 0) {
        char what[96];
        snprintf(what, sizeof what, "a constant for `%s` (ckeras takes a tensor there)", param);
        return unsupported(t, what);
    }
    return CK_OK;
}

/* An int or a list of ints (axis, shape, perm); null leaves *n at -1. */
static ck_status int_list(tf_op_layer *t, const json_t *j, const char *param, int64_t *out, int *n)
{
    *n = -1;
    if (!j || json_is_null(j)) return CK_OK;
    j = constant_of(j);
    if (json_is_integer(j)) {
        out[0] = json_integer_value(j);
        *n = 1;
        return CK_OK;
    }
    if (!json_is_array(j) || json_array_size(j) > CK_MAX_RANK) {
        char what[96];
        snprintf(what, sizeof what, "this `%s` (ckeras takes an int or a list of ints)", param);
        return unsupported(t, what);
    }
    for (size_t i = 0; i < json_array_size(j); i++) {
        if (!json_is_integer(json_array_get(j, i))) return unsupported(t, "a non-integer in a shape or axis list");
        out[i] = json_integer_value(json_array_get(j, i));
    }
    *n = (int)json_array_size(j);
    return CK_OK;
}

static ck_status axes(tf_op_layer *t, const json_t *j, const char *param)
{
    int64_t v[CK_MAX_RANK];
    int n;
    CK_TRY(int_list(t, j, param, v, &n));
    t->has_axis = n >= 0;
    t->n_axis = n < 0 ? 0 : n;
    for (int i = 0; i < t->n_axis; i++) t->axis[i] = (int)v[i];
    return CK_OK;
}

static int flag(const json_t *j) { return json_is_true(j) || (json_is_integer(j) && json_integer_value(j) != 0); }

/* slice_spec: one entry or a list of them ({"start", "stop", "step"}
 * dicts, ints, null for newaxis, {"class_name": "__ellipsis__"}). */
static ck_status slice_entry(tf_op_layer *t, const json_t *j, tf_slice *s)
{
    memset(s, 0, sizeof *s);
    s->step = 1;
    if (json_is_null(j)) {
        s->kind = TF_SL_NEWAXIS;
        return CK_OK;
    }
    if (json_is_integer(j)) {
        s->kind = TF_SL_INDEX;
        s->start = json_integer_value(j);
        return CK_OK;
    }
    const char *cls = json_string_value(json_object_get(j, "class_name"));
    if (cls && strcmp(cls, "__ellipsis__") == 0) {
        s->kind = TF_SL_ELLIPSIS;
        return CK_OK;
    }
    const json_t *start = json_object_get(j, "start"), *stop = json_object_get(j, "stop"),
                 *step = json_object_get(j, "step");
    if (!json_is_object(j) || (start && !json_is_null(start) && !json_is_integer(start)) ||
        (stop && !json_is_null(stop) && !json_is_integer(stop)) ||
        (step && !json_is_null(step) && !json_is_integer(step)))
        return unsupported(t, "this slice (ckeras takes ints, start:stop:step with ints, None and ...)");
    s->kind = TF_SL_RANGE;
    s->has_start = json_is_integer(start);
    s->has_stop = json_is_integer(stop);
    s->start = json_integer_value(start);
    s->stop = json_integer_value(stop);
    if (json_is_integer(step)) s->step = json_integer_value(step);
    if (s->step == 0) return ck_error(CK_VALUE_ERROR, "SlicingOpLambda \"%s\": slice step cannot be zero", t->base.name);
    return CK_OK;
}

static ck_status slices(tf_op_layer *t, const json_t *spec)
{
    int list = json_is_array(spec);
    size_t n = list ? json_array_size(spec) : 1;
    if (n > sizeof t->slices / sizeof t->slices[0]) return unsupported(t, "a slice with this many entries");
    int ellipses = 0;
    for (size_t i = 0; i < n; i++) {
        CK_TRY(slice_entry(t, list ? json_array_get(spec, i) : spec, &t->slices[i]));
        ellipses += t->slices[i].kind == TF_SL_ELLIPSIS;
    }
    if (ellipses > 1) return ck_error(CK_VALUE_ERROR, "SlicingOpLambda \"%s\": multiple ellipses in slice spec not "
                                      "allowed", t->base.name);
    t->n_slices = (int)n;
    return CK_OK;
}

static ck_status cast_dtype(tf_op_layer *t, const json_t *j)
{
    const char *name = json_string_value(j);
    if (!name || ck_dtype_from_name(name, &t->cast_to) != CK_OK) {
        ck_clear_error();
        return unsupported(t, "a cast to this dtype (ckeras has float32, float64, int32, int64)");
    }
    return CK_OK;
}

static int known_param(const tf_op_def *op, const char *key)
{
    if (strcmp(key, "name") == 0) return 1; /* TFOpLambda drops it */
    for (const char *const *p = op->params + 1; *p; p++)
        if (strcmp(*p, key) == 0) return 1;
    return 0;
}

static ck_status bind_values(tf_op_layer *t, const json_t *args)
{
    /* concat / stack: a list of tensors, in input order */
    if (!json_is_array(args) || json_array_size(args) == 0)
        return unsupported(t, "a `values` argument that is not a list of tensors");
    for (size_t i = 0; i < json_array_size(args); i++)
        if (input_marker(json_array_get(args, i)) != (int)i)
            return unsupported(t, "a constant among the `values`");
    t->n_values = (int)json_array_size(args);
    return CK_OK;
}

static ck_status bind(tf_op_layer *t, const json_t *args, const json_t *kwargs)
{
    const tf_op_def *op = t->op;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)kwargs, key, v) {
        if (!known_param(op, key)) {
            char what[128];
            snprintf(what, sizeof what, "the keyword argument `%s`", key);
            return unsupported(t, what);
        }
    }
#define KW(name) json_object_get(kwargs, name)
    switch (op->kind) {
    case TF_UNARY:
        CK_TRY(tensor_operand(t, args, op->params[0], &t->x));
        t->param = op->param_default;
        if (op->param_name && KW(op->param_name) && !json_is_null(KW(op->param_name)))
            t->param = json_is_boolean(KW(op->param_name)) ? flag(KW(op->param_name))
                                                           : json_number_value(KW(op->param_name));
        /* TF keeps leaky_relu's alpha as a float32 attribute */
        if (op->param_name && strcmp(op->param_name, "alpha") == 0) t->param = (float)t->param;
        return CK_OK;
    case TF_BINARY:
        if (!KW("y")) return unsupported(t, "a call without `y`");
        CK_TRY(operand(t, args, "x", &t->x));
        CK_TRY(operand(t, KW("y"), "y", &t->y));
        if (t->x.input < 0 && t->y.input < 0) return unsupported(t, "a call on constants only");
        return CK_OK;
    case TF_REDUCE:
        CK_TRY(tensor_operand(t, args, op->params[0], &t->x));
        if (op->reduce == TF_ARGMAX || op->reduce == TF_ARGMIN) {
            const json_t *ax = KW("axis") && !json_is_null(KW("axis")) ? KW("axis") : KW("dimension");
            const char *ot = json_string_value(KW("output_type"));
            if (ot && strcmp(ot, "int64") != 0) return unsupported(t, "an output_type other than int64");
            if (ax && !json_is_null(ax) && !json_is_integer(ax)) return unsupported(t, "an axis that is not an int");
            t->has_axis = t->n_axis = 1;
            t->axis[0] = json_is_integer(ax) ? (int)json_integer_value(ax) : 0;
            return CK_OK;
        }
        t->keepdims = flag(KW("keepdims"));
        return axes(t, KW("axis"), "axis");
    case TF_NORMALIZE:
        CK_TRY(tensor_operand(t, args, "x", &t->x));
        t->param = json_is_number(KW("epsilon")) ? json_number_value(KW("epsilon")) : 1e-12;
        return axes(t, KW("axis") && !json_is_null(KW("axis")) ? KW("axis") : KW("dim"), "axis");
    case TF_CLIP: {
        CK_TRY(tensor_operand(t, args, "t", &t->x));
        const json_t *lo = constant_of(KW("clip_value_min")), *hi = constant_of(KW("clip_value_max"));
        if (!json_is_number(lo) || !json_is_number(hi)) return unsupported(t, "clip bounds that are not numbers");
        t->param = json_number_value(lo);
        t->param2 = json_number_value(hi);
        return CK_OK;
    }
    case TF_TILE: {
        CK_TRY(tensor_operand(t, args, "input", &t->x));
        int n;
        CK_TRY(int_list(t, KW("multiples"), "multiples", t->multiples, &n));
        if (n < 0 || !json_is_array(constant_of(KW("multiples")))) return unsupported(t, "tile without a list of multiples");
        t->n_multiples = n;
        return CK_OK;
    }
    case TF_FILL:
        CK_TRY(tensor_operand(t, args, "input", &t->x));
        if (KW("dtype") && !json_is_null(KW("dtype"))) return cast_dtype(t, KW("dtype"));
        return CK_OK;
    case TF_RESHAPE: {
        CK_TRY(tensor_operand(t, args, "tensor", &t->x));
        int n;
        CK_TRY(int_list(t, KW("shape"), "shape", t->shape, &n));
        if (n < 0 || !json_is_array(constant_of(KW("shape"))))
            return unsupported(t, "a reshape without a list of ints for `shape`");
        t->shape_rank = n;
        return CK_OK;
    }
    case TF_EXPAND_DIMS:
        CK_TRY(tensor_operand(t, args, "input", &t->x));
        if (!json_is_integer(KW("axis"))) return unsupported(t, "expand_dims without an int `axis`");
        return axes(t, KW("axis"), "axis");
    case TF_SQUEEZE:
        CK_TRY(tensor_operand(t, args, "input", &t->x));
        return axes(t, KW("axis") && !json_is_null(KW("axis")) ? KW("axis") : KW("squeeze_dims"), "axis");
    case TF_IDENTITY:
        return tensor_operand(t, args, "input", &t->x);
    case TF_CONCAT:
    case TF_STACK:
        CK_TRY(bind_values(t, args));
        if (op->kind == TF_CONCAT && !json_is_integer(KW("axis"))) return unsupported(t, "concat without an int `axis`");
        t->has_axis = 1;
        t->n_axis = 1;
        t->axis[0] = KW("axis") && !json_is_null(KW("axis")) ? (int)json_integer_value(KW("axis")) : 0;
        return CK_OK;
    case TF_TRANSPOSE: {
        CK_TRY(tensor_operand(t, args, "a", &t->x));
        int64_t p[CK_MAX_RANK];
        int n;
        CK_TRY(int_list(t, KW("perm"), "perm", p, &n));
        t->n_perm = n < 0 ? 0 : n;
        for (int i = 0; i < t->n_perm; i++) t->perm[i] = (int)p[i];
        return CK_OK;
    }
    case TF_MATMUL:
        CK_TRY(tensor_operand(t, args, "a", &t->x));
        if (!KW("b")) return unsupported(t, "matmul without `b`");
        CK_TRY(tensor_operand(t, KW("b"), "b", &t->y));
        if (flag(KW("a_is_sparse")) || flag(KW("b_is_sparse")) || (KW("output_type") && !json_is_null(KW("output_type"))))
            return unsupported(t, "sparse operands or an output_type");
        t->transpose_a = flag(KW("transpose_a")) || flag(KW("adjoint_a"));
        t->transpose_b = flag(KW("transpose_b")) || flag(KW("adjoint_b"));
        return CK_OK;
    case TF_SOFTMAX:
        CK_TRY(tensor_operand(t, args, "logits", &t->x));
        t->has_axis = t->n_axis = 1;
        t->axis[0] = json_is_integer(KW("axis")) ? (int)json_integer_value(KW("axis")) : -1;
        return CK_OK;
    case TF_CAST:
        CK_TRY(tensor_operand(t, args, "x", &t->x));
        return cast_dtype(t, KW("dtype"));
    case TF_WHERE:
    case TF_CUMSUM:
    case TF_GATHER:
    case TF_ONE_HOT:
    case TF_SPLIT: return tf_index_bind(t, args, kwargs);
    case TF_SLICE:
        CK_TRY(tensor_operand(t, args, "tensor", &t->x));
        if (KW("var") && !json_is_null(KW("var"))) return unsupported(t, "`var`");
        if (!KW("slice_spec")) return unsupported(t, "getitem without `slice_spec`");
        return slices(t, KW("slice_spec"));
    }
#undef KW
    return unsupported(t, "this function");
}

ck_status tf_bind_operand(tf_op_layer *t, const json_t *j, const char *param, tf_operand *o)
{
    return operand(t, j, param, o);
}

ck_status tf_bind_tensor(tf_op_layer *t, const json_t *j, const char *param, tf_operand *o)
{
    return tensor_operand(t, j, param, o);
}

ck_status tf_unsupported(const tf_op_layer *t, const char *what) { return unsupported(t, what); }

const json_t *tf_constant_of(const json_t *j) { return constant_of(j); }

void tf_op_unbind(tf_op_layer *t)
{
    ck_free(t->x.values);
    ck_free(t->y.values);
    ck_free(t->z.values);
    json_decref(t->call_args);
    json_decref(t->call_kwargs);
    const tf_op_def *op = t->op;
    char *function = t->function;
    memset((char *)t + sizeof t->base, 0, sizeof *t - sizeof t->base);
    t->op = op;
    t->function = function;
}

ck_status tf_op_bind(tf_op_layer *t, const json_t *args, const json_t *kwargs)
{
    if (t->call_args) {
        /* One layer per TF call in tf.keras; the call is the layer's state,
         * so a second node must ask for the same. */
        if (json_equal((json_t *)args, t->call_args) && json_equal((json_t *)kwargs, t->call_kwargs)) return CK_OK;
        return ck_error(CK_NOT_IMPLEMENTED, "TFOpLambda \"%s\" is called twice with different arguments: ckeras "
                        "keeps one call per layer", t->base.name);
    }
    json_t *a = json_deep_copy(args), *k = json_deep_copy(kwargs);
    if (!a || !k) {
        json_decref(a);
        json_decref(k);
        return ck_oom("a TFOpLambda call");
    }
    ck_status st = bind(t, args, kwargs);
    if (st != CK_OK) {
        json_decref(a);
        json_decref(k);
        tf_op_unbind(t);
        return st;
    }
    t->call_args = a;
    t->call_kwargs = k;
    return CK_OK;
}
