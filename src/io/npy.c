/* NumPy .npy files: decoding and widening of the data, and an atomic
 * little-endian writer (the header dict is parsed in npy_header.c).
 *
 * Format (numpy/lib/format.py): "\x93NUMPY", major, minor, a little-endian
 * header length (uint16 for 1.0, uint32 for 2.0 and 3.0), then a Python dict
 * literal {'descr': ..., 'fortran_order': ..., 'shape': (...)} (latin-1,
 * utf-8 for 3.0), then the raw elements.
 *
 * Choices where numpy leaves room:
 *   - Bytes after the last element are ignored, as np.load does (it reads
 *     `count` elements with fromfile and never looks further).
 *   - A key given twice is allowed and the last one wins, as in a Python
 *     dict literal (np.load accepts it too).
 *   - Python 2's long suffix (`(3L,)`) is accepted in 1.0 and 2.0 headers,
 *     as numpy's _filter_header does.
 *   - '|' and '=' (and no byte-order mark) mean the host's byte order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "io/npy_header.h"
#include "io/atomic_file.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* numpy leaves room for the growth axis to reach this many digits. */
#define NPY_GROWTH_DIGITS 21

static int host_is_little(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

ck_status ck_npy_fail(const char *name, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (name) return ck_error(CK_FORMAT_ERROR, "npy file '%s': %s", name, msg);
    return ck_error(CK_FORMAT_ERROR, "npy buffer: %s", msg);
}

/* ------------------------------------------------------------------------ */
/* dtypes                                                                    */
/* ------------------------------------------------------------------------ */

/* A stored element type: numpy kind letter and byte size. */
typedef struct {
    char kind;        /* 'b', 'i', 'u', 'f' */
    int size;         /* bytes per element  */
    int big;          /* 1 if big-endian    */
    ck_dtype out;     /* what it loads as   */
} npy_dtype;

static ck_status npy_parse_descr(const char *name, const char *descr, npy_dtype *d)
{
    const char *s = descr;
    int big = !host_is_little();
    if (*s == '<') big = 0, s++;
    else if (*s == '>') big = 1, s++;
    else if (*s == '|' || *s == '=') s++;
    char kind = *s ? *s++ : '\0';
    int size = 0;
    while (*s >= '0' && *s <= '9' && size < 1000) size = size * 10 + (*s++ - '0');
    int exact = *s == '\0';
    if (kind == 'O')
        return ck_npy_fail(name, "unsupported dtype '%s': object arrays (pickled Python objects) "
                        "cannot be loaded", descr);
    ck_dtype out = 0;
    if (exact) {
        if (kind == 'b' && size == 1) out = CK_INT32;
        else if (kind == 'i' && (size == 1 || size == 2 || size == 4)) out = CK_INT32;
        else if (kind == 'i' && size == 8) out = CK_INT64;
        else if (kind == 'u' && (size == 1 || size == 2)) out = CK_INT32;
        else if (kind == 'u' && size == 4) out = CK_INT64;
        else if (kind == 'f' && (size == 2 || size == 4)) out = CK_FLOAT32;
        else if (kind == 'f' && size == 8) out = CK_FLOAT64;
    }
    if (!out)
        return ck_npy_fail(name, "unsupported dtype '%s': expected float16/32/64, int8/16/32/64, "
                        "uint8/16/32 or bool", descr);
    d->kind = kind;
    d->size = size;
    d->big = size > 1 && big;
    d->out = out;
    return CK_OK;
}

/* The element's bytes as an unsigned integer, whatever the host order. */
static uint64_t npy_load_uint(const unsigned char *p, int size, int big)
{
    uint64_t v = 0;
    if (big) {
        for (int i = 0; i < size; i++) v = (v << 8) | p[i];
    } else {
        for (int i = size; i-- > 0;) v = (v << 8) | p[i];
    }
    return v;
}

/* IEEE half to single: exact, including subnormals, infinities and NaN
 * payloads. */
static uint32_t npy_half_to_float_bits(uint32_t h)
{
    uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) return sign | 0x7f800000u | (mant << 13);
    if (exp != 0) return sign | ((exp + 112) << 23) | (mant << 13);
    if (mant == 0) return sign;
    /* subnormal: mant * 2^-24, renormalised */
    uint32_t e = 113;
    while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
    }
    return sign | (e << 23) | ((mant & 0x3ff) << 13);
}

/* Sign-extends the low `bits` bits of v. */
static int64_t npy_sext(uint64_t v, int bits)
{
    if (bits == 64) {
        int64_t s;
        memcpy(&s, &v, sizeof s);
        return s;
    }
    uint64_t m = (uint64_t)1 << (bits - 1);
    return (int64_t)(v & (m - 1)) - (int64_t)(v & m);
}

static void npy_decode(const npy_dtype *d, const unsigned char *src, void *dst, int64_t o)
{
    uint64_t v = npy_load_uint(src, d->size, d->big);
    switch (d->kind) {
    case 'b':
        ((int32_t *)dst)[o] = v != 0;
        break;
    case 'i':
        if (d->out == CK_INT64) ((int64_t *)dst)[o] = npy_sext(v, 64);
        else ((int32_t *)dst)[o] = (int32_t)npy_sext(v, d->size * 8);
        break;
    case 'u':
        if (d->out == CK_INT64) ((int64_t *)dst)[o] = (int64_t)v;
        else ((int32_t *)dst)[o] = (int32_t)v;
        break;
    default: /* 'f' */
        if (d->size == 8) {
            double x;
            memcpy(&x, &v, sizeof x);
            ((double *)dst)[o] = x;
        } else {
            uint32_t bits = d->size == 2 ? npy_half_to_float_bits((uint32_t)v) : (uint32_t)v;
            float x;
            memcpy(&x, &bits, sizeof x);
            ((float *)dst)[o] = x;
        }
        break;
    }
}

/* Fills t (C order) from the stored elements. */
static void npy_convert(const npy_dtype *d, int fortran, const unsigned char *src, ck_tensor *t)
{
    size_t isz = (size_t)d->size;
    int same = (size_t)d->size == ck_dtype_size(t->dtype) && d->kind != 'b' && d->kind != 'u' &&
               !(d->kind == 'f' && d->size == 2) && d->big == !host_is_little();
    if (t->size == 0) return;
    if (!fortran || t->rank < 2) {
        if (same) {
            memcpy(t->data, src, (size_t)t->size * isz);
            return;
        }
        for (int64_t i = 0; i < t->size; i++) npy_decode(d, src + (size_t)i * isz, t->data, i);
        return;
    }
    /* Fortran order: walk the C-order output with an odometer and follow the
     * matching Fortran offset (stride 1 on the first axis). */
    int64_t fstride[CK_MAX_RANK], idx[CK_MAX_RANK] = {0}, s = 0;
    fstride[0] = 1;
    for (int k = 1; k < t->rank; k++) fstride[k] = fstride[k - 1] * t->shape[k - 1];
    for (int64_t o = 0; o < t->size; o++) {
        npy_decode(d, src + (size_t)s * isz, t->data, o);
        for (int k = t->rank - 1; k >= 0; k--) {
            s += fstride[k];
            if (++idx[k] < t->shape[k]) break;
            s -= fstride[k] * t->shape[k];
            idx[k] = 0;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Load                                                                      */
/* ------------------------------------------------------------------------ */

/* A shape as Python prints the tuple; unlike ck_shape_str, a negative dim
 * shows as itself (the header may hold one). */
static void npy_shape_str(char *buf, size_t cap, int rank, const int64_t *shape)
{
    size_t n = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (n < cap) snprintf(buf + n, cap - n, "%s)", rank == 1 ? "," : "");
}

/* `name` is the path for messages, or NULL for a buffer. */
static ck_status npy_parse(const unsigned char *buf, size_t len, const char *name,
                           ck_tensor **out)
{
    if (len < NPY_MAGIC_LEN + 2 || memcmp(buf, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return ck_npy_fail(name, "not a .npy file: %s", len < NPY_MAGIC_LEN + 2
                        ? "shorter than the magic string and version"
                        : "bad magic string (expected \\x93NUMPY)");
    int major = buf[6], minor = buf[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return ck_npy_fail(name, "unsupported format version %d.%d (expected 1.0, 2.0 or 3.0)",
                        major, minor);
    size_t prefix = major == 1 ? 10 : 12;
    if (len < prefix)
        return ck_npy_fail(name, "truncated before the header length (%zu of %zu bytes)", len,
                        prefix);
    uint64_t hlen = npy_load_uint(buf + 8, major == 1 ? 2 : 4, 0);
    if (hlen > len - prefix)
        return ck_npy_fail(name, "header length %llu goes beyond the end of the data (%zu bytes "
                        "after the %zu-byte prefix): truncated or corrupt",
                        (unsigned long long)hlen, len - prefix, prefix);
    const char *hdr = (const char *)buf + prefix;
    npy_header h;
    CK_TRY(ck_npy_parse_header(hdr, (size_t)hlen, major, name, &h));

    npy_dtype d;
    CK_TRY(npy_parse_descr(name, h.descr, &d));
    char shape_s[256];
    npy_shape_str(shape_s, sizeof shape_s, h.rank, h.shape);
    int64_t count = 1;
    for (int i = 0; i < h.rank; i++) {
        if (h.shape[i] < 0)
            return ck_npy_fail(name, "shape %s has a negative dim %d", shape_s, i);
        if (ck_mul_overflow_i64(count, h.shape[i], &count))
            return ck_npy_fail(name, "shape %s has too many elements (overflow)", shape_s);
    }
    int64_t bytes;
    if (ck_mul_overflow_i64(count, d.size, &bytes) || (uint64_t)bytes > SIZE_MAX)
        return ck_npy_fail(name, "shape %s of '%s' is too large (overflow)", shape_s, h.descr);
    size_t avail = len - prefix - (size_t)hlen;
    if ((uint64_t)bytes > avail)
        return ck_npy_fail(name, "truncated data: shape %s of '%s' needs %lld bytes, only %zu "
                        "follow the header", shape_s, h.descr, (long long)bytes, avail);
    /* widening may not fit in memory even though the stored bytes do */
    int64_t out_bytes;
    if (ck_mul_overflow_i64(count, (int64_t)ck_dtype_size(d.out), &out_bytes) ||
        (uint64_t)out_bytes > SIZE_MAX)
        return ck_oom("npy data");

    CK_TRY(ck_limit_check_shape(h.rank, h.shape, name, "the array"));
    ck_tensor *t = NULL;
    CK_TRY(ck_tensor_new_uninit(&t, d.out, h.rank, h.shape));
    npy_convert(&d, h.fortran, buf + prefix + hlen, t);
    *out = t;
    return CK_OK;
}

ck_status ck_npy_load_buffer(const void *buf, size_t len, ck_tensor **out)
{
    if (len) CK_NEED(buf);
    CK_NEED(out);
    if (!out) return ck_error(CK_VALUE_ERROR, "ck_npy_load_buffer: out is NULL");
    if (!buf && len > 0) return ck_error(CK_VALUE_ERROR, "ck_npy_load_buffer: buf is NULL");
    static const unsigned char empty[1] = {0};
    return npy_parse(buf ? buf : empty, buf ? len : 0, NULL, out);
}

/* Reads the whole stream into a ck_malloc'ed buffer. */
static ck_status npy_read_all(FILE *f, const char *path, unsigned char **out, size_t *out_len)
{
    struct stat st;
    size_t cap = 1 << 16, len = 0;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return ck_error(CK_IO_ERROR, "cannot read npy file '%s': it is a directory", path);
        if (S_ISREG(st.st_mode)) {
            if ((uint64_t)st.st_size >= SIZE_MAX)
                return ck_oom("the npy file contents");
            cap = (size_t)st.st_size + 1; /* +1 to see EOF in one read */
        }
    }
    unsigned char *buf = ck_malloc(cap);
    if (!buf) return ck_oom("the npy file contents");
    for (;;) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        /* not a regular file, or it grew: read on */
        size_t ncap = cap < SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
        unsigned char *nb = ncap > cap ? ck_realloc(buf, ncap) : NULL;
        if (!nb) {
            ck_free(buf);
            return ck_oom("the npy file contents");
        }
        buf = nb;
        cap = ncap;
    }
    if (ferror(f)) {
        int e = errno;
        ck_free(buf);
        return ck_error(CK_IO_ERROR, "cannot read npy file '%s': %s", path, strerror(e));
    }
    *out = buf;
    *out_len = len;
    return CK_OK;
}

ck_status ck_npy_load(const char *path, ck_tensor **out)
{
    CK_NEED(path);
    CK_NEED(out);
    if (!path || !out) return ck_error(CK_VALUE_ERROR, "ck_npy_load: path or out is NULL");
    FILE *f = fopen(path, "rb");
    if (!f) return ck_error(CK_IO_ERROR, "cannot open npy file '%s': %s", path, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0;
    ck_status st = npy_read_all(f, path, &buf, &len);
    fclose(f);
    if (st != CK_OK) return st;
    st = npy_parse(buf, len, path, out);
    ck_free(buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Save                                                                      */
/* ------------------------------------------------------------------------ */

static const char *npy_descr_of(ck_dtype dtype)
{
    switch (dtype) {
    case CK_FLOAT32: return "<f4";
    case CK_FLOAT64: return "<f8";
    case CK_INT32: return "<i4";
    case CK_INT64: return "<i8";
    }
    return NULL;
}

/* The whole header (magic to final '\n') exactly as numpy 1.24 writes it,
 * including the spare spaces for the growth axis.  Returns its length, or 0
 * if it does not fit in `cap`. */
static size_t npy_build_header(char *buf, size_t cap, const ck_tensor *t)
{
    char dict[400];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     npy_descr_of(t->dtype));
    for (int i = 0; i < t->rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "",
                      (long long)t->shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", t->rank == 1 ? "," : "");
    if (t->rank > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%lld", (long long)t->shape[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++) dict[n++] = ' ';
    }
    size_t hlen = (size_t)n + 1; /* + '\n' */
    int major = 1;
    size_t prefix = 10;
    size_t pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
    if (hlen + pad > 65535) { /* cannot happen for rank <= 8, kept for the format's sake */
        major = 2;
        prefix = 12;
        pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
    }
    size_t total = prefix + hlen + pad;
    if (total > cap) return 0;
    uint32_t field = (uint32_t)(hlen + pad);
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = (char)major;
    buf[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++) buf[8 + i] = (char)((field >> (8 * i)) & 0xff);
    memcpy(buf + prefix, dict, (size_t)n);
    memset(buf + prefix + n, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

/* Writes `count` elements of `esize` bytes little-endian, whatever the
 * host's byte order.  Returns 0 on a write error. */
static int npy_write_le(FILE *f, const void *data, size_t count, size_t esize)
{
    if (host_is_little()) return fwrite(data, esize, count, f) == count;
    unsigned char chunk[4096];
    const unsigned char *src = data;
    size_t per = sizeof chunk / esize;
    while (count > 0) {
        size_t m = count < per ? count : per;
        for (size_t i = 0; i < m; i++)
            for (size_t b = 0; b < esize; b++)
                chunk[i * esize + b] = src[i * esize + esize - 1 - b];
        if (fwrite(chunk, esize, m, f) != m) return 0;
        src += m * esize;
        count -= m;
    }
    return 1;
}

ck_status ck_npy_save(const char *path, const ck_tensor *t)
{
    CK_NEED(path);
    CK_NEED(t);
    if (!path || !*path) return ck_error(CK_VALUE_ERROR, "ck_npy_save: path is NULL or empty");
    if (!t) return ck_error(CK_VALUE_ERROR, "ck_npy_save: tensor is NULL");
    if (!npy_descr_of(t->dtype))
        return ck_error(CK_TYPE_ERROR, "ck_npy_save: invalid dtype %d for '%s'", (int)t->dtype,
                        path);
    int64_t count;
    CK_TRY(ck_shape_count(t->dtype, t->rank, t->shape, &count));
    char shape_s[256];
    ck_shape_str(shape_s, sizeof shape_s, t->rank, t->shape);
    if (!t->data)
        return ck_error(CK_VALUE_ERROR, "ck_npy_save: tensor of shape %s has no data (a "
                        "symbolic tensor?), cannot write '%s'", shape_s, path);
    if (count != t->size)
        return ck_error(CK_VALUE_ERROR, "ck_npy_save: tensor of shape %s has size %lld, "
                        "expected %lld", shape_s, (long long)t->size, (long long)count);
    char header[512];
    size_t hsize = npy_build_header(header, sizeof header, t);
    if (hsize == 0) return ck_error(CK_RUNTIME_ERROR, "ck_npy_save: header too long");

    ck_atomic_file af;
    CK_TRY(ck_atomic_open(&af, path));
    int ok = fwrite(header, 1, hsize, af.f) == hsize &&
             npy_write_le(af.f, t->data, (size_t)count, ck_dtype_size(t->dtype));
    return ck_atomic_commit(&af, !ok);
}
