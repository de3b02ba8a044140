/* The registry of layer classes: Keras class names to C classes, for
 * from_config and file loading.  It lives on the model floor, the highest
 * floor that defines classes, so that it can name every one of them
 * (nested models in a config resolve like any other layer) while the
 * layers floor below refers to nothing above it. */
#include <string.h>

#include "layers/conv_layer.h"
#include "layers/custom_layer.h"
#include "layers/normattn_classes.h"
#include "core/limits.h"
#include "model/model_limits.h"
#include "layers/rnn_common.h"
#include "layers/tf_op.h"
#include "model/model.h"
#include "params/dialect.h"
#include "model/wrapper_util.h" /* recurrent wrappers and cells */

static const ck_layer_class *const builtin_classes[] = {
    &ck_dense_class,
    &ck_dot_class,
    &ck_flatten_class,
    &ck_reshape_class,
    &ck_dropout_class,
    &ck_alpha_dropout_class,
    &ck_activation_layer_class,
    &ck_embedding_class,
    &ck_concatenate_class,
    &ck_add_class,
    &ck_subtract_class,
    &ck_multiply_class,
    &ck_average_class,
    &ck_maximum_class,
    &ck_minimum_class,
    &ck_batch_normalization_class,
    &ck_normalization_class,
    &ck_relu_class,
    &ck_leaky_relu_class,
    &ck_elu_class,
    &ck_thresholded_relu_class,
    &ck_softmax_class,
    &ck_merge_legacy_class,
    &ck_input_layer_class,
    &ck_conv2d_class,
    &ck_convolution2d_legacy_class,
    &ck_max_pooling2d_class,
    &ck_max_pooling1d_class,
    &ck_average_pooling1d_class,
    &ck_average_pooling2d_class,
    &ck_max_pooling3d_class,
    &ck_average_pooling3d_class,
    &ck_global_average_pooling1d_class,
    &ck_global_average_pooling2d_class,
    &ck_global_average_pooling3d_class,
    &ck_global_max_pooling1d_class,
    &ck_global_max_pooling2d_class,
    &ck_global_max_pooling3d_class,
    &ck_up_sampling1d_class,
    &ck_up_sampling2d_class,
    &ck_up_sampling3d_class,
    &ck_zero_padding1d_class,
    &ck_zero_padding2d_class,
    &ck_zero_padding3d_class,
    &ck_cropping1d_class,
    &ck_cropping2d_class,
    &ck_cropping3d_class,
    &ck_repeat_vector_class,
    &ck_permute_class,
    &ck_layer_normalization_class,
    &ck_simple_rnn_class,
    &ck_lstm_class,
    &ck_gru_class,

    /* -- convolutions (Conv1D/3D, transposed, depthwise, separable) -- */
    &ck_conv1d_class,
    &ck_conv3d_class,
    &ck_conv1d_transpose_class,
    &ck_conv2d_transpose_class,
    &ck_conv3d_transpose_class,
    &ck_depthwise_conv1d_class,
    &ck_depthwise_conv2d_class,
    &ck_separable_conv1d_class,
    &ck_separable_conv2d_class,
    &ck_convolution1d_legacy_class,
    &ck_atrous_convolution1d_legacy_class,
    &ck_atrous_convolution2d_legacy_class,
    &ck_deconvolution2d_legacy_class,
    &ck_separable_convolution2d_legacy_class,
    &ck_convolution3d_legacy_class,

    /* -- recurrent wrappers and cells -- */
    &ck_bidirectional_class,
    &ck_time_distributed_class,
    &ck_rnn_cells_class,
    &ck_cudnn_lstm_class,
    &ck_cudnn_gru_class,
    &ck_conv_lstm1d_class,
    &ck_conv_lstm2d_class,
    &ck_conv_lstm3d_class,

    /* -- normalization, noise and attention -- */
    &ck_multi_head_attention_class,
    &ck_attention_class,
    &ck_additive_attention_class,
    &ck_group_normalization_class,
    &ck_unit_normalization_class,
    &ck_gaussian_noise_class,
    &ck_gaussian_dropout_class,
    &ck_spatial_dropout1d_class,
    &ck_spatial_dropout2d_class,
    &ck_spatial_dropout3d_class,
    &ck_activity_regularization_class,

    /* -- TF-op layers -- */
    &ck_tf_op_lambda_class,
    &ck_slicing_op_lambda_class,

    /* -- masks and multi-output layers -- */
    &ck_masking_class,

    /* -- user-defined layers -- */
    &ck_lambda_class,
};

const ck_layer_class *ck_layer_class_find(const char *class_name)
{
    if (!class_name) return NULL;
    /* "Model" is the functional class name of Keras 1/2, tf.keras <= 2.3
     * and TF.js. */
    if (strcmp(class_name, "Functional") == 0 || strcmp(class_name, "Model") == 0) return &ck_functional_class;
    if (strcmp(class_name, "Sequential") == 0) return &ck_sequential_class;
    for (size_t i = 0; i < sizeof builtin_classes / sizeof builtin_classes[0]; i++)
        if (strcmp(builtin_classes[i]->class_name, class_name) == 0) return builtin_classes[i];
    return NULL;
}

const ck_layer_class *ck_layer_class_at(int i)
{
    int n = (int)(sizeof builtin_classes / sizeof builtin_classes[0]);
    if (i < 0) return NULL;
    if (i < n) return builtin_classes[i];
    if (i == n) return &ck_functional_class;
    return i == n + 1 ? &ck_sequential_class : NULL;
}

/* ---- from_config through the registry --------------------------------- */

static ck_status build_from_config(ck_layer *layer, const json_t *build_config)
{
    const json_t *is = json_object_get(build_config, "input_shape");
    if (!is || json_is_null(is)) return CK_OK;
    ck_shape shapes[CK_MAX_LAYER_INPUTS];
    int n = 1;
    if (json_array_size(is) > 0 && json_is_array(json_array_get(is, 0))) {
        n = (int)json_array_size(is);
        if (n > CK_MAX_LAYER_INPUTS) return ck_error(CK_NOT_IMPLEMENTED, "build_config with %d input shapes", n);
        for (int i = 0; i < n; i++) CK_TRY(ck_json_to_shape(json_array_get(is, i), "build_config input_shape", &shapes[i]));
    } else {
        CK_TRY(ck_json_to_shape(is, "build_config input_shape", &shapes[0]));
    }
    return ck_layer_build(layer, n, shapes);
}

ck_status ck_layer_from_json(const json_t *wrapper, ck_layer **out)
{
    if (!json_is_object(wrapper))
        return ck_error(CK_FORMAT_ERROR, "a layer config must be a JSON object {\"class_name\": ..., \"config\": ...}");
    const char *class_name = json_string_value(json_object_get(wrapper, "class_name"));
    const json_t *config = json_object_get(wrapper, "config");
    const ck_layer_class *cls = ck_layer_class_find(class_name);
    /* Keras 2.0-2.2 wrote a Sequential config as the bare list of layers. */
    int list_ok = cls == &ck_sequential_class && json_is_array(config);
    if (!class_name || (!json_is_object(config) && !list_ok))
        return ck_error(CK_FORMAT_ERROR, "a layer config needs \"class_name\" (a string) and \"config\" (an object)");
    ck_layer *layer = NULL;
    /* Names whose meaning changed in Keras 3 (activations.c) read by the
     * dialect of the file, else by this config's own marks. */
    const int detect = ck_dialect_current() == CK_DIALECT_UNKNOWN;
    ck_dialect outer = detect ? ck_dialect_begin(ck_dialect_detect(wrapper)) : CK_DIALECT_UNKNOWN;
    /* Not a built-in: a class the program registered (or the error saying
     * how to register one). */
    ck_status made = cls ? cls->from_config(config, &layer) : ck_custom_layer_from_json(wrapper, &layer);
    if (detect) ck_dialect_end(outer);
    CK_TRY(made);
    const json_t *bc = json_object_get(wrapper, "build_config");
    if (json_is_object(bc)) {
        ck_status st = build_from_config(layer, bc);
        if (st != CK_OK) {
            ck_layer_free(layer);
            return st;
        }
    }
    *out = layer;
    return CK_OK;
}

ck_status ck_layer_from_config(const char *json, ck_layer **out)
{
    CK_NEED(json);
    CK_NEED(out);
    json_error_t err;
    if (!json) return ck_error(CK_VALUE_ERROR, "ck_layer_from_config: json is NULL");
    CK_TRY(ck_config_check_size(strlen(json), "layer config")); /* ck_limit */
    json_t *root = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!root) return ck_error(CK_FORMAT_ERROR, "layer config is not valid JSON: %s (line %d, column %d)",
                               err.text, err.line, err.column);
    ck_status st = ck_config_check_limits(root, "layer config");
    int scope = ck_load_scope_begin();
    if (st == CK_OK) st = ck_layer_from_json(root, out);
    ck_load_scope_end(scope);
    json_decref(root);
    return st;
}
