/* The loss floor's internal interface (not installed): what compile, fit
 * and the metrics need beyond the public ck_loss_* functions. */
#ifndef CK_TRAIN_LOSS_H
#define CK_TRAIN_LOSS_H

#include <jansson.h>

#include "core/core.h"

/* A loss from a parsed config value (a string id or a {"class_name",
 * "config"} object, legacy or Keras 3 form). */
ck_status ck_loss_from_json(const json_t *value, ck_loss **out);

/* The config as a new JSON object {"class_name", "config"} (NULL on OOM). */
json_t *ck_loss_to_json(const ck_loss *loss);

/* The canonical function name of the loss, whatever it was made from:
 * "mean_squared_error", "binary_crossentropy",
 * "sparse_categorical_crossentropy", "categorical_crossentropy", ... */
const char *ck_loss_canonical(const ck_loss *loss);

/* Checks that y_true / y_pred shapes (batch dim first; -1 unknown) fit this
 * loss; CK_VALUE_ERROR naming both shapes otherwise. */
ck_status ck_loss_check_shapes(const ck_loss *loss, const ck_shape *y_true, const ck_shape *y_pred);

/* The training step's loss: the reduced value (the loss' own reduction;
 * NONE is treated as SUM_OVER_BATCH_SIZE here, as Keras' compile does)
 * with per-sample weights `sample_weight` (NULL, or float32/float64 of
 * shape (batch,)), times `scale` (the loss weight), into *value; and its
 * gradient with respect to y_pred, overwritten into `dy` (y_pred's dtype
 * and shape; NULL: value only).  y_true may be integer or floating (it is
 * read as double).  Allocates nothing. */
ck_status ck_loss_value_grad(const ck_loss *loss, const ck_tensor *y_true, const ck_tensor *y_pred,
                             const ck_tensor *sample_weight, double scale, double *value, ck_tensor *dy);

#endif
