/* keras.layers.MultiHeadAttention: the layer struct shared by its config
 * side (multi_head_attention.c) and its arithmetic
 * (multi_head_attention_run.c).  Internal. */
#ifndef CK_MULTI_HEAD_ATTENTION_H
#define CK_MULTI_HEAD_ATTENTION_H

#include "layers/layer_args.h"

typedef struct ck_mha_layer {
    ck_layer base;
    int64_t num_heads, key_dim, value_dim;
    int value_dim_given;
    double dropout;
    int dropout_is_int;
    int use_bias;
    int64_t out_dim;           /* output_shape; 0: the query's last dim */
    int output_shape_form;     /* 0 None, 1 an int, 2 a one-element list */
    int n_attention_axes;      /* -1: None */
    int attention_axes[CK_MAX_RANK];
    ck_initializer *kernel_init, *bias_init;
    ck_regularizer *kernel_reg, *bias_reg;
    ck_constraint *kernel_con, *bias_con;
    /* What the last functional node's kwargs asked for (node_kwargs) or
     * ck_layer_set_use_causal_mask: whether the inputs after [query, value]
     * are a key and / or an attention mask, and the causal mask. */
    int kw_seen, kw_key, kw_mask;
    int causal;
    int return_scores;         /* return_attention_scores: P is output 1 */
    /* after build */
    int has_shapes;
    ck_shape query_shape, value_shape, key_shape;
    int64_t dq, dv, dk, od;    /* last dims of query, value, key; output */
    ck_weight *wq, *bq, *wk, *bk, *wv, *bv, *wo, *bo;
} ck_mha_layer;

/* Where each tensor sits among a call's inputs: [query, value(, key)(,
 * mask)]; -1 for key means "the value", -1 for mask "none". */
typedef struct ck_mha_inputs {
    int key, mask;
} ck_mha_inputs;

ck_status ck_mha_input_layout(const ck_mha_layer *l, int n, ck_mha_inputs *io);

/* The sizes of one call: batch B; heads H, per-head K and V; the
 * positional axes (between the batch and the features) split into the
 * attention axes (consecutive, flattened: T query and S key positions) and
 * the others, which act as batch dims: Outer positions before the
 * attention axes, Inner after them (1 and 1 for the default axes).  P and
 * Pk are all the positions of the query and of the key. */
typedef struct ck_mha_dims {
    int64_t B, T, S, H, K, V, Dq, Dk, Dv, O;
    int64_t Outer, Inner, P, Pk;
    int a0, na; /* first attention axis of the query (1-based) and how many */
} ck_mha_dims;

/* The attention axes of a call on a query of this rank as the first axis
 * and the count (tf.keras' attention_axes index the projected
 * (batch, positions..., heads, dim) tensor; negative ones count from its
 * end); CK_NOT_IMPLEMENTED unless they are consecutive positional axes in
 * ascending order. */
ck_status ck_mha_axes_of(const ck_mha_layer *l, int rank, int *a0, int *na);

/* Checks the input shapes of a call against the built layer and fills
 * the sizes (CK_VALUE_ERROR naming the layer and shapes). */
int ck_mha_output_count(const ck_layer *layer);
ck_status ck_mha_dims_of(const ck_mha_layer *l, int n, const ck_shape *in, ck_mha_dims *d);

/* The class hooks of the arithmetic. */
size_t ck_mha_call_scratch_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_mha_call_scratch(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *out,
                              void *scratch);
ck_status ck_mha_call_masks(ck_layer *layer, int n, const ck_tensor *const *in, const ck_tensor *const *masks,
                            ck_tensor *const *out, void *scratch);
size_t ck_mha_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_mha_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved);
ck_status ck_mha_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

#endif
