/* What the layer wrappers (Bidirectional, TimeDistributed, RNN over
 * cells) share: borrowed tensor views of planned blocks, the byte sizes
 * of those blocks, calls of an inner layer on views, and the renaming of
 * an inner layer's weights to the names tf.keras gives them.  The wrappers
 * live on the model floor because they make their inner layers through
 * the registry (ck_layer_from_json).  Internal. */
#ifndef CK_WRAPPER_UTIL_H
#define CK_WRAPPER_UTIL_H

#include "layers/layer.h"
#include "layers/layer_args.h"
#include "model/model.h"

/* A borrowed view of `data` with shape `s` (no allocation). */
ck_tensor ck_wrap_view(ck_dtype dt, const ck_shape *s, void *data);

/* Bytes of a block of shape `s`, rounded up to 64; SIZE_MAX when a dim is
 * unknown or the size overflows. */
size_t ck_wrap_block_bytes(ck_dtype dt, const ck_shape *s);

/* Adds `b` to *total, keeping SIZE_MAX sticky. */
void ck_wrap_add_bytes(size_t *total, size_t b);

/* Renames each weight of `inner` (and of its sublayers) to
 * "<prefix>/<rest>", where rest is the weight's name without its first
 * segment when `drop_first` (tf.keras' TimeDistributed: "dense/kernel:0"
 * becomes "time_distributed/kernel:0"), or the whole name.  Weights that
 * already start with "<prefix>/" are left alone. */
ck_status ck_wrap_rename_weights(ck_layer *inner, const char *prefix, int drop_first);

/* Replaces layer->name with `prefix` + the current name. */
ck_status ck_wrap_prefix_name(ck_layer *layer, const char *prefix);

/* An inner layer's class hooks on views: the planned inference call with
 * `scratch` (ck_layer_call_scratch_bytes bytes), the training call and its
 * backward.  `din` may be NULL (no input gradient wanted). */
ck_status ck_wrap_call(ck_layer *inner, ck_tensor *in, ck_tensor *out, void *scratch);
ck_status ck_wrap_train_call(ck_layer *inner, const ck_train_ctx *ctx, ck_tensor *in, ck_tensor *out, void *saved);
ck_status ck_wrap_backward(ck_layer *inner, const ck_train_ctx *ctx, ck_tensor *in, ck_tensor *out,
                           ck_tensor *dout, void *saved, ck_tensor *din);

/* The {"class_name", "config"} of a wrapper config's `key` ("layer",
 * "backward_layer") made into a layer; CK_VALUE_ERROR naming `cls` when
 * it is missing. */
ck_status ck_wrap_inner_from_config(const char *cls, const json_t *config, const char *key, ck_layer **out);

/* The .keras group of weight i of the sublayer `sub` below `prefix`
 * ("forward_layer", "layer"): the sublayer's own archive_var or
 * archive_vars_path appended; returns the index in that group's vars, or
 * -1 with an error recorded. */
int ck_wrap_archive_var(const ck_layer *sub, int i, const char *prefix, char *group, size_t n);

/* As ck_wrap_archive_var for weight i of a nested model `m` (in
 * ck_layer_weight order: trainable first) below `prefix` ("layer"):
 * prefix + "/layers/<layer>" + that layer's own groups, recursively for
 * models in models.  tf.keras 2.15 and Keras 3 both write a wrapped
 * model's weights so. */
int ck_wrap_model_archive_var(const ck_model *m, int i, const char *prefix, char *group, size_t n);

/* Sets zero_output_for_mask in a recurrent layer's config wrapper
 * {"class_name", "config"} (removed when false: tf.keras' RNN.get_config
 * writes it only when true). */
ck_status ck_wrap_set_zero_output_for_mask(json_t *wrapper, int value);

/* Weights of a file in another layout than the layer's (Keras 1 LSTM /
 * GRU gates, CuDNNLSTM / CuDNNGRU), converted as Keras' legacy loader does
 * (legacy_weights.c): *out receives *n_out new tensors (free with
 * ck_tensors_free), or NULL and 0 when the values need no conversion. */
ck_status ck_convert_file_weights(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor ***out, int *n_out);

/* The wrapper classes, for the registry. */
extern const ck_layer_class ck_bidirectional_class;
extern const ck_layer_class ck_time_distributed_class;
extern const ck_layer_class ck_rnn_cells_class; /* "RNN" over cells */
extern const ck_layer_class ck_cudnn_lstm_class;
extern const ck_layer_class ck_cudnn_gru_class;
/* ConvLSTM1D / 2D / 3D (layers/conv_lstm.c) */
extern const ck_layer_class ck_conv_lstm1d_class;
extern const ck_layer_class ck_conv_lstm2d_class;
extern const ck_layer_class ck_conv_lstm3d_class;

#endif
