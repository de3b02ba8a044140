/* libFuzzer harness for building a model from its Keras JSON config
 * (ck_model_from_json: the config parser, the layer registry, every
 * layer's from_config), then predicting on a small zero input.  Any status
 * is an acceptable answer to a bad config; a crash, leak or hang is not.
 * `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_limits();
    char *text = malloc(size + 1);
    if (!text) return 0;
    if (size) memcpy(text, data, size);
    text[size] = '\0';
    ck_model *m = NULL;
    if (ck_model_from_json(text, &m) == CK_OK) {
        fuzz_predict_zero(m);
        ck_model_free(m);
    }
    free(text);
    return 0;
}
