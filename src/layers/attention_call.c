/* ck_layer_set_use_causal_mask and ck_layer_set_return_attention_scores:
 * call arguments of the attention layers, kept by the layer for its later
 * calls. */
#include "layers/dense_attention.h"
#include "layers/multi_head_attention.h"
#include "layers/normattn_classes.h"

ck_status ck_layer_set_use_causal_mask(ck_layer *layer, bool use_causal_mask)
{
    CK_NEED(layer);
    if (layer->cls == &ck_multi_head_attention_class) {
        ((ck_mha_layer *)layer)->causal = use_causal_mask;
        return CK_OK;
    }
    if (layer->cls == &ck_attention_class || layer->cls == &ck_additive_attention_class) {
        ((ck_da_layer *)layer)->causal = use_causal_mask;
        return CK_OK;
    }
    return ck_error(CK_VALUE_ERROR, "ck_layer_set_use_causal_mask: layer \"%s\" (%s) is not an attention layer",
                    layer->name, layer->cls->class_name);
}

ck_status ck_layer_set_return_attention_scores(ck_layer *layer, bool return_attention_scores)
{
    CK_NEED(layer);
    if (layer->cls == &ck_multi_head_attention_class) {
        ((ck_mha_layer *)layer)->return_scores = return_attention_scores;
        return CK_OK;
    }
    if (layer->cls == &ck_attention_class || layer->cls == &ck_additive_attention_class) {
        ((ck_da_layer *)layer)->return_scores = return_attention_scores;
        return CK_OK;
    }
    return ck_error(CK_VALUE_ERROR, "ck_layer_set_return_attention_scores: layer \"%s\" (%s) is not an attention "
                    "layer", layer->name, layer->cls->class_name);
}
