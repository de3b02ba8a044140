/* keras.layers.CuDNNLSTM / CuDNNGRU (Keras 2.0-2.3, tf.keras 1.x): the
 * GPU-only layers of old files, computed on the CPU by the recurrent
 * driver.  cuDNN's LSTM is an LSTM with tanh / sigmoid and one bias the sum
 * of its input and recurrent biases; its GRU is a GRU with reset_after=True
 * (the recurrent bias inside the reset gate's product).  So each class is
 * the LSTM / GRU layer (made from the config with those settings) under
 * its own class name; weights in cuDNN's layout (bias 8*units / 6*units)
 * are converted on load (legacy_weights.c).  The weights keep the
 * driver's names ("<name>/lstm_cell/kernel:0"; Keras 2 wrote
 * "<name>/kernel:0"), which loading does not use. */
#include <string.h>

#include "layers/rnn_common.h"
#include "model/wrapper_util.h"

/* Keys of CuDNNLSTM's config beside the base ones (CuDNNGRU has no
 * unit_forget_bias). */
static const char *const cudnn_keys[] = {
    "units", "kernel_initializer", "recurrent_initializer", "bias_initializer", "unit_forget_bias",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "return_sequences", "return_state", "go_backwards", "stateful"};
#define N_CUDNN_KEYS (sizeof cudnn_keys / sizeof cudnn_keys[0])

static int is_cudnn_key(const char *key, int lstm)
{
    for (size_t i = 0; i < N_CUDNN_KEYS; i++)
        if (strcmp(key, cudnn_keys[i]) == 0) return lstm || strcmp(key, "unit_forget_bias") != 0;
    return 0;
}

static ck_status cudnn_from_config(const ck_layer_class *cls, const ck_layer_class *base, const json_t *c,
                                   ck_layer **out)
{
    int lstm = base == &ck_lstm_class;
    if (!json_is_object(c)) return ck_error(CK_FORMAT_ERROR, "%s config must be a JSON object", cls->class_name);
    static const char *const base_keys[] = {"name", "trainable", "dtype", "batch_input_shape", "batch_size",
                                            "input_shape", "activity_regularizer", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)c, key, v) {
        int ok = is_cudnn_key(key, lstm);
        for (int i = 0; !ok && base_keys[i]; i++) ok = strcmp(key, base_keys[i]) == 0;
        if (!ok) return ck_error(CK_TYPE_ERROR, "Keyword argument not understood: '%s' (%s)", key, cls->class_name);
    }
    json_t *copy = json_deep_copy(c);
    if (!copy || (!lstm && json_object_set_new(copy, "reset_after", json_true()) != 0)) {
        json_decref(copy);
        return ck_oom("a CuDNN layer config");
    }
    ck_layer *layer = NULL;
    ck_status st = base->from_config(copy, &layer);
    json_decref(copy);
    CK_TRY(st);
    layer->cls = cls; /* the same layer struct and hooks, under cuDNN's name */
    *out = layer;
    return CK_OK;
}

/* The LSTM / GRU config without the keys the cuDNN classes do not take. */
static ck_status cudnn_get_config(const ck_layer *layer, json_t *j)
{
    CK_TRY(ck_rnn_get_config(layer, j));
    int lstm = ((const ck_rnn_layer *)layer)->cell->has_unit_forget_bias;
    static const char *const base_keys[] = {"name", "trainable", "dtype", "batch_input_shape", "activity_regularizer"};
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(j, tmp, key, v) {
        int keep = is_cudnn_key(key, lstm);
        for (int i = 0; !keep && i < 5; i++) keep = strcmp(key, base_keys[i]) == 0;
        if (!keep) json_object_del(j, key);
    }
    return CK_OK;
}

static ck_status cudnn_lstm_from_config(const json_t *c, ck_layer **out);
static ck_status cudnn_gru_from_config(const json_t *c, ck_layer **out);

#define CK_CUDNN_CLASS(NAME, FROM_CONFIG)                                    \
    {                                                                        \
        .class_name = NAME,                                                  \
        .size = sizeof(ck_rnn_layer),                                        \
        .arity = CK_ONE_INPUT,                                               \
        .cast_all_inputs = 1,                                                \
        .supports_masking = 1,                                               \
        .build = ck_rnn_build, /* reset_states knows the driver by it */     \
        CK_RNN_CALL_HOOKS,                                                   \
        .compute_output_shape = ck_rnn_output_shape,                         \
        .compute_mask = ck_rnn_compute_mask,                                 \
        .get_config = cudnn_get_config,                                      \
        .from_config = FROM_CONFIG,                                          \
        .destroy = ck_rnn_destroy,                                           \
    }

const ck_layer_class ck_cudnn_lstm_class = CK_CUDNN_CLASS("CuDNNLSTM", cudnn_lstm_from_config);
const ck_layer_class ck_cudnn_gru_class = CK_CUDNN_CLASS("CuDNNGRU", cudnn_gru_from_config);

static ck_status cudnn_lstm_from_config(const json_t *c, ck_layer **out)
{
    return cudnn_from_config(&ck_cudnn_lstm_class, &ck_lstm_class, c, out);
}

static ck_status cudnn_gru_from_config(const json_t *c, ck_layer **out)
{
    return cudnn_from_config(&ck_cudnn_gru_class, &ck_gru_class, c, out);
}
