/* What the model-level fuzz harnesses share: predicting on a small zero
 * input once a fuzzed file has loaded, and writing an input to a private
 * temporary file for the loaders that take a path. */
#ifndef CK_FUZZ_COMMON_H
#define CK_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ckeras.h"

/* Largest zero input tried: a fuzzed Input((100000, 100000)) is a valid
 * model, and building 40 GB of zeros for it would test the machine. */
enum { FUZZ_MAX_INPUT_ELEMENTS = 1 << 16 };

/* What a server loading untrusted models would set: a load may create at
 * most 16 MiB of weights.  Building and initialising a model costs time in
 * proportion to the weights its config declares (a valid 15-million-
 * parameter CNN takes over a second to fill under ASan), so without a cap
 * the fuzzer reports big valid models as hangs and spends its time
 * filling them instead of exploring the parsers. */
enum { FUZZ_MAX_WEIGHT_BYTES = 16 << 20 };

static inline void fuzz_set_limits(void)
{
    static int done;
    if (!done) {
        ck_limit(CK_LIMIT_WEIGHT_BYTES, FUZZ_MAX_WEIGHT_BYTES);
        done = 1;
    }
}

/* Predicts on zeros: batch 1, unknown dims 2.  Any status is fine (the
 * model may be valid Keras that ckeras refuses to run); crashes, leaks and
 * hangs are what the fuzzer looks for. */
static inline void fuzz_predict_zero(ck_model *m)
{
    int n = ck_model_input_count(m);
    if (n <= 0 || n > 16) return;
    ck_tensor *in[16] = {0};
    int ok = 1;
    for (int i = 0; i < n && ok; i++) {
        const ck_tensor *sym = ck_model_input(m, i);
        if (!sym) {
            ok = 0;
            break;
        }
        int64_t shape[CK_MAX_RANK];
        int64_t count = 1;
        for (int d = 0; d < sym->rank; d++) {
            shape[d] = sym->shape[d] < 0 ? (d == 0 ? 1 : 2) : sym->shape[d];
            if (shape[d] > FUZZ_MAX_INPUT_ELEMENTS || count * (shape[d] ? shape[d] : 1) > FUZZ_MAX_INPUT_ELEMENTS)
                ok = 0;
            else
                count *= shape[d] ? shape[d] : 1;
        }
        if (ok && ck_tensor_new(&in[i], sym->dtype, sym->rank, shape) != CK_OK) ok = 0;
    }
    if (ok) {
        int no = ck_model_output_count(m);
        if (no > 0 && no <= 16) {
            ck_tensor *out[16] = {0};
            if (ck_model_predict(m, n, in, out, 0) == CK_OK)
                for (int i = 0; i < no; i++) ck_tensor_free(out[i]);
        }
    }
    for (int i = 0; i < n; i++) ck_tensor_free(in[i]);
}

/* Writes the input to "<dir>/ck-fuzz-<pid><suffix>" (one file per fuzzing
 * process, overwritten each time) and returns its name, or NULL. */
static inline const char *fuzz_to_file(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[256];
    const char *dir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/ck-fuzz-%ld%s", dir ? dir : "/tmp", (long)getpid(), suffix);
    FILE *fp = fopen(path, "wb");
    if (!fp) return NULL;
    size_t w = size ? fwrite(data, 1, size, fp) : 0;
    if (fclose(fp) != 0 || w != size) return NULL;
    return path;
}

#endif
