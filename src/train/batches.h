/* Batch buffers for fit / evaluate (internal). */
#ifndef CK_TRAIN_BATCHES_H
#define CK_TRAIN_BATCHES_H

#include "train/trainer.h"

/* Where the rows of an epoch come from. */
typedef struct ck_batch_source {
    const ck_tensor *const *x;
    const ck_tensor *const *y;
    const ck_tensor *sample_weight;
    const double *class_weight;
    int n_class_weight;
    int64_t offset;             /* first row used (validation_split) */
} ck_batch_source;

/* Buffers of `capacity` rows, in the model's input dtypes and y's. */
typedef struct ck_batches {
    int n_x, n_y;
    int64_t capacity;
    ck_tensor *x[CK_MAX_LAYER_INPUTS];
    ck_tensor *y[CK_MAX_LAYER_INPUTS];
    ck_tensor *sw;              /* NULL without sample or class weights */
    int64_t *order;             /* the epoch's row order */
    int x_shapes_known;
} ck_batches;

/* Views of the first rows of the buffers (a shorter last batch). */
typedef struct ck_batch_view {
    ck_tensor xs[CK_MAX_LAYER_INPUTS], ys[CK_MAX_LAYER_INPUTS], sws;
    const ck_tensor *x[CK_MAX_LAYER_INPUTS];
    const ck_tensor *y[CK_MAX_LAYER_INPUTS];
    const ck_tensor *sw;
} ck_batch_view;

/* Checks counts, sample counts, input shapes against the model and target
 * shapes against the losses; *samples receives the sample count. */
ck_status ck_batches_check(ck_model *m, const ck_trainer *t, int n_x, const ck_tensor *const *x, int n_y,
                           const ck_tensor *const *y, const ck_tensor *sample_weight, int64_t *samples);

ck_status ck_batches_init(ck_batches *b, ck_model *m, int n_y, const ck_tensor *const *y, int64_t batch_size,
                          int64_t rows_total, int with_weights);
void ck_batches_free(ck_batches *b);

/* The row order of an epoch: 0..n-1, shuffled (Fisher-Yates) if asked. */
void ck_batches_order(ck_batches *b, int64_t n, int shuffle, ck_rng *rng);

/* Copies rows [first, first + rows) of the epoch's order into the buffers. */
ck_status ck_batches_fill(ck_batches *b, const ck_batch_source *src, int64_t first, int64_t rows);

void ck_batches_views(const ck_batches *b, int64_t rows, ck_batch_view *v);

#endif
