/* The learned affine part the normalization layers share (Keras'
 * center / scale arguments): y = xhat * gamma + beta, with each of gamma
 * and beta optional and given an initializer, a regularizer and a
 * constraint.  BatchNormalization, LayerNormalization and
 * GroupNormalization read, keep, build and write these the same way; the
 * layer-specific arguments stay in each layer.  Internal. */
#ifndef CK_AFFINE_PARAMS_H
#define CK_AFFINE_PARAMS_H

#include "layers/layer_args.h"

typedef struct ck_affine_params {
    int center, scale;
    ck_initializer *beta_init, *gamma_init;
    ck_regularizer *beta_reg, *gamma_reg;
    ck_constraint *beta_con, *gamma_con;
} ck_affine_params;

/* Keras' defaults (center and scale on, no objects yet). */
#define CK_AFFINE_DEFAULTS ((ck_affine_params){.center = 1, .scale = 1})

/* The option strings of a ck_*_normalization_opts struct (NULL: the
 * default), which all name them alike. */
typedef struct ck_affine_names {
    const char *beta_initializer, *gamma_initializer;
    const char *beta_regularizer, *gamma_regularizer;
    const char *beta_constraint, *gamma_constraint;
} ck_affine_names;

#define CK_AFFINE_NAMES_OF(o)                                                                       \
    ((ck_affine_names){(o)->beta_initializer, (o)->gamma_initializer, (o)->beta_regularizer,        \
                       (o)->gamma_regularizer, (o)->beta_constraint, (o)->gamma_constraint})

/* From an options struct: center / scale unless no_center / no_scale,
 * and the named objects.  On error what was made stays in *p (free it
 * with ck_affine_free). */
ck_status ck_affine_from_opts(ck_affine_params *p, bool no_center, bool no_scale, const ck_affine_names *names);

/* From a layer config `c` of class `cls`: "center", "scale" (absent: as
 * *p holds them) and the six objects; `keras1_names` also takes Keras 1's
 * "beta_init" / "gamma_init" for the initializers.  On error as above. */
ck_status ck_affine_from_config(ck_affine_params *p, const json_t *c, const char *cls, int keras1_names);

/* Fills the default initializers (beta "zeros", gamma "ones") into *from,
 * then moves everything to *to (which owns nothing yet), leaving *from
 * empty. */
ck_status ck_affine_finish(ck_affine_params *to, ck_affine_params *from);

/* Frees the objects and empties *p. */
void ck_affine_free(ck_affine_params *p);

/* Adds the weights "gamma" (scale) then "beta" (center) of `shape` to
 * `layer` (layer dtype, trainable), setting *gamma / *beta (NULL when
 * off).  On error the base drops the weights added so far. */
ck_status ck_affine_add_weights(ck_layer *layer, const ck_affine_params *p, const ck_shape *shape, ck_weight **gamma,
                                ck_weight **beta);

/* get_config, in Keras' key order: "center", "scale", "beta_initializer",
 * "gamma_initializer" (head), then the regularizers and constraints
 * (tail); BatchNormalization writes its moving-statistics initializers in
 * between. */
ck_status ck_affine_config_head(const ck_affine_params *p, json_t *c);
ck_status ck_affine_config_tail(const ck_affine_params *p, json_t *c);

#endif
