/* keras.layers.Average: the mean of the inputs (integers give float64); the shared
 * _Merge logic is in merge.c. */
#include "layers/merge.h"

ck_status ck_average(ck_layer **out, const ck_merge_opts *opts)
{
    CK_NEED(out);
    return ck_merge_new(&ck_average_class, CK_MERGE_AVERAGE, opts, out);
}

static ck_status average_from_config(const json_t *c, ck_layer **out)
{
    return ck_merge_from_config(&ck_average_class, CK_MERGE_AVERAGE, c, out);
}

const ck_layer_class ck_average_class = {
    CK_MERGE_CLASS("Average", 1, CK_MAX_LAYER_INPUTS),
    .from_config = average_from_config,
};
