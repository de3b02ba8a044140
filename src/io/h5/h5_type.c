/* Datatype and dataspace messages, scalar decoding (any integer size and
 * byte order, IEEE half/single/double), and variable-length data in the
 * global heap. */
#include "io/h5/h5_internal.h"

#include <math.h>

/* ======================================================================== */
/* datatypes                                                                 */
/* ======================================================================== */

static ck_status parse_type_at(ck_h5r *f, h5r_cur *c, ck_h5r_type *t, int depth)
{
    uint64_t at = c->pos;
    if (depth > 8) return h5r_fail(f, at, "datatype nested over 8 deep");
    memset(t, 0, sizeof *t);
    uint8_t b0 = h5r_u8(c);
    uint32_t bits = (uint32_t)h5r_uint(c, 3);
    uint32_t size = h5r_u32(c);
    int version = b0 >> 4;
    t->cls = b0 & 15;
    t->size = size;
    t->array_count = 1;
    t->elem_cls = t->cls;
    t->elem_size = size;
    if (c->bad) return h5r_fail(f, at, "truncated datatype message");
    switch (t->cls) {
    case CK_H5R_T_INT:
        t->elem_be = bits & 1;
        t->elem_signed = (bits >> 3) & 1;
        h5r_skip(c, 4);                         /* bit offset, precision */
        break;
    case CK_H5R_T_FLOAT:
        if (bits & 0x40) return h5r_fail(f, at, "VAX-order floats are not supported");
        t->elem_be = bits & 1;
        h5r_skip(c, 12);                        /* bit fields of sign, exponent, mantissa */
        break;
    case CK_H5R_T_STRING:
        t->str_pad = bits & 15;
        t->str_cset = (bits >> 4) & 15;
        break;
    case CK_H5R_T_TIME: h5r_skip(c, 2); break;
    case CK_H5R_T_BITFIELD: h5r_skip(c, 4); break;
    case CK_H5R_T_OPAQUE: h5r_skip(c, bits & 0xff); break;
    case CK_H5R_T_COMPOUND:
    case CK_H5R_T_REFERENCE:
        /* Members are not needed: messages carry their own lengths. */
        break;
    case CK_H5R_T_ENUM: {
        ck_h5r_type base;
        CK_TRY(parse_type_at(f, c, &base, depth + 1));
        if (base.cls != CK_H5R_T_INT)
            return h5r_fail(f, at, "an enum of datatype class %d (integers expected)", base.cls);
        t->elem_cls = CK_H5R_T_INT;
        t->elem_size = base.elem_size;
        t->elem_be = base.elem_be;
        t->elem_signed = base.elem_signed;
        /* The member names and values follow; nothing here needs them. */
        break;
    }
    case CK_H5R_T_VLEN: {
        ck_h5r_type base;
        CK_TRY(parse_type_at(f, c, &base, depth + 1));
        if ((bits & 15) == 1) {
            t->vlen_string = 1;
            t->elem_cls = CK_H5R_T_STRING;
            t->elem_size = 1;
            t->str_pad = (bits >> 4) & 15;
            t->str_cset = (bits >> 8) & 15;
        } else {
            t->elem_cls = CK_H5R_T_VLEN;   /* sequences: not supported as values */
        }
        break;
    }
    case CK_H5R_T_ARRAY: {
        int rank = h5r_u8(c);
        if (version < 3) h5r_skip(c, 3);
        uint64_t count = 1;
        for (int i = 0; i < rank; i++) {
            uint64_t d = h5r_u32(c);
            if (d != 0 && count > UINT32_MAX / d) count = UINT64_MAX;
            else count *= d;
        }
        if (version < 3) h5r_skip(c, 4 * (uint64_t)rank);   /* permutation indices */
        if (c->bad) return h5r_fail(f, at, "truncated array datatype");
        ck_h5r_type base;
        CK_TRY(parse_type_at(f, c, &base, depth + 1));
        if (count == UINT64_MAX || (base.size && count != size / base.size) ||
            (uint64_t)base.size * count != size)
            return h5r_fail(f, at, "array datatype of %llu elements of %u bytes is not %u bytes",
                            (unsigned long long)count, base.size, size);
        *t = (ck_h5r_type){CK_H5R_T_ARRAY, size, base.vlen_string, base.elem_cls, base.elem_size,
                           base.elem_be, base.elem_signed, base.str_pad, base.str_cset,
                           count * base.array_count};
        break;
    }
    default:
        return h5r_fail(f, at, "unknown datatype class %d", t->cls);
    }
    if (c->bad) return h5r_fail(f, at, "truncated datatype message");
    if ((t->elem_cls == CK_H5R_T_INT && (t->elem_size == 0 || t->elem_size > 8)) ||
        (t->elem_cls == CK_H5R_T_FLOAT && t->elem_size != 2 && t->elem_size != 4 &&
         t->elem_size != 8))
        return h5r_fail(f, at, "%s of %u bytes are not supported",
                        t->elem_cls == CK_H5R_T_INT ? "integers" : "floats", t->elem_size);
    return CK_OK;
}

ck_status h5r_parse_type(ck_h5r *f, h5r_cur *c, ck_h5r_type *t)
{
    ck_status st = parse_type_at(f, c, t, 0);
    if (st == CK_OK && t->vlen_string && t->size != (uint32_t)(8 + f->so))
        return h5r_fail(f, H5R_UNDEF, "variable-length string of %u bytes per element (expected %d)",
                        t->size, 8 + f->so);
    return st;
}

/* ======================================================================== */
/* dataspaces                                                                */
/* ======================================================================== */

ck_status h5r_parse_space(ck_h5r *f, h5r_cur *c, ck_h5r_space *s)
{
    uint64_t at = c->pos;
    memset(s, 0, sizeof *s);
    int version = h5r_u8(c);
    int rank = h5r_u8(c);
    int flags = h5r_u8(c);
    int kind = 1;
    if (version == 1) {
        h5r_skip(c, 5);
        kind = rank == 0 ? 0 : 1;
    } else if (version == 2) {
        kind = h5r_u8(c);
    } else {
        return h5r_fail(f, at, "dataspace version %d is not supported", version);
    }
    if (c->bad) return h5r_fail(f, at, "truncated dataspace message");
    if (rank > 32) return h5r_fail(f, at, "dataspace of rank %d (at most 32)", rank);
    if (kind == 2) {
        s->rank = -1;
        s->count = 0;
        return CK_OK;
    }
    if (kind == 0) {
        s->rank = 0;
        s->count = 1;
        return CK_OK;
    }
    if (kind != 1) return h5r_fail(f, at, "dataspace of unknown type %d", kind);
    s->rank = rank;
    uint64_t count = 1;
    int overflow = 0;
    for (int i = 0; i < rank; i++) {
        s->dims[i] = h5r_len(c);
        if (s->dims[i] && count > UINT64_MAX / s->dims[i]) overflow = 1;
        else count *= s->dims[i];
    }
    if (flags & 1) {                        /* maximum dimensions */
        s->has_max = 1;
        /* all ones (whatever the size of lengths) = unlimited */
        uint64_t ones = f->sl >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * f->sl)) - 1;
        for (int i = 0; i < rank; i++) {
            s->max[i] = h5r_len(c);
            if (s->max[i] == ones) s->max[i] = UINT64_MAX;
        }
    }
    if (c->bad) return h5r_fail(f, at, "truncated dataspace message");
    if (overflow || count > ((uint64_t)1 << 62))
        return h5r_fail(f, at, "dataspace with an impossible number of elements");
    s->count = count;
    return CK_OK;
}

/* ======================================================================== */
/* scalars                                                                   */
/* ======================================================================== */

static uint64_t load(const uint8_t *p, uint32_t size, int be)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < size; i++) {
        uint32_t k = be ? i : size - 1 - i;
        v = (v << 8) | p[k];
    }
    return v;
}

int64_t h5r_get_int(const uint8_t *p, uint32_t size, int be, int is_signed)
{
    uint64_t v = load(p, size, be);
    if (size >= 8) {
        if (!is_signed && v > (uint64_t)INT64_MAX) return INT64_MAX;
        int64_t s;
        memcpy(&s, &v, sizeof s);
        return s;
    }
    uint64_t sign = (uint64_t)1 << (8 * size - 1);
    if (is_signed && (v & sign)) return (int64_t)(v | ~((sign << 1) - 1));
    return (int64_t)v;
}

static double half_to_double(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v;
    if (exp == 0) v = (double)man / 1024.0 / 16384.0;          /* 2^-14 * man/1024 */
    else if (exp == 31) v = man ? (double)NAN : (double)INFINITY;
    else {
        v = 1.0 + (double)man / 1024.0;
        for (int e = exp - 15; e > 0; e--) v *= 2.0;
        for (int e = exp - 15; e < 0; e++) v /= 2.0;
    }
    return sign ? -v : v;
}

double h5r_get_float(const uint8_t *p, uint32_t size, int be)
{
    uint64_t v = load(p, size, be);
    if (size == 2) return half_to_double((uint16_t)v);
    if (size == 4) {
        uint32_t u = (uint32_t)v;
        float x;
        memcpy(&x, &u, sizeof x);
        return x;
    }
    double d;
    memcpy(&d, &v, sizeof d);
    return d;
}

/* ======================================================================== */
/* global heap                                                               */
/* ======================================================================== */

ck_status h5r_vlen_bytes(ck_h5r *f, const uint8_t *ref, const uint8_t **data, uint64_t *len)
{
    uint64_t n = load(ref, 4, 0);
    uint64_t addr = load(ref + 4, (uint32_t)f->so, 0);
    uint64_t index = load(ref + 4 + f->so, 4, 0);
    if (n == 0) {   /* an empty string has no heap object (address may be 0) */
        *data = ref;
        *len = 0;
        return CK_OK;
    }
    uint64_t ones = f->so >= 8 ? UINT64_MAX : (((uint64_t)1 << (8 * f->so)) - 1);
    if (addr == ones) return h5r_fail(f, H5R_UNDEF, "variable-length data with an undefined address");
    h5r_cur c;
    uint64_t head = 8 + (uint64_t)f->sl;
    CK_TRY(h5r_open_at(f, addr, head, "a global heap collection", &c));
    uint64_t start = c.pos;
    if (!h5r_sig(&c, "GCOL") || h5r_u8(&c) != 1)
        return h5r_fail(f, start, "no global heap collection (GCOL, version 1) here");
    h5r_skip(&c, 3);
    uint64_t csize = h5r_len(&c);
    if (c.bad || csize < head || csize > f->size - start)
        return h5r_fail(f, start, "global heap collection of %llu bytes runs past the end of the file",
                        (unsigned long long)csize);
    c.end = start + csize;
    while (h5r_left(&c) >= 8 + (uint64_t)f->sl) {
        CK_TRY(h5r_spend(f, 1));
        uint64_t at = c.pos;
        uint16_t idx = h5r_u16(&c);
        h5r_skip(&c, 6);                    /* reference count, reserved */
        uint64_t size = h5r_len(&c);
        if (idx == 0) break;                /* free space: the end of the objects */
        if (c.bad || size > h5r_left(&c))
            return h5r_fail(f, at, "global heap object %u of %llu bytes runs past its collection",
                            idx, (unsigned long long)size);
        if (idx == index) {
            if (n > size)
                return h5r_fail(f, at, "variable-length data of %llu bytes in a heap object of %llu",
                                (unsigned long long)n, (unsigned long long)size);
            *data = f->data + c.pos;
            *len = n;
            return CK_OK;
        }
        uint64_t padded = (size + 7) & ~(uint64_t)7;
        if (padded > h5r_left(&c)) break;
        h5r_skip(&c, padded);
    }
    return h5r_fail(f, start, "global heap object %llu not found", (unsigned long long)index);
}
