/* libFuzzer harness for loading a whole model from a legacy Keras .h5 file
 * (ck_model_load: ckeras' HDF5 reader, the Keras file layer, the model
 * config, the weights), then predicting on a small zero input.  Any status
 * is an acceptable answer; a crash, leak or hang is not.  `make fuzz`. */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_limits();
    const char *path = fuzz_to_file(data, size, ".h5");
    if (!path) return 0;
    ck_model *m = NULL;
    if (ck_model_load(path, &m) == CK_OK) {
        fuzz_predict_zero(m);
        ck_model_free(m);
    }
    return 0;
}
