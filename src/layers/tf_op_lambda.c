/* The TFOpLambda and SlicingOpLambda classes: tf.keras 2.x wraps every
 * TensorFlow function called on Keras tensors in one of these, with the
 * function's name as the whole config ({"name", "trainable", "dtype",
 * "function"}) and its arguments in the inbound node.  ckeras binds the
 * arguments when a config is loaded (node_call), then runs the function
 * from its table (tf_op_table.c).  Neither autocasts its inputs (Keras
 * passes autocast=False). */
#include <string.h>

#include "layers/tf_op.h"

/* Tensors TF functions take by keyword after the first argument
 * (math.add's y, matmul's b, where's x and y, gather's indices), in the
 * order tf.keras lists a node's inputs (where: condition, x, y). */
static const char *const tf_op_kwarg_inputs[] = {"x", "y", "b", "indices", NULL};

static ck_status node_call(ck_layer *layer, const json_t *args, const json_t *kwargs)
{
    return tf_op_bind((tf_op_layer *)layer, args, kwargs);
}

static ck_status not_bound(const tf_op_layer *t)
{
    return ck_error(CK_VALUE_ERROR, "%s \"%s\" (%s) has no call arguments: it is made by loading a functional "
                    "config, whose node gives them", t->base.cls->class_name, t->base.name, t->function);
}

static ck_status check_inputs(const tf_op_layer *t, int n)
{
    if (!t->call_args) return not_bound(t);
    const tf_op_kind k = t->op->kind;
    /* operands beyond x are bound only for the functions that take them */
    const int two = k == TF_BINARY || k == TF_MATMUL || k == TF_GATHER || k == TF_WHERE, three = k == TF_WHERE;
    int want = k == TF_CONCAT || k == TF_STACK ? t->n_values
               : two ? (t->x.input >= 0) + (t->y.input >= 0) + (three && t->z.input >= 0)
                     : 1;
    if (n != want || t->x.input >= n || (two && t->y.input >= n) || (three && t->z.input >= n))
        return ck_error(CK_VALUE_ERROR, "TFOpLambda \"%s\" (%s) takes %d input tensor(s), got %d", t->base.name,
                        t->function, want, n);
    return CK_OK;
}

static ck_status output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out)
{
    const tf_op_layer *t = (const tf_op_layer *)layer;
    CK_TRY(check_inputs(t, n));
    switch (t->op->kind) {
    case TF_UNARY: *out = in[0]; return CK_OK;
    case TF_BINARY: {
        ck_shape a = tf_operand_shape(&t->x, in), b = tf_operand_shape(&t->y, in);
        return tf_broadcast_shape(layer, &a, &b, out);
    }
    case TF_SLICE: return tf_slice_output(t, &in[0], out);
    case TF_WHERE:
    case TF_CUMSUM:
    case TF_GATHER:
    case TF_ONE_HOT:
    case TF_SPLIT: return tf_index_output(t, in, out);
    default: return tf_shape_output(t, n, in, out);
    }
}

/* The output has the dtype of the (first) tensor operand, or the cast's. */
static ck_dtype output_dtype(const ck_layer *layer, int n, const ck_dtype *in)
{
    const tf_op_layer *t = (const tf_op_layer *)layer;
    (void)n;
    if (t->op && t->op->boolean) return CK_INT32;
    if (t->op && tf_index_kind(t->op->kind)) return tf_index_output_dtype(t, in);
    if (t->op && t->op->kind == TF_CAST) return t->cast_to;
    if (t->op && t->op->kind == TF_FILL && t->cast_to) return t->cast_to;
    if (t->op && t->op->kind == TF_REDUCE && (t->op->reduce == TF_ARGMAX || t->op->reduce == TF_ARGMIN))
        return CK_INT64;
    return in[0];
}

static ck_status call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out)
{
    const tf_op_layer *t = (const tf_op_layer *)layer;
    CK_TRY(check_inputs(t, n));
    switch (t->op->kind) {
    case TF_UNARY:
    case TF_BINARY: return tf_elementwise_call(t, in, out[0]);
    case TF_SLICE: return tf_slice_call(t, in[0], out[0]);
    case TF_WHERE:
    case TF_CUMSUM:
    case TF_GATHER:
    case TF_ONE_HOT:
    case TF_SPLIT: return tf_index_call(t, in, out);
    default: return tf_shape_call(t, n, in, out[0]);
    }
}

static ck_status backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din)
{
    const tf_op_layer *t = (const tf_op_layer *)layer;
    (void)ctx, (void)saved;
    CK_TRY(check_inputs(t, n));
    for (int i = 0; i < n; i++)
        if (din[i] && !ck_dtype_is_floating(din[i]->dtype))
            return ck_error(CK_TYPE_ERROR, "TFOpLambda \"%s\": no gradient for integer inputs", layer->name);
    switch (t->op->kind) {
    case TF_UNARY:
    case TF_BINARY: return tf_elementwise_backward(t, in, out, dout, din);
    case TF_SLICE: return tf_slice_backward(t, in[0], dout, din[0]);
    case TF_WHERE:
    case TF_CUMSUM:
    case TF_GATHER:
    case TF_ONE_HOT:
    case TF_SPLIT: return tf_index_backward(t, in, out, dout, din);
    default: return tf_shape_backward(t, n, in, out, dout, din);
    }
}

/* split returns one tensor per part, all of the input's dtype */
static int output_count(const ck_layer *layer) { return tf_index_output_count((const tf_op_layer *)layer); }

static void output_dtypes(const ck_layer *layer, int n, const ck_dtype *in, ck_dtype *out)
{
    int count = output_count(layer);
    for (int k = 0; k < count; k++) out[k] = output_dtype(layer, n, in);
}

static ck_status get_config(const ck_layer *layer, json_t *config)
{
    return ck_json_set(config, "function", json_string(((const tf_op_layer *)layer)->function));
}

static void destroy(ck_layer *layer)
{
    tf_op_layer *t = (tf_op_layer *)layer;
    tf_op_unbind(t);
    ck_free(t->function);
    t->function = NULL;
}

static ck_status create_from_config(const ck_layer_class *cls, const json_t *c, ck_layer **out)
{
    static const char *const keys[] = {"function", NULL};
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", cls->class_name);
    const char *function = json_string_value(json_object_get(c, "function"));
    if (!function) return ck_error(CK_FORMAT_ERROR, "%s config has no \"function\" string", cls->class_name);
    const tf_op_def *op = tf_op_find(function);
    if (!op || (op->kind == TF_SLICE) != (cls->kwarg_inputs == NULL))
        return ck_error(CK_NOT_IMPLEMENTED, "%s function \"%s\" (tf.%s) is not implemented by ckeras",
                        cls->class_name, function, function);
    ck_layer *layer = NULL;
    CK_TRY(ck_layer_create_from_config(cls, c, keys, &layer));
    tf_op_layer *t = (tf_op_layer *)layer;
    t->op = op;
    t->function = ck_malloc(strlen(function) + 1);
    if (!t->function) {
        ck_layer_free(layer);
        return ck_oom("a TFOpLambda");
    }
    memcpy(t->function, function, strlen(function) + 1);
    *out = layer;
    return CK_OK;
}

static ck_status tf_op_from_config(const json_t *c, ck_layer **out)
{
    return create_from_config(&ck_tf_op_lambda_class, c, out);
}

static ck_status slicing_from_config(const json_t *c, ck_layer **out)
{
    return create_from_config(&ck_slicing_op_lambda_class, c, out);
}

#define TF_OP_CLASS(cname, from, kwin)                                                                         \
    {                                                                                                          \
        .class_name = cname, .size = sizeof(tf_op_layer), .arity = CK_LIST_OF_INPUTS, .min_inputs = 1,        \
        .max_inputs = CK_MAX_LAYER_INPUTS, .no_autocast = 1, .compute_output_shape = output_shape,            \
        .output_dtype = output_dtype, .call = call, .get_config = get_config, .from_config = from,           \
        .destroy = destroy, .backward = backward, .node_call = node_call, .kwarg_inputs = kwin,             \
        .output_count = output_count, .output_dtypes = output_dtypes,                                           \
    }

const ck_layer_class ck_tf_op_lambda_class = TF_OP_CLASS("TFOpLambda", tf_op_from_config, tf_op_kwarg_inputs);
const ck_layer_class ck_slicing_op_lambda_class = TF_OP_CLASS("SlicingOpLambda", slicing_from_config, NULL);
