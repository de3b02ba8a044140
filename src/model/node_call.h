/* The call of one node in a functional config: which tensors it takes
 * (positional, then keyword), its keyword arguments, and writing it back
 * in the tf.keras 2.x form.  Used by model_config.c. */
#ifndef CK_NODE_CALL_H
#define CK_NODE_CALL_H

#include "layers/layer.h"

/* A reference to a tensor in a config: (layer name, config node index,
 * tensor index). */
typedef struct ck_node_ref {
    const char *layer;
    int node_index, tensor_index;
} ck_node_ref;

/* One node entry, parsed.  `refs` are the layer's inputs in order: the
 * tensors of the first positional argument (depth first), then those of
 * the class' kwarg_inputs present, in that order. */
typedef struct ck_node_call {
    ck_node_ref refs[CK_MAX_LAYER_INPUTS];
    int n_refs;
    int n_args;                 /* refs from the positional argument */
    const json_t *raw_kwargs;   /* as in the file (borrowed), or NULL */
    json_t *args;               /* normalised first argument (owned) */
    int plain;                  /* args is a plain list of the first
                                   n_args inputs (nothing to record) */
    json_t *kwargs;             /* normalised keyword arguments (owned) */
    /* Keras 3's explicit `mask` argument of a class that takes its mask
     * from the graph: the tensor, not one of refs (k3_ops.c checks it is
     * the mask ckeras propagates, and it is not written back). */
    int has_mask_ref;
    ck_node_ref mask_ref;
} ck_node_call;

/* Parses one node of `layer`'s inbound_nodes: the tf.keras 2.x form (a
 * list of [name, node, tensor, kwargs] entries, possibly nested, a bare
 * entry for TFOpLambda, ["_CONSTANT_VALUE", -1, value, kwargs] for a
 * constant) or the Keras 3 {"args": [...], "kwargs": {...}} object.  A
 * tensor in a keyword argument the class does not list in kwarg_inputs is
 * CK_NOT_IMPLEMENTED (ckeras would silently drop it).  Free with
 * ck_node_call_free (also after an error). */
ck_status ck_node_call_parse(const ck_layer *layer, const json_t *node, ck_node_call *out);

void ck_node_call_free(ck_node_call *call);

/* Gives the node made for `call` its call record (ck_node.call_args,
 * call_kwargs, n_args), moving the JSON out of `call`.  A plain call
 * without keyword arguments records nothing. */
void ck_node_call_record(ck_node_call *call, ck_node *node);

/* Makes a [layer name, node index, tensor index] reference for a tensor
 * (new reference; NULL on failure). */
typedef json_t *(*ck_tensor_ref_fn)(const void *ctx, const ck_tensor *t);

/* The node's entry for a tf.keras 2.x config: the recorded call (or a
 * plain list of all inputs with empty kwargs), tensors written through
 * `ref`.  *out is a new reference. */
ck_status ck_node_call_write(const ck_node *node, ck_tensor_ref_fn ref, const void *ctx, json_t **out);

#endif
