/* Internal helpers shared by every floor of the library (not installed). */
#ifndef CK_CORE_H
#define CK_CORE_H

#include "ckeras.h"

/* Propagates a non-OK status to the caller. */
#define CK_TRY(expr)                                                         \
    do {                                                                     \
        ck_status ck_try_status_ = (expr);                                   \
        if (ck_try_status_ != CK_OK) return ck_try_status_;                  \
    } while (0)

/* The public API takes the tensors it only reads as `ck_tensor *const *`
 * (what a C `ck_tensor *in[]` converts to without a cast); inside, they are
 * handled as `const ck_tensor *const *`.  C has no implicit conversion
 * between the two, hence this one explicit, named place. */
static inline const ck_tensor *const *ck_const_tensors(ck_tensor *const *t)
{
    return (const ck_tensor *const *)t;
}

/* Records and returns CK_VALUE_ERROR "fn: argument 'arg' is NULL". */
ck_status ck_null_arg(const char *fn, const char *arg);

/* Argument checks at the API edge (issue 10: nothing a caller passes short
 * of freed memory may crash the library).  CK_NEED returns the status from
 * a ck_status function; CK_NEED_OR returns `value`, the neutral result a
 * getter documents, after recording the same error. */
#define CK_NEED(p)                                                           \
    do {                                                                     \
        if (!(p)) return ck_null_arg(__func__, #p);                          \
    } while (0)
#define CK_NEED_OR(p, value)                                                 \
    do {                                                                     \
        if (!(p)) {                                                          \
            ck_null_arg(__func__, #p);                                       \
            return value;                                                    \
        }                                                                    \
    } while (0)
#define CK_NEED_VOID(p)                                                      \
    do {                                                                     \
        if (!(p)) {                                                          \
            ck_null_arg(__func__, #p);                                       \
            return;                                                          \
        }                                                                    \
    } while (0)

/* Records and returns CK_OUT_OF_MEMORY with a message naming `what`. */
ck_status ck_oom(const char *what);

/* 1 if a*b overflows int64 (a, b >= 0), else stores the product. */
int ck_mul_overflow_i64(int64_t a, int64_t b, int64_t *out);

/* Allocates an uninitialised tensor (data not zeroed) after checking the
 * shape; used where every element is written next. */
ck_status ck_tensor_new_uninit(ck_tensor **out, ck_dtype dtype, int rank,
                               const int64_t *shape);

/* Wraps `axis` (negative counts from the end) into [0, rank); CK_VALUE_ERROR
 * naming `who` if it is out of range. */
ck_status ck_normalize_axis(int axis, int rank, const char *who, int *out);

#endif
