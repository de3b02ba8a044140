/* libFuzzer harness for loading a TF.js layers model (ck_model_load on a
 * model.json: the topology through the model config reader, the
 * weightsManifest, the weight file), then predicting on a small zero
 * input.  One input holds both files: model.json, a NUL byte, then the
 * bytes of weights.bin (the name the seeds' manifests use; without a NUL
 * the weight file is empty).  Any status is an acceptable answer; a crash,
 * leak or hang is not.  Seeds: tests/fuzz/corpus/fuzz_tfjs
 * (tools/gen_fuzz_seeds.py).  `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    size_t w = size ? fwrite(data, 1, size, fp) : 0;
    return fclose(fp) == 0 && w == size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_limits();
    /* A directory of this process' own, so that the manifest's relative
     * paths resolve next to model.json. */
    static char dir[256];
    if (!dir[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/ck-fuzz-tfjs-%ld", tmp ? tmp : "/tmp", (long)getpid());
        mkdir(dir, 0700);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_len = nul ? (size_t)(nul - data) : size;
    char json_path[300], bin_path[300];
    snprintf(json_path, sizeof json_path, "%s/model.json", dir);
    snprintf(bin_path, sizeof bin_path, "%s/weights.bin", dir);
    if (!write_file(json_path, data, json_len)) return 0;
    if (!write_file(bin_path, nul ? nul + 1 : data, nul ? size - json_len - 1 : 0)) return 0;
    ck_model *m = NULL;
    if (ck_model_load(json_path, &m) == CK_OK) {
        fuzz_predict_zero(m);
        ck_model_free(m);
    }
    return 0;
}
