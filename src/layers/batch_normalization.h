/* BatchNormalization's layer struct, shared by its inference file
 * (batch_normalization.c: construction, build, call, configs) and its
 * training file (batch_normalization_train.c).  Internal. */
#ifndef CK_BATCH_NORMALIZATION_H
#define CK_BATCH_NORMALIZATION_H

#include "layers/affine_params.h"

typedef struct ck_bn_layer {
    ck_layer base;
    int naxes, axis_is_list;
    int axes[CK_MAX_RANK];          /* as given; after build non-negative, as Keras keeps them */
    double momentum, epsilon;
    int momentum_is_int, epsilon_is_int;
    int fused;                      /* -1 None, 0 False, 1 True */
    ck_affine_params affine;        /* center / scale, gamma / beta */
    ck_initializer *mean_init, *var_init;
    /* after build */
    ck_weight *gamma, *beta, *moving_mean, *moving_variance;
    int rank;
    int64_t axis_dims[CK_MAX_RANK]; /* dim of each normalised axis */
    int64_t pstride[CK_MAX_RANK];   /* coefficient stride per input dim (0 off the axes) */
    int64_t n_params;
    void *inv, *offset;             /* training's coefficients (n_params each,
                                       layer dtype): one block laid out as
                                       the call scratch, offset inside it */
} ck_bn_layer;

/* The training hooks (batch_normalization_train.c). */
size_t ck_bn_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_bn_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                           ck_tensor *const *out, void *saved);
ck_status ck_bn_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                         const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* Fused inference plans (model/fuse.c): 1 when the layer normalises only
 * the last axis of rank-`rank` inputs (floating), and the call's
 * coefficients y = x * inv + off (n_params each, layer dtype). */
int ck_bn_last_axis_only(const ck_layer *layer, int rank);
void ck_bn_coefficients(const ck_layer *layer, void *inv, void *off);

#endif
