/* Object headers, version 1 and 2, with their continuation blocks: the list
 * of messages every other part of the reader looks things up in. */
#include "io/h5/h5_internal.h"

typedef struct chunk {
    uint64_t start, end;            /* absolute [start, end) of the messages */
} chunk;

typedef struct header_state {
    ck_h5r *f;
    h5r_obj *o;
    size_t cap;
    chunk *chunks;
    size_t n_chunks;
    int corder;                     /* v2: messages carry a creation order   */
} header_state;

static ck_status add_msg(header_state *s, uint16_t type, uint8_t flags, uint64_t off, uint64_t size)
{
    h5r_obj *o = s->o;
    if (o->n >= H5R_MAX_MESSAGES)
        return h5r_fail(s->f, off, "object header %llu has over %d messages",
                        (unsigned long long)o->addr, H5R_MAX_MESSAGES);
    if (o->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        h5r_msg *m = ck_realloc(o->msgs, cap * sizeof *m);
        if (!m) return ck_oom("HDF5 object header messages");
        o->msgs = m;
        s->cap = cap;
    }
    o->msgs[o->n++] = (h5r_msg){type, flags, off, size};
    return CK_OK;
}

/* Queues the block a continuation message points at, refusing a block seen
 * before (a cycle) and more than H5R_MAX_CHUNKS blocks. */
static ck_status add_chunk(header_state *s, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < s->n_chunks; i++)
        if (s->chunks[i].start == start)
            return h5r_fail(s->f, start, "object header %llu: continuation blocks form a cycle",
                            (unsigned long long)s->o->addr);
    if (s->n_chunks >= H5R_MAX_CHUNKS)
        return h5r_fail(s->f, start, "object header %llu has over %d continuation blocks",
                        (unsigned long long)s->o->addr, H5R_MAX_CHUNKS);
    if (s->n_chunks % 16 == 0) {
        chunk *c = ck_realloc(s->chunks, (s->n_chunks + 16) * sizeof *c);
        if (!c) return ck_oom("HDF5 object header blocks");
        s->chunks = c;
    }
    s->chunks[s->n_chunks++] = (chunk){start, end};
    return CK_OK;
}

/* A continuation message: where the next block is and how long. */
static ck_status follow_continuation(header_state *s, uint64_t off, uint64_t size)
{
    ck_h5r *f = s->f;
    h5r_cur c = h5r_at(f, off, size);
    uint64_t addr = h5r_addr(&c), len = h5r_len(&c);
    if (c.bad) return h5r_fail(f, off, "truncated continuation message");
    uint64_t abs = 0;
    CK_TRY(h5r_locate(f, addr, len, "an object header continuation block", &abs));
    if (s->o->version == 2) {
        h5r_cur b = h5r_at(f, abs, len);
        if (len < 8 || !h5r_sig(&b, "OCHK"))
            return h5r_fail(f, abs, "continuation block without its OCHK signature");
        CK_TRY(h5r_check_sum(f, abs, len - 4, "an object header continuation block (OCHK)"));
        return add_chunk(s, abs + 4, abs + len - 4);   /* checksum at the end */
    }
    return add_chunk(s, abs, abs + len);
}

static ck_status parse_chunk(header_state *s, chunk ch)
{
    ck_h5r *f = s->f;
    int v2 = s->o->version == 2;
    h5r_cur c = h5r_at(f, ch.start, ch.end - ch.start);
    uint64_t head = v2 ? 4u + (s->corder ? 2u : 0u) : 8u;
    while (h5r_left(&c) >= head) {
        CK_TRY(h5r_spend(f, 1));
        uint64_t at = c.pos;
        uint16_t type;
        uint64_t size;
        uint8_t flags;
        if (v2) {
            type = h5r_u8(&c);
            size = h5r_u16(&c);
            flags = h5r_u8(&c);
            if (s->corder) h5r_skip(&c, 2);  /* creation order of the message */
        } else {
            type = h5r_u16(&c);
            size = h5r_u16(&c);
            flags = h5r_u8(&c);
            h5r_skip(&c, 3);
        }
        if (c.bad || size > h5r_left(&c))
            return h5r_fail(f, at, "object header %llu: message of type %u (%llu bytes) runs past "
                            "its block", (unsigned long long)s->o->addr, type,
                            (unsigned long long)size);
        uint64_t off = c.pos;
        h5r_skip(&c, size);
        if (type == H5R_MSG_CONT) CK_TRY(follow_continuation(s, off, size));
        else if (type != 0) CK_TRY(add_msg(s, type, flags, off, size));
    }
    return CK_OK;
}

ck_status h5r_obj_read(ck_h5r *f, uint64_t addr, h5r_obj *o)
{
    memset(o, 0, sizeof *o);
    o->addr = addr;
    header_state s = {f, o, 0, NULL, 0, 0};
    uint64_t abs = 0;
    ck_status st = h5r_locate(f, addr, 16, "an object header", &abs);
    if (st != CK_OK) return st;
    h5r_cur c = h5r_at(f, abs, f->size - abs);
    if (f->data[abs] == 1) {
        o->version = 1;
        h5r_skip(&c, 2);
        h5r_u16(&c);                        /* number of messages */
        h5r_u32(&c);                        /* reference count */
        uint64_t size = h5r_u32(&c);
        h5r_skip(&c, 4);                    /* v1 messages are 8-byte aligned */
        if (c.bad || size > h5r_left(&c))
            return h5r_fail(f, abs, "object header of %llu bytes runs past the end of the file",
                            (unsigned long long)size);
        st = add_chunk(&s, c.pos, c.pos + size);
    } else if (h5r_sig(&c, "OHDR")) {
        o->version = h5r_u8(&c);
        uint8_t flags = h5r_u8(&c);
        if (o->version != 2) return h5r_fail(f, abs, "object header version %d is not supported", o->version);
        s.corder = (flags & 0x04) != 0;  /* attribute creation order tracked */
        if (flags & 0x20) h5r_skip(&c, 16);  /* access, modification, change, birth times */
        if (flags & 0x10) h5r_skip(&c, 4);   /* attribute storage phase change values */
        uint64_t size = h5r_uint(&c, 1 << (flags & 3));
        if (c.bad || size > h5r_left(&c) || h5r_left(&c) - size < 4)
            return h5r_fail(f, abs, "object header of %llu bytes runs past the end of the file",
                            (unsigned long long)size);
        CK_TRY(h5r_check_sum(f, abs, c.pos + size - abs, "an object header (OHDR)"));
        st = add_chunk(&s, c.pos, c.pos + size);
    } else {
        return h5r_fail(f, abs, "no object header at address %llu", (unsigned long long)addr);
    }
    /* Chunks are appended while parsing: walk by index. */
    for (size_t i = 0; st == CK_OK && i < s.n_chunks; i++) st = parse_chunk(&s, s.chunks[i]);
    ck_free(s.chunks);
    if (st != CK_OK) {
        h5r_obj_free(o);
        return st;
    }
    return CK_OK;
}

void h5r_obj_free(h5r_obj *o)
{
    if (!o) return;
    ck_free(o->msgs);
    o->msgs = NULL;
    o->n = 0;
}

const h5r_msg *h5r_obj_find(const h5r_obj *o, uint16_t type)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->msgs[i].type == type) return &o->msgs[i];
    return NULL;
}
