/* Recording the keyword arguments of a node made from C, so that saving
 * writes the call as tf.keras would (see ck_node.call_kwargs). */
#include "layers/layer.h"

ck_status ck_node_record_kwarg_inputs(ck_node *node, int n_args, const char *const *names, const json_t *extra)
{
    if (!node || n_args < 1 || n_args > node->n_inputs)
        return ck_error(CK_VALUE_ERROR, "ck_node_record_kwarg_inputs: %d positional inputs of %d", n_args,
                        node ? node->n_inputs : 0);
    json_t *kwargs = extra ? json_deep_copy(extra) : json_object();
    ck_status st = json_is_object(kwargs) ? CK_OK : ck_oom("a node's kwargs");
    for (int i = n_args; st == CK_OK && i < node->n_inputs; i++) {
        const char *name = names ? names[i - n_args] : NULL;
        json_t *m = name ? json_pack("{si}", "__ck_input__", i) : NULL;
        if (!name) st = ck_error(CK_VALUE_ERROR, "ck_node_record_kwarg_inputs: no name for input %d", i);
        else if (!m || json_object_set_new(kwargs, name, m)) st = ck_oom("a node's kwargs");
    }
    if (st != CK_OK) {
        json_decref(kwargs);
        return st;
    }
    json_decref(node->call_kwargs);
    node->call_kwargs = kwargs;
    node->n_args = n_args;
    return CK_OK;
}
