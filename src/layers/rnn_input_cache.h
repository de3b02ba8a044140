/* Projected inputs of a recurrent layer remembered by their values: the
 * input projection x . kernel + bias of a float32 SimpleRNN / LSTM / GRU
 * fed by an Embedding, in a model's inference plan (model/fuse.c).
 *
 * An Embedding emits one of its vocabulary's rows per token, so the
 * recurrent layer projects the same few rows again and again: half of an
 * Embedding -> LSTM(128) text model's arithmetic.  The cache keeps each
 * distinct input row (its bits, the key) with its projection, computed
 * once by the same product the layer would run, so a prediction gives the
 * numbers of the uncached call.  It is never stale: a row is found only by
 * its own bits (an embedding written since is a new key), and each call
 * first compares the kernel and bias with the copies the cache was filled
 * under, emptying it when they differ (set_weights, training, a caller
 * writing a weight in place).  A plan owns its caches, so predictors never
 * share one.  Allocates at creation only; memory is touched as rows come
 * (the key and value stores fill from the front). */
#ifndef CK_RNN_INPUT_CACHE_H
#define CK_RNN_INPUT_CACHE_H

#include "ckeras.h"

typedef struct ck_rnn_input_cache ck_rnn_input_cache;

/* Bytes of keys and values one cache may hold (at most `vocabulary` rows
 * are ever distinct): 64 MiB, touched only as far as rows come.  A
 * variable so that tests can make a cache smaller than a vocabulary. */
extern size_t ck_rnn_input_cache_max_bytes;

/* The largest kernel a cache copies (each call compares the two). */
#define CK_RNN_INPUT_CACHE_MAX_KERNEL_BYTES ((size_t)16 << 20)

/* A cache of rows of `features` floats projected to `columns` (G*units),
 * for at most `vocabulary` distinct rows (fewer if the bytes cap binds);
 * *out NULL and CK_OK when no useful cache fits (fewer than 2 rows, or a
 * kernel above CK_RNN_INPUT_CACHE_MAX_KERNEL_BYTES) or its memory is
 * refused: the plan then runs without one, as the cache only saves time. */
ck_status ck_rnn_input_cache_new(ck_rnn_input_cache **out, int64_t features, int64_t columns, int64_t vocabulary);
void ck_rnn_input_cache_free(ck_rnn_input_cache *c);

/* dst (rows, columns) = src (rows, features) . kernel + bias (bias may be
 * NULL; features >= 1): a float32 recurrent layer's input projection, the
 * one function both the layer's own call (rnn_common.c) and the cache's
 * new rows use, so that the two give the same bits. */
void ck_rnn_project_f32(int64_t rows, int64_t features, int64_t columns, const float *src, const float *kernel,
                        const float *bias, float *dst);

/* 1 when the cache was made for rows of `features` projected to `columns`. */
int ck_rnn_input_cache_fits(const ck_rnn_input_cache *c, int64_t features, int64_t columns);

/* Whether a call of `rows` input rows gains from the cache: each call
 * compares the kernel with the cache's copy, which reads twice the bytes
 * the product itself reads, so a few rows (a step at a time) are cheaper
 * projected directly. */
#define CK_RNN_INPUT_CACHE_MIN_ROWS 16
static inline int ck_rnn_input_cache_worth(int64_t rows) { return rows >= CK_RNN_INPUT_CACHE_MIN_ROWS; }

/* Once per call, before any rows: empties the cache if `kernel`
 * (features, columns) or `bias` (columns, or NULL) differ from those of
 * its rows. */
void ck_rnn_input_cache_check(ck_rnn_input_cache *c, const float *kernel, const float *bias);

/* XP rows [0, rows) (row i at xp + i * columns) = source row . kernel +
 * bias, each source row (at x + src_row(ctx, i) * features; src_row NULL:
 * row i) found in the cache or projected with the other new ones in one
 * product.  A full cache is emptied and the call's rows tried again;
 * returns 0, with the cache empty and xp's rows to be written, when they
 * still do not fit (the caller projects them itself). */
typedef int64_t (*ck_rnn_src_row)(const void *ctx, int64_t i);
int ck_rnn_input_cache_project(ck_rnn_input_cache *c, int64_t rows, const float *x, ck_rnn_src_row src_row,
                               const void *ctx, const float *kernel, const float *bias, float *xp);

/* The same leaving the rows where they are: XP row i's first 4 bytes get
 * its entry's index (uint32), whose projection is at ck_rnn_input_cache_row
 * until the cache's next call (a cell that reads rows by pointer saves the
 * copy: an eighth of an LSTM(128) step at batch 32). */
int ck_rnn_input_cache_index(ck_rnn_input_cache *c, int64_t rows, const float *x, ck_rnn_src_row src_row,
                             const void *ctx, const float *kernel, const float *bias, float *xp);
const float *ck_rnn_input_cache_row(const ck_rnn_input_cache *c, uint32_t entry);

#endif
