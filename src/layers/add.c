/* keras.layers.Add: the sum of the inputs; the shared
 * _Merge logic is in merge.c. */
#include "layers/merge.h"

ck_status ck_add(ck_layer **out, const ck_merge_opts *opts)
{
    CK_NEED(out);
    return ck_merge_new(&ck_add_class, CK_MERGE_ADD, opts, out);
}

static ck_status add_from_config(const json_t *c, ck_layer **out)
{
    return ck_merge_from_config(&ck_add_class, CK_MERGE_ADD, c, out);
}

const ck_layer_class ck_add_class = {
    CK_MERGE_CLASS("Add", 1, CK_MAX_LAYER_INPUTS),
    .from_config = add_from_config,
};
