/* keras.layers.Maximum: the elementwise maximum of the inputs; the shared
 * _Merge logic is in merge.c. */
#include "layers/merge.h"

ck_status ck_maximum(ck_layer **out, const ck_merge_opts *opts)
{
    CK_NEED(out);
    return ck_merge_new(&ck_maximum_class, CK_MERGE_MAXIMUM, opts, out);
}

static ck_status maximum_from_config(const json_t *c, ck_layer **out)
{
    return ck_merge_from_config(&ck_maximum_class, CK_MERGE_MAXIMUM, c, out);
}

const ck_layer_class ck_maximum_class = {
    CK_MERGE_CLASS("Maximum", 1, CK_MAX_LAYER_INPUTS),
    .from_config = maximum_from_config,
};
