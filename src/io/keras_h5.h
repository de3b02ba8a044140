/*
 * keras_h5.h -- the legacy Keras HDF5 format (`model.save("x.h5")`,
 * `model.save_weights("w.h5")`) as plain data (internal, not installed).
 *
 * This floor knows nothing about layers: it turns a file into JSON text and
 * named tensors and back.  The model floor builds layers from
 * `model_config` through the layer registry and pairs the weights (Keras
 * pairs them by position: the layers of `layer_names` whose `weight_names`
 * is non-empty, in order, with the model's layers that have weights).
 *
 * File layout (keras-spec.md section 6.3):
 *
 *   /                         attrs keras_version, backend, model_config,
 *                             [training_config]            (full model)
 *   /model_weights            attrs layer_names, backend, keras_version
 *   /model_weights/<layer>    attr weight_names; one dataset per weight
 *                             name, at that name's path ('/' = subgroups)
 *   /model_weights/top_level_model_weights   (tf.keras 2.7+)
 *   /optimizer_weights        attr weight_names; one dataset per name
 *                             (a compiled model: "iteration:0",
 *                             "Adam/m/dense/kernel:0", ...; Keras 3
 *                             "adam/iteration", "adam/learning_rate", ...)
 *
 * A weights-only file (save_weights) has the model_weights content at its
 * root and no model_config.
 *
 * Dialects read (all those in the real files of shared/testdata/keras):
 * Keras 1.x (`dense_1_W:0`, Theano names without `:0`, TF variable scopes
 * such as `global/shared/dense_1_W:0`), Keras 2.0-2.3, tf.keras 2.x written
 * by h5py 2 (fixed-length NULL-padded name arrays) or h5py 3 (variable-
 * length name arrays), nested models (a layer group whose weight_names
 * point into sub-groups), Keras 3 `.h5` (names without `:0`); strings as
 * fixed-length NULL-terminated / NULL-padded / space-padded or variable-
 * length ASCII / UTF-8, scalar or 1-element arrays; name lists split into
 * `layer_names0`, `layer_names1`, ...; an empty `weight_names` of any type
 * or none at all.
 *
 * Files are read with ckeras' own bounds-checked HDF5 reader (io/h5/h5.h)
 * and written with its own writer (io/h5/h5_write.h); libhdf5 is only the
 * tests' oracle.  Every problem is reported through ck_error with the file
 * name in the message: CK_IO_ERROR when the file cannot be opened/read/
 * written, CK_FORMAT_ERROR when it is not HDF5, damaged, truncated, or not
 * laid out as Keras writes it.  Distinct files may be read from distinct
 * threads.
 */
#ifndef CK_IO_KERAS_H5_H
#define CK_IO_KERAS_H5_H

#include <stddef.h>

#include "ckeras.h"

/* Which h5py generation's string types a writer mimics for the name lists
 * layer_names / weight_names (and which one a reader saw).  The root and
 * group string attributes are the same in both.  Whether the tf.keras 2.7+
 * top_level_model_weights group exists is separate (has_top_level below):
 * the real files show every combination but "fixed + top-level" (tf.keras
 * 2.4 wrote fixed names with h5py 2 and variable-length ones with h5py 3;
 * tf.keras 2.7+ requires h5py 3). */
typedef enum ck_h5_dialect {
    CK_H5_DIALECT_DEFAULT = 0, /* = CK_H5_DIALECT_H5PY2 when writing        */
    /* h5py 2 (Keras 2.x, tf.keras 2.0-2.6): fixed-length NULL-padded ASCII
     * arrays sized to the longest entry.  The most widely readable form:
     * Keras 2.3's loader can only decode these (it calls .decode on every
     * name). */
    CK_H5_DIALECT_H5PY2 = 1,
    /* h5py 3 (tf.keras 2.4-2.15, Keras 3 `.h5`): variable-length ASCII
     * arrays. */
    CK_H5_DIALECT_H5PY3 = 2
} ck_h5_dialect;

/* One weight: its name as in weight_names (e.g. "dense/kernel:0") and its
 * value. */
typedef struct ck_h5_weight {
    char *name;
    ck_tensor *value;
} ck_h5_weight;

/* One layer group: its name and its weights in weight_names order
 * (trainable first, then non-trainable, as Keras lists them). */
typedef struct ck_h5_layer {
    char *name;
    size_t n_weights;
    ck_h5_weight *weights;
} ck_h5_layer;

/* A legacy Keras HDF5 file as plain data.
 *
 * From ck_h5_read every pointer is owned by the struct and released by
 * ck_keras_h5_free.  ck_h5_write only reads the struct, so a caller may
 * build one by hand with borrowed strings and tensors (and must then not
 * pass it to ck_keras_h5_free). */
typedef struct ck_keras_h5 {
    char *model_config;     /* JSON text; NULL for a weights-only file     */
    char *training_config;  /* JSON text or NULL                           */
    char *keras_version;    /* e.g. "2.4.0", "2.2.4-tf", "3.6.0"; or NULL   */
    char *backend;          /* "tensorflow", "theano", ...; or NULL        */
    /* 1: full model (weights in group model_weights); 0: weights-only
     * file (weights at the root). */
    int is_model;
    /* Read: the dialect of layer_names (H5PY3 if variable-length, else
     * H5PY2).  Write: the one to produce (0 = H5PY2). */
    ck_h5_dialect dialect;
    /* Layers in layer_names order, INCLUDING weightless ones (InputLayer,
     * Dot, Dropout, ...), which have n_weights == 0. */
    size_t n_layers;
    ck_h5_layer *layers;
    /* tf.keras 2.7+ top_level_model_weights: variables owned by the model
     * itself, not by a layer (nearly always none).  Kept apart from
     * `layers` because it is not in layer_names.  Read: has_top_level = 1
     * when the group exists.  Write: the group is written when
     * has_top_level is 1 (empty if top_level.n_weights == 0, as tf.keras
     * 2.7+ writes it); top-level weights without has_top_level are refused.
     * top_level.name is not used.  To mimic tf.keras 2.7-2.15 or Keras 3
     * set dialect = H5PY3 and has_top_level = 1. */
    int has_top_level;
    ck_h5_layer top_level;
    /* Read: 1 if the file has an optimizer_weights group. */
    int has_optimizer_weights;
    /* The optimizer_weights group as a layer-like list: its weight_names in
     * order and their values (optimizer.variables, in the optimizer's own
     * order; the names are only labels, Keras pairs them by position).
     * Read from a full model file when the group exists.  Written for a
     * full model when optimizer.n_weights > 0 (tf.keras writes the group
     * whenever the model is compiled).  optimizer.name is not used. */
    ck_h5_layer optimizer;
} ck_keras_h5;

/* keras_version written when the struct has none (Keras treats a file
 * without one as Keras 1 and converts its weights). */
#define CK_H5_DEFAULT_KERAS_VERSION_H5PY2 "2.4.0"
#define CK_H5_DEFAULT_KERAS_VERSION_H5PY3 "2.15.0"

/* Reads a legacy Keras HDF5 file (full model or weights only).
 *
 * The weights group is the root if it has a layer_names attribute (or its
 * chunks), else the group model_weights (is_model = 1).  For each name of
 * layer_names (in order) the group of that name must exist; its
 * weight_names (absent = none) gives the datasets, read relative to the
 * layer group and converted as ck_h5r_read_dataset says (float16 ->
 * float32, small ints/bool -> int32, ...; 0-d datasets become rank-0
 * tensors).  The root attributes model_config, training_config,
 * keras_version and backend are read when present (keras_version and
 * backend fall back to those of model_weights); model_config must be valid
 * JSON.  optimizer_weights, when present, is read into `optimizer` like a
 * layer group (weight_names, then one dataset per name).
 *
 * Errors: CK_IO_ERROR (cannot open/read), CK_FORMAT_ERROR (not HDF5,
 * truncated, no layer_names, a listed layer group or a named dataset
 * missing, an attribute of the wrong type, an unsupported dtype or rank >
 * 8, model_config not JSON), CK_OUT_OF_MEMORY.  *out is set only on
 * success; free it with ck_keras_h5_free. */
ck_status ck_h5_read(const char *path, ck_keras_h5 **out);

/* Reads only the root model_config attribute (no weights).  *json is a
 * ck_malloc'ed, NUL-terminated JSON text (free with ck_free).  A file
 * without model_config (a weights-only file) is a CK_FORMAT_ERROR saying
 * so; other errors as ck_h5_read. */
ck_status ck_h5_read_model_config(const char *path, char **json);

/* Writes `f` in the tf.keras 2.x layout of keras-spec.md 6.3, with the
 * attribute types of real tf.keras files (checked against them with
 * ck_h5_describe, tests/support/h5_oracle.h):
 *   root (full model): keras_version, backend: variable-length UTF-8
 *     scalars; model_config, training_config (if non-NULL): variable-length
 *     ASCII scalars;
 *   weights group (model_weights, or the root for a weights-only file):
 *     layer_names (see ck_h5_dialect; chunked into layer_names0, ... above
 *     64512 bytes), backend, keras_version: variable-length ASCII scalars;
 *   one group per layer, created in name-sorted order, with weight_names
 *     (an empty float64 array for a weightless layer) and one little-endian
 *     contiguous dataset per weight at the weight's name path;
 *   top_level_model_weights (after the layers) when has_top_level is set;
 *   optimizer_weights (full model, optimizer.n_weights > 0): weight_names
 *     as the name lists, one dataset per name at its path.
 * keras_version defaults to CK_H5_DEFAULT_KERAS_VERSION_* and backend to
 * "tensorflow" when NULL.  A full model needs model_config; a weights-only
 * file ignores model_config and training_config.
 *
 * Checked by the tests with ck_h5_describe (every group, dataset and
 * attribute type equal): the default settings reproduce tf.keras
 * 2.2.4-tf (dl4j-tfkeras-dense/mlp_0.h5) and 2.4.0 with h5py 2 (the
 * siamese file); H5PY3 without top level tf.keras 2.4.0 with h5py 3
 * (flatten_3d.hdf5); H5PY3 + has_top_level tf.keras 2.11 / 2.13 and
 * Keras 3.6 (two-tower, recsys-dot-keras2_13, keras3-wide-deep/my_model.h5),
 * optimizer_weights apart.
 *
 * The file is written to a temporary file in the same directory, flushed
 * and renamed onto `path`; on any failure the temporary file is removed
 * and `path` is left as it was.
 *
 * Errors: CK_VALUE_ERROR for a bad struct (NULL or empty or duplicate layer
 * names, a layer name with '/', a weight name that is empty, absolute,
 * repeated or the prefix of another, a name longer than 64512 bytes,
 * top-level weights without has_top_level, a layer named
 * top_level_model_weights with has_top_level, a bad tensor),
 * CK_TYPE_ERROR (bad dtype), CK_IO_ERROR, CK_OUT_OF_MEMORY. */
ck_status ck_h5_write(const char *path, const ck_keras_h5 *f);

/* Frees a struct from ck_h5_read and everything it owns.  NULL is fine. */
void ck_keras_h5_free(ck_keras_h5 *f);

/* The layer called `name`, or NULL. */
const ck_h5_layer *ck_keras_h5_find_layer(const ck_keras_h5 *f, const char *name);


#endif
