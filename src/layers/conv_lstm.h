/* What the ConvLSTM forward (conv_lstm.c) and its backward through time
 * (conv_lstm_grad.c) share: the layer struct, the geometry of the two
 * convolutions and one step of the cell.  Internal. */
#ifndef CK_CONV_LSTM_H
#define CK_CONV_LSTM_H

#include "layers/rnn_common.h"

typedef struct conv_lstm_layer {
    ck_layer base;
    int nd;            /* spatial dims: 1, 2 or 3 */
    int64_t filters;
    int64_t ksize[3], strides[3], dilation[3]; /* unused dims are 1 */
    int same;
    bool use_bias, unit_forget_bias, return_sequences, go_backwards, time_major;
    double dropout, recurrent_dropout;
    ck_activation *activation, *recurrent_activation;
    ck_initializer *kernel_init, *recurrent_init, *bias_init;
    ck_regularizer *kernel_reg, *recurrent_reg, *bias_reg;
    ck_constraint *kernel_con, *recurrent_con, *bias_con;
    ck_weight *kernel, *recurrent_kernel, *bias;
} conv_lstm_layer;

/* Geometry of one convolution over three spatial dims (unused ones 1). */
typedef struct conv_geom {
    int64_t batch, in[3], cin, out[3], cout, k[3], stride[3], dil[3], pad[3];
} conv_geom;

/* out (batch, out..., cout) += conv(in (batch, in..., cin), w (k..., cin,
 * cout)), zero padding. */
void ck_conv_lstm_conv_add(ck_dtype dt, const conv_geom *g, const void *in, const void *w, void *out);

/* The input (gx) and recurrent (gh) convolutions for an input shape. */
void ck_conv_lstm_geometries(const conv_lstm_layer *c, const ck_shape *in, conv_geom *gx, conv_geom *gh);

/* Elements of one (batch, out..., F) state block. */
int64_t ck_conv_lstm_state_elems(const conv_geom *gx, int64_t filters);

/* One step for every batch row: x_t of row b at x + b * x_stride elements;
 * h_prev / c_prev, z (raw pre-activations, 4F per position), gates (the
 * activated z; may be z itself), c, actc (act(c)) and h are contiguous
 * (batch, out..., F or 4F) blocks.  h may alias h_prev and c c_prev. */
ck_status ck_conv_lstm_step(const conv_lstm_layer *c, const conv_geom *gx, const conv_geom *gh, const void *x,
                            int64_t x_stride, const void *h_prev, const void *c_prev, void *z, void *gates, void *cs,
                            void *actc, void *h);

/* Training hooks (conv_lstm_grad.c). */
size_t ck_conv_lstm_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_conv_lstm_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                  ck_tensor *const *out, void *saved);
ck_status ck_conv_lstm_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

#endif
