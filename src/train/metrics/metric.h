/* The metric floor's internal interface (not installed). */
#ifndef CK_TRAIN_METRIC_H
#define CK_TRAIN_METRIC_H

#include <jansson.h>

#include "core/core.h"

/* A metric from a parsed config value (string id or {"class_name",
 * "config"}). */
ck_status ck_metric_from_json(const json_t *value, ck_metric **out);

/* The config as a new {"class_name", "config"} object, or for a metric
 * given by name, the name as a JSON string, as Keras' compile_config keeps
 * it (NULL on OOM). */
json_t *ck_metric_to_json(const ck_metric *m);

/* All values of the result: Precision / Recall with several thresholds give
 * one per threshold (ck_metric_result gives the first), the others one.
 * Writes at most `max` values and returns how many there are. */
int ck_metric_result_values(const ck_metric *m, double *out, int max);

#endif
