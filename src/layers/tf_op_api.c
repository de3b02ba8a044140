/* ck_tf_op: a TF function called on symbolic tensors from C, as tf.keras
 * does when Python code calls one on Keras tensors.  The call is bound
 * and recorded on the node in the form the config loader uses
 * (model/node_call.c), so saving writes it as tf.keras would. */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "layers/tf_op.h"

static json_t *input_marker(int k)
{
    json_t *m = json_object();
    if (m && json_object_set_new(m, "__ck_input__", json_integer(k))) {
        json_decref(m);
        return NULL;
    }
    return m;
}

/* The keyword arguments that take the inputs after the first, in order
 * (binary ops' y, matmul's b, where's x and y, gather's indices). */
static int tensor_kwargs(const tf_op_def *op, const char *const **names)
{
    static const char *const y[] = {"y"}, *const b[] = {"b"}, *const xy[] = {"x", "y"}, *const ind[] = {"indices"};
    switch (op->kind) {
    case TF_BINARY: *names = y; return 1;
    case TF_MATMUL: *names = b; return 1;
    case TF_WHERE: *names = xy; return 2;
    case TF_GATHER: *names = ind; return 1;
    default: *names = NULL; return 0;
    }
}

/* The first argument and keyword arguments of the call, normalised. */
static ck_status make_call(const tf_op_def *op, int n, const char *kwargs_json, json_t **args, json_t **kwargs)
{
    const int list = op->kind == TF_CONCAT || op->kind == TF_STACK;
    if (kwargs_json) CK_TRY(ck_json_parse(kwargs_json, strlen(kwargs_json), "ck_tf_op kwargs_json", kwargs));
    else if (!(*kwargs = json_object())) return ck_oom("a TF-op call");
    ck_status st = json_is_object(*kwargs) ? CK_OK
                                           : ck_error(CK_VALUE_ERROR, "ck_tf_op: kwargs_json must be a JSON object");
    const char *const *names;
    int n_names = tensor_kwargs(op, &names);
    if (st == CK_OK && !list && n > 1 + n_names)
        st = ck_error(CK_VALUE_ERROR, "ck_tf_op: %s takes at most %d input tensors, got %d", op->function,
                      1 + n_names, n);
    for (int i = 1; st == CK_OK && !list && i < n; i++) {
        if (json_object_get(*kwargs, names[i - 1]))
            st = ck_error(CK_VALUE_ERROR, "ck_tf_op: %s got `%s` both as input %d and in kwargs_json", op->function,
                          names[i - 1], i);
        else if (json_object_set_new(*kwargs, names[i - 1], input_marker(i)))
            st = ck_oom("a TF-op call");
    }
    *args = NULL;
    if (st == CK_OK) *args = list ? json_array() : input_marker(0);
    if (st == CK_OK && !*args) st = ck_oom("a TF-op call");
    for (int i = 0; st == CK_OK && list && i < n; i++)
        if (json_array_append_new(*args, input_marker(i))) st = ck_oom("a TF-op call");
    if (st != CK_OK) {
        json_decref(*args);
        json_decref(*kwargs);
        *args = *kwargs = NULL;
    }
    return st;
}

ck_status ck_tf_op(const char *function, int n, ck_tensor *const *inputs, const char *kwargs_json, ck_tensor **out)
{
    CK_NEED(function);
    CK_NEED(inputs);
    CK_NEED(out);
    if (n < 1 || n > CK_MAX_LAYER_INPUTS)
        return ck_error(CK_VALUE_ERROR, "ck_tf_op: %d input tensors (1 to %d)", n, CK_MAX_LAYER_INPUTS);
    const tf_op_def *op = tf_op_find(function);
    if (!op) return ck_error(CK_NOT_IMPLEMENTED, "ck_tf_op: the function \"%s\" (tf.%s) is not implemented by ckeras",
                             function, function);
    const ck_layer_class *cls = op->kind == TF_SLICE ? &ck_slicing_op_lambda_class : &ck_tf_op_lambda_class;
    json_t *args = NULL, *kwargs = NULL;
    CK_TRY(make_call(op, n, kwargs_json, &args, &kwargs));
    char prefix[160];
    snprintf(prefix, sizeof prefix, "tf.%s", function);
    char *name = ck_unique_name(prefix);
    json_t *config = name ? json_pack("{s:s, s:s, s:s}", "name", name, "dtype", "float32", "function", function)
                          : NULL;
    ck_free(name);
    ck_layer *layer = NULL;
    ck_status st = config ? cls->from_config(config, &layer) : ck_oom("a TF-op layer");
    json_decref(config);
    if (st == CK_OK) st = cls->node_call(layer, args, kwargs);
    ck_tensor *y = NULL;
    if (st == CK_OK) st = ck_layer_apply(layer, n, inputs, &y);
    if (st != CK_OK) {
        if (layer) ck_layer_free(layer);
        json_decref(args);
        json_decref(kwargs);
        return st;
    }
    /* The node keeps the call (a list of all the inputs is the plain form). */
    ck_node *node = layer->inbound[layer->n_inbound - 1];
    int plain = json_is_array(args);
    if (plain) json_decref(args);
    else node->call_args = args;
    node->call_kwargs = kwargs;
    node->n_args = plain ? n : 1;
    *out = y;
    return CK_OK;
}
