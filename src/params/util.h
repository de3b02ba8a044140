/* Helpers private to params/: unwrapping Keras' object wrappers and reading
 * config values with Keras' checks. */
#ifndef CK_PARAMS_UTIL_H
#define CK_PARAMS_UTIL_H

#include <jansson.h>

#include "core/core.h"

/* Splits an identifier into a name and a config:
 *   "name"                                   -> name, config NULL
 *   {"class_name": n, "config": c, ...}      -> n, c (NULL if absent/null)
 *   {"name": n, k: v, ...}  (Keras 1)        -> n, the object itself
 * `what` names the kind ("initializer", ...) for the error text. */
ck_status ck_params_unwrap(const json_t *j, const char *what,
                           const char **name, const json_t **config);

/* Parses JSON text; CK_FORMAT_ERROR naming `what` on malformed text. */
ck_status ck_params_parse(const char *text, const char *what, json_t **out);

/* Checks that every key of `config` (an object, or NULL) is in `allowed`
 * or `ignored` (NULL-terminated lists; `ignored` may be NULL):
 * CK_TYPE_ERROR "<cls>.__init__() got an unexpected keyword argument 'k'"
 * otherwise, and CK_TYPE_ERROR if config is not an object. */
ck_status ck_params_check_keys(const json_t *config, const char *cls,
                               const char *const *allowed,
                               const char *const *ignored);

/* Reads config[key] as a number.  Absent (or null when null_ok) keeps *v,
 * the default.  *is_int (may be NULL) tells whether JSON wrote an integer
 * (left alone when absent).  Booleans count as 0/1 integers, as Python's.
 * A non-number gives CK_VALUE_ERROR naming cls and key. */
ck_status ck_params_number(const json_t *config, const char *cls,
                           const char *key, int null_ok, double *v,
                           int *is_int);

/* A JSON number for a stored value: an integer when is_int and integral,
 * else a real.  NULL on OOM. */
json_t *ck_params_num_json(double v, int is_int);

/* Adds key -> value to obj, stealing value; 0 on success, -1 on OOM
 * (value is released then). */
int ck_params_set(json_t *obj, const char *key, json_t *value);

/* Builds {"class_name": cls, "config": config}, stealing config; NULL on OOM
 * (config released). */
json_t *ck_params_wrap(const char *cls, json_t *config);

/* A short description of a JSON value for error messages (static buffer per
 * thread). */
const char *ck_params_describe(const json_t *j);

#endif
