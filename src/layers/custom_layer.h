/* User-defined layers (the public ck_custom_layer_class) on the internal
 * layer contract: the adapter class (custom_layer.c), the registry of
 * user classes and Lambda implementations (custom_registry.c) and the
 * reading of a Lambda's function name (lambda_function.c).  Internal. */
#ifndef CK_CUSTOM_LAYER_H
#define CK_CUSTOM_LAYER_H

#include "layers/layer.h"

/* The two kinds of registered implementation. */
typedef enum ck_custom_kind { CK_CUSTOM_CLASS = 0, CK_CUSTOM_LAMBDA = 1 } ck_custom_kind;

/* Adds a copy of `impl` under `name`, after the checks common to both
 * kinds (version, call, name, not yet registered).  `who` names the
 * public function in messages. */
ck_status ck_custom_registry_add(ck_custom_kind kind, const char *who, const char *name,
                                 const ck_custom_layer_class *impl);

/* Copies the implementation registered under `name` into *out: an exact
 * match first, then one whose name without its "Package>" prefix is the
 * same.  Returns 1 if found, 0 if not. */
int ck_custom_registry_find(ck_custom_kind kind, const char *name, ck_custom_layer_class *out);

/* Makes a layer of a registered class from a {"class_name", "config",
 * ["module", "registered_name"]} wrapper: the class is found by
 * class_name, then registered_name.  CK_NOT_IMPLEMENTED saying how to
 * register one when neither is registered. */
ck_status ck_custom_layer_from_json(const json_t *wrapper, ck_layer **out);

/* For .keras saving: sets entry["module"] and entry["registered_name"]
 * of a user-defined layer to those of the file it came from (tf.keras
 * 2.15 writes null and the class name); other layers are left alone. */
ck_status ck_custom_layer_archive_ids(const ck_layer *layer, json_t *entry);

/* The Python function name of a Lambda config (see lambda_function.c) into
 * buf: "" when it has none that can be read; "<lambda>" for an anonymous
 * lambda.  Only CK_OUT_OF_MEMORY fails. */
ck_status ck_lambda_function_name(const json_t *config, char *buf, size_t n);

/* The Keras Lambda class (its layers are made from a registered
 * implementation). */
extern const ck_layer_class ck_lambda_class;

#endif
