/* keras.layers.Attention and AdditiveAttention (tf.keras 2.15's dense
 * attention layers): the struct shared by their config side
 * (dense_attention.c) and arithmetic (dense_attention_run.c).  Internal. */
#ifndef CK_DENSE_ATTENTION_H
#define CK_DENSE_ATTENTION_H

#include "layers/layer_args.h"

typedef enum ck_da_score { CK_DA_DOT = 0, CK_DA_CONCAT, CK_DA_ADDITIVE } ck_da_score;

typedef struct ck_da_layer {
    ck_layer base;
    ck_da_score score;
    int use_scale;
    double dropout;
    int dropout_is_int;
    int causal;             /* the use_causal_mask call argument */
    int config_causal;      /* the deprecated `causal` of older configs */
    /* The call's `mask` argument ([query_mask, value_mask(, key_mask)]:
     * tensors the loader appends after [query, value(, key)]): whether it
     * was given and which entries it holds.  Given, it replaces the Keras
     * masks of the inputs (as in Keras), and the output mask is its query
     * mask. */
    int mask_arg, mask_given[3];
    /* return_attention_scores (a call argument in tf.keras 2.15): a second
     * output, the attention weights (batch..., Tq, Tv). */
    int return_scores;
    int has_seed;
    int64_t seed;
    ck_weight *scale, *concat_weight;
} ck_da_layer;

/* Sizes of a call: batch items B (all leading dims), Tq query rows, Tv
 * value / key rows, D query / key features, Dv value features. */
typedef struct ck_da_dims {
    int64_t B, Tq, Tv, D, Dv;
} ck_da_dims;

/* Where a call's tensors sit: n_pos positional inputs (2 or 3), then the
 * explicit masks (qm / vm: their input index, -1 for none). */
typedef struct ck_da_inputs {
    int n_pos, qm, vm, extra;
} ck_da_inputs;

ck_status ck_da_input_layout(const ck_da_layer *l, int n, ck_da_inputs *io);

int ck_da_output_count(const ck_layer *layer);
ck_status ck_da_dims_of(const ck_da_layer *l, int n, const ck_shape *in, ck_da_dims *d);

size_t ck_da_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_da_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                             void *scratch);
ck_status ck_da_call_masks(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                           ck_tensor *const *out, void *scratch);
size_t ck_da_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_da_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                           ck_tensor *const *out, void *saved);
ck_status ck_da_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                         const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

#endif
