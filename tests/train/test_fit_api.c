/* The training API around the step: the progress bar's format, callbacks,
 * History, fit from a data callback, train/test_on_batch, evaluate, frozen
 * layers and the errors fit reports before it trains. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

#define N 40

typedef struct fixture {
    ck_model *m;
    ck_layer *d1, *d2;
    ck_tensor *x, *y;
} fixture;

/* Dense(6, relu) -> Dense(3, softmax) on 40 samples of 4 features with
 * sparse labels, compiled with the given optimizer. */
static void make(fixture *f, const char *optimizer)
{
    ck_clear_session();
    ck_set_random_seed(5);
    ck_tensor *in = NULL, *h = NULL, *out = NULL;
    cr_assert_eq(ck_input(&in, &(ck_input_opts){.shape = CK_TEST_SHAPE(4)}), CK_OK);
    cr_assert_eq(ck_dense(&f->d1, &(ck_dense_opts){.units = 6, .activation = "relu"}), CK_OK);
    cr_assert_eq(ck_dense(&f->d2, &(ck_dense_opts){.units = 3, .activation = "softmax"}), CK_OK);
    cr_assert_eq(ck_layer_apply(f->d1, 1, &in, &h), CK_OK);
    cr_assert_eq(ck_layer_apply(f->d2, 1, &h, &out), CK_OK);
    cr_assert_eq(ck_model_new(&f->m, 1, &in, 1, &out, NULL), CK_OK, "%s", ck_last_error());
    ck_layer_free(ck_tensor_layer(in));
    float xs[N * 4];
    int64_t ys[N];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 4; k++) xs[i * 4 + k] = (float)sin(i * 1.3 + k * 0.7);
        ys[i] = (i * 7) % 3;
    }
    f->x = ck_test_f32(2, (int64_t[]){N, 4}, xs);
    f->y = ck_test_i64(1, (int64_t[]){N}, ys);
    const char *metrics[] = {"accuracy"};
    cr_assert_eq(ck_model_compile(f->m, &(ck_compile_opts){.optimizer = optimizer,
                                                           .loss = "sparse_categorical_crossentropy",
                                                           .metrics = metrics, .n_metrics = 1}),
                 CK_OK, "%s", ck_last_error());
}

static void unmake(fixture *f)
{
    ck_layer_free(f->d1);
    ck_layer_free(f->d2);
    ck_model_free(f->m);
    ck_tensor_free(f->x);
    ck_tensor_free(f->y);
}

static ck_status fit(fixture *f, ck_fit_opts *o, ck_history **h)
{
    o->no_shuffle = true;
    if (!o->verbose.set && !o->progress) o->verbose = ck_int(0);
    return ck_model_fit(f->m, 1, &f->x, 1, &f->y, o, h);
}

static char *slurp(FILE *fp)
{
    static char buf[1 << 16];
    fflush(fp);
    rewind(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    return buf;
}

Test(fit_api, progress_bar_verbose_1)
{
    fixture f;
    make(&f, "adam");
    FILE *fp = tmpfile();
    ck_fit_opts o = {.batch_size = 10, .epochs = 2, .verbose = ck_int(1), .progress = fp};
    cr_assert_eq(fit(&f, &o, NULL), CK_OK, "%s", ck_last_error());
    const char *s = slurp(fp);
    cr_expect(strncmp(s, "Epoch 1/2\n", 10) == 0, "got: %s", s);
    cr_expect(strstr(s, "Epoch 2/2\n") != NULL);
    /* A file is not a terminal: each redraw starts on a new line, as Keras'
     * non-dynamic display does; the last line of an epoch is complete. */
    const char *last = strstr(s, "4/4 [==============================] - ");
    cr_assert(last, "no final bar in: %s", s);
    cr_expect(strstr(last, "/step - loss: ") != NULL, "got: %s", last);
    cr_expect(strstr(last, " - accuracy: ") != NULL, "got: %s", last);
    /* The first step always draws (the 50 ms throttle starts then): bar
     * width int(30 * 1/4) = 7, six '=' and the '>'. */
    cr_expect(strstr(s, "\n1/4 [======>.......................] - ETA: ") != NULL, "got: %s", s);
    fclose(fp);
    unmake(&f);
}

Test(fit_api, progress_bar_verbose_2)
{
    fixture f;
    make(&f, "sgd");
    FILE *fp = tmpfile();
    ck_fit_opts o = {.batch_size = 10, .epochs = 1, .verbose = ck_int(2), .progress = fp};
    cr_assert_eq(fit(&f, &o, NULL), CK_OK, "%s", ck_last_error());
    const char *s = slurp(fp);
    /* One epoch: no "Epoch 1/1" header (Keras prints it only for epochs > 1). */
    cr_expect(strncmp(s, "4/4 - ", 6) == 0, "got: %s", s);
    cr_expect(strstr(s, " - loss: ") && strstr(s, " - accuracy: ") && strstr(s, "/epoch - ") && strstr(s, "/step\n"),
              "got: %s", s);
    fclose(fp);
    unmake(&f);
}

Test(fit_api, history_and_evaluate)
{
    fixture f;
    make(&f, "adam");
    ck_history *h = NULL;
    ck_fit_opts o = {.batch_size = 8, .epochs = 3, .validation_split = 0.25};
    cr_assert_eq(fit(&f, &o, &h), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_history_epochs(h), 3);
    cr_expect_eq(ck_history_count(h), 4);
    cr_expect_str_eq(ck_history_name(h, 0), "loss");
    cr_expect_str_eq(ck_history_name(h, 1), "accuracy");
    cr_expect_str_eq(ck_history_name(h, 2), "val_loss");
    cr_expect_str_eq(ck_history_name(h, 3), "val_accuracy");
    cr_expect(ck_history_get(h, "loss", 2) < ck_history_get(h, "loss", 0));
    cr_expect(isnan(ck_history_get(h, "nope", 0)));
    /* evaluate over everything in one batch equals test_on_batch. */
    ck_logs a, b;
    cr_assert_eq(ck_model_evaluate(f.m, 1, &f.x, 1, &f.y,
                                   &(ck_evaluate_opts){.batch_size = 7, .verbose = ck_int(0)}, &a), CK_OK);
    cr_assert_eq(ck_model_test_on_batch(f.m, 1, &f.x, 1, &f.y,
                                        NULL, &b), CK_OK);
    cr_expect(fabs(ck_logs_get(&a, "loss") - ck_logs_get(&b, "loss")) < 1e-6);
    cr_expect(fabs(ck_logs_get(&a, "accuracy") - ck_logs_get(&b, "accuracy")) < 1e-9);
    ck_history_free(h);
    unmake(&f);
}

Test(fit_api, early_stopping_restores_best)
{
    fixture f;
    make(&f, "adam");
    ck_callback *cb = NULL;
    /* mode max on a falling loss: epoch 0 is the best, so training stops
     * after epoch 1 and the weights return to epoch 0's. */
    cr_assert_eq(ck_early_stopping(&cb, &(ck_early_stopping_opts){.monitor = "loss", .mode = "max",
                                                                   .restore_best_weights = true}), CK_OK);
    ck_tensor **w0 = NULL;
    int n0 = 0;
    ck_history *h = NULL;
    ck_fit_opts o = {.batch_size = 40, .epochs = 10, .callbacks = &cb, .n_callbacks = 1};
    /* Weights after exactly one epoch, from a twin model. */
    fixture g;
    make(&g, "adam");
    ck_fit_opts one = {.batch_size = 40, .epochs = 1};
    cr_assert_eq(fit(&g, &one, NULL), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(g.m), &w0, &n0), CK_OK);
    cr_assert_eq(fit(&f, &o, &h), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_history_epochs(h), 2);
    ck_tensor **w = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(f.m), &w, &n), CK_OK);
    for (int i = 0; i < n; i++) cr_expect(ck_test_max_abs_diff(w[i], w0[i]) < 1e-7, "weight %d not restored", i);
    ck_tensors_free(w, n);
    ck_tensors_free(w0, n0);
    ck_history_free(h);
    ck_callback_free(cb);
    unmake(&g);
    unmake(&f);
}

static double schedule(int epoch, double lr, void *user)
{
    (void)lr, (void)user;
    return 0.01 * (epoch + 1);
}

Test(fit_api, learning_rate_callbacks)
{
    fixture f;
    make(&f, "sgd");
    ck_callback *cb[2] = {NULL};
    cr_assert_eq(ck_learning_rate_scheduler(&cb[0], schedule, NULL), CK_OK);
    ck_fit_opts o = {.batch_size = 20, .epochs = 3, .callbacks = cb, .n_callbacks = 1};
    cr_assert_eq(fit(&f, &o, NULL), CK_OK, "%s", ck_last_error());
    cr_expect(fabs(ck_optimizer_learning_rate(ck_model_optimizer(f.m)) - 0.03) < 1e-9);
    /* ReduceLROnPlateau: a falling loss watched with mode max never
     * improves after epoch 0, so with patience 1 the rate halves at epoch 1
     * and, with cooldown 0, again at epoch 2. */
    cr_assert_eq(ck_optimizer_set_learning_rate(ck_model_optimizer(f.m), 0.04), CK_OK);
    cr_assert_eq(ck_reduce_lr_on_plateau(&cb[1], &(ck_reduce_lr_on_plateau_opts){
                     .monitor = "loss", .mode = "max", .factor = ck_double(0.5), .patience = ck_int(1)}), CK_OK);
    o.callbacks = &cb[1];
    cr_assert_eq(fit(&f, &o, NULL), CK_OK, "%s", ck_last_error());
    cr_expect(fabs(ck_optimizer_learning_rate(ck_model_optimizer(f.m)) - 0.01) < 1e-9, "lr %g",
              ck_optimizer_learning_rate(ck_model_optimizer(f.m)));
    cr_expect_eq(ck_reduce_lr_on_plateau(&cb[0], &(ck_reduce_lr_on_plateau_opts){.factor = ck_double(1.0)}),
                 CK_VALUE_ERROR);
    ck_callback_free(cb[0]);
    ck_callback_free(cb[1]);
    unmake(&f);
}

Test(fit_api, csv_logger_and_checkpoint)
{
    fixture f;
    make(&f, "adam");
    ck_callback *cb[2] = {NULL};
    const char *csv = ck_test_tmp("fit_api_history.csv");
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s", ck_test_tmp("fit_api_ckpt_{epoch:02d}.h5"));
    remove(csv);
    cr_assert_eq(ck_csv_logger(&cb[0], csv, NULL, false), CK_OK);
    cr_assert_eq(ck_model_checkpoint(&cb[1], &(ck_model_checkpoint_opts){.filepath = pattern, .monitor = "loss",
                                                                         .save_best_only = true}), CK_OK);
    ck_fit_opts o = {.batch_size = 10, .epochs = 2, .callbacks = cb, .n_callbacks = 2};
    cr_assert_eq(fit(&f, &o, NULL), CK_OK, "%s", ck_last_error());
    FILE *fp = fopen(csv, "r");
    cr_assert(fp);
    char line[256];
    cr_assert(fgets(line, sizeof line, fp));
    cr_expect_str_eq(line, "epoch,accuracy,loss\n");
    cr_assert(fgets(line, sizeof line, fp));
    cr_expect(strncmp(line, "0,", 2) == 0);
    cr_assert(fgets(line, sizeof line, fp));
    cr_expect(strncmp(line, "1,", 2) == 0);
    fclose(fp);
    ck_model *saved = NULL;
    cr_expect_eq(ck_model_load(ck_test_tmp("fit_api_ckpt_02.h5"), &saved), CK_OK, "%s", ck_last_error());
    ck_model_free(saved);
    ck_callback_free(cb[0]);
    ck_callback_free(cb[1]);
    unmake(&f);
}

Test(fit_api, terminate_on_nan)
{
    fixture f;
    make(&f, "sgd");
    /* A NaN in the last layer's kernel makes the first batch's loss NaN. */
    ((float *)ck_weight_value(ck_layer_weight(f.d2, 0))->data)[0] = NAN;
    ck_callback *cb = NULL;
    cr_assert_eq(ck_terminate_on_nan(&cb), CK_OK);
    ck_history *h = NULL;
    ck_fit_opts o = {.batch_size = 10, .epochs = 5, .callbacks = &cb, .n_callbacks = 1};
    cr_assert_eq(fit(&f, &o, &h), CK_OK, "%s", ck_last_error());
    cr_expect_eq(ck_history_epochs(h), 1, "epochs %d, loss %g", ck_history_epochs(h), ck_history_get(h, "loss", 0));
    ck_history_free(h);
    ck_callback_free(cb);
    unmake(&f);
}

/* fit from a data callback: the same rows in the same order as arrays. */
typedef struct feed {
    const ck_tensor *x, *y;
} feed;

static ck_status feed_batch(void *user, int epoch, int64_t batch, int64_t cap, ck_tensor *const *x,
                            ck_tensor *const *y, ck_tensor *sw, int64_t *rows)
{
    const feed *d = user;
    (void)epoch, (void)sw;
    int64_t r0 = batch * cap, n = N - r0 < cap ? N - r0 : cap;
    memcpy(x[0]->data, (const float *)d->x->data + r0 * 4, (size_t)(n * 4) * sizeof(float));
    memcpy(y[0]->data, (const int64_t *)d->y->data + r0, (size_t)n * sizeof(int64_t));
    *rows = n;
    return CK_OK;
}

Test(fit_api, fit_batches_equals_fit)
{
    fixture a, b;
    make(&a, "adam");
    make(&b, "adam");
    ck_fit_opts o = {.batch_size = 16, .epochs = 2};
    cr_assert_eq(fit(&a, &o, NULL), CK_OK, "%s", ck_last_error());
    feed d = {b.x, b.y};
    ck_fit_opts ob = {.batch_size = 16, .epochs = 2, .verbose = ck_int(0)};
    cr_assert_eq(ck_model_fit_batches(b.m, feed_batch, &d, 3, &ob, NULL), CK_OK, "%s", ck_last_error());
    ck_tensor **wa = NULL, **wb = NULL;
    int na = 0, nb = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(a.m), &wa, &na), CK_OK);
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(b.m), &wb, &nb), CK_OK);
    for (int i = 0; i < na; i++) cr_expect(ck_test_max_abs_diff(wa[i], wb[i]) < 1e-6, "weight %d", i);
    ck_tensors_free(wa, na);
    ck_tensors_free(wb, nb);
    unmake(&a);
    unmake(&b);
}

Test(fit_api, frozen_layer_keeps_its_weights)
{
    fixture f;
    make(&f, "adam");
    ck_layer_set_trainable(f.d1, 0);
    ck_tensor **before = NULL, **after = NULL;
    int n = 0, n2 = 0;
    cr_assert_eq(ck_layer_get_weights(f.d1, &before, &n), CK_OK);
    ck_fit_opts o = {.batch_size = 10, .epochs = 2};
    cr_assert_eq(fit(&f, &o, NULL), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_get_weights(f.d1, &after, &n2), CK_OK);
    for (int i = 0; i < n; i++) cr_expect_eq(ck_test_max_abs_diff(before[i], after[i]), 0.0);
    ck_tensors_free(before, n);
    ck_tensors_free(after, n2);
    unmake(&f);
}

Test(fit_api, errors_before_training)
{
    fixture f;
    make(&f, "adam");
    ck_tensor **before = NULL;
    int n = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(f.m), &before, &n), CK_OK);
    ck_tensor *xs[1] = {f.x};
    /* wrong number of targets */
    ck_tensor *ys2[2] = {f.y, f.y};
    cr_expect_eq(ck_model_fit(f.m, 1, xs, 2, ys2, &(ck_fit_opts){.verbose = ck_int(0)}, NULL), CK_VALUE_ERROR);
    /* targets of another length */
    ck_tensor *short_y = ck_test_i64(1, (int64_t[]){3}, (int64_t[]){0, 1, 2});
    cr_expect_eq(ck_model_fit(f.m, 1, xs, 1, &short_y, NULL, NULL), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "Data cardinality is ambiguous") != NULL, "%s", ck_last_error());
    /* one-hot targets of the wrong width for sparse labels */
    float bad[N * 2] = {0};
    ck_tensor *wide = ck_test_f32(2, (int64_t[]){N, 2}, bad);
    cr_expect_eq(ck_model_fit(f.m, 1, xs, 1, &wide, NULL, NULL), CK_VALUE_ERROR);
    /* validation_split leaving nothing to train on */
    cr_expect_eq(ck_model_fit(f.m, 1, xs, 1, &f.y,
                              &(ck_fit_opts){.validation_split = 0.999, .verbose = ck_int(0)}, NULL),
                 CK_VALUE_ERROR);
    /* nothing changed */
    ck_tensor **after = NULL;
    int n2 = 0;
    cr_assert_eq(ck_layer_get_weights(ck_model_layer(f.m), &after, &n2), CK_OK);
    for (int i = 0; i < n; i++) cr_expect_eq(ck_test_max_abs_diff(before[i], after[i]), 0.0);
    /* compile errors leave the earlier compilation in place */
    cr_expect_eq(ck_model_compile(f.m, &(ck_compile_opts){.loss = "no_such_loss"}), CK_VALUE_ERROR);
    cr_expect(strstr(ck_last_error(), "no_such_loss") != NULL, "%s", ck_last_error());
    cr_expect_eq(ck_model_compile(f.m, &(ck_compile_opts){.optimizer = "nope", .loss = "mse"}), CK_VALUE_ERROR);
    cr_expect_eq(ck_model_compile(f.m, &(ck_compile_opts){0}), CK_VALUE_ERROR);
    cr_expect(ck_model_compiled(f.m));
    /* an uncompiled model */
    fixture g;
    make(&g, "adam");
    ck_model *plain = NULL;
    char *json = NULL;
    cr_assert_eq(ck_model_to_json(g.m, &json), CK_OK);
    cr_assert_eq(ck_model_from_json(json, &plain), CK_OK);
    cr_expect_eq(ck_model_fit(plain, 1, xs, 1, &f.y, NULL, NULL), CK_RUNTIME_ERROR);
    cr_expect(strstr(ck_last_error(), "compile") != NULL);
    ck_free(json);
    ck_model_free(plain);
    ck_tensor_free(short_y);
    ck_tensor_free(wide);
    ck_tensors_free(before, n);
    ck_tensors_free(after, n2);
    unmake(&g);
    unmake(&f);
}
