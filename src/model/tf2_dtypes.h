/* Nested layer configs kept as read (Bidirectional's "layer", an RNN's
 * "cell") are written in the tf.keras 2.x dialect ckeras saves: Keras 3's
 * DTypePolicy objects become the dtype names tf.keras writes, which
 * tf.keras 2.15 refuses otherwise ("Unknown dtype policy: 'DTypePolicy'"). */
#ifndef CK_TF2_DTYPES_H
#define CK_TF2_DTYPES_H

#include <jansson.h>

/* A deep copy of `config` with every "dtype" that is a Keras 3 dtype
 * policy ({"class_name": "DTypePolicy" / "FloatDTypePolicy", "config":
 * {"name": ...}}) replaced by its name, and the null input_axes /
 * output_axes Keras 3.15 writes in initializer configs dropped; NULL when
 * out of memory. */
json_t *ck_tf2_dtypes_copy(const json_t *config);

#endif
