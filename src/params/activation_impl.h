/* The inside of ck_activation, shared by activations.c (names, JSON, the
 * forward arithmetic) and activations_grad.c (derivatives), so that the
 * derivatives live in their own file without widening the public API. */
#ifndef CK_PARAMS_ACTIVATION_IMPL_H
#define CK_PARAMS_ACTIVATION_IMPL_H

#include "params/params.h"

typedef enum act_kind {
    A_LINEAR, A_RELU, A_ELU, A_SELU, A_SOFTPLUS, A_SOFTSIGN, A_SIGMOID,
    A_HARD_SIGMOID, A_EXPONENTIAL, A_TANH, A_SOFTMAX, A_SWISH, A_SILU, A_GELU,
    A_RELU6, A_LEAKY_RELU, A_MISH, A_LOG_SOFTMAX, A_HARD_SILU, A_HARD_TANH,
    A_LOG_SIGMOID, A_CELU,
    /* Keras 3's "hard_sigmoid", relu6(x + 3) / 6: read from Keras 3
     * configs, where the name no longer means A_HARD_SIGMOID (tf.keras
     * 2.x, Keras 1-2: clip(0.2 x + 0.5, 0, 1)); written as Keras 3's
     * function object so that no reader takes it for the other. */
    A_HARD_SIGMOID_K3
} act_kind;

struct ck_activation {
    act_kind kind;
    const char *name;        /* canonical, static */
    const char *layer_class; /* "ReLU", ... when read from a layer dict */
    double alpha;
    int has_max_value;
    double max_value;
    double threshold;
    int naxes;               /* >= 1 for softmax / log_softmax */
    int axes[CK_MAX_RANK];
    int approximate;
};

#define CK_SELU_ALPHA 1.6732632423543772848170429916717
#define CK_SELU_SCALE 1.0507009873554804934193349852946

#endif
