/*
 * keras_archive.h -- the Keras 3 `.keras` zip archive and the Keras 3
 * `*.weights.h5` file as plain data (internal, not installed).
 *
 * A `.keras` file (Keras 3, and tf.keras 2.13-2.15 for `.keras` paths) is a
 * zip archive holding, in this order (keras-spec.md 6.4):
 *   metadata.json      {"keras_version": "3.6.0", "date_saved": "..."}
 *   config.json        the new-form serialisation of the model
 *   model.weights.h5   the variables, stored by tracking path:
 *                      layers/<snake_case class>[_k]/vars/<i>, the model's
 *                      own in vars/<i>, optimizer/vars/<i>, nested layers
 *                      deeper (layers/functional/layers/dense/vars/0);
 *                      every visited object gets a `vars` group, empty for
 *                      weightless layers, and from Keras 3.6 a `name`
 *                      attribute with the layer's config name.
 * `model.save_weights("x.weights.h5")` writes the model.weights.h5 part
 * alone.
 *
 * This floor does not interpret the paths: it returns every dataset of the
 * HDF5 part with its path, and every `vars` group with its `name`.  The
 * model floor maps layers to paths (first Dense -> layers/dense, ...).
 *
 * The HDF5 part is read from memory with ckeras' own HDF5 reader and
 * built in memory with its own writer: no temporary file is extracted.  Archives are written through
 * libzip, which writes a temporary file next to the target and renames it
 * on success, so a failed write leaves any existing file untouched.
 *
 * Errors as in keras_h5.h: CK_IO_ERROR (cannot open/read/write),
 * CK_FORMAT_ERROR (not a zip, a damaged entry, config.json or
 * model.weights.h5 missing, JSON that does not parse, a bad HDF5 part),
 * CK_NOT_IMPLEMENTED (an archive with model.weights.npz or sharded weights
 * instead of model.weights.h5), CK_OUT_OF_MEMORY.
 */
#ifndef CK_IO_KERAS_ARCHIVE_H
#define CK_IO_KERAS_ARCHIVE_H

#include <stddef.h>

#include "ckeras.h"

/* One variable: its dataset path in the HDF5 part, without a leading '/'
 * (e.g. "layers/dense/vars/0"), and its value. */
typedef struct ck_keras_var {
    char *path;
    ck_tensor *value;
} ck_keras_var;

/* One `vars` group (also the empty ones of weightless layers): its path
 * without a leading '/' (e.g. "layers/dense/vars") and its `name`
 * attribute (Keras >= 3.6; NULL when absent). */
typedef struct ck_keras_vars_group {
    char *path;
    char *name;
} ck_keras_vars_group;

/* A `.keras` archive or a `.weights.h5` file as plain data.
 *
 * From the readers every pointer is owned by the struct (free with
 * ck_keras_archive_free).  The writers only read it, so a caller may build
 * one by hand with borrowed strings and tensors. */
typedef struct ck_keras_archive {
    char *metadata_json;   /* text of metadata.json; NULL if absent / for a
                              .weights.h5 file                              */
    char *config_json;     /* text of config.json; NULL for a .weights.h5  */
    /* Every dataset of the HDF5 part, sorted by path, component by
     * component: all-digit components numerically and before others, other
     * components by strcmp (so vars/2 comes before vars/10). */
    size_t n_vars;
    ck_keras_var *vars;
    /* Every group named `vars`, in the same order. */
    size_t n_groups;
    ck_keras_vars_group *groups;
} ck_keras_archive;

/* Reads a `.keras` archive.  config.json and model.weights.h5 are required,
 * metadata.json is optional; both JSON texts must parse as JSON objects.
 * Other entries (assets/...) are ignored.  Variables are converted like
 * legacy HDF5 weights (see ck_h5r_read_dataset: float16 -> float32, small
 * ints/bool -> int32, 0-d datasets -> rank-0 tensors).  *out only on
 * success. */
ck_status ck_keras_archive_read(const char *path, ck_keras_archive **out);

/* Reads a Keras 3 `*.weights.h5` file (the HDF5 part alone): vars and
 * groups as above, metadata_json and config_json NULL.  A legacy Keras 2
 * HDF5 file (layer_names / model_weights) is refused with CK_FORMAT_ERROR
 * pointing to ck_h5_read. */
ck_status ck_keras_weights_h5_read(const char *path, ck_keras_archive **out);

/* Writes a `.keras` archive: entries metadata.json, config.json and
 * model.weights.h5, in that order, stored (no compression) as Keras does
 * (the JSON entries dated 1980-01-01 like Python's ZipFile.writestr, the
 * HDF5 entry dated now).  The HDF5 part is built in memory: first each
 * group of `groups` (created with intermediate groups; `name`, when not
 * NULL, written as a variable-length UTF-8 scalar attribute as Keras
 * does), then each variable as a little-endian contiguous dataset at its
 * path (intermediate groups created as needed).  metadata_json and
 * config_json are required (not validated).
 *
 * CK_VALUE_ERROR for a bad struct (a NULL, empty, absolute or '.'/'..'
 * path component, two variables or a variable and a group at the same
 * path, a bad tensor), CK_IO_ERROR, CK_OUT_OF_MEMORY. */
ck_status ck_keras_archive_write(const char *path, const ck_keras_archive *a);

/* Writes only the HDF5 part, as a `.weights.h5` file (the JSON texts are
 * ignored), via a temporary file renamed onto `path`. */
ck_status ck_keras_weights_h5_write(const char *path, const ck_keras_archive *a);

/* The variable at `path` (e.g. "layers/dense/vars/0"), or NULL. */
const ck_tensor *ck_keras_archive_find(const ck_keras_archive *a, const char *path);

/* Frees a struct from the readers.  NULL is fine. */
void ck_keras_archive_free(ck_keras_archive *a);

/* ---- between keras_archive.c (zip) and keras_archive_h5.c (HDF5) --------- */

struct ck_h5r;
/* Every dataset and `vars` group of an open HDF5 part into `a`, sorted. */
ck_status ck_keras_h5_part_read(struct ck_h5r *f, ck_keras_archive *a);
/* The HDF5 part of `a` as a ck_malloc'ed image; `what` names it. */
ck_status ck_keras_h5_part_image(const ck_keras_archive *a, const char *what, void **buf,
                                 size_t *len);
/* The CK_VALUE_ERROR checks of the writers, `fn` naming the caller. */
ck_status ck_keras_archive_validate(const ck_keras_archive *a, const char *fn);

#endif
