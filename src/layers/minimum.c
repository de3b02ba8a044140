/* keras.layers.Minimum: the elementwise minimum of the inputs; the shared
 * _Merge logic is in merge.c. */
#include "layers/merge.h"

ck_status ck_minimum(ck_layer **out, const ck_merge_opts *opts)
{
    CK_NEED(out);
    return ck_merge_new(&ck_minimum_class, CK_MERGE_MINIMUM, opts, out);
}

static ck_status minimum_from_config(const json_t *c, ck_layer **out)
{
    return ck_merge_from_config(&ck_minimum_class, CK_MERGE_MINIMUM, c, out);
}

const ck_layer_class ck_minimum_class = {
    CK_MERGE_CLASS("Minimum", 1, CK_MAX_LAYER_INPUTS),
    .from_config = minimum_from_config,
};
