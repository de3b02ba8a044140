/* The input cache of a recurrent layer fed by an Embedding (src/layers/
 * rnn_input_cache.c, planned by src/model/fuse.c): predictions through it
 * equal those without it (ck_fuse_override = 0), bit for bit where our
 * AVX-512 kernels run the products (the cache projects the new rows by the
 * product the call would run), for each recurrent class and the call's
 * variants (masks, reversed time, chunked steps, repeated tokens, more
 * rows than the vocabulary), and a weight written in place is seen on the
 * next call, also through Bidirectional.  LSTM and GRU (reset_after)
 * cells read the cached rows in
 * place, SimpleRNN and GRU (reset_after=False) get them copied.  The
 * Embedding -> LSTM / GRU / SimpleRNN goldens of tf.keras (test_masks,
 * test_real_predict) run through it too. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ckeras.h"
#include "layers/rnn_input_cache.h"
#include "model/model.h"
#include "ops/ops.h"
#include "support/support.h"

enum { LSTM, GRU, GRU_V1, SIMPLE, BIDI_LSTM, BIDI_GRU };

typedef struct variant {
    int cell;
    int64_t vocabulary, batch, time;
    bool mask_zero, go_backwards, return_sequences;
    int64_t used, offset; /* tokens in [offset, offset + used); used 0: the vocabulary */
} variant;

static ck_model *text_model(const variant *v)
{
    ck_layer *l[3] = {NULL};
    ck_rnn_opts o = {.units = 8, .go_backwards = v->go_backwards, .return_sequences = v->return_sequences};
    cr_assert_eq(ck_embedding(&l[0], &(ck_embedding_opts){.input_dim = v->vocabulary, .output_dim = 6,
                                                           .mask_zero = v->mask_zero}),
                 CK_OK);
    ck_status st = v->cell == LSTM || v->cell == BIDI_LSTM ? ck_lstm(&l[1], &o)
                   : v->cell == SIMPLE ? ck_simple_rnn(&l[1], &o)
                   : (o.no_reset_after = v->cell == GRU_V1, ck_gru(&l[1], &o));
    cr_assert_eq(st, CK_OK, "%s", ck_last_error());
    if (v->cell >= BIDI_LSTM) { /* the wrapper copies the layer */
        ck_layer *inner = l[1];
        cr_assert_eq(ck_bidirectional(&l[1], inner, &(ck_bidirectional_opts){0}), CK_OK, "%s", ck_last_error());
        ck_layer_free(inner);
    }
    cr_assert_eq(ck_dense(&l[2], &(ck_dense_opts){.units = 3}), CK_OK);
    ck_model *m = NULL;
    cr_assert_eq(ck_sequential(&m, 3, l, &(ck_shape){1, {v->time}}, "text"), CK_OK, "%s", ck_last_error());
    for (int i = 0; i < 3; i++) ck_layer_free(l[i]);
    return m;
}

/* Token ids from a fixed LCG (as floats: a Sequential's input is float32,
 * and Keras reads float indices), zeros among them when the vocabulary is
 * small, so masked steps and repeated rows come in every batch. */
static ck_tensor *tokens(const variant *v, unsigned seed)
{
    ck_tensor *x = NULL;
    cr_assert_eq(ck_tensor_new(&x, CK_FLOAT32, 2, (int64_t[]){v->batch, v->time}), CK_OK);
    for (int64_t i = 0; i < x->size; i++) {
        seed = seed * 1103515245u + 12345u;
        const unsigned used = (unsigned)(v->used ? v->used : v->vocabulary);
        ((float *)x->data)[i] = (float)(v->offset + (seed >> 16) % used);
    }
    return x;
}

/* Predicts through a fresh plan with fusion (and so the cache) on or off;
 * with keep_plan the last plan is reused (its cache full from before). */
static ck_tensor *predict(ck_model *m, int fuse, ck_tensor *x, int keep_plan)
{
    atomic_store(&ck_fuse_override, fuse);
    if (!keep_plan) ck_model_drop_plans(m);
    ck_tensor *y = NULL;
    cr_assert_eq(ck_model_predict(m, 1, &x, &y, 0), CK_OK, "%s", ck_last_error());
    atomic_store(&ck_fuse_override, -1);
    return y;
}

static void expect_same(const ck_tensor *cached, const ck_tensor *plain, const char *what)
{
    cr_assert_eq(cached->size, plain->size, "%s", what);
    const float *p = cached->data, *q = plain->data;
    const int exact = ck_cpu_has_avx512();
    for (int64_t i = 0; i < cached->size; i++) {
        int ok = exact ? memcmp(&p[i], &q[i], sizeof(float)) == 0 : fabsf(p[i] - q[i]) <= 1e-6f * fabsf(q[i]);
        cr_assert(ok, "%s: [%lld] cached %.9g, uncached %.9g", what, (long long)i, p[i], q[i]);
    }
}

/* The fused plan of the last predict has caches for the recurrent step
 * only: one, or a Bidirectional's two. */
static int has_cache(const ck_model *m)
{
    /* plans[1] serves a batch shorter than predict's batch_size (32) */
    const ck_plan *p = &m->predictor->plans[m->predictor->plans[1].valid ? 1 : 0];
    int n = 0, wanted = 0;
    for (int s = 0; p->step_cache && s < p->n_cache_steps; s++) {
        const char *cls = ck_layer_class_name(m->steps[s].node->layer);
        const int here = (p->step_cache[2 * s] != NULL) + (p->step_cache[2 * s + 1] != NULL);
        n += here;
        wanted |= here == (strcmp(cls, "Bidirectional") == 0 ? 2 : 1) && strcmp(cls, "Embedding") != 0 &&
                  strcmp(cls, "Dense") != 0;
    }
    return wanted && (n == 1 || n == 2);
}

static void check_variant(const variant *v, const char *what)
{
    ck_model *m = text_model(v);
    ck_tensor *x = tokens(v, 7u + (unsigned)v->cell), *x2 = tokens(v, 99u);
    ck_tensor *plain = predict(m, 0, x, 0), *plain2 = predict(m, 0, x2, 0);
    ck_tensor *first = predict(m, 1, x, 0);
    cr_expect(has_cache(m), "%s: no cache planned", what);
    ck_tensor *again = predict(m, 1, x, 1), *other = predict(m, 1, x2, 1);
    expect_same(first, plain, what);
    expect_same(again, plain, what);
    expect_same(other, plain2, what);
    ck_tensor_free(x); ck_tensor_free(x2);
    ck_tensor_free(plain); ck_tensor_free(plain2); ck_tensor_free(first); ck_tensor_free(again);
    ck_tensor_free(other);
    ck_model_free(m);
}

Test(rnn_input_cache, cached_predictions_equal_the_uncached)
{
    static const char *const names[] = {"LSTM", "GRU", "GRU reset_after=False", "SimpleRNN",
                                        "Bidirectional(LSTM)", "Bidirectional(GRU)"};
    for (int cell = LSTM; cell <= BIDI_GRU; cell++) {
        char what[96];
        /* whole calls, then steps projected a chunk at a time (batch 40,
         * G*units of 32 or 24 floats: 256 KiB chunks of 51 steps or more
         * out of 70), each with and without masks and reversed */
        const variant vs[] = {
            {cell, 11, 3, 9, false, false, false, 0, 0},
            {cell, 11, 3, 9, true, true, true, 0, 0},
            {cell, 5, 40, 70, false, false, true, 0, 0},
            {cell, 5, 40, 70, true, true, false, 0, 0},
            {cell, 1000, 40, 70, true, false, false, 0, 0},
        };
        for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
            snprintf(what, sizeof what, "%s, variant %zu", names[cell], k);
            check_variant(&vs[k], what);
        }
    }
}

Test(rnn_input_cache, a_cache_smaller_than_the_vocabulary_empties_or_steps_aside)
{
    /* a cache of 5 rows (6 features and 4 * 8 gate columns a row) for a
     * vocabulary of 50 */
    const size_t saved = ck_rnn_input_cache_max_bytes;
    ck_rnn_input_cache_max_bytes = 5 * (6 + 32) * sizeof(float);
    const variant vs[] = {
        {LSTM, 50, 3, 9, false, false, true, 4, 0},  /* 4 distinct rows a call: kept */
        {LSTM, 50, 3, 9, true, false, true, 4, 3},   /* then 4 others: emptied, refilled */
        {LSTM, 50, 3, 9, false, true, false, 0, 0},  /* up to 27 distinct: projected uncached */
        {GRU, 50, 40, 70, true, false, true, 0, 0},  /* the same a chunk at a time */
    };
    ck_model *m = text_model(&vs[0]);
    for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
        char what[64];
        snprintf(what, sizeof what, "small cache, variant %zu", k);
        if (k < 2) { /* one model and one plan for the first two */
            ck_tensor *x = tokens(&vs[k], 3u), *plain = predict(m, 0, x, 0);
            if (k == 0) ck_tensor_free(predict(m, 1, x, 0));
            ck_tensor *cached = predict(m, 1, x, 1);
            expect_same(cached, plain, what);
            ck_tensor_free(x); ck_tensor_free(plain); ck_tensor_free(cached);
        } else {
            check_variant(&vs[k], what);
        }
    }
    ck_model_free(m);
    ck_rnn_input_cache_max_bytes = saved;
}

static ck_tensor *sequence(const float *ids, int64_t n)
{
    ck_tensor *x = ck_test_f32(2, (int64_t[]){1, n}, ids);
    cr_assert_not_null(x);
    return x;
}

Test(rnn_input_cache, rows_of_a_call_that_did_not_fit_are_not_kept)
{
    const size_t saved = ck_rnn_input_cache_max_bytes;
    ck_rnn_input_cache_max_bytes = 5 * (6 + 32) * sizeof(float);
    const variant v = {LSTM, 50, 1, 16, false, false, true, 0, 0};
    ck_model *m = text_model(&v);
    const float a[16] = {0, 1, 2, 3, 3, 0, 1, 2, 0, 0, 1, 1, 2, 2, 3, 3},
                b[16] = {10, 11, 12, 13, 14, 15, 10, 11, 12, 13, 14, 15, 10, 11, 12, 13},
                c[16] = {10, 0, 10, 0, 0, 10, 10, 10, 0, 0, 0, 10, 0, 10, 0, 10};
    ck_tensor *xs[3] = {sequence(a, 16), sequence(b, 16), sequence(c, 16)};
    ck_tensor *plain[3], *cached[3];
    for (int k = 0; k < 3; k++) plain[k] = predict(m, 0, xs[k], 0);
    /* a's 4 rows fill the cache; b's sixth row does not fit even after
     * emptying it (row 10 came in first); c finds no trace of b */
    for (int k = 0; k < 3; k++) cached[k] = predict(m, 1, xs[k], k > 0);
    for (int k = 0; k < 3; k++) {
        expect_same(cached[k], plain[k], k == 0 ? "a" : k == 1 ? "b" : "c");
        ck_tensor_free(xs[k]); ck_tensor_free(plain[k]); ck_tensor_free(cached[k]);
    }
    ck_model_free(m);
    ck_rnn_input_cache_max_bytes = saved;
}

/* Writes w[i] += delta through the weight's own data (no set_weights). */
static void nudge(ck_layer *layer, int weight, int64_t i, float delta)
{
    ck_tensor *w = ck_weight_value(ck_layer_weight(layer, weight));
    ((float *)w->data)[i] += delta;
}

Test(rnn_input_cache, a_weight_written_in_place_is_seen)
{
    const variant v = {LSTM, 13, 4, 10, true, false, true, 0, 0};
    ck_model *m = text_model(&v);
    ck_layer *emb = ck_model_layer_at(m, 1), *rnn = ck_model_layer_at(m, 2); /* after the InputLayer */
    ck_tensor *x = tokens(&v, 5u);
    struct {
        ck_layer *layer;
        int weight;
        int64_t i;
        const char *what;
    } writes[] = {{rnn, 0, 5, "the kernel"}, {rnn, 2, 3, "the bias"}, {emb, 0, 4 * 6 + 2, "an embedding row"}};
    for (size_t k = 0; k < sizeof writes / sizeof writes[0]; k++) {
        ck_tensor *filled = predict(m, 1, x, 0); /* a fresh plan whose cache these weights fill */
        cr_assert(has_cache(m));
        nudge(writes[k].layer, writes[k].weight, writes[k].i, 0.25f);
        ck_tensor *cached = predict(m, 1, x, 1), *plain = predict(m, 0, x, 0);
        expect_same(cached, plain, writes[k].what);
        /* the write mattered: without it the outputs differ */
        nudge(writes[k].layer, writes[k].weight, writes[k].i, -0.25f);
        int moved = 0;
        for (int64_t i = 0; i < plain->size; i++) moved |= ((float *)plain->data)[i] != ((float *)filled->data)[i];
        cr_expect(moved, "%s: the write changed no output (a stale cache would pass)", writes[k].what);
        ck_tensor_free(filled); ck_tensor_free(cached); ck_tensor_free(plain);
    }
    ck_tensor_free(x);
    ck_model_free(m);
}

/* An allocator that refuses blocks above 256 KiB: the cache's stores of
 * a 5,000-word vocabulary (1.6 MB) are refused, the plan's buffers are not. */
static void *refuse_large(void *user, void *ptr, size_t size)
{
    (void)user;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return size > (256u << 10) ? NULL : realloc(ptr, size);
}

Test(rnn_input_cache, memory_refused_to_a_cache_leaves_the_plan_without_one)
{
    const variant v = {LSTM, 5000, 4, 10, false, false, true, 0, 0};
    ck_model *m = text_model(&v);
    ck_tensor *x = tokens(&v, 9u), *plain = predict(m, 0, x, 0);
    ck_alloc_fn fn;
    void *user;
    ck_get_allocator(&fn, &user);
    ck_set_allocator(refuse_large, NULL);
    ck_tensor *y = predict(m, 1, x, 0);
    ck_set_allocator(fn, user);
    cr_expect(!has_cache(m), "the cache was planned all the same");
    expect_same(y, plain, "a plan without its cache");
    ck_tensor *z = predict(m, 1, x, 0); /* with the memory: a cache again */
    cr_expect(has_cache(m));
    expect_same(z, plain, "a plan with its cache");
    ck_tensor_free(y); ck_tensor_free(z); ck_tensor_free(plain); ck_tensor_free(x);
    ck_model_free(m);
}
