/* The Keras dialect of the config being read on this thread.  A few names
 * mean different things in Keras 3 and in Keras 1-2 / tf.keras 2.x
 * ("hard_sigmoid": relu6(x + 3) / 6 against clip(0.2 x + 0.5, 0, 1)), so
 * reading them needs to know who wrote the config.  The file loaders know
 * it from keras_version (.h5 attribute, .keras metadata.json); a bare
 * config shows it by Keras 3's marks (ck_dialect_detect).  The loaders
 * set it for the duration of a load and restore the previous value, so
 * nested and concurrent loads (one per thread) keep their own. */
#ifndef CK_PARAMS_DIALECT_H
#define CK_PARAMS_DIALECT_H

#include <jansson.h>

typedef enum ck_dialect {
    CK_DIALECT_UNKNOWN = 0, /* nothing says: read as tf.keras 2.x */
    CK_DIALECT_KERAS2,      /* Keras 1 / 2, tf.keras 2.x */
    CK_DIALECT_KERAS3
} ck_dialect;

/* The dialect being read on this thread. */
ck_dialect ck_dialect_current(void);

/* Sets the dialect for a load; returns the previous one, to give back to
 * ck_dialect_end. */
ck_dialect ck_dialect_begin(ck_dialect d);
void ck_dialect_end(ck_dialect previous);

/* The dialect of a file's keras_version ("3.6.0": Keras 3, "2.15.0",
 * "2.2.4-tf", "1.2.2": Keras 2; NULL: unknown). */
ck_dialect ck_dialect_of_version(const char *keras_version);

/* A layer or model wrapper ({"class_name", "config", ...}) with Keras 3's
 * marks: a model "module" of Keras 3 ("keras" for Sequential,
 * "keras.src.models.*"), a DTypePolicy dtype, or (for a model) such a
 * layer or a {"args", "kwargs"} inbound node among its layers.  tf.keras
 * 2.13+ writes "module" and "registered_name" too, so those alone do not
 * tell.  CK_DIALECT_UNKNOWN when nothing tells. */
ck_dialect ck_dialect_detect(const json_t *wrapper);

#endif
