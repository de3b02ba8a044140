/* "After the first step of a given batch shape a step allocates nothing"
 * (ckeras.h, Training): counted with the test allocator, for an MLP, a
 * CNN, a model with BatchNormalization and Dropout (running statistics and
 * random masks) and a two-input model whose shared layer gets two gradient
 * contributions.  Checked twice: on the internal step (ck_trainer_step,
 * exactly zero allocations) and through fit, whose allocations per call
 * must not grow with the number of steps per epoch. */
#include <criterion/criterion.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"
#include "train/trainer.h"

#define BATCH 8

typedef struct alloc_case {
    ck_model *m;
    int n_x;
    ck_tensor *x[2], *y;
} alloc_case;

static ck_tensor *input(int rank, const int64_t *dims)
{
    ck_tensor *t = NULL;
    ck_shape s = {rank, {0}};
    for (int i = 0; i < rank; i++) s.dims[i] = dims[i];
    cr_assert_eq(ck_input(&t, &(ck_input_opts){.shape = s}), CK_OK, "%s", ck_last_error());
    return t;
}

static ck_tensor *apply(ck_layer *l, int n, ck_tensor *const *in)
{
    ck_tensor *out = NULL;
    cr_assert_eq(ck_layer_apply(l, n, in, &out), CK_OK, "%s", ck_last_error());
    return out;
}

static ck_layer *dense(int64_t units, const char *act)
{
    ck_layer *l = NULL;
    cr_assert_eq(ck_dense(&l, &(ck_dense_opts){.units = units, .activation = act}), CK_OK, "%s", ck_last_error());
    return l;
}

static ck_model *sequential(int n, ck_layer **layers, ck_shape in)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_sequential(&m, n, layers, &in, NULL), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n; i++) ck_layer_free(layers[i]);
    return m;
}

static ck_model *mlp(void)
{
    ck_layer *l[3] = {dense(16, "relu"), dense(16, "tanh"), dense(4, NULL)};
    return sequential(3, l, (ck_shape){1, {12}});
}

static ck_model *cnn(void)
{
    ck_layer *l[6];
    cr_assert_eq(ck_conv2d(&l[0], &(ck_conv2d_opts){.filters = 4, .kernel_size = {3, 3}, .activation = "relu"}),
                 CK_OK);
    cr_assert_eq(ck_max_pooling2d(&l[1], &(ck_max_pooling2d_opts){.pool_size = {2, 2}}), CK_OK);
    cr_assert_eq(ck_conv2d(&l[2], &(ck_conv2d_opts){.filters = 6, .kernel_size = {3, 3}, .padding = "same",
                                                    .activation = "relu"}),
                 CK_OK);
    cr_assert_eq(ck_max_pooling2d(&l[3], &(ck_max_pooling2d_opts){.pool_size = {2, 2}}), CK_OK);
    cr_assert_eq(ck_flatten(&l[4], &(ck_flatten_opts){0}), CK_OK);
    l[5] = dense(4, NULL);
    return sequential(6, l, (ck_shape){3, {10, 10, 2}});
}

static ck_model *bn_dropout(void)
{
    ck_layer *l[4];
    l[0] = dense(16, NULL);
    cr_assert_eq(ck_batch_normalization(&l[1], &(ck_batch_normalization_opts){0}), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_dropout(&l[2], &(ck_dropout_opts){.rate = 0.3}), CK_OK, "%s", ck_last_error());
    l[3] = dense(4, "softmax");
    return sequential(4, l, (ck_shape){1, {12}});
}

/* Two inputs through one shared Dense, added, then a head. */
static ck_model *shared_two_inputs(void)
{
    ck_tensor *a = input(1, (int64_t[]){12}), *b = input(1, (int64_t[]){12});
    ck_layer *shared = dense(16, "relu"), *add = NULL, *head = dense(4, NULL);
    cr_assert_eq(ck_add(&add, &(ck_merge_opts){0}), CK_OK);
    ck_tensor *sa = apply(shared, 1, &a), *sb = apply(shared, 1, &b);
    ck_tensor *sum = apply(add, 2, (ck_tensor *[]){sa, sb});
    ck_tensor *out = apply(head, 1, &sum);
    ck_model *m = NULL;
    cr_assert_eq(ck_model_new(&m, 2, (ck_tensor *[]){a, b}, 1, &out, NULL), CK_OK, "%s", ck_last_error());
    ck_layer_free(shared);
    ck_layer_free(add);
    ck_layer_free(head);
    ck_layer_free(ck_tensor_layer(a));
    ck_layer_free(ck_tensor_layer(b));
    return m;
}

static void fill(ck_tensor *t, uint64_t seed)
{
    for (int64_t i = 0; i < t->size; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ((float *)t->data)[i] = (float)(seed >> 40) / 16777216.0f - 0.5f;
    }
}

/* `rows` samples for the model's inputs, sparse labels 0..3. */
static void make_case(alloc_case *c, ck_model *m, int n_x, int64_t rows)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->n_x = n_x;
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "adam",
                                                        .loss = "sparse_categorical_crossentropy",
                                                        .metrics = (const char *[]){"accuracy"},
                                                        .n_metrics = 1}),
                 CK_OK, "%s", ck_last_error());
    for (int i = 0; i < n_x; i++) {
        const ck_tensor *sym = ck_model_input(m, i);
        int64_t shape[CK_MAX_RANK];
        shape[0] = rows;
        for (int d = 1; d < sym->rank; d++) shape[d] = sym->shape[d];
        cr_assert_eq(ck_tensor_new(&c->x[i], CK_FLOAT32, sym->rank, shape), CK_OK);
        fill(c->x[i], 17 + (uint64_t)i);
    }
    cr_assert_eq(ck_tensor_new(&c->y, CK_INT64, 1, (int64_t[]){rows}), CK_OK);
    for (int64_t i = 0; i < rows; i++) ((int64_t *)c->y->data)[i] = i % 4;
}

static void free_case(alloc_case *c)
{
    for (int i = 0; i < c->n_x; i++) ck_tensor_free(c->x[i]);
    ck_tensor_free(c->y);
    ck_model_free(c->m);
}

/* Steps after the first of a batch shape: no allocation at all. */
static void expect_steps_allocate_nothing(const char *what, ck_model *m, int n_x)
{
    alloc_case c;
    make_case(&c, m, n_x, BATCH);
    ck_trainer *t = NULL;
    cr_assert_eq(ck_trainer_of(c.m, &t), CK_OK, "%s", ck_last_error());
    const ck_tensor *y[1] = {c.y};
    cr_assert_eq(ck_trainer_step(c.m, t, 1, (const ck_tensor *const *)c.x, y, NULL), CK_OK, "%s: %s", what,
                 ck_last_error());
    ck_test_fail_after(-1);
    for (int s = 0; s < 5; s++)
        cr_assert_eq(ck_trainer_step(c.m, t, 1, (const ck_tensor *const *)c.x, y, NULL), CK_OK, "%s: %s", what,
                     ck_last_error());
    long n = ck_test_alloc_count();
    ck_test_alloc_reset();
    cr_expect_eq(n, 0, "%s: 5 training steps made %ld allocations", what, n);
    free_case(&c);
}

/* Allocations of one fit call over `rows` samples (after a first fit has
 * planned everything for this batch size). */
static long fit_allocations(alloc_case *c, int64_t rows)
{
    ck_fit_opts o = {.batch_size = BATCH, .epochs = 2, .verbose = ck_int(0), .seed = ck_int(3)};
    ck_tensor *y[1] = {c->y}, *x[2] = {NULL, NULL};
    /* The first `rows` samples, through views of the same data. */
    ck_tensor views[2];
    for (int i = 0; i < c->n_x; i++) {
        views[i] = *c->x[i];
        views[i].shape[0] = rows;
        views[i].size = c->x[i]->size / c->x[i]->shape[0] * rows;
        x[i] = &views[i];
    }
    ck_tensor yv = *c->y;
    yv.shape[0] = rows;
    yv.size = rows;
    y[0] = &yv;
    cr_assert_eq(ck_model_fit(c->m, c->n_x, x, 1, y, &o, NULL), CK_OK, "%s",
                 ck_last_error());
    ck_test_fail_after(-1);
    cr_assert_eq(ck_model_fit(c->m, c->n_x, x, 1, y, &o, NULL), CK_OK, "%s",
                 ck_last_error());
    long n = ck_test_alloc_count();
    ck_test_alloc_reset();
    return n;
}

/* fit with 4 or 16 full batches per epoch: the same allocations (the
 * per-call ones: batch buffers, history, logs), none per step. */
static void expect_fit_steps_allocate_nothing(const char *what, ck_model *m, int n_x)
{
    alloc_case c;
    make_case(&c, m, n_x, 16 * BATCH);
    long few = fit_allocations(&c, 4 * BATCH), many = fit_allocations(&c, 16 * BATCH);
    cr_expect_eq(few, many, "%s: fit made %ld allocations with 4 steps per epoch, %ld with 16", what, few, many);
    free_case(&c);
}

Test(train_alloc, mlp) { expect_steps_allocate_nothing("MLP", mlp(), 1); }
Test(train_alloc, cnn) { expect_steps_allocate_nothing("CNN", cnn(), 1); }
Test(train_alloc, batchnorm_dropout) { expect_steps_allocate_nothing("BatchNormalization + Dropout", bn_dropout(), 1); }
Test(train_alloc, shared_layer_two_inputs) { expect_steps_allocate_nothing("shared layer", shared_two_inputs(), 2); }

Test(train_alloc, fit_mlp) { expect_fit_steps_allocate_nothing("MLP", mlp(), 1); }
Test(train_alloc, fit_cnn) { expect_fit_steps_allocate_nothing("CNN", cnn(), 1); }
Test(train_alloc, fit_batchnorm_dropout)
{
    expect_fit_steps_allocate_nothing("BatchNormalization + Dropout", bn_dropout(), 1);
}
Test(train_alloc, fit_shared_layer_two_inputs)
{
    expect_fit_steps_allocate_nothing("shared layer", shared_two_inputs(), 2);
}
