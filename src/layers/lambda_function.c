/* The name of a Lambda layer's Python function, read from its config, so
 * that ck_register_lambda implementations can be matched by it.
 *
 * tf.keras 2.x stores every Python function (a `def` too) as
 * generic_utils.func_dump: [base64(marshal(code)), defaults, closure] with
 * "function_type": "lambda"; only other callables are stored by name
 * ("function_type": "function").  The function's name is the code object's
 * co_name, so this file reads just enough of CPython's marshal format to
 * find it.  The code object's field layout changed across Python versions;
 * each known layout is tried and the one that consumes the whole stream
 * exactly wins (a wrong layout runs into a bad type byte or a length past
 * the end almost at once). */
#include <string.h>

#include "layers/custom_layer.h"

/* ---- base64 ---------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes base64 text (whitespace skipped, '=' ends it) into buf; returns
 * the byte count, or -1 on a bad character. */
static long b64_decode(const char *text, unsigned char *buf)
{
    long n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && *p != '='; p++) {
        if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t') continue;
        int v = b64_value(*p);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return n;
}

/* ---- marshal ---------------------------------------------------------------- */

/* A code object's fields around co_name: raw 32-bit ints first, then
 * objects up to the first-line number (another raw int), then objects. */
typedef struct code_layout {
    int longs_before;   /* argcount ... flags */
    int objs_before;    /* co_code ... up to firstlineno */
    int name_index;     /* which of those is co_name */
    int objs_after;     /* linetable (and exceptiontable) */
} code_layout;

static const code_layout layouts[] = {
    {5, 8, 6, 2}, /* 3.11+: ..., localsplusnames, localspluskinds, filename, name, qualname */
    {6, 8, 7, 1}, /* 3.8-3.10: posonlyargcount and nlocals; ..., cellvars, filename, name */
    {5, 8, 7, 1}, /* 3.7: no posonlyargcount */
};

typedef struct span {
    const unsigned char *p;
    long len;           /* -1: not a string */
} span;

typedef struct reader {
    const unsigned char *buf;
    long len, pos;
    span *refs;
    long n_refs, cap_refs;
    const code_layout *layout;
    int depth;
} reader;

static int take(reader *r, long n, const unsigned char **out)
{
    if (n < 0 || n > r->len - r->pos) return 0;
    if (out) *out = r->buf + r->pos;
    r->pos += n;
    return 1;
}

static int read_i32(reader *r, long *out)
{
    const unsigned char *p;
    if (!take(r, 4, &p)) return 0;
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    *out = (long)(int32_t)u;
    return 1;
}

static int read_u8(reader *r, long *out)
{
    const unsigned char *p;
    if (!take(r, 1, &p)) return 0;
    *out = p[0];
    return 1;
}

/* Reads one object; *str (may be NULL) receives it when it is a string. */
static int read_object(reader *r, span *str);

static int read_objects(reader *r, long n)
{
    for (long i = 0; i < n; i++)
        if (!read_object(r, NULL)) return 0;
    return 1;
}

static int read_code(reader *r, span *name)
{
    long v;
    const code_layout *L = r->layout;
    for (int i = 0; i < L->longs_before; i++)
        if (!read_i32(r, &v)) return 0;
    for (int i = 0; i < L->objs_before; i++)
        if (!read_object(r, i == L->name_index ? name : NULL)) return 0;
    if (!read_i32(r, &v)) return 0;
    return read_objects(r, L->objs_after);
}

static int read_object(reader *r, span *str)
{
    long code, n;
    span got = {NULL, -1};
    if (!read_u8(r, &code) || ++r->depth > 64) return 0;
    long ref = -1;
    if (code & 0x80) { /* FLAG_REF: numbered where the object starts */
        if (r->n_refs == r->cap_refs) return 0;
        ref = r->n_refs++;
        r->refs[ref] = got;
    }
    int ok = 1;
    switch (code & 0x7f) {
    case '0': case 'N': case 'F': case 'T': case 'S': case '.':
        break;
    case 'i': ok = take(r, 4, NULL); break;
    case 'I': case 'g': ok = take(r, 8, NULL); break;
    case 'y': ok = take(r, 16, NULL); break;
    case 'l': ok = read_i32(r, &n) && take(r, (n < 0 ? -n : n) * 2, NULL); break;
    case 'f': ok = read_u8(r, &n) && take(r, n, NULL); break;
    case 'x': ok = read_u8(r, &n) && take(r, n, NULL) && read_u8(r, &n) && take(r, n, NULL); break;
    case 's': case 't': case 'u': case 'a': case 'A':
        ok = read_i32(r, &n) && take(r, n, &got.p);
        got.len = n;
        break;
    case 'z': case 'Z':
        ok = read_u8(r, &n) && take(r, n, &got.p);
        got.len = n;
        break;
    case '(': case '[': case '<': case '>':
        ok = read_i32(r, &n) && n >= 0 && read_objects(r, n);
        break;
    case ')': ok = read_u8(r, &n) && read_objects(r, n); break;
    case '{':
        for (;;) {
            long key_at = r->pos;
            if (!read_u8(r, &n)) return 0;
            if (n == '0') break;
            r->pos = key_at;
            if (!read_object(r, NULL) || !read_object(r, NULL)) return 0;
        }
        break;
    case 'r':
        ok = read_i32(r, &n) && n >= 0 && n < r->n_refs;
        if (ok) got = r->refs[n];
        break;
    case 'c': ok = read_code(r, &got); got.len = -1; break;
    default: ok = 0;
    }
    r->depth--;
    if (!ok) return 0;
    if (ref >= 0) r->refs[ref] = got;
    if (str) *str = got;
    return 1;
}

/* co_name of a marshalled code object into buf ("" if it cannot be read). */
static void marshal_code_name(const unsigned char *bytes, long len, span *refs, long cap, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        reader r = {bytes, len, 0, refs, 0, cap, &layouts[k], 0};
        long type;
        span name = {NULL, -1};
        if (!read_u8(&r, &type) || (type & 0x7f) != 'c') return;
        if (type & 0x80) r.n_refs = 1;
        refs[0] = (span){NULL, -1};
        if (read_code(&r, &name) && r.pos == len && name.len > 0 && (size_t)name.len < n) {
            memcpy(buf, name.p, (size_t)name.len);
            buf[name.len] = '\0';
            return;
        }
    }
}

/* ---- the config forms --------------------------------------------------- */

static ck_status name_from_bytecode(const char *b64, char *buf, size_t n)
{
    size_t len = strlen(b64);
    unsigned char *bytes = ck_malloc(len / 4 * 3 + 3);
    span *refs = ck_calloc(len + 1, sizeof *refs);
    if (!bytes || !refs) {
        ck_free(bytes);
        ck_free(refs);
        return ck_oom("reading a Lambda function");
    }
    long got = b64_decode(b64, bytes);
    if (got > 0) marshal_code_name(bytes, got, refs, (long)len + 1, buf, n);
    ck_free(bytes);
    ck_free(refs);
    return CK_OK;
}

ck_status ck_lambda_function_name(const json_t *config, char *buf, size_t n)
{
    buf[0] = '\0';
    const json_t *fn = json_object_get(config, "function");
    const char *type = json_string_value(json_object_get(config, "function_type"));
    const char *text = NULL;
    if (json_is_string(fn)) {
        /* tf.keras 2.x "function_type": "function" (or Keras 2.0's raw
         * name); a "lambda" type holds a list, but a bare string is read
         * as bytecode only when it is said to be one. */
        if (type && strcmp(type, "lambda") == 0) return name_from_bytecode(json_string_value(fn), buf, n);
        text = json_string_value(fn);
    } else if (json_is_array(fn) && json_is_string(json_array_get(fn, 0))) {
        return name_from_bytecode(json_string_value(json_array_get(fn, 0)), buf, n);
    } else if (json_is_object(fn)) {
        /* Keras 3: {"class_name": "function", "config": name} or
         * {"class_name": "__lambda__", "config": {"code": ...}}. */
        const char *cls = json_string_value(json_object_get(fn, "class_name"));
        const json_t *cfg = json_object_get(fn, "config");
        if (cls && strcmp(cls, "__lambda__") == 0) {
            const char *code = json_string_value(json_object_get(cfg, "code"));
            return code ? name_from_bytecode(code, buf, n) : CK_OK;
        }
        text = json_string_value(cfg);
    }
    if (text && strlen(text) < n) strcpy(buf, text);
    return CK_OK;
}
