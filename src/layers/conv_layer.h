/* The convolution layers of one shape (conv_layer*.c): Conv1D, Conv3D,
 * grouped Conv2D, Conv1D/2D/3DTranspose, DepthwiseConv1D/2D and
 * SeparableConv1D/2D share one struct, one set of hooks and the N-d
 * engine (conv_nd.c); a kind and a spatial rank tell them apart.  Plain
 * Conv2D with groups = 1 stays conv2d.c.  Internal. */
#ifndef CK_CONV_LAYER_H
#define CK_CONV_LAYER_H

#include "layers/conv_nd.h"
#include "layers/kernel_params.h"

typedef enum ck_conv_kind {
    CK_CONV_PLAIN = 0,  /* ConvND (groups allowed) */
    CK_CONV_TRANSPOSE,  /* ConvNDTranspose */
    CK_CONV_DEPTHWISE,  /* DepthwiseConvND */
    CK_CONV_SEPARABLE,  /* SeparableConvND */
} ck_conv_kind;

typedef enum ck_conv_padding { CK_PAD_VALID = 0, CK_PAD_SAME, CK_PAD_CAUSAL } ck_conv_padding;

/* The parsed arguments (from C options or a config). */
typedef struct ck_conv_args {
    int64_t filters, groups, depth_multiplier;
    int64_t kernel_size[3], strides[3], dilation[3];
    int has_output_padding;
    int64_t output_padding[3];
    ck_conv_padding padding;
    int channels_first, use_bias;
    ck_kernel_params params; /* activation, kernel_* (pointwise for nothing), bias_* */
    /* Depthwise and separable: depthwise_* and pointwise_* objects. */
    ck_initializer *dw_init, *pw_init;
    ck_regularizer *dw_reg, *pw_reg;
    ck_constraint *dw_con, *pw_con;
} ck_conv_args;

typedef struct ck_conv_layer {
    ck_layer base;
    ck_conv_kind kind;
    int rank;               /* spatial dims: 1, 2 or 3 */
    ck_conv_args a;
    int64_t in_channels;    /* known once built */
    ck_weight *kernel;      /* kernel, or depthwise_kernel */
    ck_weight *pointwise;   /* separable only */
    ck_weight *bias;
} ck_conv_layer;

/* The classes (conv_layer.c). */
extern const ck_layer_class ck_conv1d_class;
extern const ck_layer_class ck_conv3d_class;
extern const ck_layer_class ck_conv2d_grouped_class; /* "Conv2D" with groups > 1 */
extern const ck_layer_class ck_conv1d_transpose_class;
extern const ck_layer_class ck_conv2d_transpose_class;
extern const ck_layer_class ck_conv3d_transpose_class;
extern const ck_layer_class ck_depthwise_conv1d_class;
extern const ck_layer_class ck_depthwise_conv2d_class;
extern const ck_layer_class ck_separable_conv1d_class;
extern const ck_layer_class ck_separable_conv2d_class;

/* Keras 1's class names, read as the modern classes (conv_keras1.c). */
extern const ck_layer_class ck_convolution1d_legacy_class;
extern const ck_layer_class ck_atrous_convolution1d_legacy_class;
extern const ck_layer_class ck_atrous_convolution2d_legacy_class;
extern const ck_layer_class ck_deconvolution2d_legacy_class;
extern const ck_layer_class ck_separable_convolution2d_legacy_class;
extern const ck_layer_class ck_convolution3d_legacy_class;

/* A Keras 1 file's kernel for `layer` in the tf layout (Keras 2's
 * preprocess_weights_for_loading for Keras 1 files): Convolution1D's
 * (k, 1, in, filters) or Theano-ordered (filters, in, k, 1) becomes
 * (k, in, filters); a channels_first ("th") Conv2D / Conv3D kernel
 * (filters, stack, spatial...) is transposed to (spatial..., stack,
 * filters); Deconvolution2D's to (rows, cols, filters, stack).  When the
 * file's backend was Theano (true convolution), the spatial axes are also
 * reversed (conv_utils.convert_kernel).  Replaces *kernel (freeing it)
 * when it changes; other classes are left alone. */
ck_status ck_conv_keras1_kernel(const ck_layer *layer, int theano, ck_tensor **kernel);

/* Axis of the channels and of the first spatial dim for an input of rank
 * r (the dims before are batch dims). */
static inline int ck_conv_channel_axis(const ck_conv_layer *c, int r) { return c->a.channels_first ? r - c->rank - 1 : r - 1; }
static inline int ck_conv_first_spatial(const ck_conv_layer *c, int r) { return c->a.channels_first ? r - c->rank : r - c->rank - 1; }

/* The geometry of the layer's (first) convolution for these input and
 * output shapes: the conv itself (PLAIN), the depthwise step (DEPTHWISE,
 * SEPARABLE), or the convolution whose input gradient the layer computes
 * (TRANSPOSE: conv input = the layer output). */
ck_convnd_geom ck_conv_layer_geom(const ck_conv_layer *c, const ck_shape *in, const ck_shape *out, ck_dtype dt);

/* SEPARABLE: the 1x1 pointwise step from the depthwise output (batch,
 * out..., c * depth_multiplier). */
ck_convnd_geom ck_conv_layer_pointwise_geom(const ck_conv_layer *c, const ck_convnd_geom *dw);

/* Bytes of the layer's im2col scratch (the widest of its steps) and, for
 * SEPARABLE, of the depthwise output. */
size_t ck_conv_layer_cols_bytes(const ck_conv_layer *c, const ck_convnd_geom *g);
size_t ck_conv_layer_mid_bytes(const ck_convnd_geom *g);

/* conv + bias into out (before the activation); `cols` and `mid` as sized
 * above. */
void ck_conv_layer_preactivation(const ck_conv_layer *c, const ck_convnd_geom *g, ck_dtype dt, const void *x,
                                 void *out, char *cols, char *mid);

/* Training hooks (conv_layer_grad.c). */
size_t ck_conv_layer_saved_bytes(const ck_layer *layer, int n, const ck_shape *in, const ck_shape *out);
ck_status ck_conv_layer_train_call(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                   ck_tensor *const *out, void *saved);
ck_status ck_conv_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                 const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* Configs and arguments (conv_layer_config.c). */
ck_status ck_conv_layer_get_config(const ck_layer *layer, json_t *config);
ck_status ck_conv_layer_from_config(const ck_layer_class *cls, const json_t *config, ck_layer **out);
/* Checks the parsed arguments for this class and hands them to the layer
 * (which owns them from then on, also on failure). */
ck_status ck_conv_layer_finish(ck_layer *layer, ck_conv_args *a);
void ck_conv_args_free(ck_conv_args *a);
/* Conv2D with groups > 1, from Conv2D's options (conv2d.c delegates). */
ck_status ck_conv2d_grouped_from_opts(ck_layer **out, const ck_conv2d_opts *o);
/* Kind and rank of one of the classes above. */
void ck_conv_class_info(const ck_layer_class *cls, ck_conv_kind *kind, int *rank);

#endif
