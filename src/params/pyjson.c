/* JSON text written the way Python's json.dumps writes it, so that configs
 * read like those of tf.keras (0.05, not 0.050000000000000003). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "params/params.h"

char *ck_float_repr(double v, char *buf, size_t n)
{
    if (isnan(v)) {
        snprintf(buf, n, "nan");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
        return buf;
    }
    if (v == 0) {
        snprintf(buf, n, signbit(v) ? "-0.0" : "0.0");
        return buf;
    }
    /* Shortest digit string that reads back to v, like Python's repr. */
    char e[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v) break;
    }
    int neg = e[0] == '-';
    char digits[24];
    int nd = 0;
    const char *s = e + neg;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = '\0';
    int exp10 = atoi(s + 1);
    int decpt = exp10 + 1; /* value = 0.DIGITS x 10^decpt */

    char out[64];
    size_t k = 0;
    if (neg) out[k++] = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out[k++] = '0';
            out[k++] = '.';
            for (int i = 0; i < -decpt; i++) out[k++] = '0';
            for (int i = 0; i < nd; i++) out[k++] = digits[i];
        } else {
            for (int i = 0; i < decpt; i++) out[k++] = i < nd ? digits[i] : '0';
            out[k++] = '.';
            if (nd > decpt)
                for (int i = decpt; i < nd; i++) out[k++] = digits[i];
            else
                out[k++] = '0';
        }
        out[k] = '\0';
    } else {
        out[k++] = digits[0];
        if (nd > 1) {
            out[k++] = '.';
            for (int i = 1; i < nd; i++) out[k++] = digits[i];
        }
        snprintf(out + k, sizeof out - k, "e%c%02d", exp10 < 0 ? '-' : '+',
                 exp10 < 0 ? -exp10 : exp10);
    }
    snprintf(buf, n, "%s", out);
    return buf;
}

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1) cap *= 2;
        char *q = ck_realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void put_u16(sbuf *b, unsigned u)
{
    char t[8];
    snprintf(t, sizeof t, "\\u%04x", u & 0xFFFFu);
    puts_(b, t);
}

/* ensure_ascii=True: non-ASCII becomes \uXXXX (surrogate pairs above the
 * BMP); jansson guarantees valid UTF-8 in its strings. */
static void put_string(sbuf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x80) {
            switch (c) {
            case '"': puts_(b, "\\\""); break;
            case '\\': puts_(b, "\\\\"); break;
            case '\n': puts_(b, "\\n"); break;
            case '\r': puts_(b, "\\r"); break;
            case '\t': puts_(b, "\\t"); break;
            case '\b': puts_(b, "\\b"); break;
            case '\f': puts_(b, "\\f"); break;
            default:
                if (c < 0x20) put_u16(b, c);
                else put(b, (const char *)u + i, 1);
            }
            i++;
            continue;
        }
        unsigned cp;
        int len;
        if (c >= 0xF0) { cp = c & 0x07; len = 4; }
        else if (c >= 0xE0) { cp = c & 0x0F; len = 3; }
        else { cp = c & 0x1F; len = 2; }
        for (int k = 1; k < len && i + (size_t)k < n; k++) cp = (cp << 6) | (u[i + k] & 0x3F);
        i += (size_t)len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u16(b, 0xD800 + (cp >> 10));
            put_u16(b, 0xDC00 + (cp & 0x3FF));
        } else {
            put_u16(b, cp);
        }
    }
    put(b, "\"", 1);
}

static void dump(sbuf *b, const json_t *j)
{
    char t[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        int first = 1;
        put(b, "{", 1);
        json_object_foreach((json_t *)j, key, v) {
            if (!first) put(b, ", ", 2);
            first = 0;
            put_string(b, key, strlen(key));
            put(b, ": ", 2);
            dump(b, v);
        }
        put(b, "}", 1);
        break;
    }
    case JSON_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i) put(b, ", ", 2);
            dump(b, json_array_get(j, i));
        }
        put(b, "]", 1);
        break;
    case JSON_STRING: put_string(b, json_string_value(j), json_string_length(j)); break;
    case JSON_INTEGER:
        snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        puts_(b, t);
        break;
    case JSON_REAL: {
        double v = json_real_value(j);
        if (isnan(v)) puts_(b, "NaN");
        else if (isinf(v)) puts_(b, v > 0 ? "Infinity" : "-Infinity");
        else puts_(b, ck_float_repr(v, t, sizeof t));
        break;
    }
    case JSON_TRUE: puts_(b, "true"); break;
    case JSON_FALSE: puts_(b, "false"); break;
    case JSON_NULL: puts_(b, "null"); break;
    }
}

char *ck_json_dumps_python(const json_t *j)
{
    if (!j) return NULL;
    sbuf b = {0};
    dump(&b, j);
    if (b.oom || !b.p) {
        ck_free(b.p);
        return NULL;
    }
    return b.p;
}
