/* The limits of ck_limit (include/ckeras.h) as the loaders use them, and
 * the per-load budget of weight bytes.  Internal. */
#ifndef CK_CORE_LIMITS_H
#define CK_CORE_LIMITS_H

#include <stdint.h>

#include "ckeras.h"

/* The current value of a limit (its default for an unknown id: never
 * happens inside the library). */
int64_t ck_limit_value(ck_limit_id id);

/* Its name in messages: "CK_LIMIT_LAYERS". */
const char *ck_limit_name(ck_limit_id id);

/* A limit refusal: CK_FORMAT_ERROR "<where>: <what> (<n>) is over
 * CK_LIMIT_X = <value> (ck_limit)". */
ck_status ck_limit_refuse(ck_limit_id id, const char *where, const char *what, uint64_t n);

/* Checks a tensor shape a file or config describes against
 * CK_LIMIT_TENSOR_RANK and CK_LIMIT_TENSOR_ELEMENTS (negative dims, still
 * unknown, count as 1).  Nothing is recorded on success. */
ck_status ck_limit_check_shape(int rank, const int64_t *dims, const char *where, const char *what);

/* The weight budget of one load (CK_LIMIT_WEIGHT_BYTES).  A load opens a
 * scope; only the outermost scope of a thread counts (a model file's
 * config is built inside the file's load), and charges outside any scope
 * (a program building layers itself) are free.  `ck_load_scope_begin`
 * returns the token `ck_load_scope_end` takes. */
int ck_load_scope_begin(void);
void ck_load_scope_end(int token);
/* Adds `bytes` about to be allocated for `what`; CK_FORMAT_ERROR when the
 * load's total would pass the limit (nothing is added then). */
ck_status ck_load_charge(uint64_t bytes, const char *what);

#endif
