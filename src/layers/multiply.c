/* keras.layers.Multiply: the product of the inputs; the shared
 * _Merge logic is in merge.c. */
#include "layers/merge.h"

ck_status ck_multiply(ck_layer **out, const ck_merge_opts *opts)
{
    CK_NEED(out);
    return ck_merge_new(&ck_multiply_class, CK_MERGE_MULTIPLY, opts, out);
}

static ck_status multiply_from_config(const json_t *c, ck_layer **out)
{
    return ck_merge_from_config(&ck_multiply_class, CK_MERGE_MULTIPLY, c, out);
}

const ck_layer_class ck_multiply_class = {
    CK_MERGE_CLASS("Multiply", 1, CK_MAX_LAYER_INPUTS),
    .from_config = multiply_from_config,
};
