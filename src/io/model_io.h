/* Internal glue between the file readers/writers and the model floor. */
#ifndef CK_IO_MODEL_IO_H
#define CK_IO_MODEL_IO_H

#include <jansson.h>

#include "io/keras_archive.h"
#include "io/keras_h5.h"
#include "model/model.h"

/* Assigns the weights of a legacy HDF5 file to a model, by topology (Keras'
 * default) or by layer name; every layer is checked before any is set. */
ck_status ck_model_assign_h5_weights(ck_model *m, const ck_keras_h5 *f, const char *file, int by_name);

/* Assigns Keras 3 variables (layers/<snake>[_k]/vars/<i>) using the layer
 * order of `model_config` (the "config" object of the model). */
ck_status ck_model_assign_archive_weights(ck_model *m, const ck_keras_archive *a, const json_t *model_config,
                                          const char *file);

/* Assigns the weights listed in a TF.js model.json weightsManifest, read
 * from the files next to `json_path`. */
ck_status ck_model_assign_tfjs_weights(ck_model *m, const json_t *model_json, const char *json_path);

/* A whole text file (ck_malloc'ed), or NULL with the error recorded. */
char *ck_read_text_file(const char *path);

#endif
