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
 *   - No argument short of freed memory crashes the library: a NULL
 *     pointer where an object or an out-parameter is required gives
 *     CK_VALUE_ERROR "ck_fn: argument 'x' is NULL" (NULL is accepted where
 *     a declaration says so: option structs, destructors, optional
 *     outputs).  Functions that return a value rather than a status give a
 *     neutral value for a NULL object and record the same error: NULL for
 *     pointers and strings, 0 for counts, flags and dtypes, NaN for doubles;
 *     void functions do nothing but record it.
 *   - Threads: every object may be used from any thread, one thread at a
 *     time; distinct objects may be used in parallel (loading, building,
 *     saving, training distinct models).  One model may be predicted from
 *     several threads through one ck_predictor per thread.
 *   - Option structs: zero means the Keras default, and a boolean written
 *     true / false does what it says (see "Option conventions" below).
 */
#ifndef CKERAS_H
#define CKERAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CK_API marks the public functions: the library is built with
 * -fvisibility=hidden, so only what is declared here is exported from
 * libckeras.so.  Default visibility on a declaration is harmless for the
 * programs that include this header, so it is always on under GCC and
 * clang; define CK_API beforehand to override it (e.g. for a DLL). */
#ifndef CK_API
#if defined(__GNUC__) || defined(__clang__)
#define CK_API __attribute__((visibility("default")))
#else
#define CK_API
#endif
#endif

#define CK_VERSION_MAJOR 0
#define CK_VERSION_MINOR 1
#define CK_VERSION_PATCH 0
#define CK_VERSION_STRING "0.1.0"

/** Returns the library version, "MAJOR.MINOR.PATCH". */
CK_API const char *ck_version(void);

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
CK_API const char *ck_status_name(ck_status status);

/** The message of the last error on this thread ("" if none).  The pointer
 *  stays valid until the next ckeras call on this thread. */
CK_API const char *ck_last_error(void);

/** The status of the last error on this thread (CK_OK if none). */
CK_API ck_status ck_last_status(void);

/** Forgets the last error of this thread. */
CK_API void ck_clear_error(void);

/** Records an error on this thread and returns `status`, so that code can
 *  write `return ck_error(CK_VALUE_ERROR, "...", ...)`.  printf format.
 *  Exposed for layer authors; messages longer than 1 KiB are truncated. */
CK_API ck_status ck_error(ck_status status, const char *fmt, ...)
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
CK_API void ck_set_allocator(ck_alloc_fn fn, void *user);

/** Reads back the current allocator (the default one if none was set). */
CK_API void ck_get_allocator(ck_alloc_fn *fn, void **user);

/** Allocates through the current allocator.  NULL on failure (no error is
 *  recorded: callers turn NULL into CK_OUT_OF_MEMORY).  size 0 gives a
 *  valid unique pointer of 1 byte. */
CK_API void *ck_malloc(size_t size);
/** Like ck_malloc, and zeroes the block; checks n*size for overflow. */
CK_API void *ck_calloc(size_t n, size_t size);
/** Resizes a block from ck_malloc; NULL on failure (old block kept). */
CK_API void *ck_realloc(void *ptr, size_t size);
/** Frees a block from ck_malloc / ck_calloc / ck_realloc or any string the
 *  library hands back.  NULL is fine. */
CK_API void ck_free(void *ptr);
/** A ck_malloc'ed copy of a C string (NULL on failure or if s is NULL). */
CK_API char *ck_strdup(const char *s);

/* ======================================================================== */
/* Option conventions (every option struct)                                 */
/* ======================================================================== */
/*
 * Keras keyword arguments become option structs passed by pointer, e.g.
 * `ck_dense(&layer, &(ck_dense_opts){ .units = 4, .no_bias = true })`;
 * where a function allows it, NULL is the same as a zero struct.
 * - A zero-initialised option struct means "every Keras default".
 * - Booleans are `bool` and named so that `false` is Keras' default: an
 *   option whose Keras default is true is named for the other meaning
 *   (`no_bias`, `no_center`, `no_scale`, `frozen`, `non_trainable`,
 *   `no_shuffle`), so `.no_bias = true` says what it does and
 *   `.no_bias = false` is the default.
 * - A number for which 0 is a meaningful value that is not the default is
 *   a ck_opt_int / ck_opt_double: "not given" is the zero struct, a value
 *   is written `.seed = ck_int(0)` or `.epsilon = ck_double(0.0)`.
 *   Numbers whose 0 is the Keras default (threshold, rate) or is not a
 *   valid Keras value (units, batch_size, epochs) stay plain, with 0
 *   meaning the default.
 * - Lists with a count (axes / naxes) take count 0 as the Keras default.
 * - Out-parameters come first: ck_thing_new(&out, ...).
 * - Arrays of tensors a function only reads are `ck_tensor *const *`, so
 *   that a C or C++ `ck_tensor *in[]` (or `ck_tensor **`) passes without a
 *   cast; such functions never modify those tensors.
 * The header compiles as C11 and as C++11 or later, warning-free.
 */

/** An optional integer: set == false means "not given" (the default). */
typedef struct ck_opt_int {
    bool set;
    int64_t value;
} ck_opt_int;

/** An optional double: set == false means "not given" (the default). */
typedef struct ck_opt_double {
    bool set;
    double value;
} ck_opt_double;

/** A given integer option value, e.g. `.verbose = ck_int(2)`. */
static inline ck_opt_int ck_int(int64_t v)
{
    ck_opt_int o = {true, v};
    return o;
}

/** A given double option value, e.g. `.epsilon = ck_double(0.0)`. */
static inline ck_opt_double ck_double(double v)
{
    ck_opt_double o = {true, v};
    return o;
}

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

/** Deepest nesting of models inside models (a Sequential inside a Functional
 *  inside ...) that a model config may have: the default and highest value
 *  of CK_LIMIT_MODEL_DEPTH (ck_limit).  Deeper configs are a
 *  CK_FORMAT_ERROR naming the limit: building and running them would use
 *  stack in proportion to the depth.  Real models nest a few levels. */
#define CK_MAX_MODEL_DEPTH 32

/** Size in bytes of one element (0 for an invalid dtype). */
CK_API size_t ck_dtype_size(ck_dtype dtype);
/** Keras / numpy name: "float32", "float64", "int32", "int64" (or "invalid"). */
CK_API const char *ck_dtype_name(ck_dtype dtype);
/** Parses a Keras dtype name; CK_VALUE_ERROR for an unknown one. */
CK_API ck_status ck_dtype_from_name(const char *name, ck_dtype *out);
/** 1 for float32 and float64, else 0. */
CK_API int ck_dtype_is_floating(ck_dtype dtype);

/** A dense, contiguous, row-major tensor (ggml-style: the fields are public
 *  and may be read freely).  A dim of -1 means "unknown" (Keras' None); only
 *  symbolic tensors, which have data == NULL, have unknown dims. */
typedef struct ck_tensor {
    ck_dtype dtype;
    int rank;                       /**< 0 .. CK_MAX_RANK                  */
    int64_t shape[CK_MAX_RANK];     /**< dims; entries >= rank are 0      */
    int64_t size;                   /**< number of elements (product)     */
    void *data;                     /**< size * dtype_size bytes, or NULL;
                                         64-byte aligned when owned      */
    int owns_data;                  /**< 1 if the data is the tensor's own
                                         (freed with it), 0 if borrowed   */
    void *keras_history;            /**< symbolic tensors only (model/)   */
} ck_tensor;

/** Checks a shape (rank in 0..CK_MAX_RANK, dims >= 0) and computes its
 *  element count with overflow checks (the byte size of `dtype` must fit in
 *  int64 too).  `count` may be NULL.  CK_VALUE_ERROR on a bad shape. */
CK_API ck_status ck_shape_count(ck_dtype dtype, int rank, const int64_t *shape,
                         int64_t *count);

/** New zero-filled tensor.  `shape` may be NULL when rank == 0. */
CK_API ck_status ck_tensor_new(ck_tensor **out, ck_dtype dtype, int rank,
                        const int64_t *shape);

/** New tensor holding a copy of `data` (size * dtype_size bytes). */
CK_API ck_status ck_tensor_from_data(ck_tensor **out, ck_dtype dtype, int rank,
                              const int64_t *shape, const void *data);

/** New tensor that borrows `data` without copying.  The caller keeps
 *  ownership of `data` and must keep it alive as long as the tensor. */
CK_API ck_status ck_tensor_wrap(ck_tensor **out, ck_dtype dtype, int rank,
                         const int64_t *shape, void *data);

/** Deep copy (a copy always owns its data). */
CK_API ck_status ck_tensor_copy(ck_tensor **out, const ck_tensor *t);

/** Changes the shape in place without moving data.  One dim may be -1 and
 *  is then inferred, as numpy.reshape does.  CK_VALUE_ERROR if the element
 *  count would change; the tensor is unchanged on error. */
CK_API ck_status ck_tensor_reshape(ck_tensor *t, int rank, const int64_t *shape);

/** New tensor with the values of `t` converted to `dtype` (C conversion
 *  rules; float to int truncates toward zero like numpy's astype). */
CK_API ck_status ck_tensor_cast(ck_tensor **out, const ck_tensor *t, ck_dtype dtype);

/** Frees the tensor and, if it owns it, its data.  NULL is fine.  A
 *  symbolic tensor (from ck_input, ck_layer_apply, ck_model_input /
 *  ck_model_output) is owned by its layer's graph: it is left alone and a
 *  CK_VALUE_ERROR is recorded (read it with ck_last_status); release its
 *  layer with ck_layer_free instead. */
CK_API void ck_tensor_free(ck_tensor *t);

/** Element `i` (flat, row-major) of any dtype converted to double.  NULL,
 *  a tensor without data, or `i` outside [0, size) gives NaN and records a
 *  CK_VALUE_ERROR (a NaN element reads as NaN too: check ck_last_status
 *  after ck_clear_error when that matters). */
CK_API double ck_tensor_get(const ck_tensor *t, int64_t i);

/** Writes a shape as Keras prints it, e.g. "(None, 3)" or "(2,)", into buf
 *  (always NUL-terminated; truncated to n bytes).  Returns buf. */
CK_API char *ck_shape_str(char *buf, size_t n, int rank, const int64_t *shape);

/* ======================================================================== */
/* NumPy .npy files                                                          */
/* ======================================================================== */

/** Reads a .npy file (format 1.0, 2.0, 3.0; little- or big-endian; C or
 *  Fortran order, converted to C order).  float32/float64/int32/int64 are
 *  kept; bool, int8, uint8, int16, uint16, uint32 are widened to int32 /
 *  int64 (uint32 to int64) and float16 to float32.  Anything malformed,
 *  truncated, an object array or another dtype gives CK_FORMAT_ERROR (or
 *  CK_IO_ERROR if the file cannot be read), never an overread.  Like
 *  np.load: bytes after the last element are ignored, a key repeated in the
 *  header dict takes its last value, and Python 2's `3L` dims are read in
 *  1.0/2.0 headers.  Rank above CK_MAX_RANK is a format error.  The file is
 *  read whole into memory first (peak memory about twice the data). */
CK_API ck_status ck_npy_load(const char *path, ck_tensor **out);

/** Same as ck_npy_load from a memory buffer of `len` bytes (messages say
 *  "npy buffer" instead of the file name).  Never reads past buf + len. */
CK_API ck_status ck_npy_load_buffer(const void *buf, size_t len, ck_tensor **out);

/** Writes `t` as a .npy file (format 1.0, or 2.0 if the header needs it),
 *  little-endian on any host, C order, byte for byte what np.save writes.
 *  The file is written to a temporary name beside `path`, synced and
 *  renamed, so a failure never leaves a half-written file at `path` (the
 *  temporary file is removed).  CK_VALUE_ERROR for a tensor without data
 *  or with a bad shape, CK_TYPE_ERROR for an invalid dtype, CK_IO_ERROR if
 *  writing fails. */
CK_API ck_status ck_npy_save(const char *path, const ck_tensor *t);

/* ======================================================================== */
/* IDX files (MNIST, Fashion-MNIST)                                          */
/* ======================================================================== */

/** Reads an IDX file, gzip'd (`.gz`, as the datasets ship) or plain (told
 *  apart by content, not by name).  IDX: two zero bytes, a type byte, a rank
 *  byte (1..CK_MAX_RANK), one big-endian uint32 per dim, then big-endian
 *  elements in row-major order.  Element types become: 0x08 uint8, 0x09
 *  int8, 0x0B int16, 0x0C int32 -> CK_INT32; 0x0D float32 -> CK_FLOAT32;
 *  0x0E float64 -> CK_FLOAT64.  Images therefore arrive as int32 0..255:
 *  cast them (ck_tensor_cast) and scale them yourself, as the Keras
 *  tutorials divide by 255.
 *
 *  Every byte is checked: a bad magic, an unknown type, a bad rank, a short
 *  header or data, bytes after the data, a corrupt or cut-off gzip stream
 *  (bad CRC included) give CK_FORMAT_ERROR naming the file; a file that
 *  cannot be opened or read, CK_IO_ERROR.  Memory grows only with the data
 *  actually read, so a header announcing more than the file holds fails
 *  without allocating it.  *out receives a new tensor (untouched on
 *  error). */
CK_API ck_status ck_idx_load(const char *path, ck_tensor **out);

/* ======================================================================== */
/* Threads                                                                   */
/* ======================================================================== */

/** Sets how many threads ckeras' kernels may use: matrix products (Dense
 *  forward and backward, convolutions' products), batch_dot over batch
 *  items.  0 (the default) means the machine's online cores; values above
 *  64 are taken as 64.  The threads are ckeras' own, one pool per process,
 *  started on the first product large enough to gain from them (small
 *  products always run on the calling thread, so they are never slower).
 *  OpenBLAS is told to use one thread from ckeras' first product on: the
 *  splitting is ckeras', and two pools would fight for the cores.
 *
 *  Thread-safe.  Several threads may call ckeras at once: the pool serves
 *  one call at a time, and a call that finds it busy runs on its own
 *  thread (never waits for it).  Results are bit-identical whatever the
 *  number of threads.  CK_VALUE_ERROR when n < 0. */
CK_API ck_status ck_set_num_threads(int n);

/** The number of threads ckeras' kernels may use (ck_set_num_threads; the
 *  machine's online cores when it was never called or given 0). */
CK_API int ck_get_num_threads(void);

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

/** One int axis used for both inputs, Keras' `axes=a` (the zero struct
 *  `(ck_axes){0}` is None). */
static inline ck_axes ck_axes_one(int a)
{
    ck_axes r = {1, {a, a}};
    return r;
}

/** A pair of axes, Keras' `axes=(a, b)`. */
static inline ck_axes ck_axes_pair(int a, int b)
{
    ck_axes r = {2, {a, b}};
    return r;
}

/** Resolves the axes and computes the output shape of batch_dot for inputs
 *  of shapes (xr, xs) and (yr, ys) (dims may be -1, unknown), with every
 *  check of Keras' batch_dot in Keras' order:
 *    1. a rank < 2 (or > CK_MAX_RANK);
 *    2. different batch sizes (only when both are known);
 *    3. the axes form (ck_axes.count not 0, 1 or 2);
 *    4. after negative axes are wrapped once (axis += rank): an axis of 0
 *       (the message suggests expand_dims);
 *    5. an axis still out of range (Keras fails with an IndexError here;
 *       ckeras reports a value error);
 *    6. contracted dims that differ (only when both are known):
 *       "x.shape[a0] != y.shape[a1] (d1 != d2)";
 *    7. a result of rank > CK_MAX_RANK.
 *  On success writes the normalised axes (1 <= a < rank) to `resolved`
 *  (may be NULL) and the output rank and shape: the batch dim (x's, or y's
 *  when x's is unknown), x's other dims but a0, y's other dims but a1, and
 *  (batch, 1) when that leaves one dim.  When axes.count == 0 the axes are
 *  (xr-1, yr-2), or (xr-1, 1) when yr == 2.  All errors are CK_VALUE_ERROR
 *  with a message that gives both shapes in Keras form, e.g. (None, 3). */
CK_API ck_status ck_batch_dot_shape(int xr, const int64_t *xs, int yr,
                             const int64_t *ys, ck_axes axes,
                             int resolved[2], int *out_rank,
                             int64_t out_shape[CK_MAX_RANK]);

/** tf.keras 2.x backend.batch_dot: for each sample b,
 *  out[b] = tensordot(x[b], y[b], axes=(a0-1, a1-1)); a rank-1 result
 *  becomes (batch, 1).  Both ranks 2..8.  Checks, in order: the shape
 *  checks of ck_batch_dot_shape (CK_VALUE_ERROR), equal and valid dtypes
 *  (CK_TYPE_ERROR), then data present and no unknown dims (CK_VALUE_ERROR:
 *  symbolic tensors cannot be computed).
 *  Output dtype = input dtype.  Integers are exact with 64-bit
 *  accumulation that wraps on overflow: an int32 result is the low 32 bits
 *  of the sum, i.e. it wraps exactly as numpy's int32 matmul does, and an
 *  int64 result wraps modulo 2^64 as numpy's int64 matmul does.  Floating
 *  results differ from numpy's at the ulp level (summation order).
 *  Floating products go through CBLAS or, for small per-sample matrices
 *  and row-wise dots, through AVX2+FMA kernels (chosen at run time).  A
 *  contracted axis that is neither the first nor the last non-batch axis
 *  costs a temporary permuted copy of that input.  Thread-safe for
 *  distinct outputs.  Allocates the result in *out. */
CK_API ck_status ck_batch_dot(const ck_tensor *x, const ck_tensor *y, ck_axes axes,
                       ck_tensor **out);

/** Same, into a preallocated tensor of exactly the output dtype and shape
 *  (CK_VALUE_ERROR otherwise, out left untouched); `out` must not overlap x
 *  or y.  Allocates nothing when no axis has to be moved (each contracted
 *  axis is the first or the last of its input's non-batch axes); otherwise
 *  a scratch copy of the permuted input(s), freed before returning
 *  (CK_OUT_OF_MEMORY, out untouched, if that fails). */
CK_API ck_status ck_batch_dot_into(const ck_tensor *x, const ck_tensor *y,
                            ck_axes axes, ck_tensor *out);

/** tf.math.l2_normalize: out = x * rsqrt(max(sum(x^2, axis), epsilon)),
 *  along one axis (negative counts from the end; Keras' Dot uses epsilon
 *  1e-12).  Sums of squares and the scale are computed in double for both
 *  float32 and float64, and each product is rounded once to the input type
 *  (TensorFlow sums float32 in float32: results may differ by an ulp).  An
 *  all-zero slice gives zeros; NaNs propagate.  Floating dtypes only
 *  (CK_TYPE_ERROR otherwise); a bad axis, or a tensor without data, is a
 *  CK_VALUE_ERROR.  Allocates the result in *out. */
CK_API ck_status ck_l2_normalize(const ck_tensor *x, int axis, double epsilon,
                          ck_tensor **out);

/** Same into a preallocated tensor of x's dtype and shape (CK_VALUE_ERROR
 *  otherwise); out may be x (in place) but must not otherwise overlap it.
 *  Allocates nothing. */
CK_API ck_status ck_l2_normalize_into(const ck_tensor *x, int axis, double epsilon,
                               ck_tensor *out);


/* ======================================================================== */
/* Params: activations, initializers, regularizers, constraints             */
/* ======================================================================== */
/*
 * Keras' string ids and configs <-> C objects.  Every object is opaque,
 * created by a *_new / *_from_config function and released with the matching
 * *_free (NULL is fine).  Configs are handed back as JSON text in the tf.keras
 * 2.x legacy form, {"class_name": ..., "config": {...}}, written the way
 * Python's json.dumps writes them (", " and ": " separators, floats in
 * Python's shortest repr, e.g. 0.05, 1e-07); release the text with ck_free.
 * Reading accepts string ids, the legacy form, the new form
 * {"module": "keras.initializers", "class_name": ..., "config": ...,
 * "registered_name": ...} (TF2.13+, Keras 3) and Keras 1 / 2.2 names and
 * configs.  Unknown names and bad values give CK_VALUE_ERROR with Keras' text.
 */

/* ---- Activations ------------------------------------------------------- */

/** An activation function with its parameters. */
typedef struct ck_activation ck_activation;

/** Parameters of the parametrised activations.  Zero means the Keras
 *  default, so `(ck_activation_opts){0}` or NULL gives the plain function:
 *  - alpha (e.g. `.alpha = ck_double(0.1)`): relu's negative slope (not
 *    given: 0), elu's alpha (1), leaky_relu's slope (tf.nn default 0.2),
 *    celu's alpha (1);
 *  - max_value: relu's upper clip (not given: None);
 *  - threshold: relu's threshold (default 0);
 *  - axes / naxes: softmax and log_softmax axes; naxes == 0 means the Keras
 *    default axis -1, naxes == 1 an int axis, naxes > 1 a tuple of axes
 *    (negative axes count from the end);
 *  - approximate: gelu's tanh approximation (default false).
 *  Options an activation does not take are ignored. */
typedef struct ck_activation_opts {
    ck_opt_double alpha;
    ck_opt_double max_value;
    double threshold;
    int naxes;
    int axes[CK_MAX_RANK];
    bool approximate;
} ck_activation_opts;

/** Creates the activation named `name`: "linear", "relu", "elu", "selu",
 *  "softplus", "softsign", "sigmoid", "hard_sigmoid" (tf.keras:
 *  clip(0.2x+0.5, 0, 1)), "exponential", "tanh", "softmax", "swish", "silu",
 *  "gelu", "relu6", "leaky_relu", "mish", "log_softmax", plus "softmax_v2"
 *  (read as "softmax") and the Keras 3 extras "hard_silu" / "hard_swish",
 *  "hard_tanh", "log_sigmoid", "celu".  NULL or "" gives linear.  An
 *  unknown name gives CK_VALUE_ERROR "Unknown activation function: 'foo'".
 *  `opts` may be NULL (all defaults).  The object is released with
 *  ck_activation_free.
 *
 *  "hard_sigmoid" changed meaning in Keras 3: relu6(x + 3) / 6 =
 *  clip(x/6 + 0.5, 0, 1).  Names here are tf.keras'; configs and files are
 *  read by their own dialect: a .keras or .h5 file whose keras_version is
 *  3.x, or a config with Keras 3's marks (a "keras" / "keras.src.models.*"
 *  model module, DTypePolicy dtypes, {"args", "kwargs"} nodes, or the
 *  {"class_name": "function", "config": "hard_sigmoid"} form) gets Keras
 *  3's function; tf.keras 2.x, Keras 1-2 and unmarked configs the old one.
 *  ckeras writes tf.keras 2.x configs, where the plain name is the old
 *  function, so Keras 3's is written in Keras 3's function form: ckeras
 *  and Keras 3 read it back as Keras 3's function, and tf.keras refuses it
 *  ("Unknown activation function") instead of silently computing the
 *  other one.  "hard_silu" / "hard_swish" (x * hard_sigmoid(x), Keras 3's)
 *  have no tf.keras 2.x meaning to confuse. */
CK_API ck_status ck_activation_new(ck_activation **out, const char *name,
                            const ck_activation_opts *opts);

/** A copy of `a` (release with ck_activation_free). */
CK_API ck_status ck_activation_copy(ck_activation **out, const ck_activation *a);

/** Releases an activation; NULL is fine. */
CK_API void ck_activation_free(ck_activation *a);

/** The Keras name ("linear", "relu", "softmax", ...); never NULL.  The
 *  pointer lives as long as the activation. */
CK_API const char *ck_activation_name(const ck_activation *a);

/** The parameters the activation was made with (with the defaults filled
 *  in: alpha given for elu, celu and leaky_relu).  `opts` must not
 *  be NULL. */
CK_API void ck_activation_get_opts(const ck_activation *a, ck_activation_opts *opts);

/** Applies the activation to a float32 or float64 tensor `x`, writing into
 *  `out`, which must have the same dtype and shape (CK_VALUE_ERROR
 *  otherwise; CK_TYPE_ERROR for integer dtypes).  `out` may be `x` (in
 *  place).  Elementwise functions are computed in double and are safe for
 *  large |x| (softplus, sigmoid, elu, ... give no inf/nan where Keras gives
 *  a finite value).  softmax / log_softmax subtract the max along the axes;
 *  a rank <= 1 input gives CK_VALUE_ERROR ("Cannot apply softmax to a
 *  tensor that is 1D"), as in tf.keras 2.x.  Allocates nothing. */
CK_API ck_status ck_activation_apply(const ck_activation *a, const ck_tensor *x,
                              ck_tensor *out);

/** Fast path for Dense: applies the activation in place to a row-major
 *  (rows, cols) block of float32 or float64 values, exactly as
 *  ck_activation_apply on a (rows, cols) tensor: softmax and log_softmax
 *  use the configured axes of that 2-D view (the default -1 is the last
 *  axis).  Allocates nothing. */
CK_API ck_status ck_activation_apply_rows(const ck_activation *a, ck_dtype dtype,
                                   void *data, int64_t rows, int64_t cols);

/* ---- Random numbers ---------------------------------------------------- */

/** Seeds the calling thread's generator used by unseeded initializers (and
 *  by fit when no seed is given), like tf.random.set_seed.  The generator
 *  is xoshiro256** seeded through splitmix64, one per thread (C11
 *  _Thread_local), so threads building or loading models in parallel never
 *  share it; each thread's generator starts from the fixed seed 0 until it
 *  calls this, so runs are reproducible per thread. */
CK_API void ck_set_random_seed(uint64_t seed);

/** Keras' compute_fans(shape): rank 0 gives (1, 1), rank 1 (n, n), rank 2
 *  (shape[0], shape[1]), rank >= 3 multiplies both by the receptive field
 *  prod(shape[:-2]). */
CK_API void ck_compute_fans(int rank, const int64_t *shape, double *fan_in,
                     double *fan_out);

/* ---- Initializers ------------------------------------------------------ */

/** A weight initializer. */
typedef struct ck_initializer ck_initializer;

/** Creates an initializer from a string id or class name ("glorot_uniform",
 *  "GlorotUniform", "glorot_normal", "he_uniform", "he_normal",
 *  "lecun_uniform", "lecun_normal", "zeros", "ones", "constant",
 *  "random_normal", "random_uniform", "truncated_normal", "orthogonal",
 *  "identity", "variance_scaling", and the Keras 1/2 aliases "zero", "one",
 *  "normal", "uniform"), all with default parameters, or from JSON config
 *  text (a text starting with '{' or '"').  CK_VALUE_ERROR
 *  "Unknown initializer: 'foo'" for an unknown name. */
CK_API ck_status ck_initializer_new(ck_initializer **out, const char *identifier);

/** Creates an initializer from JSON config text: the legacy form, the new
 *  form (module / registered_name), or a string id in JSON quotes.  Config
 *  values are checked as Keras does (VarianceScaling: scale > 0, mode in
 *  fan_in/fan_out/fan_avg, distribution in truncated_normal /
 *  untruncated_normal / uniform / normal, which becomes truncated_normal).
 *  Unknown config keys give CK_TYPE_ERROR, except "dtype" (tf.keras
 *  2.2.4-tf files), which is ignored.  Malformed JSON: CK_FORMAT_ERROR.
 *  Integer-valued config numbers are written back as integers (Keras keeps
 *  the Python values: Constant's default is {"value": 0}). */
CK_API ck_status ck_initializer_from_config(ck_initializer **out,
                                     const char *json_text);

/** A copy of `init`. */
CK_API ck_status ck_initializer_copy(ck_initializer **out,
                              const ck_initializer *init);

/** The tf.keras 2.x class name ("GlorotUniform", "VarianceScaling", ...). */
CK_API const char *ck_initializer_class_name(const ck_initializer *init);

/** The tf.keras 2.x legacy-form config as JSON text, e.g.
 *  {"class_name": "GlorotUniform", "config": {"seed": null}}.  Keys in
 *  tf.keras' order.  Release with ck_free; NULL when out of memory. */
CK_API char *ck_initializer_config(const ck_initializer *init);

/** Fills `t` with fresh values, with fans from ck_compute_fans(t's shape).
 *  float32 / float64 for all; int32 / int64 are allowed for Zeros, Ones,
 *  Constant and RandomUniform (uniform integers in [minval, maxval)), else
 *  CK_VALUE_ERROR "Expected floating point type, got int32." (as Keras).
 *  Constant accepts a scalar or a (nested) list whose element count is 1
 *  or t's size.  Anything else is CK_VALUE_ERROR; t is untouched on every
 *  error.  Scratch memory only for Orthogonal.  A seeded initializer gives the same values on every call
 *  with the same shape (like TF2.x's stateless initializers); an unseeded
 *  one draws from the global generator (ck_set_random_seed).  Orthogonal
 *  on rank < 2 and Identity on a non-2-D shape give CK_VALUE_ERROR.
 *  Normals come from the polar method in double; truncated normals redraw
 *  values beyond 2 stddev. */
CK_API ck_status ck_initializer_fill(const ck_initializer *init, ck_tensor *t);

/** Releases an initializer; NULL is fine. */
CK_API void ck_initializer_free(ck_initializer *init);

/* ---- Regularizers ------------------------------------------------------ */

/** A weight regularizer: L1, L2 or L1L2. */
typedef struct ck_regularizer ck_regularizer;

/** Creates a regularizer from a string id ("l1" -> L1(0.01), "l2" ->
 *  L2(0.01), "l1_l2" -> L1L2(0.01, 0.01)), a class name ("L1", "L2",
 *  "L1L2" with class defaults 0.01, 0.01, 0 and 0), or JSON config text.
 *  Factors are stored as float32, as tf.keras does.  A null factor gives
 *  the default; the legacy kwarg "l" is accepted by L1 and L2; a non-number
 *  or non-finite factor gives CK_VALUE_ERROR. */
CK_API ck_status ck_regularizer_new(ck_regularizer **out,
                             const char *identifier_or_json);

/** Creates L1L2-style regularizers from numbers: `class_name` is "L1",
 *  "L2" or "L1L2" (the factor the class lacks must be 0). */
CK_API ck_status ck_regularizer_new_factors(ck_regularizer **out,
                                     const char *class_name, double l1,
                                     double l2);

/** A copy of `r`. */
CK_API ck_status ck_regularizer_copy(ck_regularizer **out, const ck_regularizer *r);

/** "L1", "L2" or "L1L2". */
CK_API const char *ck_regularizer_class_name(const ck_regularizer *r);

/** The factors, as float32 values widened to double (0 when absent). */
CK_API double ck_regularizer_l1(const ck_regularizer *r);
CK_API double ck_regularizer_l2(const ck_regularizer *r);

/** The legacy-form config text; the float32 factors print as tf.keras
 *  prints them, e.g. {"class_name": "L2", "config": {"l2":
 *  0.009999999776482582}}.  Release with ck_free; NULL when out of memory. */
CK_API char *ck_regularizer_config(const ck_regularizer *r);

/** The penalty l1*sum|x| + l2*sum x^2 (no 1/2 factor), accumulated in
 *  double, for a tensor of any dtype.  Allocates nothing. */
CK_API ck_status ck_regularizer_loss(const ck_regularizer *r, const ck_tensor *x,
                              double *loss);

/** Releases a regularizer; NULL is fine. */
CK_API void ck_regularizer_free(ck_regularizer *r);

/* ---- Constraints ------------------------------------------------------- */

/** A weight constraint: MaxNorm, NonNeg, UnitNorm, MinMaxNorm or
 *  RadialConstraint. */
typedef struct ck_constraint ck_constraint;

/** Creates a constraint from a class name ("MaxNorm", ...), an alias
 *  ("max_norm", "maxnorm", "non_neg", "nonneg", "unit_norm", "unitnorm",
 *  "min_max_norm", "radial_constraint"), with defaults MaxNorm(max_value=2,
 *  axis=0), UnitNorm(axis=0), MinMaxNorm(min_value=0, max_value=1, rate=1,
 *  axis=0), or JSON config text.  `axis` may be an int or a list of ints
 *  (Keras 1's "m" for MaxNorm's max_value is read too). */
CK_API ck_status ck_constraint_new(ck_constraint **out,
                            const char *identifier_or_json);

/** A copy of `c`. */
CK_API ck_status ck_constraint_copy(ck_constraint **out, const ck_constraint *c);

/** The class name ("MaxNorm", "NonNeg", ...). */
CK_API const char *ck_constraint_class_name(const ck_constraint *c);

/** The legacy-form config text; release with ck_free, NULL on OOM. */
CK_API char *ck_constraint_config(const ck_constraint *c);

/** Applies the constraint in place to a float32 / float64 weight (norms
 *  with eps = 1e-7 over the configured axes, which must be in range for
 *  w's rank, else CK_VALUE_ERROR; RadialConstraint needs rank 4 and
 *  NonNeg works on any dtype).  Allocates only for a
 *  norm over several axes or RadialConstraint's scratch. */
CK_API ck_status ck_constraint_apply(const ck_constraint *c, ck_tensor *w);

/** Releases a constraint; NULL is fine. */
CK_API void ck_constraint_free(ck_constraint *c);

/* ======================================================================== */
/* Layers                                                                    */
/* ======================================================================== */
/** A shape as Keras sees it: dims of -1 are unknown (None). */
typedef struct ck_shape {
    int rank;
    int64_t dims[CK_MAX_RANK];
} ck_shape;

/** A layer: opaque; concrete layers (Dense, Dot, ...) embed the base.  A
 *  layer is created by its constructor (ck_dense, ck_dot, ...) or by
 *  ck_layer_from_config, and released with ck_layer_free. */
typedef struct ck_layer ck_layer;

/** A weight (a Keras variable) owned by its layer. */
typedef struct ck_weight ck_weight;

/** Options every layer accepts (Keras' base Layer kwargs).  Put
 *  CK_LAYER_COMMON_OPTS inside a layer's option struct so that
 *  `.name`, `.frozen`, ... can be set directly.
 *  - name: NULL gives the automatic name (snake_case class name, then
 *    "_1", "_2", ... per prefix, as tf.keras 2.x);
 *  - frozen: true makes the layer non-trainable (Keras' trainable=False);
 *    false (the default) is trainable;
 *  - dtype: 0 gives float32 (the layer's variable and compute dtype;
 *    float32 or float64);
 *  - input_shape: rank > 0 records batch_input_shape =
 *    (batch_size or None,) + input_shape, as the Keras kwarg does;
 *  - batch_size: 0 gives None;
 *  - activity_regularizer: NULL, a Keras id ("l2") or a JSON config. */
#define CK_LAYER_COMMON_OPTS                                                 \
    const char *name;                                                        \
    bool frozen;                                                             \
    ck_dtype dtype;                                                          \
    ck_shape input_shape;                                                    \
    int64_t batch_size;                                                      \
    const char *activity_regularizer

/** The common options alone (what CK_LAYER_COMMON_OPTS adds to a layer's
 *  option struct). */
typedef struct ck_layer_opts {
    CK_LAYER_COMMON_OPTS;
} ck_layer_opts;

/** Drops the caller's reference to a layer; the layer, its weights and
 *  nodes are freed when no model or node holds it any more.  NULL is fine.
 *  Layers are reference-counted because a layer can be shared by several
 *  calls and models; ck_layer_free is the only release function. */
CK_API void ck_layer_free(ck_layer *layer);

/** Keras class name ("Dense"). */
CK_API const char *ck_layer_class_name(const ck_layer *layer);
/** The layer's name ("dense_1"). */
CK_API const char *ck_layer_name(const ck_layer *layer);
/** 1 if trainable. */
CK_API int ck_layer_trainable(const ck_layer *layer);
/** Freezes (0) or unfreezes (1) the layer, like `layer.trainable = x`;
 *  for a model the flag propagates to every layer in it. */
CK_API void ck_layer_set_trainable(ck_layer *layer, int trainable);
/** The layer's dtype (variable and compute dtype). */
CK_API ck_dtype ck_layer_dtype(const ck_layer *layer);
/** 1 once built (on the first call, or by ck_layer_build). */
CK_API int ck_layer_built(const ck_layer *layer);

/** Resets the automatic-name counters, like keras.backend.clear_session(). */
CK_API void ck_clear_session(void);

/** Builds the layer for inputs of the given shapes (batch dim first, -1 for
 *  unknown dims), like `layer.build(input_shape)`; n_inputs is 1 for
 *  single-input layers and 2 for Dot.  A built layer is not built again. */
CK_API ck_status ck_layer_build(ck_layer *layer, int n_inputs, const ck_shape *shapes);

/** Calls the layer on real tensors (Keras' eager `layer(inputs)`): checks
 *  the input spec, builds on the first call, casts floating inputs to the
 *  layer dtype (Dense casts integers too), computes, records the activity
 *  regularizer loss (tf.keras 2.x: divided by the batch size).
 *  outputs[0] receives a new tensor owned by the caller.  Inputs are not
 *  modified.  On error nothing is built or changed. */
CK_API ck_status ck_layer_call(ck_layer *layer, int n_inputs,
                        ck_tensor *const *inputs, ck_tensor **outputs);

/** Same with masks: `masks` (may be NULL, or hold NULL entries) are the
 *  input masks (int32 0/1 tensors; the recurrent layers skip the masked
 *  steps of masks[0]), `out_masks[0]` (may be NULL) receives the output
 *  mask from compute_mask (NULL for none; caller frees). */
CK_API ck_status ck_layer_call_masked(ck_layer *layer, int n_inputs,
                               ck_tensor *const *inputs,
                               ck_tensor *const *masks,
                               ck_tensor **outputs, ck_tensor **out_masks);

/** Same, writing into caller-provided output tensors that already have the
 *  output shape and dtype (a model's planned buffers; one per output, see
 *  ck_layer_output_count).  Allocates nothing
 *  for Dense and Dot (except Dot's permuted copy when an axis sits in the
 *  middle).  A call with one input and one output of the same dtypes and
 *  shapes as the layer's last successful one (its input not converted)
 *  skips the checks that call passed: they could only pass again (a
 *  custom layer, whose shapes come from user code, is checked every
 *  call). */
CK_API ck_status ck_layer_call_into(ck_layer *layer, int n_inputs,
                             ck_tensor *const *inputs,
                             ck_tensor *const *outputs);

/** `layer.compute_output_shape(input_shapes)`. */
CK_API ck_status ck_layer_compute_output_shape(const ck_layer *layer, int n_inputs,
                                        const ck_shape *in, ck_shape *out);

/** `layer.compute_mask(inputs, masks)`: *out_mask receives a new mask or
 *  NULL (no mask).  Dense passes the mask through, Dot drops it. */
CK_API ck_status ck_layer_compute_mask(const ck_layer *layer, int n_inputs,
                                ck_tensor *const *inputs,
                                ck_tensor *const *masks,
                                ck_tensor **out_mask);

/* --- weights -------------------------------------------------------------- */

/** Options of ck_layer_add_weight (Keras' add_weight).  Zero = default:
 *  name NULL is an error-free "Variable"; rank 0 is a scalar; dtype 0 is the
 *  layer dtype; initializer NULL is glorot_uniform for floats (zeros for
 *  ints); non_trainable true makes a non-trainable weight (Keras'
 *  trainable=False), false (the default) a trainable one.
 *  Initializer, regularizer and constraint are Keras ids or JSON configs. */
typedef struct ck_weight_opts {
    const char *name;
    ck_shape shape;
    ck_dtype dtype;
    const char *initializer;
    const char *regularizer;
    const char *constraint;
    bool non_trainable;
} ck_weight_opts;

/** Adds a weight to the layer (normally from a layer's build).  Its name
 *  becomes "<layer>/<name>:0".  *out (may be NULL) receives a borrowed
 *  pointer, valid while the layer lives. */
CK_API ck_status ck_layer_add_weight(ck_layer *layer, const ck_weight_opts *opts,
                              ck_weight **out);

/** Number of weights in `weights` order (trainable then non-trainable). */
CK_API int ck_layer_weight_count(const ck_layer *layer);
/** The i-th weight of `layer.weights` (NULL if out of range). */
CK_API ck_weight *ck_layer_weight(const ck_layer *layer, int i);
/** Number of `trainable_weights` (0 when the layer is frozen). */
CK_API int ck_layer_trainable_weight_count(const ck_layer *layer);
/** The i-th of `trainable_weights`. */
CK_API ck_weight *ck_layer_trainable_weight(const ck_layer *layer, int i);
/** Number of `non_trainable_weights` (all weights when frozen). */
CK_API int ck_layer_non_trainable_weight_count(const ck_layer *layer);
/** The i-th of `non_trainable_weights`. */
CK_API ck_weight *ck_layer_non_trainable_weight(const ck_layer *layer, int i);

/** Variable name, e.g. "dense/kernel:0". */
CK_API const char *ck_weight_name(const ck_weight *w);
/** The weight's value (borrowed; may be written in place). */
CK_API ck_tensor *ck_weight_value(const ck_weight *w);
/** 1 if created trainable (the variable's own flag). */
CK_API int ck_weight_trainable(const ck_weight *w);

/** `layer.count_params()`: CK_VALUE_ERROR ("You tried to call
 *  `count_params` on layer ..., but the layer isn't built") before build. */
CK_API ck_status ck_layer_count_params(const ck_layer *layer, int64_t *out);

/** `layer.get_weights()`: *out receives a ck_malloc'ed array of *n new
 *  tensors (copies) in `weights` order; free with ck_tensors_free. */
CK_API ck_status ck_layer_get_weights(const ck_layer *layer, ck_tensor ***out, int *n);

/** Frees an array of tensors from ck_layer_get_weights. */
CK_API void ck_tensors_free(ck_tensor **tensors, int n);

/** `layer.set_weights(list)`: the count and every shape are checked first
 *  (Keras' messages), values of another numeric dtype are converted; nothing
 *  is assigned unless all checks pass.  `values` are copied, not modified. */
CK_API ck_status ck_layer_set_weights(ck_layer *layer, int n, ck_tensor *const *values);

/** Keras' `weights=[...]` constructor argument: the values are copied and
 *  given to set_weights right after the layer's first build (at once if it
 *  is built already).  If they do not fit, that build fails with
 *  set_weights' error and the layer stays unbuilt. */
CK_API ck_status ck_layer_set_initial_weights(ck_layer *layer, int n, ck_tensor *const *values);

/** Applies each weight's constraint in place (what an optimizer does after
 *  an update). */
CK_API ck_status ck_layer_apply_constraints(ck_layer *layer);

/* --- losses --------------------------------------------------------------- */

/** `layer.losses`: the weight regularizer losses evaluated now, then the
 *  activity regularizer losses of the last call, then those added with
 *  ck_layer_add_loss.  *out receives a ck_malloc'ed array of *n values (NULL
 *  when n == 0); free with ck_free. */
CK_API ck_status ck_layer_losses(const ck_layer *layer, double **out, int *n);

/** A loss computed when `losses` is read (Keras' callable loss). */
typedef ck_status (*ck_loss_fn)(const ck_layer *layer, void *user, double *out);

/** `layer.add_loss(value)` for a constant (fn NULL) or a callable loss. */
CK_API ck_status ck_layer_add_loss(ck_layer *layer, ck_loss_fn fn, void *user,
                            double value);

/* --- configs -------------------------------------------------------------- */

/** `layer.get_config()` in tf.keras 2.x's wrapper, as JSON text:
 *  {"class_name": "Dense", "config": {...}} with tf.keras' key order and
 *  value encodings.  *out is ck_malloc'ed (ck_free it). */
CK_API ck_status ck_layer_get_config(const ck_layer *layer, char **out);

/** Makes a layer from a config: the wrapper {"class_name", "config"} (legacy
 *  or Keras 3 form with module / registered_name / build_config), through
 *  the class registry.  A build_config builds the layer at once.  Unknown
 *  class: CK_NOT_IMPLEMENTED naming it. */
CK_API ck_status ck_layer_from_config(const char *json, ck_layer **out);

/* --- Dense ---------------------------------------------------------------- */

/** keras.layers.Dense options; zero fields take Keras' defaults.
 *  units is required (> 0).  activation NULL is linear.  no_bias true is
 *  Keras' use_bias=False (no bias weight).  Initializers default to
 *  glorot_uniform / zeros.
 *  Initializer, regularizer and constraint fields take a Keras id
 *  ("he_normal", "l2", "max_norm") or a JSON config text. */
typedef struct ck_dense_opts {
    int64_t units;
    const char *activation;
    bool no_bias;
    const char *kernel_initializer;
    const char *bias_initializer;
    const char *kernel_regularizer;
    const char *bias_regularizer;
    const char *kernel_constraint;
    const char *bias_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_dense_opts;

/** Creates a Dense layer: outputs = activation(inputs . kernel + bias),
 *  contracting the last axis (rank >= 2). */
CK_API ck_status ck_dense(ck_layer **out, const ck_dense_opts *opts);

/* --- Dot ------------------------------------------------------------------ */

/** keras.layers.Dot options.  axes is required: ck_axes_one(a) for one
 *  int, ck_axes_pair(a, b) for a pair.  normalize: cosine proximity
 *  (L2-normalise each input along its dot axis, epsilon 1e-12; default
 *  false). */
typedef struct ck_dot_opts {
    ck_axes axes;
    bool normalize;
    CK_LAYER_COMMON_OPTS;
} ck_dot_opts;

/** Creates a Dot layer (a merge layer called on a list of 2 inputs). */
CK_API ck_status ck_dot(ck_layer **out, const ck_dot_opts *opts);

/* --- symbolic calls and the node history (functional graphs) -------------- */

/** Options of ck_input (Keras' Input()).  shape excludes the batch dim (-1
 *  for unknown dims); batch_size 0 is None; dtype 0 is float32 (int32 and
 *  int64 are allowed, e.g. indices for Embedding); name NULL gives
 *  "input_1", "input_2", ... */
typedef struct ck_input_opts {
    ck_shape shape;
    int64_t batch_size;
    ck_dtype dtype;
    const char *name;
} ck_input_opts;

/** Creates an InputLayer and returns its symbolic tensor (data NULL, batch
 *  dim -1).  The tensor is owned by the InputLayer, which the caller owns:
 *  release it with ck_layer_free(ck_tensor_layer(t)) (a model built on it
 *  keeps its own reference). */
CK_API ck_status ck_input(ck_tensor **out, const ck_input_opts *opts);

/** The layer that produced a symbolic tensor (its Keras history), or NULL
 *  for a concrete tensor.  Borrowed. */
CK_API ck_layer *ck_tensor_layer(const ck_tensor *t);

/** Calls a layer on symbolic tensors (Keras' functional call): checks and
 *  builds as ck_layer_call does, records a node and returns the symbolic
 *  output, computing nothing.  *output is borrowed: it lives as long as the
 *  layer.  The node keeps the layers that produced the inputs alive. */
CK_API ck_status ck_layer_apply(ck_layer *layer, int n_inputs, ck_tensor *const *inputs, ck_tensor **output);

/** Number of nodes (symbolic calls) of the layer; eager calls make none. */
CK_API int ck_layer_inbound_node_count(const ck_layer *layer);
/** Number of nodes of other layers that consume this layer's outputs. */
CK_API int ck_layer_outbound_node_count(const ck_layer *layer);

/** `layer.get_input_at(i)` / `get_output_at(i)`: the symbolic tensors of node
 *  i (borrowed array of *n tensors).  No node: CK_RUNTIME_ERROR ("has never
 *  been called"); i out of range: CK_VALUE_ERROR. */
CK_API ck_status ck_layer_get_input_at(const ck_layer *layer, int node_index, ck_tensor *const **tensors, int *n);
CK_API ck_status ck_layer_get_output_at(const ck_layer *layer, int node_index, ck_tensor *const **tensors, int *n);

/** `get_input_shape_at(i)` / `get_output_shape_at(i)` into shapes[max]. */
CK_API ck_status ck_layer_get_input_shape_at(const ck_layer *layer, int node_index, ck_shape *shapes, int max, int *n);
CK_API ck_status ck_layer_get_output_shape_at(const ck_layer *layer, int node_index, ck_shape *shapes, int max, int *n);

/** `get_input_mask_at(i)` / `get_output_mask_at(i)`: *n receives the
 *  number of tensors (their masks: ck_layer_input_masks_at /
 *  ck_layer_output_masks_at).  Errors as for get_input_at. */
CK_API ck_status ck_layer_get_input_mask_at(const ck_layer *layer, int node_index, int *n);
CK_API ck_status ck_layer_get_output_mask_at(const ck_layer *layer, int node_index, int *n);

/** `layer.input` / `layer.output`: node 0's tensors (tf.keras 2.x, even with
 *  several nodes); CK_ATTRIBUTE_ERROR if never called. */
CK_API ck_status ck_layer_input(const ck_layer *layer, ck_tensor *const **tensors, int *n);
CK_API ck_status ck_layer_output(const ck_layer *layer, ck_tensor *const **tensors, int *n);

/** `layer.input_shape` / `layer.output_shape`: the shapes if all nodes
 *  agree; CK_ATTRIBUTE_ERROR if never called or if the nodes differ. */
CK_API ck_status ck_layer_input_shape(const ck_layer *layer, ck_shape *shapes, int max, int *n);
CK_API ck_status ck_layer_output_shape(const ck_layer *layer, ck_shape *shapes, int max, int *n);

/* ======================================================================== */
/* More layers: core, merging, normalization, activation layers             */
/* ======================================================================== */
/*
 * Every constructor here returns a layer in *out (release it with
 * ck_layer_free), records Keras' error on a bad option and leaves *out
 * alone then.  `opts` may be NULL where every option has a default.
 * Options follow the conventions above: zero fields take Keras' defaults,
 * values whose 0 is meaningful are ck_opt_double / ck_opt_int, and
 * booleans are named so that false is Keras' default.  Each layer's
 * get_config writes tf.keras 2.x's keys in tf.keras' order, and
 * ck_layer_from_config also reads the Keras 1 and Keras 3 forms of them.
 * Keras 1 / 2.0's legacy "Merge" layer is read as the equivalent modern
 * layer (modes concat, sum, mul, ave, max, dot; others CK_NOT_IMPLEMENTED).
 */

/* --- Core layers ---------------------------------------------------------- */

/** keras.layers.Flatten options.  data_format NULL or "channels_last"
 *  (default), or "channels_first" (the channel axis 1 is moved last before
 *  flattening, as Keras does). */
typedef struct ck_flatten_opts {
    const char *data_format;
    CK_LAYER_COMMON_OPTS;
} ck_flatten_opts;

/** Flatten: (batch, d1, ..., dk) -> (batch, d1*...*dk); a rank-1 input
 *  (batch,) gives (batch, 1).  Needs rank >= 1; unknown dims give an
 *  unknown flattened dim.  No mask support (like tf.keras). */
CK_API ck_status ck_flatten(ck_layer **out, const ck_flatten_opts *opts);

/** keras.layers.Reshape options.  target_shape (required, rank >= 1) is
 *  the shape without the batch dim; at most one dim may be -1 (inferred). */
typedef struct ck_reshape_opts {
    ck_shape target_shape;
    CK_LAYER_COMMON_OPTS;
} ck_reshape_opts;

/** Reshape: (batch, ...) -> (batch,) + target_shape.  A size mismatch is
 *  CK_VALUE_ERROR "total size of new array must be unchanged, input_shape =
 *  [...], output_shape = [...]"; two -1 dims are a value error too. */
CK_API ck_status ck_reshape(ck_layer **out, const ck_reshape_opts *opts);

/** keras.layers.Dropout / AlphaDropout options: rate in [0, 1] (Dropout
 *  checks it: "Invalid value ... received for `rate`"); noise_shape rank 0
 *  is None (dims -1 are None entries); seed (not given: None), e.g.
 *  `.seed = ck_int(0)`, is kept for get_config. */
typedef struct ck_dropout_opts {
    double rate;
    ck_shape noise_shape;
    ck_opt_int seed;
    CK_LAYER_COMMON_OPTS;
} ck_dropout_opts;

/** Dropout: the identity at inference.  In training (ck_model_fit,
 *  train_on_batch) each element of the noise shape is dropped with
 *  probability `rate` and the kept values are scaled by 1 / (1 - rate), as
 *  tf.nn.dropout; the draws come from the fit's random stream (fit's seed),
 *  so they cannot equal TF's.  Masks pass through. */
CK_API ck_status ck_dropout(ck_layer **out, const ck_dropout_opts *opts);

/** AlphaDropout: the identity at inference.  In training, for 0 < rate < 1,
 *  dropped values become SELU's negative saturation -alpha * scale and an
 *  affine map restores zero mean and unit variance, as tf.keras 2.x.  Masks
 *  pass through. */
CK_API ck_status ck_alpha_dropout(ck_layer **out, const ck_dropout_opts *opts);

/** keras.layers.Activation options: activation is a Keras id ("relu",
 *  "softmax", ...) or a JSON config; NULL is linear. */
typedef struct ck_activation_layer_opts {
    const char *activation;
    CK_LAYER_COMMON_OPTS;
} ck_activation_layer_opts;

/** Activation: applies the activation function (see ck_activation_new);
 *  floating inputs (integer inputs only with "linear").  Masks pass
 *  through. */
CK_API ck_status ck_activation_layer(ck_layer **out, const ck_activation_layer_opts *opts);

/** keras.layers.Embedding options.  input_dim (vocabulary size) and
 *  output_dim are required (> 0).  embeddings_initializer NULL is
 *  "uniform" (RandomUniform(-0.05, 0.05)); regularizer and constraint are
 *  Keras ids or JSON configs.  mask_zero: true makes index 0 padding
 *  (an output mask input != 0), false (default) no mask.
 *  input_length 0 is None; when set, the layer's batch_input_shape is
 *  (None, input_length), else (None, None), as tf.keras records. */
typedef struct ck_embedding_opts {
    int64_t input_dim;
    int64_t output_dim;
    const char *embeddings_initializer;
    const char *embeddings_regularizer;
    const char *embeddings_constraint;
    bool mask_zero;
    int64_t input_length;
    CK_LAYER_COMMON_OPTS;
} ck_embedding_opts;

/** Embedding: out[..., :] = embeddings[index] for every index of the
 *  input, output shape input_shape + (output_dim,) and dtype the layer
 *  dtype.  Indices may be integers or floats of either precision, read as
 *  they are and truncated toward zero, like tf.cast.
 *  An index outside [0, input_dim) is CK_VALUE_ERROR "indices[i,j] = v is
 *  not in [0, input_dim)" (TF on CPU raises InvalidArgumentError).  With
 *  mask_zero the output mask is an int32 0/1 tensor of the input's shape
 *  (input != 0).  One weight: "<name>/embeddings:0" (input_dim, output_dim). */
CK_API ck_status ck_embedding(ck_layer **out, const ck_embedding_opts *opts);

/* --- Merging layers ------------------------------------------------------- */

/** Options of the elementwise merge layers (only the common ones). */
typedef struct ck_merge_opts {
    CK_LAYER_COMMON_OPTS;
} ck_merge_opts;

/** The elementwise merge layers, called on a list of inputs
 *  (ck_layer_call with n >= 1; Subtract exactly 2).  The batch dims must
 *  agree ("Cannot merge tensors with different batch sizes"); the other
 *  dims broadcast like numpy, right-aligned, with Keras' check "Inputs have
 *  incompatible shapes".  All inputs must have one dtype after the float
 *  autocast (CK_TYPE_ERROR otherwise).  Integers wrap around like TF.
 *  The output mask is the AND of the given input masks (NULL if none).
 *    Add: sum; Subtract: x0 - x1; Multiply: product; Average: sum / n
 *    (integer inputs give float64, like TF's true division); Maximum /
 *    Minimum: elementwise max / min (NaN propagates). */
CK_API ck_status ck_add(ck_layer **out, const ck_merge_opts *opts);
CK_API ck_status ck_subtract(ck_layer **out, const ck_merge_opts *opts);
CK_API ck_status ck_multiply(ck_layer **out, const ck_merge_opts *opts);
CK_API ck_status ck_average(ck_layer **out, const ck_merge_opts *opts);
CK_API ck_status ck_maximum(ck_layer **out, const ck_merge_opts *opts);
CK_API ck_status ck_minimum(ck_layer **out, const ck_merge_opts *opts);

/** keras.layers.Concatenate options: axis (not given: -1; `.axis =
 *  ck_int(0)` concatenates along the batch). */
typedef struct ck_concatenate_opts {
    ck_opt_int axis;
    CK_LAYER_COMMON_OPTS;
} ck_concatenate_opts;

/** Concatenate: joins a list of inputs of one rank and dtype along `axis`;
 *  every other dim must match (unknown dims are skipped), else
 *  CK_VALUE_ERROR "A `Concatenate` layer requires inputs with matching
 *  shapes except for the concatenation axis".  Masks: each input mask is
 *  widened to its input's rank (all ones for a missing one), concatenated
 *  along `axis` and reduced with AND over the last axis, as tf.keras does. */
CK_API ck_status ck_concatenate(ck_layer **out, const ck_concatenate_opts *opts);

/* --- Normalization layers ------------------------------------------------- */

/** keras.layers.BatchNormalization options.
 *  - axes / naxes: naxes 0 is the default axis -1, 1 an int axis, > 1 a
 *    list of axes;
 *  - momentum (not given: 0.99) and epsilon (not given: 0.001), any value
 *    Keras allows, 0 included: `.epsilon = ck_double(0)`;
 *  - no_center / no_scale: true for Keras' center=False / scale=False (no
 *    beta / no gamma);
 *  - initializers (NULL: "zeros" for beta and moving_mean, "ones" for
 *    gamma and moving_variance), regularizers and constraints as Keras ids
 *    or JSON configs. */
typedef struct ck_batch_normalization_opts {
    int naxes;
    int axes[CK_MAX_RANK];
    ck_opt_double momentum;
    ck_opt_double epsilon;
    bool no_center;
    bool no_scale;
    const char *beta_initializer;
    const char *gamma_initializer;
    const char *moving_mean_initializer;
    const char *moving_variance_initializer;
    const char *beta_regularizer;
    const char *gamma_regularizer;
    const char *beta_constraint;
    const char *gamma_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_batch_normalization_opts;

/** BatchNormalization.  At inference:
 *  y = (x - moving_mean) / sqrt(moving_variance + epsilon) * gamma + beta,
 *  per position of the normalised axes.  In training (ck_model_fit,
 *  train_on_batch) it normalises with the batch mean and biased variance
 *  over every other axis and updates the moving statistics in place, as
 *  tf.keras 2.15: moving = moving * momentum + batch_stat * (1 - momentum),
 *  where the fused path tf.keras picks (one axis, 1 or last, of a rank-4 /
 *  rank-5 float32 input) updates moving_variance with the Bessel-corrected
 *  batch variance n / (n - 1); a frozen layer stays in inference mode and
 *  updates nothing (tf.keras 2.x).  Weights in Keras' order: gamma
 *  and beta (trainable, when scale / center), moving_mean and
 *  moving_variance (non-trainable), of shape (C,) for one axis or the
 *  input rank with 1 on the other dims for several.  Build checks the
 *  axes ("Invalid value for `axis` argument", "Duplicate axis", "Input has
 *  undefined `axis` dimension"); calls then need the built rank and axis
 *  dims.  Floating inputs only; masks pass through.  get_config writes
 *  the axis as given before build and as the list of non-negative axes
 *  after, like tf.keras.  Configs with renorm, virtual_batch_size or
 *  adjustment set give CK_NOT_IMPLEMENTED. */
CK_API ck_status ck_batch_normalization(ck_layer **out, const ck_batch_normalization_opts *opts);

/** keras.layers.Normalization options.
 *  - axes / naxes: naxes 0 is the default axis -1, 1 an int axis, > 1 a
 *    tuple; axis_none set means axis=None (one mean for everything);
 *  - mean / variance: NULL (both) gives adaptable weights "mean",
 *    "variance" (float, the kept dims) and "count" (int64 scalar), all
 *    non-trainable, filled by ck_layer_set_weights; else n_values numbers
 *    each (1: a scalar, broadcast; else one per kept position);
 *  - invert: computes the inverse transform. */
typedef struct ck_normalization_opts {
    int naxes;
    int axes[CK_MAX_RANK];
    bool axis_none;
    const double *mean;
    const double *variance;
    int64_t n_values;
    bool invert;
    CK_LAYER_COMMON_OPTS;
} ck_normalization_opts;

/** Normalization: y = (x - mean) / max(sqrt(variance), 1e-7) (TF2.x's
 *  backend.epsilon() floor), or mean + x * max(sqrt(variance), 1e-7) with
 *  invert.  Any input dtype is cast to the layer dtype.  Build errors:
 *  "All `axis` values must be in the range [-ndim, ndim)", "All `axis`
 *  values to be kept must have known shape". */
CK_API ck_status ck_normalization(ck_layer **out, const ck_normalization_opts *opts);

/* --- Activation layers ---------------------------------------------------- */

/** keras.layers.ReLU options: max_value (not given: None; e.g. `.max_value
 *  = ck_double(6)`, must be >= 0), negative_slope >= 0 and threshold >= 0
 *  (both default 0). */
typedef struct ck_relu_layer_opts {
    ck_opt_double max_value;
    double negative_slope;
    double threshold;
    CK_LAYER_COMMON_OPTS;
} ck_relu_layer_opts;

/** ReLU: backend.relu(x, negative_slope, max_value, threshold) with the
 *  parameters rounded to float32 (tf.keras' cast_to_floatx, which also
 *  shows in get_config: 0.2 is written 0.20000000298023224). */
CK_API ck_status ck_relu_layer(ck_layer **out, const ck_relu_layer_opts *opts);

/** keras.layers.LeakyReLU options: alpha (not given: 0.3; Keras 3 calls it
 *  negative_slope), e.g. `.alpha = ck_double(0.1)`. */
typedef struct ck_leaky_relu_opts {
    ck_opt_double alpha;
    CK_LAYER_COMMON_OPTS;
} ck_leaky_relu_opts;

/** LeakyReLU: x if x > 0 else alpha * x (alpha as float32). */
CK_API ck_status ck_leaky_relu(ck_layer **out, const ck_leaky_relu_opts *opts);

/** keras.layers.ELU options: alpha (not given: 1.0). */
typedef struct ck_elu_layer_opts {
    ck_opt_double alpha;
    CK_LAYER_COMMON_OPTS;
} ck_elu_layer_opts;

/** ELU: x if x > 0 else alpha * (exp(x) - 1) (alpha as float32). */
CK_API ck_status ck_elu_layer(ck_layer **out, const ck_elu_layer_opts *opts);

/** keras.layers.ThresholdedReLU options: theta (not given: 1.0; must be
 *  >= 0), e.g. `.theta = ck_double(0)`. */
typedef struct ck_thresholded_relu_opts {
    ck_opt_double theta;
    CK_LAYER_COMMON_OPTS;
} ck_thresholded_relu_opts;

/** ThresholdedReLU: x if x > theta else 0 (theta as float32). */
CK_API ck_status ck_thresholded_relu(ck_layer **out, const ck_thresholded_relu_opts *opts);

/** keras.layers.Softmax options: axes / naxes as for BatchNormalization
 *  (naxes 0: axis -1; > 1: softmax over several axes at once). */
typedef struct ck_softmax_layer_opts {
    int naxes;
    int axes[CK_MAX_RANK];
    CK_LAYER_COMMON_OPTS;
} ck_softmax_layer_opts;

/** Softmax layer: exp(x - max) / sum along the axes (any rank >= 1, unlike
 *  the softmax activation, as tf.keras' layer uses backend.softmax).
 *  Floating inputs only.  (Keras' optional `mask` call argument is not
 *  supported: the base call does not hand masks to the layer.) */
CK_API ck_status ck_softmax_layer(ck_layer **out, const ck_softmax_layer_opts *opts);

/* --- Convolution and pooling layers -------------------------------------- */

/** keras.layers.Conv2D options; zero fields take Keras' defaults.
 *  - filters (required, > 0): the number of output channels;
 *  - kernel_size (required): {kh, kw}, or {k} (second 0) for k x k, like
 *    Keras' int form; strides and dilation_rate likewise ({0, 0}: (1, 1));
 *    strides > 1 together with dilation_rate > 1 is a CK_VALUE_ERROR, as
 *    in Keras;
 *  - padding: NULL / "valid" or "same" (case-insensitive); "causal" is a
 *    CK_VALUE_ERROR for 2D layers;
 *  - data_format: NULL / "channels_last" (inputs (batch, rows, cols,
 *    channels)) or "channels_first" ((batch, channels, rows, cols));
 *  - groups: 0 or 1, or a divisor of filters and of the input channels:
 *    group g's filters read only its block of channels (Keras' grouped
 *    convolution; such a layer is computed by the N-d engine of Conv1D);
 *  - activation NULL is linear; no_bias true is Keras' use_bias=False;
 *  - initializers default to glorot_uniform / zeros; initializer,
 *    regularizer and constraint fields take a Keras id or a JSON config. */
typedef struct ck_conv2d_opts {
    int64_t filters;
    int64_t kernel_size[2];
    int64_t strides[2];
    const char *padding;
    const char *data_format;
    int64_t dilation_rate[2];
    int64_t groups;
    const char *activation;
    bool no_bias;
    const char *kernel_initializer;
    const char *bias_initializer;
    const char *kernel_regularizer;
    const char *bias_regularizer;
    const char *kernel_constraint;
    const char *bias_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_conv2d_opts;

/** Conv2D: outputs = activation(conv2d(inputs, kernel) + bias), a
 *  cross-correlation as in TF.  Inputs of rank >= 4 (leading dims beyond
 *  the batch are batch dims too); integer inputs are cast to the layer
 *  dtype.  Output rows / cols follow conv_utils.conv_output_length:
 *  "valid" gives (in - dilated_kernel) // stride + 1 (0 is allowed, a
 *  negative size is Keras' CK_VALUE_ERROR "One of the dimensions in the
 *  output is <= 0 ..."), "same" gives ceil(in / stride) with TF's zero
 *  padding (the extra row / column at the bottom / right).  Build needs a
 *  known channel dim and creates "<name>/kernel:0" of shape (kh, kw,
 *  in_channels, filters) then "<name>/bias:0" (filters,); later calls must
 *  have that channel count.  The activation (softmax included) applies to
 *  the last axis of the output, as Keras' does.  Configs: tf.keras 2.x
 *  keys, Keras 3's, and Keras 1's Convolution2D (nb_filter, nb_row,
 *  nb_col, subsample, border_mode, dim_ordering "tf" / "th", init, bias,
 *  W_ / b_ regularizers and constraints; Keras 1 files' "th" kernels
 *  (filters, stack, rows, cols) are transposed when loaded, and flipped
 *  when the file's backend was Theano).  A call allocates an im2col
 *  scratch buffer of at most 2^20 elements (none for a 1x1 kernel with
 *  stride 1). */
CK_API ck_status ck_conv2d(ck_layer **out, const ck_conv2d_opts *opts);

/** keras.layers.MaxPooling2D options: pool_size {0, 0} is (2, 2) and {k}
 *  is (k, k); strides {0, 0} is pool_size (Keras' None); padding and
 *  data_format as for Conv2D. */
typedef struct ck_max_pooling2d_opts {
    int64_t pool_size[2];
    int64_t strides[2];
    const char *padding;
    const char *data_format;
    CK_LAYER_COMMON_OPTS;
} ck_max_pooling2d_opts;

/** MaxPooling2D: the maximum of each window (rank-4 inputs, any dtype;
 *  floating inputs are cast to the layer dtype, integers keep theirs; a
 *  NaN in a window gives NaN).  Output size as Conv2D's with dilation 1;
 *  "same" pads with -inf, so padded positions never win.  No weights.
 *  Configs also read Keras 1's border_mode and dim_ordering. */
CK_API ck_status ck_max_pooling2d(ck_layer **out, const ck_max_pooling2d_opts *opts);

/* --- Pooling and reshaping layers ----------------------------------------- */
/*
 * Spatial layers take inputs of rank nd + 2: (batch, dims..., channels)
 * with data_format NULL / "channels_last", (batch, channels, dims...) with
 * "channels_first" (Keras 1's dim_ordering "tf" / "th" in configs).  Every
 * one has a backward pass (ck_model_fit) and reads the configs of tf.keras
 * 2.x, Keras 3 and Keras 1 (pool_length, stride, border_mode, length,
 * dim_ordering).  Bad options give Keras' errors: "The `pool_size`
 * argument must be a tuple of 1 integers. Received: ...", wrong input
 * ranks "expected ndim=3, found ndim=2".  Tuple options follow Conv2D's:
 * all zero is the Keras default, {k} (the rest 0) is k on every dim. */

/** Options of the windowed pooling layers (MaxPooling1D / 3D,
 *  AveragePooling1D / 2D / 3D; MaxPooling2D has ck_max_pooling2d_opts).
 *  Only the first nd entries of pool_size / strides are used:
 *  - pool_size: zeros give 2 per dim;
 *  - strides: zeros give pool_size (Keras' None); a 0 stride is a
 *    CK_VALUE_ERROR;
 *  - padding NULL / "valid" or "same"; data_format as above. */
typedef struct ck_pooling_opts {
    int64_t pool_size[3];
    int64_t strides[3];
    const char *padding;
    const char *data_format;
    CK_LAYER_COMMON_OPTS;
} ck_pooling_opts;

/** Windowed pooling: the maximum or the mean of each window.  Output
 *  lengths as Conv2D's with dilation 1 ("valid": (in - pool) // stride + 1,
 *  "same": ceil(in / stride)).  "same" windows are clipped to the input:
 *  max pooling never picks a padded position and average pooling divides
 *  by the number of positions inside the input, as TF's AvgPool.  Max
 *  pooling takes any dtype (floating inputs cast to the layer dtype) and
 *  lets NaN win; average pooling needs floating inputs.  Gradients as TF:
 *  max pooling sends each output's gradient to the first maximum of its
 *  window, average pooling spreads it over the window.  No weights, no
 *  masks. */
CK_API ck_status ck_max_pooling1d(ck_layer **out, const ck_pooling_opts *opts);
CK_API ck_status ck_average_pooling1d(ck_layer **out, const ck_pooling_opts *opts);
CK_API ck_status ck_average_pooling2d(ck_layer **out, const ck_pooling_opts *opts);
CK_API ck_status ck_max_pooling3d(ck_layer **out, const ck_pooling_opts *opts);
CK_API ck_status ck_average_pooling3d(ck_layer **out, const ck_pooling_opts *opts);

/** Options of the global pooling layers: data_format as above; keepdims
 *  true keeps the spatial dims as 1s. */
typedef struct ck_global_pooling_opts {
    const char *data_format;
    bool keepdims;
    CK_LAYER_COMMON_OPTS;
} ck_global_pooling_opts;

/** Global pooling: the mean or the maximum over every spatial position,
 *  per channel: (batch, channels), or the input rank with keepdims.
 *  Floating inputs.  The max's gradient is split between equal maxima (TF's
 *  reduce_max gradient).  GlobalAveragePooling1D with a masked input
 *  averages the unmasked steps only, as Keras (sum(x * mask) / sum(mask):
 *  NaN for a row with every step masked), in predict and in training; its
 *  output has no mask.  The other classes refuse masks, as in Keras. */
CK_API ck_status ck_global_average_pooling1d(ck_layer **out, const ck_global_pooling_opts *opts);
CK_API ck_status ck_global_average_pooling2d(ck_layer **out, const ck_global_pooling_opts *opts);
CK_API ck_status ck_global_average_pooling3d(ck_layer **out, const ck_global_pooling_opts *opts);
CK_API ck_status ck_global_max_pooling1d(ck_layer **out, const ck_global_pooling_opts *opts);
CK_API ck_status ck_global_max_pooling2d(ck_layer **out, const ck_global_pooling_opts *opts);
CK_API ck_status ck_global_max_pooling3d(ck_layer **out, const ck_global_pooling_opts *opts);

/** UpSampling1D / 2D / 3D options:
 *  - size: zeros give 2 per dim (UpSampling1D uses size[0]);
 *  - data_format (2D, 3D only; UpSampling1D works on axis 1 of (batch,
 *    steps, features) and gives CK_TYPE_ERROR for it, as Keras);
 *  - interpolation (2D only): NULL / "nearest" or "bilinear"; Keras' other
 *    tf.image methods ("bicubic", "area", "lanczos3", "lanczos5",
 *    "gaussian", "mitchellcubic") are CK_NOT_IMPLEMENTED, unknown names
 *    Keras' CK_NOT_IMPLEMENTED "Value not recognized for `interpolation`". */
typedef struct ck_up_sampling_opts {
    int64_t size[3];
    const char *data_format;
    const char *interpolation;
    CK_LAYER_COMMON_OPTS;
} ck_up_sampling_opts;

/** UpSampling: "nearest" repeats each element size[i] times along each
 *  spatial dim (any dtype); "bilinear" is tf.image.resize's bilinear of
 *  TF 2.x (half-pixel centres, no corner alignment, interpolation weights
 *  in float32 as TF; floating inputs).  Gradients as TF's. */
CK_API ck_status ck_up_sampling1d(ck_layer **out, const ck_up_sampling_opts *opts);
CK_API ck_status ck_up_sampling2d(ck_layer **out, const ck_up_sampling_opts *opts);
CK_API ck_status ck_up_sampling3d(ck_layer **out, const ck_up_sampling_opts *opts);

/** ZeroPadding1D / 2D / 3D options: padding[i] = {before, after} of
 *  spatial dim i (ck_opt_int, since 0 is a real amount).  Entries not
 *  given are 1 (Keras' default), except that giving padding[0][0] alone
 *  pads every side by it (Keras' int form):
 *  `.padding = {{ck_int(2)}}` is padding=2, `.padding = {{ck_int(1),
 *  ck_int(2)}, {ck_int(0), ck_int(0)}}` is ((1, 2), (0, 0)).  Negative
 *  amounts are Keras' CK_VALUE_ERROR.  data_format: 2D / 3D only. */
typedef struct ck_zero_padding_opts {
    ck_opt_int padding[3][2];
    const char *data_format;
    CK_LAYER_COMMON_OPTS;
} ck_zero_padding_opts;

/** ZeroPadding: zeros added before and after each spatial dim (any
 *  dtype). */
CK_API ck_status ck_zero_padding1d(ck_layer **out, const ck_zero_padding_opts *opts);
CK_API ck_status ck_zero_padding2d(ck_layer **out, const ck_zero_padding_opts *opts);
CK_API ck_status ck_zero_padding3d(ck_layer **out, const ck_zero_padding_opts *opts);

/** Cropping1D / 2D / 3D options: cropping[i] = {before, after} as for
 *  ZeroPadding; entries not given take Keras' defaults (1 for Cropping1D
 *  and Cropping3D, 0 for Cropping2D). */
typedef struct ck_cropping_opts {
    ck_opt_int cropping[3][2];
    const char *data_format;
    CK_LAYER_COMMON_OPTS;
} ck_cropping_opts;

/** Cropping: removes the given amounts from each spatial dim (any dtype).
 *  Cropping1D / 2D refuse to crop a whole dim (Keras' CK_VALUE_ERROR
 *  "... must be greater than the input shape"); Cropping3D may give an
 *  empty dim. */
CK_API ck_status ck_cropping1d(ck_layer **out, const ck_cropping_opts *opts);
CK_API ck_status ck_cropping2d(ck_layer **out, const ck_cropping_opts *opts);
CK_API ck_status ck_cropping3d(ck_layer **out, const ck_cropping_opts *opts);

/** keras.layers.RepeatVector options: n (required, > 0). */
typedef struct ck_repeat_vector_opts {
    int64_t n;
    CK_LAYER_COMMON_OPTS;
} ck_repeat_vector_opts;

/** RepeatVector: (batch, features) -> (batch, n, features). */
CK_API ck_status ck_repeat_vector(ck_layer **out, const ck_repeat_vector_opts *opts);

/** keras.layers.Permute options: dims[0 .. ndims-1], a permutation of 1 ..
 *  ndims (axis 0, the batch, stays); anything else is Keras'
 *  CK_VALUE_ERROR "Invalid permutation argument `dims` for Permute Layer". */
typedef struct ck_permute_opts {
    int ndims;
    int dims[CK_MAX_RANK];
    CK_LAYER_COMMON_OPTS;
} ck_permute_opts;

/** Permute: output axis i + 1 is input axis dims[i] (inputs of rank
 *  ndims + 1, any dtype). */
CK_API ck_status ck_permute(ck_layer **out, const ck_permute_opts *opts);

/** keras.layers.LayerNormalization options:
 *  - axes / naxes: naxes 0 is axis -1; 1 an int axis; > 1 a list;
 *  - epsilon (not given: 0.001), e.g. `.epsilon = ck_double(1e-6)`;
 *  - no_center / no_scale: Keras' center=False / scale=False (no beta /
 *    no gamma);
 *  - initializers (NULL: "zeros" for beta, "ones" for gamma), regularizers
 *    and constraints as Keras ids or JSON configs. */
typedef struct ck_layer_normalization_opts {
    int naxes;
    int axes[CK_MAX_RANK];
    ck_opt_double epsilon;
    bool no_center;
    bool no_scale;
    const char *beta_initializer;
    const char *gamma_initializer;
    const char *beta_regularizer;
    const char *gamma_regularizer;
    const char *beta_constraint;
    const char *gamma_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_layer_normalization_opts;

/** LayerNormalization: each sample normalised over the axes with its own
 *  mean and biased variance (accumulated in double), times gamma plus
 *  beta, as tf.keras 2.15 (both its fused and non-fused paths compute
 *  these moments).  Build validates the axes as BatchNormalization
 *  ("Invalid value for `axis` argument", "Duplicate axis") and creates
 *  "gamma" then "beta", of the axis dims in `axis` order.  get_config
 *  writes the axis as given before build and as a list after.  Keras 3's
 *  rms_scaling=True is CK_NOT_IMPLEMENTED.  Floating inputs; masks pass
 *  through. */
CK_API ck_status ck_layer_normalization(ck_layer **out, const ck_layer_normalization_opts *opts);

/* --- Recurrent layers ----------------------------------------------------- */

/** Options of keras.layers.SimpleRNN, LSTM and GRU (one struct for the
 *  three; a field a class does not take must stay zero, else
 *  CK_TYPE_ERROR "Keyword argument not understood", as Keras).
 *  - units (required, > 0): the size of the state and of the output;
 *  - activation: NULL is "tanh" (Keras' default); "linear" is Keras'
 *    activation=None;
 *  - recurrent_activation (LSTM, GRU): NULL is "sigmoid";
 *  - no_bias: true is Keras' use_bias=False (no bias weight);
 *  - initializers: NULL gives glorot_uniform (kernel), orthogonal
 *    (recurrent_kernel), zeros (bias); regularizers and constraints of the
 *    three weights: NULL for none; each a Keras id or JSON config;
 *  - no_unit_forget_bias (LSTM): true is unit_forget_bias=False (by default
 *    the forget gate's bias starts at 1);
 *  - dropout, recurrent_dropout: the fraction of the inputs / of the
 *    recurrent state dropped in training (one mask per sequence, shared
 *    by the time steps and, as in Keras' implementation 2, by the gates);
 *    values outside (0, 1) drop nothing (Keras clips them to [0, 1] and
 *    ignores 0 and 1).  Inference ignores them;
 *  - implementation (LSTM, GRU): 0 is the default 2; 1 and 2 give the same
 *    numbers (ckeras always projects the inputs of every step in one
 *    matrix product); a recurrent_dropout makes it 1, as in Keras;
 *  - no_reset_after (GRU): true is reset_after=False (the reset gate
 *    multiplies the state before the recurrent product; bias (3*units,)),
 *    false the tf.keras 2.x default (after it; bias (2, 3*units));
 *  - return_sequences: the output of every step (batch, time, units)
 *    rather than the last one (batch, units);
 *  - go_backwards: the steps run from the last input to the first; with
 *    return_sequences the outputs stay in that processing order (Keras does
 *    not reverse them back);
 *  - unroll: accepted (same numbers; needs a known time dim, as Keras);
 *  - time_major: inputs (time, batch, features) and sequence outputs
 *    (time, batch, units);
 *  - stateful: the last states of a call are the first of the next (per
 *    batch row, as Keras); the batch size must be known when the layer is
 *    built (CK_VALUE_ERROR "If a RNN is stateful, it needs to know its
 *    batch size ..."), and every call must use it.  The states get no
 *    gradient.  ck_layer_reset_states sets them back to zeros.  A stateful
 *    layer changes on every call: calls of one model must not overlap;
 *  - return_state: a call returns the output then the last states
 *    (SimpleRNN, GRU: [output, h]; LSTM: [output, h, c]), each (batch,
 *    units); use ck_layer_apply_multi / ck_layer_call_multi.
 *  Initial states (Keras' `initial_state` call argument) are extra inputs
 *  after the sequence: [x, h0] (SimpleRNN, GRU) or [x, h0, c0] (LSTM),
 *  each (batch, units) ("An `initial_state` was passed that is not
 *  compatible with `cell.state_size`" otherwise); they replace the zero
 *  (or stateful) states and receive gradients in training.  tf.keras 2.x
 *  configs list them as extra inbound references of the node, as read and
 *  written here; Keras 3 configs hold them in the node's kwargs
 *  ("initial_state", the class' kwarg_inputs). */
typedef struct ck_rnn_opts {
    int64_t units;
    const char *activation;
    const char *recurrent_activation;
    bool no_bias;
    const char *kernel_initializer;
    const char *recurrent_initializer;
    const char *bias_initializer;
    bool no_unit_forget_bias;
    const char *kernel_regularizer;
    const char *recurrent_regularizer;
    const char *bias_regularizer;
    const char *kernel_constraint;
    const char *recurrent_constraint;
    const char *bias_constraint;
    double dropout;
    double recurrent_dropout;
    int64_t implementation;
    bool no_reset_after;
    bool return_sequences;
    bool return_state;
    bool go_backwards;
    bool stateful;
    bool unroll;
    bool time_major;
    CK_LAYER_COMMON_OPTS;
} ck_rnn_opts;

/** The recurrent layers, on float inputs (batch, time, features) (integer
 *  inputs are cast), from a zero initial state, as tf.keras 2.15 computes
 *  them:
 *  - SimpleRNN: h = activation(x . kernel + h_prev . recurrent_kernel + bias);
 *  - LSTM (gates i, f, c, o in that column order): z = x . kernel +
 *    h_prev . recurrent_kernel + bias, i = ra(z_i), f = ra(z_f),
 *    c = f * c_prev + i * activation(z_c), o = ra(z_o), h = o * activation(c)
 *    (ra: recurrent_activation);
 *  - GRU (gates z, r, h): with reset_after, m = h_prev . recurrent_kernel +
 *    bias[1], z = ra(x_z + m_z), r = ra(x_r + m_r), hh = activation(x_h +
 *    r * m_h) where x = x . kernel + bias[0]; without it, m covers the z and
 *    r columns only and hh = activation(x_h + (r * h_prev) .
 *    recurrent_kernel[:, 2u:]); then h = z * h_prev + (1 - z) * hh.
 *  Weights in tf.keras' order and names: "<name>/<cell>/kernel:0"
 *  (features, G*units), "<name>/<cell>/recurrent_kernel:0" (units,
 *  G*units), "<name>/<cell>/bias:0" (G*units,), or (2, 3*units) for a GRU
 *  with reset_after; cell is simple_rnn_cell (G 1), lstm_cell (G 4),
 *  gru_cell (G 3).  The inputs of all steps are projected in one matrix
 *  product, then each step does one product with the recurrent kernel;
 *  a call allocates that projection and the step buffers once.
 *  Masks (int32 (batch, time), from Embedding(mask_zero) or Masking in a
 *  graph, or masks[0] of ck_layer_call_masked): a masked step keeps the
 *  states and outputs the previous output (zeros before the first valid
 *  step, or always with zero_output_for_mask), as tf.keras 2.15; the
 *  output mask is the input mask with return_sequences (output 0 only),
 *  else none.
 *  Training (ck_model_fit) backpropagates through time; dropout masks come
 *  from the fit's random stream.  Configs: tf.keras 2.x keys, Keras 3's
 *  (seed, zero_output_for_mask, use_cudnn), Keras 2.0-2.2's (no
 *  time_major, implementation 0) and Keras 1's names (output_dim, init,
 *  inner_init, inner_activation, forget_bias_init, W_ / U_ / b_
 *  regularizers and constraints, dropout_W, dropout_U, consume_less,
 *  input_dim / input_length); a Keras 1 GRU reads as reset_after=False.
 *  Keras 1 LSTM / GRU weights (one array per gate) are not converted. */
CK_API ck_status ck_simple_rnn(ck_layer **out, const ck_rnn_opts *opts);
CK_API ck_status ck_lstm(ck_layer **out, const ck_rnn_opts *opts);
CK_API ck_status ck_gru(ck_layer **out, const ck_rnn_opts *opts);

/** `layer.reset_states()` / `model.reset_states()`: zeros the states of a
 *  stateful recurrent layer (SimpleRNN, LSTM, GRU, ConvLSTM1D/2D/3D), or
 *  of every stateful recurrent layer inside a model layer
 *  (ck_model_layer); other layers are left alone.  A recurrent
 *  layer that is not stateful gives CK_ATTRIBUTE_ERROR "Layer must be
 *  stateful.", as Keras. */
CK_API ck_status ck_layer_reset_states(ck_layer *layer);

/* ---- Convolutions: Conv1D/3D, groups, transposed, depthwise, separable -- */

/** Options of Conv1D, Conv3D and Conv1D / 2D / 3DTranspose (the rank-n
 *  layer reads the first n entries of each array):
 *  - filters (> 0, required);
 *  - kernel_size (required), strides, dilation_rate: all zero gives the
 *    Keras default (strides 1, dilation 1), {k} (the other entries 0)
 *    gives k for every dim, like Keras' int form;
 *  - padding: NULL / "valid", "same", or (Conv1D only) "causal": the
 *    input is padded on the left by dilation * (kernel - 1), so output t
 *    only sees inputs <= t;
 *  - data_format: NULL / "channels_last" or "channels_first" (TF on a
 *    CPU refuses most channels_first convolutions at call time; ckeras
 *    computes what Keras defines, the channels_last result with the
 *    channel axis moved, for every class here);
 *  - groups: 0 or 1, or (Conv1D / Conv3D) a divisor of filters and of the
 *    input channels: group g's filters read only its channel block;
 *  - output_padding (transposed only): all unset is Keras' None, [0] set
 *    alone gives that value for every dim; each value must be < stride;
 *  - activation NULL is linear; no_bias true is use_bias=False;
 *    initializers default to glorot_uniform / zeros; initializer,
 *    regularizer and constraint fields take a Keras id or a JSON config. */
typedef struct ck_conv_opts {
    int64_t filters;
    int64_t kernel_size[3];
    int64_t strides[3];
    const char *padding;
    const char *data_format;
    int64_t dilation_rate[3];
    int64_t groups;
    ck_opt_int output_padding[3];
    const char *activation;
    bool no_bias;
    const char *kernel_initializer;
    const char *bias_initializer;
    const char *kernel_regularizer;
    const char *bias_regularizer;
    const char *kernel_constraint;
    const char *bias_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_conv_opts;

/** Conv1D: activation(conv1d(inputs, kernel) + bias) on (batch, steps,
 *  channels) inputs (channels_first: (batch, channels, steps); more
 *  leading dims are batch dims), a cross-correlation as TF's.  Output
 *  length: "valid" (in - dilated_kernel) // stride + 1, "same" and
 *  "causal" ceil(in / stride).  Build creates "kernel" (k, in_channels /
 *  groups, filters) and "bias" (filters,).  Configs: tf.keras 2.x,
 *  Keras 3, and Keras 1's Convolution1D / AtrousConvolution1D (nb_filter,
 *  filter_length, subsample_length, atrous_rate, border_mode, init, bias,
 *  W_ / b_ regularizers and constraints, input_dim + input_length; a
 *  Keras 1 file's (k, 1, in, filters) kernel is reshaped when loaded);
 *  AtrousConvolution2D, Deconvolution2D, SeparableConvolution2D and
 *  Convolution3D are read as Conv2D, Conv2DTranspose, SeparableConv2D and
 *  Conv3D the same way.  Working memory is planned scratch (no allocation while
 *  predicting). */
CK_API ck_status ck_conv1d(ck_layer **out, const ck_conv_opts *opts);

/** Conv3D: as Conv1D over (batch, d1, d2, d3, channels) inputs; kernel
 *  (k1, k2, k3, in_channels / groups, filters); "causal" is a
 *  CK_VALUE_ERROR. */
CK_API ck_status ck_conv3d(ck_layer **out, const ck_conv_opts *opts);

/** Conv1DTranspose / Conv2DTranspose / Conv3DTranspose: the gradient of a
 *  convolution with respect to its input (TF's conv*_backprop_input),
 *  plus bias, then the activation.  Each spatial length is
 *  conv_utils.deconv_output_length: without output_padding "valid" gives
 *  in * stride + max(dilated_kernel - stride, 0) and "same" in * stride;
 *  with it, (in - 1) * stride + dilated_kernel - 2 * pad + output_padding
 *  (pad = dilated_kernel // 2 for "same", 0 for "valid").  Kernel
 *  (k..., filters, in_channels), bias (filters,).  groups: as tf.keras
 *  2.15, a divisor of filters (else its CK_VALUE_ERROR), written back by
 *  get_config, and without effect on the kernel or the numbers (tf.keras
 *  2.15 computes an ungrouped transpose; Keras 3 refuses the argument). */
CK_API ck_status ck_conv1d_transpose(ck_layer **out, const ck_conv_opts *opts);
CK_API ck_status ck_conv2d_transpose(ck_layer **out, const ck_conv_opts *opts);
CK_API ck_status ck_conv3d_transpose(ck_layer **out, const ck_conv_opts *opts);

/** Options of DepthwiseConv1D / 2D: kernel_size, strides, padding ("valid"
 *  / "same"), data_format and dilation_rate as ck_conv_opts;
 *  depth_multiplier 0 is 1; the depthwise kernel's initializer (default
 *  glorot_uniform), regularizer and constraint; bias as Conv2D. */
typedef struct ck_depthwise_conv_opts {
    int64_t kernel_size[3];
    int64_t strides[3];
    const char *padding;
    const char *data_format;
    int64_t dilation_rate[3];
    int64_t depth_multiplier;
    const char *activation;
    bool no_bias;
    const char *depthwise_initializer;
    const char *bias_initializer;
    const char *depthwise_regularizer;
    const char *bias_regularizer;
    const char *depthwise_constraint;
    const char *bias_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_depthwise_conv_opts;

/** DepthwiseConv1D / DepthwiseConv2D: each input channel c is convolved
 *  on its own with depth_multiplier kernels; output channel
 *  c * depth_multiplier + m, plus bias, then the activation.  Inputs of
 *  rank exactly 3 / 4.  Build creates "depthwise_kernel" (k...,
 *  in_channels, depth_multiplier) and "bias" (in_channels *
 *  depth_multiplier,). */
CK_API ck_status ck_depthwise_conv1d(ck_layer **out, const ck_depthwise_conv_opts *opts);
CK_API ck_status ck_depthwise_conv2d(ck_layer **out, const ck_depthwise_conv_opts *opts);

/** Options of SeparableConv1D / 2D: those of ck_conv_opts (no groups, no
 *  output_padding; "causal" padding for SeparableConv1D) plus
 *  depth_multiplier (0 is 1) and the depthwise / pointwise kernels'
 *  initializers (default glorot_uniform), regularizers and constraints.
 *  kernel_* are kept for the config (Keras writes them) but unused. */
typedef struct ck_separable_conv_opts {
    int64_t filters;
    int64_t kernel_size[3];
    int64_t strides[3];
    const char *padding;
    const char *data_format;
    int64_t dilation_rate[3];
    int64_t depth_multiplier;
    const char *activation;
    bool no_bias;
    const char *depthwise_initializer;
    const char *pointwise_initializer;
    const char *bias_initializer;
    const char *depthwise_regularizer;
    const char *pointwise_regularizer;
    const char *bias_regularizer;
    const char *depthwise_constraint;
    const char *pointwise_constraint;
    const char *bias_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_separable_conv_opts;

/** SeparableConv1D / SeparableConv2D: the depthwise convolution (no bias)
 *  followed by a 1x1 convolution to `filters` channels, plus bias, then
 *  the activation.  Inputs of rank exactly 3 / 4.  Build creates
 *  "depthwise_kernel" (k..., in_channels, depth_multiplier),
 *  "pointwise_kernel" (1..., in_channels * depth_multiplier, filters) and
 *  "bias" (filters,). */
CK_API ck_status ck_separable_conv1d(ck_layer **out, const ck_separable_conv_opts *opts);
CK_API ck_status ck_separable_conv2d(ck_layer **out, const ck_separable_conv_opts *opts);

/* ---- Recurrent wrappers and cells ------------------------------------- */

/** Options of ck_conv_lstm1d / ck_conv_lstm2d / ck_conv_lstm3d (only the
 *  first 1, 2 or 3 entries of the tuples are read):
 *  - filters (required, > 0): F, the channels of the states and output;
 *  - kernel_size (required): {k, 0, ...} is k for every dim, else one
 *    value per spatial dim; strides and dilation_rate likewise, all zero
 *    = 1;
 *  - padding NULL / "valid" or "same"; data_format NULL / "channels_last"
 *    or "channels_first" (inputs (batch, time, channels, spatial...),
 *    outputs (batch, [time,] filters, out...); the weights' layout is the
 *    same);
 *  - activation NULL = "tanh", recurrent_activation NULL = "hard_sigmoid"
 *    (tf.keras 2.x's default);
 *  - initializers NULL = glorot_uniform / orthogonal / zeros; no_bias,
 *    no_unit_forget_bias (false: the forget-gate bias starts at 1);
 *  - dropout / recurrent_dropout: clipped to [0, 1]; they act only in
 *    training (with 0 < rate < 1, as Keras): one mask per sample and gate
 *    for x_t and one for h_prev, drawn once per call and held over every
 *    step, each element 0 or 1 / (1 - rate) (Keras' DropoutRNNCellMixin;
 *    the random stream is ckeras', not TensorFlow's);
 *  - return_sequences, go_backwards, stateful as in ck_rnn_opts (stateful:
 *    the batch size must be known when built; ck_layer_reset_states
 *    zeros the states);
 *  - return_state: a call returns three tensors, the output then the last
 *    h and c (each (batch, out..., filters), channels_first (batch,
 *    filters, out...)), as tf.keras; their gradients flow back in
 *    training.  Apply it with ck_layer_apply_multi. */
typedef struct ck_conv_lstm_opts {
    int64_t filters;
    int64_t kernel_size[3];
    int64_t strides[3];
    const char *padding;
    const char *data_format;
    int64_t dilation_rate[3];
    const char *activation;
    const char *recurrent_activation;
    bool no_bias;
    const char *kernel_initializer;
    const char *recurrent_initializer;
    const char *bias_initializer;
    bool no_unit_forget_bias;
    const char *kernel_regularizer;
    const char *recurrent_regularizer;
    const char *bias_regularizer;
    const char *kernel_constraint;
    const char *recurrent_constraint;
    const char *bias_constraint;
    double dropout;
    double recurrent_dropout;
    bool return_sequences;
    bool go_backwards;
    bool stateful;
    bool return_state;
    CK_LAYER_COMMON_OPTS;
} ck_conv_lstm_opts;

/** keras.layers.ConvLSTM1D / ConvLSTM2D / ConvLSTM3D on inputs (batch,
 *  time, spatial..., channels) (1, 2 or 3 spatial dims), from zero states,
 *  as tf.keras 2.15 computes them: per step, with gates i, f, c, o in that
 *  order along the last kernel axis,
 *    z = conv(x_t, kernel; strides, padding, dilation_rate) + bias
 *      + conv(h_prev, recurrent_kernel; stride 1, padding "same"),
 *    i = ra(z_i), f = ra(z_f), c = f * c_prev + i * activation(z_c),
 *    o = ra(z_o), h = o * activation(c)   (ra: recurrent_activation).
 *  Output: the last h (batch, out..., filters), or every h (batch, time,
 *  out..., filters) with return_sequences (in iteration order, reversed
 *  with go_backwards).  Weights "<name>/kernel:0" (k..., channels,
 *  4*filters), "<name>/recurrent_kernel:0" (k..., filters, 4*filters),
 *  "<name>/bias:0" (4*filters); in .keras archives under "cell".  Trains
 *  (backpropagation through time, through the dropout masks).  Masks (in
 *  inference; training on a masked input gives CK_NOT_IMPLEMENTED), as
 *  tf.keras' backend.rnn applies them: each step's mask, broadcast over
 *  the leading dims of the step's output, keeps the previous h, c and
 *  output where it is 0 (the output starts at zeros), so a (batch, time)
 *  mask skips steps and Masking over the input, a (batch, time,
 *  spatial...) mask, skips positions (padding "same", strides 1 only); the
 *  output mask is the input's with return_sequences.  Configs of
 *  tf.keras 2.x and Keras 3; time_major gives
 *  CK_NOT_IMPLEMENTED, unroll Keras' "Unrolling is not possible with
 *  convolutional RNNs." */
CK_API ck_status ck_conv_lstm1d(ck_layer **out, const ck_conv_lstm_opts *opts);
/** ConvLSTM2D: see ck_conv_lstm1d. */
CK_API ck_status ck_conv_lstm2d(ck_layer **out, const ck_conv_lstm_opts *opts);
/** ConvLSTM3D: see ck_conv_lstm1d. */
CK_API ck_status ck_conv_lstm3d(ck_layer **out, const ck_conv_lstm_opts *opts);

/** Options of ck_bidirectional.
 *  - merge_mode: NULL or "concat" (the default), "sum", "mul", "ave";
 *    "none" (Keras' None): two outputs, the forward and the backward one
 *    (in time order), not merged;
 *  - backward_layer: NULL gives a copy of the wrapped layer (from its
 *    config) with go_backwards flipped; else that layer is used (a
 *    reference is taken; it must have go_backwards different from the
 *    wrapped layer's and the same stateful / return_sequences). */
typedef struct ck_bidirectional_opts {
    const char *merge_mode;
    ck_layer *backward_layer;
    CK_LAYER_COMMON_OPTS;
} ck_bidirectional_opts;

/** keras.layers.Bidirectional(layer): runs "forward_<name>", a copy of the
 *  recurrent `layer` made from its config (the caller keeps `layer`), and
 *  "backward_<name>" (go_backwards flipped, or opts->backward_layer) on the
 *  same inputs, puts the backward outputs back in time order when they are
 *  sequences, and merges the two along the last axis: concat (forward
 *  first), sum, mul or ave ((f + b) / 2).  Weights: the forward layer's
 *  then the backward layer's, named as tf.keras writes them
 *  ("<name>/forward_lstm/lstm_cell/kernel:0").  Configs: "layer",
 *  "merge_mode", "backward_layer" of tf.keras 2.x and Keras 3.  Keras'
 *  checks: "Invalid merge mode ...", and the two layers must differ in
 *  go_backwards and agree on stateful / return_sequences / return_state.
 *  Outputs (tf.keras 2.15): the merged output (merge_mode "none": the
 *  forward then the backward output), then with return_state the forward
 *  layer's last states and the backward layer's (LSTM: h, c each); every
 *  output trains.  Initial states (Keras' `initial_state` call argument)
 *  are inputs after the sequence, the forward layer's then the backward
 *  layer's: [x, h_f, c_f, h_b, c_b] (LSTM) or [x, h_f, h_b]; tf.keras
 *  gives the first half to the forward layer and the second to the
 *  backward one.  An odd count is Keras' "When passing `initial_state` to
 *  a Bidirectional RNN, the state should be a list containing the states
 *  of the underlying RNNs."; each half is checked as the wrapped layer
 *  checks its states.  They receive gradients in training; configs record
 *  them as for the recurrent layers (tf.keras 2.x: extra inbound tensors,
 *  Keras 3: the node's "initial_state" kwarg).
 *  Masks: both inner layers skip the masked steps of the
 *  input's mask (zero_output_for_mask forced to return_sequences, as
 *  tf.keras); the output (both with merge_mode "none") carries the input
 *  mask when return_sequences, the states never do. */
CK_API ck_status ck_bidirectional(ck_layer **out, ck_layer *layer, const ck_bidirectional_opts *opts);

/** Options of ck_time_distributed (the common layer options only). */
typedef struct ck_time_distributed_opts {
    CK_LAYER_COMMON_OPTS;
} ck_time_distributed_opts;

/** keras.layers.TimeDistributed(layer): applies `layer` (any single-input
 *  layer or model; a reference is taken, the layer is used itself, as
 *  Keras does) to every time step of inputs (batch, time, ...): the inner
 *  layer sees (batch*time, ...) and its outputs are reshaped to (batch,
 *  time, ...).  The inner layer is built for (None,) + the inputs' shape
 *  after the time axis.  Weights are the inner layer's, named as tf.keras
 *  writes them: "<name>/kernel:0" for a layer, the nested layers' own names
 *  for a model.  In .keras archives (tf.keras 2.15, Keras 3, and ckeras'
 *  own) a wrapped layer's variables sit below "layer", a wrapped model's
 *  below "layer/layers/<its layer>" ("layers/time_distributed/layer/
 *  layers/dense/vars/0").  Inputs need rank >= 3 (Keras: "`TimeDistributed`
 *  Layer should be passed an `input_shape` with at least 3 dimensions"). */
CK_API ck_status ck_time_distributed(ck_layer **out, ck_layer *layer, const ck_time_distributed_opts *opts);

/* Also read from configs and files (no C constructor):
 *  - "RNN" over a "cell" SimpleRNNCell / LSTMCell / GRUCell, a
 *    StackedRNNCells or a list of cells (Keras 2.2): each cell computes as
 *    the SimpleRNN / LSTM / GRU of its config; a stack feeds each cell's
 *    output at step t to the next cell at step t (go_backwards reverses the
 *    inputs of the whole stack).  Weights "rnn/lstm_cell/kernel:0",
 *    "rnn/stacked_rnn_cells/gru_cell/bias:0" as tf.keras names them;
 *    return_state and constants give CK_NOT_IMPLEMENTED;
 *  - "CuDNNLSTM" / "CuDNNGRU" of Keras 2.0-2.3 files, computed on the CPU
 *    as an LSTM (tanh / sigmoid) and a GRU with reset_after=True.
 * Loading .h5 weights converts the layouts Keras' legacy loader converts:
 * cuDNN's (bias of 8*units for an LSTM: input then recurrent biases,
 * summed; 6*units for a GRU, reshaped to (2, 3*units); per-gate kernels
 * from cuDNN's column-major order) and Keras 1's one array per gate (LSTM
 * W_i U_i b_i, W_c.., W_f.., W_o..; GRU z, r, h), for recurrent layers
 * and inside Bidirectional / TimeDistributed.  A GRU with
 * reset_after=False cannot take cuDNN weights (CK_VALUE_ERROR "CuDNNGRU is
 * not compatible with GRU(reset_after=False)", as Keras). */

/* ---- Normalization, noise and attention layers ------------------------ */

/** keras.layers.GroupNormalization options (tf.keras 2.15):
 *  - groups: 0 is Keras' default 32; -1 makes one group per channel;
 *  - axis: the channel axis; 0 is Keras' default -1 (axis 0, the batch,
 *    cannot hold channels);
 *  - epsilon (not given: 0.001), no_center / no_scale, initializers (NULL:
 *    "zeros" beta, "ones" gamma), regularizers and constraints as
 *    LayerNormalization's. */
typedef struct ck_group_normalization_opts {
    int64_t groups;
    int axis;
    ck_opt_double epsilon;
    bool no_center;
    bool no_scale;
    const char *beta_initializer;
    const char *gamma_initializer;
    const char *beta_regularizer;
    const char *gamma_regularizer;
    const char *beta_constraint;
    const char *gamma_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_group_normalization_opts;

/** GroupNormalization: the C channels of `axis` split into `groups`
 *  consecutive groups; each sample's group is normalised over its channels
 *  and all other non-batch positions with its own mean and biased variance
 *  (accumulated in double), then times gamma[c] plus beta[c] ("gamma",
 *  "beta", (C,), in that order).  Build checks Keras' "Number of groups
 *  (g) cannot be more than the number of channels (C)." and "... must be a
 *  multiple of the number of channels (C)."; groups -1 is then written
 *  back as C, as Keras.  Floating inputs; training supported. */
CK_API ck_status ck_group_normalization(ck_layer **out, const ck_group_normalization_opts *opts);

/** keras.layers.UnitNormalization options: axes / naxes as
 *  LayerNormalization's (naxes 0: axis -1). */
typedef struct ck_unit_normalization_opts {
    int naxes;
    int axes[CK_MAX_RANK];
    CK_LAYER_COMMON_OPTS;
} ck_unit_normalization_opts;

/** UnitNormalization: y = x / sqrt(max(sum(x^2), 1e-12)) over the axes
 *  (tf.linalg.l2_normalize), per position of the other dims.  get_config
 *  writes the axis as given before build and as a list of non-negative
 *  dims after, as tf.keras.  Floating inputs; training supported. */
CK_API ck_status ck_unit_normalization(ck_layer **out, const ck_unit_normalization_opts *opts);

/** keras.layers.GaussianNoise options: stddev (>= 0); seed (not given:
 *  None) is kept for get_config. */
typedef struct ck_gaussian_noise_opts {
    double stddev;
    ck_opt_int seed;
    CK_LAYER_COMMON_OPTS;
} ck_gaussian_noise_opts;

/** GaussianNoise: the identity at inference; in training (ck_model_fit)
 *  adds N(0, stddev) draws from the fit's random stream (so they cannot
 *  equal TF's).  Configs: stddev, seed (Keras 1's sigma is read too). */
CK_API ck_status ck_gaussian_noise(ck_layer **out, const ck_gaussian_noise_opts *opts);

/** keras.layers.GaussianDropout options: rate in [0, 1]; seed as
 *  GaussianNoise's. */
typedef struct ck_gaussian_dropout_opts {
    double rate;
    ck_opt_int seed;
    CK_LAYER_COMMON_OPTS;
} ck_gaussian_dropout_opts;

/** GaussianDropout: the identity at inference; in training, for 0 < rate
 *  < 1, multiplies by N(1, sqrt(rate / (1 - rate))) draws from the fit's
 *  random stream.  Configs: rate, seed (Keras 1's p is read too). */
CK_API ck_status ck_gaussian_dropout(ck_layer **out, const ck_gaussian_dropout_opts *opts);

/** keras.layers.SpatialDropout1D / 2D / 3D options: rate in [0, 1] (checked
 *  as Dropout's); data_format NULL or "channels_last" (the default) or
 *  "channels_first" (2D and 3D only); seed as Dropout's. */
typedef struct ck_spatial_dropout_opts {
    double rate;
    const char *data_format;
    ck_opt_int seed;
    CK_LAYER_COMMON_OPTS;
} ck_spatial_dropout_opts;

/** SpatialDropout1D (inputs of rank 3), 2D (rank 4), 3D (rank 5): the
 *  identity at inference; in training, Dropout whose mask has one value per
 *  sample and channel, shared over the other dims (the channel dim is the
 *  last, or dim 1 with channels_first); kept channels are scaled by
 *  1 / (1 - rate).  get_config writes tf.keras 2.x's keys (rate,
 *  noise_shape null, seed; tf.keras does not write data_format, Keras 3
 *  does, and it is read). */
CK_API ck_status ck_spatial_dropout1d(ck_layer **out, const ck_spatial_dropout_opts *opts);
CK_API ck_status ck_spatial_dropout2d(ck_layer **out, const ck_spatial_dropout_opts *opts);
CK_API ck_status ck_spatial_dropout3d(ck_layer **out, const ck_spatial_dropout_opts *opts);

/** keras.layers.ActivityRegularization options: the l1 and l2 factors
 *  (>= 0; 0 by default).  The common activity_regularizer must stay NULL
 *  (the layer's own is L1L2(l1, l2)). */
typedef struct ck_activity_regularization_opts {
    double l1;
    double l2;
    CK_LAYER_COMMON_OPTS;
} ck_activity_regularization_opts;

/** ActivityRegularization: the identity, recording the activity loss
 *  (l1 * sum|y| + l2 * sum y^2) / batch size of each call in `losses`
 *  (and in fit's loss, with its gradient), as tf.keras 2.x. */
CK_API ck_status ck_activity_regularization(ck_layer **out, const ck_activity_regularization_opts *opts);

/** keras.layers.MultiHeadAttention options (tf.keras 2.15):
 *  - num_heads, key_dim (required, > 0): heads and the size of each
 *    head's query / key projection;
 *  - value_dim: 0 is key_dim (Keras' None);
 *  - dropout: the fraction of attention weights dropped in training;
 *  - no_bias: Keras' use_bias=False (no projection biases);
 *  - output_dim: Keras' output_shape as an int; 0 is None (the query's
 *    last dim);
 *  - attention_axes / n_attention_axes: 0 is None (the default: every axis
 *    between the batch and the features, softmaxed jointly); else the
 *    axes attended over, as tf.keras numbers them (axes of the projected
 *    (batch, positions..., heads, dim) tensor; negative ones from its
 *    end): consecutive positional axes in ascending order, e.g. (1,) or
 *    (2,) on rank-4 inputs, the other positional axes acting as batch
 *    dims (other sets give CK_NOT_IMPLEMENTED when the layer is built);
 *  - initializers (NULL: glorot_uniform kernels, zeros biases),
 *    regularizers and constraints of the four projections, as Keras ids or
 *    JSON configs.  The common activity_regularizer is CK_NOT_IMPLEMENTED
 *    (Keras applies it to each projection). */
typedef struct ck_multi_head_attention_opts {
    int64_t num_heads;
    int64_t key_dim;
    int64_t value_dim;
    double dropout;
    bool no_bias;
    int64_t output_dim;
    int n_attention_axes;
    int attention_axes[CK_MAX_RANK];
    const char *kernel_initializer;
    const char *bias_initializer;
    const char *kernel_regularizer;
    const char *bias_regularizer;
    const char *kernel_constraint;
    const char *bias_constraint;
    CK_LAYER_COMMON_OPTS;
} ck_multi_head_attention_opts;

/** MultiHeadAttention, called on [query, value], [query, value, key] or
 *  [query, value, key, attention_mask] (pass the value again as the key to
 *  give a mask alone): query (B, T..., Dq), value (B, S..., Dv), key (B,
 *  S..., Dk) of one rank >= 3; with H heads,
 *    q = (query . Wq + bq) / sqrt(key_dim),  k = key . Wk + bk,
 *    v = value . Wv + bv,
 *    P = softmax over the key positions of q . k^T per head, masked
 *        entries getting -1e9 added (Keras' Softmax with a mask),
 *    out = concat_heads(dropout(P) . v) . Wo + bo,   (B, T..., output_dim).
 *  The mask (any dtype, nonzero = attend) is (B, T..., S...) or broadcasts
 *  to it (a batch dim of 1 or none, dims of 1 on the query or key side;
 *  with attention_axes, (leading dims..., query attention axes..., key
 *  attention axes...), the leading ones lined up from the left with the
 *  scores' (batch, other positional axes..., heads) as Keras expands it);
 *  ck_layer_set_use_causal_mask adds Keras' causal mask (one attention
 *  axis only).  The Keras masks of query, value and key (Embedding
 *  mask_zero, Masking upstream in a graph, or ck_layer_call_masked's
 *  masks; rank-3 inputs) are AND-ed in as tf.keras 2.15's
 *  _compute_attention_mask does (query mask on the rows, value and key
 *  masks on the columns), and the output carries the query's mask.  Weights in
 *  tf.keras' order and names: "<name>/query/kernel:0" (Dq, H, key_dim),
 *  "query/bias:0" (H, key_dim), the same for "key" (Dk, ...) and "value"
 *  (Dv, H, value_dim), "attention_output/kernel:0" (H, value_dim,
 *  output_dim) and "attention_output/bias:0" (output_dim,).  get_config
 *  writes tf.keras 2.x's keys including query_shape / key_shape /
 *  value_shape (null until built), from which from_config builds;
 *  Keras 3's keys (seed, use_gate false, sliding_window null,
 *  flash_attention) are read too.  A functional node's kwargs (value, key,
 *  attention_mask, use_causal_mask) are read through the class' node
 *  hooks; return_attention_scores=True adds the scores output (see
 *  ck_layer_set_return_attention_scores), (batch, other positional
 *  axes..., heads, query attention axes..., key attention axes...); Keras
 *  3's explicit query/value/key_mask call arguments are
 *  CK_NOT_IMPLEMENTED.  A call made with ck_layer_apply is saved as
 *  tf.keras writes it: mha(query, value=..., key=..., attention_mask=...,
 *  return_attention_scores=True, use_causal_mask=True), a key that is the
 *  value itself left out.  Inference and training (dropout on
 *  the attention weights from the fit's random stream, gradients of every
 *  input and weight). */
CK_API ck_status ck_multi_head_attention(ck_layer **out, const ck_multi_head_attention_opts *opts);

/** keras.layers.Attention options: use_scale (a trainable scalar "scale",
 *  initialised to 1, multiplies the scores); score_mode NULL or "dot"
 *  (the default) or "concat"; dropout: the fraction of attention weights
 *  dropped in training. */
typedef struct ck_attention_opts {
    bool use_scale;
    const char *score_mode;
    double dropout;
    CK_LAYER_COMMON_OPTS;
} ck_attention_opts;

/** Attention (Luong-style), called on [query, value] or [query, value,
 *  key]: query (batch..., Tq, D), value (batch..., Tv, Dv), key (batch...,
 *  Tv, D) (the value when not given); per batch item, scores s = q . k^T
 *  (times "scale" with use_scale), or with score_mode "concat"
 *  s_ij = concat_score_weight * sum_d tanh(scale * (q_id + k_jd)) (scale 1
 *  without use_scale); then out = softmax(s) . v, (batch..., Tq, Dv).
 *  ck_layer_set_use_causal_mask (or a config's deprecated "causal")
 *  masks s_ij for j > i with -1e9, as Keras.  Weights "scale" () and
 *  "concat_score_weight" () (initialised to 1), as tf.keras.  Masks, as
 *  tf.keras 2.15: the value mask (batch..., Tv) masks score columns with
 *  -1e9, the query mask (batch..., Tq) zeroes output rows (not the
 *  scores); they are the Keras masks of query and value (Embedding
 *  mask_zero or Masking upstream in a graph, or ck_layer_call_masked's
 *  masks), or those of a node's `mask=[query_mask, value_mask]` call
 *  argument (tensors of the graph, which then replace the Keras masks).
 *  The output mask is the query mask.  Configs: tf.keras 2.x (dropout, use_scale,
 *  score_mode), older ones' causal, Keras 3's seed.  Inference and
 *  training (dropout of the attention weights from the fit's random
 *  stream).  return_attention_scores (a node's kwargs or
 *  ck_layer_set_return_attention_scores) adds the weights as a second
 *  output. */
CK_API ck_status ck_attention(ck_layer **out, const ck_attention_opts *opts);

/** keras.layers.AdditiveAttention options: no_scale is Keras'
 *  use_scale=False; dropout as Attention's. */
typedef struct ck_additive_attention_opts {
    bool no_scale;
    double dropout;
    CK_LAYER_COMMON_OPTS;
} ck_additive_attention_opts;

/** AdditiveAttention (Bahdanau-style), inputs as Attention's: scores
 *  s_ij = sum_d scale_d * tanh(q_id + k_jd) (scale: a trainable (Dv,)
 *  vector, glorot_uniform, with use_scale; 1 without; query, key and value
 *  then share one feature size), then out = softmax(s) . v.  Causal mask,
 *  masks, configs (dropout, use_scale) and training as Attention's. */
CK_API ck_status ck_additive_attention(ck_layer **out, const ck_additive_attention_opts *opts);

/** The use_causal_mask call argument of a MultiHeadAttention (or
 *  Attention / AdditiveAttention) layer for its later calls: query
 *  position t attends to key positions s <= t only (Keras' lower-triangular
 *  mask over the first query and key axes, combined with any other mask).
 *  Other layers: CK_VALUE_ERROR. */
CK_API ck_status ck_layer_set_use_causal_mask(ck_layer *layer, bool use_causal_mask);

/** The return_attention_scores call argument of an Attention or
 *  AdditiveAttention (or MultiHeadAttention) layer, for the calls made
 *  after it (set it before applying the layer): true makes each call
 *  return two tensors, the output, then the attention weights (softmax of
 *  the masked scores): (batch..., Tq, Tv) for Attention /
 *  AdditiveAttention, after their dropout when training; (batch, heads,
 *  query axes..., key axes...) for MultiHeadAttention, before its dropout
 *  (both as tf.keras 2.15 returns them).  Gradients flow into both
 *  outputs.  Other layers: CK_VALUE_ERROR. */
CK_API ck_status ck_layer_set_return_attention_scores(ck_layer *layer, bool return_attention_scores);

/* ---- TF-op layers (TFOpLambda, SlicingOpLambda) ----------------------- */

/** Calls a TensorFlow function on symbolic tensors, as calling it on Keras
 *  tensors does in tf.keras 2.x: a new TFOpLambda layer (SlicingOpLambda
 *  for "__operators__.getitem") named "tf.<function>" ("tf.<function>_1",
 *  ... once taken) is applied to the inputs.  `function` is the name
 *  tf.keras writes in configs: "math.add", "__operators__.add",
 *  "math.multiply", "nn.relu", "nn.softmax", "math.reduce_mean",
 *  "reshape", "concat", "stack", "transpose", "linalg.matmul", "cast",
 *  "math.greater", "where", "math.cumsum", "compat.v1.gather", "one_hot",
 *  "split", "__operators__.getitem", ... (the table in
 *  src/layers/tf_op_table.c).
 *  The first argument is inputs[0], or the list of all the inputs for
 *  "concat" and "stack"; a second input is the keyword argument `y` ("b"
 *  for matmul, "indices" for "compat.v1.gather"); "where" takes three
 *  (condition, x, y).  `kwargs_json` (NULL: none) is a JSON object of the
 *  other keyword arguments, e.g. {"axis": 1}, {"shape": [-1, 2, 4]},
 *  {"y": 2.0}, {"indices": [2, 0], "axis": 1}, {"depth": 4},
 *  {"slice_spec": [{"start": null, "stop": null, "step": null}, 0]}.  The
 *  call is written to model configs as tf.keras writes it.  A function or
 *  argument ckeras does not implement is CK_NOT_IMPLEMENTED naming it.
 *  Comparisons ("math.greater", ..., which tf.keras also records for
 *  x > y) and "math.logical_*" return bool in TF: ckeras has no bool
 *  dtype and gives int32 0 / 1 tensors (as it reads .npy bools), which
 *  "where", "cast" and the logical functions take.  "split" returns one
 *  tensor per part: *out is the first, ck_layer_output on
 *  ck_tensor_layer(*out) gives them all.  *out is the symbolic output;
 *  release the layer, as an input's, with ck_layer_free(ck_tensor_layer(*out))
 *  once a model holds it. */
CK_API ck_status ck_tf_op(const char *function, int n_inputs, ck_tensor *const *inputs, const char *kwargs_json,
                          ck_tensor **out);

/* ---- Masks and layers with several outputs ---------------------------- */

/** How many tensors one call of the layer returns: 1 for most layers; a
 *  recurrent layer with return_state returns its output then its states
 *  (SimpleRNN and GRU: [output, h], LSTM: [output, h, c]); a model used
 *  as a layer returns its outputs.  0 for NULL. */
CK_API int ck_layer_output_count(const ck_layer *layer);

/** Calls a layer on symbolic tensors, like ck_layer_apply, returning every
 *  output (Keras' list of outputs): outputs[0 .. *n_outputs - 1] (borrowed,
 *  living as long as the layer), all of one node, output k carrying
 *  tensor_index k in configs.  `max` is the size of `outputs`; fewer than
 *  ck_layer_output_count is CK_VALUE_ERROR.  (ck_layer_apply records the
 *  same node and returns output 0.) */
CK_API ck_status ck_layer_apply_multi(ck_layer *layer, int n_inputs, ck_tensor *const *inputs, int max,
                                      ck_tensor **outputs, int *n_outputs);

/** Calls a layer on real tensors, like ck_layer_call, returning every
 *  output: outputs[0 .. *n_outputs - 1] are new tensors the caller frees.
 *  `max` as for ck_layer_apply_multi.  (ck_layer_call returns output 0
 *  and frees the others.) */
CK_API ck_status ck_layer_call_multi(ck_layer *layer, int n_inputs, ck_tensor *const *inputs, int max,
                                     ck_tensor **outputs, int *n_outputs);

/** `layer.compute_output_shape(input_shapes)` for every output:
 *  out[0 .. *n_outputs - 1] (`max` entries available; too few is
 *  CK_VALUE_ERROR).  ck_layer_compute_output_shape gives the first. */
CK_API ck_status ck_layer_compute_output_shapes(const ck_layer *layer, int n_inputs, const ck_shape *in, int max,
                                                ck_shape *out, int *n_outputs);

/** The mask a symbolic tensor carries (Keras' `tensor._keras_mask`): an
 *  int32 symbolic tensor over the tensor's leading dims, or NULL.  Masks
 *  are made by Embedding(mask_zero) and Masking, pass unchanged through
 *  layers that support masking (Dense, Activation, Dropout, the
 *  normalizations, a recurrent layer's sequence output, Bidirectional
 *  with return_sequences, ...), are ANDed by the elementwise merges,
 *  combined by Concatenate (see ck_concatenate), and are dropped by every
 *  other layer (as tf.keras 2.15 does in functional graphs: Flatten,
 *  Reshape, pooling, recurrent layers without return_sequences, their
 *  states, Dot).  A nested model (Functional or Sequential used as a
 *  layer) runs its graph on the mask of its input 0, so its inner layers
 *  see it, and its output 0 carries that mask when its graph passes it
 *  through; a mask the nested graph makes itself (an inner Embedding) is
 *  not given out, and a mask of another input is not fed in.  The
 *  compiled metrics of a masked model output take its mask as sample
 *  weight (tf.keras 2.x), as its loss does.  Borrowed: it lives as long
 *  as the layer that made it. */
CK_API ck_tensor *ck_symbolic_mask(const ck_tensor *t);

/** `get_input_mask_at(i)` / `get_output_mask_at(i)` with the masks:
 *  masks[0 .. *n - 1] (NULL entries: no mask; borrowed), one per input /
 *  output tensor of node i; `max` entries available.  Errors as for
 *  ck_layer_get_input_at. */
CK_API ck_status ck_layer_input_masks_at(const ck_layer *layer, int node_index, ck_tensor **masks, int max, int *n);
CK_API ck_status ck_layer_output_masks_at(const ck_layer *layer, int node_index, ck_tensor **masks, int max, int *n);

/** keras.layers.Masking options: mask_value (0.0 by default). */
typedef struct ck_masking_opts {
    double mask_value;
    CK_LAYER_COMMON_OPTS;
} ck_masking_opts;

/** Masking: a position (all leading axes) whose values along the last
 *  axis all equal mask_value is masked: its output values are 0 and its
 *  output mask is 0; other positions pass unchanged with mask 1.  The
 *  output mask (int32, the input shape without its last axis) travels
 *  with the symbolic output: recurrent layers skip masked steps, masked
 *  losses leave them out.  Gradient: dout on kept positions, 0 on masked
 *  ones.  Config: {"mask_value"}. */
CK_API ck_status ck_masking(ck_layer **out, const ck_masking_opts *opts);

/* ---- User-defined layers ---------------------------------------------- */
/*
 * Keras' custom_objects in C: a program describes a layer class with a
 * ck_custom_layer_class and registers it by its Keras class name
 * (ck_register_layer_class), or registers the C implementation of a Lambda
 * layer's Python function (ck_register_lambda).  Model files and configs
 * that use them then load (.h5, .keras, JSON), predict, save back (the
 * loaded config is written back unchanged, with the user's get_config keys
 * on top) and, when the class has a backward, train.
 *
 * Register before loading: a file is matched against the registry when it
 * is read.  Registration is thread-safe (a mutex guards the registry) and
 * the registry copies the description, so the caller's struct may be
 * temporary.  A layer copies its class description when it is created, so
 * unregistering later does not affect layers that exist.
 *
 * Callbacks get a ck_custom_ctx.  While a model predicts, `call` may run
 * on several threads at once (one per ck_predictor): it must treat the
 * layer and its state as read-only and must not allocate in steady state;
 * working memory comes from `scratch_bytes` (planned with the model's
 * buffers, so ck_model_predict_into stays allocation-free).
 */

/** Version of ck_custom_layer_class this header describes; put it in
 *  `.version`.  A later library keeps accepting version 1 structs. */
#define CK_CUSTOM_LAYER_VERSION 1

/** What each callback of a user-defined layer receives. */
typedef struct ck_custom_ctx {
    ck_layer *layer;      /**< the layer: its weights (ck_layer_weight), name, dtype */
    void *state;          /**< what from_config stored (NULL if none) */
    void *user;           /**< the class' `user` pointer */
    void *scratch;        /**< call / backward: scratch_bytes bytes (64-byte
                               aligned, uninitialised at the call), else NULL */
    bool training;        /**< call: a training step with training=True */
} ck_custom_ctx;

/** A user-defined layer class (or a Lambda implementation).  Zero fields
 *  are defaults; only `version` and `call` are required.
 *  - version: CK_CUSTOM_LAYER_VERSION;
 *  - class_name: the Keras class name files use ("ScaledDense"; a
 *    "Package>ScaledDense" name from register_keras_serializable matches
 *    "ScaledDense" too and vice versa).  Ignored by ck_register_lambda;
 *  - user: handed to every callback as ctx->user;
 *  - n_inputs: 0 or 1: called on one tensor; k >= 2: on a list of exactly
 *    k tensors;
 *  - from_config(ctx, config, &state): reads the layer's config (a JSON
 *    object as text, base keys included: name, trainable, dtype, ...; a
 *    Lambda's holds "arguments") and may store private state (freed by
 *    free_state).  ck_config_number helps read numbers.  NULL: no state;
 *  - get_config(ctx, &json): a ck_malloc'ed JSON object text of the
 *    class' own keys, written over the loaded config when saving.  NULL:
 *    the loaded config is written back as it was;
 *  - free_state(state, user): releases the state; NULL: nothing to free;
 *  - build(ctx, n, shapes): creates the weights with ck_layer_add_weight
 *    (called once, before the first call; shapes have -1 for unknown
 *    dims); NULL: no weights;
 *  - compute_output_shape(ctx, n, in, out): NULL: a Lambda uses its
 *    config's output_shape (the batch dim prepended) if it has one, else
 *    every layer gives the first input's shape;
 *  - scratch_bytes(ctx, n, in, out): bytes of working memory a call needs
 *    for these concrete shapes; NULL: none;
 *  - call(ctx, n, in, out): computes `out` (already shaped; dtype the
 *    layer's for floating inputs) from the inputs (floating inputs cast to
 *    the layer dtype);
 *  - backward(ctx, n, in, out, dout, din): from the inputs, the output and
 *    d(loss)/d(out), WRITES din[i] (in[i]'s shape; an entry may be NULL:
 *    not wanted) and ADDS each trainable weight's gradient into
 *    ck_weight_grad(w) where that is not NULL.  ctx->scratch is the block
 *    the training call used, unchanged, so call may leave there what
 *    backward needs.  NULL: the layer cannot be trained (fit gives
 *    CK_NOT_IMPLEMENTED naming it). */
typedef struct ck_custom_layer_class {
    int version;
    const char *class_name;
    void *user;
    int n_inputs;
    ck_status (*from_config)(const ck_custom_ctx *ctx, const char *config, void **state);
    ck_status (*get_config)(const ck_custom_ctx *ctx, char **config);
    void (*free_state)(void *state, void *user);
    ck_status (*build)(const ck_custom_ctx *ctx, int n, const ck_shape *shapes);
    ck_status (*compute_output_shape)(const ck_custom_ctx *ctx, int n, const ck_shape *in, ck_shape *out);
    size_t (*scratch_bytes)(const ck_custom_ctx *ctx, int n, const ck_shape *in, const ck_shape *out);
    ck_status (*call)(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, ck_tensor *out);
    ck_status (*backward)(const ck_custom_ctx *ctx, int n, const ck_tensor *const *in, const ck_tensor *out,
                          const ck_tensor *dout, ck_tensor *const *din);
} ck_custom_layer_class;

/** Registers a layer class under cls->class_name (copied).  Layers of that
 *  class in configs and files are then made by from_config with this
 *  description; create one in C with ck_layer_from_config
 *  ("{\"class_name\": \"ScaledDense\", \"config\": {...}}").
 *  CK_VALUE_ERROR: a wrong version, no class_name or call, a name that is
 *  a built-in class ("Dense", "Lambda", ...) or already registered
 *  (unregister it first). */
CK_API ck_status ck_register_layer_class(const ck_custom_layer_class *cls);

/** Registers the implementation of a Lambda layer (class_name ignored).
 *  A Lambda config is matched by its function's name first: the name of
 *  a named Python function (tf.keras 2.x "function_type": "function", or
 *  the code name inside the marshalled bytecode of "function_type":
 *  "lambda" (Python 3.8 .. 3.13), or Keras 3's {"class_name": "function",
 *  "config": name}), then, for an anonymous `lambda` or no match, by the
 *  layer's name ("lambda_1").  CK_VALUE_ERROR: a wrong version, no name
 *  or call, a name already registered. */
CK_API ck_status ck_register_lambda(const char *name, const ck_custom_layer_class *impl);

/** Removes a registered class / Lambda implementation (existing layers are
 *  unaffected).  CK_VALUE_ERROR if nothing is registered under `name`. */
CK_API ck_status ck_unregister_layer_class(const char *class_name);
CK_API ck_status ck_unregister_lambda(const char *name);

/** Removes every registered class and Lambda implementation (tests). */
CK_API void ck_custom_registry_reset(void);

/** The gradient accumulator of a weight during a training step (same shape
 *  and dtype as its value), where a backward adds d(loss)/d(weight); NULL
 *  when no gradient is wanted (frozen or non-trainable weight, or not
 *  training).  Borrowed. */
CK_API ck_tensor *ck_weight_grad(const ck_weight *w);

/** Reads a number from a JSON object text by a dotted key path
 *  ("scale", "arguments.alpha"); true becomes 1, false 0.
 *  CK_VALUE_ERROR if the path is absent or not a number,
 *  CK_FORMAT_ERROR if `json` is not valid JSON. */
CK_API ck_status ck_config_number(const char *json, const char *path, double *out);


/* ---- Limits on what a file can make the library do ------------------- */

/** What a model file or config may make the library do, each a number a
 *  program can lower (like SQLite's sqlite3_limit) before loading
 *  untrusted files.  The limits are process-wide: ck_limit changes them
 *  atomically for every thread, and a load reads each limit when it
 *  checks it (set them before starting loads; a load running while a
 *  limit changes may see either value).  A file or config over a limit is
 *  refused with CK_FORMAT_ERROR naming the limit, its value and the
 *  file; nothing is allocated for the refused part.  Each default is also
 *  the highest value a limit can take. */
typedef enum ck_limit_id {
    /** Models nested inside models in one config: a model holding only
     *  plain layers is depth 1.  Default and maximum CK_MAX_MODEL_DEPTH
     *  (32): building deeper models would use stack in proportion. */
    CK_LIMIT_MODEL_DEPTH = 0,
    /** Layer entries in one config, counted at every nesting level.
     *  Default 1,000,000. */
    CK_LIMIT_LAYERS = 1,
    /** Bytes of one model or layer config JSON text (ck_model_from_json,
     *  ck_layer_from_config, a JSON file, an .h5 model_config, a .keras
     *  config.json).  Default 256 MiB. */
    CK_LIMIT_CONFIG_BYTES = 2,
    /** Bytes one entry of a .keras archive may expand to.  Default 64 GiB. */
    CK_LIMIT_ARCHIVE_ENTRY_BYTES = 3,
    /** How many times larger than the whole archive file one entry may
     *  expand (a zip bomb's ratio; deflate cannot exceed about 1032).
     *  Default 1100; entries of up to 64 KiB are always allowed. */
    CK_LIMIT_ARCHIVE_ENTRY_RATIO = 4,
    /** Bytes of weight tensors one load may allocate: the weights a config
     *  creates when its model is built plus every weight value read from
     *  the file (a model of W bytes loaded whole uses about 2 W).  Counted
     *  per call of ck_model_load, ck_model_load_weights,
     *  ck_model_from_json and ck_layer_from_config.  Default 1 TiB. */
    CK_LIMIT_WEIGHT_BYTES = 5,
    /** Rank of a tensor a file holds (an HDF5 dataset, a TF.js weight, a
     *  .npy array) or a config's input shape.  Default and maximum
     *  CK_MAX_RANK. */
    CK_LIMIT_TENSOR_RANK = 6,
    /** Elements of one such tensor (unknown dims of an input shape count
     *  as 1).  Default 2^40. */
    CK_LIMIT_TENSOR_ELEMENTS = 7
} ck_limit_id;

/** Number of ck_limit_id values. */
#define CK_LIMIT_COUNT 8

/** Sets limit `id` to `value` and returns its previous value; a negative
 *  `value` only returns the current one.  A value above the limit's
 *  default is set to the default.  An unknown id returns -1 and changes
 *  nothing.  Thread-safe. */
CK_API int64_t ck_limit(ck_limit_id id, int64_t value);

/* ======================================================================== */
/* Models: symbolic tensors, nodes, functional and Sequential models, files */
/* ======================================================================== */
/** A functional or Sequential model (tf.keras Functional / Sequential).
 *  A model is also a layer (ck_model_layer) and can be called inside
 *  another model.  Release it with ck_model_free. */
typedef struct ck_model ck_model;

/** Creates a functional model from symbolic inputs (from ck_input) and
 *  outputs (from ck_layer_apply), like keras.Model(inputs, outputs).  The
 *  model takes its own reference on every layer of the graph, so the caller
 *  may release its layers afterwards.  name NULL gives "model", "model_1",
 *  ...  A graph that does not connect the outputs to the inputs, or with two
 *  layers of one name, is a CK_VALUE_ERROR. */
CK_API ck_status ck_model_new(ck_model **out, int n_inputs, ck_tensor *const *inputs, int n_outputs,
                       ck_tensor *const *outputs, const char *name);

/** A Sequential model of `layers` applied in order.  input_shape (without
 *  the batch dim) may be NULL when the first layer was created with
 *  .input_shape.  The model takes references on the layers. */
CK_API ck_status ck_sequential(ck_model **out, int n_layers, ck_layer *const *layers, const ck_shape *input_shape,
                        const char *name);

/** Releases the caller's reference (ck_layer_free of the model layer).
 *  When the model goes, its layers that nothing else references are freed
 *  even where they reference each other in a cycle (a layer called on a
 *  tensor computed from its own output, as Keras allows); a layer of such
 *  a cycle that the program still holds keeps the cycle's history until a
 *  model over it is freed after the program's own reference. */
CK_API void ck_model_free(ck_model *m);

/** The model as a layer (borrowed): name, weights, get_config, calls. */
CK_API ck_layer *ck_model_layer(ck_model *m);
/** The model behind a layer of class Functional / Sequential, else NULL. */
CK_API ck_model *ck_layer_as_model(ck_layer *layer);

/** The model's name. */
CK_API const char *ck_model_name(const ck_model *m);
/** Number of layers in Keras' model.layers order (a functional model lists
 *  its InputLayers; a Sequential model's InputLayer is included here too and
 *  is hidden by summaries, as tf.keras hides it). */
CK_API int ck_model_layer_count(const ck_model *m);
/** The i-th layer (borrowed), or NULL. */
CK_API ck_layer *ck_model_layer_at(const ck_model *m, int i);
/** `model.get_layer(name)` (borrowed); CK_VALUE_ERROR if absent. */
CK_API ck_status ck_model_get_layer(const ck_model *m, const char *name, ck_layer **out);

/** Inputs and outputs: counts and the symbolic tensors (borrowed). */
CK_API int ck_model_input_count(const ck_model *m);
CK_API int ck_model_output_count(const ck_model *m);
CK_API ck_tensor *ck_model_input(const ck_model *m, int i);
CK_API ck_tensor *ck_model_output(const ck_model *m, int i);

/** Parameter counts (any pointer may be NULL). */
CK_API ck_status ck_model_count_params(const ck_model *m, int64_t *total, int64_t *trainable, int64_t *non_trainable);

/** `model.predict(inputs, batch_size)`: inputs in the order of the model's
 *  inputs, all with the same number of samples (read, never modified: a
 *  `ck_tensor *in[]` passes as it is); batch_size 0 is 32.
 *  outputs[i] receives a new tensor per model output (caller frees).
 *  Floating inputs of another precision are converted.  The model plans its
 *  buffers once per input shape (values whose lifetimes do not overlap
 *  share memory), so repeated calls allocate only the returned tensors.
 *  The buffers belong to the model's default predictor: a second thread
 *  calling ck_model_predict on the same model while one runs gets
 *  CK_RUNTIME_ERROR (never corrupted results); to predict one model from
 *  several threads give each thread a ck_predictor. */
CK_API ck_status ck_model_predict(ck_model *m, int n_inputs, ck_tensor *const *inputs, ck_tensor **outputs,
                           int64_t batch_size);

/** Same into caller-provided outputs of exactly the output shapes and
 *  dtypes; once planned, allocates nothing at all (every layer's working
 *  memory, im2col rows, normalised copies, a nested model's values, is
 *  planned with the buffers). */
CK_API ck_status ck_model_predict_into(ck_model *m, int n_inputs, ck_tensor *const *inputs,
                                ck_tensor *const *outputs, int64_t batch_size);

/** Run state for predicting one model from several threads: each
 *  predictor has its own planned buffers and shares the model's weights
 *  read-only (no copy).  One predictor per thread; the model must not be
 *  changed (weights set, trained, freed) while predictors run.  A
 *  predictor keeps a reference on the model, so ck_model_free may come
 *  first.  A predictor used by two threads at once gives CK_RUNTIME_ERROR
 *  to the second. */
typedef struct ck_predictor ck_predictor;

/** A predictor of `model`; its buffers are planned on first use. */
CK_API ck_status ck_predictor_new(ck_predictor **out, ck_model *model);

/** ck_model_predict through the predictor's own buffers. */
CK_API ck_status ck_predictor_predict(ck_predictor *p, int n_inputs, ck_tensor *const *inputs, ck_tensor **outputs,
                               int64_t batch_size);

/** ck_model_predict_into through the predictor's own buffers; once
 *  planned, allocates nothing. */
CK_API ck_status ck_predictor_predict_into(ck_predictor *p, int n_inputs, ck_tensor *const *inputs,
                                    ck_tensor *const *outputs, int64_t batch_size);

/** Releases a predictor (and its reference on the model); NULL is fine. */
CK_API void ck_predictor_free(ck_predictor *p);

/** `model.summary()` as text (ck_free it): Keras' table with Layer (type),
 *  Output Shape, Param #, Connected to, and the parameter totals. */
CK_API ck_status ck_model_summary(const ck_model *m, char **out);

/** `model.to_json()`: tf.keras 2.x JSON (class "Functional"/"Sequential",
 *  keras_version, backend).  ck_free the text. */
CK_API ck_status ck_model_to_json(const ck_model *m, char **out);

/** `model_from_json`: tf.keras 2.x ("Functional"), Keras 1/2 and TF.js
 *  ("Model"), Keras 3 (inbound_nodes with args/kwargs), Sequential as a
 *  dict or a bare list, and TF.js model.json (its modelTopology).  Weights
 *  are freshly initialised. */
CK_API ck_status ck_model_from_json(const char *json, ck_model **out);

/* --- files --------------------------------------------------------------- */

/** Loads a whole model: a Keras HDF5 file (`model.save("x.h5")`, any Keras
 *  version from 1.x to 3.x), a `.keras` archive (Keras 3, tf.keras 2.13+),
 *  or a JSON architecture (tf.keras/Keras to_json, or a TF.js model.json,
 *  whose weight files are read too).  A plain architecture JSON gets
 *  freshly initialised weights (load them with ck_model_load_weights).
 *  Errors name the file: CK_IO_ERROR, CK_FORMAT_ERROR (malformed, weights
 *  that do not fit), CK_NOT_IMPLEMENTED (a layer class ckeras lacks).
 *
 *  A compiled model's file loads compiled, as Keras' load_model(compile=
 *  True): from the .h5 `training_config` attribute or the .keras
 *  `compile_config` (tf.keras 2.x and Keras 3 forms), with the optimizer's
 *  state restored (.h5 `optimizer_weights`, .keras `optimizer/vars`;
 *  Keras 3's learning_rate variable sets the learning rate), so fit resumes
 *  exactly where the saving program stopped.  When ckeras cannot compile
 *  from the file's config (an unknown loss or metric, a layer without a
 *  backward pass) the model still loads, uncompiled, for inference: the
 *  error is dropped; ck_model_saved_training_config gives the text so that
 *  ck_model_compile_json can report it.  An optimizer state that does not
 *  fit (a legacy tf.keras <= 2.10 optimizer, other variables) leaves a
 *  fresh optimizer, as tf.keras does with a warning. */
CK_API ck_status ck_model_load(const char *path, ck_model **out);

/** The training config of the file a model was loaded from (the .h5
 *  `training_config` or the .keras `compile_config`, JSON text, borrowed),
 *  whether or not compiling from it worked; NULL if the file had none or
 *  the model was not loaded by ck_model_load. */
CK_API const char *ck_model_saved_training_config(const ck_model *m);

/** `model.load_weights(path, by_name)`: a legacy HDF5 weights file (or a
 *  full model file), a Keras 3 `.weights.h5`, or a `.keras` archive.  By
 *  topology (by_name 0, Keras' default) the file's layers with weights pair
 *  in order with the model's; by name they pair by layer name and layers
 *  missing from the model are skipped.  Every layer is checked (count and
 *  shapes) before any weight changes. */
CK_API ck_status ck_model_load_weights(ck_model *m, const char *path, int by_name);

/** Saves a model by the extension of `path`: `.h5`/`.hdf5` in the tf.keras
 *  2.x HDF5 layout (model_config + model_weights), `.keras` as the archive
 *  tf.keras 2.13-2.15 write, `.json` as to_json.  Files are written to a
 *  temporary name and renamed, so a failure never leaves half a file.
 *  A compiled model is saved with its compile information and optimizer
 *  state as tf.keras 2.15 writes them: .h5 `training_config` (optimizer
 *  class "Custom>Adam", the built metrics as MeanMetricWrapper configs) and
 *  the `optimizer_weights` group ("iteration:0", "Adam/m/dense/kernel:0",
 *  ...); .keras `compile_config` and `optimizer/vars/<i>`.  tf.keras 2.15
 *  loads such files compiled with that state. */
CK_API ck_status ck_model_save(ck_model *m, const char *path);

/** `model.save_weights(path)`: the tf.keras 2.x HDF5 weights layout, or the
 *  Keras 3 layout when the name ends in `.weights.h5` (which holds a
 *  compiled model's optimizer/vars too, as tf.keras 2.15 writes it). */
CK_API ck_status ck_model_save_weights(ck_model *m, const char *path);

/* ======================================================================== */
/* Training: losses                                                          */
/* ======================================================================== */

/** A loss function with its configuration (tf.keras.losses.*):
 *  MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
 *  MeanSquaredLogarithmicError, BinaryCrossentropy (from_logits,
 *  label_smoothing, axis), CategoricalCrossentropy (from_logits,
 *  label_smoothing, axis), SparseCategoricalCrossentropy (from_logits,
 *  ignore_class), BinaryFocalCrossentropy (apply_class_balancing, alpha,
 *  gamma, from_logits, label_smoothing, axis), Hinge, SquaredHinge,
 *  CategoricalHinge, KLDivergence, Poisson, LogCosh, Huber (delta),
 *  CosineSimilarity (axis).  Numerics follow tf.keras 2.15: epsilon 1e-7
 *  clipping of probabilities (in y_pred's dtype), TF's logits formulas,
 *  computed in double and stored in y_pred's dtype. */
typedef struct ck_loss ck_loss;

/** How per-sample losses are reduced (tf.keras.losses.Reduction). */
typedef enum ck_reduction {
    CK_REDUCTION_AUTO = 0,              /**< sum_over_batch_size (Keras' AUTO) */
    CK_REDUCTION_SUM_OVER_BATCH_SIZE,   /**< weighted sum / number of elements  */
    CK_REDUCTION_SUM,                   /**< weighted sum                       */
    CK_REDUCTION_NONE                   /**< one value per sample               */
} ck_reduction;
/* Configs write them as "auto", "sum_over_batch_size", "sum", "none";
 * Keras 3's None and "mean" are read as "none" and "sum_over_batch_size". */

/** Creates a loss from a Keras name or config JSON text.  Names are
 *  tf.keras 2.x's functions and classes with their aliases ("mse",
 *  "mean_squared_error", "MeanSquaredError", "sparse_categorical_crossentropy",
 *  "SparseCategoricalCrossentropy", "kld", "kl_divergence", "huber_loss",
 *  "logcosh", ...).  JSON is {"class_name": ..., "config": {...}} (legacy or
 *  Keras 3 form) or a JSON string.  Unknown names: CK_VALUE_ERROR
 *  "Unknown loss function: 'foo'".  Also read: {"class_name": "function",
 *  "config": "mse"} (tf.keras 2.13+ / Keras 3 serialized functions),
 *  LossFunctionWrapper configs with "fn", and the keys "fn" / "dtype"
 *  (ignored).  Unexpected keys: CK_TYPE_ERROR as Python's __init__;
 *  a bad reduction: CK_VALUE_ERROR "Invalid Reduction Key: ...". */
CK_API ck_status ck_loss_new(ck_loss **out, const char *name_or_json);

/** The loss' Keras class name ("MeanSquaredError"), or for a loss made from
 *  a function name, that name ("mse" stays "mse", as Keras keeps it). */
CK_API const char *ck_loss_name(const ck_loss *loss);

/** The config as JSON text {"class_name": ..., "config": {...}} with
 *  tf.keras 2.x keys (reduction, name, and the class' own), written as
 *  Python's json.dumps writes tf.keras' get_config() (without the "fn" key
 *  that tf.keras 2.13+ adds only when saving .keras files).  A loss made
 *  from a function name gives the config of the class computing the same
 *  thing, named after the function (tf.keras' compile wraps it so):
 *  "mse" -> {"class_name": "MeanSquaredError", "config": {"reduction":
 *  "auto", "name": "mean_squared_error"}}; ck_loss_name still says "mse".
 *  ck_free the text. */
CK_API ck_status ck_loss_get_config(const ck_loss *loss, char **out);

/** Releases a loss; NULL is fine. */
CK_API void ck_loss_free(ck_loss *loss);

/** `loss(y_true, y_pred, sample_weight)`: y_pred float32 / float64; y_true
 *  of y_pred's shape (integer class ids of y_pred's shape without the last
 *  axis, or with a last axis of 1, for the sparse losses); sample_weight
 *  NULL, or broadcastable to the per-sample losses as Keras allows.
 *  *out receives a new scalar tensor (a (batch, ...) tensor of per-sample
 *  losses for CK_REDUCTION_NONE: y_pred's shape without the reduced axis)
 *  of y_pred's dtype.  Shapes that do not fit give CK_VALUE_ERROR naming
 *  both shapes.  y_true may also differ from y_pred by a trailing dim of 1
 *  ((batch,) for (batch, 1)); it is then read as Keras' compile reads it
 *  (expanded to y_pred's shape), not as a bare Loss.__call__ would (which
 *  squeezes y_pred and averages over the batch).  sample_weight follows
 *  Keras' squeeze_or_expand_dimensions: a scalar, (batch,), (batch, 1),
 *  or the losses' shape, e.g. (batch, T) for (batch, T, C) outputs; it must
 *  broadcast to the per-sample losses' shape.  sum_over_batch_size divides
 *  by the number of per-sample losses.  Sparse labels outside [0, classes)
 *  (other than ignore_class) give CK_VALUE_ERROR "Received a label value
 *  of 4 which is outside the valid range of [0, 4)." */
CK_API ck_status ck_loss_compute(const ck_loss *loss, const ck_tensor *y_true, const ck_tensor *y_pred,
                          const ck_tensor *sample_weight, ck_tensor **out);

/* ======================================================================== */
/* Training: optimizers and learning-rate schedules                          */
/* ======================================================================== */

/** An optimizer with its state (tf.keras 2.11+ optimizers). */
typedef struct ck_optimizer ck_optimizer;

/** Creates an optimizer from a Keras name ("sgd", "adam", "adamw",
 *  "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "ftrl", any case)
 *  with Keras' defaults, or from config JSON text {"class_name": "Adam",
 *  "config": {...}}, whose learning_rate may be a schedule config
 *  (ExponentialDecay, PiecewiseConstantDecay, InverseTimeDecay,
 *  PolynomialDecay, CosineDecay).  Legacy names and keys are read too
 *  ("lr", "decay", Keras 1/2 configs).  Unknown name: CK_VALUE_ERROR.
 *
 *  Also read: the 2.13+ / Keras 3 wrapper {"module", "class_name",
 *  "config", "registered_name"}, "Custom>Adam" (what .h5 training configs
 *  hold), a Keras 1 object {"name": "SGD", "lr": ...}, a JSON string.
 *  Every config, legacy ones included, gets the tf.keras 2.11+ update rules;
 *  a legacy "decay" > 0 becomes the learning rate schedule
 *  InverseTimeDecay(lr, decay_steps=1, decay_rate=decay), which is the
 *  legacy lr / (1 + decay * iterations).  Errors as Keras raises them:
 *  an unknown key CK_TYPE_ERROR; clipnorm with global_clipnorm, SGD momentum
 *  outside [0, 1], negative Ftrl strengths, AdamW weight_decay null:
 *  CK_VALUE_ERROR; use_ema true, loss_scale_factor or
 *  gradient_accumulation_steps (Keras 3), or decay with a schedule:
 *  CK_NOT_IMPLEMENTED; malformed JSON: CK_FORMAT_ERROR. */
CK_API ck_status ck_optimizer_new(ck_optimizer **out, const char *name_or_json);

/** The config as tf.keras 2.11+ writes it; ck_free the text:
 *  {"class_name": "Adam", "config": {"name", "weight_decay", "clipnorm",
 *  "global_clipnorm", "clipvalue", "use_ema", "ema_momentum",
 *  "ema_overwrite_frequency", "jit_compile", "is_legacy_optimizer",
 *  "learning_rate", then the class' own keys}} in Python's json.dumps
 *  format.  learning_rate is the float32 value as Keras shows it
 *  (0.0010000000474974513) or the schedule as {"module":
 *  "keras.optimizers.schedules", "class_name", "config",
 *  "registered_name": null}; other values are written as given (else the
 *  Keras default); jit_compile is false, as tf.keras writes it on CPU.
 *  (A .h5 training_config names the class "Custom>Adam"; that is the
 *  writer's business.) */
CK_API ck_status ck_optimizer_get_config(const ck_optimizer *opt, char **out);

/** Keras class name ("Adam"). */
CK_API const char *ck_optimizer_name(const ck_optimizer *opt);

/** The learning rate the next step will use (a schedule evaluated at the
 *  current iteration), a float32 value as tf.keras computes it. */
CK_API double ck_optimizer_learning_rate(const ck_optimizer *opt);

/** Sets a constant learning rate (replaces a schedule), as
 *  `optimizer.learning_rate = lr`.  CK_VALUE_ERROR for a negative rate. */
CK_API ck_status ck_optimizer_set_learning_rate(ck_optimizer *opt, double lr);

/** Steps taken so far (`optimizer.iterations`). */
CK_API int64_t ck_optimizer_iterations(const ck_optimizer *opt);

/** `optimizer.apply_gradients(zip(grads, vars))`: one update of n float32 /
 *  float64 variables in place (clipnorm / clipvalue / global_clipnorm
 *  first).  The first call creates the slots (momentums, ...) for these
 *  variables; later calls must pass the same variables in the same order
 *  and shapes (CK_VALUE_ERROR otherwise) and allocate nothing.
 *
 *  As tf.keras 2.15: the gradients are clipped (clipnorm per gradient, else
 *  global_clipnorm, else clipvalue), then weight_decay (if set) is applied
 *  decoupled, var -= var * weight_decay * lr, then each variable is
 *  updated and iterations grows by one.  The arithmetic is done in the
 *  variable's dtype as TF does it (float32 for float32 variables).  Each
 *  gradient must have its variable's shape (CK_VALUE_ERROR naming both)
 *  and dtype (CK_TYPE_ERROR).  On error nothing changes. */
CK_API ck_status ck_optimizer_apply_gradients(ck_optimizer *opt, int n, ck_tensor *const *vars,
                                       ck_tensor *const *grads /* read only */);

/** The optimizer's variables in tf.keras 2.11+'s order (iterations, then
 *  the slots), as copies: *out gets *n tensors, free with ck_tensors_free.
 *  Before the first step: only iterations.  iterations is an int64 scalar;
 *  the slots have their variable's dtype and shape, in `optimizer.variables`
 *  order (Adam: m and v variable by variable, then each vhat; RMSprop: each
 *  velocity, then each momentum, then each average_gradient). */
CK_API ck_status ck_optimizer_get_weights(const ck_optimizer *opt, ck_tensor ***out, int *n);

/** Restores the variables from ck_optimizer_get_weights (or a Keras file)
 *  for these model variables: shapes checked first, nothing changes on
 *  error.  An optimizer that has not stepped yet creates its slots here
 *  (n == 1, iterations alone, sets only the count).  values[0] is any
 *  numeric scalar; the slots may be float32 or float64 (converted).  A
 *  wrong count or shape: CK_VALUE_ERROR.  Resuming from restored weights
 *  gives exactly the steps an uninterrupted optimizer takes (Nadam's
 *  momentum-schedule product is recomputed from iterations). */
CK_API ck_status ck_optimizer_set_weights(ck_optimizer *opt, int n_vars, ck_tensor *const *vars, int n,
                                   ck_tensor *const *values /* read only */);

/** Releases an optimizer; NULL is fine. */
CK_API void ck_optimizer_free(ck_optimizer *opt);

/* ======================================================================== */
/* Training: metrics                                                         */
/* ======================================================================== */

/** A stateful metric (tf.keras.metrics.*): updated per batch, read per
 *  epoch. */
typedef struct ck_metric ck_metric;

/** Creates a metric from a name as compile takes it, or from config JSON.
 *  Names: "accuracy" / "acc" (any case), "binary_accuracy",
 *  "categorical_accuracy", "sparse_categorical_accuracy",
 *  "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
 *  "mse" / "MSE" / "mean_squared_error", "mae" / "MAE" /
 *  "mean_absolute_error" (a function: the metric is named by the string),
 *  and the classes "BinaryAccuracy", "CategoricalAccuracy",
 *  "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
 *  "SparseTopKCategoricalAccuracy", "MeanSquaredError",
 *  "MeanAbsoluteError", "AUC" / "auc", "Precision" / "precision", "Recall" /
 *  "recall" (named by their Keras default).  Config JSON: {"class_name",
 *  "config"} (also Keras 3's form with "module") for these classes,
 *  "Accuracy" (element-wise equality) and "MeanMetricWrapper" with "fn".
 *  dtype float32 (default) or float64.  AUC: multi_label and label_weights
 *  are not supported (CK_NOT_IMPLEMENTED).  An unknown name is a
 *  CK_VALUE_ERROR naming it.  "accuracy" stays unresolved until
 *  ck_metric_resolve (or the first update, which resolves it from the
 *  tensors' shapes). */
CK_API ck_status ck_metric_new(ck_metric **out, const char *name_or_json);

/** Keras' choice of function for "accuracy" / "acc".  With both shapes
 *  known (dims may be -1), tf.keras 2.15's rule: binary when y_pred's last
 *  dim is 1, sparse when y_true has fewer dims than y_pred or a last dim of
 *  1 while y_pred's is > 1, else categorical (so a binary_crossentropy
 *  model with 3 outputs gets categorical_accuracy, as in tf.keras).  When a
 *  shape is NULL, the loss decides what the shapes cannot: binary for
 *  binary_crossentropy (y_pred unknown), sparse for
 *  sparse_categorical_crossentropy.  `loss` and the shapes may be NULL
 *  (categorical then).  The name stays as given.  No effect on other
 *  metrics. */
CK_API ck_status ck_metric_resolve(ck_metric *m, const ck_loss *loss, const ck_shape *y_true, const ck_shape *y_pred);

/** The name Keras shows in logs ("accuracy", "auc", "precision"). */
CK_API const char *ck_metric_name(const ck_metric *m);

/** `metric.update_state(y_true, y_pred, sample_weight)`; sample_weight may
 *  be NULL.  Allocates nothing after the first call. */
CK_API ck_status ck_metric_update(ck_metric *m, const ck_tensor *y_true, const ck_tensor *y_pred,
                           const ck_tensor *sample_weight);

/** `metric.result()` (divide_no_nan of float32 totals, as Keras).
 *  Precision / Recall with several thresholds: the value at the first. */
CK_API double ck_metric_result(const ck_metric *m);

/** `metric.reset_state()`. */
CK_API void ck_metric_reset(ck_metric *m);

/** Config JSON text {"class_name", "config": {"name", "dtype", ...}} as
 *  tf.keras writes it; a function given by name is a "MeanMetricWrapper"
 *  with "fn"; an unresolved "accuracy" gives its name as a JSON string.
 *  ck_free it. */
CK_API ck_status ck_metric_get_config(const ck_metric *m, char **out);

/** Releases a metric; NULL is fine. */
CK_API void ck_metric_free(ck_metric *m);

/* ======================================================================== */
/* Training: compile, fit, evaluate, callbacks                               */
/* ======================================================================== */
/*
 * The training loop of tf.keras 2.x.  A model is compiled with a loss per
 * output, an optimizer and metrics; fit runs epochs of shuffled batches:
 * the forward pass in training mode (Dropout drops, BatchNormalization
 * uses and updates batch statistics), the total loss (each output's loss
 * times its loss weight, plus every regularization and add_loss loss), the
 * backward pass through the whole graph (shared layers and nested models
 * included; frozen layers and non-trainable weights get no update), one
 * optimizer step, then each weight's constraint.  After the first step of a
 * given batch shape a step allocates nothing.
 */

/** Options of ck_model_compile (Keras' model.compile).  Each string is a
 *  Keras name or config JSON text. */
typedef struct ck_compile_opts {
    const char *optimizer;          /**< NULL: "rmsprop" (Keras' default)   */
    const char *loss;               /**< one loss for every output          */
    const char *const *losses;      /**< or one per output, in output order
                                         (NULL entries: the output has no
                                         loss); used when loss is NULL     */
    const double *loss_weights;     /**< one per output; NULL: all 1        */
    const char *const *metrics;     /**< metrics for every output          */
    int n_metrics;
} ck_compile_opts;

/** `model.compile(...)`.  Checks everything first (unknown names give
 *  CK_VALUE_ERROR naming them; a layer class without a backward pass gives
 *  CK_NOT_IMPLEMENTED naming the layer) and only then replaces an earlier
 *  compilation.  A model without any loss is a CK_VALUE_ERROR. */
CK_API ck_status ck_model_compile(ck_model *m, const ck_compile_opts *opts);

/** Compiles from Keras' training config JSON: the `training_config`
 *  attribute of a tf.keras .h5 file or the `compile_config` of a .keras
 *  archive ({"loss": ..., "metrics": ..., "loss_weights": ...,
 *  "optimizer_config": ...} or {"optimizer": ..., "loss": ...}). */
CK_API ck_status ck_model_compile_json(ck_model *m, const char *json);

/** 1 once compiled. */
CK_API int ck_model_compiled(const ck_model *m);

/** The optimizer of a compiled model (borrowed; NULL before compile). */
CK_API ck_optimizer *ck_model_optimizer(ck_model *m);

/** The compile configuration as Keras saves it (`training_config`), JSON
 *  text to ck_free; CK_RUNTIME_ERROR before compile. */
CK_API ck_status ck_model_training_config(const ck_model *m, char **out);

/** Most values one set of logs holds. */
#define CK_MAX_LOGS 64

/** The logs of a batch, an epoch or an evaluation, in Keras' order: "loss",
 *  per-output losses ("dense_1_loss") when there are several outputs, the
 *  metrics ("accuracy", or "dense_1_accuracy" for several outputs), then
 *  the same with "val_" during fit with validation data. */
typedef struct ck_logs {
    int n;
    char names[CK_MAX_LOGS][64];
    double values[CK_MAX_LOGS];
} ck_logs;

/** The value named `name` in `logs`, or NaN if it is not there. */
CK_API double ck_logs_get(const ck_logs *logs, const char *name);

/** A callback: functions called by fit (any may be NULL).  Returning
 *  anything but CK_OK stops fit with that status. */
typedef struct ck_callback_fns {
    ck_status (*on_train_begin)(void *user, ck_model *m);
    ck_status (*on_epoch_begin)(void *user, ck_model *m, int epoch);
    ck_status (*on_batch_end)(void *user, ck_model *m, int64_t batch, const ck_logs *logs);
    ck_status (*on_epoch_end)(void *user, ck_model *m, int epoch, const ck_logs *logs);
    ck_status (*on_train_end)(void *user, ck_model *m, const ck_logs *logs);
    void (*destroy)(void *user);    /**< releases `user` with the callback */
} ck_callback_fns;

/** A callback object (Keras' Callback). */
typedef struct ck_callback ck_callback;

/** A callback of your own: `fns` is copied; `user` is handed to each
 *  function and released with fns->destroy (if set) by ck_callback_free. */
CK_API ck_status ck_callback_new(ck_callback **out, const ck_callback_fns *fns, void *user);

/** Releases a callback; NULL is fine. */
CK_API void ck_callback_free(ck_callback *cb);

/** `model.stop_training = True` (from a callback): fit ends after the
 *  current epoch. */
CK_API void ck_model_stop_training(ck_model *m);

/** keras.callbacks.EarlyStopping options: monitor NULL is "val_loss"; mode
 *  NULL is "auto" (max for names containing "acc" or "auc", else min);
 *  patience 0, min_delta 0, baseline when given, restore_best_weights,
 *  start_from_epoch 0. */
typedef struct ck_early_stopping_opts {
    const char *monitor;
    double min_delta;
    int patience;
    const char *mode;
    ck_opt_double baseline;
    bool restore_best_weights;
    int start_from_epoch;
    ck_opt_int verbose;
} ck_early_stopping_opts;
CK_API ck_status ck_early_stopping(ck_callback **out, const ck_early_stopping_opts *opts);

/** keras.callbacks.ModelCheckpoint options: filepath (required; Keras'
 *  "{epoch:02d}" / "{val_loss:.2f}" fields are filled), monitor NULL is
 *  "val_loss", save_best_only, save_weights_only, mode as EarlyStopping. */
typedef struct ck_model_checkpoint_opts {
    const char *filepath;
    const char *monitor;
    bool save_best_only;
    bool save_weights_only;
    const char *mode;
    ck_opt_int verbose;
} ck_model_checkpoint_opts;
CK_API ck_status ck_model_checkpoint(ck_callback **out, const ck_model_checkpoint_opts *opts);

/** keras.callbacks.ReduceLROnPlateau options: monitor NULL "val_loss";
 *  factor (not given: 0.1; must be < 1), patience (not given: 10),
 *  min_delta (not given: 1e-4), cooldown 0, min_lr 0, mode as
 *  EarlyStopping. */
typedef struct ck_reduce_lr_on_plateau_opts {
    const char *monitor;
    ck_opt_double factor;
    ck_opt_int patience;
    ck_opt_double min_delta;
    int cooldown;
    double min_lr;
    const char *mode;
    ck_opt_int verbose;
} ck_reduce_lr_on_plateau_opts;
CK_API ck_status ck_reduce_lr_on_plateau(ck_callback **out, const ck_reduce_lr_on_plateau_opts *opts);

/** keras.callbacks.LearningRateScheduler: before each epoch the optimizer's
 *  learning rate becomes schedule(epoch, lr, user). */
typedef double (*ck_lr_schedule_fn)(int epoch, double lr, void *user);
CK_API ck_status ck_learning_rate_scheduler(ck_callback **out, ck_lr_schedule_fn schedule, void *user);

/** keras.callbacks.CSVLogger: one row per epoch ("epoch" then the logs in
 *  sorted order, as Keras writes them); separator NULL is ",". */
CK_API ck_status ck_csv_logger(ck_callback **out, const char *filename, const char *separator, bool append);

/** keras.callbacks.TerminateOnNaN: stops training at a NaN or infinite
 *  batch loss. */
CK_API ck_status ck_terminate_on_nan(ck_callback **out);

/** What fit returns: Keras' History (one value per epoch for each log). */
typedef struct ck_history ck_history;
/** Number of epochs recorded. */
CK_API int ck_history_epochs(const ck_history *h);
/** Number of logs ("loss", "accuracy", "val_loss", ...). */
CK_API int ck_history_count(const ck_history *h);
/** Name of log i (NULL if out of range). */
CK_API const char *ck_history_name(const ck_history *h, int i);
/** Value of log `name` at epoch index e (NaN if absent). */
CK_API double ck_history_get(const ck_history *h, const char *name, int e);
/** Releases a history; NULL is fine. */
CK_API void ck_history_free(ck_history *h);

/** Options of ck_model_fit (model.fit). */
typedef struct ck_fit_opts {
    int64_t batch_size;             /**< 0: 32                                */
    int epochs;                     /**< 0: 1 (the last epoch index + 1)      */
    ck_opt_int verbose;             /**< not given: 1 (progress bar); 0
                                         silent; 2 one line per epoch        */
    bool no_shuffle;                /**< keep the file order (shuffle=False)  */
    ck_opt_int seed;                /**< shuffling and dropout stream; not
                                         given: drawn from the global
                                         generator (ck_set_random_seed)      */
    double validation_split;        /**< the last fraction of the samples,
                                         taken before shuffling             */
    int n_validation_x;             /**< validation_data: inputs and targets */
    ck_tensor *const *validation_x;
    int n_validation_y;
    ck_tensor *const *validation_y;
    const ck_tensor *sample_weight;         /**< (samples,) or NULL          */
    const double *class_weight;             /**< weight of class id i        */
    int n_class_weight;
    int initial_epoch;
    ck_callback *const *callbacks;
    int n_callbacks;
    FILE *progress;                 /**< NULL: stdout, as Keras prints       */
} ck_fit_opts;

/** `model.fit(x, y, ...)`: x in the order of the model's inputs, y of its
 *  outputs, all with one number of samples.  The model must be compiled.
 *  y shapes are checked against the outputs and losses before anything is
 *  trained; x and y are read, never modified.  *history (may be NULL)
 *  receives the History.  A NaN loss is not
 *  an error (add ck_terminate_on_nan); an error from a callback or a step
 *  stops fit and is returned (the weights keep the steps already taken). */
CK_API ck_status ck_model_fit(ck_model *m, int n_x, ck_tensor *const *x, int n_y, ck_tensor *const *y,
                       const ck_fit_opts *opts, ck_history **history);

/** Fills one batch for ck_model_fit_batches: write up to `capacity` samples
 *  into x[i] / y[j] (allocated by ckeras with the model's input / output
 *  shapes and `capacity` rows; y as float32, or int64 for sparse losses)
 *  and set *rows; 0 rows ends the epoch early.  `sample_weight` is NULL or
 *  a float32 (capacity,) tensor to fill (it starts as all ones). */
typedef ck_status (*ck_batch_fn)(void *user, int epoch, int64_t batch, int64_t capacity, ck_tensor *const *x,
                                 ck_tensor *const *y, ck_tensor *sample_weight, int64_t *rows);

/** fit from a data callback (data larger than memory): steps_per_epoch
 *  calls of `fn` per epoch (shuffling is the callback's business);
 *  opts->batch_size is the capacity; validation options are ignored. */
CK_API ck_status ck_model_fit_batches(ck_model *m, ck_batch_fn fn, void *user, int64_t steps_per_epoch,
                               const ck_fit_opts *opts, ck_history **history);

/** Options of ck_model_evaluate. */
typedef struct ck_evaluate_opts {
    int64_t batch_size;             /**< 0: 32 */
    ck_opt_int verbose;             /**< not given: 1 */
    const ck_tensor *sample_weight;
    FILE *progress;                 /**< NULL: stdout */
} ck_evaluate_opts;

/** `model.evaluate(x, y)`: inference-mode losses and metrics over all
 *  samples, into *logs ("loss" first). */
CK_API ck_status ck_model_evaluate(ck_model *m, int n_x, ck_tensor *const *x, int n_y, ck_tensor *const *y,
                            const ck_evaluate_opts *opts, ck_logs *logs);

/** `model.train_on_batch(x, y, sample_weight)`: one step on these samples
 *  (metrics reset first, as Keras' reset_metrics=True); logs may be NULL. */
CK_API ck_status ck_model_train_on_batch(ck_model *m, int n_x, ck_tensor *const *x, int n_y,
                                  ck_tensor *const *y, const ck_tensor *sample_weight, ck_logs *logs);

/** `model.test_on_batch(x, y, sample_weight)`. */
CK_API ck_status ck_model_test_on_batch(ck_model *m, int n_x, ck_tensor *const *x, int n_y,
                                 ck_tensor *const *y, const ck_tensor *sample_weight, ck_logs *logs);

#ifdef __cplusplus
}
#endif

#endif /* CKERAS_H */
