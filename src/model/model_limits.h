/* The limits of ck_limit that a model or layer config is held to before
 * anything is built from it.  Internal. */
#ifndef CK_MODEL_LIMITS_H
#define CK_MODEL_LIMITS_H

#include <jansson.h>

#include "ckeras.h"

/* Checks a parsed config (a model or layer wrapper, any Keras dialect)
 * against CK_LIMIT_MODEL_DEPTH, CK_LIMIT_LAYERS and, for its input shapes,
 * CK_LIMIT_TENSOR_RANK / CK_LIMIT_TENSOR_ELEMENTS.  `where` names the
 * config in the message ("model JSON", a file name). */
ck_status ck_config_check_limits(const json_t *root, const char *where);

/* Checks the length of a config's text against CK_LIMIT_CONFIG_BYTES. */
ck_status ck_config_check_size(size_t bytes, const char *where);

#endif
