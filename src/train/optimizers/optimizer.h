/* The optimizer floor's internal interface (not installed). */
#ifndef CK_TRAIN_OPTIMIZER_H
#define CK_TRAIN_OPTIMIZER_H

#include <jansson.h>

#include "core/core.h"

/* An optimizer from a parsed config value (string id or {"class_name",
 * "config"}, tf.keras 2.11+, legacy and Keras 3 forms). */
ck_status ck_optimizer_from_json(const json_t *value, ck_optimizer **out);

/* The config as a new {"class_name", "config"} object (NULL on OOM). */
json_t *ck_optimizer_to_json(const ck_optimizer *opt);

/* The names tf.keras 2.11+ gives the optimizer variables in an .h5
 * file's optimizer_weights group, in ck_optimizer_get_weights order, for
 * model variables named var_names[0..n_vars) ("dense/kernel:0"): e.g.
 * "Adam/iteration:0", "Adam/m/dense/kernel:0", ...  *names is a ck_malloc'ed
 * array of *n ck_malloc'ed strings (free each, then the array). */
ck_status ck_optimizer_weight_names(const ck_optimizer *opt, int n_vars, const char *const *var_names,
                                    char ***names, int *n);

#endif
