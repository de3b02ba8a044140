/* The tensor: dtype, rank, int64 shape, contiguous row-major data. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

size_t ck_dtype_size(ck_dtype dtype)
{
    switch (dtype) {
    case CK_FLOAT32: case CK_INT32: return 4;
    case CK_FLOAT64: case CK_INT64: return 8;
    }
    return 0;
}

const char *ck_dtype_name(ck_dtype dtype)
{
    switch (dtype) {
    case CK_FLOAT32: return "float32";
    case CK_FLOAT64: return "float64";
    case CK_INT32: return "int32";
    case CK_INT64: return "int64";
    }
    return "invalid";
}

ck_status ck_dtype_from_name(const char *name, ck_dtype *out)
{
    CK_NEED(name);
    CK_NEED(out);
    static const ck_dtype all[] = {CK_FLOAT32, CK_FLOAT64, CK_INT32, CK_INT64};
    for (size_t i = 0; name && i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, ck_dtype_name(all[i])) == 0) {
            *out = all[i];
            return CK_OK;
        }
    }
    return ck_error(CK_VALUE_ERROR,
                    "unsupported dtype '%s': expected float32, float64, "
                    "int32 or int64", name ? name : "(null)");
}

int ck_dtype_is_floating(ck_dtype dtype)
{
    return dtype == CK_FLOAT32 || dtype == CK_FLOAT64;
}

int ck_mul_overflow_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a != 0 && b > INT64_MAX / a) return 1;
    *out = a * b;
    return 0;
}

char *ck_shape_str(char *buf, size_t n, int rank, const int64_t *shape)
{
    size_t used = 0;
    if (!buf || n == 0) return buf;
    if (rank > 0 && !shape) {
        snprintf(buf, n, "(?)");
        ck_null_arg(__func__, "shape");
        return buf;
    }
    if (rank < 0 || rank > CK_MAX_RANK) rank = rank < 0 ? 0 : CK_MAX_RANK;
    buf[0] = '\0';
#define CK_APPEND(...)                                                       \
    do {                                                                     \
        if (used < n) {                                                      \
            int w = snprintf(buf + used, n - used, __VA_ARGS__);             \
            if (w > 0) used += (size_t)w;                                    \
        }                                                                    \
    } while (0)
    CK_APPEND("(");
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) CK_APPEND("None");
        else CK_APPEND("%lld", (long long)shape[i]);
        if (i + 1 < rank || rank == 1) CK_APPEND(",");
        if (i + 1 < rank) CK_APPEND(" ");
    }
    CK_APPEND(")");
#undef CK_APPEND
    return buf;
}

ck_status ck_shape_count(ck_dtype dtype, int rank, const int64_t *shape,
                         int64_t *count)
{
    size_t esize = ck_dtype_size(dtype);
    if (esize == 0) return ck_error(CK_TYPE_ERROR, "invalid dtype %d", (int)dtype);
    if (rank < 0 || rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "rank %d is out of range: expected 0 to %d",
                        rank, CK_MAX_RANK);
    if (rank > 0 && !shape) return ck_null_arg(__func__, "shape");
    int64_t n = 1, bytes;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) {
            char s[128];
            return ck_error(CK_VALUE_ERROR, "shape %s has a negative or unknown dim %d",
                            ck_shape_str(s, sizeof s, rank, shape), i);
        }
        if (ck_mul_overflow_i64(n, shape[i], &n)) {
            char s[128];
            return ck_error(CK_VALUE_ERROR, "shape %s has too many elements",
                            ck_shape_str(s, sizeof s, rank, shape));
        }
    }
    if (ck_mul_overflow_i64(n, (int64_t)esize, &bytes) || (uint64_t)bytes > SIZE_MAX) {
        char s[128];
        return ck_error(CK_VALUE_ERROR, "shape %s is too large for %s",
                        ck_shape_str(s, sizeof s, rank, shape), ck_dtype_name(dtype));
    }
    if (count) *count = n;
    return CK_OK;
}

/* Data is aligned to a cache line (and an AVX-512 vector), so that the
 * kernels' wide loads never straddle two lines. */
enum { CK_TENSOR_ALIGN = 64 };

/* A tensor and its data come in one block: one allocation, and the data
 * aligned inside it whatever the allocator's own alignment. */
static ck_status tensor_alloc(ck_tensor **out, ck_dtype dtype, int rank,
                              const int64_t *shape, int zero, void *borrowed)
{
    int64_t n;
    CK_NEED(out);
    CK_TRY(ck_shape_count(dtype, rank, shape, &n));
    size_t bytes = borrowed ? 0 : (size_t)n * ck_dtype_size(dtype);
    size_t head = sizeof(ck_tensor) + (borrowed ? 0 : CK_TENSOR_ALIGN - 1);
    if (bytes > SIZE_MAX - head) return ck_error(CK_VALUE_ERROR, "tensor of %lld elements is too large", (long long)n);
    ck_tensor *t = ck_malloc(head + bytes);
    if (!t) return ck_oom(borrowed ? "a tensor" : "tensor data");
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->shape[i] = shape[i];
    t->size = n;
    if (borrowed) {
        t->data = borrowed;
        t->owns_data = 0;
    } else {
        uintptr_t p = (uintptr_t)(t + 1);
        p = (p + CK_TENSOR_ALIGN - 1) & ~(uintptr_t)(CK_TENSOR_ALIGN - 1);
        t->data = (void *)p;
        if (zero) memset(t->data, 0, bytes);
        t->owns_data = 1;
    }
    *out = t;
    return CK_OK;
}

ck_status ck_tensor_new(ck_tensor **out, ck_dtype dtype, int rank,
                        const int64_t *shape)
{
    if (rank > 0) CK_NEED(shape);
    CK_NEED(out);
    return tensor_alloc(out, dtype, rank, shape, 1, NULL);
}

ck_status ck_tensor_new_uninit(ck_tensor **out, ck_dtype dtype, int rank,
                               const int64_t *shape)
{
    if (rank > 0) CK_NEED(shape);
    return tensor_alloc(out, dtype, rank, shape, 0, NULL);
}

ck_status ck_tensor_from_data(ck_tensor **out, ck_dtype dtype, int rank,
                              const int64_t *shape, const void *data)
{
    if (rank > 0) CK_NEED(shape);
    CK_NEED(out);
    CK_NEED(data);
    ck_tensor *t = NULL;
    CK_NEED(out);
    if (!data) return ck_error(CK_VALUE_ERROR, "ck_tensor_from_data: data is NULL");
    CK_TRY(tensor_alloc(&t, dtype, rank, shape, 0, NULL));
    memcpy(t->data, data, (size_t)t->size * ck_dtype_size(dtype));
    *out = t;
    return CK_OK;
}

ck_status ck_tensor_wrap(ck_tensor **out, ck_dtype dtype, int rank,
                         const int64_t *shape, void *data)
{
    if (rank > 0) CK_NEED(shape);
    CK_NEED(out);
    CK_NEED(data);
    if (!data) return ck_error(CK_VALUE_ERROR, "ck_tensor_wrap: data is NULL");
    return tensor_alloc(out, dtype, rank, shape, 0, data);
}

ck_status ck_tensor_copy(ck_tensor **out, const ck_tensor *t)
{
    CK_NEED(out);
    CK_NEED(t);
    if (!t->data) return ck_error(CK_VALUE_ERROR, "ck_tensor_copy: no tensor data");
    return ck_tensor_from_data(out, t->dtype, t->rank, t->shape, t->data);
}

ck_status ck_tensor_reshape(ck_tensor *t, int rank, const int64_t *shape)
{
    CK_NEED(t);
    char a[128], b[128];
    CK_NEED(t);
    if (rank > 0) CK_NEED(shape);
    if (t->keras_history)
        return ck_error(CK_VALUE_ERROR, "ck_tensor_reshape: a symbolic tensor belongs to its layer's graph and "
                        "cannot be reshaped");
    if (rank < 0 || rank > CK_MAX_RANK)
        return ck_error(CK_VALUE_ERROR, "reshape: rank %d is out of range 0..%d", rank, CK_MAX_RANK);
    int64_t dims[CK_MAX_RANK], known = 1;
    int infer = -1;
    for (int i = 0; i < rank; i++) {
        dims[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0)
                return ck_error(CK_VALUE_ERROR, "reshape: can only infer one dimension, got %s",
                                ck_shape_str(a, sizeof a, rank, shape));
            infer = i;
        } else if (shape[i] < 0) {
            return ck_error(CK_VALUE_ERROR, "reshape: negative dim in %s",
                            ck_shape_str(a, sizeof a, rank, shape));
        } else if (ck_mul_overflow_i64(known, shape[i], &known)) {
            return ck_error(CK_VALUE_ERROR, "reshape: %s has too many elements",
                            ck_shape_str(a, sizeof a, rank, shape));
        }
    }
    if (infer >= 0) {
        if (known == 0 || t->size % known != 0)
            return ck_error(CK_VALUE_ERROR, "cannot reshape array of size %lld into shape %s",
                            (long long)t->size, ck_shape_str(a, sizeof a, rank, shape));
        dims[infer] = t->size / known;
        known = t->size;
    }
    if (known != t->size)
        return ck_error(CK_VALUE_ERROR, "cannot reshape tensor of shape %s (size %lld) into shape %s",
                        ck_shape_str(a, sizeof a, t->rank, t->shape), (long long)t->size,
                        ck_shape_str(b, sizeof b, rank, shape));
    t->rank = rank;
    for (int i = 0; i < CK_MAX_RANK; i++) t->shape[i] = i < rank ? dims[i] : 0;
    return CK_OK;
}

double ck_tensor_get(const ck_tensor *t, int64_t i)
{
    CK_NEED_OR(t, NAN);
    if (!t->data) {
        ck_error(CK_VALUE_ERROR, "ck_tensor_get: the tensor has no data (a symbolic tensor)");
        return NAN;
    }
    if (i < 0 || i >= t->size) {
        ck_error(CK_VALUE_ERROR, "ck_tensor_get: index %lld is out of range for a tensor of %lld elements",
                 (long long)i, (long long)t->size);
        return NAN;
    }
    switch (t->dtype) {
    case CK_FLOAT32: return ((const float *)t->data)[i];
    case CK_FLOAT64: return ((const double *)t->data)[i];
    case CK_INT32: return ((const int32_t *)t->data)[i];
    case CK_INT64: return (double)((const int64_t *)t->data)[i];
    }
    ck_error(CK_TYPE_ERROR, "ck_tensor_get: invalid dtype %d", (int)t->dtype);
    return NAN;
}

/* One conversion loop per (source, destination) pair, written once. */
#define CK_CAST_LOOP(SRC_T, DST_T)                                           \
    do {                                                                     \
        const SRC_T *s_ = (const SRC_T *)src;                                \
        DST_T *d_ = (DST_T *)dst;                                            \
        for (int64_t i_ = 0; i_ < n; i_++) d_[i_] = (DST_T)s_[i_];           \
    } while (0)

#define CK_CAST_FROM(SRC_T)                                                  \
    switch (to) {                                                            \
    case CK_FLOAT32: CK_CAST_LOOP(SRC_T, float); break;                      \
    case CK_FLOAT64: CK_CAST_LOOP(SRC_T, double); break;                     \
    case CK_INT32: CK_CAST_LOOP(SRC_T, int32_t); break;                      \
    case CK_INT64: CK_CAST_LOOP(SRC_T, int64_t); break;                      \
    }

static void cast_values(const void *src, ck_dtype from, void *dst, ck_dtype to, int64_t n)
{
    switch (from) {
    case CK_FLOAT32: CK_CAST_FROM(float); break;
    case CK_FLOAT64: CK_CAST_FROM(double); break;
    case CK_INT32: CK_CAST_FROM(int32_t); break;
    case CK_INT64: CK_CAST_FROM(int64_t); break;
    }
}

ck_status ck_tensor_cast(ck_tensor **out, const ck_tensor *t, ck_dtype dtype)
{
    CK_NEED(out);
    CK_NEED(t);
    ck_tensor *r = NULL;
    CK_NEED(out);
    CK_NEED(t);
    if (!t->data) return ck_error(CK_VALUE_ERROR, "ck_tensor_cast: no tensor data");
    if (ck_dtype_size(dtype) == 0) return ck_error(CK_TYPE_ERROR, "cast: invalid dtype %d", (int)dtype);
    CK_TRY(ck_tensor_new_uninit(&r, dtype, t->rank, t->shape));
    if (dtype == t->dtype)
        memcpy(r->data, t->data, (size_t)t->size * ck_dtype_size(dtype));
    else
        cast_values(t->data, t->dtype, r->data, dtype, t->size);
    *out = r;
    return CK_OK;
}

void ck_tensor_free(ck_tensor *t)
{
    if (!t) return;
    /* A symbolic tensor (from ck_input, ck_layer_apply, a model's inputs
     * and outputs) belongs to its node: freeing it here would leave the
     * graph a dangling pointer, and the node would free it again. */
    if (t->keras_history) {
        ck_error(CK_VALUE_ERROR, "ck_tensor_free: the tensor is symbolic (from ck_input, ck_layer_apply or a "
                 "model) and owned by its layer's graph: release the layer with ck_layer_free instead");
        return;
    }
    ck_free(t); /* owned data lives in the tensor's own block */
}

ck_status ck_normalize_axis(int axis, int rank, const char *who, int *out)
{
    int a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank)
        return ck_error(CK_VALUE_ERROR, "%s: axis %d is out of range for a tensor of rank %d",
                        who, axis, rank);
    *out = a;
    return CK_OK;
}
