/* ckeras' thread pool (src/ops/thread_pool.c) and the kernels that use it.
 *
 * - ck_pool_for runs every unit exactly once, whatever the thread count,
 *   grain and length;
 * - every product path (ck_gemm_* with its transposes and beta, the
 *   backward products, ck_matmul, batch_dot over batch items) gives results
 *   bit-identical to one thread, on every kernel path the tests can force;
 * - several user threads calling at once all get the one-thread results
 *   (the pool serves one call, the others run on their own thread);
 * - ck_set_num_threads' contract.
 * Meant to run under ThreadSanitizer too (see the note in the Makefile's
 * test-tsan target); it is an ordinary Criterion suite otherwise. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"
#include "ops/thread_pool.h"

static const int paths[] = {CK_BD_PATH_AUTO, CK_BD_PATH_BLAS, CK_BD_PATH_PORTABLE, CK_BD_PATH_AVX2,
                            CK_BD_PATH_AVX512};
static const int thread_counts[] = {2, 3, 4};

static float value(int64_t i, int salt) { return (float)((i * 7919 + salt * 104729) % 2001) / 1000.0f - 1.0f; }

static float *filled(int64_t n, int salt)
{
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = value(i, salt);
    return p;
}

/* ---- the pool itself ------------------------------------------------------ */

typedef struct counts {
    atomic_int *hit;
} counts;

static void count_units(void *arg, int64_t b, int64_t e)
{
    counts *c = arg;
    for (int64_t i = b; i < e; i++) atomic_fetch_add(&c->hit[i], 1);
}

Test(thread_pool, every_unit_once)
{
    static const int64_t lens[] = {1, 2, 15, 16, 17, 33, 100, 1000};
    static const int64_t grains[] = {1, 3, 16};
    for (int t = 1; t <= 5; t++) {
        cr_assert_eq(ck_set_num_threads(t), CK_OK);
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
                counts c = {calloc((size_t)lens[l], sizeof(atomic_int))};
                ck_pool_for(lens[l], grains[g], 1e12, count_units, &c);
                for (int64_t i = 0; i < lens[l]; i++)
                    cr_expect_eq(atomic_load(&c.hit[i]), 1, "threads %d, n %lld, grain %lld: unit %lld ran %d times",
                                 t, (long long)lens[l], (long long)grains[g], (long long)i, atomic_load(&c.hit[i]));
                free(c.hit);
            }
    }
    ck_set_num_threads(0);
}

Test(thread_pool, small_work_stays_on_the_caller)
{
    cr_assert_eq(ck_set_num_threads(4), CK_OK);
    cr_expect_eq(ck_pool_parts(1000, 1, CK_POOL_MIN_WORK * 0.5), 1);
    cr_expect_eq(ck_pool_parts(1000, 1, CK_POOL_MIN_WORK * 2.5), 2);
    cr_expect_eq(ck_pool_parts(1, 1, 1e12), 1);
    cr_expect_eq(ck_pool_parts(1000, 1, 1e12), 4);
    cr_expect_eq(ck_pool_parts(40, 16, 1e12), 2);
    cr_expect_eq(ck_pool_parts(48, 16, 1e12), 3);
    ck_set_num_threads(0);
}

/* Counts the chunks a job was cut into and the units run. */
typedef struct chunk_count {
    atomic_int chunks;
    atomic_llong units;
} chunk_count;

static void count_chunk(void *arg, int64_t b, int64_t e)
{
    chunk_count *c = arg;
    atomic_fetch_add(&c->chunks, 1);
    atomic_fetch_add(&c->units, (long long)(e - b));
}

/* A job whose parts each read bytes the caller has just written needs
 * CK_POOL_SHARED_BYTE_WORK more work per byte in each part: 3 MIN_WORK
 * with bytes worth another MIN_WORK a part is one part (the caller, one
 * chunk); the same job with nothing shared is cut. */
Test(thread_pool, shared_bytes_raise_the_work_a_part_needs)
{
    cr_assert_eq(ck_set_num_threads(2), CK_OK);
    const double shared = CK_POOL_MIN_WORK / CK_POOL_SHARED_BYTE_WORK;
    chunk_count c = {0};
    ck_pool_for_shared(1000, 1, 3.0 * CK_POOL_MIN_WORK, shared, count_chunk, &c);
    cr_expect_eq(atomic_load(&c.chunks), 1);
    cr_expect_eq(atomic_load(&c.units), 1000);
    chunk_count d = {0};
    ck_pool_for_shared(1000, 1, 3.0 * CK_POOL_MIN_WORK, 0, count_chunk, &d);
    cr_expect(atomic_load(&d.chunks) > 1, "cut into %d chunks", atomic_load(&d.chunks));
    cr_expect_eq(atomic_load(&d.units), 1000);
    chunk_count e = {0};
    ck_pool_for_shared(1000, 1, 5.0 * CK_POOL_MIN_WORK, shared, count_chunk, &e);
    cr_expect_eq(atomic_load(&e.chunks), 2);
    cr_expect_eq(atomic_load(&e.units), 1000);
    ck_set_num_threads(0);
}

Test(thread_pool, set_and_get)
{
    cr_expect_eq(ck_set_num_threads(-1), CK_VALUE_ERROR);
    cr_expect_neq(ck_last_error()[0], '\0');
    cr_expect_eq(ck_set_num_threads(3), CK_OK);
    cr_expect_eq(ck_get_num_threads(), 3);
    cr_expect_eq(ck_set_num_threads(1000), CK_OK);
    cr_expect_eq(ck_get_num_threads(), CK_POOL_MAX_THREADS);
    cr_expect_eq(ck_set_num_threads(0), CK_OK);
    cr_expect_geq(ck_get_num_threads(), 1);
}

/* ---- products: threads give the one-thread bits ----------------------------- */

/* Big enough to be split (several parts of CK_POOL_MIN_WORK), with ragged
 * edges: rows and columns not multiples of the grain. */
static const int64_t gemm_shapes[][3] = {{150, 70, 250}, {20, 700, 300}, {9, 32, 20000}, {333, 17, 600}};

static void gemm_case(int ta, int tb, int beta, const int64_t *s, float *out)
{
    const int64_t M = s[0], N = s[1], K = s[2];
    const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    float *a = filled((ta ? K : M) * lda, 1), *b = filled((tb ? N : K) * ldb, 2);
    for (int64_t i = 0; i < M * ldc; i++) out[i] = value(i, 3);
    ck_gemm_f32(ta, tb, M, N, K, a, lda, b, ldb, (float)beta, out, ldc);
    free(a);
    free(b);
}

Test(thread_pool, gemm_identical_to_one_thread)
{
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
        for (size_t s = 0; s < sizeof gemm_shapes / sizeof gemm_shapes[0]; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (int beta = 0; beta < 2; beta++) {
                        const int64_t size = gemm_shapes[s][0] * (gemm_shapes[s][1] + 2);
                        float *one = malloc(sizeof(float) * (size_t)size), *many = malloc(sizeof(float) * (size_t)size);
                        ck_bd_path = paths[p];
                        ck_set_num_threads(1);
                        gemm_case(ta, tb, beta, gemm_shapes[s], one);
                        for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
                            ck_set_num_threads(thread_counts[t]);
                            gemm_case(ta, tb, beta, gemm_shapes[s], many);
                            cr_expect(memcmp(one, many, sizeof(float) * (size_t)size) == 0,
                                      "path %d, %lldx%lldx%lld ta %d tb %d beta %d, %d threads differ", paths[p],
                                      (long long)gemm_shapes[s][0], (long long)gemm_shapes[s][1],
                                      (long long)gemm_shapes[s][2], ta, tb, beta, thread_counts[t]);
                        }
                        ck_bd_path = CK_BD_PATH_AUTO;
                        free(one);
                        free(many);
                    }
    ck_set_num_threads(0);
}

/* batch_dot plans: items of A B, A B^T and A^T B; and one product (Dense)
 * split into bands of rows. */
static const ck_bd_plan bd_plans[] = {
    {.batch = 8, .M = 64, .N = 64, .K = 128, .pre_x = 64, .post_x = 1, .pre_y = 1, .post_y = 64},
    {.batch = 7, .M = 50, .N = 40, .K = 300, .pre_x = 50, .post_x = 1, .pre_y = 40, .post_y = 1, .trans_b = 1},
    {.batch = 5, .M = 70, .N = 30, .K = 200, .pre_x = 1, .post_x = 70, .pre_y = 1, .post_y = 30, .trans_a = 1},
    {.batch = 300, .M = 1, .N = 1, .K = 4000, .pre_x = 1, .post_x = 1, .pre_y = 1, .post_y = 1, .trans_b = 1},
    {.batch = 1, .M = 257, .N = 100, .K = 300, .pre_x = 257, .post_x = 1, .pre_y = 1, .post_y = 100},
    {.batch = 1, .M = 97, .N = 60, .K = 40, .pre_x = 97, .post_x = 1, .pre_y = 60, .post_y = 1, .trans_b = 1},
    {.batch = 1, .M = 33, .N = 1000, .K = 784, .pre_x = 33, .post_x = 1, .pre_y = 1, .post_y = 1000},
};

Test(thread_pool, batch_dot_and_matmul_identical_to_one_thread)
{
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
        for (size_t s = 0; s < sizeof bd_plans / sizeof bd_plans[0]; s++) {
            const ck_bd_plan *pl = &bd_plans[s];
            const int64_t na = pl->batch * pl->M * pl->K, nbb = pl->batch * pl->K * pl->N, nc = pl->batch * pl->M * pl->N;
            float *a = filled(na, 1), *b = filled(nbb, 2);
            float *one = calloc((size_t)nc, sizeof(float)), *many = calloc((size_t)nc, sizeof(float));
            ck_bd_path = paths[p];
            ck_set_num_threads(1);
            ck_bd_run_f32(pl, a, b, one);
            for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
                ck_set_num_threads(thread_counts[t]);
                memset(many, 0xff, sizeof(float) * (size_t)nc);
                ck_bd_run_f32(pl, a, b, many);
                cr_expect(memcmp(one, many, sizeof(float) * (size_t)nc) == 0, "path %d, plan %zu, %d threads differ",
                          paths[p], s, thread_counts[t]);
            }
            if (pl->batch == 1 && !pl->trans_a && !pl->trans_b) {
                ck_matmul_f32(pl->M, pl->N, pl->K, a, b, many);
                cr_expect(memcmp(one, many, sizeof(float) * (size_t)nc) == 0, "matmul, path %d, plan %zu", paths[p], s);
            }
            ck_bd_path = CK_BD_PATH_AUTO;
            free(a);
            free(b);
            free(one);
            free(many);
        }
    ck_set_num_threads(0);
}

/* ---- several user threads at once ------------------------------------------ */

#define CALLERS 4
#define ROUNDS 6

typedef struct caller {
    const float *a, *b, *want_gemm, *want_bd;
    int ok;
} caller;

static const int64_t CM = 200, CN = 96, CK = 300;
static const ck_bd_plan caller_plan = {.batch = 6, .M = 64, .N = 48, .K = 200, .pre_x = 64, .post_x = 1, .pre_y = 1,
                                       .post_y = 48};

static void *caller_main(void *arg)
{
    caller *c = arg;
    float *g = malloc(sizeof(float) * (size_t)(CM * CN));
    float *d = malloc(sizeof(float) * (size_t)(caller_plan.batch * caller_plan.M * caller_plan.N));
    c->ok = 1;
    for (int r = 0; r < ROUNDS; r++) {
        ck_gemm_f32(0, 0, CM, CN, CK, c->a, CK, c->b, CN, 0.0f, g, CN);
        ck_bd_run_f32(&caller_plan, c->a, c->b, d);
        c->ok &= memcmp(g, c->want_gemm, sizeof(float) * (size_t)(CM * CN)) == 0;
        c->ok &= memcmp(d, c->want_bd, sizeof(float) * (size_t)(caller_plan.batch * 64 * 48)) == 0;
    }
    free(g);
    free(d);
    return NULL;
}

Test(thread_pool, concurrent_callers)
{
    float *a = filled(CM * CK > 6 * 64 * 200 ? CM * CK : 6 * 64 * 200, 1);
    float *b = filled(CK * CN > 6 * 200 * 48 ? CK * CN : 6 * 200 * 48, 2);
    float *want_gemm = malloc(sizeof(float) * (size_t)(CM * CN));
    float *want_bd = malloc(sizeof(float) * (size_t)(6 * 64 * 48));
    ck_set_num_threads(1);
    ck_gemm_f32(0, 0, CM, CN, CK, a, CK, b, CN, 0.0f, want_gemm, CN);
    ck_bd_run_f32(&caller_plan, a, b, want_bd);
    ck_set_num_threads(2);
    caller callers[CALLERS];
    pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        callers[i] = (caller){a, b, want_gemm, want_bd, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, caller_main, &callers[i]), 0);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(th[i], NULL);
        cr_expect(callers[i].ok, "caller %d got results that differ from one thread", i);
    }
    ck_set_num_threads(0);
    free(a);
    free(b);
    free(want_gemm);
    free(want_bd);
}

/* ---- elementwise activations over large tensors ----------------------------- */

Test(thread_pool, activation_identical_to_one_thread)
{
    static const char *const names[] = {"tanh", "relu", "gelu"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        ck_activation *act = NULL;
        ck_tensor *x = NULL, *one = NULL, *many = NULL;
        const int64_t shape[2] = {1000, 4099};    /* ragged against the grain */
        cr_assert_eq(ck_activation_new(&act, names[k], NULL), CK_OK);
        cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, shape), CK_OK);
        cr_assert_eq(ck_tensor_new(&one, CK_FLOAT32, 2, shape), CK_OK);
        cr_assert_eq(ck_tensor_new(&many, CK_FLOAT32, 2, shape), CK_OK);
        for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = 4.0f * value(i, 5);
        ck_set_num_threads(1);
        cr_assert_eq(ck_activation_apply(act, x, one), CK_OK);
        for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
            ck_set_num_threads(thread_counts[t]);
            cr_assert_eq(ck_activation_apply(act, x, many), CK_OK);
            cr_expect(memcmp(one->data, many->data, sizeof(float) * (size_t)x->size) == 0, "%s, %d threads differ",
                      names[k], thread_counts[t]);
        }
        ck_tensor_free(x);
        ck_tensor_free(one);
        ck_tensor_free(many);
        ck_activation_free(act);
    }
    ck_set_num_threads(0);
}

/* A training step of a Conv2D whose im2col matrix is built in chunks
 * (patch rows of 18 longer than its 16 filters; outputs enough for every
 * pass to be split in two) by runs of images on the pool's
 * threads (its relu and bias gradients by runs of rows), of a
 * MaxPooling2D split by images, and of the Dense after them: the weights
 * after two steps are those of one thread, bit for bit. */
static void conv_train_steps(int threads, ck_tensor ***w, int *nw)
{
    ck_set_num_threads(threads);
    ck_layer *l[4] = {NULL, NULL, NULL, NULL};
    ck_model *m = NULL;
    ck_set_random_seed(7);
    cr_assert_eq(ck_conv2d(&l[0], &(ck_conv2d_opts){.filters = 16, .kernel_size = {3, 3}, .activation = "relu"}), CK_OK);
    cr_assert_eq(ck_max_pooling2d(&l[1], &(ck_max_pooling2d_opts){.pool_size = {2, 2}}), CK_OK);
    cr_assert_eq(ck_flatten(&l[2], &(ck_flatten_opts){0}), CK_OK);
    cr_assert_eq(ck_dense(&l[3], &(ck_dense_opts){.units = 3}), CK_OK);
    cr_assert_eq(ck_sequential(&m, 4, l, &(ck_shape){3, {112, 112, 2}}, "conv"), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_model_compile(m, &(ck_compile_opts){.optimizer = "sgd", .loss = "mse"}), CK_OK, "%s",
                 ck_last_error());
    ck_tensor *x = NULL, *y = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 4, (int64_t[]){8, 112, 112, 2}), CK_OK);
    cr_assert_eq(ck_tensor_new(&y, CK_FLOAT32, 2, (int64_t[]){8, 3}), CK_OK);
    for (int64_t i = 0; i < x->size; i++) ((float *)x->data)[i] = value(i, 11);
    for (int64_t i = 0; i < y->size; i++) ((float *)y->data)[i] = value(i, 12);
    for (int step = 0; step < 2; step++)
        cr_assert_eq(ck_model_train_on_batch(m, 1, &x, 1, &y, NULL, NULL), CK_OK, "%s", ck_last_error());
    cr_assert_eq(ck_layer_get_weights(l[0], w, nw), CK_OK);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_model_free(m);
    for (int i = 0; i < 4; i++) ck_layer_free(l[i]);
}

Test(thread_pool, conv_training_identical_to_one_thread)
{
    ck_tensor **one = NULL;
    int n_one = 0;
    conv_train_steps(1, &one, &n_one);
    cr_assert_eq(n_one, 2);
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        ck_tensor **many = NULL;
        int n_many = 0;
        conv_train_steps(thread_counts[t], &many, &n_many);
        cr_assert_eq(n_many, n_one);
        for (int i = 0; i < n_one; i++)
            cr_expect(memcmp(one[i]->data, many[i]->data, (size_t)one[i]->size * sizeof(float)) == 0,
                      "weight %d differs on %d threads", i, thread_counts[t]);
        for (int i = 0; i < n_many; i++) ck_tensor_free(many[i]);
        ck_free(many);
    }
    for (int i = 0; i < n_one; i++) ck_tensor_free(one[i]);
    ck_free(one);
    ck_set_num_threads(0);
}
