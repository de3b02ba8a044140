/* NumPy .npy files: the header dict, decoding and widening of the data, and
 * an atomic little-endian writer.
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

#include "core/core.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* numpy leaves room for the growth axis to reach this many digits. */
#define NPY_GROWTH_DIGITS 21
/* Nesting deeper than this in a header (only a structured descr nests) is
 * rejected rather than recursed into. */
#define NPY_MAX_DEPTH 32

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

/* A CK_FORMAT_ERROR whose message starts with the file (or "npy buffer"). */
static ck_status npy_fail(const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static ck_status npy_fail(const char *name, const char *fmt, ...)
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
/* The header: a Python literal parser, just large enough for numpy's dict   */
/* ------------------------------------------------------------------------ */

typedef enum {
    PV_STR, PV_INT, PV_FLOAT, PV_BOOL, PV_NONE, PV_TUPLE, PV_LIST, PV_DICT
} pv_kind;

static const char *pv_kind_name(pv_kind k)
{
    static const char *const names[] = {"a string", "an int", "a float", "a bool",
                                        "None", "a tuple", "a list", "a dict"};
    return names[k];
}

/* A parsed value.  Only what the three keys need is kept: the span of a
 * string, an int, a bool, and for a tuple its first CK_MAX_RANK ints. */
typedef struct {
    pv_kind kind;
    const char *str;            /* PV_STR: raw text between the quotes */
    size_t str_len;
    int64_t ival;               /* PV_INT (valid unless int_overflow)  */
    int int_overflow;           /* PV_INT: |value| >= 2^63             */
    int bval;                   /* PV_BOOL                             */
    int count;                  /* PV_TUPLE/PV_LIST: number of items   */
    int all_int;                /* PV_TUPLE: every item is an int      */
    int any_overflow;           /* PV_TUPLE: some int item overflowed  */
    int64_t items[CK_MAX_RANK]; /* PV_TUPLE: the first int items       */
} pv_value;

typedef struct {
    const char *p, *end, *start;
    int allow_long;             /* accept 3L (Python 2 headers)        */
    const char *name;           /* for messages                        */
} pv_parser;

static void pv_skip_space(pv_parser *ps)
{
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            ps->p++;
        } else if (c == '\\' && ps->end - ps->p >= 2 && ps->p[1] == '\n') {
            ps->p += 2; /* explicit line joining */
        } else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n') ps->p++;
        } else {
            break;
        }
    }
}

static ck_status pv_syntax(pv_parser *ps, const char *expected)
{
    long off = (long)(ps->p - ps->start);
    if (ps->p >= ps->end)
        return npy_fail(ps->name, "cannot parse the header dict: expected %s, found the end "
                        "of the header (offset %ld)", expected, off);
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x20 && c < 0x7f)
        return npy_fail(ps->name, "cannot parse the header dict: expected %s, found '%c' at "
                        "offset %ld", expected, c, off);
    return npy_fail(ps->name, "cannot parse the header dict: expected %s, found byte 0x%02x "
                    "at offset %ld", expected, c, off);
}

static int pv_is_digit(char c) { return c >= '0' && c <= '9'; }
static int pv_is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || pv_is_digit(c);
}

static ck_status pv_parse_value(pv_parser *ps, pv_value *v, int depth);

static ck_status pv_parse_string(pv_parser *ps, pv_value *v)
{
    char quote = *ps->p++;
    const char *s = ps->p;
    while (ps->p < ps->end && *ps->p != quote) {
        if (*ps->p == '\n') break;
        if (*ps->p == '\\') {
            if (ps->end - ps->p < 2) break;
            ps->p++; /* the escaped char never ends the string */
        }
        ps->p++;
    }
    if (ps->p >= ps->end || *ps->p != quote)
        return npy_fail(ps->name, "cannot parse the header dict: unterminated string "
                        "starting at offset %ld", (long)(s - 1 - ps->start));
    v->kind = PV_STR;
    v->str = s;
    v->str_len = (size_t)(ps->p - s);
    ps->p++;
    return CK_OK;
}

static ck_status pv_parse_number(pv_parser *ps, pv_value *v)
{
    int neg = 0;
    while (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+')) {
        if (*ps->p == '-') neg = !neg;
        ps->p++;
        pv_skip_space(ps);
    }
    const char *s = ps->p;
    uint64_t mag = 0;
    int overflow = 0;
    while (ps->p < ps->end && pv_is_digit(*ps->p)) {
        unsigned d = (unsigned)(*ps->p - '0');
        if (mag > (UINT64_MAX - d) / 10) overflow = 1;
        else mag = mag * 10 + d;
        ps->p++;
    }
    int ndigits = (int)(ps->p - s);
    int is_float = 0;
    if (ps->p < ps->end && *ps->p == '.') {
        is_float = 1;
        ps->p++;
        while (ps->p < ps->end && pv_is_digit(*ps->p)) ps->p++;
    }
    if (ndigits == 0 && !(is_float && ps->p - s > 1)) {
        ps->p = s;
        return pv_syntax(ps, "a value");
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        is_float = 1;
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        const char *e = ps->p;
        while (ps->p < ps->end && pv_is_digit(*ps->p)) ps->p++;
        if (ps->p == e) return pv_syntax(ps, "the digits of an exponent");
    }
    if (!is_float && ps->allow_long && ps->p < ps->end && (*ps->p == 'L' || *ps->p == 'l'))
        ps->p++;
    if (ps->p < ps->end && pv_is_ident(*ps->p)) return pv_syntax(ps, "',' or a closing bracket");
    if (is_float) {
        v->kind = PV_FLOAT;
        return CK_OK;
    }
    v->kind = PV_INT;
    /* int64 holds -2^63 but no dim can use it, so overflow at 2^63 */
    v->int_overflow = overflow || mag > (uint64_t)INT64_MAX;
    v->ival = v->int_overflow ? 0 : (neg ? -(int64_t)mag : (int64_t)mag);
    return CK_OK;
}

/* Items of a tuple or list after the first one was read (or none):
 * `, item`* with an optional trailing comma, up to `close`. */
static ck_status pv_parse_items(pv_parser *ps, pv_value *v, char close, int depth,
                                int have_first)
{
    for (;;) {
        pv_skip_space(ps);
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return CK_OK;
        }
        if (have_first) {
            if (ps->p >= ps->end || *ps->p != ',')
                return pv_syntax(ps, close == ')' ? "',' or ')'" : "',' or ']'");
            ps->p++;
            pv_skip_space(ps);
            if (ps->p < ps->end && *ps->p == close) {
                ps->p++;
                return CK_OK;
            }
        }
        pv_value item;
        CK_TRY(pv_parse_value(ps, &item, depth + 1));
        if (item.kind != PV_INT) v->all_int = 0;
        else if (item.int_overflow) v->any_overflow = 1;
        else if (v->count < CK_MAX_RANK) v->items[v->count] = item.ival;
        if (v->count < INT32_MAX) v->count++;
        have_first = 1;
    }
}

static ck_status pv_parse_dict_body(pv_parser *ps, int depth)
{
    /* Nested dicts only appear in exotic descrs: check the syntax, keep
     * nothing. */
    int first = 1;
    for (;;) {
        pv_skip_space(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return CK_OK;
        }
        if (!first) {
            if (ps->p >= ps->end || *ps->p != ',') return pv_syntax(ps, "',' or '}'");
            ps->p++;
            pv_skip_space(ps);
            if (ps->p < ps->end && *ps->p == '}') {
                ps->p++;
                return CK_OK;
            }
        }
        pv_value k, val;
        CK_TRY(pv_parse_value(ps, &k, depth + 1));
        pv_skip_space(ps);
        if (ps->p >= ps->end || *ps->p != ':') return pv_syntax(ps, "':'");
        ps->p++;
        CK_TRY(pv_parse_value(ps, &val, depth + 1));
        first = 0;
    }
}

static ck_status pv_parse_value(pv_parser *ps, pv_value *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > NPY_MAX_DEPTH)
        return npy_fail(ps->name, "the header dict is nested more than %d levels deep",
                        NPY_MAX_DEPTH);
    pv_skip_space(ps);
    if (ps->p >= ps->end) return pv_syntax(ps, "a value");
    char c = *ps->p;
    if (c == '\'' || c == '"') return pv_parse_string(ps, v);
    if ((c == 'u' || c == 'U') && ps->end - ps->p >= 2 && (ps->p[1] == '\'' || ps->p[1] == '"')) {
        ps->p++; /* u'...' is a str in Python 3 */
        return pv_parse_string(ps, v);
    }
    if (pv_is_digit(c) || c == '-' || c == '+' || c == '.') return pv_parse_number(ps, v);
    if (c == '(') {
        ps->p++;
        pv_skip_space(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++;
            v->kind = PV_TUPLE;
            v->all_int = 1;
            return CK_OK;
        }
        pv_value first;
        CK_TRY(pv_parse_value(ps, &first, depth + 1));
        pv_skip_space(ps);
        if (ps->p < ps->end && *ps->p == ')') {
            ps->p++; /* (x) is just x */
            *v = first;
            return CK_OK;
        }
        v->kind = PV_TUPLE;
        v->all_int = first.kind == PV_INT;
        v->any_overflow = first.kind == PV_INT && first.int_overflow;
        v->items[0] = first.ival;
        v->count = 1;
        return pv_parse_items(ps, v, ')', depth, 1);
    }
    if (c == '[') {
        ps->p++;
        v->kind = PV_LIST;
        v->all_int = 1;
        return pv_parse_items(ps, v, ']', depth, 0);
    }
    if (c == '{') {
        ps->p++;
        v->kind = PV_DICT;
        return pv_parse_dict_body(ps, depth);
    }
    if (pv_is_ident(c)) {
        const char *s = ps->p;
        while (ps->p < ps->end && pv_is_ident(*ps->p)) ps->p++;
        size_t n = (size_t)(ps->p - s);
        if (n == 4 && memcmp(s, "True", 4) == 0) {
            v->kind = PV_BOOL;
            v->bval = 1;
            return CK_OK;
        }
        if (n == 5 && memcmp(s, "False", 5) == 0) {
            v->kind = PV_BOOL;
            return CK_OK;
        }
        if (n == 4 && memcmp(s, "None", 4) == 0) {
            v->kind = PV_NONE;
            return CK_OK;
        }
        ps->p = s;
        return pv_syntax(ps, "a literal value");
    }
    return pv_syntax(ps, "a value");
}

/* What the header says. */
typedef struct {
    char descr[32];
    int fortran;
    int rank;
    int64_t shape[CK_MAX_RANK];
} npy_header;

enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int pv_str_is(const pv_value *v, const char *s)
{
    return v->str_len == strlen(s) && memcmp(v->str, s, v->str_len) == 0;
}

static ck_status npy_check_key(pv_parser *ps, const pv_value *key, int *which)
{
    if (key->kind != PV_STR)
        return npy_fail(ps->name, "the header dict has a key that is %s, not a string",
                        pv_kind_name(key->kind));
    if (pv_str_is(key, "descr")) *which = KEY_DESCR;
    else if (pv_str_is(key, "fortran_order")) *which = KEY_FORTRAN;
    else if (pv_str_is(key, "shape")) *which = KEY_SHAPE;
    else
        return npy_fail(ps->name, "the header dict has an unexpected key '%.*s' (expected "
                        "exactly 'descr', 'fortran_order' and 'shape')",
                        (int)(key->str_len > 64 ? 64 : key->str_len), key->str);
    return CK_OK;
}

static ck_status npy_take_value(pv_parser *ps, int which, const pv_value *v, npy_header *h)
{
    if (which == KEY_DESCR) {
        if (v->kind == PV_LIST)
            return npy_fail(ps->name, "unsupported dtype: structured arrays (a list descr) "
                            "are not supported; expected float32, float64, int32, int64 or a "
                            "smaller int, bool or float16");
        if (v->kind != PV_STR)
            return npy_fail(ps->name, "'descr' is %s, not a dtype string",
                            pv_kind_name(v->kind));
        size_t n = v->str_len < sizeof h->descr - 1 ? v->str_len : sizeof h->descr - 1;
        memcpy(h->descr, v->str, n);
        h->descr[n] = '\0';
        if (n < v->str_len) /* too long for any dtype we know: keep it unmatchable */
            h->descr[n - 1] = '?';
    } else if (which == KEY_FORTRAN) {
        if (v->kind != PV_BOOL)
            return npy_fail(ps->name, "'fortran_order' is %s, not True or False",
                            pv_kind_name(v->kind));
        h->fortran = v->bval;
    } else {
        if (v->kind != PV_TUPLE || !v->all_int)
            return npy_fail(ps->name, "'shape' is %s, not a tuple of ints",
                            v->kind == PV_TUPLE ? "a tuple with an item that is not an int"
                                                : pv_kind_name(v->kind));
        if (v->count > CK_MAX_RANK)
            return npy_fail(ps->name, "the shape has rank %d: at most %d dims are supported",
                            v->count, CK_MAX_RANK);
        if (v->any_overflow)
            return npy_fail(ps->name, "the shape has a dim too large for int64 (overflow)");
        h->rank = v->count;
        for (int i = 0; i < v->count; i++) h->shape[i] = v->items[i];
    }
    return CK_OK;
}

static ck_status npy_parse_dict(pv_parser *ps, npy_header *h)
{
    int seen = 0;
    pv_skip_space(ps);
    if (ps->p >= ps->end || *ps->p != '{') {
        if (ps->p < ps->end && (*ps->p == '[' || *ps->p == '('))
            return npy_fail(ps->name, "the header is not a dict");
        return pv_syntax(ps, "'{' (the header is a dict)");
    }
    ps->p++;
    for (int first = 1;; first = 0) {
        pv_skip_space(ps);
        if (ps->p < ps->end && *ps->p == '}') break;
        if (!first) {
            if (ps->p >= ps->end || *ps->p != ',') return pv_syntax(ps, "',' or '}'");
            ps->p++;
            pv_skip_space(ps);
            if (ps->p < ps->end && *ps->p == '}') break;
        }
        pv_value key, val;
        int which = 0;
        CK_TRY(pv_parse_value(ps, &key, 1));
        pv_skip_space(ps);
        if (ps->p >= ps->end || *ps->p != ':') return pv_syntax(ps, "':'");
        ps->p++;
        CK_TRY(npy_check_key(ps, &key, &which));
        CK_TRY(pv_parse_value(ps, &val, 1));
        CK_TRY(npy_take_value(ps, which, &val, h)); /* a repeated key: the last wins */
        seen |= which;
    }
    ps->p++;
    pv_skip_space(ps);
    if (ps->p < ps->end) return pv_syntax(ps, "nothing after the dict");
    static const struct { int bit; const char *name; } keys[] = {
        {KEY_DESCR, "descr"}, {KEY_FORTRAN, "fortran_order"}, {KEY_SHAPE, "shape"}};
    for (int i = 0; i < 3; i++)
        if (!(seen & keys[i].bit))
            return npy_fail(ps->name, "the header dict has no '%s' key", keys[i].name);
    return CK_OK;
}

static int npy_valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
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
        return npy_fail(name, "unsupported dtype '%s': object arrays (pickled Python objects) "
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
        return npy_fail(name, "unsupported dtype '%s': expected float16/32/64, int8/16/32/64, "
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
        return npy_fail(name, "not a .npy file: %s", len < NPY_MAGIC_LEN + 2
                        ? "shorter than the magic string and version"
                        : "bad magic string (expected \\x93NUMPY)");
    int major = buf[6], minor = buf[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return npy_fail(name, "unsupported format version %d.%d (expected 1.0, 2.0 or 3.0)",
                        major, minor);
    size_t prefix = major == 1 ? 10 : 12;
    if (len < prefix)
        return npy_fail(name, "truncated before the header length (%zu of %zu bytes)", len,
                        prefix);
    uint64_t hlen = npy_load_uint(buf + 8, major == 1 ? 2 : 4, 0);
    if (hlen > len - prefix)
        return npy_fail(name, "header length %llu goes beyond the end of the data (%zu bytes "
                        "after the %zu-byte prefix): truncated or corrupt",
                        (unsigned long long)hlen, len - prefix, prefix);
    const char *hdr = (const char *)buf + prefix;
    if (major == 3 && !npy_valid_utf8((const unsigned char *)hdr, (size_t)hlen))
        return npy_fail(name, "the format 3.0 header is not valid UTF-8");

    npy_header h;
    memset(&h, 0, sizeof h);
    pv_parser ps = {hdr, hdr + hlen, hdr, major <= 2, name};
    CK_TRY(npy_parse_dict(&ps, &h));

    npy_dtype d;
    CK_TRY(npy_parse_descr(name, h.descr, &d));
    char shape_s[256];
    npy_shape_str(shape_s, sizeof shape_s, h.rank, h.shape);
    int64_t count = 1;
    for (int i = 0; i < h.rank; i++) {
        if (h.shape[i] < 0)
            return npy_fail(name, "shape %s has a negative dim %d", shape_s, i);
        if (ck_mul_overflow_i64(count, h.shape[i], &count))
            return npy_fail(name, "shape %s has too many elements (overflow)", shape_s);
    }
    int64_t bytes;
    if (ck_mul_overflow_i64(count, d.size, &bytes) || (uint64_t)bytes > SIZE_MAX)
        return npy_fail(name, "shape %s of '%s' is too large (overflow)", shape_s, h.descr);
    size_t avail = len - prefix - (size_t)hlen;
    if ((uint64_t)bytes > avail)
        return npy_fail(name, "truncated data: shape %s of '%s' needs %lld bytes, only %zu "
                        "follow the header", shape_s, h.descr, (long long)bytes, avail);
    /* widening may not fit in memory even though the stored bytes do */
    int64_t out_bytes;
    if (ck_mul_overflow_i64(count, (int64_t)ck_dtype_size(d.out), &out_bytes) ||
        (uint64_t)out_bytes > SIZE_MAX)
        return ck_oom("npy data");

    ck_tensor *t = NULL;
    CK_TRY(ck_tensor_new_uninit(&t, d.out, h.rank, h.shape));
    npy_convert(&d, h.fortran, buf + prefix + hlen, t);
    *out = t;
    return CK_OK;
}

ck_status ck_npy_load_buffer(const void *buf, size_t len, ck_tensor **out)
{
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

/* Creates a new file next to `path` (so that rename() stays on one file
 * system) with a name nobody else uses. */
static ck_status npy_open_temp(const char *path, char **tmp_out, FILE **f_out)
{
    static atomic_uint counter;
    size_t n = strlen(path) + 64;
    char *tmp = ck_malloc(n);
    if (!tmp) return ck_oom("the temporary npy file name");
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&counter, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        ck_status st = ck_error(CK_IO_ERROR, "cannot create a temporary file for npy file "
                                "'%s': %s", path, strerror(errno));
        ck_free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        ck_free(tmp);
        return ck_error(CK_IO_ERROR, "cannot write npy file '%s': %s", path, strerror(e));
    }
    *tmp_out = tmp;
    *f_out = f;
    return CK_OK;
}

ck_status ck_npy_save(const char *path, const ck_tensor *t)
{
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

    char *tmp = NULL;
    FILE *f = NULL;
    CK_TRY(npy_open_temp(path, &tmp, &f));
    const char *step = "write";
    int ok = fwrite(header, 1, hsize, f) == hsize &&
             npy_write_le(f, t->data, (size_t)count, ck_dtype_size(t->dtype)) &&
             fflush(f) == 0;
    /* data on disk before the rename makes it visible */
    if (ok && fsync(fileno(f)) != 0) ok = 0, step = "sync";
    int e = errno;
    if (fclose(f) != 0 && ok) ok = 0, e = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, e = errno, step = "rename the temporary file to";
    if (!ok) {
        unlink(tmp);
        ck_free(tmp);
        return ck_error(CK_IO_ERROR, "cannot %s npy file '%s': %s", step, path, strerror(e));
    }
    ck_free(tmp);
    return CK_OK;
}
