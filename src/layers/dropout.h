/* What Dropout and AlphaDropout share: both are the identity at inference;
 * in training they draw a keep mask of the noise shape from the trainer's
 * random stream (broadcast over the input) and keep it for backward.
 * Internal. */
#ifndef CK_DROPOUT_H
#define CK_DROPOUT_H

#include "layers/layer_args.h"

typedef struct ck_dropout_layer {
    ck_layer base;
    double rate;
    int rate_is_int;        /* written back as Python wrote it */
    int has_noise_shape;
    ck_shape noise_shape;   /* -1 = None */
    int has_seed;
    int64_t seed;
} ck_dropout_layer;

/* Creates a Dropout-like layer of class `cls` from C options (rate checked
 * when check_rate) or from a config (keys rate / Keras 1 "p", noise_shape,
 * seed). */
ck_status ck_dropout_new(const ck_layer_class *cls, const ck_dropout_opts *o, int check_rate, ck_layer **out);
ck_status ck_dropout_from_config_as(const ck_layer_class *cls, const json_t *c, int check_rate, ck_layer **out);

/* The mask's shape for an input shape: noise_shape with None (-1) entries
 * taking the input dim, or the input shape when no noise_shape is given.
 * Errors (CK_VALUE_ERROR) when it does not broadcast to the input: another
 * rank, or a dim that is neither 1 nor the input's. */
ck_status ck_dropout_noise_shape(const ck_dropout_layer *d, const ck_shape *in, ck_shape *noise);

/* Bytes of the saved mask: one layer-dtype value per noise element. */
size_t ck_dropout_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);

/* The mask of a call on x: *count noise elements, `nstride` the mask's
 * stride per input dim (0 where the mask has 1 and the input more), *same
 * set when the mask has x's own size (no broadcasting).  Errors as
 * ck_dropout_noise_shape. */
ck_status ck_dropout_mask_layout(const ck_dropout_layer *d, const ck_tensor *x, int64_t *count,
                                 int64_t nstride[CK_MAX_RANK], int *same);

/* The shared hooks: output shape = input shape, call = copy. */
ck_status ck_dropout_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out);
ck_status ck_dropout_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs);

/* Runs BODY for every element i of x with p = the mask index of i (an
 * odometer over x's dims; a mask of x's own shape takes p = i). */
#define CK_DROPOUT_EACH(x, nstride, same_shape, BODY)                      \
    do {                                                                   \
        if (same_shape) {                                                  \
            for (int64_t i = 0; i < (x)->size; i++) { const int64_t p = i; BODY; } \
        } else {                                                           \
            int64_t idx_[CK_MAX_RANK] = {0}, p = 0;                        \
            for (int64_t i = 0; i < (x)->size; i++) {                      \
                BODY;                                                      \
                for (int d_ = (x)->rank - 1; d_ >= 0; d_--) {              \
                    idx_[d_]++;                                            \
                    p += (nstride)[d_];                                    \
                    if (idx_[d_] < (x)->shape[d_]) break;                  \
                    p -= (nstride)[d_] * (x)->shape[d_];                   \
                    idx_[d_] = 0;                                          \
                }                                                          \
            }                                                              \
        }                                                                  \
    } while (0)

#endif
