/* The filter pipeline of chunked datasets: deflate (zlib), shuffle and
 * fletcher32, undone in reverse order of the pipeline message. */
#include "io/h5/h5_filter.h"

#include <zlib.h>

enum { FILTER_DEFLATE = 1, FILTER_SHUFFLE = 2, FILTER_FLETCHER32 = 3 };

ck_status h5r_pipeline_parse(ck_h5r *f, const h5r_msg *m, h5r_pipeline *p)
{
    memset(p, 0, sizeof *p);
    if (m->flags & 2) return h5r_fail(f, m->off, "shared filter pipeline messages are not supported");
    h5r_cur c = h5r_at(f, m->off, m->size);
    int version = h5r_u8(&c);
    int n = h5r_u8(&c);
    if (version == 1) h5r_skip(&c, 6);
    else if (version != 2) return h5r_fail(f, m->off, "filter pipeline version %d is not supported", version);
    if (c.bad || n > H5R_MAX_FILTERS)
        return h5r_fail(f, m->off, "filter pipeline of %d filters (at most %d)", n, H5R_MAX_FILTERS);
    for (int i = 0; i < n; i++) {
        h5r_filter *fl = &p->filters[i];
        fl->id = h5r_u16(&c);
        uint64_t name_len = (version == 1 || fl->id >= 256) ? h5r_u16(&c) : 0;
        fl->flags = h5r_u16(&c);
        unsigned nvals = h5r_u16(&c);
        if (version == 1) name_len = (name_len + 7) & ~(uint64_t)7;
        h5r_skip(&c, name_len);
        for (unsigned k = 0; k < nvals; k++) {
            uint32_t v = h5r_u32(&c);
            if (k < 4) fl->vals[k] = v;
        }
        fl->nvals = nvals;
        if (version == 1 && (nvals & 1)) h5r_skip(&c, 4);
        if (c.bad) return h5r_fail(f, m->off, "truncated filter pipeline message");
        if (fl->id != FILTER_DEFLATE && fl->id != FILTER_SHUFFLE && fl->id != FILTER_FLETCHER32)
            return h5r_fail(f, m->off, "filter %u is not supported (deflate, shuffle and fletcher32 are)",
                            fl->id);
    }
    p->n = n;
    return CK_OK;
}

/* libhdf5's Fletcher-32: 16-bit big-endian words, sums folded mod 65535. */
static uint32_t fletcher32(const uint8_t *d, uint64_t len)
{
    uint32_t s1 = 0, s2 = 0;
    uint64_t words = len / 2;
    while (words) {
        uint64_t t = words > 360 ? 360 : words;
        words -= t;
        do {
            s1 += (uint32_t)((d[0] << 8) | d[1]);
            d += 2;
            s2 += s1;
        } while (--t);
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    if (len % 2) {
        s1 += (uint32_t)(d[0] << 8);
        s2 += s1;
        s1 = (s1 & 0xffff) + (s1 >> 16);
        s2 = (s2 & 0xffff) + (s2 >> 16);
    }
    s1 = (s1 & 0xffff) + (s1 >> 16);
    s2 = (s2 & 0xffff) + (s2 >> 16);
    return (s2 << 16) | s1;
}

static ck_status inflate_into(ck_h5r *f, const uint8_t *src, uint64_t n, uint8_t *dst, uint64_t cap,
                              uint64_t *out_len)
{
    if (n > UINT32_MAX || cap > UINT32_MAX) return h5r_fail(f, H5R_UNDEF, "compressed chunk too large");
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) return ck_oom("a zlib stream");
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    int r = inflate(&z, Z_FINISH);
    uint64_t got = cap - z.avail_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END)
        return h5r_fail(f, H5R_UNDEF, "damaged deflate data in a chunk (zlib: %s)",
                        r == Z_BUF_ERROR ? "more data than the chunk holds or truncated" : "invalid stream");
    *out_len = got;
    return CK_OK;
}

ck_status h5r_pipeline_undo(ck_h5r *f, const h5r_pipeline *p, uint32_t mask, const uint8_t *src,
                            uint64_t n, uint8_t *dst, uint64_t want, uint8_t *tmp)
{
    /* Two buffers of want + 4 bytes alternate; `cur` is what the last step
     * left (the stored bytes at first). */
    const uint8_t *cur = src;
    uint64_t len = n;
    uint8_t *bufs[2] = {dst, tmp};
    int next = 0;
    for (int i = p->n - 1; i >= 0; i--) {
        if (mask & (1u << i)) continue;
        const h5r_filter *fl = &p->filters[i];
        CK_TRY(h5r_spend(f, 1 + len / 65536));
        if (fl->id == FILTER_FLETCHER32) {
            if (len < 4) return h5r_fail(f, H5R_UNDEF, "chunk too short for its fletcher32 checksum");
            uint32_t sum = fletcher32(cur, len - 4);
            const uint8_t *s = cur + len - 4;
            uint32_t le = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
            uint32_t be = (uint32_t)s[3] | (uint32_t)s[2] << 8 | (uint32_t)s[1] << 16 | (uint32_t)s[0] << 24;
            if (sum != le && sum != be) return h5r_fail(f, H5R_UNDEF, "fletcher32 checksum mismatch in a chunk");
            len -= 4;
        } else if (fl->id == FILTER_DEFLATE) {
            uint8_t *out = bufs[next];
            CK_TRY(inflate_into(f, cur, len, out, want + 4, &len));
            cur = out;
            next ^= 1;
        } else {                            /* shuffle: byte planes back to elements */
            uint64_t es = fl->nvals > 0 ? fl->vals[0] : 1;
            if (es == 0) return h5r_fail(f, H5R_UNDEF, "shuffle filter of element size 0");
            if (len > want + 4) return h5r_fail(f, H5R_UNDEF, "shuffled chunk larger than the chunk");
            uint8_t *out = bufs[next];
            uint64_t count = len / es;
            if (es > 1 && count > 1) {
                for (uint64_t b = 0; b < es; b++)
                    for (uint64_t k = 0; k < count; k++) out[k * es + b] = cur[b * count + k];
                uint64_t done = count * es;
                if (len > done) memcpy(out + done, cur + done, len - done);
            } else if (len) {
                memmove(out, cur, len);
            }
            cur = out;
            next ^= 1;
        }
    }
    if (len < want)
        return h5r_fail(f, H5R_UNDEF, "chunk of %llu bytes after its filters (%llu expected)",
                        (unsigned long long)len, (unsigned long long)want);
    if (cur != dst) memmove(dst, cur, want);
    return CK_OK;
}
