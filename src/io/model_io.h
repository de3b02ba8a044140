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

/* What a model file holds beside the model itself, as plain data: the
 * compile information and the optimizer's variables.  This floor neither
 * compiles nor builds optimizers (the train/ floor does, in
 * train/model_files.c); it only finds and writes these pieces.  Every
 * pointer is owned (ck_saved_training_clear frees them). */
typedef struct ck_saved_training {
    char *training_config;  /* .h5 root attribute training_config (JSON)   */
    char *compile_config;   /* .keras config.json "compile_config" (JSON)  */
    int keras3;             /* written by Keras 3: its optimizer variables
                               are iterations, [learning_rate], slots      */
    int n_opt;              /* optimizer variables in file order            */
    char **opt_names;       /* .h5 weight_names, or .keras "optimizer/vars/i" */
    ck_tensor **opt_values;
} ck_saved_training;

/* Frees the contents and zeroes the struct.  NULL is fine. */
void ck_saved_training_clear(ck_saved_training *t);

/* Loads a model file (see ck_model_load); `tr` (may be NULL) receives the
 * training pieces the file has: an .h5 file's training_config and
 * optimizer_weights, a .keras archive's compile_config and optimizer/vars.
 * A JSON file has none. */
ck_status ck_io_model_load(const char *path, ck_model **out, ck_saved_training *tr);

/* Saves a model by extension (see ck_model_save).  `tr` (may be NULL: an
 * uncompiled model) gives what to write beside it: .h5 the training_config
 * attribute and the optimizer_weights group (opt_names as weight_names);
 * .keras the compile_config and optimizer/vars/<i>.  .json ignores it. */
ck_status ck_io_model_save(ck_model *m, const char *path, const ck_saved_training *tr);

/* Saves weights (see ck_model_save_weights): a Keras 3 style .weights.h5
 * includes optimizer/vars from `tr`, as tf.keras 2.15 writes it; the legacy
 * HDF5 weights layout never holds optimizer state. */
ck_status ck_io_model_save_weights(ck_model *m, const char *path, const ck_saved_training *tr);

/* A whole text file (ck_malloc'ed), or NULL with the error recorded. */
char *ck_read_text_file(const char *path);

#endif
