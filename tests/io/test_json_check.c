/* The allocation-free JSON check of the HDF5 and .keras readers
 * (io/json_check.h), with jansson as the reference. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "io/json_check.h"
#include "support/support.h"

Test(json_check, agrees_with_jansson)
{
    static const char *texts[] = {
        "{}", " {\"a\": 1} \n", "{\"a\": [1, -2.5e+3, 0.0, -0, 1E5, true, false, null, {}, []]}",
        "{\"s\": \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}", "{\"\xc3\xa9\": \"\xf0\x9f\x98\x80\"}",
        "[]", "\"x\"", "1", "null", "", "   ", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":tru}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"\x01\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}", "{\"a\":1} x", "{\"a\":1}}",
        "{\"a\":[1,2}", "{\"a\":{\"b\":[1]]}", "{\"a\":\"unterminated}", "{'a':1}", "{a:1}", "{\"a\":NaN}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *t = texts[i];
        json_error_t e;
        /* The readers decode with JSON_ALLOW_NUL: "\u0000" is valid JSON. */
        json_t *j = json_loadb(t, strlen(t), JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        int want = j && json_is_object(j);
        json_decref(j);
        ck_status st = ck_json_check_object(t, strlen(t), "text");
        cr_expect_eq(st == CK_OK, want, "'%s': jansson %d, ck %s (%s)", t, want, ck_status_name(st), ck_last_error());
        if (st != CK_OK) cr_expect_eq(st, CK_FORMAT_ERROR);
    }
    /* nesting: jansson's limit is 2048 */
    char deep[5000];
    for (int depth = 2047; depth <= 2049; depth++) {
        size_t n = 0;
        deep[n++] = '{';
        deep[n++] = '"';
        deep[n++] = 'a';
        deep[n++] = '"';
        deep[n++] = ':';
        for (int k = 1; k < depth; k++) deep[n++] = '[';
        for (int k = 1; k < depth; k++) deep[n++] = ']';
        deep[n++] = '}';
        json_error_t e;
        json_t *j = json_loadb(deep, n, 0, &e);
        cr_expect_eq(ck_json_check_object(deep, n, "deep") == CK_OK, j != NULL, "depth %d", depth);
        json_decref(j);
    }
    cr_expect_eq(ck_json_check_object("{}\0", 3, "nul"), CK_FORMAT_ERROR);
    cr_expect(strstr(ck_last_error(), "nul is not valid JSON"), "%s", ck_last_error());
    cr_expect_eq(ck_json_check_object("[1]", 3, "arr"), CK_FORMAT_ERROR);
    cr_expect(strstr(ck_last_error(), "not an object"), "%s", ck_last_error());
}

