/* Keras 3 operation layers: when keras.ops functions are applied to
 * symbolic tensors, Keras 3 writes one graph entry per call whose class
 * is the operation (NotEqual, Add, Reshape, Mean, ... of module
 * keras.src.ops.*), its options in the config and its operands in the
 * node's args.  ckeras reads each as the TFOpLambda tf.keras 2.x writes
 * for the same TensorFlow function, so the TF-op engine runs it and the
 * model is saved in the tf.keras 2.x dialect. */
#ifndef CK_K3_OPS_H
#define CK_K3_OPS_H

#include <jansson.h>

#include "layers/layer.h"

/* 1 if the layer entry is a Keras 3 operation (module keras.src.ops.*). */
int ck_k3_op_entry(const json_t *entry);

/* The TFOpLambda entry (config and inbound_nodes) for a Keras 3
 * operation entry; *out is a new reference.  CK_NOT_IMPLEMENTED naming
 * the class for operations or options ckeras does not run. */
ck_status ck_k3_op_rewrite(const json_t *entry, json_t **out);

/* Keras 3 passes a layer's input mask as its explicit `mask` call
 * argument, computed by operations in the graph (Embedding's mask_zero:
 * not_equal(ids, 0), possibly through convert_to_tensor).  ckeras
 * propagates masks itself; this says whether the explicit one is the
 * mask ckeras propagates into `layer`'s input 0 (`implicit`), so that it
 * can be dropped, else CK_NOT_IMPLEMENTED naming the layer. */
ck_status ck_k3_check_mask_arg(const ck_layer *layer, const ck_tensor *explicit_mask, const ck_tensor *implicit);

#endif
