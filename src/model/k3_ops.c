/* Keras 3 operation entries read as TFOpLambda entries (see k3_ops.h).
 * The table maps each operation class to the TensorFlow function
 * tf.keras 2.x names for it, the keyword names of its later positional
 * operands and the config options it takes, renamed to the function's
 * keywords; the TF-op engine (layers/tf_op_*.c) does the rest. */
#include <string.h>

#include "core/json.h"
#include "layers/tf_op.h"
#include "model/k3_ops.h"

typedef struct k3_op {
    const char *class_name;     /* as Keras 3.15 writes it */
    const char *function;       /* the TFOpLambda function */
    const char *positional[2];  /* keywords of args[1], args[2] */
    const char *options[3][2];  /* config key -> function keyword */
} k3_op;

#define UN(c, f) {c, f, {NULL, NULL}, {{NULL, NULL}}}
#define BIN(c, f) {c, f, {"y", NULL}, {{NULL, NULL}}}
#define REDUCE(c, f) {c, f, {NULL, NULL}, {{"axis", "axis"}, {"keepdims", "keepdims"}, {NULL, NULL}}}

static const k3_op k3_ops[] = {
    /* elementwise, binary (keras.src.ops.numpy) */
    BIN("Add", "math.add"), BIN("Subtract", "math.subtract"), BIN("Multiply", "math.multiply"),
    BIN("Divide", "math.truediv"), BIN("TrueDivide", "math.truediv"), BIN("Power", "math.pow"),
    BIN("Maximum", "math.maximum"), BIN("Minimum", "math.minimum"), BIN("FloorDivide", "math.floordiv"),
    BIN("Mod", "math.floormod"), BIN("Equal", "math.equal"), BIN("NotEqual", "math.not_equal"),
    BIN("Greater", "math.greater"), BIN("GreaterEqual", "math.greater_equal"), BIN("Less", "math.less"),
    BIN("LessEqual", "math.less_equal"), BIN("LogicalAnd", "math.logical_and"), BIN("LogicalOr", "math.logical_or"),
    BIN("LogicalXor", "math.logical_xor"),
    /* elementwise, unary (numpy, nn, math) */
    UN("Absolute", "math.abs"), UN("Abs", "math.abs"), UN("Negative", "math.negative"), UN("Sqrt", "math.sqrt"),
    UN("Rsqrt", "math.rsqrt"), UN("Exp", "math.exp"), UN("Expm1", "math.expm1"), UN("Log", "math.log"),
    UN("Log1p", "math.log1p"), UN("Square", "math.square"), UN("Reciprocal", "math.reciprocal"),
    UN("Sign", "math.sign"), UN("Floor", "math.floor"), UN("Ceil", "math.ceil"), UN("Tanh", "math.tanh"),
    UN("Sin", "math.sin"), UN("Cos", "math.cos"), UN("Erf", "math.erf"), UN("LogicalNot", "math.logical_not"),
    UN("Sigmoid", "math.sigmoid"), UN("LogSigmoid", "math.log_sigmoid"), UN("Relu", "nn.relu"),
    UN("Relu6", "nn.relu6"), UN("Selu", "nn.selu"), UN("Softplus", "nn.softplus"), UN("Softsign", "nn.softsign"),
    UN("ConvertToTensor", "identity"),
    {"Round", "math.round", {NULL, NULL}, {{"decimals", NULL}, {NULL, NULL}}},
    {"Where", "where", {"x", "y"}, {{NULL, NULL}}},
    {"Matmul", "linalg.matmul", {"b", NULL}, {{NULL, NULL}}},
    /* shapes */
    {"Reshape", "reshape", {NULL, NULL}, {{"newshape", "shape"}, {NULL, NULL}}},
    {"ExpandDims", "expand_dims", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    {"Squeeze", "squeeze", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    {"Transpose", "transpose", {NULL, NULL}, {{"axes", "perm"}, {NULL, NULL}}},
    {"Concatenate", "concat", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    {"Stack", "stack", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    {"Cast", "cast", {NULL, NULL}, {{"dtype", "dtype"}, {NULL, NULL}}},
    {"Softmax", "nn.softmax", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    {"LogSoftmax", "nn.log_softmax", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    {"Cumsum", "math.cumsum", {NULL, NULL}, {{"axis", "axis"}, {NULL, NULL}}},
    /* reductions */
    REDUCE("Sum", "math.reduce_sum"), REDUCE("Mean", "math.reduce_mean"), REDUCE("Max", "math.reduce_max"),
    REDUCE("Min", "math.reduce_min"), REDUCE("Prod", "math.reduce_prod"), REDUCE("Any", "math.reduce_any"),
    REDUCE("All", "math.reduce_all"), REDUCE("Logsumexp", "math.reduce_logsumexp"),
    REDUCE("Var", "math.reduce_variance"), REDUCE("Std", "math.reduce_std"),
};

int ck_k3_op_entry(const json_t *entry)
{
    const char *module = json_string_value(json_object_get(entry, "module"));
    return module && strncmp(module, "keras.src.ops.", 14) == 0;
}

static const k3_op *find_op(const char *class_name)
{
    for (size_t i = 0; class_name && i < sizeof k3_ops / sizeof k3_ops[0]; i++)
        if (strcmp(k3_ops[i].class_name, class_name) == 0) return &k3_ops[i];
    return NULL;
}

/* The function keyword a config key becomes; "" for an option that must
 * keep its default (null), NULL for one the operation does not list. */
static const char *option_keyword(const k3_op *op, const char *key)
{
    for (int i = 0; i < 3 && op->options[i][0]; i++)
        if (strcmp(op->options[i][0], key) == 0) return op->options[i][1] ? op->options[i][1] : "";
    return NULL;
}

static ck_status unsupported_option(const k3_op *op, const char *name, const char *key)
{
    return ck_error(CK_NOT_IMPLEMENTED, "Keras 3 operation \"%s\" (%s): the option \"%s\" is not supported by ckeras",
                    name, op->class_name, key);
}

/* The node {"args": [a0, a1, a2], "kwargs": {...}} as the TFOpLambda
 * call: a0 first, the later operands by keyword, then the options. */
static ck_status rewrite_node(const k3_op *op, const char *name, const json_t *node, const json_t *options,
                              json_t **out)
{
    const json_t *args = json_object_get(node, "args"), *kwargs = json_object_get(node, "kwargs");
    if (!json_is_object(node) || !json_is_array(args) || json_array_size(args) == 0)
        return ck_error(CK_FORMAT_ERROR, "Keras 3 operation \"%s\" (%s): a node without {\"args\": [...]}", name,
                        op->class_name);
    if (json_array_size(args) > 3 || (json_array_size(args) > 1 && !op->positional[json_array_size(args) - 2]))
        return ck_error(CK_NOT_IMPLEMENTED, "Keras 3 operation \"%s\" (%s) is called with %zu positional "
                        "arguments, which ckeras does not take", name, op->class_name, json_array_size(args));
    json_t *kw = json_is_object(kwargs) ? json_deep_copy(kwargs) : json_object();
    json_t *first = json_array();
    json_t *n = json_object();
    ck_status st = kw && first && n ? CK_OK : ck_oom("a model config");
    if (st == CK_OK) st = json_array_append(first, json_array_get(args, 0)) ? ck_oom("a model config") : CK_OK;
    for (size_t i = 1; st == CK_OK && i < json_array_size(args); i++)
        st = ck_json_set(kw, op->positional[i - 1], json_deep_copy(json_array_get(args, i)));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)options, key, v) {
        if (st != CK_OK) break;
        st = ck_json_set(kw, key, json_incref(v));
    }
    if (st == CK_OK) st = ck_json_set(n, "args", json_incref(first));
    if (st == CK_OK) st = ck_json_set(n, "kwargs", json_incref(kw));
    json_decref(first);
    json_decref(kw);
    if (st != CK_OK) {
        json_decref(n);
        return st;
    }
    *out = n;
    return CK_OK;
}

ck_status ck_k3_op_rewrite(const json_t *entry, json_t **out)
{
    const char *cls = json_string_value(json_object_get(entry, "class_name"));
    const json_t *config = json_object_get(entry, "config");
    const char *name = json_string_value(json_object_get(config, "name"));
    const k3_op *op = find_op(cls);
    if (!op)
        return ck_error(CK_NOT_IMPLEMENTED, "Keras 3 operation class \"%s\" (module %s, layer \"%s\") is not "
                        "implemented by ckeras", cls ? cls : "?",
                        json_string_value(json_object_get(entry, "module")), name ? name : "?");
    if (!json_is_object(config) || !name)
        return ck_error(CK_FORMAT_ERROR, "Keras 3 operation %s: the config needs a \"name\"", op->class_name);
    /* The options, renamed; those ckeras does not take must be null. */
    json_t *options = json_object(), *c = json_object(), *w = json_object(), *nodes = json_array();
    ck_status st = options && c && w && nodes ? CK_OK : ck_oom("a model config");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)config, key, v) {
        if (st != CK_OK) break;
        if (strcmp(key, "name") == 0) continue;
        const char *kw = option_keyword(op, key);
        if (!kw || !*kw) {
            if (!json_is_null(v)) st = unsupported_option(op, name, key);
            continue;
        }
        if (!json_is_null(v)) st = ck_json_set(options, kw, json_incref(v));
    }
    if (st == CK_OK) st = ck_json_set(c, "name", json_string(name));
    if (st == CK_OK) st = ck_json_set(c, "trainable", json_true());
    if (st == CK_OK) st = ck_json_set(c, "function", json_string(op->function));
    const json_t *in = json_object_get(entry, "inbound_nodes");
    for (size_t i = 0; st == CK_OK && i < json_array_size(in); i++) {
        json_t *node = NULL;
        st = rewrite_node(op, name, json_array_get(in, i), options, &node);
        if (st == CK_OK && json_array_append_new(nodes, node)) st = ck_oom("a model config");
    }
    if (st == CK_OK) st = ck_json_set(w, "class_name", json_string("TFOpLambda"));
    if (st == CK_OK) st = ck_json_set(w, "name", json_string(name));
    if (st == CK_OK) st = ck_json_set(w, "config", json_incref(c));
    if (st == CK_OK) st = ck_json_set(w, "inbound_nodes", json_incref(nodes));
    json_decref(options);
    json_decref(c);
    json_decref(nodes);
    if (st != CK_OK) {
        json_decref(w);
        return st;
    }
    *out = w;
    return CK_OK;
}

/* ---- explicit mask arguments --------------------------------------------- */

static const ck_node *producer(const ck_tensor *t, const ck_layer_class *cls)
{
    const ck_keras_history *h = ck_tensor_history(t);
    if (!h || h->layer->cls != cls || h->node_index < 0 || h->node_index >= h->layer->n_inbound) return NULL;
    return h->layer->inbound[h->node_index];
}

/* t past identity (convert_to_tensor) operations. */
static const ck_tensor *past_identities(const ck_tensor *t)
{
    for (int hops = 0; hops < 16; hops++) {
        const ck_node *n = producer(t, &ck_tf_op_lambda_class);
        const tf_op_layer *op = n ? (const tf_op_layer *)n->layer : NULL;
        if (!op || !op->op || op->op->kind != TF_UNARY || strcmp(op->function, "identity") != 0 || n->n_inputs != 1)
            return t;
        t = n->inputs[0];
    }
    return t;
}

/* not_equal(x, c) made by a graph operation, c a scalar constant: x and
 * *c, else NULL. */
static const ck_tensor *not_equal_of(const ck_tensor *t, double *c)
{
    const ck_node *n = producer(t, &ck_tf_op_lambda_class);
    const tf_op_layer *op = n ? (const tf_op_layer *)n->layer : NULL;
    if (!op || !op->op || strcmp(op->function, "math.not_equal") != 0 || n->n_inputs != 1) return NULL;
    const tf_operand *x = &op->x, *y = &op->y;
    if (x->input < 0) x = &op->y, y = &op->x;
    if (x->input != 0 || y->input >= 0 || !y->values || y->shape.rank != 0) return NULL;
    *c = y->values[0];
    return n->inputs[0];
}

/* any(t, axis=-1) made by a graph operation: t, else NULL. */
static const ck_tensor *any_last_axis_of(const ck_tensor *t)
{
    const ck_node *n = producer(t, &ck_tf_op_lambda_class);
    const tf_op_layer *op = n ? (const tf_op_layer *)n->layer : NULL;
    if (!op || !op->op || strcmp(op->function, "math.reduce_any") != 0 || n->n_inputs != 1 || op->keepdims ||
        !op->has_axis || op->n_axis != 1)
        return NULL;
    ck_shape s = ck_tensor_shape(n->inputs[0]);
    return op->axis[0] == -1 || op->axis[0] == s.rank - 1 ? n->inputs[0] : NULL;
}

/* The mask_value of a Masking layer, from its config. */
static int masking_value(const ck_layer *masking, double *v)
{
    json_t *c = json_object();
    int ok = c && masking->cls->get_config && masking->cls->get_config(masking, c) == CK_OK &&
             json_is_number(json_object_get(c, "mask_value"));
    if (ok) *v = json_number_value(json_object_get(c, "mask_value"));
    json_decref(c);
    return ok;
}

ck_status ck_k3_check_mask_arg(const ck_layer *layer, const ck_tensor *explicit_mask, const ck_tensor *implicit)
{
    const ck_tensor *e = past_identities(explicit_mask);
    if (implicit && (e == implicit || explicit_mask == implicit)) return CK_OK;
    double c = 0, v = 0;
    /* Embedding(mask_zero)'s mask: not_equal(its ids, 0) */
    const ck_tensor *ids = not_equal_of(e, &c);
    const ck_node *emb = implicit ? producer(implicit, &ck_embedding_class) : NULL;
    if (ids && c == 0 && emb && emb->n_inputs == 1 && emb->inputs[0] == ids && emb->masks &&
        emb->masks[0] == implicit)
        return CK_OK;
    /* Masking's: any(not_equal(x, mask_value), axis=-1) */
    const ck_tensor *ne = any_last_axis_of(e);
    const ck_tensor *x = ne ? not_equal_of(ne, &c) : NULL;
    const ck_node *mk = implicit ? producer(implicit, &ck_masking_class) : NULL;
    if (x && mk && mk->n_inputs == 1 && mk->inputs[0] == x && mk->masks && mk->masks[0] == implicit &&
        masking_value(mk->layer, &v) && v == c)
        return CK_OK;
    return ck_error(CK_NOT_IMPLEMENTED, "layer \"%s\" (%s) is called with an explicit `mask` argument that is not "
                    "the mask ckeras propagates to its input (ckeras takes Keras 3's masks of Embedding(mask_zero) "
                    "and Masking, or the input's own mask)", layer->name, layer->cls->class_name);
}
