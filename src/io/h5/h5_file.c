/* The file image, the checked cursor every parser reads through, and the
 * superblock (versions 0-3).  See h5.h and h5_internal.h. */
#include "io/h5/h5_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* ======================================================================== */
/* errors and budget                                                         */
/* ======================================================================== */

ck_status h5r_fail(const ck_h5r *f, uint64_t at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at == H5R_UNDEF) return ck_error(CK_FORMAT_ERROR, "%s: %s", f->name, msg);
    return ck_error(CK_FORMAT_ERROR, "%s: %s (at offset %llu)", f->name, msg,
                    (unsigned long long)at);
}

ck_status h5r_spend(ck_h5r *f, uint64_t units)
{
    f->work += units;
    f->total_work += units;
    if (f->work > H5R_WORK_BUDGET)
        return h5r_fail(f, H5R_UNDEF, "the file needs too much work to read (over %llu steps): "
                        "damaged or hostile HDF5 structure", (unsigned long long)H5R_WORK_BUDGET);
    const uint64_t handle_budget = H5R_WORK_FLOOR + H5R_WORK_PER_BYTE * f->size;
    if (f->total_work > handle_budget)
        return h5r_fail(f, H5R_UNDEF, "the file needs too much work to read for its %llu bytes (over %llu "
                        "steps in all): damaged or hostile HDF5 structure", (unsigned long long)f->size,
                        (unsigned long long)handle_budget);
    return CK_OK;
}

/* ======================================================================== */
/* cursor                                                                    */
/* ======================================================================== */

ck_status h5r_locate(ck_h5r *f, uint64_t addr, uint64_t need, const char *what, uint64_t *abs)
{
    if (addr == H5R_UNDEF) return h5r_fail(f, H5R_UNDEF, "%s has an undefined address", what);
    if (addr > f->size || f->base > f->size - addr)
        return h5r_fail(f, H5R_UNDEF, "%s at address %llu lies past the end of the file (%llu bytes)",
                        what, (unsigned long long)addr, (unsigned long long)f->size);
    uint64_t a = f->base + addr;
    if (need > f->size - a)
        return h5r_fail(f, a, "%s (%llu bytes) runs past the end of the file (%llu bytes)", what,
                        (unsigned long long)need, (unsigned long long)f->size);
    *abs = a;
    return CK_OK;
}

h5r_cur h5r_at(ck_h5r *f, uint64_t abs, uint64_t len)
{
    h5r_cur c = {f, abs, abs, 0};
    if (abs > f->size) {
        c.pos = c.end = f->size;
        c.bad = 1;
        return c;
    }
    c.end = len > f->size - abs ? f->size : abs + len;
    return c;
}

ck_status h5r_open_at(ck_h5r *f, uint64_t addr, uint64_t need, const char *what, h5r_cur *c)
{
    uint64_t abs = 0;
    CK_TRY(h5r_locate(f, addr, need, what, &abs));
    *c = h5r_at(f, abs, f->size - abs);
    return CK_OK;
}

uint64_t h5r_uint(h5r_cur *c, int n)
{
    if (n < 0 || n > 8 || (uint64_t)n > h5r_left(c)) {
        c->bad = 1;
        c->pos = c->end;
        return 0;
    }
    uint64_t v = 0;
    const uint8_t *p = c->f->data + c->pos;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    c->pos += (uint64_t)n;
    return v;
}

uint64_t h5r_addr(h5r_cur *c)
{
    int n = c->f->so;
    uint64_t v = h5r_uint(c, n);
    uint64_t ones = n >= 8 ? UINT64_MAX : (((uint64_t)1 << (8 * n)) - 1);
    return v == ones ? H5R_UNDEF : v;
}

uint64_t h5r_len(h5r_cur *c) { return h5r_uint(c, c->f->sl); }

void h5r_skip(h5r_cur *c, uint64_t n)
{
    if (n > h5r_left(c)) {
        c->bad = 1;
        c->pos = c->end;
        return;
    }
    c->pos += n;
}

const uint8_t *h5r_bytes(h5r_cur *c, uint64_t n)
{
    if (n > h5r_left(c)) {
        c->bad = 1;
        c->pos = c->end;
        return NULL;
    }
    const uint8_t *p = c->f->data + c->pos;
    c->pos += n;
    return p;
}

int h5r_sig(h5r_cur *c, const char sig[4])
{
    const uint8_t *p = h5r_bytes(c, 4);
    return p && memcmp(p, sig, 4) == 0;
}

int h5r_bytes_for(uint64_t v)
{
    int n = 1;
    while (n < 8 && (v >> (8 * n)) != 0) n++;
    return n;
}

char *h5r_strndup(const uint8_t *s, size_t n)
{
    char *d = ck_malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* ======================================================================== */
/* superblock                                                                */
/* ======================================================================== */

static const uint8_t signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

static int valid_size(int n) { return n == 2 || n == 4 || n == 8; }

static ck_status read_superblock(ck_h5r *f)
{
    /* The superblock sits at 0, 512, 1024, 2048, ... (after a user block). */
    uint64_t at = H5R_UNDEF;
    for (uint64_t p = 0; p + sizeof signature <= f->size; p = p ? p * 2 : 512) {
        if (memcmp(f->data + p, signature, sizeof signature) == 0) {
            at = p;
            break;
        }
    }
    if (at == H5R_UNDEF) return h5r_fail(f, H5R_UNDEF, "not an HDF5 file (no HDF5 signature)");
    f->base = at;
    uint64_t eof = H5R_UNDEF;
    h5r_cur c = h5r_at(f, at + 8, f->size - at - 8);
    int version = h5r_u8(&c);
    f->sb_version = version;
    if (version == 0 || version == 1) {
        h5r_skip(&c, 4);    /* free-space, root symbol table, reserved, shared header versions */
        f->so = h5r_u8(&c);
        f->sl = h5r_u8(&c);
        h5r_skip(&c, 1);
        f->leaf_k = h5r_u16(&c);
        f->node_k = h5r_u16(&c);
        h5r_skip(&c, 4);                    /* consistency flags */
        if (version == 1) h5r_skip(&c, 4);  /* indexed storage K, reserved */
        if (c.bad || !valid_size(f->so) || !valid_size(f->sl))
            return h5r_fail(f, at, "damaged superblock (version %d, offsets of %d bytes, lengths of %d)",
                            version, f->so, f->sl);
        h5r_addr(&c);                       /* base address: the signature's place is used */
        h5r_addr(&c);                       /* free-space info */
        eof = h5r_addr(&c);                 /* end of file */
        h5r_addr(&c);                       /* driver info */
        h5r_addr(&c);                       /* root entry: link name offset */
        uint64_t root = h5r_addr(&c);
        if (c.bad) return h5r_fail(f, at, "truncated superblock");
        f->root = root;
    } else if (version == 2 || version == 3) {
        f->leaf_k = 4;
        f->node_k = 16;
        f->so = h5r_u8(&c);
        f->sl = h5r_u8(&c);
        h5r_skip(&c, 1);                    /* consistency flags */
        if (c.bad || !valid_size(f->so) || !valid_size(f->sl))
            return h5r_fail(f, at, "damaged superblock (version %d, offsets of %d bytes, lengths of %d)",
                            version, f->so, f->sl);
        h5r_addr(&c);                       /* base address */
        h5r_addr(&c);                       /* superblock extension */
        eof = h5r_addr(&c);                 /* end of file */
        uint64_t root = h5r_addr(&c);
        if (c.bad) return h5r_fail(f, at, "truncated superblock");
        CK_TRY(h5r_check_sum(f, at, c.pos - at, "the superblock"));
        f->root = root;
    } else {
        return h5r_fail(f, at, "superblock version %d is not supported (0-3 are)", version);
    }
    /* A file shorter than the end its superblock records lost its tail: even
     * when what a reader needs happens to be there, it is damaged (libhdf5
     * refuses it as well). */
    if (eof != H5R_UNDEF && eof > f->size - at)
        return h5r_fail(f, H5R_UNDEF, "truncated file: the superblock records %llu bytes, the file has %llu",
                        (unsigned long long)eof, (unsigned long long)(f->size - at));
    uint64_t abs = 0;
    return h5r_locate(f, f->root, 1, "the root group's object header", &abs);
}

/* ======================================================================== */
/* opening                                                                   */
/* ======================================================================== */

ck_status ck_h5r_open_memory(ck_h5r **out, const void *buf, size_t len, const char *name)
{
    if (!out) return ck_error(CK_VALUE_ERROR, "ck_h5r_open_memory: out is NULL");
    if (!buf && len) return ck_error(CK_VALUE_ERROR, "ck_h5r_open_memory: buf is NULL");
    ck_h5r *f = ck_calloc(1, sizeof *f);
    if (!f) return ck_oom("an HDF5 file");
    f->name = ck_strdup(name ? name : "<memory>");
    f->data = ck_malloc(len ? len : 1);
    if (!f->name || !f->data) {
        ck_h5r_close(f);
        return ck_oom("an HDF5 file image");
    }
    if (len) memcpy(f->data, buf, len);
    f->size = len;
    ck_status st = read_superblock(f);
    if (st != CK_OK) {
        ck_h5r_close(f);
        return st;
    }
    *out = f;
    return CK_OK;
}

ck_status ck_h5r_open_file(ck_h5r **out, const char *path, size_t max_bytes)
{
    if (!out || !path) return ck_error(CK_VALUE_ERROR, "ck_h5r_open_file: NULL argument");
    if (max_bytes == 0) max_bytes = CK_H5R_DEFAULT_MAX_FILE;
    FILE *fp = fopen(path, "rb");
    if (!fp) return ck_error(CK_IO_ERROR, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    ck_status st = CK_OK;
    for (;;) {
        if (len == cap && cap < max_bytes) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > max_bytes) ncap = max_bytes;
            uint8_t *nb = ck_realloc(buf, ncap + 1);   /* +1: one byte to detect "too big" */
            if (!nb) {
                st = ck_oom("an HDF5 file image");
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = (cap == max_bytes ? cap + 1 : cap) - len;
        size_t got = fread(buf + len, 1, room, fp);
        len += got;
        if (len > max_bytes) {
            st = ck_error(CK_FORMAT_ERROR, "%s: larger than the %zu-byte limit for HDF5 files", path,
                          max_bytes);
            break;
        }
        if (got < room) {
            if (ferror(fp)) st = ck_error(CK_IO_ERROR, "%s: cannot read: %s", path, strerror(errno));
            break;
        }
    }
    fclose(fp);
    if (st == CK_OK) {
        /* Take the buffer over rather than copying it a second time. */
        ck_h5r *f = ck_calloc(1, sizeof *f);
        char *name = ck_strdup(path);
        if (!f || !name) {
    ck_free(f);
            ck_free(name);
            ck_free(buf);
            return ck_oom("an HDF5 file");
        }
        f->data = buf ? buf : ck_malloc(1);
        f->size = len;
        f->name = name;
        if (!f->data) {
            ck_h5r_close(f);
            return ck_oom("an HDF5 file image");
        }
        st = read_superblock(f);
        if (st != CK_OK) {
            ck_h5r_close(f);
            return st;
        }
        *out = f;
        return CK_OK;
    }
    ck_free(buf);
    return st;
}

void ck_h5r_close(ck_h5r *f)
{
    if (!f) return;
    ck_free(f->data);
    ck_free(f->name);
    ck_free(f);
}

const char *ck_h5r_name(const ck_h5r *f) { return f->name; }
uint64_t ck_h5r_size(const ck_h5r *f) { return f->size; }
int ck_h5r_superblock_version(const ck_h5r *f) { return f->sb_version; }
uint64_t ck_h5r_root(const ck_h5r *f) { return f->root; }
