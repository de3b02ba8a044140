/* What the parametrised activation layers (ReLU, LeakyReLU, ELU,
 * ThresholdedReLU) share: an activation object from params/ made from the
 * float32-rounded parameters, identity shapes, masks passed through.
 * Internal. */
#ifndef CK_ACT_LAYER_H
#define CK_ACT_LAYER_H

#include "layers/layer_args.h"

typedef struct ck_act_layer {
    ck_layer base;
    ck_activation *fn;
    double p[3];        /* the class' parameters, float32-rounded */
    int has_max_value;  /* ReLU: p[0] is max_value when set */
} ck_act_layer;

/* Creates a layer of `cls` (from C options through `o` or from a config
 * through `config`; exactly one of them is non-NULL) owning `fn` (freed on
 * error too). */
ck_status ck_act_layer_new(const ck_layer_class *cls, const json_t *config, const char *const *keys,
                           const ck_layer_opts *o, ck_activation *fn, const double p[3], int has_max_value,
                           ck_layer **out);

ck_status ck_act_layer_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out);
ck_status ck_act_layer_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs);
void ck_act_layer_destroy(ck_layer *layer);
/* din = dout * f'(x): the input and output the trainer keeps are all the
 * derivative needs, so the classes save nothing. */
ck_status ck_act_layer_backward(ck_layer *layer, const ck_train_ctx *ctx, int n, const ck_tensor *const *in,
                                const ck_tensor *out, const ck_tensor *dout, void *saved, ck_tensor *const *din);

/* The class table entries the four classes share. */
#define CK_ACT_LAYER_CLASS(name)                                                                        \
    .class_name = (name), .size = sizeof(ck_act_layer), .arity = CK_ONE_INPUT, .supports_masking = 1,   \
    .compute_output_shape = ck_act_layer_output_shape, .call = ck_act_layer_call,                       \
    .destroy = ck_act_layer_destroy, .backward = ck_act_layer_backward

/* Copies the CK_LAYER_COMMON_OPTS members of any option struct. */
#define CK_ACT_COMMON(o)                                                                                \
    ((ck_layer_opts){.name = (o)->name, .frozen = (o)->frozen, .dtype = (o)->dtype,                  \
                     .input_shape = (o)->input_shape, .batch_size = (o)->batch_size,                    \
                     .activity_regularizer = (o)->activity_regularizer})

/* A float for get_config: the float32 value as Python prints its double. */
static inline json_t *ck_act_num(double v) { return json_real(v); }

#endif
