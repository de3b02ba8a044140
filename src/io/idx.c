/* IDX files (the MNIST / Fashion-MNIST format), gzip'd or plain.
 *
 * Format (yann.lecun.com/exdb/mnist): two zero bytes, a type byte (0x08
 * uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), a
 * rank byte, one big-endian uint32 per dim, then the elements, big-endian,
 * row-major.
 *
 * The file is read through zlib's gzread, which passes plain files through
 * unchanged, so one path serves both.  Nothing is trusted: the header is
 * checked before the data is read, and the data buffer grows only as bytes
 * actually arrive (capped at what the header announces), so a small file
 * whose header claims terabytes fails as truncated instead of allocating
 * them.  Reading one byte past the data drives zlib to the gzip trailer, so
 * a bad CRC or a cut-off trailer is noticed too; bytes after the data are a
 * format error (an IDX file has none, and extra bytes usually mean the dims
 * were misread). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "core/core.h"

#define IDX_FIRST_CHUNK ((size_t)1 << 20)
#define IDX_MAX_READ ((size_t)1 << 30) /* gzread takes an unsigned, returns an int */

static ck_status idx_fail(const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ck_error(CK_FORMAT_ERROR, "idx file '%s': %s", path, msg);
}

/* zlib's own message for a failed read: an I/O error or corrupt data. */
static ck_status read_error(gzFile g, const char *path)
{
    int errnum = Z_OK;
    const char *msg = gzerror(g, &errnum);
    if (errnum == Z_ERRNO) return ck_error(CK_IO_ERROR, "idx file '%s': cannot read: %s", path, strerror(errno));
    if (errnum == Z_MEM_ERROR) return ck_oom("idx file (zlib)");
    return idx_fail(path, "corrupt gzip data (%s)", msg && *msg ? msg : "zlib error");
}

/* Reads up to n bytes; *got is how many arrived before the end of the
 * stream.  A gzip stream that stops mid-way is a format error here, so that
 * callers only have to compare *got with what they wanted. */
static ck_status read_bytes(gzFile g, const char *path, unsigned char *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < IDX_MAX_READ ? n - done : IDX_MAX_READ;
        int r = gzread(g, buf + done, (unsigned)want);
        if (r < 0) return read_error(g, path);
        if (r == 0) break;
        done += (size_t)r;
    }
    int errnum = Z_OK;
    gzerror(g, &errnum);
    /* Z_BUF_ERROR: the compressed input ended inside the stream. */
    if (errnum == Z_BUF_ERROR) return idx_fail(path, "truncated gzip stream");
    if (errnum != Z_OK) return read_error(g, path);
    *got = done;
    return CK_OK;
}

typedef struct idx_header {
    int type;
    int rank;
    int64_t shape[CK_MAX_RANK];
    ck_dtype dtype;   /* what the elements become */
    size_t elem;      /* bytes per element in the file */
    int64_t count;
} idx_header;

static ck_status read_header(gzFile g, const char *path, idx_header *h)
{
    unsigned char head[4], dims[4 * CK_MAX_RANK];
    size_t got = 0;
    CK_TRY(read_bytes(g, path, head, 4, &got));
    if (got < 4) return idx_fail(path, "truncated header (%zu of 4 bytes)", got);
    if (head[0] != 0 || head[1] != 0)
        return idx_fail(path, "bad magic %02x %02x (an IDX file starts with two zero bytes)", head[0], head[1]);
    h->type = head[2];
    h->rank = head[3];
    switch (h->type) {
    case 0x08: case 0x09: h->elem = 1; h->dtype = CK_INT32; break;
    case 0x0B: h->elem = 2; h->dtype = CK_INT32; break;
    case 0x0C: h->elem = 4; h->dtype = CK_INT32; break;
    case 0x0D: h->elem = 4; h->dtype = CK_FLOAT32; break;
    case 0x0E: h->elem = 8; h->dtype = CK_FLOAT64; break;
    default: return idx_fail(path, "unknown element type 0x%02x", (unsigned)h->type);
    }
    if (h->rank < 1 || h->rank > CK_MAX_RANK)
        return idx_fail(path, "rank %d is outside 1..%d", h->rank, CK_MAX_RANK);
    size_t dim_bytes = 4 * (size_t)h->rank;
    CK_TRY(read_bytes(g, path, dims, dim_bytes, &got));
    if (got < dim_bytes) return idx_fail(path, "truncated header (%zu of %zu dim bytes)", got, dim_bytes);
    for (int d = 0; d < h->rank; d++) {
        const unsigned char *p = dims + 4 * d;
        h->shape[d] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
    }
    if (ck_shape_count(h->dtype, h->rank, h->shape, &h->count) != CK_OK)
        return idx_fail(path, "dims too large");
    /* 8 bytes per element at most, and the output is at least as wide, so
     * ck_shape_count's int64 byte bound covers the file's bytes too. */
    if ((uint64_t)h->count > SIZE_MAX / h->elem) return idx_fail(path, "dims too large");
    return CK_OK;
}

/* The data bytes, grown as they arrive; *out is ck_malloc'ed. */
static ck_status read_data(gzFile g, const char *path, size_t bytes, unsigned char **out)
{
    size_t cap = bytes < IDX_FIRST_CHUNK ? bytes : IDX_FIRST_CHUNK, have = 0;
    unsigned char *buf = ck_malloc(cap ? cap : 1);
    if (!buf) return ck_oom("idx data");
    for (;;) {
        size_t got = 0;
        ck_status st = read_bytes(g, path, buf + have, cap - have, &got);
        have += got;
        if (st == CK_OK && have < cap)
            st = idx_fail(path, "truncated data: the header announces %zu bytes, the file has %zu", bytes, have);
        if (st != CK_OK) {
            ck_free(buf);
            return st;
        }
        if (have == bytes) break;
        size_t next = cap > bytes / 2 ? bytes : cap * 2;
        unsigned char *grown = ck_realloc(buf, next);
        if (!grown) {
            ck_free(buf);
            return ck_oom("idx data");
        }
        buf = grown;
        cap = next;
    }
    unsigned char extra;
    size_t got = 0;
    ck_status st = read_bytes(g, path, &extra, 1, &got);
    if (st == CK_OK && got) st = idx_fail(path, "bytes after the %zu data bytes the header announces", bytes);
    if (st != CK_OK) {
        ck_free(buf);
        return st;
    }
    *out = buf;
    return CK_OK;
}

/* Big-endian elements into the tensor's host-order values. */
static void decode(const idx_header *h, const unsigned char *src, ck_tensor *t)
{
    int64_t n = h->count;
    int32_t *i32 = t->data;
    switch (h->type) {
    case 0x08:
        for (int64_t i = 0; i < n; i++) i32[i] = src[i];
        break;
    case 0x09:
        for (int64_t i = 0; i < n; i++) i32[i] = (int8_t)src[i];
        break;
    case 0x0B:
        for (int64_t i = 0; i < n; i++) i32[i] = (int16_t)(uint16_t)(src[2 * i] << 8 | src[2 * i + 1]);
        break;
    default:
        /* 4- and 8-byte elements: reverse the bytes, then reinterpret. */
        for (int64_t i = 0; i < n; i++) {
            unsigned char v[8];
            for (size_t b = 0; b < h->elem; b++) v[b] = src[i * (int64_t)h->elem + (int64_t)(h->elem - 1 - b)];
            memcpy((unsigned char *)t->data + i * (int64_t)h->elem, v, h->elem);
        }
        break;
    }
}

static int host_is_little(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

ck_status ck_idx_load(const char *path, ck_tensor **out)
{
    CK_NEED(path);
    CK_NEED(out);
    if (!path || !out) return ck_error(CK_VALUE_ERROR, "ck_idx_load: path and out are required");
    if (!host_is_little()) return ck_error(CK_NOT_IMPLEMENTED, "ck_idx_load: big-endian hosts");
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) {
        if (errno == 0) return ck_oom("idx file (zlib)");
        return ck_error(CK_IO_ERROR, "idx file '%s': cannot open: %s", path, strerror(errno));
    }
    gzbuffer(g, 1 << 17);
    idx_header h;
    unsigned char *raw = NULL;
    ck_tensor *t = NULL;
    ck_status st = read_header(g, path, &h);
    if (st == CK_OK) st = read_data(g, path, (size_t)h.count * h.elem, &raw);
    if (st == CK_OK) st = ck_tensor_new_uninit(&t, h.dtype, h.rank, h.shape);
    if (st == CK_OK) decode(&h, raw, t);
    ck_free(raw);
    gzclose(g);
    if (st == CK_OK) *out = t;
    return st;
}
