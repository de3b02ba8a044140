/* libFuzzer harness for ckeras' own HDF5 reader (src/io/h5/): opens the
 * input as an HDF5 image and walks all of it (every group, link, attribute
 * value and dataset) through ck_h5r_dump.  Any outcome but CK_OK or
 * CK_FORMAT_ERROR is a bug, and so is a crash, a leak or a hang.
 * Built and run by `make fuzz` (FUZZ_SECONDS), seeded from tests/data. */
#include <stdint.h>
#include <stdlib.h>

#include "io/h5/h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_h5r *f = NULL;
    ck_status st = ck_h5r_open_memory(&f, data, size, "fuzz");
    if (st == CK_OK) {
        char *text = NULL;
        st = ck_h5r_dump(f, &text);
        ck_free(text);
        ck_h5r_close(f);
    }
    if (st != CK_OK && st != CK_FORMAT_ERROR) abort();
    return 0;
}
