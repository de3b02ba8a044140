/* examples/fashion_mnist.c: TensorFlow's "Basic classification" tutorial
 * (tensorflow.org/tutorials/keras/classification) in C, on the real
 * Fashion-MNIST files of Debian's dataset-fashion-mnist package.
 *
 *   model = tf.keras.Sequential([Flatten(input_shape=(28, 28)),
 *                                Dense(128, activation='relu'), Dense(10)])
 *   model.compile(optimizer='adam', metrics=['accuracy'],
 *       loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
 *   model.fit(train_images, train_labels, epochs=10)
 *   model.evaluate(test_images, test_labels, verbose=2)
 *
 * usage: fashion_mnist [--epochs N] [--data DIR] [--out-dir DIR]
 * DIR defaults to /usr/share/datasets/fashion-mnist; the trained model is
 * saved as OUT-DIR/fashion_mnist.keras and OUT-DIR/fashion_mnist.h5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckeras.h"

/* The tutorial's figure: "Test accuracy: 0.8799999952316284" or so; it
 * varies by a point between runs. */
#define TUTORIAL_ACCURACY 0.88

static const char *const class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static int fail(const char *what)
{
    fprintf(stderr, "fashion_mnist: %s: %s\n", what, ck_last_error());
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Images as float32 in [0, 1] (the tutorial's `/ 255.0`), labels as the
 * int32 class ids the IDX file holds. */
static ck_status load_split(const char *dir, const char *prefix, ck_tensor **images, ck_tensor **labels)
{
    char path[4096];
    ck_tensor *raw = NULL;
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    ck_status st = ck_idx_load(path, &raw);
    if (st == CK_OK) st = ck_tensor_cast(images, raw, CK_FLOAT32);
    ck_tensor_free(raw);
    if (st != CK_OK) return st;
    float *px = (*images)->data;
    for (int64_t i = 0; i < (*images)->size; i++) px[i] /= 255.0f;
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    st = ck_idx_load(path, labels);
    if (st != CK_OK) {
        ck_tensor_free(*images);
        *images = NULL;
    }
    return st;
}

/* Flatten -> Dense(128, relu) -> Dense(10), built as Keras' functional API. */
static ck_status build_model(ck_model **out)
{
    ck_tensor *in = NULL, *h = NULL;
    ck_layer *flatten = NULL, *hidden = NULL, *logits = NULL;
    ck_status st = ck_input(&in, &(ck_input_opts){.shape = {2, {28, 28}}});
    if (st == CK_OK) st = ck_flatten(&flatten, &(ck_flatten_opts){0});
    if (st == CK_OK) st = ck_dense(&hidden, &(ck_dense_opts){.units = 128, .activation = "relu"});
    if (st == CK_OK) st = ck_dense(&logits, &(ck_dense_opts){.units = 10});
    if (st == CK_OK) st = ck_layer_apply(flatten, 1, &in, &h);
    if (st == CK_OK) st = ck_layer_apply(hidden, 1, &h, &h);
    if (st == CK_OK) st = ck_layer_apply(logits, 1, &h, &h);
    if (st == CK_OK) st = ck_model_new(out, 1, &in, 1, &h, "fashion_mnist");
    /* The model holds its own references now. */
    ck_layer_free(flatten);
    ck_layer_free(hidden);
    ck_layer_free(logits);
    if (in) ck_layer_free(ck_tensor_layer(in));
    return st;
}

/* The tutorial's last step: what the model says about a few test images. */
static ck_status show_predictions(ck_model *m, const ck_tensor *images, const ck_tensor *labels, int n)
{
    ck_tensor view = *images, *pred = NULL;
    ck_tensor *arg = &view;
    view.shape[0] = n;
    view.size = (int64_t)n * 28 * 28;
    view.owns_data = 0;
    ck_status st = ck_model_predict(m, 1, &arg, &pred, 32);
    if (st != CK_OK) return st;
    for (int i = 0; i < n; i++) {
        const float *row = (const float *)pred->data + 10 * i;
        int best = 0;
        for (int c = 1; c < 10; c++) best = row[c] > row[best] ? c : best;
        int truth = ((const int32_t *)labels->data)[i];
        printf("  test image %d: predicted %-11s  true %-11s %s\n", i, class_names[best], class_names[truth],
               best == truth ? "" : "(wrong)");
    }
    ck_tensor_free(pred);
    return CK_OK;
}

int main(int argc, char **argv)
{
    const char *data = "/usr/share/datasets/fashion-mnist", *out_dir = ".";
    int epochs = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--out-dir") && i + 1 < argc) out_dir = argv[++i];
        else {
            fprintf(stderr, "usage: fashion_mnist [--epochs N] [--data DIR] [--out-dir DIR]\n");
            return 1;
        }
    }
    if (epochs < 1) return fprintf(stderr, "fashion_mnist: --epochs must be at least 1\n"), 1;
    ck_tensor *train_x = NULL, *train_y = NULL, *test_x = NULL, *test_y = NULL;
    if (load_split(data, "train", &train_x, &train_y) != CK_OK) return fail("training data");
    if (load_split(data, "t10k", &test_x, &test_y) != CK_OK) return fail("test data");
    printf("Fashion-MNIST from %s: %lld training and %lld test images of 28x28\n", data,
           (long long)train_x->shape[0], (long long)test_x->shape[0]);

    /* A fixed seed: the same initial weights and batches on every run. */
    ck_set_random_seed(42);
    ck_model *m = NULL;
    char *summary = NULL;
    if (build_model(&m) != CK_OK) return fail("model");
    if (ck_model_summary(m, &summary) == CK_OK) fputs(summary, stdout);
    ck_free(summary);
    const char *metrics[] = {"accuracy"};
    ck_compile_opts co = {
        .optimizer = "adam",
        .loss = "{\"class_name\": \"SparseCategoricalCrossentropy\", \"config\": {\"from_logits\": true}}",
        .metrics = metrics,
        .n_metrics = 1,
    };
    if (ck_model_compile(m, &co) != CK_OK) return fail("compile");

    /* Keras' progress bar on a terminal, one line per epoch in a log. */
    int verbose = isatty(1) ? 1 : 2;
    ck_fit_opts fo = {.epochs = epochs, .batch_size = 32, .verbose = ck_int(verbose)};
    fflush(stdout);
    double t0 = now();
    if (ck_model_fit(m, 1, &train_x, 1, &train_y, &fo, NULL) != CK_OK) return fail("fit");
    double seconds = now() - t0;
    printf("%d epoch%s of %lld images in %.1f s (%.2f s per epoch)\n", epochs, epochs == 1 ? "" : "s",
           (long long)train_x->shape[0], seconds, seconds / epochs);

    ck_logs logs;
    fflush(stdout);
    if (ck_model_evaluate(m, 1, &test_x, 1, &test_y, &(ck_evaluate_opts){.verbose = ck_int(2)}, &logs) != CK_OK)
        return fail("evaluate");
    printf("\nTest accuracy: %.4f   (the TensorFlow tutorial: about %.2f after 10 epochs)\n",
           ck_logs_get(&logs, "accuracy"), TUTORIAL_ACCURACY);
    printf("Test loss:     %.4f\n", ck_logs_get(&logs, "loss"));
    if (show_predictions(m, test_x, test_y, 5) != CK_OK) return fail("predict");

    const char *ext[] = {"keras", "h5"};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/fashion_mnist.%s", out_dir, ext[i]);
        if (ck_model_save(m, path) != CK_OK) return fail(path);
        printf("saved %s\n", path);
    }
    ck_model_free(m);
    ck_tensor_free(train_x);
    ck_tensor_free(train_y);
    ck_tensor_free(test_x);
    ck_tensor_free(test_y);
    return 0;
}
