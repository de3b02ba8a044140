/*
 * ckeras.h -- the Keras layer system in C11.  The one public header.
 *
 * This header is the specification: every function is documented where it
 * is declared.  The behaviour it follows is tf.keras 2.x (TF 2.4 .. 2.15);
 * Keras 3 files and configs are read too.
 *
 * Conventions (see DESIGN.md):
 *   - Every fallible function returns a ck_status.  CK_OK is 0; the other
 *     codes mirror the Python exception Keras would raise.  On error a
 *     message is kept per thread and read with ck_last_error(); outputs are
 *     left untouched and nothing leaks.
 *   - Results come back through out-parameters (`**out`).  Whatever a
 *     function hands back through `**out` is owned by the caller and is
 *     released with the matching destructor (ck_tensor_free, ck_free, ...).
 *     Destructors accept NULL.
 *   - All memory goes through one allocator that the user may replace.
 *   - Option structs: zero means the Keras default.
 */
#ifndef CKERAS_H
#define CKERAS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CK_VERSION_MAJOR 0
#define CK_VERSION_MINOR 1
#define CK_VERSION_PATCH 0
#define CK_VERSION_STRING "0.1.0"

/** Returns the library version, "MAJOR.MINOR.PATCH". */
const char *ck_version(void);

/* ======================================================================== */
/* Status codes and errors                                                   */
/* ======================================================================== */

/** Result of every fallible call.  The kinds mirror Keras' exceptions. */
typedef enum ck_status {
    CK_OK = 0,
    CK_VALUE_ERROR,           /**< Python ValueError: a bad value or shape      */
    CK_TYPE_ERROR,            /**< Python TypeError: a bad dtype or kind        */
    CK_ATTRIBUTE_ERROR,       /**< Python AttributeError                         */
    CK_RUNTIME_ERROR,         /**< Python RuntimeError                           */
    CK_NOT_IMPLEMENTED,       /**< Python NotImplementedError                    */
    CK_IO_ERROR,              /**< a file could not be opened, read or written   */
    CK_FORMAT_ERROR,          /**< a file or text is malformed                   */
    CK_OUT_OF_MEMORY          /**< the allocator returned NULL                   */
} ck_status;

/** Short name of a status: "ValueError", "TypeError", ..., "OutOfMemory".
 *  Never NULL; an unknown code gives "UnknownError". */
const char *ck_status_name(ck_status status);

/** The message of the last error on this thread ("" if none).  The pointer
 *  stays valid until the next ckeras call on this thread. */
const char *ck_last_error(void);

/** The status of the last error on this thread (CK_OK if none). */
ck_status ck_last_status(void);

/** Forgets the last error of this thread. */
void ck_clear_error(void);

/** Records an error on this thread and returns `status`, so that code can
 *  write `return ck_error(CK_VALUE_ERROR, "...", ...)`.  printf format.
 *  Exposed for layer authors; messages longer than 1 KiB are truncated. */
ck_status ck_error(ck_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ======================================================================== */
/* Memory                                                                    */
/* ======================================================================== */

/** The allocator: one function in the style of Lua's lua_Alloc.
 *  - ptr == NULL, size > 0: allocate `size` bytes;
 *  - ptr != NULL, size > 0: resize the block (like realloc);
 *  - size == 0: free `ptr` (may be NULL) and return NULL.
 *  Returns NULL on failure, in which case the old block is left alone.
 *  `user` is the pointer given to ck_set_allocator. */
typedef void *(*ck_alloc_fn)(void *user, void *ptr, size_t size);

/** Replaces the allocator used by every ckeras allocation; NULL restores the
 *  default (malloc/realloc/free).  Not thread-safe: call it before any other
 *  ckeras call, and free everything allocated with the old allocator first. */
void ck_set_allocator(ck_alloc_fn fn, void *user);

/** Reads back the current allocator (the default one if none was set). */
void ck_get_allocator(ck_alloc_fn *fn, void **user);

/** Allocates through the current allocator.  NULL on failure (no error is
 *  recorded: callers turn NULL into CK_OUT_OF_MEMORY).  size 0 gives a
 *  valid unique pointer of 1 byte. */
void *ck_malloc(size_t size);
/** Like ck_malloc, and zeroes the block; checks n*size for overflow. */
void *ck_calloc(size_t n, size_t size);
/** Resizes a block from ck_malloc; NULL on failure (old block kept). */
void *ck_realloc(void *ptr, size_t size);
/** Frees a block from ck_malloc / ck_calloc / ck_realloc or any string the
 *  library hands back.  NULL is fine. */
void ck_free(void *ptr);
/** A ck_malloc'ed copy of a C string (NULL on failure or if s is NULL). */
char *ck_strdup(const char *s);

/* ======================================================================== */
/* Tensors                                                                   */
/* ======================================================================== */

/** Element types.  Numbered from 1 so that 0 can mean "default" in option
 *  structs. */
typedef enum ck_dtype {
    CK_FLOAT32 = 1,
    CK_FLOAT64 = 2,
    CK_INT32 = 3,
    CK_INT64 = 4
} ck_dtype;

/** Highest supported rank. */
#define CK_MAX_RANK 8

/** Size in bytes of one element (0 for an invalid dtype). */
size_t ck_dtype_size(ck_dtype dtype);
/** Keras / numpy name: "float32", "float64", "int32", "int64" (or "invalid"). */
const char *ck_dtype_name(ck_dtype dtype);
/** Parses a Keras dtype name; CK_VALUE_ERROR for an unknown one. */
ck_status ck_dtype_from_name(const char *name, ck_dtype *out);
/** 1 for float32 and float64, else 0. */
int ck_dtype_is_floating(ck_dtype dtype);

/** A dense, contiguous, row-major tensor (ggml-style: the fields are public
 *  and may be read freely).  A dim of -1 means "unknown" (Keras' None); only
 *  symbolic tensors, which have data == NULL, have unknown dims. */
typedef struct ck_tensor {
    ck_dtype dtype;
    int rank;                       /**< 0 .. CK_MAX_RANK                  */
    int64_t shape[CK_MAX_RANK];     /**< dims; entries >= rank are 0      */
    int64_t size;                   /**< number of elements (product)     */
    void *data;                     /**< size * dtype_size bytes, or NULL */
    int owns_data;                  /**< 1 if ck_tensor_free frees data   */
    void *keras_history;            /**< symbolic tensors only (model/)   */
} ck_tensor;

/** Checks a shape (rank in 0..CK_MAX_RANK, dims >= 0) and computes its
 *  element count with overflow checks (the byte size of `dtype` must fit in
 *  int64 too).  `count` may be NULL.  CK_VALUE_ERROR on a bad shape. */
ck_status ck_shape_count(ck_dtype dtype, int rank, const int64_t *shape,
                         int64_t *count);

/** New zero-filled tensor.  `shape` may be NULL when rank == 0. */
ck_status ck_tensor_new(ck_tensor **out, ck_dtype dtype, int rank,
                        const int64_t *shape);

/** New tensor holding a copy of `data` (size * dtype_size bytes). */
ck_status ck_tensor_from_data(ck_tensor **out, ck_dtype dtype, int rank,
                              const int64_t *shape, const void *data);

/** New tensor that borrows `data` without copying.  The caller keeps
 *  ownership of `data` and must keep it alive as long as the tensor. */
ck_status ck_tensor_wrap(ck_tensor **out, ck_dtype dtype, int rank,
                         const int64_t *shape, void *data);

/** Deep copy (a copy always owns its data). */
ck_status ck_tensor_copy(ck_tensor **out, const ck_tensor *t);

/** Changes the shape in place without moving data.  One dim may be -1 and
 *  is then inferred, as numpy.reshape does.  CK_VALUE_ERROR if the element
 *  count would change; the tensor is unchanged on error. */
ck_status ck_tensor_reshape(ck_tensor *t, int rank, const int64_t *shape);

/** New tensor with the values of `t` converted to `dtype` (C conversion
 *  rules; float to int truncates toward zero like numpy's astype). */
ck_status ck_tensor_cast(ck_tensor **out, const ck_tensor *t, ck_dtype dtype);

/** Frees the tensor and, if it owns it, its data.  NULL is fine. */
void ck_tensor_free(ck_tensor *t);

/** Element `i` (flat, row-major) of any dtype converted to double. */
double ck_tensor_get(const ck_tensor *t, int64_t i);

/** Writes a shape as Keras prints it, e.g. "(None, 3)" or "(2,)", into buf
 *  (always NUL-terminated; truncated to n bytes).  Returns buf. */
char *ck_shape_str(char *buf, size_t n, int rank, const int64_t *shape);

/* ======================================================================== */
/* NumPy .npy files                                                          */
/* ======================================================================== */

/** Reads a .npy file (format 1.0, 2.0, 3.0; little- or big-endian; C or
 *  Fortran order, converted to C order).  float32/float64/int32/int64 are
 *  kept; bool, int8, uint8, int16, uint16, uint32 are widened to int32 /
 *  int64 (uint32 to int64) and float16 to float32.  Anything malformed,
 *  truncated, an object array or another dtype gives CK_FORMAT_ERROR (or
 *  CK_IO_ERROR if the file cannot be read), never an overread. */
ck_status ck_npy_load(const char *path, ck_tensor **out);

/** Same as ck_npy_load from a memory buffer of `len` bytes. */
ck_status ck_npy_load_buffer(const void *buf, size_t len, ck_tensor **out);

/** Writes `t` as a .npy file (format 1.0, or 2.0 if the header needs it),
 *  little-endian, C order.  The file is written to a temporary name and
 *  renamed, so a failure never leaves a half-written file at `path`. */
ck_status ck_npy_save(const char *path, const ck_tensor *t);

/* ======================================================================== */
/* Ops: pure tensor functions                                                */
/* ======================================================================== */

/** The axes argument of batch_dot: Keras' None, an int, or a pair.
 *    count == 0: None (the default axes);
 *    count == 1: one int, used for both inputs (axes[0]);
 *    count == 2: the pair (axes[0], axes[1]).
 *  Negative axes count from the end.  Any other count is a value error
 *  (Keras: "Multiple target dimensions are not supported"). */
typedef struct ck_axes {
    int count;
    int axes[2];
} ck_axes;

/** Resolves the axes and computes the output shape of batch_dot for inputs
 *  of shapes (xr, xs) and (yr, ys) (dims may be -1, unknown), with every
 *  check of Keras' batch_dot in Keras' order: rank < 2, different batch
 *  sizes, the axes form, axis 0, an axis out of range, incompatible
 *  contracted dims.  On success writes the normalised non-negative axes to
 *  `resolved` (may be NULL) and the output rank and shape.  All errors are
 *  CK_VALUE_ERROR with a message that gives both shapes. */
ck_status ck_batch_dot_shape(int xr, const int64_t *xs, int yr,
                             const int64_t *ys, ck_axes axes,
                             int resolved[2], int *out_rank,
                             int64_t out_shape[CK_MAX_RANK]);

/** tf.keras 2.x backend.batch_dot: for each sample b,
 *  out[b] = tensordot(x[b], y[b], axes=(a0-1, a1-1)); a rank-1 result
 *  becomes (batch, 1).  Both ranks 2..8; both dtypes equal (else
 *  CK_TYPE_ERROR); output dtype = input dtype; integers exact (int64
 *  accumulation).  Floating products go through CBLAS.
 *  Allocates the result in *out. */
ck_status ck_batch_dot(const ck_tensor *x, const ck_tensor *y, ck_axes axes,
                       ck_tensor **out);

/** Same, into a preallocated tensor of exactly the output dtype and shape
 *  (CK_VALUE_ERROR otherwise).  Allocates nothing when no axis has to be
 *  moved (the contracted axes are first/last of the non-batch axes);
 *  otherwise a scratch copy of the permuted input. */
ck_status ck_batch_dot_into(const ck_tensor *x, const ck_tensor *y,
                            ck_axes axes, ck_tensor *out);

/** tf.math.l2_normalize: out = x * rsqrt(max(sum(x^2, axis), epsilon)),
 *  along one axis (negative counts from the end).  Floating dtypes only
 *  (CK_TYPE_ERROR otherwise).  Allocates the result in *out. */
ck_status ck_l2_normalize(const ck_tensor *x, int axis, double epsilon,
                          ck_tensor **out);

/** Same into a preallocated tensor of x's dtype and shape; out may be x. */
ck_status ck_l2_normalize_into(const ck_tensor *x, int axis, double epsilon,
                               ck_tensor *out);

/* ==== END OF FOUNDATION API ==== */

#ifdef __cplusplus
}
#endif

#endif /* CKERAS_H */
