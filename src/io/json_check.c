/* A JSON syntax check that allocates nothing.  See json_check.h. */
#include "io/json_check.h"

#include <string.h>

enum { MAX_DEPTH = 2048 };

typedef struct scan {
    const unsigned char *p, *end, *start;
    const char *label;
} scan;

static ck_status bad(const scan *s, const char *what)
{
    int line = 1, col = 1;
    for (const unsigned char *q = s->start; q < s->p && q < s->end; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (s->p >= s->end)
        return ck_error(CK_FORMAT_ERROR, "%s is not valid JSON: %s at the end of the text (line %d, column %d)",
                        s->label, what, line, col);
    return ck_error(CK_FORMAT_ERROR, "%s is not valid JSON: %s (line %d, column %d)", s->label, what, line,
                    col);
}

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hex4(scan *s, unsigned *v)
{
    if (s->end - s->p < 4) return 0;
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s->p[i];
        x <<= 4;
        if (c >= '0' && c <= '9') x |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') x |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    s->p += 4;
    *v = x;
    return 1;
}

/* One UTF-8 sequence starting at s->p (a byte >= 0x80): no overlong forms,
 * no surrogates, nothing above U+10FFFF. */
static int utf8_seq(scan *s)
{
    unsigned char c = *s->p;
    int n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1Fu; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0Fu; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07u; }
    else return 0;
    if (s->end - s->p <= n) return 0;
    for (int i = 1; i <= n; i++) {
        unsigned char d = s->p[i];
        if ((d & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (d & 0x3Fu);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    s->p += n + 1;
    return 1;
}

static ck_status string(scan *s)
{
    s->p++; /* the opening quote */
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            s->p++;
            return CK_OK;
        }
        if (c < 0x20) return bad(s, "control character in a string");
        if (c >= 0x80) {
            if (!utf8_seq(s)) return bad(s, "invalid UTF-8 in a string");
            continue;
        }
        if (c != '\\') {
            s->p++;
            continue;
        }
        s->p++;
        if (s->p >= s->end) break;
        c = *s->p;
        if (strchr("\"\\/bfnrt", c) && c) {
            s->p++;
            continue;
        }
        if (c != 'u') return bad(s, "invalid escape in a string");
        s->p++;
        unsigned v;
        if (!hex4(s, &v)) return bad(s, "invalid \\u escape");
        /* "\u0000" is valid JSON and real files hold it (a Lambda's
         * marshalled bytecode); the parsers decode with JSON_ALLOW_NUL. */
        if (v >= 0xDC00 && v <= 0xDFFF) return bad(s, "lone low surrogate escape");
        if (v >= 0xD800 && v <= 0xDBFF) {
            unsigned w;
            if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                return bad(s, "high surrogate escape without a low one");
            s->p += 2;
            if (!hex4(s, &w) || w < 0xDC00 || w > 0xDFFF) return bad(s, "invalid surrogate pair");
        }
    }
    return bad(s, "unterminated string");
}

static int digits(scan *s)
{
    const unsigned char *b = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    return s->p > b;
}

static ck_status number(scan *s)
{
    if (*s->p == '-') s->p++;
    if (s->p < s->end && *s->p == '0') s->p++;
    else if (!digits(s)) return bad(s, "invalid number");
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!digits(s)) return bad(s, "invalid number");
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-')) s->p++;
        if (!digits(s)) return bad(s, "invalid number");
    }
    return CK_OK;
}

static int literal(scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return 0;
    s->p += n;
    return 1;
}

ck_status ck_json_check_object(const char *text, size_t len, const char *label)
{
    scan s = {(const unsigned char *)text, (const unsigned char *)text + len,
              (const unsigned char *)text, label};
    char stack[MAX_DEPTH];
    int depth = 0;
    skip_ws(&s);
    if (s.p >= s.end) return bad(&s, "no value");
    if (*s.p != '{') {
        if (strchr("[\"-0123456789tfn", *s.p) && *s.p)
            return ck_error(CK_FORMAT_ERROR, "%s is JSON but not an object", label);
        return bad(&s, "unexpected character");
    }
    enum { VALUE, KEY, AFTER } state = VALUE;
    for (;;) {
        skip_ws(&s);
        if (state == KEY) {
            if (s.p >= s.end || *s.p != '"') return bad(&s, "expected a string key");
            CK_TRY(string(&s));
            skip_ws(&s);
            if (s.p >= s.end || *s.p != ':') return bad(&s, "expected ':'");
            s.p++;
            state = VALUE;
            continue;
        }
        if (state == AFTER) {
            if (depth == 0) {
                if (s.p != s.end) return bad(&s, "extra text after the value");
                return CK_OK;
            }
            if (s.p >= s.end) return bad(&s, "unterminated object or array");
            char top = stack[depth - 1];
            if (*s.p == ',') {
                s.p++;
                state = top == '{' ? KEY : VALUE;
            } else if ((*s.p == '}' && top == '{') || (*s.p == ']' && top == '[')) {
                s.p++;
                depth--;
            } else {
                return bad(&s, top == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
            }
            continue;
        }
        /* VALUE */
        if (s.p >= s.end) return bad(&s, "expected a value");
        unsigned char c = *s.p;
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) return bad(&s, "nested too deeply");
            stack[depth++] = (char)c;
            s.p++;
            skip_ws(&s);
            if (s.p < s.end && *s.p == (c == '{' ? '}' : ']')) {
                s.p++;
                depth--;
                state = AFTER;
            } else {
                state = c == '{' ? KEY : VALUE;
            }
            continue;
        }
        if (c == '"') CK_TRY(string(&s));
        else if (c == '-' || (c >= '0' && c <= '9')) CK_TRY(number(&s));
        else if (!literal(&s, "true") && !literal(&s, "false") && !literal(&s, "null"))
            return bad(&s, "unexpected character");
        state = AFTER;
    }
}
