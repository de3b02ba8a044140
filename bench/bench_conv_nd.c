/* bench_conv_nd: inference time of the N-d convolution layers: a
 * Sequential model of the one layer, planned predict_into (best of 5 runs
 * of 3 calls) on a (8, 56, 56, 64) float32 input, or (8 * 56, 56, 64) for
 * the 1D layers.  Not a test: it prints figures.
 * Usage: bench_conv_nd ['<layer config JSON>'] (default: a fixed set). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ckeras.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int run(const char *config)
{
    int one_d = strstr(config, "1D") != NULL;
    char model_json[1024];
    snprintf(model_json, sizeof model_json,
             "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": [{\"class_name\": "
             "\"InputLayer\", \"config\": {\"batch_input_shape\": %s, \"name\": \"in\"}}, %s]}}",
             one_d ? "[null, 56, 64]" : "[null, 56, 56, 64]", config);
    ck_model *m = NULL;
    if (ck_model_from_json(model_json, &m) != CK_OK) {
        fprintf(stderr, "%s\n", ck_last_error());
        return 1;
    }
    int64_t shape4[4] = {8, 56, 56, 64}, shape3[3] = {8 * 56, 56, 64};
    ck_tensor *x = NULL, *y = NULL;
    if (ck_tensor_new(&x, CK_FLOAT32, one_d ? 3 : 4, one_d ? shape3 : shape4) != CK_OK) return 1;
    for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = (float)((i * 7) % 13) / 13.0f - 0.5f;
    const int64_t batch = x->shape[0];
    if (ck_model_predict(m, 1, &x, &y, batch) != CK_OK) {
        fprintf(stderr, "%s\n", ck_last_error());
        return 1;
    }
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        for (int k = 0; k < 3; k++)
            if (ck_model_predict_into(m, 1, &x, &y, batch) != CK_OK) {
                fprintf(stderr, "%s\n", ck_last_error());
                return 1;
            }
        double t = (now() - t0) / 3;
        if (t < best) best = t;
    }
    printf("%8.2f ms  %s\n", best * 1e3, config);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    static const char *const configs[] = {
        "{\"class_name\": \"DepthwiseConv2D\", \"config\": {\"kernel_size\": 3, \"padding\": \"same\"}}",
        "{\"class_name\": \"SeparableConv2D\", \"config\": {\"filters\": 64, \"kernel_size\": 3, \"padding\": "
        "\"same\"}}",
        "{\"class_name\": \"Conv2D\", \"config\": {\"filters\": 64, \"kernel_size\": 3, \"padding\": \"same\", "
        "\"groups\": 4}}",
        "{\"class_name\": \"Conv2DTranspose\", \"config\": {\"filters\": 32, \"kernel_size\": 3, \"strides\": 2, "
        "\"padding\": \"same\"}}",
        "{\"class_name\": \"Conv1D\", \"config\": {\"filters\": 64, \"kernel_size\": 3, \"padding\": \"causal\"}}",
    };
    if (argc > 1) return run(argv[1]);
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        if (run(configs[i]) != 0) return 1;
    return 0;
}
