/* Python-style JSON text (params/pyjson.c) against repr() and json.dumps. */
#include "params/fixture.h"
#include "params/params.h"

Test(params_json, float_repr_matches_python)
{
    json_t *root = fx_load_data("params/float_repr.json");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        char buf[40];
        double v = json_number_value(json_object_get(c, "value"));
        cr_expect_str_eq(ck_float_repr(v, buf, sizeof buf),
                         json_string_value(json_object_get(c, "repr")), "%.17g", v);
    }
    json_decref(root);
    char buf[40];
    cr_expect_str_eq(ck_float_repr(NAN, buf, sizeof buf), "nan");
    cr_expect_str_eq(ck_float_repr(-INFINITY, buf, sizeof buf), "-inf");
}

Test(params_json, dumps_like_python)
{
    json_t *j = json_loads("{\"b\": [1, 2.5, null, true, false], \"a\": {\"s\": \"q\\\"\\n\\u00e9\\ud83d\\ude00\"}, "
                           "\"e\": {}, \"l\": []}", 0, NULL);
    cr_assert(j != NULL);
    char *s = ck_json_dumps_python(j);
    /* json.dumps(..., ensure_ascii=True) with the default separators */
    cr_expect_str_eq(s, "{\"b\": [1, 2.5, null, true, false], \"a\": {\"s\": \"q\\\"\\n\\u00e9\\ud83d\\ude00\"}, "
                        "\"e\": {}, \"l\": []}");
    ck_free(s);
    json_decref(j);
    cr_expect_null(ck_json_dumps_python(NULL));
}
