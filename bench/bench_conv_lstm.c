/* bench_conv_lstm: inference time of ConvLSTM2D(16, 3x3, padding "same")
 * on a (1, 10, 32, 32, 8) float32 input: a Sequential model of the one
 * layer, planned predict_into, best of 5 runs of 3 calls.  Not a test: it
 * prints figures.
 * Usage: bench_conv_lstm ['<layer config JSON>' '<input shape JSON>'] */
#include <stdio.h>
#include <time.h>

#include "ckeras.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *config = argc > 1 ? argv[1]
                                  : "{\"class_name\": \"ConvLSTM2D\", \"config\": {\"filters\": 16, \"kernel_size\": 3, "
                                    "\"padding\": \"same\", \"return_sequences\": true}}";
    char model_json[1024];
    snprintf(model_json, sizeof model_json,
             "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [{\"class_name\": "
             "\"InputLayer\", \"config\": {\"batch_input_shape\": [null, 10, 32, 32, 8], \"name\": \"in\"}}, %s]}}",
             config);
    ck_model *m = NULL;
    if (ck_model_from_json(model_json, &m) != CK_OK) {
        fprintf(stderr, "%s\n", ck_last_error());
        return 1;
    }
    int64_t shape[5] = {1, 10, 32, 32, 8};
    ck_tensor *x = NULL, *y = NULL;
    if (ck_tensor_new(&x, CK_FLOAT32, 5, shape) != CK_OK) return 1;
    for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    if (ck_model_predict(m, 1, &x, &y, 1) != CK_OK) {
        fprintf(stderr, "%s\n", ck_last_error());
        return 1;
    }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int k = 0; k < 3; k++)
            if (ck_model_predict_into(m, 1, &x, &y, 1) != CK_OK) {
                fprintf(stderr, "%s\n", ck_last_error());
                return 1;
            }
        double t = (now() - t0) / 3;
        if (t < best) best = t;
    }
    double sum = 0;
    for (int64_t i = 0; i < y->size; i++) sum += ((float *)y->data)[i];
    printf("%8.2f ms  (output sum %.6f)  %s\n", best * 1e3, sum, config);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
    return 0;
}
