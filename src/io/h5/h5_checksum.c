/* The checksums of HDF5's version 2 structures: Bob Jenkins' lookup3
 * hash ("hashlittle", initial value 0), which libhdf5 stores after the
 * superblock v2/3, object header v2 chunks, fractal heap headers and
 * indirect blocks (and direct blocks when the heap says so), v2 B-tree
 * headers and nodes, and the fixed and extensible array chunk indexes.  A mismatch is a
 * format error naming the structure: the bytes cannot be trusted, and a
 * damaged length or address would otherwise be followed. */
#include "io/h5/h5_internal.h"

static uint32_t rot(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

/* Little-endian word of up to 4 bytes (the tail of the input). */
static uint32_t word(const uint8_t *p, size_t n)
{
    uint32_t w = 0;
    for (size_t i = 0; i < n && i < 4; i++) w |= (uint32_t)p[i] << (8 * i);
    return w;
}

/* The same over the hashed bytes, reading [hole, hole + 4) as zeros. */
static uint32_t word_h(const uint8_t *base, const uint8_t *p, size_t n, size_t hole)
{
    size_t at = (size_t)(p - base);
    if (hole == SIZE_MAX || at + 4 <= hole || at >= hole + 4) return word(p, n);
    uint32_t w = 0;
    for (size_t i = 0; i < n && i < 4; i++)
        if (at + i < hole || at + i >= hole + 4) w |= (uint32_t)p[i] << (8 * i);
    return w;
}

uint32_t h5r_lookup3(const uint8_t *data, size_t len, uint32_t initval)
{
    return h5r_lookup3_hole(data, len, initval, SIZE_MAX);
}

uint32_t h5r_lookup3_hole(const uint8_t *data, size_t len, uint32_t initval, size_t hole)
{
    const uint8_t *base = data;
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (uint32_t)len + initval;
    /* whole 12-byte blocks but the last (the last one goes through the
     * final mix below, even when it is full) */
    while (len > 12) {
        a += word_h(base, data, 4, hole);
        b += word_h(base, data + 4, 4, hole);
        c += word_h(base, data + 8, 4, hole);
        a -= c; a ^= rot(c, 4);  c += b;
        b -= a; b ^= rot(a, 6);  a += c;
        c -= b; c ^= rot(b, 8);  b += a;
        a -= c; a ^= rot(c, 16); c += b;
        b -= a; b ^= rot(a, 19); a += c;
        c -= b; c ^= rot(b, 4);  b += a;
        len -= 12;
        data += 12;
    }
    if (len == 0) return c;
    a += word_h(base, data, len, hole);
    if (len > 4) b += word_h(base, data + 4, len - 4, hole);
    if (len > 8) c += word_h(base, data + 8, len - 8, hole);
    c ^= b; c -= rot(b, 14);
    a ^= c; a -= rot(c, 11);
    b ^= a; b -= rot(a, 25);
    c ^= b; c -= rot(b, 16);
    a ^= c; a -= rot(c, 4);
    b ^= a; b -= rot(a, 14);
    c ^= b; c -= rot(b, 24);
    return c;
}

ck_status h5r_check_sum(ck_h5r *f, uint64_t abs, uint64_t len, const char *what)
{
    if (abs > f->size || len > f->size - abs || f->size - abs - len < 4)
        return h5r_fail(f, abs, "%s is truncated before its checksum", what);
    CK_TRY(h5r_spend(f, 1 + len / 4096));
    uint32_t stored = word(f->data + abs + len, 4);
    uint32_t computed = h5r_lookup3(f->data + abs, (size_t)len, 0);
    if (stored != computed)
        return h5r_fail(f, abs, "checksum mismatch in %s (stored %08x, computed %08x): the file is damaged", what,
                        stored, computed);
    return CK_OK;
}
