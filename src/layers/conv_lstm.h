/* What the ConvLSTM forward (conv_lstm.c), its step (conv_lstm_step.c) and
 * its backward through time (conv_lstm_grad.c) share: the layer struct,
 * the geometry of the two convolutions (run by the N-d engine conv_nd.c)
 * and one step of the cell.  Internal. */
#ifndef CK_CONV_LSTM_H
#define CK_CONV_LSTM_H

#include "layers/conv_nd.h"
#include "layers/rnn_common.h"

typedef struct conv_lstm_layer {
    ck_layer base;
    int nd;            /* spatial dims: 1, 2 or 3 */
    int channels_first;
    int64_t filters;
    int64_t ksize[3], strides[3], dilation[3]; /* unused dims are 1 */
    int same;
    bool use_bias, unit_forget_bias, return_sequences, return_state, go_backwards, time_major, stateful;
    double dropout, recurrent_dropout;
    ck_activation *activation, *recurrent_activation;
    ck_initializer *kernel_init, *recurrent_init, *bias_init;
    ck_regularizer *kernel_reg, *recurrent_reg, *bias_reg;
    ck_constraint *kernel_con, *recurrent_con, *bias_con;
    ck_weight *kernel, *recurrent_kernel, *bias;
    void *state;        /* stateful: h then c of the last call (one state
                           block each), allocated by build */
    int64_t state_batch, state_elems;
} conv_lstm_layer;

/* The convolutions of one call, per batch row (the engine's batch is 1:
 * x_t is a strided view of the sequence).  x / h: the input and the
 * recurrent convolution; xd / hd: the same reading the four gates' masked
 * copies of their input stacked along the channels, as a grouped
 * convolution with 4 groups (the kernels' (k..., in, 4F) layout is
 * exactly a 4-group kernel), for dropout / recurrent_dropout in training.
 *
 * The gate arithmetic is elementwise over `rows` rows of `cols` elements
 * per state block (and 4 * cols per z block, gate k at k * cols):
 * channels_last rows = batch * positions, cols = F; channels_first
 * rows = batch, cols = F * positions. */
typedef struct conv_lstm_geom {
    ck_convnd_geom x, h, xd, hd;
    int64_t batch, T;
    int64_t x_elems;     /* one x_t of one batch row */
    int64_t per_b, S;    /* state elements per batch row, and in all */
    int64_t rows, cols;
    int64_t seg;         /* the activations' segments (what a softmax
                            normalizes): Keras' last axis, the channels in
                            channels_last, the last spatial dim in
                            channels_first; a state block is rows * cols /
                            seg of them */
    int64_t stack_elems; /* a stacked (4 masked copies) x_t or h of one row */
    int64_t cols_elems;  /* the engine's im2col scratch */
} conv_lstm_geom;

/* The geometry for an input shape (already checked by the output shape). */
void ck_conv_lstm_geometry(const conv_lstm_layer *c, const ck_shape *in, conv_lstm_geom *g);

/* Elements of the step's work area (stack + im2col). */
int64_t ck_conv_lstm_work_elems(const conv_lstm_geom *g);

/* One step for every batch row: x_t of row b at x + b * x_stride elements;
 * xmask / hmask (NULL: none) hold per batch row four masks (one per gate)
 * of x_elems / per_b elements; h_prev / c_prev, z (raw pre-activations),
 * gates (the activated z; may be z itself), c, actc (act(c)) and h are
 * contiguous state blocks (z and gates four).  h may alias h_prev and c
 * c_prev. */
ck_status ck_conv_lstm_step(const conv_lstm_layer *c, const conv_lstm_geom *g, const void *x, int64_t x_stride,
                            const void *xmask, const void *hmask, const void *h_prev, const void *c_prev, void *z,
                            void *gates, void *cs, void *actc, void *h, void *work);

/* stack = the four masked copies of src (n = plane * ch elements of one
 * batch row) stacked along the channels, as the grouped geometries read
 * them; unstack ADDS the four masked gradients of a stacked block to dsrc. */
void ck_conv_lstm_stack(ck_dtype dt, int channels_first, int64_t plane, int64_t ch, const void *src,
                        const void *mask, void *stack);
void ck_conv_lstm_unstack(ck_dtype dt, int channels_first, int64_t plane, int64_t ch, const void *dstack,
                          const void *mask, void *dsrc);

/* Gate k of a z-like block (rows of 4 * C) to a contiguous (rows, C)
 * block, or back (back != 0). */
void ck_conv_lstm_gate_copy(ck_dtype dt, int64_t rows, int64_t C, void *block, int k, void *contig, int back);

/* Training hooks (conv_lstm_grad.c). */
size_t ck_conv_lstm_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_conv_lstm_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *out, void *saved);
ck_status ck_conv_lstm_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* Stateful ConvLSTM (conv_lstm.c): the states before the first step (the
 * kept ones, or zeros) into h0 / c0, and the last ones kept. */
ck_status ck_conv_lstm_load_states(const conv_lstm_layer *c, const conv_lstm_geom *g, void *h0, void *c0);
void ck_conv_lstm_keep_states(conv_lstm_layer *c, const conv_lstm_geom *g, const void *h, const void *cs);

/* return_state: the last h and c into out[1] / out[2] (when the layer
 * returns its states). */
void ck_conv_lstm_put_states(const conv_lstm_layer *c, const conv_lstm_geom *g, ck_tensor *const *out,
                             const void *h, const void *cs);

/* Masks (conv_lstm_mask.c).  mask_inner checks a mask against the
 * geometry and the shape of one step's output `step` (batch, out...) and
 * gives how many consecutive state elements share one mask value;
 * mask_select, after the step at time t, puts back h_old / c_old where
 * the mask is 0 and copies h into out_prev (the output) where it is 1. */
ck_status ck_conv_lstm_mask_inner(const conv_lstm_layer *c, const conv_lstm_geom *g, const ck_shape *step,
                                  const ck_tensor *mask, int64_t *inner);
void ck_conv_lstm_mask_select(ck_dtype dt, const conv_lstm_geom *g, const ck_tensor *mask, int64_t t, int64_t inner,
                              void *h, void *cs, const void *h_old, const void *c_old, void *out_prev);

/* For ck_layer_reset_states (rnn_common.c): whether the layer is a
 * ConvLSTM, whether it is a stateful one, and the reset itself. */
int ck_conv_lstm_is(const ck_layer *layer);
int ck_conv_lstm_is_stateful(const ck_layer *layer);
ck_status ck_conv_lstm_reset_states(ck_layer *layer);

#endif
