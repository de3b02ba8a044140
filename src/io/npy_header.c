/* The header of a .npy file: a Python literal parser just large enough for
 * numpy's dict {'descr': ..., 'fortran_order': ..., 'shape': (...)}, with
 * numpy's own rules (the three keys exactly, shape a tuple of ints,
 * fortran_order a bool).  It never reads past the header. */
#include <string.h>

#include "io/npy_header.h"

/* Nesting deeper than this in a header (only a structured descr nests) is
 * rejected rather than recursed into. */
#define NPY_MAX_DEPTH 32


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
        return ck_npy_fail(ps->name, "cannot parse the header dict: expected %s, found the end "
                        "of the header (offset %ld)", expected, off);
    unsigned char c = (unsigned char)*ps->p;
    if (c >= 0x20 && c < 0x7f)
        return ck_npy_fail(ps->name, "cannot parse the header dict: expected %s, found '%c' at "
                        "offset %ld", expected, c, off);
    return ck_npy_fail(ps->name, "cannot parse the header dict: expected %s, found byte 0x%02x "
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
        return ck_npy_fail(ps->name, "cannot parse the header dict: unterminated string "
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
        return ck_npy_fail(ps->name, "the header dict is nested more than %d levels deep",
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


enum { KEY_DESCR = 1, KEY_FORTRAN = 2, KEY_SHAPE = 4 };

static int pv_str_is(const pv_value *v, const char *s)
{
    return v->str_len == strlen(s) && memcmp(v->str, s, v->str_len) == 0;
}

static ck_status npy_check_key(pv_parser *ps, const pv_value *key, int *which)
{
    if (key->kind != PV_STR)
        return ck_npy_fail(ps->name, "the header dict has a key that is %s, not a string",
                        pv_kind_name(key->kind));
    if (pv_str_is(key, "descr")) *which = KEY_DESCR;
    else if (pv_str_is(key, "fortran_order")) *which = KEY_FORTRAN;
    else if (pv_str_is(key, "shape")) *which = KEY_SHAPE;
    else
        return ck_npy_fail(ps->name, "the header dict has an unexpected key '%.*s' (expected "
                        "exactly 'descr', 'fortran_order' and 'shape')",
                        (int)(key->str_len > 64 ? 64 : key->str_len), key->str);
    return CK_OK;
}

static ck_status npy_take_value(pv_parser *ps, int which, const pv_value *v, npy_header *h)
{
    if (which == KEY_DESCR) {
        if (v->kind == PV_LIST)
            return ck_npy_fail(ps->name, "unsupported dtype: structured arrays (a list descr) "
                            "are not supported; expected float32, float64, int32, int64 or a "
                            "smaller int, bool or float16");
        if (v->kind != PV_STR)
            return ck_npy_fail(ps->name, "'descr' is %s, not a dtype string",
                            pv_kind_name(v->kind));
        size_t n = v->str_len < sizeof h->descr - 1 ? v->str_len : sizeof h->descr - 1;
        memcpy(h->descr, v->str, n);
        h->descr[n] = '\0';
        if (n < v->str_len) /* too long for any dtype we know: keep it unmatchable */
            h->descr[n - 1] = '?';
    } else if (which == KEY_FORTRAN) {
        if (v->kind != PV_BOOL)
            return ck_npy_fail(ps->name, "'fortran_order' is %s, not True or False",
                            pv_kind_name(v->kind));
        h->fortran = v->bval;
    } else {
        if (v->kind != PV_TUPLE || !v->all_int)
            return ck_npy_fail(ps->name, "'shape' is %s, not a tuple of ints",
                            v->kind == PV_TUPLE ? "a tuple with an item that is not an int"
                                                : pv_kind_name(v->kind));
        if (v->count > CK_MAX_RANK)
            return ck_npy_fail(ps->name, "the shape has rank %d: at most %d dims are supported",
                            v->count, CK_MAX_RANK);
        if (v->any_overflow)
            return ck_npy_fail(ps->name, "the shape has a dim too large for int64 (overflow)");
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
            return ck_npy_fail(ps->name, "the header is not a dict");
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
            return ck_npy_fail(ps->name, "the header dict has no '%s' key", keys[i].name);
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


ck_status ck_npy_parse_header(const char *hdr, size_t hlen, int major, const char *name, npy_header *h)
{
    if (major == 3 && !npy_valid_utf8((const unsigned char *)hdr, hlen))
        return ck_npy_fail(name, "the format 3.0 header is not valid UTF-8");
    memset(h, 0, sizeof *h);
    pv_parser ps = {hdr, hdr + hlen, hdr, major <= 2, name};
    return npy_parse_dict(&ps, h);
}
