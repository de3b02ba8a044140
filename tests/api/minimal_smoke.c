/* CTest minimal_smoke (cmake -DCK_MINIMAL=ON, make minimal): what an
 * embedded program does with the minimal library, linked as a shared
 * library through the public header only.  A model from a JSON string is
 * trained for a few steps, must lower its loss, and predicts; the file
 * functions answer CK_NOT_IMPLEMENTED instead of touching the disk. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"

static const char model_json[] =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"tiny\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 2], \"dtype\": \"float32\","
    " \"name\": \"x\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"h\", \"units\": 4, \"activation\": \"tanh\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"y\", \"units\": 1}}]}}";

static int fail(const char *what)
{
    fprintf(stderr, "minimal_smoke: %s: %s\n", what, ck_last_error());
    return 1;
}

int main(void)
{
    ck_model *m = NULL;
    ck_tensor *x = NULL, *y = NULL, *out[1] = {NULL};
    const float xs[8] = {0, 0, 0, 1, 1, 0, 1, 1}, ys[4] = {0, 1, 1, 0};
    int rc = 0;
    if (ck_model_from_json(model_json, &m) != CK_OK) return fail("ck_model_from_json");
    ck_compile_opts co = {.optimizer = "adam", .loss = "mse"};
    if (ck_model_compile(m, &co) != CK_OK) rc = fail("ck_model_compile");
    if (!rc && (ck_tensor_from_data(&x, CK_FLOAT32, 2, (int64_t[]){4, 2}, xs) != CK_OK ||
                ck_tensor_from_data(&y, CK_FLOAT32, 2, (int64_t[]){4, 1}, ys) != CK_OK))
        rc = fail("ck_tensor_from_data");
    double first = NAN, last = NAN;
    for (int step = 0; !rc && step < 50; step++) {
        ck_logs logs;
        if (ck_model_train_on_batch(m, 1, &x, 1, &y, NULL, &logs) != CK_OK) rc = fail("ck_model_train_on_batch");
        else if (step == 0) first = ck_logs_get(&logs, "loss");
        else last = ck_logs_get(&logs, "loss");
    }
    if (!rc && !(last < first)) {
        fprintf(stderr, "minimal_smoke: the loss did not go down (%g -> %g)\n", first, last);
        rc = 1;
    }
    if (!rc && ck_model_predict(m, 1, &x, out, 0) != CK_OK) rc = fail("ck_model_predict");
    if (!rc && (out[0]->rank != 2 || out[0]->shape[0] != 4 || out[0]->shape[1] != 1)) {
        fprintf(stderr, "minimal_smoke: predict gave the wrong shape\n");
        rc = 1;
    }
    /* No file code: a clear refusal, no file written. */
    if (!rc && (ck_model_save(m, "minimal_smoke.h5") != CK_NOT_IMPLEMENTED ||
                !strstr(ck_last_error(), "without file support"))) {
        fprintf(stderr, "minimal_smoke: ck_model_save did not refuse: %s\n", ck_last_error());
        rc = 1;
    }
    ck_tensor *t = NULL;
    if (!rc && ck_npy_load("x.npy", &t) != CK_NOT_IMPLEMENTED) {
        fprintf(stderr, "minimal_smoke: ck_npy_load did not refuse\n");
        rc = 1;
    }
    ck_tensor_free(out[0]);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
    if (!rc) printf("minimal_smoke: loss %g -> %g, file functions refused\n", first, last);
    return rc;
}
