/* The cache of projected recurrent inputs (rnn_input_cache.h): an
 * open-addressing table from a row's hash to its entry, entries appended
 * to the key and value stores in the order they come. */
#include <stdint.h>
#include <string.h>

#include "layers/rnn_input_cache.h"
#include "ops/ops.h"

struct ck_rnn_input_cache {
    int64_t F, G, cap;   /* features, columns, entries held at most */
    int64_t n;           /* entries held */
    float *keys, *vals;  /* cap * F input rows, cap * G projections */
    uint64_t *hashes;    /* cap: each entry's hash */
    uint32_t *slots;     /* entry + 1, 0: empty; a power of two, at most half full */
    uint64_t mask;       /* slot count - 1 */
    float *kernel, *bias; /* the weights the entries were computed with */
    int has_bias, primed; /* primed: those copies hold (after a check) */
};

size_t ck_rnn_input_cache_max_bytes = (size_t)64 << 20;

static uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    return h ^ h >> 32;
}

/* A 64-bit hash of a row's bits: four independent chains of 8-byte words
 * (a row of 128 floats in about 20 ns), then the tail, then a finaliser. */
static uint64_t row_hash(const float *row, int64_t F)
{
    const unsigned char *p = (const unsigned char *)row;
    const size_t n = (size_t)F * sizeof(float);
    uint64_t h[4] = {0x9E3779B97F4A7C15ull, 0xC2B2AE3D27D4EB4Full, 0x165667B19E3779F9ull, 0x27D4EB2F165667C5ull};
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            h[l] = mix(h[l], w);
        }
    uint64_t t = n;
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, p + i, 4);
        t = mix(t, w);
    }
    uint64_t x = h[0] ^ rotl(h[1], 17) ^ rotl(h[2], 31) ^ rotl(h[3], 47) ^ t;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ x >> 33;
}

ck_status ck_rnn_input_cache_new(ck_rnn_input_cache **out, int64_t features, int64_t columns, int64_t vocabulary)
{
    *out = NULL;
    if (features <= 0 || columns <= 0 || vocabulary < 2) return CK_OK;
    const size_t row_bytes = (size_t)(features + columns) * sizeof(float);
    int64_t cap = (int64_t)(ck_rnn_input_cache_max_bytes / row_bytes);
    if (cap > vocabulary) cap = vocabulary;
    if (cap > (int64_t)1 << 30) cap = (int64_t)1 << 30; /* entries fit uint32 slots */
    if (cap < 2 || (double)features * (double)columns * sizeof(float) > (double)CK_RNN_INPUT_CACHE_MAX_KERNEL_BYTES)
        return CK_OK;
    uint64_t slots = 1;
    while (slots < 2 * (uint64_t)cap) slots <<= 1;
    /* memory refused leaves the plan without a cache, which only saves
     * time (a small machine may not overcommit 64 MiB) */
    ck_rnn_input_cache *c = ck_calloc(1, sizeof *c);
    if (!c) return CK_OK;
    c->F = features, c->G = columns, c->cap = cap, c->mask = slots - 1;
    c->keys = ck_malloc((size_t)cap * (size_t)features * sizeof(float));
    c->vals = ck_malloc((size_t)cap * (size_t)columns * sizeof(float));
    c->hashes = ck_malloc((size_t)cap * sizeof *c->hashes);
    c->slots = ck_calloc((size_t)slots, sizeof *c->slots);
    c->kernel = ck_malloc((size_t)features * (size_t)columns * sizeof(float));
    c->bias = ck_malloc((size_t)columns * sizeof(float));
    if (!c->keys || !c->vals || !c->hashes || !c->slots || !c->kernel || !c->bias) {
        ck_rnn_input_cache_free(c);
        return CK_OK;
    }
    *out = c;
    return CK_OK;
}

void ck_rnn_input_cache_free(ck_rnn_input_cache *c)
{
    if (!c) return;
    ck_free(c->keys);
    ck_free(c->vals);
    ck_free(c->hashes);
    ck_free(c->slots);
    ck_free(c->kernel);
    ck_free(c->bias);
    ck_free(c);
}

void ck_rnn_project_f32(int64_t rows, int64_t features, int64_t columns, const float *src, const float *kernel,
                        const float *bias, float *dst)
{
    ck_matmul_f32(rows, columns, features, src, kernel, dst);
    for (int64_t i = 0; bias && i < rows; i++, dst += columns)
        for (int64_t j = 0; j < columns; j++) dst[j] += bias[j];
}

int ck_rnn_input_cache_fits(const ck_rnn_input_cache *c, int64_t features, int64_t columns)
{
    return c->F == features && c->G == columns;
}

static void clear(ck_rnn_input_cache *c)
{
    if (c->n) memset(c->slots, 0, (size_t)(c->mask + 1) * sizeof *c->slots);
    c->n = 0;
}

void ck_rnn_input_cache_check(ck_rnn_input_cache *c, const float *kernel, const float *bias)
{
    const size_t kbytes = (size_t)c->F * (size_t)c->G * sizeof(float), bbytes = (size_t)c->G * sizeof(float);
    if (c->primed && memcmp(c->kernel, kernel, kbytes) == 0 &&
        (bias ? c->has_bias && memcmp(c->bias, bias, bbytes) == 0 : !c->has_bias))
        return;
    clear(c);
    memcpy(c->kernel, kernel, kbytes);
    if (bias) memcpy(c->bias, bias, bbytes);
    c->has_bias = bias != NULL;
    c->primed = 1;
}

/* The entry holding `row`, appended (its key stored, its value still to be
 * computed) when none does; UINT32_MAX when the cache is full. */
static uint32_t find_or_add(ck_rnn_input_cache *c, const float *row)
{
    const size_t key_bytes = (size_t)c->F * sizeof(float);
    const uint64_t h = row_hash(row, c->F);
    for (uint64_t s = h & c->mask;; s = (s + 1) & c->mask) {
        uint32_t e = c->slots[s];
        if (e == 0) {
            if (c->n == c->cap) return UINT32_MAX;
            e = (uint32_t)c->n++;
            c->slots[s] = e + 1;
            c->hashes[e] = h;
            memcpy(c->keys + (size_t)e * (size_t)c->F, row, key_bytes);
            return e;
        }
        e -= 1;
        if (c->hashes[e] == h && memcmp(c->keys + (size_t)e * (size_t)c->F, row, key_bytes) == 0) return e;
    }
}

/* Step 1 of a projection: each row's entry, parked in the first bytes of
 * its XP row (G >= 1 floats), which step 3 overwrites.  0 when the cache
 * fills up (the rows added have no values yet: the caller clears them). */
static int find_rows(ck_rnn_input_cache *c, int64_t rows, const float *x, ck_rnn_src_row src_row, const void *ctx,
                     float *xp)
{
    for (int64_t i = 0; i < rows; i++) {
        const uint32_t e = find_or_add(c, x + (src_row ? src_row(ctx, i) : i) * c->F);
        if (e == UINT32_MAX) return 0;
        memcpy(xp + i * c->G, &e, sizeof e);
    }
    return 1;
}

const float *ck_rnn_input_cache_row(const ck_rnn_input_cache *c, uint32_t entry)
{
    return c->vals + (size_t)entry * (size_t)c->G;
}

int ck_rnn_input_cache_index(ck_rnn_input_cache *c, int64_t rows, const float *x, ck_rnn_src_row src_row,
                             const void *ctx, const float *kernel, const float *bias, float *xp)
{
    const int64_t F = c->F, G = c->G;
    int64_t first = c->n;
    if (!find_rows(c, rows, x, src_row, ctx, xp)) {
        /* full: start again from an empty cache (rows that changed since
         * they came, or a vocabulary above the byte cap), else give up */
        clear(c);
        first = 0;
        if (!find_rows(c, rows, x, src_row, ctx, xp)) {
            clear(c);
            return 0;
        }
    }
    /* 2: the new entries' projections, the uncached call's arithmetic:
     * one product of those rows (each row's sums do not depend on the
     * others), then the bias */
    const int64_t fresh = c->n - first;
    if (fresh > 0) ck_rnn_project_f32(fresh, F, G, c->keys + first * F, kernel, bias, c->vals + first * G);
    return 1;
}

int ck_rnn_input_cache_project(ck_rnn_input_cache *c, int64_t rows, const float *x, ck_rnn_src_row src_row,
                               const void *ctx, const float *kernel, const float *bias, float *xp)
{
    const int64_t G = c->G;
    if (!ck_rnn_input_cache_index(c, rows, x, src_row, ctx, kernel, bias, xp)) return 0;
    /* 3 */
    for (int64_t i = 0; i < rows; i++) {
        uint32_t e;
        memcpy(&e, xp + i * G, sizeof e);
        memcpy(xp + i * G, c->vals + (size_t)e * (size_t)G, (size_t)G * sizeof(float));
    }
    return 1;
}
