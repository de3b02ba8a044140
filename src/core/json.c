/* Parsing JSON text with jansson, telling an allocation failure (which a
 * replaced allocator can cause) from malformed text. */
#include <string.h>

#include "core/json.h"

ck_status ck_json_parse(const char *text, size_t len, const char *what, json_t **out)
{
    json_error_t err;
    if (!text) return ck_error(CK_VALUE_ERROR, "%s: no JSON text", what);
    unsigned long before = ck_alloc_failures();
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (ck_alloc_failures() != before) {
        /* whatever jansson made of it, it did not see all of the text */
        json_decref(j);
        return ck_oom(what);
    }
    if (!j) {
        /* jansson leaves the error text empty when an allocation fails
         * before the parser starts. */
        if (json_error_code(&err) == json_error_out_of_memory || err.text[0] == '\0') return ck_oom(what);
        /* A failed allocation inside the lexer is reported as a syntax
         * error; a genuine syntax error repeats identically, so parse once
         * more to tell them apart (this costs nothing on success). */
        json_error_t again;
        json_t *retry = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &again);
        if (retry || strcmp(again.text, err.text) != 0 || again.position != err.position) {
            json_decref(retry);
            return ck_oom(what);
        }
        return ck_error(CK_FORMAT_ERROR, "%s: %s (line %d, column %d)", what, err.text, err.line, err.column);
    }
    *out = j;
    return CK_OK;
}

ck_status ck_alloc_verdict(unsigned long before, ck_status st, const char *what)
{
    if (ck_alloc_failures() == before || st == CK_OUT_OF_MEMORY) return st;
    return ck_oom(what);
}

ck_status ck_json_dumps(const json_t *j, size_t flags, const char *what, char **out)
{
    unsigned long before = ck_alloc_failures();
    char *text = json_dumps(j, flags);
    if (!text || ck_alloc_failures() != before) {
        ck_free(text);
        return ck_oom(what);
    }
    *out = text;
    return CK_OK;
}
