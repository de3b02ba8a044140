/* What Dropout and AlphaDropout share: both are the identity at inference
 * and keep rate, noise_shape and seed only for get_config.  Internal. */
#ifndef CK_DROPOUT_H
#define CK_DROPOUT_H

#include "layers/layer_args.h"

typedef struct ck_dropout_layer {
    ck_layer base;
    double rate;
    int rate_is_int;        /* written back as Python wrote it */
    int has_noise_shape;
    ck_shape noise_shape;   /* -1 = None */
    int has_seed;
    int64_t seed;
} ck_dropout_layer;

/* Creates a Dropout-like layer of class `cls` from C options (rate checked
 * when check_rate) or from a config (keys rate / Keras 1 "p", noise_shape,
 * seed). */
ck_status ck_dropout_new(const ck_layer_class *cls, const ck_dropout_opts *o, int check_rate, ck_layer **out);
ck_status ck_dropout_from_config_as(const ck_layer_class *cls, const json_t *c, int check_rate, ck_layer **out);

/* The shared hooks: output shape = input shape, call = copy. */
ck_status ck_dropout_output_shape(const ck_layer *layer, int n, const ck_shape *in, ck_shape *out);
ck_status ck_dropout_call(ck_layer *layer, int n, const ck_tensor *const *in, ck_tensor *const *outs);

#endif
