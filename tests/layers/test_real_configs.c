/* get_config of Dense and Dot against the layer configs that real tf.keras
 * files store in their model_config: ckeras reads each config and must
 * give it back key for key, value for value. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "ckeras.h"
#include "io/keras_h5.h"
#include "support/support.h"

/* Nested initializers etc.: the legacy form {"class_name", "config"} that
 * tf.keras 2.x get_config gives; TF2.13 files may hold the new form (module,
 * registered_name), and tf.keras 2.2.4-tf put "dtype" into initializer
 * configs, which tf.keras >= 2.4 no longer writes. */
static int same_param(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) || !json_is_object(b)) return json_equal(a, b);
    if (!json_equal(json_object_get(a, "class_name"), json_object_get(b, "class_name"))) return 0;
    json_t *ca = json_deep_copy(json_object_get(a, "config")), *cb = json_deep_copy(json_object_get(b, "config"));
    json_object_del(ca, "dtype");
    json_object_del(cb, "dtype");
    int same = json_equal(ca, cb);
    json_decref(ca);
    json_decref(cb);
    return same;
}

static int check_file(const char *path)
{
    char *text = NULL;
    cr_assert_eq(ck_h5_read_model_config(path, &text), CK_OK, "%s", ck_last_error());
    json_error_t err;
    json_t *root = json_loads(text, 0, &err);
    ck_free(text);
    cr_assert_not_null(root);
    json_t *layers = json_object_get(json_object_get(root, "config"), "layers");
    int checked = 0;
    for (size_t i = 0; i < json_array_size(layers); i++) {
        json_t *entry = json_array_get(layers, i);
        const char *cls = json_string_value(json_object_get(entry, "class_name"));
        if (!cls || (strcmp(cls, "Dense") != 0 && strcmp(cls, "Dot") != 0)) continue;
        json_t *wrapper = json_pack("{s:s, s:O}", "class_name", cls, "config", json_object_get(entry, "config"));
        char *in = json_dumps(wrapper, 0);
        ck_layer *l = NULL;
        cr_assert_eq(ck_layer_from_config(in, &l), CK_OK, "%s: %s", path, ck_last_error());
        char *out = NULL;
        cr_assert_eq(ck_layer_get_config(l, &out), CK_OK);
        json_t *got_root = json_loads(out, 0, &err);
        json_t *got = json_object_get(got_root, "config");
        json_t *want = json_object_get(entry, "config");
        const char *key;
        json_t *v;
        cr_expect_eq(json_object_size(got), json_object_size(want), "%s %s: %s\nvs %s", path, cls, out, in);
        json_object_foreach(want, key, v) {
            json_t *g = json_object_get(got, key);
            cr_expect_not_null(g, "%s: key %s missing from ckeras' config", path, key);
            if (g) cr_expect(same_param(g, v), "%s: %s differs: %s vs %s", path, key, json_dumps(g, JSON_ENCODE_ANY),
                             json_dumps(v, JSON_ENCODE_ANY));
        }
        json_decref(got_root);
        checked++;
        ck_free(out);
        free(in);
        json_decref(wrapper);
        ck_layer_free(l);
    }
    json_decref(root);
    return checked;
}

static const char *find(const char *rel)
{
    static char local[4096];
    snprintf(local, sizeof local, "%s", ck_test_data(rel));
    if (access(local, R_OK) == 0) return local;
    return ck_test_shared(rel);
}

Test(real_configs, dense_and_dot_match_tf_keras_files, .timeout = 60)
{
    /* tf.keras 2.2.4-tf, 2.4, 2.11 and 2.13 files. */
    const char *files[] = {
        "keras/dl4j-tfkeras-dense/mlp_100.h5", "keras/dl4j-tfkeras-dense/act_4.h5",
        "keras/siamese-cosine-dot-keras2_4/testmodel.hdf5", "keras/two-tower-concat-keras2_11/two_tower_model.h5",
        "keras/recsys-dot-keras2_13/recommender_model.h5", "keras/dl4j-legacy-formats/flatten_3d.hdf5",
    };
    int total = 0, files_seen = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *p = find(files[i]);
        if (!p) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s", p);
        total += check_file(path);
        files_seen++;
    }
    if (files_seen == 0) cr_skip_test("no real tf.keras files available");
    cr_expect_geq(total, 4);
}
