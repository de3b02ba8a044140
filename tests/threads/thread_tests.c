/* Threads (issue 10, item 3): models loaded, saved and built in parallel
 * (per-thread random generators); one model predicted from several threads
 * through one ck_predictor each, giving exactly the single-threaded
 * results; concurrent ck_model_predict calls on one model either succeed
 * correctly or get CK_RUNTIME_ERROR.  `make test-tsan` runs this program
 * under ThreadSanitizer; it is a plain program, not a Criterion one,
 * because Criterion's runner cannot start under TSan ("Could not
 * initialize inheritable arena"), and uses pthreads, which TSan
 * intercepts (GCC 12's does not see C11 thrd_create). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "ckeras.h"

enum { N_THREADS = 4, ROUNDS = 6, BATCH = 5 };

static int failures;

/* The message of a failed check (no format attribute: it may be empty). */
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);      \
            note("" __VA_ARGS__);                                                         \
            fprintf(stderr, "\n");                                                        \
        }                                                                                 \
    } while (0)
#define REQUIRE(cond, ...)                                                                \
    do {                                                                                  \
        int required_ = (cond);                                                           \
        CHECK(required_, __VA_ARGS__);                                                    \
        if (!required_) exit(1);                                                          \
    } while (0)
#define SHAPE(...) ((ck_shape){(int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), {__VA_ARGS__}})

static const char *path_in(const char *env, const char *rel, char *buf, size_t n)
{
    const char *root = getenv(env);
    snprintf(buf, n, "%s/%s", root ? root : ".", rel);
    return buf;
}

static double max_abs_diff(const ck_tensor *a, const ck_tensor *b)
{
    if (!a || !b || a->size != b->size || a->rank != b->rank) return INFINITY;
    double m = 0;
    for (int64_t i = 0; i < a->size; i++) {
        double d = fabs(ck_tensor_get(a, i) - ck_tensor_get(b, i));
        if (d > m || d != d) m = d;
    }
    return m;
}

/* Real files of different architectures (a siamese model with a nested
 * model and Dot(normalize=True), Dense stacks). */
static const char *const model_files[N_THREADS] = {
    "keras/siamese-cosine-dot-keras2_4/testmodel.hdf5",
    "keras/dl4j-tfkeras-dense/act_0.h5",
    "keras/dl4j-dense-activations-io/ELU_0_model.h5",
    "keras/dl4j-tfkeras-dense/act_2.h5",
};

/* Deterministic float inputs of the model's input shapes (batch BATCH,
 * unknown dims 4); token ids below 19 for the "text" model. */
static ck_status make_inputs(ck_model *m, ck_tensor **x)
{
    const int tokens = strcmp(ck_model_name(m), "text") == 0;
    for (int i = 0; i < ck_model_input_count(m); i++) {
        const ck_tensor *s = ck_model_input(m, i);
        int64_t shape[CK_MAX_RANK];
        for (int d = 0; d < s->rank; d++) shape[d] = d == 0 ? BATCH : s->shape[d] < 0 ? 4 : s->shape[d];
        ck_status st = ck_tensor_new(&x[i], s->dtype, s->rank, shape);
        if (st != CK_OK) return st;
        for (int64_t k = 0; k < x[i]->size && s->dtype == CK_FLOAT32; k++)
            ((float *)x[i]->data)[k] = tokens ? (float)((k * 37 + i * 11) % 19)
                                              : (float)((k * 37 + i * 11) % 19) / 19.0f - 0.4f;
    }
    return CK_OK;
}

static void free_all(ck_tensor **t, int n)
{
    for (int i = 0; i < n; i++) ck_tensor_free(t[i]);
}

/* ---- loading and saving in parallel ------------------------------------ */

typedef struct load_job {
    int index;
    ck_status status;
    char message[512];
    double diff; /* reloaded vs loaded predictions */
} load_job;

static void *load_save_thread(void *arg)
{
    load_job *job = arg;
    ck_model *m = NULL, *back = NULL;
    ck_tensor *x[8] = {NULL}, *y = NULL, *y2 = NULL;
    char in[4096], rel[64], out[4096];
    job->diff = -1;
    ck_set_random_seed((uint64_t)job->index);
    snprintf(rel, sizeof rel, "thread_save_%d%s", job->index, job->index % 2 ? ".keras" : ".h5");
    path_in("CK_TMP", rel, out, sizeof out);
    ck_status st = ck_model_load(path_in("CK_TEST_DATA", model_files[job->index], in, sizeof in), &m);
    if (st == CK_OK) st = make_inputs(m, x);
    if (st == CK_OK) st = ck_model_predict(m, ck_model_input_count(m), x, &y, 0);
    if (st == CK_OK) st = ck_model_save(m, out);
    if (st == CK_OK) st = ck_model_load(out, &back);
    if (st == CK_OK) st = ck_model_predict(back, ck_model_input_count(back), x, &y2, 0);
    if (st == CK_OK) job->diff = max_abs_diff(y, y2);
    job->status = st;
    snprintf(job->message, sizeof job->message, "%s", st == CK_OK ? "" : ck_last_error());
    free_all(x, 8);
    ck_tensor_free(y);
    ck_tensor_free(y2);
    ck_model_free(m);
    ck_model_free(back);
    unlink(out);
    return NULL;
}

static void load_and_save_in_parallel(void)
{
    pthread_t th[N_THREADS];
    load_job jobs[N_THREADS];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N_THREADS; i++) {
            jobs[i] = (load_job){.index = i};
            REQUIRE(pthread_create(&th[i], NULL, load_save_thread, &jobs[i]) == 0);
        }
        for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
        for (int i = 0; i < N_THREADS; i++) {
            CHECK(jobs[i].status == CK_OK, "%s: %s", model_files[i], jobs[i].message);
            CHECK(jobs[i].diff == 0.0, "%s: reloaded predictions differ by %g", model_files[i], jobs[i].diff);
        }
    }
}

/* Each thread's generator is its own: the same seed gives the same weights
 * whatever the other threads draw meanwhile. */
typedef struct seed_job {
    ck_tensor *kernel;
} seed_job;

static void *seeded_build(void *arg)
{
    seed_job *job = arg;
    ck_set_random_seed(42);
    for (int i = 0; i < 20; i++) {
        ck_layer *l = NULL;
        if (ck_dense(&l, &(ck_dense_opts){.units = 16}) != CK_OK) return NULL;
        ck_shape s = SHAPE(-1, 16);
        if (ck_layer_build(l, 1, &s) != CK_OK) return NULL;
        if (i == 19) ck_tensor_copy(&job->kernel, ck_weight_value(ck_layer_weight(l, 0)));
        ck_layer_free(l);
    }
    return NULL;
}

static void random_generator_is_per_thread(void)
{
    pthread_t th[N_THREADS];
    seed_job jobs[N_THREADS] = {{0}};
    for (int i = 0; i < N_THREADS; i++) REQUIRE(pthread_create(&th[i], NULL, seeded_build, &jobs[i]) == 0);
    for (int i = 0; i < N_THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        REQUIRE(jobs[i].kernel != NULL, "thread %d built nothing", i);
        CHECK(max_abs_diff(jobs[0].kernel, jobs[i].kernel) == 0.0, "thread %d", i);
    }
    for (int i = 0; i < N_THREADS; i++) ck_tensor_free(jobs[i].kernel);
}

/* ---- one model, several predictors -------------------------------------- */

#define OK(call) REQUIRE((call) == CK_OK, "%s: %s", #call, ck_last_error())

/* A model of the layers whose inference needs working memory: Conv2D
 * (im2col), BatchNormalization, Normalization, Dot(normalize=True), and a
 * nested model. */
static ck_model *scratch_model(void)
{
    ck_tensor *x = NULL, *h = NULL, *a = NULL, *b = NULL, *o = NULL, *r = NULL, *r2 = NULL, *ix = NULL, *iy = NULL;
    ck_layer *conv, *bn, *norm, *flat, *d1, *d2, *dot, *rs, *inner_d;
    ck_model *inner = NULL, *m = NULL;
    OK(ck_input(&ix, &(ck_input_opts){.shape = SHAPE(4, 4)}));
    OK(ck_dense(&inner_d, &(ck_dense_opts){.units = 4, .activation = "tanh"}));
    OK(ck_layer_apply(inner_d, 1, &ix, &iy));
    OK(ck_model_new(&inner, 1, &ix, 1, &iy, "inner"));
    OK(ck_input(&x, &(ck_input_opts){.shape = SHAPE(6, 6, 2)}));
    OK(ck_conv2d(&conv, &(ck_conv2d_opts){.filters = 3, .kernel_size = {3}}));
    OK(ck_batch_normalization(&bn, NULL));
    OK(ck_normalization(&norm, &(ck_normalization_opts){.mean = (double[]){0.5}, .variance = (double[]){2.0},
                                                        .n_values = 1}));
    OK(ck_reshape(&flat, &(ck_reshape_opts){.target_shape = SHAPE(12, 4)}));
    OK(ck_dense(&d1, &(ck_dense_opts){.units = 4}));
    OK(ck_dense(&d2, &(ck_dense_opts){.units = 4}));
    OK(ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_one(1), .normalize = true}));
    OK(ck_reshape(&rs, &(ck_reshape_opts){.target_shape = SHAPE(4, 4)}));
    OK(ck_layer_apply(conv, 1, &x, &h));
    OK(ck_layer_apply(bn, 1, &h, &h));
    OK(ck_layer_apply(norm, 1, &h, &h));
    OK(ck_layer_apply(flat, 1, &h, &h));
    OK(ck_layer_apply(d1, 1, &h, &a));
    OK(ck_layer_apply(d2, 1, &h, &b));
    ck_tensor *ab[2] = {a, b};
    OK(ck_layer_apply(dot, 2, ab, &o));
    OK(ck_layer_apply(rs, 1, &o, &r));
    OK(ck_layer_apply(ck_model_layer(inner), 1, &r, &r2));
    OK(ck_model_new(&m, 1, &x, 1, &r2, "scratchy"));
    ck_layer *layers[] = {conv, bn, norm, flat, d1, d2, dot, rs, inner_d};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) ck_layer_free(layers[i]);
    ck_layer_free(ck_tensor_layer(x));
    ck_layer_free(ck_tensor_layer(ix));
    ck_model_free(inner);
    return m;
}

/* Embedding -> LSTM and Embedding -> Bidirectional(GRU), merged: each
 * predictor's plan has its own caches of the recurrent layers' input
 * projections (layers/rnn_input_cache.c), and a step's cell runs on the
 * threads of its product. */
static ck_model *text_model(void)
{
    ck_tensor *x = NULL, *e = NULL, *a = NULL, *b = NULL, *y = NULL;
    ck_layer *emb, *lstm, *gru, *bidi, *add;
    OK(ck_input(&x, &(ck_input_opts){.shape = SHAPE(20)}));
    OK(ck_embedding(&emb, &(ck_embedding_opts){.input_dim = 50, .output_dim = 8}));
    OK(ck_lstm(&lstm, &(ck_rnn_opts){.units = 16}));
    OK(ck_gru(&gru, &(ck_rnn_opts){.units = 8}));
    OK(ck_bidirectional(&bidi, gru, NULL));
    OK(ck_add(&add, NULL));
    OK(ck_layer_apply(emb, 1, &x, &e));
    OK(ck_layer_apply(lstm, 1, &e, &a));
    OK(ck_layer_apply(bidi, 1, &e, &b));
    ck_tensor *ab[2] = {a, b};
    OK(ck_layer_apply(add, 2, ab, &y));
    ck_model *m = NULL;
    OK(ck_model_new(&m, 1, &x, 1, &y, "text"));
    ck_layer *layers[] = {emb, lstm, gru, bidi, add};
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) ck_layer_free(layers[i]);
    ck_layer_free(ck_tensor_layer(x));
    return m;
}

typedef struct predict_job {
    ck_model *m;
    ck_tensor *const *x;
    const ck_tensor *want;
    int use_predictor;
    int ok, busy, other, wrong;
} predict_job;

static void *predict_thread(void *arg)
{
    predict_job *job = arg;
    ck_predictor *p = NULL;
    int n = ck_model_input_count(job->m);
    if (job->use_predictor && ck_predictor_new(&p, job->m) != CK_OK) {
        job->other++;
        return NULL;
    }
    for (int r = 0; r < ROUNDS * 4; r++) {
        ck_tensor *y = NULL;
        ck_status st = p ? ck_predictor_predict(p, n, job->x, &y, 2) : ck_model_predict(job->m, n, job->x, &y, 2);
        if (st == CK_OK) {
            job->ok++;
            if (max_abs_diff(y, job->want) != 0.0) job->wrong++;
        } else if (st == CK_RUNTIME_ERROR) {
            job->busy++;
        } else {
            job->other++;
        }
        ck_tensor_free(y);
    }
    ck_predictor_free(p);
    return NULL;
}

static void run_predictors(ck_model *m, int use_predictor)
{
    ck_tensor *x[8] = {NULL}, *want = NULL;
    int n = ck_model_input_count(m);
    OK(make_inputs(m, x));
    OK(ck_model_predict(m, n, x, &want, 2));
    pthread_t th[N_THREADS];
    predict_job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (predict_job){.m = m, .x = x, .want = want, .use_predictor = use_predictor};
        REQUIRE(pthread_create(&th[i], NULL, predict_thread, &jobs[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK(jobs[i].wrong == 0, "thread %d got different results", i);
        CHECK(jobs[i].other == 0, "thread %d got an unexpected error", i);
        if (use_predictor) CHECK(jobs[i].busy == 0, "thread %d: its own predictor was busy", i);
        ok += jobs[i].ok;
    }
    CHECK(ok > 0);
    free_all(x, n);
    ck_tensor_free(want);
}

static void predictors_share_one_model(void)
{
    ck_model *m = scratch_model();
    run_predictors(m, 1);
    ck_model_free(m);
    m = text_model();
    run_predictors(m, 1);
    ck_model_free(m);
    ck_model *s = NULL;
    char in[4096];
    OK(ck_model_load(path_in("CK_TEST_DATA", model_files[0], in, sizeof in), &s));
    run_predictors(s, 1);
    ck_model_free(s);
}

/* The losers of the race get CK_RUNTIME_ERROR, never wrong numbers. */
static void concurrent_model_predict_is_refused_not_corrupted(void)
{
    ck_model *m = scratch_model();
    run_predictors(m, 0);
    ck_model_free(m);
}

static void predictor_outlives_model_handle(void)
{
    ck_model *m = scratch_model();
    ck_predictor *p = NULL;
    OK(ck_predictor_new(&p, m));
    ck_tensor *x[1] = {NULL}, *y = NULL;
    OK(make_inputs(m, x));
    ck_model_free(m); /* the predictor keeps the model alive */
    CHECK(ck_predictor_predict(p, 1, x, &y, 0) == CK_OK, "%s", ck_last_error());
    ck_tensor_free(y);
    ck_tensor_free(x[0]);
    ck_predictor_free(p);
}

int main(void)
{
    load_and_save_in_parallel();
    random_generator_is_per_thread();
    predictors_share_one_model();
    concurrent_model_predict_is_refused_not_corrupted();
    predictor_outlives_model_handle();
    if (failures) fprintf(stderr, "test_threads: %d check(s) failed\n", failures);
    else printf("test_threads: all checks passed\n");
    return failures ? 1 : 0;
}
