/* The normalization, noise and attention layer classes (one file each),
 * for the registry.  Internal. */
#ifndef CK_NORMATTN_CLASSES_H
#define CK_NORMATTN_CLASSES_H

#include "layers/layer.h"

extern const ck_layer_class ck_multi_head_attention_class;
extern const ck_layer_class ck_attention_class;
extern const ck_layer_class ck_additive_attention_class;
extern const ck_layer_class ck_group_normalization_class;
extern const ck_layer_class ck_unit_normalization_class;
extern const ck_layer_class ck_gaussian_noise_class;
extern const ck_layer_class ck_gaussian_dropout_class;
extern const ck_layer_class ck_spatial_dropout1d_class;
extern const ck_layer_class ck_spatial_dropout2d_class;
extern const ck_layer_class ck_spatial_dropout3d_class;
extern const ck_layer_class ck_activity_regularization_class;

#endif
