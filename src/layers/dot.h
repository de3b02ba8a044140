/* keras.layers.Dot's layer struct, shared by dot.c (config, forward) and
 * dot_grad.c (training).  Internal. */
#ifndef CK_DOT_H
#define CK_DOT_H

#include "layers/layer.h"

typedef struct ck_dot_layer {
    ck_layer base;
    ck_axes axes;   /* count 1: an int, count 2: a pair, as given */
    int normalize;
} ck_dot_layer;

/* The batch_dot axes of a call on inputs of ranks xr and yr. */
ck_axes ck_dot_call_axes(const ck_dot_layer *d, int xr, int yr);

/* Training hooks (dot_grad.c). */
size_t ck_dot_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_dot_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                            ck_tensor *const *out, void *saved);
ck_status ck_dot_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                          const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

#endif
