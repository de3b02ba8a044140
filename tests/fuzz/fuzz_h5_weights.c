/* libFuzzer harness for loading weights into a fixed small model
 * (ck_model_load_weights: the legacy HDF5 weights layout, Keras 3's
 * `.weights.h5` layout, whole-model files; by topology and by name), then
 * predicting on a small zero input.  Any status is an acceptable answer; a
 * crash, leak, hang, or a failed load that changed the weights is not.
 * Seeds: tests/fuzz/corpus/fuzz_h5_weights (tools/gen_fuzz_seeds.py).
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

/* Dense(8, relu) -> BatchNormalization -> Dense(3) on 4 features: the
 * model tools/gen_fuzz_seeds.py saves the seeds of. */
static const char FIXED_MODEL_JSON[] =
    "{\"class_name\":\"Functional\",\"config\":{\"name\":\"fixed\",\"layers\":["
    "{\"class_name\":\"InputLayer\",\"config\":{\"batch_input_shape\":[null,4],\"dtype\":\"float32\","
    "\"name\":\"x\"},\"name\":\"x\",\"inbound_nodes\":[]},"
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":8,\"activation\":\"relu\"},"
    "\"name\":\"dense\",\"inbound_nodes\":[[[\"x\",0,0,{}]]]},"
    "{\"class_name\":\"BatchNormalization\",\"config\":{\"name\":\"bn\",\"axis\":[1]},"
    "\"name\":\"bn\",\"inbound_nodes\":[[[\"dense\",0,0,{}]]]},"
    "{\"class_name\":\"Dense\",\"config\":{\"name\":\"out\",\"units\":3},"
    "\"name\":\"out\",\"inbound_nodes\":[[[\"bn\",0,0,{}]]]}],"
    "\"input_layers\":[[\"x\",0,0]],\"output_layers\":[[\"out\",0,0]]}}";

/* Sum of every weight value: a refused file must leave it unchanged. */
static double weight_sum(ck_model *m)
{
    double s = 0;
    const ck_layer *l = ck_model_layer(m);
    for (int i = 0; i < ck_layer_weight_count(l); i++) {
        const ck_tensor *t = ck_weight_value(ck_layer_weight(l, i));
        const float *v = (const float *)t->data;
        for (int64_t e = 0; e < t->size; e++) s += v[e];
    }
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_limits();
    /* One model for the whole run (built on the first input). */
    static ck_model *model;
    if (!model && ck_model_from_json(FIXED_MODEL_JSON, &model) != CK_OK) abort();
    /* The Keras 3 reading is chosen by what the file holds, not its name;
     * the suffix only has to look like a weights file. */
    const char *path = fuzz_to_file(data, size, ".weights.h5");
    if (!path) return 0;
    for (int by_name = 0; by_name <= 1; by_name++) {
        double before = weight_sum(model);
        if (ck_model_load_weights(model, path, by_name) == CK_OK) {
            fuzz_predict_zero(model);
        } else {
            double after = weight_sum(model);
            /* NaN == NaN is false: compare the bits' meaning instead */
            if (!(after == before || (after != after && before != before))) abort();
        }
    }
    return 0;
}
