/* keras.layers.Subtract: inputs[0] - inputs[1] (exactly 2 inputs); the shared
 * _Merge logic is in merge.c. */
#include "layers/merge.h"

ck_status ck_subtract(ck_layer **out, const ck_merge_opts *opts)
{
    CK_NEED(out);
    return ck_merge_new(&ck_subtract_class, CK_MERGE_SUBTRACT, opts, out);
}

static ck_status subtract_from_config(const json_t *c, ck_layer **out)
{
    return ck_merge_from_config(&ck_subtract_class, CK_MERGE_SUBTRACT, c, out);
}

const ck_layer_class ck_subtract_class = {
    CK_MERGE_CLASS("Subtract", 2, 2),
    .from_config = subtract_from_config,
};
