/* Masks in functional graphs (Keras' _keras_mask): which mask each output
 * of a symbolic call carries, the mask queries of the node history, and
 * the AND of merges' masks written into planned buffers.
 *
 * A mask is decided when a layer is applied, from the class' rule and the
 * masks of its inputs, and stored with the node, so that a model knows
 * before planning which values carry one and which steps read or make
 * them.  A mask that passes through a layer unchanged is the same
 * symbolic tensor as its input's: at run time it is the same buffer. */
#include <string.h>

#include "layers/layer.h"
#include "layers/merge.h"

int ck_layer_mask_rule(const ck_layer *layer)
{
    const ck_layer_class *c = layer->cls;
    if (c->mask_rule) return c->mask_rule(layer);
    if (c->compute_mask == ck_merge_compute_mask) return CK_MASK_AND;
    if (c->compute_mask) return CK_MASK_NONE;
    return c->supports_masking ? CK_MASK_PASS : CK_MASK_NONE;
}

ck_tensor *ck_tensor_mask(const ck_tensor *t)
{
    const ck_keras_history *h = ck_tensor_history(t);
    if (!h || h->node_index < 0 || h->node_index >= h->layer->n_inbound) return NULL;
    const ck_node *node = h->layer->inbound[h->node_index];
    if (!node->masks || h->tensor_index < 0 || h->tensor_index >= node->n_outputs) return NULL;
    /* A mask is not itself masked (its history points at its node too). */
    if (node->outputs[h->tensor_index] != t) return NULL;
    return node->masks[h->tensor_index];
}

int ck_layer_passed_mask_outputs(const ck_layer *layer)
{
    int k = layer->cls->passed_mask_outputs ? layer->cls->passed_mask_outputs(layer) : 1;
    int count = ck_layer_outputs_of(layer);
    return k < count ? k : count;
}

static int same_known_dims(const ck_shape *a, const ck_shape *b)
{
    if (a->rank != b->rank) return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d] && a->dims[d] >= 0 && b->dims[d] >= 0) return 0;
    return 1;
}

ck_status ck_rule_mask_shape(const ck_layer *layer, int rule, int n, const ck_shape *in, const ck_shape *masks,
                             ck_shape *out)
{
    out->rank = -1;
    if (rule == CK_MASK_MAKE) {
        *out = layer->cls->made_mask_shape(layer, &in[0]);
        return CK_OK;
    }
    int first = -1;
    for (int i = 0; i < n && first < 0; i++)
        if (masks[i].rank >= 0) first = i;
    if (first < 0 || (rule != CK_MASK_AND && rule != CK_MASK_COMBINE)) return CK_OK;
    if (rule == CK_MASK_COMBINE) return layer->cls->combined_mask_shape(layer, n, in, masks, out);
    /* _Merge.compute_mask: every mask given has one shape. */
    for (int i = first + 1; i < n; i++) {
        if (masks[i].rank < 0 || same_known_dims(&masks[i], &masks[first])) continue;
        char a[128], b[128];
        return ck_error(CK_VALUE_ERROR, "Layer \"%s\": the input masks have different shapes %s and %s", layer->name,
                        ck_shape_fmt(a, sizeof a, &masks[first]), ck_shape_fmt(b, sizeof b, &masks[i]));
    }
    *out = masks[first];
    return CK_OK;
}

/* Sets the masks of a node just made by a symbolic call. */
ck_status ck_node_set_masks(ck_node *node)
{
    ck_layer *layer = node->layer;
    ck_tensor *in_masks[CK_MAX_LAYER_INPUTS], *made = NULL;
    ck_shape in[CK_MAX_LAYER_INPUTS], mshape[CK_MAX_LAYER_INPUTS];
    for (int i = 0; i < node->n_inputs; i++) {
        in_masks[i] = ck_tensor_mask(node->inputs[i]);
        in[i] = ck_tensor_shape(node->inputs[i]);
        mshape[i] = in_masks[i] ? ck_tensor_shape(in_masks[i]) : (ck_shape){-1, {0}};
    }
    int rule = ck_layer_mask_rule(layer);
    ck_tensor *mask0 = NULL;
    int owned = 0, carriers = 1;
    if (rule == CK_MASK_PASS) {
        mask0 = in_masks[0];
        carriers = ck_layer_passed_mask_outputs(layer);
    } else if (rule != CK_MASK_NONE) {
        ck_shape s;
        CK_TRY(ck_rule_mask_shape(layer, rule, node->n_inputs, in, mshape, &s));
        if (s.rank >= 0) {
            CK_TRY(ck_symbolic_new(&made, CK_INT32, &s, layer, node->index, 0));
            mask0 = made;
            owned = 1;
        }
    }
    if (!mask0) return CK_OK;
    node->masks = ck_calloc((size_t)node->n_outputs, sizeof *node->masks);
    node->mask_owned = ck_calloc((size_t)node->n_outputs, 1);
    if (!node->masks || !node->mask_owned) {
        ck_free(node->masks);
        ck_free(node->mask_owned);
        node->masks = NULL;
        node->mask_owned = NULL;
        if (made) ck_symbolic_free(made);
        return ck_oom("a node's masks");
    }
    node->masks[0] = mask0;
    node->mask_owned[0] = (unsigned char)owned;
    for (int k = 1; k < carriers; k++) node->masks[k] = mask0;
    return CK_OK;
}

void ck_node_free_masks(ck_node *node)
{
    for (int k = 0; node->masks && k < node->n_outputs; k++)
        if (node->mask_owned[k]) ck_symbolic_free(node->masks[k]);
    ck_free(node->masks);
    ck_free(node->mask_owned);
    node->masks = NULL;
    node->mask_owned = NULL;
}

void ck_mask_and_into(int n, const ck_tensor *const *masks, ck_tensor *out)
{
    int32_t *o = out->data;
    for (int64_t k = 0; k < out->size; k++) o[k] = 1;
    for (int i = 0; i < n; i++) {
        if (!masks[i]) continue;
        const int32_t *m = masks[i]->data;
        for (int64_t k = 0; k < out->size; k++) o[k] = o[k] && m[k];
    }
}

/* ---- the node history's masks (spec 4.7) ------------------------------ */

static ck_status masks_at(const ck_layer *layer, int node_index, int outputs, ck_tensor **masks, int max, int *n)
{
    const char *attr = outputs ? "output mask" : "input mask";
    if (layer->n_inbound == 0)
        return ck_error(CK_RUNTIME_ERROR, "The layer \"%s\" has never been called and thus has no defined %s.",
                        layer->name, attr);
    if (node_index < 0 || node_index >= layer->n_inbound)
        return ck_error(CK_VALUE_ERROR, "Asked to get %s at node %d, but the layer has only %d inbound nodes.", attr,
                        node_index, layer->n_inbound);
    const ck_node *node = layer->inbound[node_index];
    int use_outputs = outputs || node->is_input;
    int count = use_outputs ? node->n_outputs : node->n_inputs;
    if (count > max) return ck_error(CK_VALUE_ERROR, "%d masks do not fit in an array of %d", count, max);
    for (int i = 0; i < count; i++)
        masks[i] = use_outputs ? (node->masks ? node->masks[i] : NULL) : ck_tensor_mask(node->inputs[i]);
    *n = count;
    return CK_OK;
}

ck_status ck_layer_input_masks_at(const ck_layer *layer, int node_index, ck_tensor **masks, int max, int *n)
{
    CK_NEED(layer);
    CK_NEED(masks);
    CK_NEED(n);
    return masks_at(layer, node_index, 0, masks, max, n);
}

ck_status ck_layer_output_masks_at(const ck_layer *layer, int node_index, ck_tensor **masks, int max, int *n)
{
    CK_NEED(layer);
    CK_NEED(masks);
    CK_NEED(n);
    return masks_at(layer, node_index, 1, masks, max, n);
}

ck_tensor *ck_symbolic_mask(const ck_tensor *t)
{
    CK_NEED_OR(t, NULL);
    return ck_tensor_mask(t);
}
