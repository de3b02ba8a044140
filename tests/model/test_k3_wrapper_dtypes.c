/* Models read from Keras 3 files with wrappers (Bidirectional, an RNN of
 * stacked cells; tests/data/layers/rnn_wrappers, the _k3.keras files) are saved in
 * the tf.keras 2.x dialect: the nested configs kept as read carry dtype
 * names, not Keras 3 DTypePolicy objects, nor the input_axes /
 * output_axes of Keras 3.15's initializers, which tf.keras 2.15 refuses
 * (tools/roundtrip_in_keras.py loads ckeras' files in tf.keras 2.15). */
#include <criterion/criterion.h>
#include <string.h>

#include "ckeras.h"
#include "support/support.h"

static void expect_tf2_dtypes(const char *rel)
{
    ck_model *m = NULL;
    cr_assert_eq(ck_model_load(ck_test_data(rel), &m), CK_OK, "%s: %s", rel, ck_last_error());
    char *config = NULL;
    cr_assert_eq(ck_model_to_json(m, &config), CK_OK, "%s", ck_last_error());
    cr_expect(strstr(config, "DTypePolicy") == NULL, "%s keeps a DTypePolicy: %s", rel, config);
    cr_expect(strstr(config, "input_axes") == NULL, "%s keeps input_axes: %s", rel, config);
    cr_expect(strstr(config, "\"dtype\": \"float32\"") != NULL, "%s: %s", rel, config);
    ck_free(config);
    ck_model_free(m);
}

Test(k3_wrapper_dtypes, nested_configs_saved_with_dtype_names)
{
    expect_tf2_dtypes("layers/rnn_wrappers/wrappers_k3.keras");
    expect_tf2_dtypes("layers/rnn_wrappers/bidi_state_k3.keras");
}
