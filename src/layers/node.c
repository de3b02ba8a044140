/* Symbolic tensors and the node history of a layer (tf.keras Node):
 * calling a layer on symbolic tensors records a node and computes nothing. */
#include <string.h>

#include "layers/layer.h"

/* A symbolic tensor and its history in one block, freed together. */
typedef struct symbolic_block {
    ck_tensor tensor;
    ck_keras_history history;
} symbolic_block;

ck_status ck_symbolic_new(ck_tensor **out, ck_dtype dtype, const ck_shape *shape, ck_layer *layer,
                          int node_index, int tensor_index)
{
    if (shape->rank < 0 || shape->rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "symbolic tensor of rank %d: at most %d", shape->rank, CK_MAX_RANK);
    symbolic_block *b = ck_calloc(1, sizeof *b);
    if (!b) return ck_oom("a symbolic tensor");
    b->tensor.dtype = dtype;
    b->tensor.rank = shape->rank;
    b->tensor.size = 1;
    for (int i = 0; i < shape->rank; i++) {
        b->tensor.shape[i] = shape->dims[i] < 0 ? -1 : shape->dims[i];
        if (b->tensor.shape[i] < 0) b->tensor.size = -1;
        else if (b->tensor.size >= 0) b->tensor.size *= shape->dims[i];
    }
    b->history = (ck_keras_history){layer, node_index, tensor_index};
    b->tensor.keras_history = &b->history;
    *out = &b->tensor;
    return CK_OK;
}

void ck_symbolic_free(ck_tensor *t)
{
    ck_free(t); /* the tensor is the first member of its block */
}

const ck_keras_history *ck_tensor_history(const ck_tensor *t)
{
    return t && !t->data ? t->keras_history : NULL;
}

static void node_free(ck_node *node)
{
    if (!node) return;
    ck_node_free_masks(node);
    for (int i = 0; i < node->n_outputs; i++) ck_symbolic_free(node->outputs[i]);
    for (int i = 0; node->producers && i < node->n_inputs; i++) {
        if (node->producers[i]) {
            node->producers[i]->n_outbound--;
            ck_layer_free(node->producers[i]);
        }
    }
    json_decref(node->call_args);
    json_decref(node->call_kwargs);
    ck_free(node->outputs);
    ck_free(node->inputs);
    ck_free(node->producers);
    ck_free(node);
}

void ck_layer_free_nodes(ck_layer *layer)
{
    ck_node **nodes = layer->inbound;
    int n = layer->n_inbound;
    layer->inbound = NULL;
    layer->n_inbound = 0;
    for (int i = 0; i < n; i++) node_free(nodes[i]);
    ck_free(nodes);
}

ck_status ck_layer_add_node(ck_layer *layer, int n_in, ck_tensor *const *inputs, int n_out,
                            ck_tensor **outputs, int is_input, ck_node **out)
{
    ck_node *node = ck_calloc(1, sizeof *node);
    ck_node **grown = NULL;
    ck_status st = node ? CK_OK : ck_oom("a node");
    if (st == CK_OK) {
        node->inputs = ck_calloc((size_t)(n_in ? n_in : 1), sizeof *node->inputs);
        node->producers = ck_calloc((size_t)(n_in ? n_in : 1), sizeof *node->producers);
        node->outputs = ck_calloc((size_t)(n_out ? n_out : 1), sizeof *node->outputs);
        if (!node->inputs || !node->producers || !node->outputs) st = ck_oom("a node");
    }
    if (st == CK_OK) {
        grown = ck_realloc(layer->inbound, (size_t)(layer->n_inbound + 1) * sizeof *grown);
        if (!grown) st = ck_oom("the node list");
        else layer->inbound = grown;
    }
    if (st != CK_OK) {
        for (int i = 0; i < n_out; i++) ck_symbolic_free(outputs[i]);
        if (node) {
            ck_free(node->inputs);
            ck_free(node->producers);
            ck_free(node->outputs);
            ck_free(node);
        }
        return st;
    }
    node->layer = layer;
    node->index = layer->n_inbound;
    node->is_input = is_input;
    node->n_inputs = n_in;
    node->n_outputs = n_out;
    for (int i = 0; i < n_out; i++) node->outputs[i] = outputs[i];
    for (int i = 0; i < n_in; i++) {
        node->inputs[i] = inputs[i];
        const ck_keras_history *h = ck_tensor_history(inputs[i]);
        if (!is_input && h && h->layer != layer) {
            node->producers[i] = h->layer;
            ck_layer_retain(h->layer);
            h->layer->n_outbound++;
        }
    }
    layer->inbound[layer->n_inbound++] = node;
    if (out) *out = node;
    return CK_OK;
}

/* The symbolic call: every output, recorded as one node. */
static ck_status apply_symbolic(ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor **outputs, int *n_out)
{
    ck_shape shapes[CK_MAX_LAYER_INPUTS], oshapes[CK_MAX_LAYER_OUTPUTS];
    ck_dtype dtypes[CK_MAX_LAYER_INPUTS], odtypes[CK_MAX_LAYER_OUTPUTS];
    ck_tensor *outs[CK_MAX_LAYER_OUTPUTS];
    if (n < 1 || n > CK_MAX_LAYER_INPUTS)
        return ck_error(CK_VALUE_ERROR, "layer \"%s\" applied to %d inputs", layer->name, n);
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !ck_tensor_history(inputs[i]))
            return ck_error(CK_VALUE_ERROR, "layer \"%s\": input %d is not a symbolic tensor (from ck_input or "
                            "ck_layer_apply); call concrete tensors with ck_layer_call", layer->name, i);
        shapes[i] = ck_tensor_shape(inputs[i]);
        dtypes[i] = inputs[i]->dtype;
    }
    CK_TRY(ck_layer_check_inputs(layer, n, shapes));
    CK_TRY(ck_layer_build(layer, n, shapes));
    CK_TRY(ck_layer_output_shapes_of(layer, n, shapes, oshapes));
    ck_layer_output_dtypes_of(layer, n, dtypes, odtypes);
    int count = ck_layer_outputs_of(layer);
    for (int k = 0; k < count; k++) {
        ck_status st = ck_symbolic_new(&outs[k], odtypes[k], &oshapes[k], layer, layer->n_inbound, k);
        if (st != CK_OK) {
            for (int j = 0; j < k; j++) ck_symbolic_free(outs[j]);
            return st;
        }
    }
    ck_node *node = NULL;
    CK_TRY(ck_layer_add_node(layer, n, inputs, count, outs, 0, &node));
    /* The masks travel with the outputs (Keras' _keras_mask); if they
     * cannot be made, the call is undone. */
    ck_status st = ck_node_set_masks(node);
    if (st == CK_OK && layer->cls->record_call) st = layer->cls->record_call(layer, node);
    if (st != CK_OK) {
        layer->n_inbound--;
        node_free(node);
        return st;
    }
    for (int k = 0; k < count; k++) outputs[k] = outs[k];
    *n_out = count;
    return CK_OK;
}

ck_status ck_layer_apply(ck_layer *layer, int n, ck_tensor *const *inputs, ck_tensor **output)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(output);
    ck_tensor *outs[CK_MAX_LAYER_OUTPUTS];
    int count = 0;
    CK_TRY(apply_symbolic(layer, n, inputs, outs, &count));
    *output = outs[0];
    return CK_OK;
}

ck_status ck_layer_apply_multi(ck_layer *layer, int n_inputs, ck_tensor *const *inputs, int max,
                               ck_tensor **outputs, int *n_outputs)
{
    CK_NEED(layer);
    CK_NEED(inputs);
    CK_NEED(outputs);
    CK_NEED(n_outputs);
    int count = ck_layer_outputs_of(layer);
    if (count > max)
        return ck_error(CK_VALUE_ERROR, "layer \"%s\" returns %d outputs: they do not fit in an array of %d",
                        layer->name, count, max);
    return apply_symbolic(layer, n_inputs, inputs, outputs, n_outputs);
}

/* ---- node history queries (spec 4.7) ------------------------------------- */

static ck_status node_at(const ck_layer *layer, int index, const char *attr, const ck_node **out)
{
    if (layer->n_inbound == 0)
        return ck_error(CK_RUNTIME_ERROR, "The layer \"%s\" has never been called and thus has no defined %s.",
                        layer->name, attr);
    if (index < 0 || index >= layer->n_inbound)
        return ck_error(CK_VALUE_ERROR, "Asked to get %s at node %d, but the layer has only %d inbound nodes.",
                        attr, index, layer->n_inbound);
    *out = layer->inbound[index];
    return CK_OK;
}

int ck_layer_inbound_node_count(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return layer->n_inbound;
}
int ck_layer_outbound_node_count(const ck_layer *layer) {
    CK_NEED_OR(layer, 0);
    return layer->n_outbound;
}

ck_status ck_layer_get_input_at(const ck_layer *layer, int node_index, ck_tensor *const **tensors, int *n)
{
    CK_NEED(layer);
    CK_NEED(tensors);
    CK_NEED(n);
    const ck_node *node = NULL;
    CK_TRY(node_at(layer, node_index, "input", &node));
    *tensors = node->is_input ? node->outputs : node->inputs;
    *n = node->is_input ? node->n_outputs : node->n_inputs;
    return CK_OK;
}

ck_status ck_layer_get_output_at(const ck_layer *layer, int node_index, ck_tensor *const **tensors, int *n)
{
    CK_NEED(layer);
    CK_NEED(tensors);
    CK_NEED(n);
    const ck_node *node = NULL;
    CK_TRY(node_at(layer, node_index, "output", &node));
    *tensors = node->outputs;
    *n = node->n_outputs;
    return CK_OK;
}

static ck_status shapes_of(ck_tensor *const *t, int n, ck_shape *shapes, int max, int *count)
{
    if (n > max) return ck_error(CK_VALUE_ERROR, "%d shapes do not fit in an array of %d", n, max);
    for (int i = 0; i < n; i++) shapes[i] = ck_tensor_shape(t[i]);
    *count = n;
    return CK_OK;
}

ck_status ck_layer_get_input_shape_at(const ck_layer *layer, int node_index, ck_shape *shapes, int max, int *n)
{
    CK_NEED(layer);
    CK_NEED(shapes);
    CK_NEED(n);
    const ck_node *node = NULL;
    CK_TRY(node_at(layer, node_index, "input shape", &node));
    return node->is_input ? shapes_of(node->outputs, node->n_outputs, shapes, max, n)
                          : shapes_of(node->inputs, node->n_inputs, shapes, max, n);
}

ck_status ck_layer_get_output_shape_at(const ck_layer *layer, int node_index, ck_shape *shapes, int max, int *n)
{
    CK_NEED(layer);
    CK_NEED(shapes);
    CK_NEED(n);
    const ck_node *node = NULL;
    CK_TRY(node_at(layer, node_index, "output shape", &node));
    return shapes_of(node->outputs, node->n_outputs, shapes, max, n);
}

ck_status ck_layer_get_input_mask_at(const ck_layer *layer, int node_index, int *n)
{
    CK_NEED(layer);
    CK_NEED(n);
    const ck_node *node = NULL;
    CK_TRY(node_at(layer, node_index, "input mask", &node));
    *n = node->is_input ? node->n_outputs : node->n_inputs;
    return CK_OK;
}

ck_status ck_layer_get_output_mask_at(const ck_layer *layer, int node_index, int *n)
{
    CK_NEED(layer);
    CK_NEED(n);
    const ck_node *node = NULL;
    CK_TRY(node_at(layer, node_index, "output mask", &node));
    *n = node->n_outputs;
    return CK_OK;
}

ck_status ck_layer_input(const ck_layer *layer, ck_tensor *const **tensors, int *n)
{
    CK_NEED(layer);
    CK_NEED(tensors);
    CK_NEED(n);
    if (layer->n_inbound == 0)
        return ck_error(CK_ATTRIBUTE_ERROR, "Layer %s is not connected, no input to return.", layer->name);
    return ck_layer_get_input_at(layer, 0, tensors, n);
}

ck_status ck_layer_output(const ck_layer *layer, ck_tensor *const **tensors, int *n)
{
    CK_NEED(layer);
    CK_NEED(tensors);
    CK_NEED(n);
    if (layer->n_inbound == 0)
        return ck_error(CK_ATTRIBUTE_ERROR, "Layer %s has no inbound nodes.", layer->name);
    return ck_layer_get_output_at(layer, 0, tensors, n);
}

/* input_shape / output_shape: the shapes if every node agrees. */
static ck_status common_shape(const ck_layer *layer, int outputs, ck_shape *shapes, int max, int *n)
{
    const char *attr = outputs ? "output shape" : "input shape";
    if (layer->n_inbound == 0)
        return ck_error(CK_ATTRIBUTE_ERROR, "The layer \"%s\" has never been called and thus has no defined %s.",
                        layer->name, attr);
    ck_shape first[CK_MAX_LAYER_INPUTS], other[CK_MAX_LAYER_INPUTS];
    int n0, n1;
    ck_status (*get)(const ck_layer *, int, ck_shape *, int, int *) =
        outputs ? ck_layer_get_output_shape_at : ck_layer_get_input_shape_at;
    CK_TRY(get(layer, 0, first, CK_MAX_LAYER_INPUTS, &n0));
    for (int k = 1; k < layer->n_inbound; k++) {
        CK_TRY(get(layer, k, other, CK_MAX_LAYER_INPUTS, &n1));
        int same = n0 == n1;
        for (int i = 0; same && i < n0; i++) {
            same = first[i].rank == other[i].rank;
            for (int d = 0; same && d < first[i].rank; d++) same = first[i].dims[d] == other[i].dims[d];
        }
        if (!same)
            return ck_error(CK_ATTRIBUTE_ERROR, "The layer \"%s\" has multiple inbound nodes, with different %ss. "
                            "Hence the notion of \"%s\" is ill-defined for the layer. Use `get_%s_at(node_index)` "
                            "instead.", layer->name, attr, attr, outputs ? "output_shape" : "input_shape");
    }
    if (n0 > max) return ck_error(CK_VALUE_ERROR, "%d shapes do not fit in an array of %d", n0, max);
    for (int i = 0; i < n0; i++) shapes[i] = first[i];
    *n = n0;
    return CK_OK;
}

ck_status ck_layer_input_shape(const ck_layer *layer, ck_shape *shapes, int max, int *n)
{
    CK_NEED(layer);
    CK_NEED(shapes);
    CK_NEED(n);
    return common_shape(layer, 0, shapes, max, n);
}

ck_status ck_layer_output_shape(const ck_layer *layer, ck_shape *shapes, int max, int *n)
{
    CK_NEED(layer);
    CK_NEED(shapes);
    CK_NEED(n);
    return common_shape(layer, 1, shapes, max, n);
}
