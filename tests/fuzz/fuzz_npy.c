/* libFuzzer harness for the .npy reader (src/io/npy*.c): any input must end
 * in a tensor or CK_FORMAT_ERROR / CK_OUT_OF_MEMORY, never a crash, a leak
 * or an allocation the bytes cannot account for.  `make fuzz`. */
#include <stdint.h>
#include <stdlib.h>

#include "ckeras.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_tensor *t = NULL;
    ck_status st = ck_npy_load_buffer(size ? data : (const uint8_t *)"", size, &t);
    if (st == CK_OK) ck_tensor_free(t);
    else if (st != CK_FORMAT_ERROR && st != CK_OUT_OF_MEMORY && st != CK_NOT_IMPLEMENTED) abort();
    return 0;
}
